//! The one place a request's outcome becomes a response: a handler's reply completed to the
//! operation's documented shapes, or an error in the body finAPI gives it (Access's
//! `ErrorMessage`, Web Form 2.0's own bodies), with the deliberate breaks and the profile's
//! alterations that bend bodies applied here.

use bytes::Bytes;
use chrono::{DateTime, Utc};
use http::Method;
use serde_json::Value;

use crate::faults::{Faults, Violation};
use crate::model::paths::version_of_path;
use crate::model::{Api, ApiVersion, Operation};
use crate::sim::conform::{self, Outgoing};
use crate::sim::error::{ApiError, ErrorContext};
use crate::sim::message::{Exchange, Reply, SimResponse};
use crate::sim::profile;

const JSON: &str = "application/json";

/// What the response says about the request it answers.
pub(crate) struct Answering<'a> {
    pub request_id: String,
    /// The effective method (after `X-HTTP-Method-Override`).
    pub method: &'a Method,
    pub path: &'a str,
    pub now: DateTime<Utc>,
    pub faults: &'a Faults,
    /// `alt-errors`: error bodies in the documented alternative spelling.
    pub alt_errors: bool,
}

/// The response to `exchange`.
pub(crate) fn respond(exchange: Exchange<'_>, answering: Answering<'_>) -> SimResponse {
    let (status, content_type, body) = match exchange.result {
        Ok(reply) => reply_body(reply, exchange.op, answering.faults),
        Err(err) => error_body(
            err,
            exchange.op,
            exchange.auth_context.as_deref(),
            &answering,
        ),
    };
    SimResponse {
        status,
        content_type,
        request_id: answering.request_id,
        body,
        hints: exchange.hints,
        served: exchange.served,
        callbacks: exchange.callbacks,
    }
}

/// A reply's status, content type and body: JSON completed to the shapes of `op` (if the
/// request was routed to one), a handler's own bytes, no body, or a page's text.
fn reply_body(
    reply: Reply,
    op: Option<&Operation>,
    faults: &Faults,
) -> (u16, Option<&'static str>, Bytes) {
    match reply {
        Reply::Json(status, value) => {
            let outgoing = match op {
                Some(op) => conform::response(op.version, &op.id, status, value),
                None => Outgoing::Json(value),
            };
            match outgoing {
                Outgoing::Json(v) => (status, Some(JSON), json_bytes(&shape_faults(faults, v))),
                Outgoing::NoBody => (status, None, Bytes::new()),
            }
        }
        Reply::RawJson(status, body) => (status, Some(JSON), Bytes::from(body)),
        Reply::Empty(status) => (status, None, Bytes::new()),
        Reply::Text(status, content_type, text) => (status, Some(content_type), Bytes::from(text)),
    }
}

/// An error's status, content type and body. Only statuses finAPI documents for `op` (see
/// [`ApiError::as_documented`]); Web Form 2.0 paths get its own bodies (`ValidationError` for
/// 400, else `Error`), every other path Access's.
fn error_body(
    err: ApiError,
    op: Option<&Operation>,
    auth_context: Option<&str>,
    answering: &Answering<'_>,
) -> (u16, Option<&'static str>, Bytes) {
    let faults = answering.faults;
    let err = match op {
        Some(op) => err.as_documented(op),
        None => err,
    };
    let err = error_faults(faults, err);
    if faults.has(Violation::PlainTextErrors) && err.status() == 403 {
        return (
            403,
            Some("text/plain"),
            Bytes::from_static(b"Access is denied"),
        );
    }
    let status = err.status();
    let now = answering.now;
    let endpoint = format!("{} {}", answering.method, answering.path);
    let mut body = if Api::of_path(answering.path) == Api::WebForm2 {
        let model = if status == 400 {
            "ValidationError"
        } else {
            "Error"
        };
        conform::model(ApiVersion::V2, model, err.webform_body(&endpoint, now))
    } else {
        let ctx = ErrorContext {
            version: version_of_path(answering.path),
            now,
            request_id: &answering.request_id,
            endpoint: &endpoint,
            auth_context,
        };
        conform::error(
            op.map_or(ctx.version, |op| op.version),
            op.map(|op| op.id.as_str()),
            status,
            err.body(&ctx),
        )
    };
    if answering.alt_errors {
        profile::alter_error_body(&mut body, now);
    }
    (status, Some(JSON), json_bytes(&shape_faults(faults, body)))
}

/// The answer to a request a front door could not read (a body over its limit, or cut short):
/// `err` in the body the path's service gives, as for any other refusal (Web Form 2.0's own
/// bodies on its paths, Access's ErrorMessage elsewhere), with no operation or caller known.
#[cfg(feature = "serve")]
pub(crate) fn unread(
    err: ApiError,
    method: &Method,
    path: &str,
    now: DateTime<Utc>,
    request_id: String,
) -> SimResponse {
    let faults = Faults::none();
    let answering = Answering {
        request_id,
        method,
        path,
        now,
        faults: &faults,
        alt_errors: false,
    };
    let (status, content_type, body) = error_body(err, None, None, &answering);
    SimResponse {
        status,
        content_type,
        request_id: answering.request_id,
        body,
        hints: Default::default(),
        served: Default::default(),
        callbacks: Vec::new(),
    }
}

fn json_bytes(value: &Value) -> Bytes {
    Bytes::from(serde_json::to_vec(value).unwrap_or_default())
}

/// `forbidden-as-401`: a role refusal answered as if the token were bad.
fn error_faults(faults: &Faults, err: ApiError) -> ApiError {
    match err {
        ApiError::Message {
            status: 403,
            code: "UNAUTHORIZED_ACCESS",
            message,
            kind,
        } if faults.has(Violation::ForbiddenAs401) => ApiError::Message {
            status: 401,
            code: "UNAUTHORIZED_ACCESS",
            message,
            kind,
        },
        other => other,
    }
}

/// `shape-drift`: error bodies lose their required `authContext`.
fn shape_faults(faults: &Faults, mut body: Value) -> Value {
    if faults.has(Violation::ShapeDrift) {
        if let Some(o) = body.as_object_mut() {
            if o.contains_key("errors") {
                o.remove("authContext");
            }
        }
    }
    body
}
