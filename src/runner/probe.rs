//! One inert request per operation x principal.
//!
//! A probe is built so that even if the boundary it tests is broken, the request cannot damage
//! anything the run did not create: the catalogue's `probe` column says how (unknown ids,
//! bodies the server must reject, only the run's own users, a wrong old secret, ...).

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{json, Value};

use super::http::HttpRequest;
use super::session::Session;
use crate::model::expect::{is_validation_status, CheckOrder};
use crate::model::{ApiVersion, CallerKind, Operation, Principal, ProbeStyle, Shapes};
use crate::sim::state::UNKNOWN_ID;

/// A request and what a caller who passes the boundary documents for it (strict mode).
#[derive(Debug, Clone)]
pub struct Probe {
    pub request: HttpRequest,
    /// Statuses an allowed caller gets for this inert request; empty = any 2xx.
    pub allowed_statuses: Vec<u16>,
}

/// Why a probe cannot be sent (the check is reported as skipped).
pub type Skip = String;

/// True when a request of `principal` to `op` could touch data the run did not create if the
/// boundary were broken (a client or admin token let into a user's delete-all operation would
/// act on some user of the mandator). Such probes go to real targets only with
/// `--allow-mutations`.
pub fn harmful_if_broken(op: &Operation, principal: Principal) -> bool {
    let run_user = matches!(
        principal,
        Principal::User | Principal::OtherUser | Principal::OtherMandatorUser
    );
    op.callers.contains(CallerKind::User)
        && op.method == http::Method::DELETE
        && matches!(op.probe, ProbeStyle::AsIs | ProbeStyle::DisposableUser)
        && !run_user
        && !principal.is_broken_token()
}

/// The bearer token a principal presents.
fn bearer(session: &Session, principal: Principal) -> Result<Option<String>, Skip> {
    if principal == Principal::NoToken {
        return Ok(None);
    }
    match session.fixtures.tokens.get(&principal) {
        Some(t) => Ok(Some(t.clone())),
        None => Err(session
            .fixtures
            .unavailable
            .get(&principal)
            .cloned()
            .unwrap_or_else(|| format!("no token for {principal}"))),
    }
}

/// The resource kind of an operation (`accounts` for `/api/v2/accounts/{id}`).
pub fn kind_of(op: &Operation) -> &str {
    if op.is_webform() {
        // `/api/webForms/{id}`: no version segment.
        return op
            .path
            .trim_start_matches('/')
            .split('/')
            .nth(1)
            .unwrap_or_default();
    }
    op.path
        .trim_start_matches('/')
        .split('/')
        .nth(2)
        .unwrap_or_default()
}

/// A valid request body for `op` that changes nothing the run did not create: `given` (the
/// fields the probe means) completed from the request shapes ([`Shapes::request_body`]), with
/// every other id it would name (`id`, `...Id`, `ids`, `...Ids`) set to one that exists
/// nowhere. `None` when `op` takes no JSON body. The simulator and finAPI then get past
/// validation and answer for what the body names (404 for an unknown id, 403 for a wrong role).
pub fn inert_body(version: ApiVersion, op: &Operation, given: Value) -> Option<Value> {
    let mut body = Shapes::embedded(version).request_body(&op.id, given.clone())?;
    unknown_ids(&mut body);
    if let (Some(out), Value::Object(given)) = (body.as_object_mut(), given) {
        out.extend(given);
    }
    Some(body)
}

fn is_id_field(name: &str) -> bool {
    matches!(name, "id" | "ids") || name.ends_with("Id") || name.ends_with("Ids")
}

/// Point every made-up id of `value` at [`UNKNOWN_ID`].
fn unknown_ids(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (name, v) in map.iter_mut() {
                match v {
                    Value::Number(_) if is_id_field(name) => *v = json!(UNKNOWN_ID),
                    Value::Array(items)
                        if is_id_field(name) && items.iter().all(Value::is_number) =>
                    {
                        items.iter_mut().for_each(|i| *i = json!(UNKNOWN_ID));
                    }
                    other => unknown_ids(other),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(unknown_ids),
        _ => {}
    }
}

/// Build the probe for `principal` calling `op`.
pub fn build(session: &Session, op: &Operation, principal: Principal) -> Result<Probe, Skip> {
    if op.is_grant_row() {
        return grant_probe(session, op, principal);
    }
    // A service the run does not reach gives no verdict: skipped, with where it was looked for.
    session.service_path(op.api, "")?;
    let mut token = bearer(session, principal)?;
    let fx = &session.fixtures;
    let user_a = fx.user_a.as_ref().ok_or("the run has no user")?;
    let mut allowed = Vec::new();
    let mut path = op.path.clone();
    // Path parameters.
    for name in op.path_params().map(str::to_string).collect::<Vec<_>>() {
        let value = if name == "userId" {
            user_a.id.clone()
        } else {
            let targets_a = matches!(
                principal,
                Principal::OtherUser | Principal::OtherMandatorUser
            ) || (principal == Principal::User && op.method == http::Method::GET);
            if targets_a
                && op.callers.contains(CallerKind::User)
                && op.addresses_resource()
                && op.is_webform()
            {
                let kind = kind_of(op);
                fx.webform_ids
                    .get(kind)
                    .cloned()
                    .ok_or_else(|| session.no_data(kind))?
            } else if targets_a && op.callers.contains(CallerKind::User) && op.addresses_resource()
            {
                let kind = kind_of(op);
                let id = fx
                    .resources
                    .get(kind)
                    .ok_or_else(|| session.no_data(kind))?;
                // A list of ids needs a comma, or it routes to the single-id operation.
                if name == "ids" {
                    format!("{id},{UNKNOWN_ID}")
                } else {
                    id.to_string()
                }
            } else if name == "ids" {
                allowed = vec![200];
                format!("{UNKNOWN_ID},{}", UNKNOWN_ID + 1)
            } else {
                allowed = vec![op.not_found_status()];
                UNKNOWN_ID.to_string()
            }
        };
        path = path.replace(&format!("{{{name}}}"), &value);
    }
    let path = session.service_path(op.api, &path)?;
    let mut request = HttpRequest::new(op.method.clone(), path);
    if principal == Principal::User
        && op.method == http::Method::DELETE
        && op.probe == ProbeStyle::AsIs
    {
        // Delete-all probes wipe a scratch user's data, not user A's, which other probes read.
        token = Some(
            fx.scratch_token
                .clone()
                .ok_or("no scratch user could be created")?,
        );
    }
    match op.probe {
        ProbeStyle::AsIs | ProbeStyle::UnknownId => {
            if op.id == "deleteIbanRules" || op.id == "deleteKeywordRules" {
                request = request.json(json!({ "ids": [UNKNOWN_ID] }));
                allowed = vec![200];
            } else if let Some(body) = inert_body(session.version, op, json!({})) {
                // Edits and actions on one resource: a valid body (an edit of a label or
                // category needs its name), so the answer is about the id, not the body.
                request = request.json(body);
            } else if op.method == http::Method::PATCH {
                request = request.json(json!({}));
            }
        }
        ProbeStyle::InvalidBody => {
            // Web Form 2.0's createTranslation requires no field: a language that is not an
            // object is what it must reject.
            let invalid = if op.id == "createTranslation" {
                json!({ "en": "not a translation" })
            } else {
                json!({})
            };
            request = request.json(invalid);
            allowed = vec![400, 422];
        }
        ProbeStyle::EmptyPatch => {
            request = request.json(json!({}));
        }
        ProbeStyle::NewRunUser => {
            let id = session.fresh_user_id("c");
            let user = super::session::RunUser {
                id: id.clone(),
                password: format!("{id}-pw"),
            };
            if let Some(client) = session.client_of(principal) {
                session.remember(client, user.clone());
            }
            request = request.json(json!({ "id": user.id, "password": user.password }));
            allowed = vec![201];
        }
        ProbeStyle::RunUser => match op.id.as_str() {
            "getVerificationStatus" => {
                let q = serde_urlencoded::to_string([("userId", &user_a.id)]).unwrap_or_default();
                request.path = format!("{}?{q}", request.path);
            }
            "requestPasswordChange" => {
                request = request.json(json!({ "userId": user_a.id }));
            }
            // verifyUser / deleteUnverifiedUser on the (verified) run user: 422, nothing changes.
            _ => allowed = vec![422],
        },
        ProbeStyle::RunUsers => {
            request =
                request.json(json!({ "userIds": [format!("{}never-created", session.prefix)] }));
        }
        ProbeStyle::DisposableUser => {
            if principal == Principal::User {
                token = Some(
                    fx.disposable_token
                        .clone()
                        .ok_or("no disposable user could be created")?,
                );
            }
        }
        ProbeStyle::WrongSecret => {
            let app = session.creds.app.as_ref().ok_or("no app client")?;
            // Deliberately wrong old secret: 36 characters that are not the client's secret.
            let wrong = if app.secret.starts_with('0') {
                "1".repeat(36)
            } else {
                "0".repeat(36)
            };
            request = request.json(json!({
                "clientId": app.id,
                "oldClientSecret": wrong,
                "newClientSecret": format!("fc-probe-{}", "0".repeat(27)),
            }));
            allowed = vec![422];
        }
        ProbeStyle::OwnToken => {
            // Revoke a token that exists nowhere: 200 for a client, and nothing changes.
            let unknown = format!("fc-unknown-{}", UNKNOWN_ID);
            request = match session.version {
                ApiVersion::V1 => {
                    HttpRequest::new(op.method.clone(), format!("{}?token={unknown}", op.path))
                }
                ApiVersion::V2 => HttpRequest::new(op.method.clone(), op.path.clone())
                    .form(&[("token", &unknown)]),
            };
            allowed = vec![200];
        }
    }
    Ok(Probe {
        request: request.bearer(token),
        allowed_statuses: allowed,
    })
}

fn grant_probe(session: &Session, op: &Operation, principal: Principal) -> Result<Probe, Skip> {
    let creds = &session.creds;
    let (client, var) = match principal {
        Principal::AppClient => (&creds.app, "FINAPI_APP_CLIENT_ID"),
        Principal::SecondAppClient => (&creds.app2, "FINAPI_APP_CLIENT2_ID"),
        Principal::AdminClient => (&creds.admin, "FINAPI_ADMIN_CLIENT_ID"),
        Principal::OtherMandatorAppClient => (&creds.other_app, "FINAPI_OTHER_APP_CLIENT_ID"),
        other => return Err(format!("{other} presents no client credentials")),
    };
    let client = client
        .as_ref()
        .ok_or_else(|| format!("{var} and its secret are not set"))?;
    let fx = &session.fixtures;
    let user = fx.user_a.as_ref().ok_or("the run has no user")?;
    let mut form: Vec<(&str, String)> = vec![
        (
            "grant_type",
            op.grant.map(|g| g.as_str()).unwrap_or_default().to_string(),
        ),
        ("client_id", client.id.clone()),
        ("client_secret", client.secret.clone()),
    ];
    match op.grant {
        Some(crate::model::Grant::Password) => {
            form.push(("username", user.id.clone()));
            form.push(("password", user.password.clone()));
        }
        Some(crate::model::Grant::RefreshToken) => {
            let refresh = if principal == Principal::SecondAppClient {
                &fx.refresh_app2
            } else {
                &fx.refresh_app
            };
            form.push((
                "refresh_token",
                refresh
                    .clone()
                    .ok_or("no refresh token of the run's user")?,
            ));
        }
        _ => {}
    }
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Ok(Probe {
        request: HttpRequest::new(op.method.clone(), op.path.clone()).form(&pairs),
        allowed_statuses: vec![200],
    })
}

// ---------------------------------------------------------------------------------------------
// Evidence for unclear answers: a target that validates requests before it checks the role
// answers a wrong-role call with an invalid body 400, not 403. These requests tell such an
// answer from a let-through (see `crate::model::expect::judge_with`).

/// What the run learned about the target's order of checks before the matrix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Calibration {
    pub order: CheckOrder,
    /// What the calibration requests got, in words (statuses only).
    pub reason: String,
}

impl Calibration {
    /// The faithful mock's order, assumed without asking.
    pub fn assumed_role_first() -> Calibration {
        Calibration {
            order: CheckOrder::RoleFirst,
            reason: "assumed: the role is checked first".into(),
        }
    }
}

/// The two calibration requests of a version: an invalid body to an operation only the admin
/// client may call, sent with the user's token, and an invalid body to an operation only
/// users may call, sent with the admin client's token. Both callers are surely forbidden, and
/// an invalid body is refused whatever the role check does, so nothing can change.
pub fn calibration_pairs(session: &Session) -> Vec<(&Operation, Principal)> {
    let only = |kind: CallerKind| {
        session
            .catalogue
            .operations(session.version)
            .find(move |o| {
                o.probe == ProbeStyle::InvalidBody
                    && !o.is_grant_row()
                    && o.callers == crate::model::Callers::default().with(kind)
            })
    };
    let mut out = Vec::new();
    if let Some(op) = only(CallerKind::MandatorAdmin) {
        out.push((op, Principal::User));
    }
    if let Some(op) = only(CallerKind::User) {
        out.push((op, Principal::AdminClient));
    }
    out
}

/// Learn whether the target validates requests before it checks the role. Both calibration
/// requests must agree; a missing token, a 5xx or a let-through leaves the order unknown.
pub async fn calibrate(session: &Session) -> Calibration {
    let mut seen = Vec::new();
    let mut words = Vec::new();
    for (op, principal) in calibration_pairs(session) {
        let Some(token) = session.fixtures.tokens.get(&principal) else {
            words.push(format!("no token of {principal} for {}", op.id));
            continue;
        };
        let req = HttpRequest::new(op.method.clone(), op.path.clone())
            .json(json!({}))
            .bearer(Some(token.clone()));
        let status = session.http.send(&req).await.status;
        words.push(format!(
            "{principal} with an invalid body to {} got {}",
            op.id,
            if status == 0 {
                "no answer".to_string()
            } else {
                status.to_string()
            }
        ));
        seen.push(match status {
            401 | 403 => Some(CheckOrder::RoleFirst),
            s if is_validation_status(s) => Some(CheckOrder::ValidationFirst),
            _ => None,
        });
    }
    let order = match seen.first() {
        Some(Some(first)) if seen.iter().all(|s| *s == Some(*first)) => *first,
        _ => CheckOrder::Unknown,
    };
    Calibration {
        order,
        reason: format!("calibration: {}", words.join("; ")),
    }
}

/// The principal whose answer to the same request shows what an allowed caller gets.
pub fn control_principal(op: &Operation) -> Option<Principal> {
    [
        (CallerKind::AppClient, Principal::AppClient),
        (CallerKind::MandatorAdmin, Principal::AdminClient),
        (CallerKind::User, Principal::User),
    ]
    .into_iter()
    .find(|(k, _)| op.callers.contains(*k))
    .map(|(_, p)| p)
}

/// True when an allowed caller can repeat a denied caller's probe of `op` without changing
/// anything the run did not create: the probe names unknown ids, carries an invalid or empty
/// body, names only the run's users or tokens, or only reads.
pub fn control_is_inert(op: &Operation) -> bool {
    match op.probe {
        ProbeStyle::InvalidBody
        | ProbeStyle::UnknownId
        | ProbeStyle::EmptyPatch
        | ProbeStyle::RunUsers
        | ProbeStyle::OwnToken
        | ProbeStyle::RunUser => true,
        ProbeStyle::AsIs => op.method == http::Method::GET,
        ProbeStyle::NewRunUser | ProbeStyle::DisposableUser | ProbeStyle::WrongSecret => false,
    }
}

/// Control answers of one run, each request sent at most once.
#[derive(Debug, Default)]
pub struct Controls {
    cells: parking_lot::Mutex<HashMap<String, Arc<tokio::sync::OnceCell<Option<u16>>>>>,
}

impl Controls {
    /// The status an allowed caller gets for `request` (a denied caller's probe of `op`),
    /// or `None` when no allowed caller can send it inertly or no answer came.
    pub async fn status(
        &self,
        session: &Session,
        op: &Operation,
        request: &HttpRequest,
    ) -> Option<u16> {
        if !control_is_inert(op) {
            return None;
        }
        let principal = control_principal(op)?;
        let token = session.fixtures.tokens.get(&principal)?.clone();
        let req = request.clone().bearer(Some(token));
        let key = format!("{} {} {:?}", req.method, req.path, req.body);
        let cell = self.cells.lock().entry(key).or_default().clone();
        *cell
            .get_or_init(|| async {
                let status = session.http.send(&req).await.status;
                (status != 0).then_some(status)
            })
            .await
    }
}

/// Valid bodies that name only ids that exist nowhere (or a user id under the run's prefix
/// that was never created): a caller let through finds nothing to change. Operations not
/// listed (creating user data or mandator-wide rules, certificates, credentials, switching
/// the API version) have no valid request that is inert if the boundary were broken.
pub fn proof_body(session: &Session, op: &Operation) -> Option<(Value, Vec<u16>)> {
    let unknown = UNKNOWN_ID;
    // What each proof names; the request shapes complete it to a valid body of the target's
    // API version (V2 names the interface `bankingInterface`, V1 `interface`).
    let interface = match session.version {
        ApiVersion::V1 => "interface",
        ApiVersion::V2 => "bankingInterface",
    };
    let given = match op.id.as_str() {
        "executePasswordChange" => json!({
            "userId": format!("{}never-created", session.prefix),
            "password": "fc-Proof-password-1",
            "passwordChangeToken": "00000000-0000-0000-0000-000000000000",
        }),
        "submitPayment" => json!({ "paymentId": unknown, interface: "FINTS_SERVER" }),
        "submitStandingOrder" => {
            json!({ "standingOrderId": unknown, interface: "FINTS_SERVER" })
        }
        "updateBankConnection" | "removeInterface" | "connectInterface" => {
            json!({ "bankConnectionId": unknown, interface: "FINTS_SERVER" })
        }
        "importBankConnection" => json!({ "bankId": unknown, interface: "FINTS_SERVER" }),
        "triggerCategorization" => json!({ "bankConnectionIds": [unknown] }),
        "editMultipleTransactions" => json!({ "ids": [unknown], "isNew": false }),
        _ => return None,
    };
    let body = inert_body(session.version, op, given.clone()).unwrap_or(given);
    Some((body, vec![200, 404, 422]))
}

/// The proof request: `principal` sends a valid, inert body to `op`.
pub fn proof(session: &Session, op: &Operation, principal: Principal) -> Option<Probe> {
    let (body, allowed) = proof_body(session, op)?;
    let token = bearer(session, principal).ok()?;
    Some(Probe {
        request: HttpRequest::new(op.method.clone(), op.path.clone())
            .json(body)
            .bearer(token),
        allowed_statuses: allowed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Catalogue;

    /// Every id-like number in `value`, with its field name.
    fn ids(value: &Value, out: &mut Vec<(String, Value)>) {
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    match v {
                        Value::Number(_) if is_id_field(k) => out.push((k.clone(), v.clone())),
                        Value::Array(items) if is_id_field(k) => {
                            out.extend(items.iter().map(|i| (k.clone(), i.clone())));
                        }
                        other => ids(other, out),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|i| ids(i, out)),
            _ => {}
        }
    }

    #[test]
    fn inert_bodies_are_valid_and_name_only_unknown_ids() {
        let catalogue = Catalogue::embedded();
        for version in [ApiVersion::V1, ApiVersion::V2] {
            let shapes = Shapes::embedded(version);
            let mut made = 0;
            for op in catalogue.operations(version) {
                let Some(body) = inert_body(version, op, json!({})) else {
                    continue;
                };
                made += 1;
                assert_eq!(
                    shapes.check_request_body(&op.id, &body),
                    Ok(()),
                    "{version:?} {}: {body}",
                    op.id
                );
                let mut found = Vec::new();
                ids(&body, &mut found);
                for (field, id) in found {
                    assert_eq!(id, json!(UNKNOWN_ID), "{} {field}: {body}", op.id);
                }
            }
            assert!(made >= 38, "{version:?}: {made}");
        }
        // What the caller gives is kept, also an id (the run's own user, a real bank).
        let op = catalogue
            .get(ApiVersion::V2, "importBankConnection")
            .unwrap();
        let body = inert_body(ApiVersion::V2, op, json!({ "bankId": 280001 })).unwrap();
        assert_eq!(body["bankId"], 280001);
        assert!(body["bankingInterface"].is_string(), "{body}");
    }
}
