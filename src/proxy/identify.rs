//! Tokens the proxy never saw issued (an app that got them before the proxy started): each is
//! identified once, the first time it is seen, before its call goes upstream. A token that is
//! one of the proxy's own client tokens (the same credentials get the same token back while it
//! lives) is that client's, with no request. Any other gets one inert read with the token
//! itself, the user-only read (`GET /api/v2/users`): a user's token gets the user, so the answer
//! names them; a client's is refused. Only a client token gets a second read, the
//! client-configuration read, which an app client is let through and the admin is refused.
//! From then on its calls are judged as that caller. A token the reads cannot place (refused as
//! no token at all, or an answer that tells nothing) stays unknown, with the reason, and is not
//! asked about again.
//!
//! The reads trust the upstream's answer to them: a user token identified this way is taken for
//! a user of the mandator whose clients the proxy has credentials for, an app client for an app
//! client of it (which one is not told), and the expiry of either is not known.

use parking_lot::Mutex;
use serde_json::Value;

use super::judge::Judge;
use super::state::{Holder, State};
use crate::model::{CallerKind, Catalogue, Operation, Principal};
use crate::runner::http::{Http, HttpRequest};

/// The inert Access read without path parameters that only `kind` may make (the shortest
/// path): the user-only read (`GET /api/v2/users`) and the client-configuration read
/// (`GET /api/v2/clientConfiguration`).
fn only_read(judge: &Judge, kind: CallerKind) -> Option<&Operation> {
    only_read_in(&judge.catalogue, judge.version, kind)
}

fn only_read_in(
    catalogue: &Catalogue,
    version: crate::model::ApiVersion,
    kind: CallerKind,
) -> Option<&Operation> {
    super::controls::shortest_inert_read(catalogue, version, |o| {
        [
            CallerKind::AppClient,
            CallerKind::MandatorAdmin,
            CallerKind::User,
            CallerKind::None,
        ]
        .into_iter()
        .all(|k| o.callers.contains(k) == (k == kind))
    })
}

/// What one identifying read got.
struct Read {
    shown: String,
    status: u16,
    body: Value,
}

async fn read(http: &Http, op: &Operation, token: &str) -> Read {
    let sent = http
        .send(&HttpRequest::new(op.method.clone(), op.path.clone()).bearer(Some(token.to_string())))
        .await;
    Read {
        shown: format!("{} {}", op.method, op.path),
        status: sent.status,
        body: sent.json(),
    }
}

/// Identify `token` if the proxy does not know it yet and has not tried: one at a time
/// (`gate`), so a second call with the same token waits for the first one's answer.
pub(crate) async fn identify(
    judge: &Judge,
    http: &Http,
    state: &Mutex<State>,
    gate: &tokio::sync::Mutex<()>,
    token: &str,
) {
    if token.is_empty() {
        return;
    }
    {
        let s = state.lock();
        if s.tokens.contains_key(token) || s.unknown_tokens.contains_key(token) {
            return;
        }
    }
    let _one_at_a_time = gate.lock().await;
    {
        let mut s = state.lock();
        if s.tokens.contains_key(token) || s.unknown_tokens.contains_key(token) {
            return;
        }
        s.secret(token);
        let own = s
            .own_tokens
            .iter()
            .find(|(_, t)| t.token == token)
            .map(|(p, t)| (*p, t.expires));
        if let Some((p, expires)) = own {
            let holder = Holder {
                principal: p,
                user: None,
                client: Some(p),
                how: format!(
                    "token traffic seen: the proxy's own client_credentials grant of {p} got the same token"
                ),
                refresh: false,
                revoked: false,
                expires,
                ended_by: None,
            };
            s.tokens.insert(token.to_string(), holder);
            return;
        }
    }
    let found = probe(judge, http, state, token).await;
    let mut s = state.lock();
    match found {
        Ok(holder) => {
            s.tokens.insert(token.to_string(), holder);
        }
        Err(why) => {
            s.unknown_tokens.insert(token.to_string(), why);
        }
    }
}

/// The identifying reads: the user-only read, then, for a client's token, the
/// client-configuration read. `Err` says why the token stays unknown.
async fn probe(
    judge: &Judge,
    http: &Http,
    state: &Mutex<State>,
    token: &str,
) -> Result<Holder, String> {
    let holder = |principal: Principal, user: Option<String>, how: String| Holder {
        principal,
        user,
        client: None,
        how,
        refresh: false,
        revoked: false,
        expires: None,
        ended_by: None,
    };
    let Some(user_op) = only_read(judge, CallerKind::User) else {
        return Err("the catalogue has no user-only read to identify it with".into());
    };
    let first = read(http, user_op, token).await;
    state.lock().identify_reads += 1;
    let probed = format!("probed: {} with it got {}", first.shown, first.status);
    match first.status {
        200..=299 => {
            return match first.body.get("id").and_then(Value::as_str) {
                Some(id) => Ok(holder(
                    Principal::User,
                    Some(id.to_lowercase()),
                    format!("{probed} (the user {id})"),
                )),
                None => Err(format!("{probed}, but no user in the answer")),
            };
        }
        401 => return Err(format!("{probed}: not a live token")),
        403 => {}
        _ => return Err(format!("{probed}, which tells nothing")),
    }
    let Some(client_op) = only_read(judge, CallerKind::AppClient) else {
        return Err(format!(
            "{probed} (not a user's); the catalogue has no client-configuration read"
        ));
    };
    let second = read(http, client_op, token).await;
    state.lock().identify_reads += 1;
    let probed = format!(
        "{probed} (not a user's), {} got {}",
        second.shown, second.status
    );
    match second.status {
        200..=299 => Ok(holder(
            Principal::AppClient,
            None,
            format!("{probed} (an app client; which one is not told)"),
        )),
        403 => Ok(holder(
            Principal::AdminClient,
            None,
            format!("{probed} (the admin client)"),
        )),
        401 => Err(format!("{probed}: not a live token")),
        _ => Err(format!("{probed}, which tells nothing")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ApiVersion;

    #[test]
    fn the_identifying_reads_come_from_the_catalogue() {
        let catalogue = Catalogue::embedded();
        for version in [ApiVersion::V1, ApiVersion::V2] {
            let user = only_read_in(catalogue, version, CallerKind::User).unwrap();
            assert_eq!(user.id, "getAuthorizedUser", "{version}");
            let client = only_read_in(catalogue, version, CallerKind::AppClient).unwrap();
            assert_eq!(client.id, "getClientConfiguration", "{version}");
        }
    }
}
