//! Bad input at every front door: seeded, generated malformed requests (random methods and
//! paths, path traversal, huge, truncated and non-UTF-8 bodies, wrong content types, broken
//! Authorization headers, bad form encoding, duplicate parameters) must never panic, never get
//! a 5xx, always get an error in finAPI's shape, and leave a mock that still answers correctly.
//!
//! Most requests go straight to the transport-free simulator; a few thousand go over real HTTP
//! to `serve` (with raw TCP for bytes no HTTP client sends) and a few hundred to the wiremock
//! front door.

use std::net::SocketAddr;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;

use base64::Engine;
use finapi_conformance::model::Api;
use finapi_conformance::serve::Server;
use finapi_conformance::sim::{SimRequest, SimResponse, Simulator};
use finapi_conformance::world::demo;
use finapi_conformance::ApiVersion::{self, V2};
use finapi_conformance::{FinapiMock, World};
use futures::StreamExt;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::{client_token, sim_grant, user_token, Grant};

/// Requests sent to the simulator directly.
const SIM_REQUESTS: usize = 12_000;
/// Requests sent to `serve` with reqwest.
const SERVE_REQUESTS: usize = 2_500;
/// Requests sent to the wiremock front door.
const WIREMOCK_REQUESTS: usize = 300;

/// One generated request, owned, so it can be replayed at any front door and shown on failure.
#[derive(Debug, Clone)]
struct Req {
    method: Method,
    path: String,
    query: Option<String>,
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
}

impl Req {
    fn header_map(&self) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in &self.headers {
            if let (Ok(k), Ok(v)) = (
                HeaderName::from_bytes(k.as_bytes()),
                HeaderValue::from_bytes(v),
            ) {
                map.append(k, v);
            }
        }
        map
    }

    /// A short description for failure messages (bodies cut, never the whole thing).
    fn describe(&self) -> String {
        let body = String::from_utf8_lossy(&self.body[..self.body.len().min(200)]).into_owned();
        let path: String = self.path.chars().take(200).collect();
        format!(
            "{} {path}?{:?} headers={:?} body({} bytes)={body:?}",
            self.method,
            self.query
                .as_deref()
                .map(|q| q.chars().take(200).collect::<String>()),
            self.headers
                .iter()
                .map(|(k, v)| (k.as_str(), v.len()))
                .collect::<Vec<_>>(),
            self.body.len()
        )
    }
}

/// Tokens and credentials the generator mixes into requests, so that the guard passes often
/// and the handlers see the garbage too.
struct Pool {
    tokens: Vec<String>,
}

impl Pool {
    fn from(sim: &Simulator) -> Pool {
        let client = |client: (&str, &str), v: ApiVersion| {
            sim_grant(sim, v, Grant::Client(client)).json()["access_token"]
                .as_str()
                .expect("client token")
                .to_string()
        };
        // A user of its own (the barrage may delete or lock the demo users).
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let name = format!(
            "pool-{}",
            NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        let app = client(demo::APP_CLIENT, V2);
        let auth = format!("Bearer {app}");
        let headers = [
            ("authorization", auth.as_str()),
            ("content-type", "application/json"),
        ];
        let body = json!({ "id": name, "password": "pool-password" }).to_string();
        let created = sim.call("POST", "/api/v2/users", &headers, body.as_bytes());
        assert_eq!(created.status, 201, "{:?}", created.json());
        let path = format!("/api/v2/users/verify/{name}");
        assert_eq!(sim.call("POST", &path, &headers, b"").status, 200);
        let user = sim_grant(
            sim,
            V2,
            Grant::Password(demo::APP_CLIENT, (&name, "pool-password")),
        )
        .json();
        let mut tokens = vec![
            client(demo::APP_CLIENT, V2),
            client(demo::APP_CLIENT2, V2),
            client(demo::ADMIN_CLIENT, V2),
            client(demo::OTHER_APP_CLIENT, V2),
            client(demo::LEGACY_APP_CLIENT, ApiVersion::V1),
            user["access_token"].as_str().expect("user token").into(),
        ];
        tokens.push(user["refresh_token"].as_str().expect("refresh").into());
        Pool { tokens }
    }
}

struct Gen {
    rng: StdRng,
    templates: Vec<(Method, String)>,
    pool: Pool,
}

const KEYS: &[&str] = &[
    "id",
    "password",
    "email",
    "phone",
    "userId",
    "userIds",
    "ids",
    "clientId",
    "oldClientSecret",
    "newClientSecret",
    "passwordChangeToken",
    "bankId",
    "name",
    "categoryId",
    "direction",
    "ibanRules",
    "keywordRules",
    "isAutoUpdateEnabled",
    "userAccessTokensValidityPeriod",
    "clientAccessTokensValidityPeriod",
    "refreshTokensValidityPeriod",
    "applicationName",
    "corsAllowedOrigins",
];

const QUERY_KEYS: &[&str] = &[
    "page",
    "perPage",
    "userId",
    "token",
    "token_type_hint",
    "isDeleted",
    "isLocked",
    "order",
    "ids",
    "minRegistrationDate",
    "grant_type",
];

impl Gen {
    fn new(seed: u64, sim: &Simulator) -> Gen {
        let templates = sim
            .catalogue()
            .all()
            .iter()
            .filter(|o| !o.is_grant_row())
            .map(|o| (o.method.clone(), o.path.clone()))
            .collect();
        Gen {
            rng: StdRng::seed_from_u64(seed),
            templates,
            pool: Pool::from(sim),
        }
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        items.choose(&mut self.rng).expect("non-empty")
    }

    fn chance(&mut self, p: f64) -> bool {
        self.rng.gen_bool(p)
    }

    fn junk_string(&mut self, max: usize) -> String {
        let len = self.rng.gen_range(0..=max);
        (0..len)
            .map(|_| match self.rng.gen_range(0..10) {
                0 => char::from_u32(self.rng.gen_range(0x80..0x3000)).unwrap_or('x'),
                1 => *self.pick(&['%', '/', '.', '?', '&', '=', '#', ';', '\\', ',']),
                _ => self.rng.gen_range(b' '..=b'~') as char,
            })
            .collect()
    }

    fn param_value(&mut self) -> String {
        let token = self.pick(&self.pool.tokens.clone()).clone();
        match self.rng.gen_range(0..14) {
            0 => "1".into(),
            1 => "5,6,7".into(),
            2 => "9000000000000".into(),
            3 => "-1".into(),
            4 => "99999999999999999999999999".into(),
            5 => "..".into(),
            6 => "%2e%2e%2f%2e%2e%2fetc%2fpasswd".into(),
            7 => "a%ff%fe".into(),
            8 => ",,,".into(),
            9 => demo::USERS[0].0.into(),
            10 => "x".repeat(self.rng.gen_range(100..5000)),
            11 => token,
            12 => (1..=1500)
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join(","),
            _ => self.junk_string(20).replace(['/', '?', '#'], ""),
        }
    }

    fn path(&mut self) -> (Option<Method>, String) {
        let (method, template) = self.pick(&self.templates.clone()).clone();
        let filled: String = template
            .split('/')
            .map(|seg| {
                if seg.starts_with('{') {
                    self.param_value()
                } else {
                    seg.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        match self.rng.gen_range(0..12) {
            0..=5 => (Some(method), filled),
            6 => (None, filled.replacen("/api/v2/", "/api/v2/../v1/", 1)),
            7 => (None, format!("{filled}/../../../../etc/passwd")),
            8 => (None, filled.replace('/', "//")),
            9 => (None, filled.to_uppercase()),
            10 => (None, format!("/{}", self.junk_string(60))),
            _ => (
                None,
                format!("/api/v2/{}", "a/".repeat(self.rng.gen_range(1..3000))),
            ),
        }
    }

    fn method(&mut self, suggested: Option<Method>) -> Method {
        if let Some(m) = suggested.filter(|_| self.chance(0.7)) {
            return m;
        }
        let name = *self.pick(&[
            "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "PROPFIND", "FOO",
        ]);
        Method::from_bytes(name.as_bytes()).expect("valid method token")
    }

    fn json_value(&mut self, depth: u32) -> Value {
        let token = self.pick(&self.pool.tokens.clone()).clone();
        match self.rng.gen_range(0..if depth > 2 { 9 } else { 11 }) {
            0 => Value::Null,
            1 => Value::Bool(self.rng.gen()),
            2 => json!(self.rng.gen::<i64>()),
            3 => json!(u64::MAX),
            4 => json!(*self.pick(&[0u64, 59, 60, 3600, 9_000_000_000_000, 1 << 62])),
            5 => json!(self.rng.gen::<f64>() * 1e300),
            6 => json!(self.junk_string(40)),
            7 => json!(token),
            8 => json!(*self.pick(&[
                "alice",
                "bob",
                "alice-password",
                "demo-app-1",
                "00000000-0000-0000-0000-000000000000",
                "DEBIT",
                "",
            ])),
            9 => Value::Array(
                (0..self.rng.gen_range(0..5))
                    .map(|_| self.json_value(depth + 1))
                    .collect(),
            ),
            _ => self.json_object(depth + 1),
        }
    }

    fn json_object(&mut self, depth: u32) -> Value {
        let n = self.rng.gen_range(0..6);
        let mut map = serde_json::Map::new();
        for _ in 0..n {
            let key = if self.chance(0.85) {
                self.pick(KEYS).to_string()
            } else {
                self.junk_string(12)
            };
            map.insert(key, self.json_value(depth));
        }
        Value::Object(map)
    }

    fn form(&mut self) -> Vec<u8> {
        let (id, secret) = *self.pick(&[
            demo::APP_CLIENT,
            demo::ADMIN_CLIENT,
            demo::LEGACY_APP_CLIENT,
            ("nobody", "nothing"),
        ]);
        let token = self.pick(&self.pool.tokens.clone()).clone();
        let grant = *self.pick(&[
            "client_credentials",
            "password",
            "refresh_token",
            "magic",
            "",
        ]);
        let mut pairs = vec![
            format!("grant_type={grant}"),
            format!("client_id={id}"),
            format!("client_secret={secret}"),
        ];
        let extras = [
            format!("username={}", demo::USERS[0].0),
            format!("password={}", demo::USERS[0].1),
            "password=wrong-password".to_string(),
            format!("refresh_token={token}"),
            format!("token={token}"),
            "token_type_hint=refresh_token".to_string(),
            "token_type_hint=nonsense".to_string(),
            "grant_type=password".to_string(),
            "client_id=demo-app-2".to_string(),
            "%zz=%%".to_string(),
            "==&&=".to_string(),
            "username=%ff%fe".to_string(),
            format!("client_secret={}", "s".repeat(10_000)),
        ];
        for _ in 0..self.rng.gen_range(0..4) {
            pairs.push(self.pick(&extras).clone());
        }
        pairs.shuffle(&mut self.rng);
        if self.chance(0.2) {
            pairs.truncate(self.rng.gen_range(0..pairs.len().max(1)));
        }
        pairs.join("&").into_bytes()
    }

    fn body(&mut self) -> Vec<u8> {
        match self.rng.gen_range(0..20) {
            0..=3 => Vec::new(),
            4..=8 => serde_json::to_vec(&self.json_object(0)).expect("json"),
            9 => {
                let full = serde_json::to_vec(&self.json_object(0)).expect("json");
                let cut = self.rng.gen_range(0..=full.len());
                full[..cut].to_vec()
            }
            10 => (0..self.rng.gen_range(1..200)).map(|_| self.rng.gen()).collect(),
            11 => br#"{"id": "\xff\xfe", "password": "#.iter().copied().chain([0xff, 0xfe, b'"', b'}']).collect(),
            12 => serde_json::to_vec(&self.json_value(3)).expect("json"),
            13 => format!("{}{}", "[".repeat(5000), "]".repeat(5000)).into_bytes(),
            14 => {
                if self.chance(0.05) {
                    // Now and then a body over serve's 1 MiB limit.
                    vec![b'a'; (1 << 20) + 10]
                } else {
                    format!(r#"{{"userIds": [{}]}}"#, vec!["\"x\""; 20_000].join(",")).into_bytes()
                }
            }
            _ => self.form(),
        }
    }

    fn authorization(&mut self) -> Option<Vec<u8>> {
        let token = self.pick(&self.pool.tokens.clone()).clone();
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        Some(match self.rng.gen_range(0..16) {
            0..=2 => return None,
            3..=6 => format!("Bearer {token}").into_bytes(),
            7 => b"Bearer".to_vec(),
            8 => b"Bearer ".to_vec(),
            9 => format!("bearer\t{token}").into_bytes(),
            10 => format!("Bearer {token} {token}").into_bytes(),
            11 => format!(
                "Basic {}",
                b64(&format!("{}:{}", demo::APP_CLIENT.0, demo::APP_CLIENT.1))
            )
            .into_bytes(),
            12 => format!("Basic {}", b64("no-colon-here")).into_bytes(),
            13 => b"Basic !!!not-base64!!!".to_vec(),
            14 => format!("Bearer {}", "A".repeat(self.rng.gen_range(8_000..70_000))).into_bytes(),
            _ => [&b"Bearer "[..], &[0xff, 0xfe, 0x80, b'a']].concat(),
        })
    }

    fn content_type(&mut self) -> Option<Vec<u8>> {
        Some(match self.rng.gen_range(0..9) {
            0 | 1 => return None,
            2 | 3 => b"application/json".to_vec(),
            4 | 5 => b"application/x-www-form-urlencoded".to_vec(),
            6 => b"text/plain".to_vec(),
            7 => b"application/json; charset=utf-8".to_vec(),
            _ => vec![b'a', 0xff, b'/', 0xfe],
        })
    }

    fn query(&mut self) -> Option<String> {
        match self.rng.gen_range(0..6) {
            0..=2 => None,
            3 => Some(self.junk_string(40).replace('#', "")),
            _ => {
                let n = self.rng.gen_range(1..5);
                let mut parts = Vec::new();
                for _ in 0..n {
                    let key = *self.pick(QUERY_KEYS);
                    let value = match self.rng.gen_range(0..8) {
                        0 => "-1".to_string(),
                        1 => "0".to_string(),
                        2 => "99999999999999999999".to_string(),
                        3 => "%zz".to_string(),
                        4 => self.pick(&self.pool.tokens.clone()).clone(),
                        5 => "userId,desc".to_string(),
                        6 => "2024-13-45".to_string(),
                        _ => "true".to_string(),
                    };
                    parts.push(format!("{key}={value}"));
                    if self.chance(0.3) {
                        // A duplicate parameter.
                        parts.push(format!("{key}=2"));
                    }
                }
                Some(parts.join("&"))
            }
        }
    }

    /// A request that is well-formed but for one thing at most, so the handlers get past the
    /// guard and parse what they are given.
    fn gentle(&mut self) -> Req {
        let (method, template) = self.pick(&self.templates.clone()).clone();
        let path = template
            .split('/')
            .map(|seg| match seg {
                "{userId}" => demo::USERS[self.rng.gen_range(0..2)].0.to_string(),
                s if s.starts_with("{ids") => "1,2,3".to_string(),
                s if s.starts_with('{') => self.rng.gen_range(1..40).to_string(),
                s => s.to_string(),
            })
            .collect::<Vec<_>>()
            .join("/");
        let token = self.pick(&self.pool.tokens.clone()).clone();
        let mut headers = vec![(
            "authorization".to_string(),
            format!("Bearer {token}").into_bytes(),
        )];
        let body = if path.contains("oauth") {
            headers.push((
                "content-type".into(),
                b"application/x-www-form-urlencoded".to_vec(),
            ));
            self.form()
        } else if path.ends_with("clientConfiguration") && method == Method::PATCH {
            // Validity periods anywhere from nonsense to the largest number JSON can carry.
            headers.push(("content-type".into(), b"application/json".to_vec()));
            let key = *self.pick(&[
                "userAccessTokensValidityPeriod",
                "clientAccessTokensValidityPeriod",
                "refreshTokensValidityPeriod",
            ]);
            let value = self
                .pick(&[
                    json!(0),
                    json!(59),
                    json!(3600),
                    json!(u64::MAX),
                    json!(1u64 << 62),
                    json!(9_000_000_000_000u64),
                    json!(-1),
                    json!("60"),
                ])
                .clone();
            serde_json::to_vec(&json!({ key: value })).expect("json")
        } else if method == Method::GET || method == Method::DELETE {
            Vec::new()
        } else {
            headers.push(("content-type".into(), b"application/json".to_vec()));
            serde_json::to_vec(&self.json_object(0)).expect("json")
        };
        let query = if self.chance(0.3) { self.query() } else { None };
        Req {
            method,
            path,
            query,
            headers,
            body,
        }
    }

    fn request(&mut self) -> Req {
        if self.chance(0.35) {
            return self.gentle();
        }
        let (suggested, path) = self.path();
        let method = self.method(suggested);
        let mut headers = Vec::new();
        if let Some(a) = self.authorization() {
            headers.push(("authorization".to_string(), a.clone()));
            if self.chance(0.05) {
                headers.push(("authorization".to_string(), b"Bearer second".to_vec()));
            }
        }
        if let Some(ct) = self.content_type() {
            headers.push(("content-type".to_string(), ct));
        }
        match self.rng.gen_range(0..10) {
            0 => headers.push(("x-request-id".into(), b"my-request-1".to_vec())),
            1 => headers.push(("x-request-id".into(), vec![b'r'; 300])),
            2 => headers.push(("x-request-id".into(), vec![b'r', 0xff])),
            3 => headers.push(("x-request-id".into(), Vec::new())),
            _ => {}
        }
        if self.chance(0.05) {
            let value = *self.pick(&[&b"PATCH"[..], b"DELETE", b"GET", b"\xff"]);
            headers.push(("x-http-method-override".into(), value.to_vec()));
        }
        Req {
            method,
            path,
            query: self.query(),
            headers,
            body: self.body(),
        }
    }
}

/// The statuses finAPI answers with, and the shape of its error bodies: `{error,
/// error_description}` for 401, ErrorMessage for every other error.
fn check_shape(
    what: &str,
    method: &Method,
    status: u16,
    content_type: Option<&str>,
    request_id: Option<&str>,
    body: &[u8],
) {
    assert!(
        (200..500).contains(&status),
        "{what}: status {status} outside 2xx..4xx"
    );
    assert!(
        request_id.is_some_and(|id| !id.is_empty()),
        "{what}: no request id"
    );
    if *method == Method::HEAD && body.is_empty() {
        return;
    }
    // The request's path, from the description (the first word that starts with `/`).
    // Clients resolve `.` and `..` before sending, so the path is compared resolved.
    let raw = what
        .split_whitespace()
        .find(|w| w.starts_with('/'))
        .and_then(|w| w.split('?').next())
        .unwrap_or("");
    let mut segments: Vec<&str> = Vec::new();
    for seg in raw.split('/').skip(1) {
        match seg {
            "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    let resolved = format!("/{}", segments.join("/"));
    // The simulator routes the path as sent, an HTTP client sends it resolved: either may be
    // Web Form's, whose errors carry a `timestamp`.
    let webform = [raw, resolved.as_str()]
        .iter()
        .any(|p| Api::of_path(p) == Api::WebForm2)
        && serde_json::from_slice::<Value>(body).is_ok_and(|v| v.get("timestamp").is_some());
    let path = resolved.as_str();
    if path.starts_with("/webForm/") && matches!(*method, Method::GET | Method::POST) {
        // A web form's own page: HTML, whatever was sent.
        assert!(
            content_type.is_some_and(|ct| ct.starts_with("text/html")),
            "{what}: the web form page answered {content_type:?}"
        );
        return;
    }
    if status >= 400 && webform {
        check_webform_error(what, status, content_type, body);
        return;
    }
    if status < 400 {
        if content_type.is_some_and(|ct| ct.starts_with("application/json")) {
            serde_json::from_slice::<Value>(body)
                .unwrap_or_else(|e| panic!("{what}: a {status} body is not JSON: {e}"));
        }
        return;
    }
    assert!(
        content_type.is_some_and(|ct| ct.starts_with("application/json")),
        "{what}: error {status} with content type {content_type:?}"
    );
    let v: Value = serde_json::from_slice(body)
        .unwrap_or_else(|e| panic!("{what}: error {status} body is not JSON: {e}"));
    if status == 401 {
        let obj = v.as_object().expect("401 body is an object");
        assert!(
            obj.len() == 2 && obj["error"].is_string() && obj["error_description"].is_string(),
            "{what}: 401 body is not {{error, error_description}}: {v}"
        );
        return;
    }
    let errors = v["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("{what}: {status} body has no errors[]: {v}"));
    assert!(!errors.is_empty(), "{what}: errors[] is empty");
    for e in errors {
        assert!(
            e["code"].as_str().is_some_and(|c| !c.is_empty())
                && e["message"].is_string()
                && matches!(e["type"].as_str(), Some("BUSINESS") | Some("TECHNICAL")),
            "{what}: malformed ErrorDetails {e}"
        );
    }
    assert!(
        v["date"].is_string() && v["endpoint"].is_string(),
        "{what}: {v}"
    );
    assert_eq!(
        v["requestId"].as_str(),
        request_id,
        "{what}: requestId differs from the X-Request-Id header"
    );
}

/// Web Form 2.0's error bodies: `ValidationError` (`errors[]` of `{field, message}`) for 400,
/// `Error` (`code`, `description`) otherwise; both with `endpoint` and `timestamp`.
fn check_webform_error(what: &str, status: u16, content_type: Option<&str>, body: &[u8]) {
    assert!(
        content_type.is_some_and(|ct| ct.starts_with("application/json")),
        "{what}: error {status} with content type {content_type:?}"
    );
    let v: Value = serde_json::from_slice(body)
        .unwrap_or_else(|e| panic!("{what}: error {status} body is not JSON: {e}"));
    assert!(
        v["endpoint"].is_string() && v["timestamp"].is_string(),
        "{what}: {v}"
    );
    if status == 400 {
        let errors = v["errors"]
            .as_array()
            .unwrap_or_else(|| panic!("{what}: 400 body has no errors[]: {v}"));
        assert!(
            !errors.is_empty()
                && errors
                    .iter()
                    .all(|e| e["field"].is_string() && e["message"].is_string()),
            "{what}: not a ValidationError: {v}"
        );
    } else {
        assert!(
            v["code"].as_str().is_some_and(|c| !c.is_empty()) && v["description"].is_string(),
            "{what}: not a Web Form Error: {v}"
        );
    }
}

fn sim_send(sim: &Simulator, req: &Req) -> SimResponse {
    let headers = req.header_map();
    let sim_req = SimRequest {
        method: &req.method,
        path: &req.path,
        query: req.query.as_deref(),
        headers: &headers,
        body: &req.body,
    };
    catch_unwind(AssertUnwindSafe(|| sim.handle(&sim_req)))
        .unwrap_or_else(|_| panic!("the simulator panicked on {}", req.describe()))
}

/// Token grant, user creation, user login and an authorized call still work, and a shared
/// read answers exactly as on a pristine simulator.
fn assert_sim_still_correct(sim: &Simulator, tag: &str) {
    let r = sim_grant(sim, V2, Grant::Client(demo::APP_CLIENT));
    assert_eq!(
        r.status,
        200,
        "client grant after the barrage: {:?}",
        r.json()
    );
    let client = r.json()["access_token"].as_str().unwrap().to_string();
    let bearer = format!("Bearer {client}");
    let auth = [
        ("authorization", bearer.as_str()),
        ("content-type", "application/json"),
    ];
    let user = format!("after-{tag}");
    let body = json!({ "id": user, "password": "after-password" }).to_string();
    let r = sim.call("POST", "/api/v2/users", &auth, body.as_bytes());
    assert_eq!(
        r.status,
        201,
        "create user after the barrage: {:?}",
        r.json()
    );
    // The user of an app client without auto-verification needs verifying first.
    let r = sim.call("POST", &format!("/api/v2/users/verify/{user}"), &auth, b"");
    assert_eq!(r.status, 200, "verify after the barrage: {:?}", r.json());
    let login = Grant::Password(demo::APP_CLIENT, (&user, "after-password"));
    let r = sim_grant(sim, V2, login);
    assert_eq!(
        r.status,
        200,
        "password grant after the barrage: {:?}",
        r.json()
    );
    let user_token = format!("Bearer {}", r.json()["access_token"].as_str().unwrap());
    let r = sim.call(
        "GET",
        "/api/v2/users",
        &[("authorization", &user_token)],
        b"",
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["id"], json!(user));
    let pristine = Simulator::new(&World::demo());
    let banks = |s: &Simulator, token: &str| {
        s.call(
            "GET",
            "/api/v2/banks?perPage=500",
            &[("authorization", token)],
            b"",
        )
        .json()
    };
    let fresh_client = Pool::from(&pristine).tokens[0].clone();
    assert_eq!(
        banks(sim, &bearer),
        banks(&pristine, &format!("Bearer {fresh_client}"))
    );
    assert_state_consistent(sim);
}

/// Every token belongs to an existing client of its own mandator, every user token to an
/// existing user, and every user sits under its own lower-cased id.
fn assert_state_consistent(sim: &Simulator) {
    sim.with_state(|s| {
        for (m, users) in s.users.iter().enumerate() {
            for (key, user) in users {
                assert_eq!(
                    *key,
                    user.id.to_lowercase(),
                    "user stored under a wrong key"
                );
                assert!(s.mandators.get(m).is_some());
            }
        }
        for t in s.tokens.values() {
            let client = s.clients.get(&t.client).expect("token of a known client");
            assert_eq!(
                client.mandator, t.mandator,
                "token bound to a foreign mandator"
            );
            if let Some(u) = &t.user {
                assert!(
                    s.users[t.mandator].contains_key(u),
                    "token of a user that does not exist"
                );
            }
        }
        for t in s.refresh_tokens.values() {
            let client = s
                .clients
                .get(&t.client)
                .expect("refresh token of a known client");
            assert_eq!(client.mandator, t.mandator);
            assert!(s.users[t.mandator].contains_key(&t.user));
        }
    });
}

#[test]
fn simulator_survives_generated_malformed_requests() {
    let sim = Simulator::new(&World::demo());
    let mut gen = Gen::new(0x5eed_f1a9, &sim);
    let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
    for i in 0..SIM_REQUESTS {
        if i % 500 == 0 {
            // The barrage revokes tokens and deletes users; fetch live tokens now and then.
            gen.pool = Pool::from(&sim);
        }
        let req = gen.request();
        let r = sim_send(&sim, &req);
        let what = format!("#{i} {}", req.describe());
        check_shape(
            &what,
            &req.method,
            r.status,
            r.content_type,
            Some(&r.request_id),
            &r.body,
        );
        *statuses.entry(r.status).or_default() += 1;
    }
    // The generator reaches the handlers, not only the router and the guard.
    for status in [200, 400, 401, 403, 404, 405] {
        assert!(
            statuses.get(&status).copied().unwrap_or(0) > 20,
            "too few {status} answers: {statuses:?}"
        );
    }
    assert_sim_still_correct(&sim, "sim");
}

#[test]
fn huge_token_validity_does_not_overflow() {
    // An earlier finding: a client configuration with a huge validity made the next token
    // grant overflow the expiry date and panic.
    let sim = Simulator::new(&World::demo());
    let token = Pool::from(&sim).tokens[0].clone();
    let auth = format!("Bearer {token}");
    for validity in [u64::MAX, i64::MAX as u64, 9_000_000_000_000_000, 1 << 40] {
        let body = json!({
            "userAccessTokensValidityPeriod": validity,
            "clientAccessTokensValidityPeriod": validity,
            "refreshTokensValidityPeriod": validity,
        })
        .to_string();
        let r = sim.call(
            "PATCH",
            "/api/v2/clientConfiguration",
            &[
                ("authorization", &auth),
                ("content-type", "application/json"),
            ],
            body.as_bytes(),
        );
        assert_eq!(r.status, 200, "{:?}", r.json());
        let login = Grant::Password(demo::APP_CLIENT, demo::USERS[0]);
        let r = catch_unwind(AssertUnwindSafe(|| sim_grant(&sim, V2, login)))
            .unwrap_or_else(|_| panic!("token grant panicked with validity {validity}"));
        assert_eq!(r.status, 200);
        let expires = r.json()["expires_in"].as_i64().expect("expires_in");
        assert!(expires > 0, "validity {validity} gave expires_in {expires}");
        // Revoke so the next round issues a fresh token under the new validity.
        let r = sim.call(
            "POST",
            "/api/v2/oauth/revoke",
            &[
                ("authorization", &auth),
                ("content-type", "application/x-www-form-urlencoded"),
            ],
            format!("token={}", r.json()["refresh_token"].as_str().unwrap()).as_bytes(),
        );
        assert_eq!(r.status, 200);
    }
    // Far into the future the clock saturates instead of panicking, and tokens are expired.
    sim.clock().advance(Duration::MAX);
    sim.clock().advance(Duration::MAX);
    let r = sim.call("GET", "/api/v2/users", &[("authorization", &auth)], b"");
    assert_eq!(r.status, 401);
}

async fn start_serve(sim: Simulator) -> Server {
    Server::start(sim, SocketAddr::from(([127, 0, 0, 1], 0)), 64)
        .await
        .expect("serve starts")
}

/// Send generated requests over HTTP with reqwest and check every answer.
async fn http_barrage(base: &str, gen: &mut Gen, n: usize) -> usize {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(16)
        .build()
        .unwrap();
    let reqs: Vec<Req> = (0..n).map(|_| gen.request()).collect();
    let mut sent = 0;
    let results = futures::stream::iter(reqs.into_iter().enumerate().filter_map(|(i, req)| {
        // reqwest normalises what it can; a URL it refuses is left to the raw TCP test.
        let url = format!(
            "{base}{}{}",
            req.path,
            req.query
                .as_ref()
                .map(|q| format!("?{q}"))
                .unwrap_or_default()
        );
        let url = reqwest::Url::parse(&url).ok()?;
        let mut builder = client
            .request(req.method.clone(), url)
            .body(req.body.clone());
        for (k, v) in &req.headers {
            if let (Ok(k), Ok(v)) = (
                reqwest::header::HeaderName::from_bytes(k.as_bytes()),
                reqwest::header::HeaderValue::from_bytes(v),
            ) {
                builder = builder.header(k, v);
            }
        }
        Some(async move {
            let res = builder
                .send()
                .await
                .unwrap_or_else(|e| panic!("#{i} transport error {e} for {}", req.describe()));
            let status = res.status().as_u16();
            let ct = res
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let id = res
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let body = res.bytes().await.expect("body");
            (i, req, status, ct, id, body)
        })
    }))
    .buffer_unordered(16)
    .collect::<Vec<_>>()
    .await;
    for (i, req, status, ct, id, body) in results {
        sent += 1;
        check_shape(
            &format!("#{i} {}", req.describe()),
            &req.method,
            status,
            ct.as_deref(),
            id.as_deref(),
            &body,
        );
    }
    sent
}

/// The same health check as [`assert_sim_still_correct`], over HTTP.
async fn assert_http_still_correct(base: &str, sim: &Simulator, tag: &str) {
    let http = crate::common::http();
    let token = client_token(base, V2, demo::APP_CLIENT).await;
    let user = format!("after-{tag}");
    let r = http
        .post(format!("{base}/api/v2/users"))
        .bearer_auth(&token)
        .json(&json!({ "id": user, "password": "after-password" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let r = http
        .post(format!("{base}/api/v2/users/verify/{user}"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let user_token = user_token(base, V2, demo::APP_CLIENT, (&user, "after-password")).await;
    let r = http
        .get(format!("{base}/api/v2/users"))
        .bearer_auth(&user_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["id"], json!(user));
    assert_state_consistent(sim);
}

/// A raw HTTP/1.1 exchange: write `bytes` (then close our side when `half_close`), read until
/// the server closes. Returns the status, lower-cased headers and body, or `None` when the
/// server closed without answering.
async fn raw_exchange(
    addr: SocketAddr,
    bytes: &[u8],
    half_close: bool,
) -> Option<(u16, Vec<(String, String)>, Vec<u8>)> {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    // The server may answer (and close) before reading everything we send.
    let _ = stream.write_all(bytes).await;
    if half_close {
        let _ = stream.shutdown().await;
    }
    let mut out = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut out)).await;
    assert!(
        read.is_ok(),
        "the server neither answered nor closed: {:?}",
        String::from_utf8_lossy(&bytes[..bytes.len().min(120)])
    );
    if out.is_empty() {
        return None;
    }
    let split = out
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete response head");
    let head = String::from_utf8_lossy(&out[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = out[split + 4..].to_vec();
    if let Some(len) = header(&headers, "content-length").and_then(|l| l.parse::<usize>().ok()) {
        body.truncate(len);
    }
    Some((status, headers, body))
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Raw requests hyper itself refuses before they reach the simulator get a bare 4xx with no
/// body (protocol errors); everything that reaches the simulator is finAPI-shaped.
#[derive(Debug, Default)]
struct RawTally {
    finapi: usize,
    protocol: usize,
    closed: usize,
}

async fn raw_case(
    addr: SocketAddr,
    method: &Method,
    bytes: &[u8],
    half_close: bool,
    tally: &mut RawTally,
) -> Option<(u16, Value)> {
    let what = String::from_utf8_lossy(&bytes[..bytes.len().min(160)]).into_owned();
    match raw_exchange(addr, bytes, half_close).await {
        None => {
            // Only a client that went away mid-request may go unanswered.
            assert!(half_close, "{what}: the server closed without an answer");
            tally.closed += 1;
            None
        }
        Some((status, headers, body)) => {
            if header(&headers, "x-request-id").is_none() {
                // hyper's own answer to a request it could not parse.
                assert!(
                    (400..500).contains(&status) && body.is_empty(),
                    "{what}: unexpected non-simulator answer {status}"
                );
                tally.protocol += 1;
                return None;
            }
            check_shape(
                &what,
                method,
                status,
                header(&headers, "content-type"),
                header(&headers, "x-request-id"),
                &body,
            );
            tally.finapi += 1;
            Some((status, serde_json::from_slice(&body).unwrap_or(Value::Null)))
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_survives_malformed_requests_over_http_and_raw_tcp() {
    let sim = Simulator::new(&World::demo());
    let server = start_serve(sim.clone()).await;
    let addr = server.addr();
    let base = server.uri();
    let mut gen = Gen::new(0xbad_c0de, &sim);
    let sent = http_barrage(&base, &mut gen, SERVE_REQUESTS).await;
    assert!(
        sent > SERVE_REQUESTS * 3 / 4,
        "only {sent} requests were sendable"
    );

    // Bytes no HTTP client sends.
    let mut tally = RawTally::default();
    let token_head = "POST /api/v2/oauth/token HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\n";
    // A body shorter than its Content-Length: 400 "could not be read", not "too large".
    let truncated = format!("{token_head}Content-Length: 100\r\n\r\ngrant_type=cl");
    let (status, body) = raw_case(addr, &Method::POST, truncated.as_bytes(), true, &mut tally)
        .await
        .expect("a finAPI answer to a truncated body");
    assert_eq!(status, 400);
    let message = body["errors"][0]["message"].as_str().unwrap_or("");
    assert!(message.contains("could not be read"), "{message}");
    // A body over the limit: the documented 400 (finAPI documents no 413), saying why.
    let mut big = format!("{token_head}Content-Length: {}\r\n\r\n", (1 << 20) + 1).into_bytes();
    big.extend(std::iter::repeat_n(b'a', (1 << 20) + 1));
    let (status, body) = raw_case(addr, &Method::POST, &big, false, &mut tally)
        .await
        .expect("a finAPI answer to an oversized body");
    assert_eq!(status, 400);
    assert_eq!(body["errors"][0]["code"], "BAD_REQUEST");
    let message = body["errors"][0]["message"].as_str().unwrap_or("");
    assert!(
        message.contains("exceeds the limit of 1048576 bytes"),
        "{message}"
    );
    // Invalid UTF-8 in a header value reaches the guard: 401.
    let bad_auth = b"GET /api/v2/users HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer \xff\xfe\x80\r\n\r\n";
    let (status, body) = raw_case(addr, &Method::POST, bad_auth, false, &mut tally)
        .await
        .expect("answer");
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_token"))
    );
    // Path traversal is just an unknown path.
    let traversal =
        b"GET /api/v2/../../../etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    let (status, _) = raw_case(addr, &Method::POST, traversal, false, &mut tally)
        .await
        .expect("answer");
    assert_eq!(status, 404);
    let fixed: Vec<Vec<u8>> = vec![
        b"GET /api/v2/\xff\xfe/users HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec(),
        b"GET /api/v2/users?userId=%ff%fe HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec(),
        b"\x00\x01\x02 / HTTP/1.1\r\n\r\n".to_vec(),
        b"GET / HTTP/9.9\r\n\r\n".to_vec(),
        format!("GET /api/v2/users HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Big: {}\r\n\r\n", "b".repeat(200_000)).into_bytes(),
        format!("{token_head}Transfer-Encoding: chunked\r\n\r\nzz\r\nnot a chunk\r\n").into_bytes(),
        format!("{token_head}Content-Length: 5\r\nContent-Length: 7\r\n\r\nabcde").into_bytes(),
        b"POST /api/v2/users HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: 4\r\n\r\n\xff\xfe\xfd\xfc".to_vec(),
        format!("GET /{} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "a".repeat(70_000)).into_bytes(),
    ];
    for bytes in &fixed {
        raw_case(addr, &Method::POST, bytes, false, &mut tally).await;
    }
    // Generated raw requests: random bytes spliced into request lines, headers and bodies.
    let mut rng = StdRng::seed_from_u64(7);
    for _ in 0..300 {
        let req = gen.request();
        let mut bytes = Vec::new();
        bytes.extend(req.method.as_str().as_bytes());
        bytes.push(b' ');
        bytes.extend(req.path.as_bytes());
        if rng.gen_bool(0.3) {
            bytes.extend([0xc3, 0x28, 0xff]);
        }
        if let Some(q) = &req.query {
            bytes.push(b'?');
            bytes.extend(q.as_bytes());
        }
        bytes.extend(b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n");
        for (k, v) in &req.headers {
            bytes.extend(k.as_bytes());
            bytes.extend(b": ");
            bytes.extend(v);
            bytes.extend(b"\r\n");
        }
        // Now and then a Content-Length larger than the body; the client then closes its
        // side, as one that gave up would.
        let short = rng.gen_bool(0.3);
        let declared = req.body.len() + if short { rng.gen_range(1..50) } else { 0 };
        bytes.extend(format!("Content-Length: {declared}\r\n\r\n").as_bytes());
        bytes.extend(&req.body);
        raw_case(addr, &req.method, &bytes, short, &mut tally).await;
    }
    assert!(
        tally.finapi > 150,
        "too few requests reached the simulator: {tally:?}"
    );
    assert_http_still_correct(&base, &sim, "serve").await;
    server.shutdown().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wiremock_front_door_survives_malformed_requests() {
    let mock = FinapiMock::start().await;
    let mut gen = Gen::new(0x00c0_ffee, mock.simulator());
    let sent = http_barrage(&mock.uri(), &mut gen, WIREMOCK_REQUESTS).await;
    assert!(
        sent > WIREMOCK_REQUESTS * 3 / 4,
        "only {sent} requests were sendable"
    );
    assert_http_still_correct(&mock.uri(), mock.simulator(), "wiremock").await;
}
