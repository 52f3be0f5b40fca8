//! The standalone front door: the simulator behind a multi-threaded hyper server.
//!
//! It keeps nothing per request except an optional journal capped at a fixed number of entries
//! (method, path, status: no headers, no query strings, no bodies, so no secrets), and shuts
//! down gracefully. Connections are plain hyper HTTP/1.1 with half-closes allowed, so a client
//! that closes its sending side after the request still gets its answer.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use parking_lot::Mutex;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::sim::error::{ApiError, ErrorContext};
use crate::sim::{version_of_path, SimRequest, SimResponse, Simulator};

/// Largest request body `serve` reads (finAPI requests are small; certificates are the largest).
pub const MAX_BODY: usize = 1 << 20;

/// One journal entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalEntry {
    pub method: Method,
    pub path: String,
    pub status: u16,
}

/// A ring buffer of the most recent requests.
#[derive(Debug, Clone)]
pub struct Journal {
    inner: Arc<Mutex<VecDeque<JournalEntry>>>,
    capacity: usize,
}

impl Journal {
    pub fn new(capacity: usize) -> Journal {
        Journal {
            inner: Arc::new(Mutex::new(VecDeque::with_capacity(capacity.min(4096)))),
            capacity,
        }
    }
    fn push(&self, method: &Method, path: &str, status: u16) {
        if self.capacity == 0 {
            return;
        }
        let mut q = self.inner.lock();
        // Reuse the oldest entry's allocation once the ring is full.
        let mut entry = if q.len() >= self.capacity {
            q.pop_front()
        } else {
            None
        }
        .unwrap_or_else(|| JournalEntry {
            method: Method::GET,
            path: String::new(),
            status: 0,
        });
        entry.method.clone_from(method);
        entry.path.clear();
        entry.path.push_str(path);
        entry.status = status;
        q.push_back(entry);
    }
    /// The retained entries, oldest first.
    pub fn entries(&self) -> Vec<JournalEntry> {
        self.inner.lock().iter().cloned().collect()
    }
    pub fn capacity(&self) -> usize {
        self.capacity
    }
}

#[derive(Clone)]
struct AppState {
    sim: Simulator,
    journal: Journal,
}

/// A running `serve` instance.
pub struct Server {
    addr: SocketAddr,
    journal: Journal,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Server {
    /// Bind `addr` (port 0 picks a free port) and serve `sim` until [`Server::shutdown`].
    pub async fn start(
        sim: Simulator,
        addr: SocketAddr,
        journal_capacity: usize,
    ) -> std::io::Result<Server> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let journal = Journal::new(journal_capacity);
        tracing::debug!(%addr, journal_capacity, "serve listening");
        let app = AppState {
            sim,
            journal: journal.clone(),
        };
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(accept_loop(listener, app, rx));
        Ok(Server {
            addr,
            journal,
            shutdown: Some(tx),
            task,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Base URL, e.g. `http://127.0.0.1:8080`.
    pub fn uri(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    /// Stop accepting, let in-flight requests finish, and wait.
    pub async fn shutdown(mut self) -> std::io::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.task
            .await
            .unwrap_or_else(|e| Err(std::io::Error::other(e)))
    }
}

/// Accept connections until `stop` fires, then let every open connection finish its
/// in-flight request and close.
async fn accept_loop(
    listener: TcpListener,
    app: AppState,
    mut stop: oneshot::Receiver<()>,
) -> std::io::Result<()> {
    let graceful = GracefulShutdown::new();
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors and the like: wait a moment instead of spinning.
                    tracing::debug!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
            _ = &mut stop => break,
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let service = service_fn(move |request: Request<Incoming>| {
            let app = app.clone();
            async move { handle(&app, request).await }
        });
        let connection = http1::Builder::new()
            .half_close(true)
            .serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            // A client that resets its connection is no error of ours.
            let _ = connection.await;
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
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
    let response = match Limited::new(body, MAX_BODY).collect().await {
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
    app.journal.push(&parts.method, path, response.status);
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
    if let Ok(v) = HeaderValue::from_str(&response.request_id) {
        out.headers_mut().insert(crate::sim::REQUEST_ID, v);
    }
    if let Some(seconds) = response.hints.retry_after {
        out.headers_mut()
            .insert(http::header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    Ok(out)
}

/// The finAPI-shaped answer to a body `serve` could not read: 413 over [`MAX_BODY`], 400 for
/// a body that broke off (shorter than its `Content-Length`, or a bad chunked encoding).
fn unreadable_body(sim: &Simulator, method: &Method, path: &str, over_limit: bool) -> SimResponse {
    let request_id = crate::sim::fresh_request_id();
    let err = if over_limit {
        tracing::debug!(%method, path, limit = MAX_BODY, "request body over the limit");
        ApiError::new(
            413,
            "BAD_REQUEST",
            format!("the request body exceeds the limit of {MAX_BODY} bytes"),
        )
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
    }
}
