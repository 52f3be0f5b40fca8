//! Ids in queries, through replay: a user's read whose query names the user's resources in one
//! of its operation's id fields (`fixtures/ids.csv`, [`Operation::ids`]), and whose answer
//! showed the user those items, is replayed as another user (and a user of another mandator,
//! where the proxy holds one). The model's oracle ([`judge_id`], [`list_items`]) says whether
//! the replay's answer kept the items absent; each field is a cell of its own
//! (`getAndSearchAllTransactions?accountIds`), under `own-data-only` or `mandator-isolation`, as
//! in `check`.
//!
//! Control (issue 29's rule): only an answer that showed the caller the items says whose they
//! are, so a read whose own answer listed none is not replayed for its ids. Ids in bodies are
//! writes', and a write is never replayed.

use bytes::Bytes;

use crate::model::{
    cell_name, expect_id, judge_id, list_items, IdEvidence, IdField, IdPlace, Mode, Observed,
    Operation, Principal,
};
use crate::runner::http::{HttpRequest, HttpResponse};
use crate::runner::redact::Redactor;
use crate::runner::CheckResult;

/// What an id replay is judged against: the fields the request names ids in, and the app's own
/// answer (the items the replay must not show).
#[derive(Debug, Clone)]
pub(crate) struct Named {
    /// Each id field the query gives a value, with that value (`1,2`).
    pub fields: Vec<(IdField, String)>,
    pub owner_status: u16,
    pub owner_body: Bytes,
}

/// The id fields of `op` the query of `path_and_query` gives a value.
pub(crate) fn fields_named(op: &Operation, path_and_query: &str) -> Vec<(IdField, String)> {
    let Some((_, query)) = path_and_query.split_once('?') else {
        return Vec::new();
    };
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    op.ids
        .iter()
        .filter(|f| f.place == IdPlace::Query)
        .filter_map(|f| {
            let values: Vec<&str> = pairs
                .iter()
                .filter(|(k, v)| *k == f.field && !v.is_empty())
                .map(|(_, v)| v.as_str())
                .collect();
            (!values.is_empty()).then(|| (f.clone(), values.join(",")))
        })
        .collect()
}

/// The ids a user's read names, and whether its answer showed the items: `Ok(None)` when the
/// request names no ids, `Err(why)` when it does but the answer gives no control.
pub(crate) fn named(
    op: &Operation,
    path_and_query: &str,
    status: u16,
    body: &[u8],
) -> Result<Option<Named>, String> {
    let fields = fields_named(op, path_and_query);
    if fields.is_empty() {
        return Ok(None);
    }
    let labels: Vec<String> = fields.iter().map(|(f, _)| f.label()).collect();
    if !(200..300).contains(&status) {
        return Err(format!(
            "ids in {}: the app's own read got {status}, so a replay cannot show whose they are",
            labels.join(", ")
        ));
    }
    if list_items(body).is_empty() {
        return Err(format!(
            "ids in {}: the app's own answer listed none of the items, so a replay cannot show whose they are",
            labels.join(", ")
        ));
    }
    Ok(Some(Named {
        fields,
        owner_status: status,
        owner_body: Bytes::copy_from_slice(body),
    }))
}

/// Judge the id cells of one replay as `p` (another user, another mandator's user): each named
/// field is a cell, returned with its verdict line (evidence redacted by `redactor`).
pub(crate) fn judge_cells(
    redactor: &Redactor,
    mode: Mode,
    op: &Operation,
    p: Principal,
    named: &Named,
    request: &HttpRequest,
    response: &HttpResponse,
) -> Vec<(CheckResult, String)> {
    let e = expect_id(op, p);
    let mut out = Vec::new();
    for (field, value) in &named.fields {
        let j = judge_id(
            op,
            field,
            &e,
            &IdEvidence {
                named: Observed {
                    status: response.status,
                    body: &response.body,
                },
                id: value,
                owner: Some(Observed {
                    status: named.owner_status,
                    body: &named.owner_body,
                }),
                owner_after: None,
                unknown: None,
            },
            mode,
        );
        let name = cell_name(op, field);
        let line = format!(
            "{name} as {p}: {} ({}) [{}]",
            j.verdict.name(),
            j.reason,
            e.rule.id()
        );
        let mut result = CheckResult::not_run(name, op, p, &e);
        result.took_answer(request, p, response, redactor);
        result.verdict = j.verdict;
        result.reason = format!("{}: {}", field.label(), j.reason);
        out.push((result, line));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ApiVersion, Catalogue};

    #[test]
    fn a_query_names_the_fields_it_gives_a_value() {
        let op = Catalogue::embedded()
            .get(ApiVersion::V2, "getAndSearchAllTransactions")
            .unwrap();
        let given = fields_named(op, "/api/v2/transactions?accountIds=1&page=2&labelIds=");
        let labels: Vec<(String, &str)> =
            given.iter().map(|(f, v)| (f.label(), v.as_str())).collect();
        assert_eq!(labels, [("?accountIds".to_string(), "1")]);
        assert!(fields_named(op, "/api/v2/transactions").is_empty());
        let owner = br#"{"transactions":[{"id":5}]}"#;
        assert!(named_ok(op, owner).is_some());
        let why = named(
            op,
            "/api/v2/transactions?accountIds=1",
            200,
            br#"{"transactions":[]}"#,
        )
        .unwrap_err();
        assert!(why.contains("listed none"), "{why}");
        assert!(named(op, "/api/v2/transactions?accountIds=1", 404, b"{}").is_err());
        assert!(named(op, "/api/v2/transactions", 200, owner)
            .unwrap()
            .is_none());
    }

    fn named_ok(op: &Operation, body: &[u8]) -> Option<Named> {
        named(op, "/api/v2/transactions?accountIds=1", 200, body).unwrap()
    }
}
