//! Who holds each token the proxy saw issued, and what may have ended it: the tokens of grants'
//! answers (with their expiry in the upstream's time), and the calls that end or may end them
//! (a revoke, a deletion, a password or secret change, a lock, failed logins); the credentials
//! the session showed good; token reuse.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::call::param;
use super::clock::{expiry, life, Life};
use super::controls;
use super::state::{merge_cell, Holder, Pending, State};
use crate::model::{Grant, Operation, Principal, Rule, Verdict};
use crate::runner::{CheckResult, Credentials};

/// The principal a client id plays, from the credentials the proxy was given.
pub(crate) fn client_role(c: &Credentials, id: &str) -> Option<Principal> {
    [
        (&c.app, Principal::AppClient),
        (&c.app2, Principal::SecondAppClient),
        (&c.admin, Principal::AdminClient),
        (&c.other_app, Principal::OtherMandatorAppClient),
    ]
    .into_iter()
    .find(|(cred, _)| cred.as_ref().is_some_and(|c| c.id == id))
    .map(|(_, p)| p)
}

/// A token's caller at a moment of the upstream's time: `revoked-token` once a revoke ended
/// it, `expired-token` once expired in the upstream's time, else its holder.
pub(crate) fn principal_at(h: &Holder, now: DateTime<Utc>) -> Principal {
    if h.revoked {
        Principal::RevokedToken
    } else if life(h.expires, now) == Life::Expired {
        Principal::ExpiredToken
    } else {
        h.principal
    }
}

/// Whether a token can stand for its holder in a replay at `now`: not revoked, nothing seen
/// that may have ended it, and alive in the upstream's time.
pub(crate) fn live(h: &Holder, now: DateTime<Utc>) -> bool {
    !h.revoked && h.ended_by.is_none() && life(h.expires, now) == Life::Alive
}

/// Map the tokens of a successful grant to their holder; remember the credentials it showed
/// good. Tokens of any answer are secrets (scrubbed).
#[allow(clippy::too_many_arguments)]
pub(crate) fn learn_grant(
    state: &mut State,
    grant: Grant,
    client: Principal,
    params: &[(String, String)],
    secret: Option<&str>,
    body: &[u8],
    status: u16,
    now: DateTime<Utc>,
) {
    let Ok(answer) = serde_json::from_slice::<Value>(body) else {
        return;
    };
    let access = answer.get("access_token").and_then(Value::as_str);
    let refresh = answer.get("refresh_token").and_then(Value::as_str);
    for t in access.iter().chain(refresh.iter()) {
        state.secret(t);
    }
    if !(200..300).contains(&status) {
        return;
    }
    let expires = expiry(now, answer.get("expires_in").and_then(Value::as_u64));
    let holder = match grant {
        Grant::ClientCredentials => {
            if let Some(s) = secret {
                state.logins.client_succeeded(client, s);
            }
            if let Some(token) = access {
                token_reuse(state, client, token, now);
            }
            Holder {
                principal: client,
                user: None,
                client: Some(client),
                how: format!("token traffic seen: its client_credentials grant ({client})"),
                refresh: false,
                revoked: false,
                expires,
                ended_by: None,
            }
        }
        Grant::Password => {
            let user = param(params, "username").map(str::to_lowercase);
            if let (Some(u), Some(p)) = (&user, param(params, "password")) {
                state.logins.succeeded(client.is_foreign_mandator(), u, p);
            }
            Holder {
                principal: if client.is_foreign_mandator() {
                    Principal::OtherMandatorUser
                } else {
                    Principal::User
                },
                user,
                client: Some(client),
                how: format!("token traffic seen: a password grant through {client}"),
                refresh: false,
                revoked: false,
                expires,
                ended_by: None,
            }
        }
        Grant::RefreshToken => {
            let presented = param(params, "refresh_token");
            if let Some(r) = presented {
                controls::shown_alive(state, r, "a refresh with it got a token later");
            }
            match presented.and_then(|r| state.tokens.get(r)) {
                Some(h) => Holder {
                    revoked: false,
                    refresh: false,
                    expires,
                    ended_by: None,
                    how: format!("token traffic seen: a refresh_token grant through {client}"),
                    ..h.clone()
                },
                None => return,
            }
        }
    };
    if let Some(t) = access {
        state.tokens.insert(t.to_string(), holder.clone());
    }
    if let Some(t) = refresh {
        // A refresh token's own validity is not in the answer.
        let refresh = Holder {
            refresh: true,
            expires: None,
            ..holder
        };
        state.tokens.insert(t.to_string(), refresh);
    }
}

/// What a refused grant of the app's shows about the user: failed logins (enough of them
/// lock the user and end their tokens), a lock.
pub(crate) fn learn_refusal(
    state: &mut State,
    grant: Grant,
    client: Principal,
    params: &[(String, String)],
    status: u16,
) {
    let Some(user) = param(params, "username").map(str::to_lowercase) else {
        return;
    };
    if grant != Grant::Password {
        return;
    }
    let what = match status {
        423 => "the user was locked (423)",
        400 | 401 => {
            "failed logins of the user (enough of them lock the user and end their tokens)"
        }
        _ => return,
    };
    let foreign = client.is_foreign_mandator();
    state.logins.event(Some(foreign), &user, what);
    may_have_ended(state, |h| h.user.as_deref() == Some(&user), what);
}

/// Mark the tokens `which` selects as possibly ended by `what` (the first reason stays).
fn may_have_ended(state: &mut State, which: impl Fn(&Holder) -> bool, what: &str) {
    for h in state.tokens.values_mut() {
        if which(h) && !h.revoked {
            h.ended_by.get_or_insert_with(|| what.to_string());
        }
    }
}

/// What a successful call (by `user`, for user tokens) changes about tokens and credentials:
/// a revoke takes its token out of service (a refresh token, or a revoke without the hint
/// `access_token`, the whole grant, as finAPI documents); a deletion, all the user's tokens; a
/// password change or a secret change may end tokens (how is the lifecycle's, which `check`
/// judges), so they stop standing for their holder.
pub(crate) fn learn_write(
    credentials: &Credentials,
    state: &mut State,
    op: &Operation,
    params: &[(String, String)],
    path_user: Option<String>,
    user: Option<&str>,
) {
    let body_list = |name: &str| -> Vec<String> {
        params
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.to_lowercase())
            .collect()
    };
    if op.is_revoke() {
        let Some(t) = param(params, "token") else {
            return;
        };
        let hint = param(params, "token_type_hint");
        let Some(owner) = state.tokens.get(t).cloned() else {
            return;
        };
        let whole = owner.refresh || hint != Some("access_token");
        for (token, h) in state.tokens.iter_mut() {
            let same_user = owner.user.is_some() && h.user == owner.user;
            let same_grant = same_user && h.client.is_some() && h.client == owner.client;
            if token == t || (whole && same_grant) {
                h.revoked = true;
            } else if whole && same_user && (h.client.is_none() || owner.client.is_none()) {
                // Through which client one of them was issued is not known: it may be the same
                // grant.
                h.ended_by
                    .get_or_insert_with(|| "a revoke of the user's tokens".to_string());
            }
        }
        if let Some(u) = &owner.user {
            state.logins.event(None, u, "a revoke of the user's tokens");
        }
        return;
    }
    let deleted: Vec<String> = match op.id.as_str() {
        "deleteAuthorizedUser" => user.map(str::to_lowercase).into_iter().collect(),
        "deleteUnverifiedUser" => path_user.into_iter().collect(),
        "deleteUsers" => body_list("userIds"),
        _ => Vec::new(),
    };
    for u in &deleted {
        for h in state.tokens.values_mut() {
            if h.user.as_deref() == Some(u.as_str()) {
                h.revoked = true;
            }
        }
        state.logins.event(None, u, "the user's deletion");
    }
    match op.id.as_str() {
        "executePasswordChange" => {
            if let Some(u) = param(params, "userId").map(str::to_lowercase) {
                let what = "a password change of the user";
                state.logins.event(None, &u, what);
                may_have_ended(state, |h| h.user.as_deref() == Some(&u), what);
            }
        }
        "changeClientCredentials" => {
            if let Some(c) = param(params, "clientId").and_then(|id| client_role(credentials, id)) {
                let what = format!("a secret change of {c}");
                state.logins.secret_changed(c);
                state.secret_changes.insert(c);
                may_have_ended(state, |h| h.client.is_none_or(|hc| hc == c), &what);
            }
        }
        _ => {}
    }
}

/// `token-reuse`: the same credentials get the same token back while it is alive. A different
/// token while the previous one is alive by all the proxy saw is a violation only once the
/// upstream shows the previous one still alive (a 2xx with it later, or the liveness control
/// of `--replay reads`); until then it is inconclusive.
fn token_reuse(state: &mut State, client: Principal, token: &str, now: DateTime<Utc>) {
    let previous = state.client_tokens.insert(client, token.to_string());
    let Some(old) = previous else {
        return;
    };
    let Some(h) = state.tokens.get(&old) else {
        return;
    };
    // A token about to expire (10 s) may be replaced.
    let margin = now + chrono::Duration::seconds(10);
    if h.revoked || h.ended_by.is_some() || life(h.expires, margin) != Life::Alive {
        return;
    }
    let result = |verdict: Verdict, reason: &str| CheckResult {
        operation: "lifecycle:token-reuse".into(),
        section: "Lifecycle".into(),
        method: "POST".into(),
        path: String::new(),
        principal: client,
        expected: "same token".into(),
        observed_status: Some(200),
        verdict,
        reason: reason.into(),
        rule: Rule::TokenReuse,
        latency_ms: 0,
        evidence: None,
    };
    if old == token {
        merge_cell(state, result(Verdict::Pass, "the same token came back"), 1);
        return;
    }
    merge_cell(
        state,
        result(
            Verdict::Inconclusive,
            "a second request got a different token while the first was alive by all the proxy saw; a violation only once the upstream shows the first still alive",
        ),
        1,
    );
    controls::defer(
        state,
        &old,
        Pending {
            result: result(
                Verdict::Violation,
                "a second request got a different token while the first was alive",
            ),
            login: None,
        },
        Some(client),
    );
}
