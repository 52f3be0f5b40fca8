//! A client for the loopback mocks the tests start, and small helpers over it: token grants
//! (from [`crate::grant`]), JSON calls, forms.
//!
//! Every helper talks to a running mock over real HTTP with reqwest; none of them asserts
//! anything beyond the status the caller asks for, so test files keep their own assertions.

use finapi_conformance::ApiVersion;
use reqwest::{Method, RequestBuilder};
use serde_json::Value;

use crate::grant::{token_path, Grant, Pair};

/// A response read to the end: status, headers, raw text and the body parsed as JSON
/// (`Value::Null` when the body is empty or not JSON).
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
    pub body: Value,
}

impl Resp {
    /// `errors[0].code` of an ErrorMessage body.
    pub fn code(&self) -> &str {
        self.body["errors"][0]["code"].as_str().unwrap_or("")
    }
    /// `errors[0].message` of an ErrorMessage body.
    pub fn message(&self) -> &str {
        self.body["errors"][0]["message"].as_str().unwrap_or("")
    }
    /// The response's `X-Request-Id` header.
    pub fn request_id(&self) -> &str {
        self.headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

/// A client for the loopback mocks the tests start: plain HTTP only, so it skips loading the
/// machine's root certificates (a noticeable share of the suite's time when done per test).
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .build()
        .expect("an HTTP client without TLS roots builds")
}

/// Send and read the whole response.
pub async fn send(req: RequestBuilder) -> Resp {
    let res = req.send().await.expect("request reaches the mock");
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let text = res.text().await.expect("response body");
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Resp {
        status,
        headers,
        text,
        body,
    }
}

/// `/api/v1` or `/api/v2`.
pub fn api(v: ApiVersion) -> &'static str {
    match v {
        ApiVersion::V1 => "/api/v1",
        ApiVersion::V2 => "/api/v2",
    }
}

/// POST a form to the token endpoint: any parameters, for requests finAPI should refuse.
pub async fn token(base: &str, v: ApiVersion, form: &[(&str, &str)]) -> Resp {
    send(http().post(format!("{base}{}", token_path(v))).form(form)).await
}

/// The raw response to a grant, its parameters in a form body.
pub async fn grant(base: &str, v: ApiVersion, grant: Grant<'_>) -> Resp {
    token(base, v, &grant.pairs()).await
}

/// The raw response to a grant whose client authenticates with HTTP Basic, the grant's own
/// parameters in the form body.
pub async fn grant_basic(base: &str, v: ApiVersion, grant: Grant<'_>) -> Resp {
    let (id, secret) = grant.client();
    let req = http()
        .post(format!("{base}{}", token_path(v)))
        .basic_auth(id, Some(secret))
        .form(&grant.own_pairs());
    send(req).await
}

/// The raw client_credentials response.
pub async fn client_grant(base: &str, v: ApiVersion, client: Pair<'_>) -> Resp {
    grant(base, v, Grant::Client(client)).await
}

/// A client_credentials token for `(client_id, secret)`; panics unless 200.
pub async fn client_token(base: &str, v: ApiVersion, client: Pair<'_>) -> String {
    let r = client_grant(base, v, client).await;
    assert_eq!(r.status, 200, "client token for {}: {}", client.0, r.text);
    r.body["access_token"]
        .as_str()
        .expect("access_token")
        .to_string()
}

/// The raw password-grant response.
pub async fn password_grant(base: &str, v: ApiVersion, client: Pair<'_>, user: Pair<'_>) -> Resp {
    grant(base, v, Grant::Password(client, user)).await
}

/// (access_token, refresh_token) of a password grant; panics unless 200.
pub async fn user_tokens(
    base: &str,
    v: ApiVersion,
    client: (&str, &str),
    user: (&str, &str),
) -> (String, String) {
    let r = password_grant(base, v, client, user).await;
    assert_eq!(r.status, 200, "user token for {}: {}", user.0, r.text);
    (
        r.body["access_token"]
            .as_str()
            .expect("access_token")
            .into(),
        r.body["refresh_token"]
            .as_str()
            .expect("refresh_token")
            .into(),
    )
}

/// A user's access token; panics unless 200.
pub async fn user_token(
    base: &str,
    v: ApiVersion,
    client: (&str, &str),
    user: (&str, &str),
) -> String {
    user_tokens(base, v, client, user).await.0
}

/// The raw refresh-grant response.
pub async fn refresh_grant(base: &str, v: ApiVersion, client: Pair<'_>, refresh: &str) -> Resp {
    grant(base, v, Grant::Refresh(client, refresh)).await
}

/// Any request with an optional bearer token and an optional JSON body.
pub async fn call(
    base: &str,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> Resp {
    let mut req = http().request(method, format!("{base}{path}"));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(b);
    }
    send(req).await
}

pub async fn get(base: &str, path: &str, token: &str) -> Resp {
    call(base, Method::GET, path, Some(token), None).await
}

pub async fn post_json(base: &str, path: &str, token: &str, body: &Value) -> Resp {
    call(base, Method::POST, path, Some(token), Some(body)).await
}

pub async fn patch_json(base: &str, path: &str, token: &str, body: &Value) -> Resp {
    call(base, Method::PATCH, path, Some(token), Some(body)).await
}

pub async fn delete(base: &str, path: &str, token: &str) -> Resp {
    call(base, Method::DELETE, path, Some(token), None).await
}

/// POST an `application/x-www-form-urlencoded` body, with an optional bearer token.
pub async fn post_form(base: &str, path: &str, token: Option<&str>, form: &[(&str, &str)]) -> Resp {
    let mut req = http().post(format!("{base}{path}")).form(form);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    send(req).await
}
