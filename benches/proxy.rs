//! The proxy's cost, each figure measured in one run:
//!
//! - pass-through throughput: an authorized `GET /api/v2/users` (a known user's token, so every
//!   call is routed, identified and judged) through `proxy` in front of `serve`, over the same
//!   requests straight to `serve`, as a ratio (median of `BENCH_ROUNDS`);
//! - memory with a large answer: the peak resident memory the process gains while a
//!   `BENCH_LARGE_MB` (default 256) MiB answer streams through the proxy from a bare upstream.
//!
//! Knobs: `BENCH_REQUESTS` (per round, default 5000), `BENCH_ROUNDS` (default 3),
//! `BENCH_CONNECTIONS` (default 8), `BENCH_LARGE_MB` (0 skips).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use finapi_conformance::proxy::{Proxy, ProxyConfig};
use finapi_conformance::runner::Credentials;
use finapi_conformance::runner::Limits;
use finapi_conformance::serve::Server;
use finapi_conformance::sim::Simulator;
use finapi_conformance::world::demo;
use finapi_conformance::ApiVersion::V2;
use finapi_conformance::World;
use finapi_conformance_test_support::client::user_token;
use http_body_util::StreamBody;
use hyper::body::Frame;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

mod common;
use common::{knob, load, median, LoadRequest};

/// (current, peak) resident memory in KiB.
fn rss() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// A bare upstream answering every request with `mb` MiB in 64 KiB chunks of one shared buffer.
async fn large_upstream(mb: usize) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let chunk = Bytes::from(vec![b'x'; 64 * 1024]);
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let chunk = chunk.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |_req| {
                    let chunk = chunk.clone();
                    async move {
                        let n = mb * 16;
                        let stream = futures::stream::iter(
                            (0..n)
                                .map(move |_| Ok::<_, std::io::Error>(Frame::data(chunk.clone()))),
                        );
                        Ok::<_, std::io::Error>(hyper::Response::new(StreamBody::new(stream)))
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    addr
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let requests = knob("BENCH_REQUESTS", 5000);
    let rounds = knob("BENCH_ROUNDS", 3).max(1);
    let connections = knob("BENCH_CONNECTIONS", 8).max(1);
    let large = knob("BENCH_LARGE_MB", 256);

    if large > 0 {
        let upstream = large_upstream(large).await;
        let mut config = ProxyConfig::new(format!("http://{upstream}"), Credentials::demo());
        config.limits = Limits::local();
        let proxy = Proxy::start(config).await.unwrap();
        // Reset the peak, then stream the answer through the proxy and drop it as it comes.
        let _ = std::fs::write("/proc/self/clear_refs", "5");
        let (before, _) = rss();
        let started = Instant::now();
        let mut resp = reqwest::get(format!("{}/big", proxy.uri())).await.unwrap();
        let mut total = 0usize;
        while let Some(c) = resp.chunk().await.unwrap() {
            total += c.len();
        }
        let secs = started.elapsed().as_secs_f64();
        let (_, peak) = rss();
        assert_eq!(total, large * 1024 * 1024);
        println!(
            "large answer: {large} MiB streamed through the proxy in {secs:.2}s ({:.0} MiB/s); resident memory before {} MiB, peak gain {:.1} MiB",
            large as f64 / secs,
            before / 1024,
            peak.saturating_sub(before) as f64 / 1024.0
        );
        proxy.finish().await;
    }

    let world = World::demo();
    let server = Server::start(
        Simulator::new(&world),
        SocketAddr::from(([127, 0, 0, 1], 0)),
        0,
    )
    .await
    .unwrap();
    let mut config = ProxyConfig::new(server.uri(), Credentials::demo());
    config.limits = Limits::local();
    let proxy = Proxy::start(config).await.unwrap();
    // A user token obtained through the proxy, so it knows whose it is.
    let token = user_token(&proxy.uri(), V2, demo::APP_CLIENT, demo::USERS[0]).await;
    let auth = format!("Bearer {token}");
    let users = Arc::new(vec![LoadRequest::get(
        "users",
        "/api/v2/users",
        Some(&auth),
    )]);
    // Warm-up.
    load(server.addr(), users.clone(), 500, connections).await;
    load(proxy.addr(), users.clone(), 500, connections).await;
    let mut ratios = Vec::new();
    for round in 0..rounds {
        let direct = load(server.addr(), users.clone(), requests, connections).await;
        let through = load(proxy.addr(), users.clone(), requests, connections).await;
        let ratio = through / direct;
        println!(
            "round {round}: direct {direct:.0} req/s, through the proxy {through:.0} req/s, ratio {ratio:.2}"
        );
        ratios.push(ratio);
    }
    let report = proxy.finish().await;
    println!(
        "pass-through ratio (median of {rounds}): {:.2} of a direct connection to serve ({} calls judged, {} violations)",
        median(&mut ratios),
        report.calls,
        report.report.summary().violations
    );
    server.shutdown().await.unwrap();
}
