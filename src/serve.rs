//! The standalone front door: the simulator behind a multi-threaded hyper server (via axum).
//!
//! It keeps nothing per request except an optional journal capped at a fixed number of entries
//! (method, path, status: no headers, no bodies, so no secrets), and shuts down gracefully.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::State as AxState;
use axum::http::{HeaderValue, Request, Response};
use parking_lot::Mutex;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::sim::error::{ApiError, ErrorContext};
use crate::sim::{version_of_path, SimRequest, Simulator};

/// Largest request body `serve` reads (finAPI requests are small; certificates are the largest).
pub const MAX_BODY: usize = 1 << 20;

/// One journal entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalEntry {
    pub method: String,
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
    fn push(&self, entry: JournalEntry) {
        if self.capacity == 0 {
            return;
        }
        let mut q = self.inner.lock();
        if q.len() == self.capacity {
            q.pop_front();
        }
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
        let app = axum::Router::new().fallback(handle).with_state(AppState {
            sim,
            journal: journal.clone(),
        });
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await
        });
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

async fn handle(AxState(app): AxState<AppState>, request: Request<Body>) -> Response<Body> {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path().to_string();
    let response = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(bytes) => app.sim.handle(&SimRequest {
            method: &parts.method,
            path: &path,
            query: parts.uri.query(),
            headers: &parts.headers,
            body: &bytes,
        }),
        Err(e) => unreadable_body(&app.sim, &parts.method, &path, &e),
    };
    app.journal.push(JournalEntry {
        method: parts.method.to_string(),
        path,
        status: response.status,
    });
    let mut out = Response::builder().status(response.status);
    if let Some(ct) = response.content_type {
        out = out.header(http::header::CONTENT_TYPE, ct);
    }
    if let Ok(v) = HeaderValue::from_str(&response.request_id) {
        out = out.header(crate::sim::REQUEST_ID, v);
    }
    out.body(Body::from(response.body))
        .unwrap_or_else(|_| Response::new(Body::empty()))
}

/// Whether a body error is the size limit (and not a connection that broke mid-body).
fn is_length_limit(e: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if err.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = err.source();
    }
    false
}

/// The finAPI-shaped answer to a body `serve` could not read: 413 over [`MAX_BODY`], 400 for
/// a body that broke off (shorter than its `Content-Length`, or a bad chunked encoding).
fn unreadable_body(
    sim: &Simulator,
    method: &http::Method,
    path: &str,
    e: &axum::Error,
) -> crate::sim::SimResponse {
    let request_id = format!("selfgen-{}", crate::sim::state::random_uuid());
    let err = if is_length_limit(e) {
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
    crate::sim::SimResponse {
        status: err.status(),
        content_type: Some("application/json"),
        body: serde_json::to_vec(&err.body(&ctx))
            .unwrap_or_default()
            .into(),
        request_id,
    }
}
