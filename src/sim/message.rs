//! What passes through the simulator's door: the request as it sees it, the response it gives
//! back (with what the front door must do besides answering), and what a handler replies.
//!
//! This is the simulator's lowest floor after the errors: every room above reads these types
//! from here, and [`crate::sim`] re-exports them.

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method};
use serde_json::Value;

use crate::journal::Served;
use crate::model::Operation;
use crate::sim::error::ApiError;

/// A request as the simulator sees it, independent of the transport.
#[derive(Debug, Clone, Copy)]
pub struct SimRequest<'a> {
    pub method: &'a Method,
    /// Path without the query string.
    pub path: &'a str,
    /// Raw query string without `?`.
    pub query: Option<&'a str>,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

/// A response, ready for any transport.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimResponse {
    pub status: u16,
    pub content_type: Option<&'static str>,
    pub request_id: String,
    pub body: Bytes,
    /// What the front door does besides answering (delay, `Retry-After`, time out); always
    /// empty without a [`crate::sim::Profile`].
    pub hints: Hints,
    /// Operation, caller and refusing rule, for the journal (never a secret).
    pub served: Served,
    /// Web Form callbacks the front door sends after answering (loopback only, unless the
    /// settings allow their host), as a front door sends them: in the background, never
    /// waited for.
    pub callbacks: Vec<Callback>,
}

impl SimResponse {
    /// The body parsed as JSON (`Value::Null` when empty or not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

/// What a front door does besides sending the answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Hints {
    /// Hold the answer this long (on the simulator's clock).
    pub delay: Option<Duration>,
    /// Send `Retry-After` with this many seconds.
    pub retry_after: Option<u32>,
    /// Time out: close the connection without answering.
    pub close: bool,
}

/// What a handler answers on success.
#[derive(Debug)]
pub enum Reply {
    Json(u16, Value),
    /// A JSON body serialized by the handler (hot paths skip building a `Value`). It must have
    /// its documented shape already: the per-answer completion is skipped, and
    /// `tests/conformance.rs` checks such bodies.
    RawJson(u16, Vec<u8>),
    Empty(u16),
    /// A body that is no JSON (a web form's page, its script): status, content type and text,
    /// sent as they are.
    Text(u16, &'static str, String),
}

/// Handler result.
pub type Handled = Result<Reply, ApiError>;

/// What a request came to before it is a response: the reply or the error that answers it,
/// the operation it was routed to (whose documented shapes complete the body), and what the
/// response carries besides.
#[derive(Debug)]
pub(crate) struct Exchange<'c> {
    pub result: Handled,
    pub op: Option<&'c Operation>,
    /// The authenticated caller as an error body names it (`client/user`).
    pub auth_context: Option<String>,
    pub hints: Hints,
    pub served: Served,
    /// The callbacks the request queued.
    pub callbacks: Vec<Callback>,
}

impl Exchange<'_> {
    /// A front page's answer: no operation, no caller, no hints.
    pub fn page(reply: Reply, callbacks: Vec<Callback>) -> Self {
        Exchange {
            result: Ok(reply),
            op: None,
            auth_context: None,
            hints: Hints::default(),
            served: Served::default(),
            callbacks,
        }
    }
}
/// A Web Form callback to send: where, and what (a JSON body, `POST`ed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Callback {
    pub url: String,
    pub body: String,
}

/// Where a callback goes: its URL taken apart. The mock has no TLS: an `https` callback goes
/// out as plain HTTP/1.1 to the same host and port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackTarget {
    /// The host, without the brackets of an IPv6 address.
    pub host: String,
    pub port: u16,
    /// The path with its query, from `/`.
    pub path: String,
}

impl Callback {
    /// The callback's `http(s)://host[:port]/path?query` URL taken apart; why not, if it
    /// cannot be sent to.
    pub fn target(&self) -> Result<CallbackTarget, String> {
        let url = self.url.as_str();
        let (scheme, rest) = url.split_once("://").ok_or("not an absolute URL")?;
        let default_port = match scheme.to_ascii_lowercase().as_str() {
            "http" => 80,
            "https" => 443,
            other => return Err(format!("unsupported scheme {other}")),
        };
        let (authority, path) = match rest.find(['/', '?']) {
            Some(at) => (&rest[..at], rest[at..].to_string()),
            None => (rest, "/".to_string()),
        };
        let path = if path.starts_with('?') {
            format!("/{path}")
        } else {
            path
        };
        let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (h, after) = v6.split_once(']').ok_or("bad IPv6 host")?;
            (h.to_string(), after.strip_prefix(':'))
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h.to_string(), Some(p)),
                None => (authority.to_string(), None),
            }
        };
        let port = match port {
            None => default_port,
            Some(p) => p.parse().map_err(|_| format!("bad port {p}"))?,
        };
        if host.is_empty() || path.contains(['\r', '\n', ' ']) {
            return Err("bad host or path".into());
        }
        Ok(CallbackTarget { host, port, path })
    }
}

/// What a call on the simulator outside a request answers, with the Web Form callbacks it
/// asks its caller to send (as a front door sends a response's). It reads as its value.
#[derive(Debug, Clone, PartialEq)]
pub struct WithCallbacks<T> {
    pub value: T,
    pub callbacks: Vec<Callback>,
}

impl<T> std::ops::Deref for WithCallbacks<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.value
    }
}
