//! finAPI's real topology around one mock: a front that splits a `serve` (or any mock serving
//! both services on one address) into an **Access host** and a **Web Form 2.0 host**, two
//! listeners on loopback, as finAPI serves them (`sandbox.finapi.io` and
//! `webform-sandbox.finapi.io`). Each host passes its own service's paths to the mock and
//! answers the other's 404 with a finAPI ErrorMessage, as a host that does not serve a path
//! does. The truth tests point the runner, `features` and the proxy at it to hold their
//! verdicts true where users point them.
//!
//! Which host a path belongs to is the model's ([`Api::serving`]): Web Form 2.0's API and its
//! front pages (the form's page, finAPI's loader script) on the Web Form host, everything else
//! on the Access host. [`FrontOptions`] narrows the target further: no Web Form host, no
//! Access V1, no bank data for new V2 users, no control API.

use std::net::SocketAddr;

use bytes::Bytes;
use finapi_conformance::model::{version_of_path, Api, ApiVersion};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};

/// What the front serves besides passing each service's paths on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrontOptions {
    /// Open a Web Form 2.0 host (default); `false`: Access only, Web Form paths 404 there.
    pub webform: bool,
    /// Serve Access V1 paths (`/api/v1/..`, `/oauth/..`) too (default); `false`: 404.
    pub v1: bool,
    /// Let new V2 users import finAPI's test bank with `importBankConnection` as the mocks do
    /// (default); `false`: the import names a bank the mock does not know, so it is refused
    /// after the role check (422) and a V2 user gets bank data only through a web form, as on
    /// finAPI.
    pub v2_bank_import: bool,
    /// Pass the mock's control API (`/__finapi/..`) on the Access host (default), so a test
    /// (and the runner, completing its own import form) can drive it; `false`: 404.
    pub control: bool,
}

impl Default for FrontOptions {
    fn default() -> FrontOptions {
        FrontOptions {
            webform: true,
            v1: true,
            v2_bank_import: true,
            control: true,
        }
    }
}

impl FrontOptions {
    /// A faithful finAPI that serves Access V2 only: no Web Form host, no V1, no bank data for
    /// new V2 users, and no control API.
    pub fn access_v2_only() -> FrontOptions {
        FrontOptions {
            webform: false,
            v1: false,
            v2_bank_import: false,
            control: false,
        }
    }
}

/// The two hosts, serving until dropped.
pub struct SplitFront {
    /// Base URL of the Access host, e.g. `http://127.0.0.1:41234`.
    pub access: String,
    /// Base URL of the Web Form 2.0 host (`None` without one, [`FrontOptions::webform`]).
    pub webform: Option<String>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl SplitFront {
    /// Both hosts in front of the mock at `upstream` (its base URL), with every default.
    pub async fn start(upstream: &str) -> SplitFront {
        SplitFront::start_with(upstream, FrontOptions::default()).await
    }

    /// The hosts `options` ask for, in front of the mock at `upstream`.
    pub async fn start_with(upstream: &str, options: FrontOptions) -> SplitFront {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .tls_built_in_root_certs(false)
            .build()
            .expect("an HTTP client without TLS roots builds");
        let upstream = upstream.trim_end_matches('/').to_string();
        let mut tasks = Vec::new();
        let (access, task) = listen(Host {
            serves: Api::Access,
            upstream: upstream.clone(),
            client: client.clone(),
            options: options.clone(),
        })
        .await;
        tasks.push(task);
        let webform = if options.webform {
            let (url, task) = listen(Host {
                serves: Api::WebForm2,
                upstream,
                client,
                options,
            })
            .await;
            tasks.push(task);
            Some(url)
        } else {
            None
        };
        SplitFront {
            access,
            webform,
            tasks,
        }
    }

    /// The Web Form host's base URL; panics when the front has none.
    pub fn webform_url(&self) -> &str {
        self.webform
            .as_deref()
            .expect("this front has a Web Form 2.0 host")
    }
}

impl Drop for SplitFront {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// One host: the service it serves and where it passes requests.
#[derive(Clone)]
struct Host {
    serves: Api,
    upstream: String,
    client: reqwest::Client,
    options: FrontOptions,
}

/// Bind a loopback port for `host` and serve it in the background; its base URL.
async fn listen(host: Host) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let addr: SocketAddr = listener.local_addr().expect("a bound address");
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let host = host.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req| {
                    let host = host.clone();
                    async move { host.answer(req).await }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (format!("http://{addr}"), task)
}

/// Headers that belong to one connection, not to the message.
fn hop_by_hop(name: &http::HeaderName) -> bool {
    matches!(
        name.as_str(),
        "connection"
            | "keep-alive"
            | "transfer-encoding"
            | "te"
            | "trailer"
            | "upgrade"
            | "proxy-connection"
            | "host"
            | "content-length"
    )
}

impl Host {
    /// Whether this host serves `path`.
    fn serves(&self, path: &str) -> bool {
        if path.starts_with("/__finapi") {
            return self.serves == Api::Access && self.options.control;
        }
        if Api::serving(path) != self.serves {
            return false;
        }
        self.serves == Api::WebForm2 || self.options.v1 || version_of_path(path) != ApiVersion::V1
    }

    /// The host's answer: the mock's, passed on as it came, or a 404 for a path the host does
    /// not serve. A connection the mock dropped without an answer is dropped here too
    /// (`Err`), so a front door's failure looks the same through the front.
    async fn answer(&self, req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Dropped> {
        let (parts, body) = req.into_parts();
        let path = parts.uri.path().to_string();
        if !self.serves(&path) {
            return Ok(not_found(&parts.method, &path));
        }
        let body = body.collect().await.map_err(|_| Dropped)?.to_bytes();
        let body = if self.options.v2_bank_import {
            body
        } else {
            without_test_bank(&parts.method, &path, body)
        };
        let query = parts
            .uri
            .query()
            .map(|q| format!("?{q}"))
            .unwrap_or_default();
        let mut out = self.client.request(
            parts.method.clone(),
            format!("{}{path}{query}", self.upstream),
        );
        for (name, value) in &parts.headers {
            if !hop_by_hop(name) {
                out = out.header(name, value);
            }
        }
        let answer = out.body(body).send().await.map_err(|_| Dropped)?;
        let status = answer.status();
        let headers = answer.headers().clone();
        let bytes = answer.bytes().await.map_err(|_| Dropped)?;
        let mut r = Response::new(Full::new(bytes));
        *r.status_mut() = status;
        for (name, value) in &headers {
            if !hop_by_hop(name) {
                r.headers_mut().append(name, value.clone());
            }
        }
        Ok(r)
    }
}

/// The mock dropped the connection (or the request could not be read): drop this one too.
#[derive(Debug)]
struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the mock gave no answer")
    }
}

impl std::error::Error for Dropped {}

/// A V2 import of a bank, pointed at a bank the mock does not know, so the mock refuses it
/// (after the role check) as finAPI V2 refuses imports outside a web form.
fn without_test_bank(method: &http::Method, path: &str, body: Bytes) -> Bytes {
    if method != http::Method::POST || path != "/api/v2/bankConnections/import" {
        return body;
    }
    let Ok(mut value) = serde_json::from_slice::<Value>(&body) else {
        return body;
    };
    if value.get("bankId").is_some() {
        value["bankId"] = json!(999_999_999u64);
    }
    Bytes::from(serde_json::to_vec(&value).unwrap_or_default())
}

/// finAPI's answer to a path a host does not serve: 404 with an ErrorMessage.
fn not_found(method: &http::Method, path: &str) -> Response<Full<Bytes>> {
    let endpoint = format!("{method} {path}");
    let body = json!({
        "errors": [{
            "message": format!("No handler found for {endpoint}"),
            "code": "UNKNOWN_ENTITY",
            "type": "TECHNICAL",
            "multiStepAuthentication": null,
        }],
        "date": "2026-01-01 00:00:00.000",
        "requestId": "split-front",
        "endpoint": endpoint,
        "authContext": "-/-",
    });
    let mut r = Response::new(Full::new(Bytes::from(
        serde_json::to_vec(&body).unwrap_or_default(),
    )));
    *r.status_mut() = http::StatusCode::NOT_FOUND;
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    r
}
