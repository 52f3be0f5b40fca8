//! One request as the app sent it (with what the upstream said of its time), and what the
//! proxy reads from it: the bearer token, the parameters of its query and body, the client
//! credentials of a Basic header, the request as evidence shows it.

use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use http::{HeaderMap, Method};
use serde_json::Value;

use super::state::State;
use crate::model::Principal;
use crate::runner::evidence::Evidence;
use crate::runner::http::{Body, HttpRequest, HttpResponse};

/// One request as the app sent it, with what the upstream said of its time.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub method: Method,
    /// Path and query, as sent.
    pub path_and_query: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub latency: Duration,
    /// The upstream's time when it answered (its `Date`), if it said.
    pub date: Option<DateTime<Utc>>,
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
        bearer(&self.headers)
    }
    /// Form (or JSON object) parameters of the body, and the query's.
    pub fn params(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = self
            .query()
            .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
            .unwrap_or_default();
        if let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(&self.body) {
            for (k, v) in map {
                match v {
                    Value::String(s) => out.push((k, s)),
                    // A list of ids (`userIds`): each item under the list's name.
                    Value::Array(items) => out.extend(
                        items
                            .into_iter()
                            .filter_map(|i| i.as_str().map(str::to_string))
                            .map(|i| (k.clone(), i)),
                    ),
                    _ => {}
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

/// The bearer token of `headers`, `None` without an `Authorization` header, `Some("")` for
/// another scheme.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(http::header::AUTHORIZATION)?;
    let text = value.to_str().unwrap_or("");
    Some(match text.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim().to_string(),
        _ => String::new(),
    })
}

pub(crate) fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
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

/// `(client id, secret)` of a Basic `Authorization` header.
pub(crate) fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
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
    text.split_once(':')
        .map(|(id, secret)| (id.to_string(), secret.to_string()))
}
