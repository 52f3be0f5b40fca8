//! What the benchmarks share: their knobs, the load generator (a hyper HTTP/1 client over
//! keep-alive connections) and the median. Every side of a ratio goes through the same
//! generator, so the ratio compares the servers, not the clients.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper::Request;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// A `usize` from the environment variable `name`, or `default`.
pub fn knob(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The middle value (the upper one of an even count).
pub fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// One request the load generator sends; the answer must be a success.
#[derive(Debug, Clone)]
pub struct LoadRequest {
    /// Names the request in a failed assertion and in tables.
    pub label: &'static str,
    pub method: http::Method,
    /// Path and query.
    pub uri: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: Bytes,
}

impl LoadRequest {
    /// A GET of `uri`, with an `Authorization` header when given.
    pub fn get(label: &'static str, uri: &str, authorization: Option<&str>) -> LoadRequest {
        LoadRequest {
            label,
            method: http::Method::GET,
            uri: uri.to_string(),
            headers: authorization
                .map(|a| vec![("authorization", a.to_string())])
                .unwrap_or_default(),
            body: Bytes::new(),
        }
    }
}

/// Send `total` requests over `connections` keep-alive connections to `addr`, each connection
/// cycling through `requests` from its own starting point, every answer read to the end;
/// returns requests per second.
pub async fn load(
    addr: SocketAddr,
    requests: Arc<Vec<LoadRequest>>,
    total: usize,
    connections: usize,
) -> f64 {
    let per = total.div_ceil(connections);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..connections {
        let requests = requests.clone();
        tasks.push(tokio::spawn(async move {
            let stream = TcpStream::connect(addr).await.expect("connect");
            stream.set_nodelay(true).ok();
            let (mut sender, conn) = http1::handshake(TokioIo::new(stream))
                .await
                .expect("handshake");
            tokio::spawn(conn);
            for i in 0..per {
                let r = &requests[(c + i) % requests.len()];
                let mut req = Request::builder()
                    .method(r.method.clone())
                    .uri(r.uri.as_str())
                    .header("host", "localhost");
                for (k, v) in &r.headers {
                    req = req.header(*k, v.as_str());
                }
                let res = sender
                    .send_request(req.body(Full::new(r.body.clone())).expect("request"))
                    .await
                    .expect("response");
                let status = res.status();
                res.into_body().collect().await.expect("body");
                assert!(status.is_success(), "{}: {status}", r.label);
            }
        }));
    }
    for t in tasks {
        t.await.expect("load task");
    }
    (per * connections) as f64 / started.elapsed().as_secs_f64()
}
