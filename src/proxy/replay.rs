//! Replay, Autorize-style: each inert read the app sends is re-sent once per other principal
//! the proxy can form, and each password or refresh grant with every other client it has
//! credentials for; each replay is judged by the oracle. Writes are never replayed.

use std::time::Instant;

use serde_json::Value;

use super::judge::{
    record_cell, replayable, shown_request, Call, Caller, Judge, Judged, ReplayNote, State,
};
use crate::model::expect::{judge_with, CheckOrder, Evidence as Order};
use crate::model::{expect, Grant, Observed, Operation, Outcome, Principal};
use crate::runner::http::{Body, Http, HttpRequest};

/// A bearer value no finAPI ever issued (the `malformed-token` principal).
const MALFORMED: &str = "finapi-conformance-proxy-malformed-token";

/// Replays of one call, planned under the state lock and sent without it.
pub(crate) struct Replay {
    pub principal: Principal,
    pub request: HttpRequest,
    pub op: Operation,
    /// The grant, for a token request.
    pub grant: Option<Grant>,
    /// What the app's own, allowed call got for the very same request (`check`'s control).
    pub control: Option<u16>,
}

fn note<'a>(state: &'a mut State, op: &str) -> &'a mut ReplayNote {
    state
        .replay_notes
        .entry(op.to_string())
        .or_insert_with(|| ReplayNote {
            operation: op.to_string(),
            ..ReplayNote::default()
        })
}

/// Note an operation that was seen and not replayed.
pub(crate) fn not_replayed(state: &mut State, op: &str, why: &str) {
    note(state, op).not_replayed.insert(why.to_string());
}

/// The principals to form for a read, with the token each presents (`None`: no header).
fn read_principals(
    judge: &Judge,
    state: &State,
    original: Principal,
    original_user: Option<&str>,
) -> (Vec<(Principal, Option<String>)>, Vec<String>) {
    let mut out: Vec<(Principal, Option<String>)> = vec![
        (Principal::NoToken, None),
        (Principal::MalformedToken, Some(MALFORMED.to_string())),
    ];
    let mut missing = Vec::new();
    // A revoked token of the same user first: its answer then cannot be "not yours".
    let revoked = state
        .tokens
        .iter()
        .filter(|(_, h)| h.revoked && !h.refresh)
        .min_by_key(|(t, h)| (h.user.as_deref() != original_user, (*t).clone()));
    match revoked {
        Some((t, _)) => out.push((Principal::RevokedToken, Some(t.clone()))),
        None => missing.push("revoked-token: no revoked token seen yet".to_string()),
    }
    match &judge.credentials.expired_token {
        Some(t) => out.push((Principal::ExpiredToken, Some(t.clone()))),
        None => missing.push("expired-token: none given (FINAPI_EXPIRED_TOKEN)".to_string()),
    }
    // Another user's live token: `other-user` for a user's read, `user` for a client's.
    let other_user = state
        .tokens
        .iter()
        .filter(|(_, h)| {
            !h.revoked
                && !h.refresh
                && h.principal == Principal::User
                && h.user.is_some()
                && h.user.as_deref() != original_user
        })
        .min_by(|a, b| a.1.user.cmp(&b.1.user).then(a.0.cmp(b.0)));
    match other_user {
        Some((t, _)) if original == Principal::User => {
            out.push((Principal::OtherUser, Some(t.clone())))
        }
        Some((t, _)) => out.push((Principal::User, Some(t.clone()))),
        None => missing.push("other users: no other user's token seen yet".to_string()),
    }
    for p in [
        Principal::AppClient,
        Principal::SecondAppClient,
        Principal::AdminClient,
        Principal::OtherMandatorAppClient,
    ] {
        match state.own_tokens.get(&p) {
            Some(t) => out.push((p, Some(t.clone()))),
            None => missing.push(format!("{p}: no credentials, or no token for them")),
        }
    }
    out.retain(|(p, _)| *p != original);
    (out, missing)
}

/// Plan the replays of a judged call (reads and password/refresh grants).
pub(crate) fn plan(
    judge: &Judge,
    state: &mut State,
    call: &Call,
    judged: &Judged,
    status: u16,
    max: usize,
) -> Vec<Replay> {
    let Some(op) = &judged.op else {
        return Vec::new();
    };
    let (caller, grant) = (&judged.caller, judged.grant);
    let control = match caller {
        Caller::Known(p, _) if expect(op, *p).outcome == Outcome::Allowed => Some(status),
        _ => None,
    };
    if let Err(why) = replayable(op) {
        not_replayed(state, &op.id, why);
        return Vec::new();
    }
    let mut out = Vec::new();
    if let Some((grant, client)) = grant {
        let params = call.params();
        for (p, cred) in [
            (Principal::AppClient, &judge.credentials.app),
            (Principal::SecondAppClient, &judge.credentials.app2),
            (Principal::AdminClient, &judge.credentials.admin),
            (
                Principal::OtherMandatorAppClient,
                &judge.credentials.other_app,
            ),
        ] {
            if p == client {
                continue;
            }
            let Some(cred) = cred else {
                not_replayed(state, &op.id, &format!("{p}: no credentials"));
                continue;
            };
            let e = expect(op, p);
            if grant == Grant::RefreshToken && e.outcome == Outcome::Allowed {
                // A refresh token belongs to the client it was issued to; another app client's
                // refresh could end or rotate the app's grant.
                not_replayed(
                    state,
                    &op.id,
                    &format!("{p}: a refresh by another app client could change the app's grant"),
                );
                continue;
            }
            let pairs: Vec<(String, String)> = params
                .iter()
                .map(|(k, v)| match k.as_str() {
                    "client_id" => (k.clone(), cred.id.clone()),
                    "client_secret" => (k.clone(), cred.secret.clone()),
                    _ => (k.clone(), v.clone()),
                })
                .collect();
            let mut request = HttpRequest::new(op.method.clone(), call.path_and_query.clone());
            request.body = Body::Form(pairs);
            out.push(Replay {
                principal: p,
                request,
                op: op.clone(),
                grant: Some(grant),
                control: None,
            });
        }
    } else {
        let Caller::Known(original, user) = caller else {
            not_replayed(
                state,
                &op.id,
                "a call by an unknown token: whose it was is unknown",
            );
            return Vec::new();
        };
        let (principals, missing) = read_principals(judge, state, *original, user.as_deref());
        for why in missing {
            not_replayed(state, &op.id, &why);
        }
        for (p, token) in principals {
            if expect(op, p).outcome == Outcome::NotApplicable {
                not_replayed(
                    state,
                    &op.id,
                    &format!("{p}: not applicable (the request names no resource of a user)"),
                );
                continue;
            }
            let mut request = HttpRequest::new(op.method.clone(), call.path_and_query.clone());
            request.bearer = token;
            if !call.body.is_empty() {
                request.body = match serde_json::from_slice::<Value>(&call.body) {
                    Ok(v) => Body::Json(v),
                    Err(_) => Body::Form(form_urlencoded::parse(&call.body).into_owned().collect()),
                };
            }
            out.push(Replay {
                principal: p,
                request,
                op: op.clone(),
                grant: None,
                control,
            });
        }
    }
    // Each request is replayed once per principal, within the budget; a grant is the same
    // request when it names the same user (or refresh token). The key is never shown.
    let what = match grant {
        Some((g, _)) => {
            let params = call.params();
            let find = |n: &str| {
                params
                    .iter()
                    .find(|(k, _)| k == n)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default()
            };
            format!(
                "{} {} {}{}",
                call.path_and_query,
                g.as_str(),
                find("username"),
                find("refresh_token")
            )
        }
        None => call.path_and_query.clone(),
    };
    out.retain(|r| {
        let key = (r.request.method.to_string(), what.clone(), r.principal);
        if state.replayed.contains(&key) {
            return false;
        }
        if state.replays >= max {
            not_replayed(state, &op.id, "the replay budget (--max-replays) was spent");
            return false;
        }
        state.replayed.insert(key);
        state.replays += 1;
        true
    });
    out
}

/// Client tokens of the proxy's own, for replays as the clients (obtained once, by the
/// client_credentials grant with the given credentials).
pub(crate) async fn own_tokens(judge: &Judge, http: &Http) -> Vec<(Principal, String)> {
    let path = judge
        .catalogue
        .get(judge.version, "getToken")
        .map(|o| o.path.clone())
        .unwrap_or_default();
    let mut out = Vec::new();
    for (p, cred) in [
        (Principal::AppClient, &judge.credentials.app),
        (Principal::SecondAppClient, &judge.credentials.app2),
        (Principal::AdminClient, &judge.credentials.admin),
        (
            Principal::OtherMandatorAppClient,
            &judge.credentials.other_app,
        ),
    ] {
        let Some(cred) = cred else { continue };
        let req = HttpRequest::new(http::Method::POST, path.clone()).form(&[
            ("grant_type", "client_credentials"),
            ("client_id", &cred.id),
            ("client_secret", &cred.secret),
        ]);
        let resp = http.send(&req).await;
        if let Some(t) = crate::runner::session::access_token(&resp) {
            out.push((p, t));
        }
    }
    out
}

/// Send the planned replays and judge each; returns the verdict lines.
pub(crate) async fn run(
    judge: &Judge,
    http: &Http,
    state: &parking_lot::Mutex<State>,
    replays: Vec<Replay>,
) -> Vec<String> {
    let mut lines = Vec::new();
    for r in replays {
        let started = Instant::now();
        let resp = http.send(&r.request).await;
        let e = expect(&r.op, r.principal);
        let judgement = judge_with(
            &r.op,
            &e,
            Observed {
                status: resp.status,
                body: &resp.body,
            },
            judge.mode,
            &[],
            &Order {
                order: CheckOrder::Unknown,
                control: r.control,
                proof: None,
            },
        );
        let mut state = state.lock();
        if resp.status != 0 {
            judge.check_shape(&mut state, &r.op, resp.status, &resp.body);
        }
        if let Some(grant) = r.grant {
            // Tokens a replayed grant obtained are secrets too (never used, never shown).
            judge.learn_tokens(&mut state, grant, r.principal, &[], &resp.body, 0);
        }
        let shown = shown_request(
            &state,
            &Call {
                method: r.request.method.clone(),
                path_and_query: r.request.path.clone(),
                headers: http::HeaderMap::new(),
                body: bytes::Bytes::new(),
                latency: started.elapsed(),
            },
        );
        lines.push(format!(
            "replay {shown} as {}: {} -> {}: {} ({}) [{}]",
            r.principal,
            r.op.id,
            resp.status,
            judgement.verdict.name(),
            judgement.reason,
            e.rule.id()
        ));
        let n = note(&mut state, &r.op.id);
        n.replays += 1;
        n.principals.insert(r.principal);
        record_cell(
            &mut state,
            &r.op,
            r.principal,
            &e,
            judgement,
            &r.request,
            &resp,
        );
    }
    lines
}
