//! The oracle for ids in queries and bodies: a request that names another user's resource in
//! one of an operation's id fields (`id_fields.rs`, from `fixtures/ids.csv`) must find it
//! absent.
//!
//! Path ids are the catalogue's own business ([`Operation::addresses_resource`]); this module
//! adds the ids a request carries elsewhere: list filters (`GET /transactions?accountIds=..`)
//! and body fields (`POST /api/tasks/backgroundUpdate {"bankConnectionId": ..}`). Each one is
//! a cell of the matrix of its own, under `own-data-only` (another user of the mandator) or
//! `mandator-isolation` (a user of another mandator), named like
//! `getAndSearchAllTransactions?accountIds` or `createBankConnectionUpdateTask{bankConnectionId}`.

use std::collections::BTreeSet;

use serde_json::Value;

use super::catalogue::{ApiVersion, CallerKind, Catalogue, Operation};
use super::expect::{Expectation, Judgement, Mode, Observed, Outcome, Verdict};
use super::id_fields::{IdField, IdPlace};
use super::principal::Principal;
use super::rules::Rule;
use super::shapes::{ParamIn, Schema, Shapes};

impl IdField {
    /// Whether the request shape of `op_id` in `shapes` has this field: a query parameter of
    /// that name, or a body field at that path (through `ref`s and array items). `None` when
    /// the shapes do not have the operation. (Here, not beside the field's data, because the
    /// shapes know the API version, which the catalogue, and so the data, stand on.)
    pub fn in_shape(&self, shapes: &Shapes, op_id: &str) -> Option<bool> {
        let op = shapes.operation(op_id)?;
        Some(match self.place {
            IdPlace::Query => op
                .params
                .iter()
                .any(|p| p.location == ParamIn::Query && p.name == self.field),
            IdPlace::Body => op
                .body
                .as_ref()
                .is_some_and(|b| body_has(shapes, &b.schema, &self.field)),
        })
    }
}

fn body_has(shapes: &Shapes, schema: &Schema, path: &str) -> bool {
    let mut at = shapes.resolve(schema);
    for part in path.split('.') {
        while let Some(items) = at.items.as_deref() {
            at = shapes.resolve(items);
        }
        match at.fields.as_ref().and_then(|f| f.get(part)) {
            Some(next) => at = shapes.resolve(next),
            None => return false,
        }
    }
    true
}

/// The cell an id field makes of `op`: `getAndSearchAllTransactions?accountIds`.
pub fn cell_name(op: &Operation, field: &IdField) -> String {
    format!("{}{}", op.id, field.label())
}

/// The operation a cell is of: `getAndSearchAllTransactions?accountIds` ->
/// `getAndSearchAllTransactions`; any other cell's name is its operation's.
pub fn operation_of_cell(cell: &str) -> &str {
    cell.split(['?', '{']).next().unwrap_or(cell)
}

// ---------------------------------------------------------------------------------------------
// The oracle

/// What a principal must see when it names the run user's resource in an id field of `op`:
/// another user of the mandator and a user of another mandator find it absent; nobody else
/// has an id cell.
pub fn expect_id(op: &Operation, principal: Principal) -> Expectation {
    let outcome = |o, rule| Expectation { outcome: o, rule };
    if !op.callers.contains(CallerKind::User) {
        return outcome(Outcome::NotApplicable, Rule::OwnDataOnly);
    }
    match principal {
        Principal::OtherUser => outcome(Outcome::NotVisible, Rule::OwnDataOnly),
        Principal::OtherMandatorUser => outcome(Outcome::NotVisible, Rule::MandatorIsolation),
        _ => outcome(Outcome::NotApplicable, Rule::OwnDataOnly),
    }
}

/// True when an id cell of `op` reads (a list filtered by the field) rather than acts.
pub fn is_filter(op: &Operation) -> bool {
    op.method == http::Method::GET
}

/// What an id cell saw: the other principal's request naming the owner's resource, and what
/// tells whether the resource showed or changed.
#[derive(Debug, Clone, Copy)]
pub struct IdEvidence<'a> {
    /// The answer to the request that names the owner's resource.
    pub named: Observed<'a>,
    /// The id the request named.
    pub id: &'a str,
    /// A filter: the owner's own answer to the very same request (the items a leak would
    /// show). A write: the owner's read of the resource before the request.
    pub owner: Option<Observed<'a>>,
    /// A write: the owner's read of the resource after the request.
    pub owner_after: Option<Observed<'a>>,
    /// A write: the status the same caller gets for the same request naming an id that
    /// exists nowhere (what "absent" looks like on this target).
    pub unknown: Option<u16>,
}

/// The items of a list answer: every element of the body's top-level arrays, keyed by its
/// `id` where it has one, else by the element itself (daily balances and cash flows have no
/// id of their own).
pub fn list_items(body: &[u8]) -> BTreeSet<String> {
    let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) else {
        return BTreeSet::new();
    };
    map.values()
        .filter_map(Value::as_array)
        .flatten()
        .map(|item| match item.get("id") {
            Some(id) => format!("id {id}"),
            None => item.to_string(),
        })
        .collect()
}

fn is_id_name(name: &str) -> bool {
    matches!(name, "id" | "ids" | "identifiers") || name.ends_with("Id") || name.ends_with("Ids")
}

/// True when `value` has an id field (`id`, `...Id`, `...Ids`, `identifiers`) equal to `id`,
/// or holding it, anywhere.
pub fn shows_id(value: &Value, id: &str) -> bool {
    let same = |v: &Value| match v {
        Value::Number(n) => n.to_string() == id,
        Value::String(s) => s == id,
        _ => false,
    };
    match value {
        Value::Object(map) => map.iter().any(|(k, v)| {
            (is_id_name(k) && (same(v) || v.as_array().is_some_and(|a| a.iter().any(same))))
                || shows_id(v, id)
        }),
        Value::Array(items) => items.iter().any(|i| shows_id(i, id)),
        _ => false,
    }
}

/// The top-level fields in which two reads of one resource differ.
pub fn changed_fields(before: &[u8], after: &[u8]) -> Vec<String> {
    let parse = |b: &[u8]| serde_json::from_slice::<Value>(b).unwrap_or(Value::Null);
    let (before, after) = (parse(before), parse(after));
    match (before.as_object(), after.as_object()) {
        (Some(b), Some(a)) => {
            let keys: BTreeSet<&String> = b.keys().chain(a.keys()).collect();
            keys.into_iter()
                .filter(|k| b.get(*k) != a.get(*k))
                .map(|k| k.to_string())
                .collect()
        }
        _ if before != after => vec!["the whole answer".into()],
        _ => Vec::new(),
    }
}

fn judgement(verdict: Verdict, reason: impl Into<String>) -> Judgement {
    Judgement {
        verdict,
        reason: reason.into(),
    }
}

/// Judge an id cell: the resource the request names must look absent. A filtered list shows
/// none of the owner's items; a write is refused, shows nothing of the owner's and changes
/// nothing the owner reads. A write served while an id that exists nowhere is refused was let
/// through; one served as the unknown id is too cannot tell (inconclusive). Boundary mode
/// takes any refusal as "absent"; strict mode wants the status an unknown id gets (or the
/// documented not-found status).
pub fn judge_id(
    op: &Operation,
    field: &IdField,
    expectation: &Expectation,
    evidence: &IdEvidence<'_>,
    mode: Mode,
) -> Judgement {
    use Verdict::*;
    if expectation.outcome == Outcome::NotApplicable {
        return judgement(Skipped, "not applicable");
    }
    let what = field.names.words();
    let status = evidence.named.status;
    let success = (200..300).contains(&status);
    if !is_filter(op) {
        // A write: what the owner reads afterwards counts whatever the answer was.
        if let (Some(before), Some(after)) = (evidence.owner, evidence.owner_after) {
            if (200..300).contains(&before.status) && before.status == after.status {
                let changed = changed_fields(before.body, after.body);
                if !changed.is_empty() {
                    return judgement(
                        Violation,
                        format!(
                            "{status}, and the run user's {what} {} changed ({}): {} acted on it",
                            evidence.id,
                            changed.join(", "),
                            field.label()
                        ),
                    );
                }
            }
        }
    }
    if status >= 500 || status == 429 || status == 0 {
        return judgement(
            Inconclusive,
            format!("status {status} says nothing about the boundary"),
        );
    }
    if is_filter(op) {
        let owner_items = evidence
            .owner
            .filter(|o| (200..300).contains(&o.status))
            .map(|o| list_items(o.body))
            .unwrap_or_default();
        if owner_items.is_empty() {
            return judgement(
                Skipped,
                "the run user's own request lists nothing, so nothing could leak",
            );
        }
        if success {
            let leaked = list_items(evidence.named.body)
                .intersection(&owner_items)
                .count();
            if leaked > 0 {
                return judgement(
                    Violation,
                    format!(
                        "{status} lists {leaked} of the run user's {} items selected by {} {}",
                        owner_items.len(),
                        field.label(),
                        evidence.id
                    ),
                );
            }
            return judgement(
                Pass,
                format!(
                    "hidden ({status}, none of the run user's {} items)",
                    owner_items.len()
                ),
            );
        }
        let want = op.not_found_status();
        if mode == Mode::Strict && status != want {
            return judgement(
                Violation,
                format!("status {status}, strict mode expects a list without the run user's items or {want}"),
            );
        }
        return judgement(Pass, format!("hidden ({status})"));
    }
    if success {
        let body: Value = serde_json::from_slice(evidence.named.body).unwrap_or(Value::Null);
        if shows_id(&body, evidence.id) {
            return judgement(
                Violation,
                format!(
                    "{status}: the answer shows the run user's {what} {} named in {}",
                    evidence.id,
                    field.label()
                ),
            );
        }
        return match evidence.unknown {
            Some(u) if !(200..300).contains(&u) => judgement(
                Violation,
                format!(
                    "{status}: the run user's {what} was accepted in {}, an id that exists nowhere gets {u}",
                    field.label()
                ),
            ),
            // Served like an id that exists nowhere: the target does not look at the id when
            // it answers, so the answer cannot show whether it would act on the resource.
            Some(u) => judgement(
                Inconclusive,
                format!(
                    "{status}, and an id that exists nowhere gets {u} too: the target does not tell them apart here, so nothing shows whether it would act on the run user's {what} (nothing was shown or changed)"
                ),
            ),
            None => judgement(
                Inconclusive,
                format!("{status}, and no answer for an unknown id to compare with"),
            ),
        };
    }
    let want = evidence.unknown.unwrap_or_else(|| op.not_found_status());
    if mode == Mode::Strict && status != want {
        return judgement(
            Violation,
            format!("status {status}, strict mode expects {want}, what an unknown id gets"),
        );
    }
    judgement(Pass, format!("hidden ({status})"))
}

/// The operation of `version` a user reads one resource of `names` with
/// (`GET /api/v2/bankConnections/{id}`): how a write cell's owner sees whether it changed.
pub fn read_of(
    catalogue: &Catalogue,
    version: ApiVersion,
    names: super::id_fields::Names,
) -> Option<&Operation> {
    let prefix = match version {
        ApiVersion::V1 => "/api/v1/",
        ApiVersion::V2 => "/api/v2/",
    };
    let path = format!("{prefix}{}/{{id}}", names.collection());
    catalogue
        .operations(version)
        .find(|o| o.method == http::Method::GET && o.path == path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::id_fields::{parse, IDS_CSV};

    #[test]
    fn every_listed_field_is_in_its_operations_request_shape() {
        let catalogue = Catalogue::embedded();
        let rows = parse(IDS_CSV).unwrap();
        assert!(rows.len() >= 50, "{} rows", rows.len());
        for row in &rows {
            let op = catalogue
                .all()
                .iter()
                .find(|o| o.version_column() == row.version && o.id == row.operation)
                .unwrap_or_else(|| {
                    panic!("{} {} is not in the catalogue", row.version, row.operation)
                });
            assert!(
                op.callers.contains(CallerKind::User),
                "{}: only user operations carry a user's ids",
                op.id
            );
            assert_eq!(
                row.field.in_shape(Shapes::embedded(op.version), &op.id),
                Some(true),
                "{} {}: the request shape has no {}",
                row.version,
                op.id,
                row.field.label()
            );
            assert!(
                op.ids.contains(&row.field),
                "{} lacks {:?}",
                op.id,
                row.field
            );
            // A write cell's owner reads the resource before and after.
            assert!(
                is_filter(op) || read_of(catalogue, op.version, row.field.names).is_some(),
                "no read of {}",
                row.field.names
            );
        }
        let attached: usize = catalogue.all().iter().map(|o| o.ids.len()).sum();
        assert_eq!(attached, rows.len());
    }

    #[test]
    fn a_list_leaks_only_the_owners_items() {
        let op = Catalogue::embedded()
            .get(ApiVersion::V2, "getAndSearchAllTransactions")
            .unwrap();
        let field = op.ids.iter().find(|f| f.field == "accountIds").unwrap();
        let e = expect_id(op, Principal::OtherUser);
        let owner = br#"{"transactions":[{"id":1},{"id":2}],"paging":{}}"#;
        let judge = |named: &[u8], owner: &[u8]| {
            judge_id(
                op,
                field,
                &e,
                &IdEvidence {
                    named: Observed {
                        status: 200,
                        body: named,
                    },
                    id: "7",
                    owner: Some(Observed {
                        status: 200,
                        body: owner,
                    }),
                    owner_after: None,
                    unknown: None,
                },
                Mode::Boundary,
            )
        };
        let j = judge(br#"{"transactions":[{"id":2}]}"#, owner);
        assert_eq!(j.verdict, Verdict::Violation, "{}", j.reason);
        assert!(
            j.reason.contains("1 of the run user's 2 items"),
            "{}",
            j.reason
        );
        assert_eq!(
            judge(br#"{"transactions":[{"id":9}]}"#, owner).verdict,
            Verdict::Pass
        );
        // The owner's own request lists nothing: nothing could show.
        assert_eq!(
            judge(br#"{"transactions":[]}"#, br#"{"transactions":[]}"#).verdict,
            Verdict::Skipped
        );
    }

    #[test]
    fn a_write_must_be_answered_as_an_unknown_id_and_change_nothing() {
        let op = Catalogue::embedded()
            .get(ApiVersion::V2, "createBankConnectionUpdateTask")
            .unwrap();
        let field = &op.ids[0];
        let e = expect_id(op, Principal::OtherUser);
        assert_eq!(e.outcome, Outcome::NotVisible);
        assert_eq!(
            expect_id(op, Principal::OtherMandatorUser).rule,
            Rule::MandatorIsolation
        );
        assert_eq!(
            expect_id(op, Principal::User).outcome,
            Outcome::NotApplicable
        );
        let judge = |status: u16, body: &[u8], unknown: Option<u16>, after: &[u8]| {
            judge_id(
                op,
                field,
                &e,
                &IdEvidence {
                    named: Observed { status, body },
                    id: "276",
                    owner: Some(Observed {
                        status: 200,
                        body: br#"{"id":276,"lastAutoUpdate":null}"#,
                    }),
                    owner_after: Some(Observed {
                        status: 200,
                        body: after,
                    }),
                    unknown,
                },
                Mode::Strict,
            )
        };
        let same = br#"{"id":276,"lastAutoUpdate":null}"#;
        assert_eq!(judge(404, b"{}", Some(404), same).verdict, Verdict::Pass);
        // Strict: answered otherwise than an unknown id.
        assert_eq!(
            judge(403, b"{}", Some(404), same).verdict,
            Verdict::Violation
        );
        // Accepted where an unknown id is refused.
        let j = judge(201, br#"{"id":"t"}"#, Some(404), same);
        assert_eq!(j.verdict, Verdict::Violation);
        assert!(j.reason.contains("exists nowhere gets 404"), "{}", j.reason);
        // Shown in the answer.
        let j = judge(
            201,
            br#"{"payload":{"bankConnectionId":276}}"#,
            Some(201),
            same,
        );
        assert!(
            j.reason
                .contains("shows the run user's bank connection 276"),
            "{}",
            j.reason
        );
        // Changed, whatever the answer.
        let j = judge(
            404,
            b"{}",
            Some(404),
            br#"{"id":276,"lastAutoUpdate":{"result":"OK"}}"#,
        );
        assert_eq!(j.verdict, Verdict::Violation);
        assert!(
            j.reason.contains("changed (lastAutoUpdate)"),
            "{}",
            j.reason
        );
        // Served as an unknown id is, nothing shown or changed: the answer cannot tell.
        assert_eq!(
            judge(200, b"{}", Some(200), same).verdict,
            Verdict::Inconclusive
        );
        assert_eq!(judge(201, b"{}", None, same).verdict, Verdict::Inconclusive);
    }
}
