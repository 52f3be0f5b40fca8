//! The runner's one hardened HTTP client, for every place the crate talks to a target: bounded
//! concurrency, a request rate limit, timeouts (the whole request, and the connect on its own),
//! retries with backoff on 429/503 that honour `Retry-After`; redirects are answers, never
//! followed; bodies are read up to a cap; credentials go only over https, except to loopback.
//!
//! [`Transport`] says how a target may be reached (body cap, extra CA certificates, plain http,
//! connect timeout) and [`TargetUrl::parse`] checks a base URL against it before any connection
//! or name lookup. `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY` are honoured.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tokio::sync::Semaphore;

/// A request the runner sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    pub method: http::Method,
    /// Path and query, starting with `/`.
    pub path: String,
    pub bearer: Option<String>,
    pub body: Body,
}

/// A request body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    None,
    Json(serde_json::Value),
    Form(Vec<(String, String)>),
}

impl HttpRequest {
    pub fn new(method: http::Method, path: impl Into<String>) -> Self {
        HttpRequest {
            method,
            path: path.into(),
            bearer: None,
            body: Body::None,
        }
    }
    pub fn bearer(mut self, token: Option<String>) -> Self {
        self.bearer = token;
        self
    }
    pub fn json(mut self, value: serde_json::Value) -> Self {
        self.body = Body::Json(value);
        self
    }
    pub fn form(mut self, pairs: &[(&str, &str)]) -> Self {
        self.body = Body::Form(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        );
        self
    }
}

/// What came back.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// 0 when no answer can be judged: a connection error, a timeout, an answer cut short,
    /// and the answers the client withholds (a redirect, a body over the cap).
    pub status: u16,
    pub body: Vec<u8>,
    pub latency: Duration,
    /// Why there is no answer, when `status == 0` (one line, e.g. `redirected to ORIGIN ...`).
    pub error: Option<String>,
    /// The answer the target gave but the client did not take, when that is why `status == 0`.
    pub withheld: Option<Withheld>,
}

/// An answer the target gave that the client does not take as an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Withheld {
    /// A 3xx: never followed, nothing is sent to `origin`.
    Redirect {
        status: u16,
        /// The `Location`'s origin (`scheme://host:port`), or `None` when there was none.
        origin: Option<String>,
    },
    /// A body longer than [`Transport::max_body_bytes`]: the connection was dropped.
    TooLarge { limit: u64 },
}

impl Withheld {
    /// One line on what happened, e.g. `redirected to https://other.example:443 (307, not
    /// followed)`.
    pub fn describe(&self) -> String {
        match self {
            Withheld::Redirect {
                status,
                origin: Some(origin),
            } => format!("redirected to {origin} ({status}, not followed)"),
            Withheld::Redirect {
                status,
                origin: None,
            } => format!("redirected ({status} without a usable Location, not followed)"),
            Withheld::TooLarge { limit } => {
                format!("answer larger than {limit} bytes (--max-body-bytes): connection dropped")
            }
        }
    }
}

impl HttpResponse {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
    /// No answer: `error` says why (`withheld` too, when the target did answer).
    fn none(latency: Duration, error: String, withheld: Option<Withheld>) -> HttpResponse {
        HttpResponse {
            status: 0,
            body: Vec::new(),
            latency,
            error: Some(error),
            withheld,
        }
    }
}

/// The default cap on a response body: 16 MiB, far above finAPI's largest page (a page of 500
/// transactions or banks is a few MiB).
pub const DEFAULT_MAX_BODY_BYTES: u64 = 16 * 1024 * 1024;

/// The default time to establish a connection (TCP and TLS), apart from the request timeout.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How a target may be reached. [`Transport::default`]: bodies up to
/// [`DEFAULT_MAX_BODY_BYTES`], a 10 s connect timeout, the bundled and the operating
/// system's CA certificates, plain http only to loopback.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Transport {
    /// Longest response body read; a longer one drops the connection (`--max-body-bytes`).
    pub max_body_bytes: u64,
    /// Time to establish a connection (`--connect-timeout`).
    pub connect_timeout: Duration,
    /// PEM files of CA certificates trusted besides the bundled and the system's roots
    /// (`--ca-cert`, `FINAPI_CA_CERT`).
    pub ca_certs: Vec<PathBuf>,
    /// Allow `http://` to hosts that are not loopback (`--allow-plain-http`): credentials then
    /// travel in clear, so only for a test host on a private network.
    pub allow_plain_http: bool,
}

impl Default for Transport {
    fn default() -> Transport {
        Transport {
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            ca_certs: Vec::new(),
            allow_plain_http: false,
        }
    }
}

impl Transport {
    /// The defaults, with `FINAPI_CA_CERT` (a path list, `:`-separated; `;` on Windows),
    /// `FINAPI_MAX_BODY_BYTES` and `FINAPI_ALLOW_PLAIN_HTTP=1` on top: for the test suites
    /// that reach a real target from the environment.
    pub fn from_env() -> Result<Transport, String> {
        let mut t = Transport::default();
        if let Some(list) = std::env::var_os("FINAPI_CA_CERT").filter(|v| !v.is_empty()) {
            t.ca_certs = std::env::split_paths(&list).collect();
        }
        if let Ok(v) = std::env::var("FINAPI_MAX_BODY_BYTES") {
            t.max_body_bytes = v
                .trim()
                .parse()
                .map_err(|_| format!("FINAPI_MAX_BODY_BYTES: `{v}` is not a number of bytes"))?;
        }
        t.allow_plain_http = std::env::var("FINAPI_ALLOW_PLAIN_HTTP").is_ok_and(|v| v == "1");
        Ok(t)
    }
}

/// A base URL checked against a [`Transport`]: `https://`, or `http://` to loopback (or to any
/// host with [`Transport::allow_plain_http`]). Checking needs no connection and no name lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetUrl {
    url: reqwest::Url,
}

impl TargetUrl {
    /// Check `base_url`; the error is one line that says why it is refused.
    pub fn parse(base_url: &str, transport: &Transport) -> Result<TargetUrl, String> {
        let shown = super::redact::url_for_display(base_url);
        let url = reqwest::Url::parse(base_url.trim()).map_err(|e| {
            format!("not a valid URL ({e}; the value is not shown: it may hold a secret)")
        })?;
        match url.scheme() {
            "https" => {}
            "http" if transport.allow_plain_http => {}
            "http" if url.host().is_some_and(|h| is_loopback_host(&h)) => {}
            "http" => {
                return Err(format!(
                    "refusing `{shown}`: credentials go only over https, except to loopback \
                     (127.0.0.0/8, ::1, localhost); use https://, or --allow-plain-http for a \
                     test host on a private network"
                ))
            }
            _ => {
                return Err(format!(
                    "`{shown}`: the base URL must start with https:// (or http:// for loopback)"
                ))
            }
        }
        if url.host().is_none() {
            return Err(format!("`{shown}` names no host"));
        }
        Ok(TargetUrl { url })
    }

    /// The URL, without a trailing `/`.
    pub fn as_str(&self) -> &str {
        self.url.as_str().trim_end_matches('/')
    }

    /// `scheme://host:port`.
    pub fn origin(&self) -> String {
        self.url.origin().ascii_serialization()
    }
}

/// 127.0.0.0/8, ::1 (also as ::ffff:127.x), `localhost` and names under `.localhost`
/// (RFC 6761; the client resolves them to loopback itself, never through DNS).
fn is_loopback_host(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => {
            ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
        url::Host::Domain(name) => is_loopback_name(name),
    }
}

/// `localhost`, `*.localhost` (any case, with or without the final dot).
pub fn is_loopback_name(name: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name == "localhost" || name.ends_with(".localhost")
}

/// Name resolution: `localhost` and `*.localhost` are loopback without asking DNS (so a plain
/// http request allowed as loopback stays on this machine); other names through the system.
struct Resolver;

impl reqwest::dns::Resolve for Resolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = if is_loopback_name(&host) {
                vec![
                    SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
                    SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), 0),
                ]
            } else {
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect()
            };
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The CA certificates of `files`, each a PEM file with at least one certificate.
fn load_ca_certs(files: &[PathBuf]) -> Result<Vec<reqwest::Certificate>, String> {
    let mut out = Vec::new();
    for path in files {
        let pem = std::fs::read(path)
            .map_err(|e| format!("--ca-cert {}: cannot read it: {e}", path.display()))?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|_| format!("--ca-cert {}: not a PEM certificate file", path.display()))?;
        if certs.is_empty() {
            return Err(format!(
                "--ca-cert {}: no PEM certificate in it",
                path.display()
            ));
        }
        out.extend(certs);
    }
    Ok(out)
}

/// A client for streaming pass-through (the proxy's upstream connection) under the same
/// transport rules as [`Http`]: redirects are never followed (a 3xx is passed on as it came),
/// loopback names never go to DNS, `--ca-cert` files are trusted, the system's roots only for
/// https. No total timeout (a large answer may take its time); `read_timeout` between chunks.
/// Check the base URL with [`TargetUrl::parse`] first.
#[cfg(feature = "proxy")]
pub fn passthrough_client(
    target: &TargetUrl,
    transport: &Transport,
    read_timeout: Duration,
) -> Result<reqwest::Client, String> {
    let https = target.as_str().starts_with("https:");
    let mut builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .read_timeout(read_timeout)
        .connect_timeout(transport.connect_timeout)
        .dns_resolver(Arc::new(Resolver))
        .tls_built_in_root_certs(https);
    for cert in load_ca_certs(&transport.ca_certs)? {
        builder = builder.add_root_certificate(cert);
    }
    builder
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}

/// Limits for talking to a target.
#[derive(Debug, Clone)]
pub struct Limits {
    pub concurrency: usize,
    /// Requests per second; 0 = unlimited.
    pub rate: f64,
    pub timeout: Duration,
    pub retries: u32,
    /// Longest wait for one retry, whatever `Retry-After` says.
    pub max_backoff: Duration,
}

impl Limits {
    /// For a real endpoint: gentle.
    pub fn remote() -> Limits {
        Limits {
            concurrency: 4,
            rate: 10.0,
            timeout: Duration::from_secs(30),
            retries: 3,
            max_backoff: Duration::from_secs(30),
        }
    }
    /// For a mock on loopback: fast.
    pub fn local() -> Limits {
        Limits {
            concurrency: 16,
            rate: 0.0,
            timeout: Duration::from_secs(10),
            retries: 0,
            max_backoff: Duration::from_secs(1),
        }
    }
}

/// The client: over the network, or straight into an in-process simulator.
#[derive(Clone)]
pub struct Http {
    /// When set, requests go to this simulator without a socket (property tests, benchmarks).
    simulator: Option<crate::sim::Simulator>,
    client: reqwest::Client,
    base: String,
    limits: Limits,
    max_body_bytes: u64,
    permits: Arc<Semaphore>,
    next_slot: Arc<Mutex<Instant>>,
    /// When set, retry waits pass on this clock instead of sleeping (a target sharing its
    /// clock with the run, in tests).
    clock: Option<crate::sim::Clock>,
    /// Requests that got no answer to judge (status 0), and the last one's reason.
    unanswered: Arc<(AtomicU64, Mutex<Option<String>>)>,
    /// Origins besides the base URL's that requests may go to ([`Http::allow_origin`]).
    other_origins: Arc<Vec<String>>,
}

/// What kind of failure a request without an answer met, for its one-line reason.
pub(crate) fn failure_kind(e: &reqwest::Error) -> &'static str {
    if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connection failed"
    } else {
        "request failed"
    }
}

/// A request path that is a whole URL.
fn is_absolute(path: &str) -> bool {
    path.starts_with("http://") || path.starts_with("https://")
}

impl Http {
    /// A client for `base_url` with the default [`Transport`] (https, or http to loopback).
    pub fn new(base_url: &str, limits: Limits) -> Result<Http, String> {
        Http::with_transport(base_url, limits, &Transport::default())
    }

    /// A client for `base_url`, refused (one line, before any connection or name lookup) when
    /// `transport` does not allow it; fails too when a `--ca-cert` file cannot be used.
    pub fn with_transport(
        base_url: &str,
        limits: Limits,
        transport: &Transport,
    ) -> Result<Http, String> {
        let target = TargetUrl::parse(base_url, transport)?;
        Http::build(target.as_str(), limits, transport, false)
    }

    fn build(
        base: &str,
        limits: Limits,
        transport: &Transport,
        roots: bool,
    ) -> Result<Http, String> {
        // The system's and the bundled roots are read only for https (reading the system store
        // costs time, and an http client never needs them).
        let https = roots || base.starts_with("https:");
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(limits.timeout)
            .connect_timeout(transport.connect_timeout.min(limits.timeout))
            .pool_max_idle_per_host(limits.concurrency.max(1))
            .dns_resolver(Arc::new(Resolver))
            .tls_built_in_root_certs(https);
        for cert in load_ca_certs(&transport.ca_certs)? {
            builder = builder.add_root_certificate(cert);
        }
        let client = builder
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Http {
            simulator: None,
            client,
            base: base.trim_end_matches('/').to_string(),
            permits: Arc::new(Semaphore::new(limits.concurrency.max(1))),
            next_slot: Arc::new(Mutex::new(Instant::now())),
            limits,
            max_body_bytes: transport.max_body_bytes,
            clock: None,
            unanswered: Arc::default(),
            other_origins: Arc::default(),
        })
    }

    /// A client that hands every request to `simulator` directly, with no network and no
    /// limits: the same probes, judged the same way, thousands of times faster.
    pub fn in_process(simulator: crate::sim::Simulator) -> Http {
        let mut http = Http::build(
            "http://in-process",
            Limits::local(),
            &Transport::default(),
            false,
        )
        .expect("a client without TLS roots builds");
        http.simulator = Some(simulator);
        http
    }

    /// How many requests so far got no answer to judge (status 0: redirects, bodies over the
    /// cap, timeouts, broken connections), and the last one's reason. Shared by clones.
    pub fn unanswered(&self) -> (u64, Option<String>) {
        (
            self.unanswered.0.load(Ordering::Relaxed),
            self.unanswered.1.lock().clone(),
        )
    }

    fn send_in_process(sim: &crate::sim::Simulator, req: &HttpRequest) -> HttpResponse {
        let started = Instant::now();
        // An absolute URL (a web form's page, a Web Form host) reaches the simulator by its path.
        let full = req
            .path
            .strip_prefix("http://")
            .or_else(|| req.path.strip_prefix("https://"))
            .map_or(req.path.as_str(), |rest| {
                rest.find('/').map_or("/", |at| &rest[at..])
            });
        let (path, query) = match full.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (full, None),
        };
        let mut headers = http::HeaderMap::new();
        if let Some(token) = &req.bearer {
            if let Ok(v) = http::HeaderValue::from_str(&format!("Bearer {token}")) {
                headers.insert(http::header::AUTHORIZATION, v);
            }
        }
        let body = match &req.body {
            Body::None => Vec::new(),
            Body::Json(v) => {
                headers.insert(
                    http::header::CONTENT_TYPE,
                    http::HeaderValue::from_static("application/json"),
                );
                serde_json::to_vec(v).unwrap_or_default()
            }
            Body::Form(pairs) => {
                headers.insert(
                    http::header::CONTENT_TYPE,
                    http::HeaderValue::from_static("application/x-www-form-urlencoded"),
                );
                serde_urlencoded::to_string(pairs)
                    .unwrap_or_default()
                    .into_bytes()
            }
        };
        let resp = sim.handle(&crate::sim::SimRequest {
            method: &req.method,
            path,
            query,
            headers: &headers,
            body: &body,
        });
        HttpResponse {
            status: resp.status,
            body: resp.body.to_vec(),
            latency: started.elapsed(),
            error: None,
            withheld: None,
        }
    }

    /// Wait on `clock` for retries (`Retry-After`, backoff) instead of sleeping: for a target
    /// that shares its clock with the run (see [`crate::sim::Clock::wait`]).
    pub fn with_clock(mut self, clock: crate::sim::Clock) -> Self {
        self.clock = Some(clock);
        self
    }

    async fn wait(&self, by: Duration) {
        match &self.clock {
            Some(clock) => clock.wait(by).await,
            None => tokio::time::sleep(by).await,
        }
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// Wait for the next slot of the rate limit.
    async fn pace(&self) {
        if self.limits.rate <= 0.0 {
            return;
        }
        let gap = Duration::from_secs_f64(1.0 / self.limits.rate);
        let wait = {
            let mut next = self.next_slot.lock();
            let now = Instant::now();
            let slot = (*next).max(now);
            *next = slot + gap;
            slot - now
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }

    /// Send with the limits applied. A 3xx is not followed and a body over the cap is not
    /// read: both come back as status 0 with [`HttpResponse::withheld`] set.
    pub async fn send(&self, req: &HttpRequest) -> HttpResponse {
        if let Some(sim) = &self.simulator {
            return Http::send_in_process(sim, req);
        }
        let resp = match self.refused_origin(&req.path) {
            // Nothing is sent to an origin the user did not name.
            Some(error) => HttpResponse::none(Duration::ZERO, error, None),
            None => self.send_remote(req).await,
        };
        if resp.status == 0 {
            self.unanswered.0.fetch_add(1, Ordering::Relaxed);
            *self.unanswered.1.lock() = resp.error.clone();
        }
        resp
    }

    /// Let requests go to `url`'s origin too (the Web Form 2.0 host of `--webform-url`), checked
    /// against `transport` like the base URL. Any other absolute URL is refused unsent.
    pub fn allow_origin(self, url: &str, transport: &Transport) -> Result<Http, String> {
        let target = TargetUrl::parse(url, transport)?;
        let mut http = if target.as_str().starts_with("https:") && !self.base.starts_with("https:")
        {
            // Built for plain http: build again with the roots https needs.
            let mut again = Http::build(&self.base, self.limits.clone(), transport, true)?;
            again.simulator = self.simulator;
            again.clock = self.clock;
            again.other_origins = self.other_origins;
            again
        } else {
            self
        };
        Arc::make_mut(&mut http.other_origins).push(target.origin());
        Ok(http)
    }

    /// Why an absolute `path` may not be sent: its origin is neither the base URL's nor one
    /// allowed with [`Http::allow_origin`].
    fn refused_origin(&self, path: &str) -> Option<String> {
        if !is_absolute(path) {
            return None;
        }
        let origin = reqwest::Url::parse(path)
            .map(|u| u.origin().ascii_serialization())
            .unwrap_or_default();
        let base = reqwest::Url::parse(&self.base)
            .map(|u| u.origin().ascii_serialization())
            .unwrap_or_default();
        if !origin.is_empty() && (origin == base || self.other_origins.contains(&origin)) {
            return None;
        }
        Some(format!(
            "refused: `{}` is not the target's origin (nothing sent)",
            super::redact::url_for_display(&origin)
        ))
    }

    async fn send_remote(&self, req: &HttpRequest) -> HttpResponse {
        let _permit = self.permits.acquire().await.ok();
        let mut attempt = 0;
        loop {
            self.pace().await;
            let started = Instant::now();
            let result = self.request(req).send().await;
            let latency = started.elapsed();
            match result {
                Err(e) if !e.is_timeout() && !e.is_connect() && attempt < self.limits.retries => {
                    // The connection closed before an answer (a gateway timing out): retried
                    // like a 503. Timeouts and refused connections are not.
                    attempt += 1;
                    self.wait(
                        Duration::from_millis(500 * 2u64.pow(attempt)).min(self.limits.max_backoff),
                    )
                    .await;
                    continue;
                }
                Err(e) => {
                    let kind = failure_kind(&e);
                    // The innermost cause says what went wrong (a certificate nobody trusts,
                    // a refused port); it names no URL, so it carries no query string.
                    let mut cause: &dyn std::error::Error = &e;
                    while let Some(inner) = cause.source() {
                        cause = inner;
                    }
                    let error = if e.is_connect() {
                        format!("{kind}: {} ({cause})", self.base)
                    } else {
                        format!("{kind}: {}", self.base)
                    };
                    return HttpResponse::none(latency, error, None);
                }
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    if (300..400).contains(&status) {
                        let origin = resp
                            .headers()
                            .get(reqwest::header::LOCATION)
                            .and_then(|v| v.to_str().ok())
                            .and_then(|l| resp.url().join(l.trim()).ok())
                            .map(|u| u.origin().ascii_serialization())
                            .filter(|o| o != "null");
                        let withheld = Withheld::Redirect { status, origin };
                        return HttpResponse::none(latency, withheld.describe(), Some(withheld));
                    }
                    let retry_after = resp
                        .headers()
                        .get(reqwest::header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<u64>().ok())
                        .map(Duration::from_secs);
                    if (status == 429 || status == 503) && attempt < self.limits.retries {
                        attempt += 1;
                        let backoff =
                            retry_after.unwrap_or(Duration::from_millis(500 * 2u64.pow(attempt)));
                        self.wait(backoff.min(self.limits.max_backoff)).await;
                        continue;
                    }
                    return match self.read_body(resp, started).await {
                        Ok(body) => HttpResponse {
                            status,
                            body,
                            latency: started.elapsed(),
                            error: None,
                            withheld: None,
                        },
                        Err((error, withheld)) => {
                            HttpResponse::none(started.elapsed(), error, withheld)
                        }
                    };
                }
            }
        }
    }

    /// Read a body up to the cap, within the request's timeout (counted from `started`). Past
    /// the cap, or on any error, the response is dropped with its connection.
    async fn read_body(
        &self,
        mut resp: reqwest::Response,
        started: Instant,
    ) -> Result<Vec<u8>, (String, Option<Withheld>)> {
        let limit = self.max_body_bytes;
        let too_large = || {
            let w = Withheld::TooLarge { limit };
            (w.describe(), Some(w))
        };
        let announced = resp.content_length();
        if announced.is_some_and(|n| n > limit) {
            return Err(too_large());
        }
        let deadline = tokio::time::Instant::from_std(started + self.limits.timeout);
        let read = async {
            // Grows as the body arrives (never reserves what a target merely announces).
            let mut body = Vec::with_capacity(announced.unwrap_or(0).min(64 * 1024) as usize);
            loop {
                match resp.chunk().await {
                    Ok(Some(chunk)) => {
                        if (body.len() + chunk.len()) as u64 > limit {
                            return Err(too_large());
                        }
                        body.extend_from_slice(&chunk);
                    }
                    Ok(None) => return Ok(body),
                    Err(e) if e.is_timeout() => {
                        return Err((
                            format!("timeout: {} (answer not finished)", self.base),
                            None,
                        ))
                    }
                    Err(_) => {
                        return Err((format!("connection lost mid-answer: {}", self.base), None))
                    }
                }
            }
        };
        match tokio::time::timeout_at(deadline, read).await {
            Ok(result) => result,
            Err(_) => Err((
                format!("timeout: {} (answer not finished)", self.base),
                None,
            )),
        }
    }

    fn request(&self, req: &HttpRequest) -> reqwest::RequestBuilder {
        // An absolute URL (the Web Form 2.0 host of `--webform-url`) was checked in `send`.
        let url = if is_absolute(&req.path) {
            req.path.clone()
        } else {
            format!("{}{}", self.base, req.path)
        };
        let mut builder = self.client.request(req.method.clone(), url);
        if let Some(token) = &req.bearer {
            builder = builder.bearer_auth(token);
        }
        match &req.body {
            Body::None => builder,
            Body::Json(v) => builder.json(v),
            Body::Form(pairs) => builder.form(pairs),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn absolute_urls_go_only_to_the_targets_origins() {
        // A collector that counts every connection: the refused request must not reach it.
        let collector = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let elsewhere = format!("http://{}", collector.local_addr().unwrap());
        let http = Http::new("http://127.0.0.1:9", Limits::local()).unwrap();
        let answer = http
            .send(&HttpRequest::new(
                http::Method::GET,
                format!("{elsewhere}/api/webForms"),
            ))
            .await;
        assert_eq!(answer.status, 0);
        let error = answer.error.unwrap_or_default();
        assert!(error.starts_with("refused: "), "{error}");
        let connected = tokio::time::timeout(Duration::from_millis(50), collector.accept()).await;
        assert!(connected.is_err(), "nothing reaches another origin");

        // Named with allow_origin (and checked like a base URL), it may be reached.
        let allowed = http
            .clone()
            .allow_origin(&elsewhere, &Transport::default())
            .unwrap();
        assert_eq!(
            allowed.refused_origin(&format!("{elsewhere}/api/webForms")),
            None
        );
        match http.allow_origin("http://webform.example.com", &Transport::default()) {
            Err(e) => assert!(e.contains("credentials go only over https"), "{e}"),
            Ok(_) => panic!("plain http to a remote Web Form host is refused"),
        }
    }
}
