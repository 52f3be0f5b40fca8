//! What the proxy learns from each call it forwards: who is calling (from the token traffic it
//! has seen, in the upstream's time), which operation it is (the catalogue's router), the
//! verdict of the role model's oracle under `check`'s evidence rules and the proxy's controls
//! (`controls.rs`, `logins.rs`), the app's own misuse, and shape differences.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::call::{basic_credentials, param, shown_request, Call};
use super::clock::{life, Life};
use super::controls;
use super::state::{record_cell, result_of, Finding, Pending, ShapeDifference, State};
use super::upstream::Presence;
use super::{logins, tokens};
use crate::model::expect::{judge_with, CheckOrder, Evidence as Order};
use crate::model::{
    expect, ApiVersion, CallerKind, Catalogue, Expectation, Grant, Judgement, Mode, Observed,
    Operation, Outcome, Principal, Safety, Shapes, Verdict,
};
use crate::runner::http::HttpResponse;
use crate::runner::Credentials;
use crate::sim::router::Router;

/// The caller of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Caller {
    /// A principal the role model knows (a revoked token is `revoked-token`).
    Known(Principal, Option<String>),
    /// A bearer token the proxy never saw issued.
    Unknown,
}

/// The role model and what the proxy knows of the clients.
pub(crate) struct Judge {
    pub catalogue: Catalogue,
    pub router: Router,
    pub version: ApiVersion,
    pub mode: Mode,
    pub credentials: Credentials,
    /// Whether tokens the proxy never saw issued are identified (`--identify`).
    pub identify: bool,
}

/// What judging one call found, for the verdict line and replays.
pub(crate) struct Judged {
    pub line: String,
    pub op: Option<Operation>,
    pub caller: Caller,
    /// The grant and the client, for a token request.
    pub grant: Option<(Grant, Principal)>,
    /// False when the call was not judged (a Web Form call while the service is not known to
    /// answer where the proxy sends it): nothing is replayed.
    pub judged: bool,
}

impl Judged {
    /// A call the proxy does not judge, with the line saying why.
    fn not_judged(line: String, op: Option<Operation>) -> Judged {
        Judged {
            line,
            op,
            caller: Caller::Unknown,
            grant: None,
            judged: false,
        }
    }
}

/// The order a proxied target checks role and validity in is not known: a denied caller's
/// 4xx other than 401/403 is inconclusive, as in `check` against an uncalibrated target.
fn unknown_order() -> Order {
    Order {
        order: CheckOrder::Unknown,
        control: None,
        proof: None,
    }
}

const SECRET_QUERY: &[&str] = &[
    "client_secret",
    "password",
    "access_token",
    "refresh_token",
    "token",
];

impl Judge {
    /// The principal a client id plays, from the credentials the proxy was given.
    pub fn client_role(&self, id: &str) -> Option<Principal> {
        tokens::client_role(&self.credentials, id)
    }

    /// Who sent `call`, at `now` in the upstream's time.
    pub fn identify(&self, state: &State, call: &Call, now: DateTime<Utc>) -> Caller {
        match call.bearer() {
            None => Caller::Known(Principal::NoToken, None),
            Some(t) => match state.tokens.get(&t) {
                Some(h) => Caller::Known(tokens::principal_at(h, now), h.user.clone()),
                None => Caller::Unknown,
            },
        }
    }

    /// Judge one forwarded call: record its verdict, findings and shape differences, learn
    /// tokens and the upstream's time from it.
    pub fn observe(
        &self,
        state: &mut State,
        call: &Call,
        status: u16,
        body: &[u8],
        complete: bool,
    ) -> Judged {
        state.calls += 1;
        let now = state.clock.at_answer(call.date);
        let params = call.params();
        for name in [
            "client_secret",
            "password",
            "refresh_token",
            "token",
            "access_token",
        ] {
            if let Some(v) = param(&params, name) {
                state.secret(v);
            }
        }
        if let Some(t) = call.bearer() {
            state.secret(&t);
        }
        let response = HttpResponse {
            status,
            body: body.to_vec(),
            latency: call.latency,
            error: (status == 0).then(|| "no answer from upstream".to_string()),
            withheld: None,
        };
        let routed = self
            .router
            .route(&self.catalogue, &call.method, call.path())
            .ok();
        let Some(routed) = routed else {
            state.not_in_catalogue += 1;
            follow_clock_call(state, call, status, body);
            return Judged::not_judged(
                format!(
                    "{} -> {status}: not in the catalogue, not judged",
                    shown_request(state, call)
                ),
                None,
            );
        };
        let op = routed.op.clone();
        let path_user = routed
            .params
            .iter()
            .find(|(k, _)| *k == "userId")
            .map(|(_, v)| v.to_lowercase());
        if op.is_webform() {
            state.webform_calls += 1;
            if let Err(why) = webform_presence(state) {
                return Judged::not_judged(
                    format!(
                        "{} -> {status}: {}: Web Form 2.0 call not judged: {why}",
                        shown_request(state, call),
                        op.id
                    ),
                    Some(op),
                );
            }
        }
        if complete && status != 0 {
            self.check_shape(state, &op, status, body);
        }
        if op.is_token_endpoint() {
            return self.observe_grant(state, call, &op, &params, &response, now);
        }
        let caller = self.identify(state, call, now);
        if let Some(t) = call.bearer().filter(|t| !t.is_empty()) {
            let unidentified = if self.identify {
                "never seen issued, and not identified"
            } else {
                "never seen issued (--identify off)"
            };
            state.note_caller(&t, unidentified);
        }
        if let Some(query) = call.query() {
            let v1_revoke = op.is_revoke() && op.version == ApiVersion::V1;
            let leaked: Vec<_> = form_urlencoded::parse(query.as_bytes())
                .map(|(k, _)| k.into_owned())
                .filter(|k| SECRET_QUERY.contains(&k.as_str()) && !(v1_revoke && k == "token"))
                .collect();
            if !leaked.is_empty() {
                let who = caller_name(&caller);
                add_finding(
                    state,
                    "secret-in-query",
                    &op,
                    &who,
                    call,
                    format!(
                        "`{}` in the URL query (URLs end up in logs)",
                        leaked.join("`, `")
                    ),
                );
            }
        }
        let line;
        match &caller {
            Caller::Unknown => {
                state.unknown_callers += 1;
                let why = call
                    .bearer()
                    .and_then(|t| state.unknown_tokens.get(&t).cloned())
                    .unwrap_or_else(|| "never seen issued".into());
                line = format!(
                    "{} -> {status}: {} by an unknown token ({why}): not judged",
                    shown_request(state, call),
                    op.id
                );
            }
            Caller::Known(p, user) => {
                let p = *p;
                if op.is_webform() {
                    state.webform_judged += 1;
                }
                let e = expect(&op, p);
                let mut judgement = judge_with(
                    &op,
                    &e,
                    Observed { status, body },
                    self.mode,
                    &[],
                    &unknown_order(),
                );
                let token = call.bearer().filter(|t| !t.is_empty());
                if let Some(t) = &token {
                    if (200..300).contains(&status) {
                        controls::shown_alive(state, t, &format!("later ({} -> {status})", op.id));
                    }
                }
                let request = call.as_request();
                if let (Some(t), true) = (&token, refused_alive_token(&judgement, &e, status)) {
                    // A 401 on a token the proxy saw alive: over-restriction only once the
                    // upstream shows the token alive.
                    let violation = result_of(state, &op, p, &e, judgement, &request, &response);
                    let why = match state.tokens.get(t) {
                        Some(h) if life(h.expires, now) == Life::Edge => {
                            "it is at its expiry in the upstream's time".to_string()
                        }
                        Some(h) => match &h.ended_by {
                            Some(what) => format!("{what} may have ended it"),
                            None => "it may have ended for a reason the proxy did not see".into(),
                        },
                        None => "it may have ended".into(),
                    };
                    judgement = Judgement {
                        verdict: Verdict::Inconclusive,
                        reason: format!(
                            "401 on a token the proxy saw alive: {why}; a violation only once the upstream shows it alive"
                        ),
                    };
                    controls::defer(
                        state,
                        t,
                        Pending {
                            result: violation,
                            login: None,
                        },
                        Some(p),
                    );
                }
                line = format!(
                    "{} -> {status}: {} as {p}: {} ({}) [{}]",
                    shown_request(state, call),
                    op.id,
                    judgement.verdict.name(),
                    judgement.reason,
                    e.rule.id()
                );
                record_cell(state, &op, p, &e, judgement, &request, &response);
                self.misuse(state, call, &op, p, e.outcome);
                if (200..300).contains(&status) {
                    tokens::learn_write(
                        &self.credentials,
                        state,
                        &op,
                        &params,
                        path_user,
                        user.as_deref(),
                    );
                }
            }
        }
        Judged {
            line,
            op: Some(op),
            caller,
            grant: None,
            judged: true,
        }
    }

    fn misuse(&self, state: &mut State, call: &Call, op: &Operation, p: Principal, o: Outcome) {
        let user_service = op.callers.contains(CallerKind::User);
        let (kind, detail) = match o {
            Outcome::Forbidden if p == Principal::AdminClient && user_service => (
                "admin-token-on-user-service",
                "the admin client's token sent to a user service".to_string(),
            ),
            Outcome::Forbidden
                if p.kind() == Some(CallerKind::AppClient)
                    && user_service
                    && !op.callers.contains(CallerKind::AppClient) =>
            {
                (
                    "client-token-on-user-service",
                    "a client token where a user token is needed".to_string(),
                )
            }
            Outcome::Forbidden | Outcome::Unauthenticated | Outcome::NotVisible => (
                "forbidden-call",
                format!("the role model says {} for {p}", o.name()),
            ),
            _ => return,
        };
        add_finding(state, kind, op, p.name(), call, detail);
    }

    fn observe_grant(
        &self,
        state: &mut State,
        call: &Call,
        endpoint: &Operation,
        params: &[(String, String)],
        response: &HttpResponse,
        now: DateTime<Utc>,
    ) -> Judged {
        let status = response.status;
        let grant = param(params, "grant_type").and_then(Grant::parse);
        let basic = basic_credentials(&call.headers);
        let client_id = param(params, "client_id")
            .map(str::to_string)
            .or_else(|| basic.as_ref().map(|(id, _)| id.clone()));
        let secret = param(params, "client_secret")
            .map(str::to_string)
            .or_else(|| basic.map(|(_, s)| s));
        let Some(grant) = grant else {
            return Judged::not_judged(
                format!(
                    "{} -> {status}: getToken with an unknown grant: not judged",
                    shown_request(state, call)
                ),
                Some(endpoint.clone()),
            );
        };
        let op = self.catalogue.grant(endpoint.version, grant).clone();
        let Some(p) = client_id.as_deref().and_then(|id| self.client_role(id)) else {
            state.unknown_callers += 1;
            return Judged::not_judged(
                format!(
                    "{} -> {status}: {} by a client the proxy has no credentials for: not judged",
                    shown_request(state, call),
                    op.id
                ),
                Some(op),
            );
        };
        if let Some(query) = call.query() {
            if form_urlencoded::parse(query.as_bytes())
                .any(|(k, _)| SECRET_QUERY.contains(&k.as_ref()))
            {
                add_finding(
                    state,
                    "secret-in-query",
                    &op,
                    p.name(),
                    call,
                    "client secret, password or token in the URL query of a token request"
                        .to_string(),
                );
            }
        }
        let e = expect(&op, p);
        let mut judgement = judge_with(
            &op,
            &e,
            Observed {
                status,
                body: &response.body,
            },
            self.mode,
            &[],
            &unknown_order(),
        );
        let request = call.as_request();
        let mut login_failure = false;
        if judgement.verdict == Verdict::Violation && e.outcome == Outcome::Allowed {
            // Refused, where the role model lets this client through: a violation only when
            // the session shows the credentials good.
            match logins::control(state, grant, p, params, secret.as_deref(), status) {
                Ok(evidence) => {
                    judgement.reason = format!("{} ({evidence})", judgement.reason);
                }
                Err(why) => {
                    let violation = result_of(state, &op, p, &e, judgement, &request, response);
                    let key = logins::list(state, &op.id, p, params, status, &why);
                    if let (Grant::RefreshToken, Some(r)) = (grant, param(params, "refresh_token"))
                    {
                        controls::defer(
                            state,
                            r,
                            Pending {
                                result: violation,
                                login: Some(key),
                            },
                            None,
                        );
                    }
                    judgement = Judgement {
                        verdict: Verdict::Inconclusive,
                        reason: format!("{why}: the app's login failure"),
                    };
                    login_failure = true;
                }
            }
        }
        if !(200..300).contains(&status) {
            tokens::learn_refusal(state, grant, p, params, status);
        }
        tokens::learn_grant(
            state,
            grant,
            p,
            params,
            secret.as_deref(),
            &response.body,
            status,
            now,
        );
        let line = format!(
            "{} -> {status}: {} by {p}: {} ({}) [{}]",
            shown_request(state, call),
            op.id,
            judgement.verdict.name(),
            judgement.reason,
            e.rule.id()
        );
        if !login_failure {
            record_cell(state, &op, p, &e, judgement, &request, response);
        }
        if e.outcome.is_denial() {
            self.misuse(state, call, &op, p, e.outcome);
        }
        Judged {
            line,
            op: Some(op),
            caller: Caller::Known(p, None),
            grant: Some((grant, p)),
            judged: true,
        }
    }

    pub fn check_shape(&self, state: &mut State, op: &Operation, status: u16, body: &[u8]) {
        let shapes = Shapes::embedded(op.version);
        let id = op.id.split('.').next().unwrap_or(&op.id);
        if shapes.operation(id).is_none() {
            return;
        }
        let mut add = |path: String, problem: String| {
            let key = (id.to_string(), status, path.clone(), problem.clone());
            state
                .shapes
                .entry(key)
                .or_insert_with(|| ShapeDifference {
                    operation: id.to_string(),
                    status,
                    path,
                    problem,
                    answers: 0,
                })
                .answers += 1;
        };
        match shapes.response_schema(id, status) {
            None => add("$".into(), format!("status {status} is not documented")),
            Some(None) => {}
            Some(Some(schema)) => match serde_json::from_slice::<Value>(body) {
                Err(_) if body.is_empty() => add("$".into(), "empty body".into()),
                Err(_) => add("$".into(), "not JSON".into()),
                Ok(value) => {
                    for problem in shapes.validate(&value, schema) {
                        add(problem.path.clone(), problem.problem.to_string());
                    }
                }
            },
        }
    }
}

/// A 401 where the role model lets the token's holder through: the oracle calls it
/// over-restriction, but a token can end for reasons no call shows.
pub(crate) fn refused_alive_token(judgement: &Judgement, e: &Expectation, status: u16) -> bool {
    judgement.verdict == Verdict::Violation && e.outcome == Outcome::Allowed && status == 401
}

/// Whether Web Form calls can be judged: `Err` with why not.
fn webform_presence(state: &State) -> Result<(), String> {
    match &state.webform {
        Presence::Serves => Ok(()),
        Presence::Absent(why) => Err(why.clone()),
        Presence::Unknown => {
            Err("the Web Form 2.0 service did not answer the proxy's calibration".into())
        }
    }
}

/// A clock call of the mock's control API (`/__finapi/clock`) that passed through: the
/// upstream's time it answers is the latest reading.
fn follow_clock_call(state: &mut State, call: &Call, status: u16, body: &[u8]) {
    if !call.path().starts_with("/__finapi/clock") || !(200..300).contains(&status) {
        return;
    }
    let now = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get("now").and_then(Value::as_str).map(str::to_string))
        .and_then(|t| DateTime::parse_from_rfc3339(&t).ok());
    if let Some(now) = now {
        state.clock.observe(now.with_timezone(&Utc));
    }
}

fn caller_name(caller: &Caller) -> String {
    match caller {
        Caller::Known(p, _) => p.name().to_string(),
        Caller::Unknown => "unknown".into(),
    }
}

fn add_finding(
    state: &mut State,
    kind: &'static str,
    op: &Operation,
    caller: &str,
    call: &Call,
    detail: String,
) {
    let example = shown_request(state, call);
    state
        .findings
        .entry((kind, op.id.clone(), caller.to_string()))
        .or_insert_with(|| Finding {
            kind,
            operation: op.id.clone(),
            caller: caller.to_string(),
            calls: 0,
            example,
            detail,
        })
        .calls += 1;
}

/// Whether an operation's calls may be replayed, and why not.
pub(crate) fn replayable(op: &Operation) -> Result<(), &'static str> {
    if op.is_grant_row() {
        return match op.grant {
            Some(Grant::ClientCredentials) => {
                Err("client_credentials grant: another client's own grant tells nothing")
            }
            _ => Ok(()),
        };
    }
    if op.safety == Safety::Read {
        Ok(())
    } else {
        Err("a write: never replayed")
    }
}
