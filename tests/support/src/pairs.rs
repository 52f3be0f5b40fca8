//! The pair property's parts: a random principal (every token state included) calling a random
//! operation of the catalogue (V1 and V2, grant rows included) with random path parameters and
//! bodies, the targets it runs against (the simulator without a socket, the wiremock mock over
//! real HTTP, a real finAPI from the environment), and the check of one case: the runner's own
//! probe, varied, sent, and judged by the library's oracle (`model::expect` + `model::judge`).
//!
//! `tests/testsuite/properties.rs` runs them as a property (seeds, case counts, shrinking);
//! `benches/properties.rs` counts the cases per second.

use std::fmt;
use std::sync::{Mutex, OnceLock};

use finapi_conformance::model::{
    expect, judge, ApiVersion, Catalogue, Expectation, Mode, Observed, Operation, Outcome,
    Principal, ProbeStyle, Verdict,
};
use finapi_conformance::runner::{
    self, access_token, build_probe, harmful_if_broken, Body, CheckConfig, Credentials, Http,
    HttpRequest, Limits, Session, SessionOptions,
};
use finapi_conformance::sim::SimRequest;
use finapi_conformance::{Clock, Faults, FinapiMock, Simulator, World};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::Value;

// ---------------------------------------------------------------------------------------------
// Cases

/// How a case varies the probe's path parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Params {
    /// The probe's own values (user A's resource, an unknown id, the run user's id, ...).
    Probe,
    /// An id nobody holds (the simulator never hands out ids this large).
    Unknown(u64),
    /// A value that is no id at all (never equal to a static path segment).
    Junk(String),
}

/// How a case varies the probe's body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyVar {
    Probe,
    Absent,
    EmptyJson,
    Json(Value),
    Form(Vec<(String, String)>),
    /// Bytes that are not JSON, sent as `application/json` (transport-free only).
    Garbage(Vec<u8>),
}

#[derive(Clone)]
pub struct Case {
    /// Index into `Catalogue::embedded().all()`.
    op: usize,
    pub principal: Principal,
    pub params: Params,
    pub body: BodyVar,
}

impl Case {
    /// The case's operation.
    pub fn op(&self) -> &'static Operation {
        Catalogue::embedded().by_index(self.op)
    }
}

impl fmt::Debug for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = self.op();
        let params = match &self.params {
            _ if op.path_params().next().is_none() => "none".to_string(),
            Params::Probe => "probe's".to_string(),
            Params::Unknown(k) => format!("unknown id +{k}"),
            Params::Junk(s) => format!("junk `{s}`"),
        };
        let body = match &self.body {
            BodyVar::Probe => "probe's".to_string(),
            BodyVar::Absent => "none".to_string(),
            BodyVar::EmptyJson => "{}".to_string(),
            BodyVar::Json(v) => format!("json {v}"),
            BodyVar::Form(p) => format!("form {p:?}"),
            BodyVar::Garbage(b) => format!("{} bytes of garbage", b.len()),
        };
        write!(
            f,
            "{} {} ({} {}) as {}, path params: {params}, body: {body}",
            op.version, op.id, op.method, op.path, self.principal
        )
    }
}

/// What a run may generate.
#[derive(Clone, Copy)]
pub struct Space {
    /// Only these API versions (a real mandator is bound to one).
    versions: &'static [ApiVersion],
    /// Bodies that only the transport-free path can carry.
    raw_bodies: bool,
    /// Only variations that stay inert against a real target.
    inert_only: bool,
}

const BOTH: &[ApiVersion] = &[ApiVersion::V1, ApiVersion::V2];

fn ops_of(space: Space, grants: bool) -> Vec<usize> {
    Catalogue::embedded()
        .all()
        .iter()
        .filter(|o| !o.is_token_endpoint() && space.versions.contains(&o.version))
        .filter(|o| o.is_grant_row() == grants)
        .map(|o| o.index)
        .collect()
}

/// A compiled regex strategy: a `&str` strategy parses its regex again for every value, which
/// was a quarter of a pair case's time.
fn regex(pattern: &str) -> impl Strategy<Value = String> {
    proptest::string::string_regex(pattern).expect("a valid regex")
}

fn short_string() -> impl Strategy<Value = String> {
    regex("[a-z0-9]{0,12}")
}

fn json_body() -> impl Strategy<Value = Value> {
    let key = prop::sample::select(vec![
        "id",
        "password",
        "email",
        "userId",
        "userIds",
        "name",
        "bankId",
        "amount",
        "apiVersion",
        "clientId",
        "token",
        "ids",
        "isAutoUpdateEnabled",
    ]);
    let value = prop_oneof![
        short_string().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
        Just(Value::Null),
        prop::collection::vec(short_string(), 0..3).prop_map(Value::from),
    ];
    prop::collection::btree_map(key, value, 1..4)
        .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_string(), v)).collect()))
}

pub fn case_strategy(space: Space) -> BoxedStrategy<Case> {
    let ops = ops_of(space, false);
    let grants = ops_of(space, true);
    // The token endpoint's grant rows are where user tokens are handed out; give them a tenth
    // of the cases so that their few pairs are not drowned by the ~200 other operations.
    let op = prop_oneof![
        9 => prop::sample::select(ops),
        1 => prop::sample::select(grants),
    ];
    let principal = prop::sample::select(Principal::ALL.to_vec());
    let params = prop_oneof![
        Just(Params::Probe),
        (0u64..1000).prop_map(Params::Unknown),
        regex("zz[a-z0-9]{0,6}(%20[a-z]{1,3})?").prop_map(Params::Junk),
    ];
    let mut bodies: Vec<(u32, BoxedStrategy<BodyVar>)> = vec![
        (4, Just(BodyVar::Probe).boxed()),
        (1, Just(BodyVar::Absent).boxed()),
        (1, Just(BodyVar::EmptyJson).boxed()),
        (2, json_body().prop_map(BodyVar::Json).boxed()),
        (
            1,
            prop::collection::vec((short_string(), short_string()), 0..3)
                .prop_map(BodyVar::Form)
                .boxed(),
        ),
    ];
    if space.raw_bodies {
        bodies.push((
            1,
            prop::collection::vec(any::<u8>(), 1..24)
                .prop_map(BodyVar::Garbage)
                .boxed(),
        ));
    }
    let body = prop::strategy::Union::new_weighted(bodies);
    (op, principal, params, body)
        .prop_map(move |(op, principal, params, body)| {
            let row = Catalogue::embedded().by_index(op);
            // Grant rows are judged on success alone, so they keep the probe's credentials;
            // against a real target every body stays the probe's (inert by construction).
            let body = if row.is_grant_row() || space.inert_only {
                BodyVar::Probe
            } else {
                body
            };
            Case {
                op,
                principal,
                params,
                body,
            }
        })
        .prop_filter("the model calls the pair not applicable", |c| {
            expect(c.op(), c.principal).outcome != Outcome::NotApplicable
        })
        .boxed()
}

// ---------------------------------------------------------------------------------------------
// Targets

fn rt() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a tokio runtime")
    })
}

/// One API version of a target: a set-up runner session, and the simulator when in-process.
struct Side {
    version: ApiVersion,
    session: Mutex<Session>,
    /// Set for the transport-free target: cases go to `Simulator::handle` directly.
    sim: Option<Simulator>,
    _mock: Option<FinapiMock>,
}

pub struct Target {
    sides: Vec<Side>,
    remote: bool,
    allow_mutations: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    InProcess,
    Http,
}

impl Target {
    pub fn mock(faults: Faults, transport: Transport) -> Target {
        let sides = BOTH
            .iter()
            .map(|&version| {
                let world = World::demo_for(version);
                let builder = FinapiMock::builder()
                    .world(world.clone())
                    .faults(faults.clone())
                    .clock(Clock::epoch());
                let (http, sim, mock) = match transport {
                    Transport::InProcess => {
                        let sim = builder.simulator();
                        (Http::in_process(sim.clone()), Some(sim), None)
                    }
                    Transport::Http => {
                        let mock = rt().block_on(builder.start());
                        let http = Http::new(&mock.uri(), Limits::local()).expect("client");
                        (http, None, Some(mock))
                    }
                };
                let clock = match (&sim, &mock) {
                    (Some(s), _) => s.clock().clone(),
                    (_, Some(m)) => m.clock().clone(),
                    _ => unreachable!(),
                };
                let mut opts = SessionOptions::new(version);
                opts.clock = Some(clock);
                let mut session = Session::new(
                    http,
                    Credentials::of_world(&world),
                    Catalogue::embedded().clone(),
                    opts,
                );
                rt().block_on(session.set_up())
                    .expect("session set-up on the mock");
                Side {
                    version,
                    session: Mutex::new(session),
                    sim,
                    _mock: mock,
                }
            })
            .collect();
        Target {
            sides,
            remote: false,
            allow_mutations: false,
        }
    }

    /// A real finAPI, when `FINAPI_BASE_URL` is set.
    pub fn remote_from_env() -> Option<Target> {
        let base = std::env::var("FINAPI_BASE_URL")
            .ok()
            .filter(|b| !b.is_empty() && b != "mock")?;
        let version: ApiVersion = std::env::var("FINAPI_API_VERSION")
            .unwrap_or_else(|_| "v2".into())
            .parse()
            .expect("FINAPI_API_VERSION is v1 or v2");
        let mut config = CheckConfig::new(runner::Target::Remote { base_url: base }, version);
        // The CLI's transport settings, from FINAPI_CA_CERT and friends.
        config.transport =
            runner::Transport::from_env().unwrap_or_else(|e| panic!("transport settings: {e}"));
        let connected = rt()
            .block_on(runner::connect(&config))
            .unwrap_or_else(|e| panic!("cannot reach FINAPI_BASE_URL: {e}"));
        let session = rt()
            .block_on(Session::connect(
                connected.http,
                connected.credentials,
                Catalogue::embedded().clone(),
                SessionOptions::new(version),
            ))
            .unwrap_or_else(|e| panic!("session set-up on FINAPI_BASE_URL failed: {e}"));
        Some(Target {
            sides: vec![Side {
                version,
                session: Mutex::new(session),
                sim: None,
                _mock: None,
            }],
            remote: true,
            allow_mutations: std::env::var("FINAPI_ALLOW_MUTATIONS").is_ok_and(|v| v == "true"),
        })
    }

    fn versions(&self) -> &'static [ApiVersion] {
        match self.sides.as_slice() {
            [one] if one.version == ApiVersion::V1 => &[ApiVersion::V1],
            [_] => &[ApiVersion::V2],
            _ => BOTH,
        }
    }

    /// A real finAPI (inert variations only, judged at the boundary).
    pub fn is_remote(&self) -> bool {
        self.remote
    }

    pub fn space(&self) -> Space {
        Space {
            versions: self.versions(),
            raw_bodies: self.sides.iter().all(|s| s.sim.is_some()),
            inert_only: self.remote,
        }
    }

    fn side(&self, version: ApiVersion) -> &Side {
        self.sides
            .iter()
            .find(|s| s.version == version)
            .expect("a side per generated version")
    }

    /// Remove the users the sessions created (what matters against a real target).
    pub fn clean_up(&self) -> usize {
        self.sides
            .iter()
            .map(|s| rt().block_on(s.session.lock().unwrap().clean_up()))
            .sum()
    }
}

// ---------------------------------------------------------------------------------------------
// One case

/// What one case came to.
#[derive(Debug)]
pub enum Checked {
    Judged,
    Skipped,
}

/// The probe's path with the case's parameter values put in.
fn vary_path(op: &Operation, probe_path: &str, params: &Params) -> String {
    let (path, query) = match probe_path.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (probe_path, None),
    };
    if *params == Params::Probe || op.path_params().next().is_none() {
        return probe_path.to_string();
    }
    let mut n = 0u64;
    let segments: Vec<String> = op
        .path
        .split('/')
        .zip(path.split('/'))
        .map(|(template, sent)| {
            let Some(name) = template.strip_prefix('{').and_then(|s| s.strip_suffix('}')) else {
                return sent.to_string();
            };
            n += 1;
            let one = match params {
                Params::Probe => unreachable!(),
                Params::Unknown(k) => {
                    (finapi_conformance::sim::UNKNOWN_ID + k + n * 10).to_string()
                }
                Params::Junk(s) => format!("{s}{n}"),
            };
            // A list of ids needs a comma, or it routes to the single-id operation.
            if name == "ids" {
                let two = match params {
                    Params::Unknown(k) => {
                        (finapi_conformance::sim::UNKNOWN_ID + k + n * 10 + 1).to_string()
                    }
                    _ => format!("{one}b"),
                };
                format!("{one},{two}")
            } else {
                one
            }
        })
        .collect();
    let path = segments.join("/");
    match query {
        Some(q) => format!("{path}?{q}"),
        None => path,
    }
}

/// `errors[0].code` or `error` of an error body, for failure messages (never a token).
fn error_code(body: &[u8]) -> String {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    v["errors"][0]["code"]
        .as_str()
        .or_else(|| v["error"].as_str())
        .unwrap_or("-")
        .to_string()
}

fn send(
    side: &Side,
    session: &Session,
    req: &HttpRequest,
    garbage: Option<&[u8]>,
) -> (u16, Vec<u8>) {
    match &side.sim {
        Some(sim) => {
            let (path, query) = match req.path.split_once('?') {
                Some((p, q)) => (p, Some(q)),
                None => (req.path.as_str(), None),
            };
            let mut headers = http::HeaderMap::new();
            if let Some(t) = &req.bearer {
                headers.insert(
                    http::header::AUTHORIZATION,
                    http::HeaderValue::from_str(&format!("Bearer {t}")).expect("token header"),
                );
            }
            let body = match (&req.body, garbage) {
                (_, Some(raw)) => raw.to_vec(),
                (Body::None, _) => Vec::new(),
                (Body::Json(v), _) => serde_json::to_vec(v).expect("json"),
                (Body::Form(p), _) => serde_urlencoded::to_string(p).expect("form").into_bytes(),
            };
            let content_type = match (&req.body, garbage) {
                (_, Some(_)) | (Body::Json(_), _) => Some("application/json"),
                (Body::Form(_), _) => Some("application/x-www-form-urlencoded"),
                (Body::None, _) => None,
            };
            if let Some(ct) = content_type {
                headers.insert(
                    http::header::CONTENT_TYPE,
                    http::HeaderValue::from_static(ct),
                );
            }
            let resp = sim.handle(&SimRequest {
                method: &req.method,
                path,
                query,
                headers: &headers,
                body: &body,
            });
            (resp.status, resp.body.to_vec())
        }
        None => {
            let resp = rt().block_on(session.http.send(req));
            (resp.status, resp.body)
        }
    }
}

/// Probe one case and judge it with the library's oracle.
pub fn check(target: &Target, case: &Case) -> Result<Checked, TestCaseError> {
    let op = case.op();
    let principal = case.principal;
    let expectation: Expectation = expect(op, principal);
    let side = target.side(op.version);
    let mut session = side.session.lock().unwrap();
    if target.remote && !target.allow_mutations && harmful_if_broken(op, principal) {
        return Ok(Checked::Skipped);
    }
    let probe = match build_probe(&session, op, principal) {
        Ok(p) => p,
        // As in the runner: a principal the credentials cannot play, or data the target did
        // not give the run's user (V1 web forms), makes the check a skip.
        Err(_) => return Ok(Checked::Skipped),
    };
    let mut req = probe.request.clone();
    req.path = vary_path(op, &req.path, &case.params);
    let mut garbage = None;
    match &case.body {
        BodyVar::Probe => {}
        BodyVar::Absent => req.body = Body::None,
        BodyVar::EmptyJson => req.body = Body::Json(serde_json::json!({})),
        BodyVar::Json(v) => req.body = Body::Json(v.clone()),
        BodyVar::Form(pairs) => req.body = Body::Form(pairs.clone()),
        BodyVar::Garbage(bytes) => garbage = Some(bytes.as_slice()),
    }
    let (status, body) = send(side, &session, &req, garbage);
    // On the mock a strict judge for denials: exact 401/403 and the documented error shape.
    let denial = matches!(
        expectation.outcome,
        Outcome::Unauthenticated | Outcome::Forbidden
    );
    let mode = if denial && !target.remote {
        Mode::Strict
    } else {
        Mode::Boundary
    };
    let judgement = judge(
        op,
        &expectation,
        Observed {
            status,
            body: &body,
        },
        mode,
        &probe.allowed_statuses,
    );
    // The disposable user is gone once its own deletion went through: make a new one.
    if op.probe == ProbeStyle::DisposableUser
        && principal == Principal::User
        && (200..300).contains(&status)
    {
        renew_disposable_user(&mut session);
    }
    match judgement.verdict {
        Verdict::Pass => Ok(Checked::Judged),
        Verdict::Skipped => Ok(Checked::Skipped),
        Verdict::Inconclusive if target.remote => Ok(Checked::Skipped),
        verdict => Err(TestCaseError::fail(format!(
            "{case:?}: {} expected {} (rule {}), observed {status} {}: {}",
            verdict.name(),
            expectation.outcome.name(),
            expectation.rule,
            error_code(&body),
            judgement.reason
        ))),
    }
}

fn renew_disposable_user(session: &mut Session) {
    let app = session.creds.app.clone().expect("an app client");
    let token = session.fixtures.tokens[&Principal::AppClient].clone();
    let user = rt()
        .block_on(session.create_user(&app, &token, "d", true))
        .expect("a new disposable user");
    let login = rt().block_on(session.user_login(&app, &user));
    session.fixtures.disposable_token = access_token(&login);
}
