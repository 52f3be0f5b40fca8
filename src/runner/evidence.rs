//! The evidence behind a verdict: the request a check sent and the answer it got, scrubbed of
//! every secret before it is kept, so reports (the HTML page above all) can show it.
//!
//! A bearer token is never kept: the request shows which principal's token it carried. Form
//! and JSON fields that carry secrets (client secrets, passwords, tokens) are replaced by
//! `<redacted>`, and every token and secret the session knows is scrubbed from the rest.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::http::{Body, HttpRequest, HttpResponse};
use super::redact::Redactor;
use crate::model::Principal;

/// Longest response body kept, in characters (the rest is cut with a note).
pub const MAX_BODY: usize = 2000;

/// Field names whose values are secrets wherever they appear in a body.
const SECRET_FIELDS: &[&str] = &[
    "client_secret",
    "password",
    "refresh_token",
    "access_token",
    "token",
    "newClientSecret",
    "oldClientSecret",
    "passwordChangeToken",
    "clientSecret",
];

/// A redacted request and response.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// `METHOD /path?query`.
    pub request: String,
    /// `Bearer <token of PRINCIPAL>` or empty.
    #[serde(default)]
    pub authorization: String,
    /// The request body, redacted (empty when there was none).
    #[serde(default)]
    pub request_body: String,
    /// The response status (0: no response).
    #[serde(default)]
    pub status: u16,
    /// The response body, redacted and cut at [`MAX_BODY`] characters.
    #[serde(default)]
    pub response_body: String,
}

fn is_secret_field(name: &str) -> bool {
    SECRET_FIELDS.iter().any(|f| f.eq_ignore_ascii_case(name))
}

/// Replace the values of secret fields anywhere in a JSON value.
fn scrub_json(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if is_secret_field(k) && !v.is_null() {
                    *v = Value::String("<redacted>".into());
                } else {
                    scrub_json(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(scrub_json),
        _ => {}
    }
}

/// Secret query parameters (V1 revokes a token in the query string).
fn scrub_path(path: &str) -> String {
    let Some((base, query)) = path.split_once('?') else {
        return path.to_string();
    };
    let pairs: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((k, _)) if is_secret_field(k) => format!("{k}=<redacted>"),
            _ => pair.to_string(),
        })
        .collect();
    format!("{base}?{}", pairs.join("&"))
}

fn cut(text: &str) -> String {
    if text.chars().count() <= MAX_BODY {
        return text.to_string();
    }
    let kept: String = text.chars().take(MAX_BODY).collect();
    format!("{kept}... (cut at {MAX_BODY} characters)")
}

impl Evidence {
    /// Keep a redacted copy of `request` (sent as `principal`) and `response`; `redactor`
    /// knows the run's secrets and tokens.
    pub fn capture(
        request: &HttpRequest,
        principal: Principal,
        response: &HttpResponse,
        redactor: &Redactor,
    ) -> Evidence {
        let request_body = match &request.body {
            Body::None => String::new(),
            Body::Json(v) => {
                let mut v = v.clone();
                scrub_json(&mut v);
                serde_json::to_string_pretty(&v).unwrap_or_default()
            }
            Body::Form(pairs) => pairs
                .iter()
                .map(|(k, v)| {
                    if is_secret_field(k) {
                        format!("{k}=<redacted>")
                    } else {
                        format!("{k}={v}")
                    }
                })
                .collect::<Vec<_>>()
                .join("&"),
        };
        let response_body = match serde_json::from_slice::<Value>(&response.body) {
            Ok(mut v) => {
                scrub_json(&mut v);
                serde_json::to_string_pretty(&v).unwrap_or_default()
            }
            Err(_) if response.status == 0 => response
                .error
                .clone()
                .unwrap_or_else(|| "no response".into()),
            Err(_) => String::from_utf8_lossy(&response.body).into_owned(),
        };
        Evidence {
            request: redactor.scrub(&format!("{} {}", request.method, scrub_path(&request.path))),
            authorization: request
                .bearer
                .as_ref()
                .map(|_| format!("Bearer <token of {principal}>"))
                .unwrap_or_default(),
            request_body: redactor.scrub(&request_body),
            status: response.status,
            response_body: cut(&redactor.scrub(&response_body)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn secrets_tokens_and_bearers_are_not_kept() {
        let req = HttpRequest::new(http::Method::POST, "/oauth/revoke?token=abc123secret&x=1")
            .bearer(Some("the-bearer-token".into()))
            .form(&[("client_id", "app"), ("client_secret", "s3cr3t-value")]);
        let resp = HttpResponse {
            status: 200,
            body: br#"{"access_token":"tok-1234","nested":{"password":"pw"},"note":"leak known-secret-1"}"#.to_vec(),
            latency: Duration::ZERO,
            error: None,
            withheld: None,
        };
        let redactor = Redactor::new(["known-secret-1".to_string()]);
        let e = Evidence::capture(&req, Principal::AppClient, &resp, &redactor);
        let all = format!("{e:?}");
        for secret in [
            "abc123secret",
            "the-bearer-token",
            "s3cr3t-value",
            "tok-1234",
            "\"pw\"",
            "known-secret-1",
        ] {
            assert!(!all.contains(secret), "{secret} kept in {all}");
        }
        assert_eq!(e.authorization, "Bearer <token of app-client>");
        assert!(e.request.ends_with("token=<redacted>&x=1"), "{}", e.request);
        assert!(e.request_body.contains("client_id=app"));
    }

    #[test]
    fn long_bodies_are_cut() {
        let long = "x".repeat(MAX_BODY + 10);
        assert!(cut(&long).ends_with("(cut at 2000 characters)"));
        assert_eq!(cut("short"), "short");
    }
}
