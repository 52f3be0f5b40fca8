//! The standalone front door: the simulator behind a multi-threaded hyper server.
//!
//! It keeps nothing per request except an optional journal capped at a fixed number of entries
//! (the role-aware [`Journal`]: no headers, no query strings, no bodies, so no secrets),
//! and shuts down gracefully. A control API under `/__finapi/` (`control.rs`) lets tests in
//! any language read the journal, reset, load a world, switch breaks and move the clock.
//! Connections are plain hyper HTTP/1.1 with half-closes allowed, so a client that closes its
//! sending side after the request still gets its answer (the accept loop, shared with the
//! proxy, is in `listener`).

pub(crate) mod control;
pub(crate) mod listener;

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;

use crate::callbacks;
use crate::model::paths::version_of_path;
use crate::sim::error::{ApiError, ErrorContext};
use crate::sim::{SimRequest, SimResponse, Simulator};

/// Largest request body `serve` reads (finAPI requests are small; certificates are the largest).
pub const MAX_BODY: usize = 1 << 20;

pub use crate::journal::{Journal, JournalEntry};

/// Who may use the control API under `/__finapi/`.
#[derive(Clone, Default, PartialEq, Eq)]
pub enum Control {
    /// No control API: `/__finapi/*` gets finAPI's usual 404.
    Off,
    /// Anyone who can connect (loopback only).
    #[default]
    Open,
    /// Requests carrying this token (`Authorization: Bearer` or `X-Finapi-Control-Token`).
    Token(String),
}

impl std::fmt::Debug for Control {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the token.
        f.write_str(match self {
            Control::Off => "Off",
            Control::Open => "Open",
            Control::Token(_) => "Token(<redacted>)",
        })
    }
}

/// How a [`Server`] runs besides its simulator.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// How many recent requests the journal keeps (0 = none).
    pub journal_capacity: usize,
    pub control: Control,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            journal_capacity: crate::journal::DEFAULT_CAPACITY,
            control: Control::Open,
        }
    }
}

#[derive(Clone)]
struct AppState {
    sim: Simulator,
    journal: Journal,
    /// `None` when the control API is off.
    control: Option<Arc<control::ControlState>>,
}

/// A running `serve` instance.
pub struct Server {
    serving: listener::Serving,
    journal: Journal,
}

impl Server {
    /// Bind `addr` (port 0 picks a free port) and serve `sim` until [`Server::shutdown`].
    /// The control API is open on a loopback address and off on any other.
    pub async fn start(
        sim: Simulator,
        addr: SocketAddr,
        journal_capacity: usize,
    ) -> std::io::Result<Server> {
        let control = if addr.ip().is_loopback() {
            Control::Open
        } else {
            Control::Off
        };
        let options = ServeOptions {
            journal_capacity,
            control,
        };
        Server::start_with(sim, addr, options).await
    }

    /// Like [`Server::start`], with the control API as `options` say. An open control API
    /// on a non-loopback address is refused (`InvalidInput`): give it a token.
    pub async fn start_with(
        sim: Simulator,
        addr: SocketAddr,
        options: ServeOptions,
    ) -> std::io::Result<Server> {
        if options.control == Control::Open && !addr.ip().is_loopback() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                control::NEEDS_TOKEN,
            ));
        }
        let listener = listener::Listener::bind(addr).await?;
        let addr = listener.addr();
        let journal_capacity = options.journal_capacity;
        let journal = Journal::new(journal_capacity);
        tracing::debug!(%addr, journal_capacity, "serve listening");
        let control = match options.control {
            Control::Off => None,
            Control::Open => Some(Arc::new(control::ControlState::new(&sim, None))),
            Control::Token(t) => Some(Arc::new(control::ControlState::new(&sim, Some(t)))),
        };
        let app = AppState {
            sim,
            journal: journal.clone(),
            control,
        };
        // One reference count per request instead of one per handle inside the state.
        let app = Arc::new(app);
        let serving = listener.serve(move |request: Request<Incoming>| {
            let app = app.clone();
            async move { handle(&app, request).await }
        });
        Ok(Server { serving, journal })
    }

    pub fn addr(&self) -> SocketAddr {
        self.serving.addr()
    }

    /// Base URL, e.g. `http://127.0.0.1:8080`.
    pub fn uri(&self) -> String {
        self.serving.uri()
    }

    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    /// Stop accepting, let in-flight requests finish, and wait.
    pub async fn shutdown(mut self) -> std::io::Result<()> {
        self.serving.shutdown().await
    }
}

/// A profile's timeout: the service fails, so hyper closes the connection without an answer.
#[derive(Debug)]
struct TimedOut;

impl std::fmt::Display for TimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the profile timed this request out")
    }
}

impl std::error::Error for TimedOut {}

async fn handle(
    app: &AppState,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, TimedOut> {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path();
    let body = Limited::new(body, MAX_BODY).collect().await;
    if let Some(control) = &app.control {
        if path.starts_with(control::PREFIX) {
            let mut out = control::handle(control, app, &parts, body.map(|b| b.to_bytes()));
            stamp_date(&mut out, &app.sim);
            return Ok(out);
        }
    }
    let mut response = match body {
        Ok(collected) => {
            let bytes = collected.to_bytes();
            app.sim.handle(&SimRequest {
                method: &parts.method,
                path,
                query: parts.uri.query(),
                headers: &parts.headers,
                body: &bytes,
            })
        }
        Err(e) => unreadable_body(
            &app.sim,
            &parts.method,
            path,
            e.is::<http_body_util::LengthLimitError>(),
        ),
    };
    app.journal.record(
        &parts.method,
        path,
        response.status,
        std::mem::take(&mut response.served),
    );
    // Web Form callbacks go out in the background, on this runtime.
    callbacks::deliver(
        std::mem::take(&mut response.callbacks),
        tokio::runtime::Handle::try_current().ok(),
    );
    // A profile's latency, on the simulator's clock (a fixed clock just moves).
    if let Some(delay) = response.hints.delay {
        app.sim.clock().wait(delay).await;
    }
    if response.hints.close {
        return Err(TimedOut);
    }
    let mut out = Response::new(Full::new(response.body));
    *out.status_mut() =
        http::StatusCode::from_u16(response.status).unwrap_or(http::StatusCode::BAD_REQUEST);
    if let Some(ct) = response.content_type {
        out.headers_mut()
            .insert(http::header::CONTENT_TYPE, HeaderValue::from_static(ct));
    }
    // The id's own bytes become the header value (no copy).
    if let Ok(v) = HeaderValue::from_maybe_shared(Bytes::from(response.request_id)) {
        out.headers_mut().insert(crate::sim::REQUEST_ID_HEADER, v);
    }
    if let Some(seconds) = response.hints.retry_after {
        out.headers_mut()
            .insert(http::header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    stamp_date(&mut out, &app.sim);
    Ok(out)
}

/// `Date` from the simulator's clock (a moved clock included), instead of hyper's system time.
fn stamp_date<B>(out: &mut Response<B>, sim: &Simulator) {
    if let Ok(v) = HeaderValue::from_str(&crate::sim::http_date(sim.clock().now())) {
        out.headers_mut().insert(http::header::DATE, v);
    }
}

/// The finAPI-shaped answer to a body `serve` could not read: 400 for a body over
/// [`MAX_BODY`] (with a message naming the limit) and for a body that broke off (shorter than
/// its `Content-Length`, or a bad chunked encoding). Not 413: finAPI documents no 413 for any
/// operation, and 400 ("Bad request") for nearly all of them.
fn unreadable_body(sim: &Simulator, method: &Method, path: &str, over_limit: bool) -> SimResponse {
    let request_id = crate::sim::fresh_request_id();
    let err = if over_limit {
        tracing::debug!(%method, path, limit = MAX_BODY, "request body over the limit");
        ApiError::bad_request(format!(
            "the request body exceeds the limit of {MAX_BODY} bytes"
        ))
    } else {
        tracing::debug!(%method, path, "request body could not be read");
        ApiError::bad_request("the request body could not be read completely")
    };
    let endpoint = format!("{method} {path}");
    let ctx = ErrorContext {
        version: version_of_path(path),
        now: sim.clock().now(),
        request_id: &request_id,
        endpoint: &endpoint,
        auth_context: None,
    };
    SimResponse {
        status: err.status(),
        content_type: Some("application/json"),
        body: serde_json::to_vec(&err.body(&ctx))
            .unwrap_or_default()
            .into(),
        request_id,
        hints: Default::default(),
        served: crate::journal::Served::default(),
        callbacks: Vec::new(),
    }
}
