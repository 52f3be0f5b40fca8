//! What the proxy learns from each call it forwards: who is calling (from the token traffic it
//! has seen), which operation it is (the catalogue's router), the verdict of the role model's
//! oracle under `check`'s evidence rules, the app's own misuse, and shape differences.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method};
use serde::Serialize;
use serde_json::Value;

use crate::model::expect::{judge_with, CheckOrder, Evidence as Order};
use crate::model::{
    expect, ApiVersion, CallerKind, Catalogue, Grant, Mode, Observed, Operation, Outcome,
    Principal, Safety, Shapes, Verdict,
};
use crate::runner::evidence::Evidence;
use crate::runner::http::{Body, HttpRequest, HttpResponse};
use crate::runner::redact::Redactor;
use crate::runner::{CheckResult, Credentials};
use crate::sim::router::Router;

/// One request as the app sent it, with the answer's status.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub method: Method,
    /// Path and query, as sent.
    pub path_and_query: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub latency: Duration,
}

impl Call {
    pub fn path(&self) -> &str {
        self.path_and_query
            .split_once('?')
            .map_or(self.path_and_query.as_str(), |(p, _)| p)
    }
    pub fn query(&self) -> Option<&str> {
        self.path_and_query.split_once('?').map(|(_, q)| q)
    }
    /// The bearer token, `None` without an `Authorization` header, `Some("")` for another
    /// scheme.
    pub fn bearer(&self) -> Option<String> {
        let value = self.headers.get(http::header::AUTHORIZATION)?;
        let text = value.to_str().unwrap_or("");
        Some(match text.split_once(' ') {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => {
                token.trim().to_string()
            }
            _ => String::new(),
        })
    }
    /// Form (or JSON object) parameters of the body, and the query's.
    pub fn params(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = self
            .query()
            .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
            .unwrap_or_default();
        if let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(&self.body) {
            for (k, v) in map {
                if let Value::String(s) = v {
                    out.push((k, s));
                }
            }
        } else {
            out.extend(form_urlencoded::parse(&self.body).into_owned());
        }
        out
    }
    /// A request as the runner's evidence keeps it (bearer only to say whose it was).
    pub fn as_request(&self) -> HttpRequest {
        let body = if self.body.is_empty() {
            Body::None
        } else if let Ok(v) = serde_json::from_slice::<Value>(&self.body) {
            Body::Json(v)
        } else {
            Body::Form(form_urlencoded::parse(&self.body).into_owned().collect())
        };
        HttpRequest {
            method: self.method.clone(),
            path: self.path_and_query.clone(),
            bearer: self.bearer().filter(|t| !t.is_empty()),
            body,
        }
    }
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Who holds a token the proxy saw issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Holder {
    pub principal: Principal,
    /// The user, for user tokens.
    pub user: Option<String>,
    /// The client it was issued through.
    pub client: Principal,
    /// A refresh token.
    pub refresh: bool,
    pub revoked: bool,
    /// When the access token expires (`expires_in` of its grant's answer); `None`: not said.
    pub expires: Option<std::time::Instant>,
}

/// The caller of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Caller {
    /// A principal the role model knows (a revoked token is `revoked-token`).
    Known(Principal, Option<String>),
    /// A bearer token the proxy never saw issued.
    Unknown,
}

/// An app's own misuse, separate from finAPI's verdicts.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// `admin-token-on-user-service`, `client-token-on-user-service`, `secret-in-query` or
    /// `forbidden-call`.
    pub kind: &'static str,
    pub operation: String,
    pub caller: String,
    pub calls: usize,
    /// The first such request, redacted.
    pub example: String,
    pub detail: String,
}

/// An answer that does not conform to the documented shape of its operation and status.
#[derive(Debug, Clone, Serialize)]
pub struct ShapeDifference {
    pub operation: String,
    pub status: u16,
    /// JSON path (`$` when the whole answer differs).
    pub path: String,
    pub problem: String,
    pub answers: usize,
}

/// Which operations were replayed, as whom, and which were not, and why.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ReplayNote {
    pub operation: String,
    pub replays: usize,
    pub principals: BTreeSet<Principal>,
    /// Why it (or some principal) was not replayed; empty when every principal was.
    pub not_replayed: BTreeSet<String>,
}

/// Everything the proxy has seen so far.
#[derive(Default)]
pub(crate) struct State {
    pub tokens: HashMap<String, Holder>,
    pub redactor: Redactor,
    pub cells: BTreeMap<(String, Principal), (CheckResult, usize)>,
    pub findings: BTreeMap<(&'static str, String, String), Finding>,
    pub shapes: BTreeMap<(String, u16, String, String), ShapeDifference>,
    pub replay_notes: BTreeMap<String, ReplayNote>,
    pub replayed: BTreeSet<(String, String, Principal)>,
    pub replays: usize,
    pub calls: usize,
    pub unknown_callers: usize,
    pub not_in_catalogue: usize,
    /// The client tokens the proxy obtained itself for replays.
    pub own_tokens: HashMap<Principal, String>,
    /// Secrets already given to the redactor (each once: it scrubs every line with all).
    pub seen_secrets: std::collections::HashSet<String>,
    /// Each client's last client_credentials token and when it expires (token reuse).
    pub client_tokens: HashMap<Principal, (String, std::time::Instant)>,
}

impl State {
    /// Remember a secret for scrubbing (once).
    pub fn secret(&mut self, s: &str) {
        if s.len() >= 4 && !self.seen_secrets.contains(s) {
            self.seen_secrets.insert(s.to_string());
            self.redactor.add(s.to_string());
        }
    }
}

/// The role model and what the proxy knows of the clients.
pub(crate) struct Judge {
    pub catalogue: Catalogue,
    pub router: Router,
    pub version: ApiVersion,
    pub mode: Mode,
    pub credentials: Credentials,
}

/// What judging one call found, for the verdict line and replays.
pub(crate) struct Judged {
    pub line: String,
    pub op: Option<Operation>,
    pub caller: Caller,
    /// The grant and its parameters, for a token request.
    pub grant: Option<(Grant, Principal)>,
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
        let c = &self.credentials;
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

    pub fn identify(&self, state: &State, call: &Call) -> Caller {
        match call.bearer() {
            None => Caller::Known(Principal::NoToken, None),
            Some(t) => match state.tokens.get(&t) {
                Some(h) if h.revoked => Caller::Known(Principal::RevokedToken, h.user.clone()),
                // Expired by the grant's own `expires_in` (a second of slack for the clocks).
                Some(h)
                    if h.expires.is_some_and(|at| {
                        at + Duration::from_secs(1) < std::time::Instant::now()
                    }) =>
                {
                    Caller::Known(Principal::ExpiredToken, h.user.clone())
                }
                Some(h) => Caller::Known(h.principal, h.user.clone()),
                None => Caller::Unknown,
            },
        }
    }

    /// Judge one forwarded call: record its verdict, findings and shape differences, learn
    /// tokens from it.
    pub fn observe(
        &self,
        state: &mut State,
        call: &Call,
        status: u16,
        body: &[u8],
        complete: bool,
    ) -> Judged {
        state.calls += 1;
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
            return Judged {
                line: format!(
                    "{} -> {status}: not in the catalogue, not judged",
                    shown_request(state, call)
                ),
                op: None,
                caller: Caller::Unknown,
                grant: None,
            };
        };
        let op = routed.op.clone();
        if complete && status != 0 {
            self.check_shape(state, &op, status, body);
        }
        if op.is_token_endpoint() {
            return self.observe_grant(state, call, &op, &params, &response);
        }
        let caller = self.identify(state, call);
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
                line = format!(
                    "{} -> {status}: {} by an unknown token (never seen issued): not judged",
                    shown_request(state, call),
                    op.id
                );
            }
            Caller::Known(p, user) => {
                let p = *p;
                let e = expect(&op, p);
                let judgement = judge_with(
                    &op,
                    &e,
                    Observed { status, body },
                    self.mode,
                    &[],
                    &unknown_order(),
                );
                line = format!(
                    "{} -> {status}: {} as {p}: {} ({}) [{}]",
                    shown_request(state, call),
                    op.id,
                    judgement.verdict.name(),
                    judgement.reason,
                    e.rule.id()
                );
                record_cell(state, &op, p, &e, judgement, &call.as_request(), &response);
                self.misuse(state, call, &op, p, e.outcome);
                if (200..300).contains(&status) {
                    self.learn_from_success(state, call, &op, &params, user.as_deref());
                }
            }
        }
        Judged {
            line,
            op: Some(op),
            caller,
            grant: None,
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

    /// A revoke takes its token out of service; a user deleting themselves, all their tokens.
    fn learn_from_success(
        &self,
        state: &mut State,
        _call: &Call,
        op: &Operation,
        params: &[(String, String)],
        user: Option<&str>,
    ) {
        if op.is_revoke() {
            if let Some(t) = param(params, "token") {
                let hint = param(params, "token_type_hint");
                let Some(owner) = state.tokens.get(t).cloned() else {
                    return;
                };
                // As finAPI documents it: a refresh token, or no hint, ends the whole grant
                // (the user's tokens through that client); an access token with the hint
                // `access_token`, only itself.
                let whole = owner.refresh || hint != Some("access_token");
                for (token, h) in state.tokens.iter_mut() {
                    let same_grant =
                        owner.user.is_some() && h.user == owner.user && h.client == owner.client;
                    if token == t || (whole && same_grant) {
                        h.revoked = true;
                    }
                }
            }
        } else if op.id == "deleteAuthorizedUser" {
            if let Some(u) = user {
                for h in state.tokens.values_mut() {
                    if h.user.as_deref() == Some(u) {
                        h.revoked = true;
                    }
                }
            }
        }
    }

    fn observe_grant(
        &self,
        state: &mut State,
        call: &Call,
        endpoint: &Operation,
        params: &[(String, String)],
        response: &HttpResponse,
    ) -> Judged {
        let status = response.status;
        let grant = param(params, "grant_type").and_then(Grant::parse);
        let client_id = param(params, "client_id")
            .map(str::to_string)
            .or_else(|| basic_client_id(&call.headers));
        let Some(grant) = grant else {
            return Judged {
                line: format!(
                    "{} -> {status}: getToken with an unknown grant: not judged",
                    shown_request(state, call)
                ),
                op: Some(endpoint.clone()),
                caller: Caller::Unknown,
                grant: None,
            };
        };
        let op = self.catalogue.grant(endpoint.version, grant).clone();
        let Some(p) = client_id.as_deref().and_then(|id| self.client_role(id)) else {
            state.unknown_callers += 1;
            return Judged {
                line: format!(
                    "{} -> {status}: {} by a client the proxy has no credentials for: not judged",
                    shown_request(state, call),
                    op.id
                ),
                op: Some(op),
                caller: Caller::Unknown,
                grant: None,
            };
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
        let judgement = judge_with(
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
        self.learn_tokens(state, grant, p, params, &response.body, status);
        let line = format!(
            "{} -> {status}: {} by {p}: {} ({}) [{}]",
            shown_request(state, call),
            op.id,
            judgement.verdict.name(),
            judgement.reason,
            e.rule.id()
        );
        record_cell(state, &op, p, &e, judgement, &call.as_request(), response);
        if e.outcome.is_denial() {
            self.misuse(state, call, &op, p, e.outcome);
        }
        Judged {
            line,
            op: Some(op),
            caller: Caller::Known(p, None),
            grant: Some((grant, p)),
        }
    }

    /// Map the tokens of a successful grant to their holder.
    pub fn learn_tokens(
        &self,
        state: &mut State,
        grant: Grant,
        client: Principal,
        params: &[(String, String)],
        body: &[u8],
        status: u16,
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
        if let (Grant::ClientCredentials, Some(token)) = (grant, access) {
            self.token_reuse(state, client, token, &answer);
        }
        let expires = answer
            .get("expires_in")
            .and_then(Value::as_u64)
            .map(|s| std::time::Instant::now() + Duration::from_secs(s));
        let holder = match grant {
            Grant::ClientCredentials => Holder {
                principal: client,
                user: None,
                client,
                refresh: false,
                revoked: false,
                expires,
            },
            Grant::Password => Holder {
                principal: if client.is_foreign_mandator() {
                    Principal::OtherMandatorUser
                } else {
                    Principal::User
                },
                user: param(params, "username").map(str::to_string),
                client,
                refresh: false,
                revoked: false,
                expires,
            },
            Grant::RefreshToken => {
                match param(params, "refresh_token").and_then(|r| state.tokens.get(r)) {
                    Some(h) => Holder {
                        revoked: false,
                        refresh: false,
                        expires,
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

    /// `token-reuse`: the same credentials get the same token back while it is unexpired (a
    /// margin of 10 s keeps a token about to expire out of it).
    fn token_reuse(&self, state: &mut State, client: Principal, token: &str, answer: &Value) {
        let now = std::time::Instant::now();
        let expires = answer
            .get("expires_in")
            .and_then(Value::as_u64)
            .map_or(now, |s| now + Duration::from_secs(s));
        let previous = state
            .client_tokens
            .insert(client, (token.to_string(), expires));
        let Some((old, old_expires)) = previous else {
            return;
        };
        let alive = state.tokens.get(&old).is_some_and(|h| !h.revoked);
        if !alive || old_expires < now + Duration::from_secs(10) {
            return;
        }
        let (verdict, reason) = if old == token {
            (Verdict::Pass, "the same token came back")
        } else {
            (
                Verdict::Violation,
                "a second request got a different token while the first was unexpired",
            )
        };
        let key = ("lifecycle:token-reuse".to_string(), client);
        let cell = state.cells.entry(key).or_insert_with(|| {
            (
                CheckResult {
                    operation: "lifecycle:token-reuse".into(),
                    section: "Lifecycle".into(),
                    method: "POST".into(),
                    path: String::new(),
                    principal: client,
                    expected: "same token".into(),
                    observed_status: Some(200),
                    verdict,
                    reason: reason.into(),
                    rule: crate::model::Rule::TokenReuse,
                    latency_ms: 0,
                    evidence: None,
                },
                0,
            )
        });
        cell.1 += 1;
        if rank(verdict) > rank(cell.0.verdict) {
            cell.0.verdict = verdict;
            cell.0.reason = reason.into();
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

/// `METHOD /path?query` with secrets scrubbed.
pub(crate) fn shown_request(state: &State, call: &Call) -> String {
    let request = call.as_request();
    let e = Evidence::capture(
        &request,
        Principal::NoToken,
        &HttpResponse {
            status: 0,
            body: Vec::new(),
            latency: Duration::ZERO,
            error: None,
            withheld: None,
        },
        &state.redactor,
    );
    e.request
}

fn caller_name(caller: &Caller) -> String {
    match caller {
        Caller::Known(p, _) => p.name().to_string(),
        Caller::Unknown => "unknown".into(),
    }
}

fn basic_client_id(headers: &HeaderMap) -> Option<String> {
    use base64::Engine as _;
    let value = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    text.split_once(':').map(|(id, _)| id.to_string())
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

fn rank(v: Verdict) -> u8 {
    match v {
        Verdict::Violation => 3,
        Verdict::Inconclusive => 2,
        Verdict::Pass => 1,
        Verdict::Skipped => 0,
    }
}

/// Keep one result per operation x principal: the worst verdict seen, with its evidence
/// (captured only when the cell changes).
pub(crate) fn record_cell(
    state: &mut State,
    op: &Operation,
    p: Principal,
    e: &crate::model::Expectation,
    judgement: crate::model::Judgement,
    request: &HttpRequest,
    response: &HttpResponse,
) {
    let key = (op.id.clone(), p);
    if let Some(cell) = state.cells.get_mut(&key) {
        cell.1 += 1;
        if rank(judgement.verdict) <= rank(cell.0.verdict) {
            return;
        }
    }
    let status = response.status;
    let result = CheckResult {
        operation: op.id.clone(),
        section: op.section.clone(),
        method: op.method.to_string(),
        path: op.path.clone(),
        principal: p,
        expected: e.outcome.name().to_string(),
        observed_status: (status != 0).then_some(status),
        verdict: judgement.verdict,
        reason: judgement.reason,
        rule: e.rule,
        latency_ms: response.latency.as_millis() as u64,
        evidence: Some(Evidence::capture(request, p, response, &state.redactor)),
    };
    match state.cells.get_mut(&key) {
        Some(cell) => cell.0 = result,
        None => {
            state.cells.insert(key, (result, 1));
        }
    }
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
