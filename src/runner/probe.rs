//! One inert request per operation x principal.
//!
//! A probe is built so that even if the boundary it tests is broken, the request cannot damage
//! anything the run did not create: the catalogue's `probe` column says how (unknown ids,
//! bodies the server must reject, only the run's own users, a wrong old secret, ...).

use serde_json::json;

use super::http::HttpRequest;
use super::session::Session;
use crate::model::{ApiVersion, CallerKind, Operation, Principal, ProbeStyle};
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
    op.path
        .trim_start_matches('/')
        .split('/')
        .nth(2)
        .unwrap_or_default()
}

/// Build the probe for `principal` calling `op`.
pub fn build(session: &Session, op: &Operation, principal: Principal) -> Result<Probe, Skip> {
    if op.is_grant_row() {
        return grant_probe(session, op, principal);
    }
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
            if targets_a && op.callers.contains(CallerKind::User) && op.addresses_resource() {
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
                allowed = vec![404];
                UNKNOWN_ID.to_string()
            }
        };
        path = path.replace(&format!("{{{name}}}"), &value);
    }
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
            } else if op.method == http::Method::PATCH {
                request = request.json(json!({}));
            }
        }
        ProbeStyle::InvalidBody => {
            request = request.json(json!({}));
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
