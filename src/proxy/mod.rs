//! `finapi-conformance proxy`: a transparent, streaming reverse proxy in front of finAPI (or the
//! mock) that judges an app's real traffic with the role model.
//!
//! - forward: every request and answer passes byte for byte, except hop-by-hop headers; answers
//!   stream (only the first [`CAPTURE_BYTES`] of each are kept, to judge it), under the
//!   runner's transport rules (no redirects followed, https for credentials except loopback);
//! - `upstream.rs`: the two services it fronts on one address (Access and Web Form 2.0, each
//!   at its own upstream, routed by path), and whether the Web Form service answers;
//! - `call.rs`: one request as the app sent it, and what the proxy reads from it;
//! - `judge.rs`: who is calling (from the token traffic it sees), which operation (the
//!   catalogue's router), the oracle's verdict, the app's own misuse, shape differences;
//! - `tokens.rs`: tokens and their holders, what may have ended them, token reuse;
//!   `identify.rs`: tokens it never saw issued, identified once by an inert read with each
//!   (`--identify`); `clock.rs`: the upstream's own time, which decides expiry;
//! - `logins.rs` and `controls.rs`: the controls behind verdicts on refused grants and tokens;
//! - `replay.rs`: inert reads and token grants re-sent as other principals (`--replay reads`);
//!   `ids.rs`: the ids a user's query names, judged on its replays as other users;
//!   `deferred.rs`: reads waiting for a principal the proxy holds no token for yet;
//! - `state.rs`: everything seen so far; `report.rs`: the [`ProxyReport`] in `check`'s formats;
//! - `record/`: with `--record DIR`, the session kept as a world, a feature file and its
//!   shape differences ([`Recorded`]).
//!
//! The answer's last chunk is released only once the call is judged (and, with replay, its
//! replays are done), so a token the app receives is known before the app can use it, and the
//! replays see the state the app saw.

pub(crate) mod call;
pub(crate) mod clock;
pub(crate) mod controls;
pub(crate) mod deferred;
pub(crate) mod identify;
pub(crate) mod ids;
pub(crate) mod judge;
pub(crate) mod logins;
mod record;
pub(crate) mod replay;
pub(crate) mod report;
pub(crate) mod state;
pub(crate) mod tokens;
pub(crate) mod upstream;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, HeaderName, Request, Response, StatusCode};
use http_body_util::{combinators::BoxBody, BodyExt, Full, Limited, StreamBody};
use hyper::body::{Frame, Incoming};
use parking_lot::Mutex;
use tokio::sync::mpsc;

use crate::model::{Api, ApiVersion, Catalogue, Mode, Principal, Readings};
use crate::runner::http::{Http, Limits, Transport};
use crate::runner::redact::Redactor;
use crate::runner::Credentials;
use crate::serve::listener::{Listener, Serving};
use crate::sim::router::Router;
use call::Call;
use judge::Judge;
pub use record::{Recorded, RecordedFile};
pub use report::{LoginFailure, ProxyReport};
use state::State;
pub use upstream::Presence;
use upstream::Upstreams;

/// The most of each answer kept to judge it (and check its shape); the rest only streams.
pub const CAPTURE_BYTES: usize = 2 * 1024 * 1024;

/// Whether the proxy replays what it sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReplayMode {
    #[default]
    Off,
    /// Inert reads and password/refresh grants, as every other principal.
    Reads,
}

impl std::str::FromStr for ReplayMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "off" => Ok(ReplayMode::Off),
            "reads" => Ok(ReplayMode::Reads),
            other => Err(format!("unknown replay mode `{other}` (off or reads)")),
        }
    }
}

/// A per-call verdict line sink (the CLI prints to stderr).
pub type LineSink = Arc<dyn Fn(&str) + Send + Sync>;

/// Everything a proxy needs.
#[derive(Clone)]
pub struct ProxyConfig {
    /// finAPI Access (or a `serve` process).
    pub upstream: String,
    /// finAPI Web Form 2.0; `None`: derived from `upstream` (finAPI's Web Form host for
    /// finAPI's Access hosts, [`crate::model::finapi_webform_url`]; else the upstream itself).
    pub webform_upstream: Option<String>,
    /// Where to listen: loopback unless told otherwise.
    pub addr: SocketAddr,
    /// The API version of the mandator (for the proxy's own token requests and the report).
    pub version: ApiVersion,
    pub mode: Mode,
    pub readings: Readings,
    pub transport: Transport,
    /// Replays' rate limit, concurrency, retries; the timeout is also the pass-through's
    /// longest wait between two chunks.
    pub limits: Limits,
    pub credentials: Credentials,
    pub replay: ReplayMode,
    /// Most replays in one run.
    pub max_replays: usize,
    /// With replay: most reads waiting at once for a principal the proxy holds no token for
    /// yet, and the longest one waits.
    pub max_deferred: usize,
    pub defer_for: Duration,
    /// Identify tokens the proxy never saw issued by an inert read with each (`--identify`).
    pub identify: bool,
    pub lines: Option<LineSink>,
    /// Keep the session in this directory when the proxy finishes (`--record DIR`).
    pub record: Option<std::path::PathBuf>,
}

impl ProxyConfig {
    pub fn new(upstream: impl Into<String>, credentials: Credentials) -> ProxyConfig {
        ProxyConfig {
            upstream: upstream.into(),
            webform_upstream: None,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            version: ApiVersion::V2,
            mode: Mode::Boundary,
            readings: Readings::default(),
            transport: Transport::default(),
            limits: Limits::remote(),
            credentials,
            replay: ReplayMode::Off,
            max_replays: 1000,
            max_deferred: 100,
            defer_for: Duration::from_secs(600),
            identify: true,
            lines: None,
            record: None,
        }
    }
}

struct Shared {
    judge: Judge,
    state: Mutex<State>,
    upstreams: Upstreams,
    /// The proxy's own client: calibration, replays and controls.
    http: Http,
    /// `--replay reads`.
    replaying: bool,
    bounds: deferred::Bounds,
    /// `--identify on`, and one identification at a time.
    identify: bool,
    identifying: tokio::sync::Mutex<()>,
    /// Held (shared) by every call being judged and replayed: [`Proxy::finish`] waits for all
    /// of them, also those whose answer reached the app before its replays were done (an
    /// answer without a body has no last chunk to hold back).
    judging: Arc<tokio::sync::RwLock<()>>,
    lines: Option<LineSink>,
    max_request_bytes: usize,
    recorder: Option<record::Recorder>,
}

impl Shared {
    fn say(&self, line: &str) {
        if let Some(sink) = &self.lines {
            sink(line);
        }
    }
}

/// A running proxy.
pub struct Proxy {
    serving: Serving,
    shared: Arc<Shared>,
    target: String,
    started: Instant,
}

impl Proxy {
    /// Check the upstream against the transport rules, bind `config.addr` and start serving.
    /// Errors are one line.
    pub async fn start(config: ProxyConfig) -> Result<Proxy, String> {
        let upstreams = Upstreams::new(
            &config.upstream,
            config.webform_upstream.as_deref(),
            &config.transport,
            config.limits.timeout,
        )?;
        // The proxy's own requests (calibration, replays, controls) go to the Access upstream
        // and to the Web Form upstream, and nowhere else.
        let http = Http::with_transport(
            &upstreams.access.base,
            config.limits.clone(),
            &config.transport,
        )?;
        let http = if upstreams.one_address() {
            http
        } else {
            http.allow_origin(&upstreams.webform.base, &config.transport)?
        };
        let replaying = config.replay == ReplayMode::Reads;
        let catalogue = Catalogue::embedded().with_readings(&config.readings);
        let router = Router::new(&catalogue);
        let recorder = config
            .record
            .as_deref()
            .map(|dir| record::Recorder::new(dir, config.version, config.credentials.clone()))
            .transpose()?;
        let listener = Listener::bind(config.addr)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", config.addr))?;
        let state = State {
            redactor: Redactor::new(config.credentials.secrets()),
            ..State::default()
        };
        let judge = Judge {
            catalogue,
            router,
            version: config.version,
            mode: config.mode,
            credentials: config.credentials.clone(),
            identify: config.identify,
        };
        let state = Mutex::new(state);
        if replaying {
            // The clients' own tokens for replays, with the given credentials (renewed when
            // they expire or are refused).
            for p in [
                Principal::AppClient,
                Principal::SecondAppClient,
                Principal::AdminClient,
                Principal::OtherMandatorAppClient,
            ] {
                replay::own_token(&judge, &http, &state, p, true).await;
            }
        }
        let presence = upstream::calibrate(&upstreams, &judge.catalogue, &http).await;
        state.lock().webform = presence;
        let shared = Arc::new(Shared {
            judge,
            state,
            upstreams,
            http,
            replaying,
            bounds: deferred::Bounds {
                max_replays: config.max_replays,
                max_deferred: config.max_deferred,
                defer_for: config.defer_for,
            },
            identify: config.identify,
            identifying: tokio::sync::Mutex::new(()),
            judging: Arc::new(tokio::sync::RwLock::new(())),
            lines: config.lines.clone(),
            max_request_bytes: usize::try_from(config.transport.max_body_bytes)
                .unwrap_or(usize::MAX),
            recorder,
        });
        let serving = listener.serve({
            let shared = shared.clone();
            move |request: Request<Incoming>| {
                let shared = shared.clone();
                async move { Ok::<_, Infallible>(forward(shared, request).await) }
            }
        });
        Ok(Proxy {
            serving,
            target: crate::runner::redact::url_for_display(&shared.upstreams.access.base),
            shared,
            started: Instant::now(),
        })
    }

    /// Where each service goes, and whether its calls are judged (the Web Form service only
    /// where it answers), as every report shows them.
    pub fn services(&self) -> Vec<crate::runner::ServiceLine> {
        report::services(
            &self.shared.upstreams,
            &self.shared.state.lock(),
            self.shared.judge.version,
        )
    }

    pub fn addr(&self) -> SocketAddr {
        self.serving.addr()
    }

    /// `http://127.0.0.1:PORT`.
    pub fn uri(&self) -> String {
        self.serving.uri()
    }

    /// The report so far (the proxy keeps serving).
    pub fn report(&self) -> ProxyReport {
        let state = self.shared.state.lock();
        report::build(
            &state,
            &self.target,
            report::services(&self.shared.upstreams, &state, self.shared.judge.version),
            self.shared.judge.version,
            self.shared.judge.mode,
            self.started.elapsed(),
        )
    }

    /// Stop accepting, let in-flight calls (and their replays) finish, and report; with
    /// [`ProxyConfig::record`], write the recording too ([`ProxyReport::recorded`]).
    pub async fn finish(mut self) -> ProxyReport {
        let _ = self.serving.shutdown().await;
        drop(self.shared.judging.write().await);
        let mut report = self.report();
        if let Some(recorder) = &self.shared.recorder {
            let secrets: Vec<String> = {
                let state = self.shared.state.lock();
                let mut all: Vec<String> = state.seen_secrets.iter().cloned().collect();
                all.extend(state.own_tokens.values().map(|t| t.token.clone()));
                all.extend(self.shared.judge.credentials.secrets());
                all
            };
            report.recorded = Some(recorder.write(&report, &secrets));
        }
        report
    }
}

type ProxyBody = BoxBody<Bytes, std::io::Error>;

fn full(status: StatusCode, text: &str) -> Response<ProxyBody> {
    let mut r = Response::new(
        Full::new(Bytes::from(text.to_string()))
            .map_err(|never| match never {})
            .boxed(),
    );
    *r.status_mut() = status;
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

/// Hop-by-hop headers (RFC 9110 7.6.1), and the ones the `Connection` header names.
fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(http::header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|n| HeaderName::from_bytes(n.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in [
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    ] {
        headers.remove(name);
    }
}

async fn forward(shared: Arc<Shared>, request: Request<Incoming>) -> Response<ProxyBody> {
    let (parts, body) = request.into_parts();
    let body = match Limited::new(body, shared.max_request_bytes).collect().await {
        Ok(c) => c.to_bytes(),
        Err(_) => {
            return full(
                StatusCode::BAD_GATEWAY,
                "finapi-conformance proxy: the request body could not be read (or is larger than --max-body-bytes)\n",
            )
        }
    };
    let path_and_query = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_string();
    let mut headers = parts.headers.clone();
    strip_hop_by_hop(&mut headers);
    headers.remove(http::header::HOST);
    headers.remove(http::header::CONTENT_LENGTH);
    if shared.identify {
        // A token the proxy never saw issued is identified before its first call goes on.
        let known = shared
            .judge
            .router
            .route(&shared.judge.catalogue, &parts.method, parts.uri.path())
            .is_ok();
        if let Some(token) = call::bearer(&parts.headers).filter(|_| known) {
            identify::identify(
                &shared.judge,
                &shared.http,
                &shared.state,
                &shared.identifying,
                &token,
            )
            .await;
        }
    }
    let started = Instant::now();
    let upstream = shared.upstreams.for_path(parts.uri.path());
    let sent = upstream
        .client
        .request(
            parts.method.clone(),
            format!("{}{path_and_query}", upstream.base),
        )
        .headers(headers)
        .body(body.clone())
        .send()
        .await;
    let mut call = Call {
        method: parts.method.clone(),
        path_and_query,
        headers: parts.headers,
        body,
        latency: started.elapsed(),
        date: None,
    };
    let mut upstream = match sent {
        Ok(r) => r,
        Err(e) => {
            let kind = crate::runner::http::failure_kind(&e);
            finish_call(&shared, &call, 0, &[], false).await;
            return full(
                StatusCode::BAD_GATEWAY,
                &format!("finapi-conformance proxy: upstream {kind}\n"),
            );
        }
    };
    let status = upstream.status();
    call.date = upstream
        .headers()
        .get(http::header::DATE)
        .and_then(|v| v.to_str().ok())
        .and_then(clock::parse_http_date);
    let mut response_headers = upstream.headers().clone();
    strip_hop_by_hop(&mut response_headers);
    let (tx, rx) = mpsc::channel::<Result<Frame<Bytes>, std::io::Error>>(4);
    let judging = shared.judging.clone().read_owned().await;
    tokio::spawn(async move {
        let _judging = judging;
        let mut captured: Vec<u8> = Vec::new();
        let mut complete = true;
        let mut held: Option<Bytes> = None;
        let mut failed = None;
        loop {
            match upstream.chunk().await {
                Ok(Some(chunk)) => {
                    if captured.len() + chunk.len() <= CAPTURE_BYTES {
                        captured.extend_from_slice(&chunk);
                    } else {
                        complete = false;
                    }
                    // One chunk is held back: the last one goes out once the call is judged.
                    if let Some(previous) = held.replace(chunk) {
                        if tx.send(Ok(Frame::data(previous))).await.is_err() {
                            complete = false;
                            break;
                        }
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    complete = false;
                    failed = Some(std::io::Error::other(e));
                    break;
                }
            }
        }
        call.latency = started.elapsed();
        finish_call(&shared, &call, status.as_u16(), &captured, complete).await;
        if let Some(last) = held {
            let _ = tx.send(Ok(Frame::data(last))).await;
        }
        if let Some(e) = failed {
            let _ = tx.send(Err(e)).await;
        }
    });
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    let mut response = Response::new(StreamBody::new(stream).boxed());
    *response.status_mut() = status;
    *response.headers_mut() = response_headers;
    response
}

/// Judge a finished call, print its line, and run its replays.
async fn finish_call(shared: &Shared, call: &Call, status: u16, body: &[u8], complete: bool) {
    let unknown = shared.state.lock().webform == Presence::Unknown;
    if unknown && Api::of_path(call.path()) == Api::WebForm2 {
        // The Web Form service did not answer at start: ask again before judging its call.
        let presence =
            upstream::calibrate(&shared.upstreams, &shared.judge.catalogue, &shared.http).await;
        shared.state.lock().webform = presence;
    }
    let (judged, replays) = {
        let mut state = shared.state.lock();
        let judged = shared
            .judge
            .observe(&mut state, call, status, body, complete);
        let replays = if shared.replaying && status != 0 {
            replay::plan(
                &shared.judge,
                &mut state,
                call,
                &judged,
                (status, body),
                &shared.bounds,
            )
        } else {
            // Without replay, no controls: the refusals stay inconclusive.
            state.wanted_controls.clear();
            Vec::new()
        };
        if let Some(recorder) = &shared.recorder {
            let params = call.params();
            let caller = match &judged.caller {
                judge::Caller::Known(p, user) => Some((*p, user.as_deref())),
                judge::Caller::Unknown => None,
            };
            recorder.observe(&record::Seen {
                op: judged.op.as_ref().map(|o| o.id.as_str()),
                caller,
                grant: judged.grant,
                path: call.path(),
                params: &params,
                status,
                answer: body,
                complete,
            });
        }
        let line = state.redactor.scrub(&judged.line);
        (line, replays)
    };
    shared.say(&format!("proxy: {judged}"));
    if replays.is_empty() {
        return;
    }
    for line in replay::run(
        &shared.judge,
        &shared.http,
        &shared.upstreams,
        &shared.state,
        replays,
    )
    .await
    {
        let line = shared.state.lock().redactor.scrub(&line);
        shared.say(&format!("proxy: {line}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_by_hop_headers_and_the_ones_connection_names_are_dropped() {
        let mut h = HeaderMap::new();
        for (k, v) in [
            ("connection", "keep-alive, x-private-hop"),
            ("keep-alive", "timeout=5"),
            ("transfer-encoding", "chunked"),
            ("x-private-hop", "1"),
            ("te", "trailers"),
            ("upgrade", "h2c"),
            ("content-type", "application/json"),
            ("authorization", "Bearer t"),
            ("x-request-id", "r"),
        ] {
            h.insert(HeaderName::from_static(k), v.parse().unwrap());
        }
        strip_hop_by_hop(&mut h);
        let mut left: Vec<&str> = h.keys().map(|k| k.as_str()).collect();
        left.sort();
        assert_eq!(left, ["authorization", "content-type", "x-request-id"]);
    }
}
