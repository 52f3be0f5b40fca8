//! Replay, Autorize-style: each inert read the app sends is re-sent once per other principal
//! the proxy can form, and each password or refresh grant with every other client it has
//! credentials for; each replay is judged by the oracle. Writes are never replayed.
//!
//! Each verdict a replay can give needs its control:
//!
//! - a replay as another user or mandator ("not visible") is sent only when the app's own call
//!   was shown the resource (a 2xx for that very request); one judged for the ids a user's
//!   query names, only when the app's own answer listed items (`ids.rs`);
//! - a read the proxy holds no token for some principal for yet waits for one (`deferred.rs`),
//!   if it is stable;
//! - a grant is replayed only when the app's own grant succeeded, and with a client whose
//!   credentials the session showed good;
//! - a replay presents a live token: a seen token alive in the upstream's time with nothing
//!   seen that may have ended it, or the proxy's own client token, renewed when expired or
//!   refused (and the replay sent again once); a principal without one gives no verdict;
//! - a refused token the proxy saw alive gets a liveness control (`controls.rs`).

use std::collections::BTreeMap;
use std::time::Instant;

use serde_json::Value;

use super::call::{param, shown_request, Call};
use super::clock::{expiry, life, Life};
use super::controls;
use super::deferred::{Bounds, ReadCall};
use super::ids::Named;
use super::judge::{refused_alive_token, replayable, Caller, Judge, Judged};
use super::state::{merge_cell, record_cell, result_of, OwnToken, Pending, ReplayNote, State};
use super::tokens::live;
use super::upstream::Upstreams;
use crate::model::expect::{judge_with, CheckOrder, Evidence as Order};
use crate::model::{expect, Grant, Observed, Operation, Outcome, Principal};
use crate::runner::http::{Body, Http, HttpRequest};

/// A bearer value no finAPI ever issued (the `malformed-token` principal).
const MALFORMED: &str = "finapi-conformance-proxy-malformed-token";

/// The token a replay presents.
#[derive(Debug, Clone)]
pub(crate) enum Token {
    /// No `Authorization` header.
    None,
    /// A value: a token seen in traffic, given, or the malformed one.
    Value(String),
    /// The proxy's own token of a client: taken (renewed if expired) when the replay is sent.
    Own(Principal),
}

/// What a replay is for.
#[derive(Debug, Clone)]
pub(crate) enum Purpose {
    /// Judged by the oracle as its principal.
    Judge,
    /// A liveness control of a refused token: whether the upstream still accepts it.
    Liveness(String),
}

/// One replay, planned under the state lock and sent without it.
pub(crate) struct Replay {
    pub principal: Principal,
    /// The request, its path as the app sent it (the upstream is chosen when it is sent).
    pub request: HttpRequest,
    pub op: Operation,
    /// The grant, for a token request.
    pub grant: Option<Grant>,
    /// What the app's own, allowed call got for the very same request (`check`'s control).
    pub control: Option<u16>,
    pub token: Token,
    pub purpose: Purpose,
    /// Judge the operation's own cell (false: only its id cells).
    pub plain: bool,
    /// The id cells it is judged for: the ids the request names, with the app's own answer.
    pub ids: Option<Named>,
    /// A replay that waited for its principal.
    pub deferred: bool,
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

/// Note an operation that was seen and not replayed (or whose replay gave no verdict).
pub(crate) fn not_replayed(state: &mut State, op: &str, why: &str) {
    note(state, op).not_replayed.insert(why.to_string());
}

/// A principal a read could not be replayed as: why, and the principal when a token for it
/// may still appear (a user logs in, a token is revoked or expires), so the replay can wait.
pub(crate) struct Missing {
    pub principal: Option<Principal>,
    pub why: String,
}

/// The principals to form for a read by `original` (`original_user` for a user's token), with
/// the token each presents, and the ones that cannot be formed, with why. Another user's live
/// token plays `other-user` for a user's read when the two are users of one mandator,
/// `other-mandator-user` when they are not (only where the app logged such a user in), and
/// `user` for a client's read.
fn read_principals(
    judge: &Judge,
    state: &State,
    original: Principal,
    original_user: Option<&str>,
) -> (Vec<(Principal, Token)>, Vec<Missing>) {
    let now = state.clock.now();
    let mut out: Vec<(Principal, Token)> = vec![
        (Principal::NoToken, Token::None),
        (
            Principal::MalformedToken,
            Token::Value(MALFORMED.to_string()),
        ),
    ];
    let mut missing = Vec::new();
    // A revoked token of the same user first: its answer then cannot be "not yours".
    let revoked = state
        .tokens
        .iter()
        .filter(|(_, h)| h.revoked && !h.refresh)
        .min_by_key(|(t, h)| (h.user.as_deref() != original_user, (*t).clone()));
    match revoked {
        Some((t, _)) => out.push((Principal::RevokedToken, Token::Value(t.clone()))),
        None => missing.push(Missing {
            principal: Some(Principal::RevokedToken),
            why: "revoked-token: no revoked token seen yet".to_string(),
        }),
    }
    // An expired token: the one given, else one seen that expired in the upstream's time.
    let seen_expired = state
        .tokens
        .iter()
        .filter(|(_, h)| !h.revoked && !h.refresh && life(h.expires, now) == Life::Expired)
        .min_by_key(|(t, _)| (*t).clone())
        .map(|(t, _)| t.clone());
    match judge.credentials.expired_token.clone().or(seen_expired) {
        Some(t) => out.push((Principal::ExpiredToken, Token::Value(t))),
        None => missing.push(Missing {
            principal: Some(Principal::ExpiredToken),
            why: "expired-token: none given (FINAPI_EXPIRED_TOKEN) and none seen expire"
                .to_string(),
        }),
    }
    // Other users' live tokens, by mandator side relative to the read's caller.
    let users = |same_side: bool| {
        state
            .tokens
            .iter()
            .filter(move |(_, h)| {
                live(h, now)
                    && !h.refresh
                    && matches!(h.principal, Principal::User | Principal::OtherMandatorUser)
                    && h.user.is_some()
                    && (h.principal.is_foreign_mandator() == original.is_foreign_mandator())
                        == same_side
                    && !(same_side && h.user.as_deref() == original_user)
            })
            .min_by(|a, b| a.1.user.cmp(&b.1.user).then(a.0.cmp(b.0)))
            .map(|(t, _)| t.clone())
    };
    let user_read = matches!(original, Principal::User | Principal::OtherMandatorUser);
    match (users(true), user_read) {
        (Some(t), true) => out.push((Principal::OtherUser, Token::Value(t))),
        (Some(t), false) => out.push((Principal::User, Token::Value(t))),
        (None, true) => missing.push(Missing {
            principal: Some(Principal::OtherUser),
            why: "other-user: no other user's live token seen yet".to_string(),
        }),
        (None, false) => missing.push(Missing {
            principal: Some(Principal::User),
            why: "user: no user's live token seen yet".to_string(),
        }),
    }
    if user_read {
        // A user of another mandator, where the app logged one in: never waited for.
        match users(false) {
            Some(t) => out.push((Principal::OtherMandatorUser, Token::Value(t))),
            None => missing.push(Missing {
                principal: None,
                why: "other-mandator-user: no live token of another mandator's user seen"
                    .to_string(),
            }),
        }
    }
    for (p, cred) in clients(judge) {
        match cred {
            Some(_) => out.push((p, Token::Own(p))),
            None => missing.push(Missing {
                principal: None,
                why: format!("{p}: no credentials"),
            }),
        }
    }
    out.retain(|(p, _)| *p != original);
    (out, missing)
}

/// The clients the proxy may have credentials for, with them.
fn clients(judge: &Judge) -> [(Principal, Option<&crate::runner::ClientCredentials>); 4] {
    let c = &judge.credentials;
    [
        (Principal::AppClient, c.app.as_ref()),
        (Principal::SecondAppClient, c.app2.as_ref()),
        (Principal::AdminClient, c.admin.as_ref()),
        (Principal::OtherMandatorAppClient, c.other_app.as_ref()),
    ]
}

/// The liveness controls asked for since the last call, as replays.
fn liveness_controls(judge: &Judge, state: &mut State) -> Vec<Replay> {
    let wanted = std::mem::take(&mut state.wanted_controls);
    let mut out = Vec::new();
    for (token, p) in wanted {
        let Some(op) = controls::control_op(&judge.catalogue, judge.version, p) else {
            continue;
        };
        let mut request = HttpRequest::new(op.method.clone(), op.path.clone());
        request.bearer = Some(token.clone());
        out.push(Replay {
            principal: p,
            request,
            op: op.clone(),
            grant: None,
            control: None,
            token: Token::Value(token.clone()),
            purpose: Purpose::Liveness(token),
            plain: true,
            ids: None,
            deferred: false,
        });
    }
    out
}

/// The replays of a grant the app made: with every other client, when the app's own grant
/// succeeded.
fn grant_replays(
    judge: &Judge,
    state: &mut State,
    call: &Call,
    op: &Operation,
    (grant, client): (Grant, Principal),
    status: u16,
) -> Vec<Replay> {
    if !(200..300).contains(&status) {
        not_replayed(
            state,
            &op.id,
            &format!("the app's own grant was refused ({status}): another client's answer would show nothing"),
        );
        return Vec::new();
    }
    let params = call.params();
    let mut out = Vec::new();
    for (p, cred) in clients(judge) {
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
        if e.outcome == Outcome::Allowed
            && state
                .logins
                .secret_shown_good(p, Some(&cred.secret))
                .is_err()
        {
            not_replayed(
                state,
                &op.id,
                &format!("{p}: its credentials were not shown good (no token for them)"),
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
            token: Token::None,
            purpose: Purpose::Judge,
            plain: true,
            ids: None,
            deferred: false,
        });
    }
    out
}

/// The app's read `call` (judged as `caller`, answered `status` with `body`), as its replays
/// need it, and why its ids (if it names any) are not replayed; `Err` says why the read is not
/// replayed at all.
fn read_call(
    op: &Operation,
    call: &Call,
    caller: &Caller,
    status: u16,
    body: &[u8],
) -> Result<(ReadCall, Option<String>), String> {
    let Caller::Known(original, user) = caller else {
        return Err("a call by an unknown token: whose it was is unknown".into());
    };
    let user_read = matches!(original, Principal::User | Principal::OtherMandatorUser);
    let (ids, no_ids) = if user_read {
        match super::ids::named(op, &call.path_and_query, status, body) {
            Ok(ids) => (ids, None),
            Err(why) => (None, Some(why)),
        }
    } else {
        (None, None)
    };
    let read = ReadCall {
        op: op.clone(),
        method: call.method.clone(),
        path_and_query: call.path_and_query.clone(),
        body: call.body.clone(),
        original: *original,
        user: user.clone(),
        status,
        ids,
    };
    Ok((read, no_ids))
}

/// What the app's own, allowed call got for the very same request (`check`'s control).
fn control(read: &ReadCall) -> Option<u16> {
    (expect(&read.op, read.original).outcome == Outcome::Allowed).then_some(read.status)
}

/// What a replay of `read` as `p` is judged for: `Ok(true)` the operation's own cell (and its
/// id cells, if any), `Ok(false)` only its id cells; `Err` why it is not sent.
fn judged_as(read: &ReadCall, p: Principal) -> Result<bool, String> {
    let ids =
        read.ids.is_some() && matches!(p, Principal::OtherUser | Principal::OtherMandatorUser);
    let shown = control(read).is_some_and(|s| (200..300).contains(&s));
    match expect(&read.op, p).outcome {
        Outcome::NotApplicable if ids => Ok(false),
        Outcome::NotApplicable => Err(format!(
            "{p}: not applicable (the request names no resource of a user)"
        )),
        Outcome::NotVisible if !shown => Err(format!(
            "{p}: the app's own call was not shown the resource, so a replay cannot show whose it is"
        )),
        _ => Ok(true),
    }
}

/// The replays of the app's read `read` as every other principal the proxy can form now (only
/// those in `only`, for a read that waited), and the principals it cannot form yet, with why.
fn read_replays(
    judge: &Judge,
    state: &mut State,
    read: &ReadCall,
    only: Option<&BTreeMap<Principal, String>>,
) -> (Vec<Replay>, Vec<Missing>) {
    let op = &read.op;
    let (principals, mut missing) =
        read_principals(judge, state, read.original, read.user.as_deref());
    if let Some(only) = only {
        missing.retain(|m| m.principal.is_some_and(|p| only.contains_key(&p)));
    }
    let mut out = Vec::new();
    for (p, token) in principals {
        if only.is_some_and(|only| !only.contains_key(&p)) {
            continue;
        }
        let plain = match judged_as(read, p) {
            Ok(plain) => plain,
            Err(why) => {
                not_replayed(state, &op.id, &why);
                continue;
            }
        };
        let ids = read
            .ids
            .clone()
            .filter(|_| matches!(p, Principal::OtherUser | Principal::OtherMandatorUser));
        let mut request = HttpRequest::new(read.method.clone(), read.path_and_query.clone());
        if !read.body.is_empty() {
            request.body = match serde_json::from_slice::<Value>(&read.body) {
                Ok(v) => Body::Json(v),
                Err(_) => Body::Form(form_urlencoded::parse(&read.body).into_owned().collect()),
            };
        }
        out.push(Replay {
            principal: p,
            request,
            op: op.clone(),
            grant: None,
            control: control(read),
            token,
            purpose: Purpose::Judge,
            plain,
            ids,
            deferred: only.is_some(),
        });
    }
    (out, missing)
}

/// The replays of a read the app made, now and, for principals the proxy holds no token for
/// yet, once one appears (a stable read waits for them, within the bounds).
fn replays_of_read(
    judge: &Judge,
    state: &mut State,
    call: &Call,
    op: &Operation,
    caller: &Caller,
    (status, body): (u16, &[u8]),
    bounds: &Bounds,
) -> Vec<Replay> {
    let (read, no_ids) = match read_call(op, call, caller, status, body) {
        Ok(read) => read,
        Err(why) => {
            not_replayed(state, &op.id, &why);
            return Vec::new();
        }
    };
    if let Some(why) = no_ids {
        not_replayed(state, &op.id, &why);
    }
    let (out, missing) = read_replays(judge, state, &read, None);
    let stable = read.stable();
    let mut waiting = BTreeMap::new();
    for m in missing {
        if let Some(Err(why)) = m.principal.map(|p| judged_as(&read, p)) {
            // A replay as it would not be sent even with a token.
            not_replayed(state, &op.id, &why);
            continue;
        }
        match (m.principal, stable) {
            (Some(p), Ok(())) => {
                waiting.insert(p, m.why);
            }
            (Some(_), Err(unstable)) => {
                not_replayed(
                    state,
                    &op.id,
                    &format!("{} (not waited for: {unstable})", m.why),
                );
            }
            (None, _) => not_replayed(state, &op.id, &m.why),
        }
    }
    state.waiting.defer(read, waiting, bounds);
    out
}

/// The replays of the reads that waited for principals a token has appeared for since.
fn ready(judge: &Judge, state: &mut State, bounds: &Bounds) -> Vec<Replay> {
    state.waiting.expire(bounds);
    let mut out = Vec::new();
    let mut waiting = std::mem::take(&mut state.waiting.reads);
    for d in &mut waiting {
        let (replays, missing) = read_replays(judge, state, &d.read, Some(&d.waiting));
        // Whoever can be formed now is done waiting (replayed, or noted why not).
        d.waiting
            .retain(|p, _| missing.iter().any(|m| m.principal == Some(*p)));
        out.extend(replays);
    }
    waiting.retain(|d| !d.waiting.is_empty());
    state.waiting.reads = waiting;
    out
}

/// Plan the replays of a judged call (reads and password/refresh grants) answered `status`
/// with `body`, the liveness controls it asked for, and the replays of earlier reads whose
/// principals' tokens have appeared since.
pub(crate) fn plan(
    judge: &Judge,
    state: &mut State,
    call: &Call,
    judged: &Judged,
    (status, body): (u16, &[u8]),
    bounds: &Bounds,
) -> Vec<Replay> {
    let mut out = liveness_controls(judge, state);
    // Earlier reads first: this call may be the one whose token they waited for.
    out.extend(ready(judge, state, bounds));
    if let (Some(op), true) = (&judged.op, judged.judged) {
        match replayable(op) {
            Err(why) => not_replayed(state, &op.id, why),
            Ok(()) => out.extend(match judged.grant {
                Some(g) => grant_replays(judge, state, call, op, g, status),
                None => replays_of_read(
                    judge,
                    state,
                    call,
                    op,
                    &judged.caller,
                    (status, body),
                    bounds,
                ),
            }),
        }
    }
    // Each request is replayed once per principal, within the budget; a grant is the same
    // request when it names the same user (or refresh token). The key is never shown.
    let what = |r: &Replay| match (&r.purpose, r.grant) {
        (Purpose::Liveness(t), _) => format!("control {t}"),
        (Purpose::Judge, Some(g)) => {
            let params = call.params();
            let find = |n: &str| param(&params, n).unwrap_or("").to_string();
            format!(
                "{} {} {}{}",
                r.request.path,
                g.as_str(),
                find("username"),
                find("refresh_token")
            )
        }
        (Purpose::Judge, None) => r.request.path.clone(),
    };
    out.retain(|r| {
        let key = (r.request.method.to_string(), what(r), r.principal);
        if state.replayed.contains(&key) {
            if r.deferred {
                // The same request was replayed as this principal already.
                state.waiting.sent(&r.op.id, r.principal);
            }
            return false;
        }
        let spent = "the replay budget (--max-replays) was spent";
        if state.replays >= bounds.max_replays {
            not_replayed(state, &r.op.id, spent);
            if r.deferred {
                state.waiting.never_sent(&r.op.id, r.principal, spent);
            }
            return false;
        }
        if r.deferred {
            state.waiting.sent(&r.op.id, r.principal);
        }
        state.replayed.insert(key);
        state.replays += 1;
        true
    });
    out
}

/// The proxy's own token of client `p`: the one it holds while alive in the upstream's time,
/// else (or when `renew`) a new one from a client_credentials grant with the given
/// credentials. `None`: no credentials, or the grant got no token.
pub(crate) async fn own_token(
    judge: &Judge,
    http: &Http,
    state: &parking_lot::Mutex<State>,
    p: Principal,
    renew: bool,
) -> Option<String> {
    if !renew {
        let s = state.lock();
        if let Some(t) = s.own_tokens.get(&p) {
            if life(t.expires, s.clock.now()) == Life::Alive {
                return Some(t.token.clone());
            }
        }
    }
    let cred = clients(judge).into_iter().find(|(c, _)| *c == p)?.1?;
    let path = judge
        .catalogue
        .get(judge.version, "getToken")
        .map(|o| o.path.clone())
        .unwrap_or_default();
    let req = HttpRequest::new(http::Method::POST, path).form(&[
        ("grant_type", "client_credentials"),
        ("client_id", &cred.id),
        ("client_secret", &cred.secret),
    ]);
    let resp = http.send(&req).await;
    let token = crate::runner::session::access_token(&resp)?;
    let seconds = resp.json().get("expires_in").and_then(Value::as_u64);
    let mut s = state.lock();
    let expires = expiry(s.clock.now(), seconds);
    s.secret(&token);
    s.logins.client_succeeded(p, &cred.secret);
    s.own_tokens.insert(
        p,
        OwnToken {
            token: token.clone(),
            expires,
        },
    );
    Some(token)
}

/// Send the planned replays and judge each; returns the verdict lines.
pub(crate) async fn run(
    judge: &Judge,
    http: &Http,
    upstreams: &Upstreams,
    state: &parking_lot::Mutex<State>,
    replays: Vec<Replay>,
) -> Vec<String> {
    let mut lines = Vec::new();
    for r in replays {
        let started = Instant::now();
        let mut request = r.request.clone();
        request.path = upstreams.replay_path(&r.request.path);
        request.bearer = match &r.token {
            Token::None => None,
            Token::Value(t) => Some(t.clone()),
            Token::Own(p) => match own_token(judge, http, state, *p, false).await {
                Some(t) => Some(t),
                None => {
                    no_verdict(
                        state,
                        &r,
                        "no live token (its client_credentials grant got none)",
                    );
                    continue;
                }
            },
        };
        let mut resp = http.send(&request).await;
        let mut renewed = false;
        if let (Token::Own(p), 401) = (&r.token, resp.status) {
            // The proxy's own token was refused: renew it and send once more.
            match own_token(judge, http, state, *p, true).await {
                Some(t) => {
                    request.bearer = Some(t);
                    resp = http.send(&request).await;
                    renewed = true;
                }
                None => {
                    no_verdict(state, &r, "its token was refused and renewing it got none");
                    continue;
                }
            }
        }
        if let Purpose::Liveness(token) = &r.purpose {
            let mut state = state.lock();
            state.controls += 1;
            match resp.status {
                200..=299 => controls::shown_alive(
                    &mut state,
                    token,
                    &format!("to a control read ({}) right after", r.op.id),
                ),
                401 => controls::shown_dead(&mut state, token, &r.op.id, 401),
                _ => {}
            }
            lines.push(format!(
                "control {} {} as {}: {}",
                r.op.method, r.op.path, r.principal, resp.status
            ));
            continue;
        }
        let e = expect(&r.op, r.principal);
        let mut judgement = judge_with(
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
        if renewed {
            judgement.reason = format!("{} (with a token issued just before)", judgement.reason);
        }
        let mut state = state.lock();
        if resp.status != 0 {
            judge.check_shape(&mut state, &r.op, resp.status, &resp.body);
        }
        if let Some(grant) = r.grant {
            // Tokens a replayed grant obtained are secrets too (never used, never shown).
            let now = state.clock.now();
            super::tokens::learn_grant(
                &mut state,
                grant,
                r.principal,
                &[],
                None,
                &resp.body,
                0,
                now,
            );
        }
        // The evidence shows the path as the app sent it, whichever host it went to.
        let shown_req = HttpRequest {
            path: r.request.path.clone(),
            ..request.clone()
        };
        if let Token::Value(t) = &r.token {
            if (200..300).contains(&resp.status) {
                controls::shown_alive(&mut state, t, &format!("later (a replay of {})", r.op.id));
            }
            if r.plain && refused_alive_token(&judgement, &e, resp.status) && r.token_is_seen() {
                let violation = result_of(
                    &state,
                    &r.op,
                    r.principal,
                    &e,
                    judgement.clone(),
                    &shown_req,
                    &resp,
                );
                judgement.verdict = crate::model::Verdict::Inconclusive;
                judgement.reason = "401 on a token the proxy saw alive: it may have ended for a reason the proxy did not see; a violation only once the upstream shows it alive".into();
                controls::defer(
                    &mut state,
                    t,
                    Pending {
                        result: violation,
                        login: None,
                    },
                    Some(r.principal),
                );
            }
        }
        let shown = shown_request(
            &state,
            &Call {
                method: r.request.method.clone(),
                path_and_query: r.request.path.clone(),
                headers: http::HeaderMap::new(),
                body: bytes::Bytes::new(),
                latency: started.elapsed(),
                date: None,
            },
        );
        let n = note(&mut state, &r.op.id);
        n.replays += 1;
        n.principals.insert(r.principal);
        let waited = if r.deferred {
            " (waited for its principal)"
        } else {
            ""
        };
        if r.plain {
            lines.push(format!(
                "replay {shown} as {}{waited}: {} -> {}: {} ({}) [{}]",
                r.principal,
                r.op.id,
                resp.status,
                judgement.verdict.name(),
                judgement.reason,
                e.rule.id()
            ));
            record_cell(
                &mut state,
                &r.op,
                r.principal,
                &e,
                judgement,
                &shown_req,
                &resp,
            );
        }
        if let Some(named) = &r.ids {
            let cells = super::ids::judge_cells(
                &state.redactor,
                judge.mode,
                &r.op,
                r.principal,
                named,
                &shown_req,
                &resp,
            );
            for (result, line) in cells {
                lines.push(format!("replay {shown}{waited} -> {}: {line}", resp.status));
                merge_cell(&mut state, result, 1);
            }
        }
    }
    lines
}

impl Replay {
    /// A token seen in traffic (not the malformed one, not a given expired one).
    fn token_is_seen(&self) -> bool {
        matches!(self.principal, Principal::User | Principal::OtherUser)
    }
}

/// A replay that could not be judged: noted with why.
fn no_verdict(state: &parking_lot::Mutex<State>, r: &Replay, why: &str) {
    not_replayed(
        &mut state.lock(),
        &r.op.id,
        &format!("{}: {why}", r.principal),
    );
}
