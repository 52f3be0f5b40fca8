//! finAPI's two hosts in front of one mock, for the proxy's truth tests: an Access host and a
//! Web Form 2.0 host, each on a loopback port of its own, each passing its own service's paths
//! (the catalogue's `Api`) to the mock and answering the other's 404 with a finAPI
//! ErrorMessage, as a real host answers a path it does not serve. (The runner's truth tests
//! build a front like it; the two are to become one.)

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use finapi_conformance::model::Api;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// The two hosts; both stop when dropped.
pub struct SplitHosts {
    /// The Access host's base URL.
    pub access: String,
    /// The Web Form 2.0 host's base URL.
    pub webform: String,
    tasks: Vec<JoinHandle<()>>,
}

impl SplitHosts {
    /// Both hosts in front of the mock at `upstream` (a `serve` base URL).
    pub async fn start(upstream: &str) -> SplitHosts {
        let (access, a) = host(upstream, Api::Access).await;
        let (webform, w) = host(upstream, Api::WebForm2).await;
        SplitHosts {
            access,
            webform,
            tasks: vec![a, w],
        }
    }
}

impl Drop for SplitHosts {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// One host serving `api`'s paths from `upstream`.
async fn host(upstream: &str, api: Api) -> (String, JoinHandle<()>) {
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("a loopback port");
    let url = format!("http://{}", listener.local_addr().expect("bound"));
    let upstream = upstream.trim_end_matches('/').to_string();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client");
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let (upstream, client) = (upstream.clone(), client.clone());
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                    let (upstream, client) = (upstream.clone(), client.clone());
                    async move { Ok::<_, Infallible>(answer(&upstream, &client, api, req).await) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (url, task)
}

async fn answer(
    upstream: &str,
    client: &reqwest::Client,
    api: Api,
    req: Request<Incoming>,
) -> Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let path = parts.uri.path().to_string();
    if Api::of_path(&path) != api {
        return not_here(&parts.method, &path);
    }
    let target = format!(
        "{upstream}{}",
        parts.uri.path_and_query().map_or("/", |p| p.as_str())
    );
    let mut headers = parts.headers.clone();
    for h in ["host", "content-length", "connection", "transfer-encoding"] {
        headers.remove(h);
    }
    let sent = client
        .request(parts.method.clone(), target)
        .headers(headers)
        .body(body)
        .send()
        .await;
    let Ok(r) = sent else {
        let mut out = Response::new(Full::new(Bytes::from_static(b"upstream failed")));
        *out.status_mut() = http::StatusCode::BAD_GATEWAY;
        return out;
    };
    let status = r.status();
    let mut headers = r.headers().clone();
    for h in ["content-length", "connection", "transfer-encoding"] {
        headers.remove(h);
    }
    let bytes = r.bytes().await.unwrap_or_default();
    let mut out = Response::new(Full::new(bytes));
    *out.status_mut() = status;
    *out.headers_mut() = headers;
    out
}

/// 404 with a finAPI ErrorMessage: a path of the other service.
fn not_here(method: &http::Method, path: &str) -> Response<Full<Bytes>> {
    let body = serde_json::json!({
        "errors": [{
            "message": "Resource not found",
            "code": "UNKNOWN_ENTITY",
            "type": "BUSINESS",
            "multiStepAuthentication": null,
        }],
        "date": "2024-01-01T00:00:00.000+0000",
        "requestId": "split-front",
        "endpoint": format!("{method} {path}"),
        "authContext": "NA/NA",
    });
    let mut out = Response::new(Full::new(Bytes::from(body.to_string())));
    *out.status_mut() = http::StatusCode::NOT_FOUND;
    out.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    out
}
