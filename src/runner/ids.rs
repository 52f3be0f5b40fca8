//! Id cells: the run's other user, and another mandator's user, send an otherwise valid
//! request that names the run user's resource in a query parameter or a body field
//! (`fixtures/ids.csv`, [`crate::model::ids`]); the model's oracle ([`judge_id`]) says whether
//! it looked absent.
//!
//! What each cell sends, all of it inert for anything the run did not create:
//! - a list filter (`GET /transactions?accountIds=<the run user's account>`): the run user's
//!   own answer to the very same request (the items a leak would show), then the other
//!   principal's;
//! - a write (`POST /api/tasks/backgroundUpdate {"bankConnectionId": ..}`, a payment web form
//!   from the run user's account, never completed): the run user's read of the resource, the
//!   other principal's request, the same request naming an id that exists nowhere (what
//!   "absent" looks like on this target), and the run user's read again, as evidence of
//!   whether it changed. The rest of the body names only ids that exist nowhere, so if the
//!   boundary is broken only the run user's own resource is touched.

use serde_json::json;

use super::http::HttpRequest;
use super::probe::{inert_body, Skip};
use super::session::{first_own_id, Session};
use super::{CheckConfig, CheckResult, Filters};
use crate::model::ids::is_filter;
use crate::model::{
    cell_name, expect_id, judge_id, read_of, ApiVersion, Catalogue, IdEvidence, IdField, IdPlace,
    Mode, Names, Observed, Operation, Outcome, Principal, Safety,
};
use crate::sim::state::UNKNOWN_ID;

/// One id cell: `principal` names the run user's resource in `field` of `op`.
#[derive(Debug, Clone, Copy)]
pub struct IdCheck<'c> {
    pub op: &'c Operation,
    pub field: &'c IdField,
    pub principal: Principal,
}

impl IdCheck<'_> {
    /// The cell's name in reports: `getAndSearchAllTransactions?accountIds`.
    pub fn name(&self) -> String {
        cell_name(self.op, self.field)
    }

    /// True for a list read by the field, false for a write.
    pub fn is_filter(&self) -> bool {
        is_filter(self.op)
    }
}

/// The id cells a run makes: every id field of every operation of `version`, for each
/// principal the model gives an id cell (another user, another mandator's user), filtered
/// by section, operation id, cell name, principal or rule.
pub fn planned_id_checks<'c>(
    catalogue: &'c Catalogue,
    version: ApiVersion,
    filters: &Filters,
) -> Vec<IdCheck<'c>> {
    let mut out = Vec::new();
    for op in catalogue.operations(version) {
        for field in &op.ids {
            for principal in Principal::ALL {
                let e = expect_id(op, principal);
                if e.outcome == Outcome::NotApplicable {
                    continue;
                }
                let name = cell_name(op, field);
                if filters.admits(&[&op.section, &op.id, &name, principal.name(), e.rule.id()]) {
                    out.push(IdCheck {
                        op,
                        field,
                        principal,
                    });
                }
            }
        }
    }
    out
}

/// Who names whose resource: the caller's token, the owner's token, and the owner's id.
#[derive(Debug, Clone)]
pub struct Parties {
    pub caller: String,
    pub owner: String,
    pub id: String,
}

impl Parties {
    /// The run's parties for `principal`: its token, the run user's token and the run user's
    /// resource of the kind `field` names.
    pub fn of_run(
        session: &Session,
        principal: Principal,
        field: &IdField,
    ) -> Result<Parties, Skip> {
        let fx = &session.fixtures;
        let token = |p: Principal| {
            fx.tokens.get(&p).cloned().ok_or_else(|| {
                fx.unavailable
                    .get(&p)
                    .cloned()
                    .unwrap_or_else(|| format!("no token for {p}"))
            })
        };
        let kind = field.names.collection();
        let id = fx
            .resources
            .get(kind)
            .ok_or_else(|| session.no_data(kind))?;
        Ok(Parties {
            caller: token(principal)?,
            owner: token(Principal::User)?,
            id: id.to_string(),
        })
    }
}

/// The first resource of kind `names` of the user whose token is `token` (its own list,
/// read with that token; a custom category, never one of finAPI's own): the id a cell names
/// for a user other than the run's.
pub async fn owner_id(session: &Session, names: Names, token: &str) -> Option<String> {
    let list = list_of(&session.catalogue, session.version, names)?;
    let resp = session
        .http
        .send(&HttpRequest::new(http::Method::GET, list.path.clone()).bearer(Some(token.into())))
        .await;
    if !resp.is_success() {
        return None;
    }
    first_own_id(&resp.json(), names.collection()).map(|id| id.to_string())
}

/// The operation of `version` that lists a user's resources of `names`
/// (`GET /api/v2/bankConnections`).
fn list_of(catalogue: &Catalogue, version: ApiVersion, names: Names) -> Option<&Operation> {
    catalogue.operations(version).find(|o| {
        o.method == http::Method::GET
            && o.path
                .trim_start_matches('/')
                .split('/')
                .skip(2)
                .collect::<Vec<_>>()
                == [names.collection()]
    })
}

/// The request of an id cell: `op` as `token`, naming `id` in `field`; everything else the
/// request needs is valid and names only ids that exist nowhere. `Err`: the operation's service
/// is not where the run looked for it (the reason says where).
pub fn request(
    session: &Session,
    op: &Operation,
    field: &IdField,
    token: &str,
    id: &str,
) -> Result<HttpRequest, String> {
    let path = session.service_path(op.api, &op.path)?;
    let request = match field.place {
        IdPlace::Query => HttpRequest::new(
            op.method.clone(),
            format!("{path}?{}", field.query_pair(id)),
        ),
        IdPlace::Body => {
            let mut given = json!({});
            field.set_in(&mut given, id);
            let body = inert_body(session.version, op, given.clone()).unwrap_or(given);
            HttpRequest::new(op.method.clone(), path).json(body)
        }
    };
    Ok(request.bearer(Some(token.to_string())))
}

/// The run user's read of the resource `field` names (for a write cell), if the catalogue
/// has one.
fn owner_read(session: &Session, field: &IdField, parties: &Parties) -> Option<HttpRequest> {
    let read = read_of(&session.catalogue, session.version, field.names)?;
    Some(
        HttpRequest::new(http::Method::GET, read.path.replace("{id}", &parties.id))
            .bearer(Some(parties.owner.clone())),
    )
}

/// An id cell's result before it is judged.
fn result_for(op: &Operation, field: &IdField, principal: Principal) -> CheckResult {
    CheckResult::not_run(
        cell_name(op, field),
        op,
        principal,
        &expect_id(op, principal),
    )
}

/// Probe and judge one id cell of the run: the session's `principal` names the run user's
/// resource.
pub async fn check_id(config: &CheckConfig, session: &Session, check: &IdCheck<'_>) -> CheckResult {
    let mut result = result_for(check.op, check.field, check.principal);
    if config.target.is_remote() && !config.allow_mutations && check.op.safety == Safety::Shared {
        result.reason =
            "changes shared state if the boundary were broken; needs --allow-mutations".into();
        return result;
    }
    match Parties::of_run(session, check.principal, check.field) {
        Ok(parties) => {
            probe_id(
                session,
                config.mode,
                check.op,
                check.field,
                check.principal,
                &parties,
            )
            .await
        }
        Err(why) => {
            result.reason = format!("{}: {why}", check.field.label());
            result
        }
    }
}

/// Probe and judge one id cell between explicit parties: `parties.caller` (playing
/// `principal`) names `parties.id`, a resource of the user whose token is `parties.owner`.
/// The Gherkin steps call this with the users a scenario names.
pub async fn probe_id(
    session: &Session,
    mode: Mode,
    op: &Operation,
    field: &IdField,
    principal: Principal,
    parties: &Parties,
) -> CheckResult {
    let mut result = result_for(op, field, principal);
    let expectation = expect_id(op, principal);
    if expectation.outcome == Outcome::NotApplicable {
        result.reason = "not applicable".into();
        return result;
    }
    // A service the run does not reach gives no verdict: skipped, with where it was looked for.
    let requests = request(session, op, field, &parties.caller, &parties.id).and_then(|named| {
        let unknown = request(session, op, field, &parties.caller, &UNKNOWN_ID.to_string())?;
        let own = request(session, op, field, &parties.owner, &parties.id)?;
        Ok((named, unknown, own))
    });
    let (named, unknown_req, own_req) = match requests {
        Ok(requests) => requests,
        Err(why) => {
            result.reason = format!("{}: {why}", field.label());
            return result;
        }
    };
    let filter = is_filter(op);
    // Before: the owner's own answer to the same request (a filter), or its read (a write).
    let owner_req = if filter {
        Some(own_req)
    } else {
        owner_read(session, field, parties)
    };
    let before = match &owner_req {
        Some(r) => Some(session.http.send(r).await),
        None => None,
    };
    let resp = session.http.send(&named).await;
    let (unknown, after) = if filter {
        (None, None)
    } else {
        let unknown = session.http.send(&unknown_req).await.status;
        let after = match &owner_req {
            Some(r) => Some(session.http.send(r).await),
            None => None,
        };
        ((unknown != 0).then_some(unknown), after)
    };
    if !result.took_answer(&named, principal, &resp, &session.redactor()) {
        return result;
    }
    fn observed(r: &super::http::HttpResponse) -> Observed<'_> {
        Observed {
            status: r.status,
            body: &r.body,
        }
    }
    let judgement = judge_id(
        op,
        field,
        &expectation,
        &IdEvidence {
            named: observed(&resp),
            id: &parties.id,
            owner: before.as_ref().map(|r| observed(r)),
            owner_after: after.as_ref().map(|r| observed(r)),
            unknown,
        },
        mode,
    );
    result.verdict = judgement.verdict;
    result.reason = format!("{}: {}", field.label(), judgement.reason);
    result
}

/// The request a dry run shows for an id cell (placeholders for tokens and ids).
pub fn dry_request(session: &Session, check: &IdCheck<'_>) -> Result<HttpRequest, Skip> {
    let parties = Parties::of_run(session, check.principal, check.field)?;
    request(session, check.op, check.field, &parties.caller, &parties.id)
}
