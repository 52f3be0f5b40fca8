//! What the simulator reads from a request's headers before anything else: the request id it
//! echoes (or makes up), and the method a POST overrides itself with; and the `Date` both front
//! doors stamp on every answer, from the simulator's clock.

use http::{HeaderMap, Method};

use crate::sim::error::ApiError;
use crate::sim::message::SimRequest;

/// Header carrying the request id.
pub const REQUEST_ID: &str = "x-request-id";

/// [`REQUEST_ID`] as a header name, for lookups and inserts that skip parsing the name.
pub const REQUEST_ID_HEADER: http::HeaderName = http::HeaderName::from_static(REQUEST_ID);

/// An HTTP date (RFC 9110 5.6.7, IMF-fixdate) of the simulator's time, for the `Date` header
/// of every answer: a client (the proxy) reads the mock's own time from it, moved clock
/// included.
pub fn http_date(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

/// The header that turns a POST into a PATCH or DELETE.
const METHOD_OVERRIDE: http::HeaderName = http::HeaderName::from_static("x-http-method-override");

/// `X-HTTP-Method-Override: PATCH|DELETE` on a POST.
pub fn effective_method(req: &SimRequest<'_>) -> Method {
    if *req.method == Method::POST {
        if let Some(v) = req
            .headers
            .get(METHOD_OVERRIDE)
            .and_then(|v| v.to_str().ok())
        {
            match v.trim().to_ascii_uppercase().as_str() {
                "PATCH" => return Method::PATCH,
                "DELETE" => return Method::DELETE,
                _ => {}
            }
        }
    }
    req.method.clone()
}

/// The request id to echo, and an error if the presented one is unusable.
pub fn request_id(headers: &HeaderMap) -> (String, Option<ApiError>) {
    let fresh = fresh_request_id;
    match headers.get(REQUEST_ID_HEADER) {
        // An empty header is no request id: finAPI makes one up, as without the header.
        None => (fresh(), None),
        Some(v) if v.is_empty() => (fresh(), None),
        Some(v) => match v.to_str() {
            Ok(s) if !s.is_empty() && s.len() <= 255 => (s.to_string(), None),
            Ok(s) if s.len() > 255 => (
                fresh(),
                Some(ApiError::bad_request(
                    "X-Request-Id must not exceed 255 characters",
                )),
            ),
            _ => (
                fresh(),
                Some(ApiError::bad_request(
                    "X-Request-Id must be 1 to 255 visible ASCII characters",
                )),
            ),
        },
    }
}

/// A request id of our own: `selfgen-`, a random prefix drawn once per process, and a counter.
/// Unique within a process and unlikely to repeat across processes, without drawing random
/// bytes for every request.
pub fn fresh_request_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::OnceLock;
    static PREFIX: OnceLock<String> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let prefix = PREFIX.get_or_init(|| crate::sim::random::random_uuid()[..23].to_string());
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut id = String::with_capacity(8 + prefix.len() + 13);
    id.push_str("selfgen-");
    id.push_str(prefix);
    id.push('-');
    // The counter as 12 hex digits, by hand (`write!` was a tenth of a small request's time).
    for shift in (0..12).rev() {
        id.push(char::from(
            b"0123456789abcdef"[(n >> (shift * 4)) as usize & 0xf],
        ));
    }
    id
}

/// `http://host` of the request (the front door's own address, for web form URLs and the
/// loader script), `http://localhost` when its `Host` header is missing, empty or not a plain
/// host name.
pub fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        })
        .unwrap_or("localhost");
    format!("http://{host}")
}
