//! Throughput and footprint of the front doors, each figure a ratio measured in one run with
//! the same load generator (a hyper HTTP/1 client over N keep-alive connections):
//!
//! - an authorized `GET /api/v2/users` through `FinapiMock` and through `serve`, over a bare
//!   wiremock server answering a static body (goals: >= 0.8 and >= 1.5);
//! - a realistic mix (token grants, banks, accounts, a transactions page, the admin's user list)
//!   through `FinapiMock` and through `serve`, over bare wiremock answering the same bytes
//!   statically for each request of the mix (goal for `serve`: >= 1.5), beside a bare hyper
//!   server answering those bytes (the ceiling: what any front door could reach here), the CPU
//!   time per request of `serve`'s threads, the ceiling's and the load generator's in each
//!   round, and the in-simulator cost of each request of the mix;
//! - the full V2 role matrix against the in-process mock (`runner::run`, default config;
//!   goal < 2 s);
//! - resident memory of a `serve` process after a million requests (goal < 100 MB).
//!
//! Knobs: `BENCH_REQUESTS` (per measured round, default 30000), `BENCH_ROUNDS` (default 5,
//! the median ratio counts), `BENCH_CONNECTIONS` (default 16), `BENCH_RSS_REQUESTS` (default
//! 1000000; 0 skips), `BENCH_MIX_REQUESTS` (per measured mix round, default `BENCH_REQUESTS`;
//! 0 skips the mix), `BENCH_SIM_CALLS` (calls per mix request for the in-simulator cost table,
//! default 2000; 0 skips; `BENCH_SIM_ONLY=LABEL` times one, for a profiler),
//! `BENCH_MIX_ONLY=LABEL` (the mix made of that one request, e.g. `banks`: its own ratio),
//! `BENCH_SERVE_WORKERS` (the `serve` runtime's worker threads, default 2),
//! `BENCH_SKIP_MATRIX=1`. `cargo bench --no-run` only builds it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use finapi_conformance::model::ApiVersion;
use finapi_conformance::runner::{self, CheckConfig, Target};
use finapi_conformance::serve::Server;
use finapi_conformance::sim::Simulator;
use finapi_conformance::world::demo;
use finapi_conformance::{Faults, FinapiMock, World};
use finapi_conformance_test_support::client;
use finapi_conformance_test_support::grant::{sim_token, token_path, Grant};
use finapi_conformance_test_support::Served;
use http_body_util::Full;
use hyper::Request;
use hyper_util::rt::TokioIo;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

mod common;
use common::{knob, load, median, LoadRequest};

const PATH: &str = "/api/v2/users";
/// Thread names, for the CPU each side of a round spends.
const LOADGEN: &str = "loadgen-worker";
const SERVE: &str = "serve-worker";
const CEILING: &str = "ceiling-worker";

/// The mix, in the order one connection cycles through it: per ten requests one client token,
/// one user token (both reused while alive, as finAPI asks), two bank pages, two account lists,
/// three transaction pages and one page of the admin's user list. Tokens are those of `sim`.
fn mix(sim: &Simulator) -> Vec<LoadRequest> {
    let form = "application/x-www-form-urlencoded".to_string();
    let client_grant = Grant::Client(demo::APP_CLIENT).form();
    let user_grant = Grant::Password(demo::APP_CLIENT, demo::USERS[0]).form();
    let admin = sim_token(sim, ApiVersion::V2, Grant::Client(demo::ADMIN_CLIENT));
    let admin = format!("Bearer {admin}");
    let user = format!("Bearer {}", user_token(sim));
    let post = |label, body: &str| LoadRequest {
        label,
        method: http::Method::POST,
        uri: token_path(ApiVersion::V2).into(),
        headers: vec![("content-type", form.clone())],
        body: Bytes::from(body.to_string()),
    };
    let get = |label, uri: &str, auth: &str| LoadRequest {
        label,
        method: http::Method::GET,
        uri: uri.into(),
        headers: vec![("authorization", auth.to_string())],
        body: Bytes::new(),
    };
    let banks = get("banks", "/api/v2/banks?page=1&perPage=20", &user);
    let accounts = get("accounts", "/api/v2/accounts", &user);
    let transactions = get(
        "transactions",
        "/api/v2/transactions?page=1&perPage=20",
        &user,
    );
    let all = vec![
        post("client token", &client_grant),
        banks.clone(),
        accounts.clone(),
        transactions.clone(),
        post("user token", &user_grant),
        banks,
        transactions.clone(),
        accounts,
        get(
            "user list",
            "/api/v2/mandatorAdmin/getUserList?page=1&perPage=20",
            &admin,
        ),
        transactions,
    ];
    match std::env::var("BENCH_MIX_ONLY") {
        Ok(label) => all.into_iter().filter(|r| r.label == label).collect(),
        Err(_) => all,
    }
}

/// Mount on bare wiremock, for every request of `mix`, the exact answer `sim` gives it, as a
/// static body: the floor for the mix.
async fn mount_static_mix(bare: &MockServer, sim: &Simulator, mix: &[LoadRequest]) {
    let mut seen = std::collections::HashSet::new();
    for r in mix {
        let headers: Vec<(&str, &str)> = r.headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let answer = sim.call(r.method.as_str(), &r.uri, &headers, &r.body);
        assert_eq!(answer.status, 200, "{}: {:?}", r.label, answer.json());
        let path_only = r.uri.split('?').next().unwrap_or_default().to_string();
        if seen.insert((r.method.clone(), path_only.clone())) {
            Mock::given(method(r.method.as_str()))
                .and(path(path_only))
                .respond_with(
                    ResponseTemplate::new(200)
                        .set_body_raw(answer.body.to_vec(), "application/json"),
                )
                .mount(bare)
                .await;
        }
    }
}

/// For every path of `mix`, the bytes `sim` answers it with.
fn static_answers(
    sim: &Simulator,
    mix: &[LoadRequest],
) -> std::collections::HashMap<String, Bytes> {
    mix.iter()
        .map(|r| {
            let headers: Vec<(&str, &str)> =
                r.headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let answer = sim.call(r.method.as_str(), &r.uri, &headers, &r.body);
            let path_only = r.uri.split('?').next().unwrap_or_default().to_string();
            (path_only, answer.body)
        })
        .collect()
}

/// In-simulator cost of each distinct request of `mix`, without HTTP: `calls` calls each through
/// `Simulator::call`, in microseconds per call. Tells where the mix's time goes.
fn sim_costs(sim: &Simulator, mix: &[LoadRequest], calls: usize) {
    let mut seen = std::collections::HashSet::new();
    println!("in-simulator cost per request ({calls} calls each):");
    for r in mix {
        let only = std::env::var("BENCH_SIM_ONLY").ok();
        if !seen.insert(r.label) || only.is_some_and(|o| o != r.label) {
            continue;
        }
        let headers: Vec<(&str, &str)> = r.headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let started = Instant::now();
        let mut bytes = 0;
        for _ in 0..calls {
            let answer = sim.call(r.method.as_str(), &r.uri, &headers, &r.body);
            assert_eq!(answer.status, 200, "{}", r.label);
            bytes = answer.body.len();
        }
        let micros = started.elapsed().as_secs_f64() * 1e6 / calls as f64;
        println!("  {:<14} {micros:>7.1} us  ({bytes} bytes)", r.label);
    }
}

fn user_token(sim: &Simulator) -> String {
    let alice = Grant::Password(demo::APP_CLIENT, demo::USERS[0]);
    sim_token(sim, ApiVersion::V2, alice)
}

/// `serve` on a runtime of its own (two workers, as the binary has on this machine), so that
/// it does not share threads with the load generator.
fn serve_on_own_runtime(sim: Simulator) -> (SocketAddr, std::sync::mpsc::Sender<()>) {
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(knob("BENCH_SERVE_WORKERS", 2).max(1))
            .thread_name(SERVE)
            .enable_all()
            .build()
            .expect("serve runtime");
        rt.block_on(async move {
            let server = Server::start(sim, SocketAddr::from(([127, 0, 0, 1], 0)), 1000)
                .await
                .expect("serve starts");
            addr_tx.send(server.addr()).expect("address");
            tokio::task::spawn_blocking(move || stop_rx.recv())
                .await
                .ok();
            server.shutdown().await.ok();
        });
    });
    (addr_rx.recv().expect("serve address"), stop_tx)
}

/// A bare hyper server on a runtime of its own (two workers, as `serve`) that answers each
/// path with fixed bytes and does nothing else: the ceiling of any front door on this machine
/// for the same bytes, so the mix's ratios can be read against what is reachable at all.
fn static_hyper_on_own_runtime(
    answers: std::collections::HashMap<String, Bytes>,
) -> (SocketAddr, std::sync::mpsc::Sender<()>) {
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
    let answers = Arc::new(answers);
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name(CEILING)
            .enable_all()
            .build()
            .expect("ceiling runtime");
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
                .await
                .expect("bind");
            addr_tx
                .send(listener.local_addr().expect("address"))
                .expect("address");
            let accept = async move {
                loop {
                    let Ok((stream, _)) = listener.accept().await else {
                        continue;
                    };
                    stream.set_nodelay(true).ok();
                    let answers = answers.clone();
                    tokio::spawn(async move {
                        let service = hyper::service::service_fn(move |req: Request<_>| {
                            let body = answers.get(req.uri().path()).cloned().unwrap_or_default();
                            async move {
                                let mut res = hyper::Response::new(Full::new(body));
                                res.headers_mut().insert(
                                    "content-type",
                                    http::HeaderValue::from_static("application/json"),
                                );
                                Ok::<_, std::convert::Infallible>(res)
                            }
                        });
                        hyper::server::conn::http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), service)
                            .await
                            .ok();
                    });
                }
            };
            tokio::select! {
                _ = accept => {}
                _ = tokio::task::spawn_blocking(move || stop_rx.recv()) => {}
            }
        });
    });
    (addr_rx.recv().expect("ceiling address"), stop_tx)
}

/// CPU time in seconds that this process's threads named `prefix...` have run (from
/// `/proc/self/task/*/schedstat`, nanoseconds), so a round can tell what one request costs the
/// server and what it costs the load generator.
fn threads_cpu(prefix: &str) -> f64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0.0;
    };
    tasks
        .filter_map(|task| {
            let task = task.ok()?.path();
            let comm = std::fs::read_to_string(task.join("comm")).ok()?;
            if !comm.starts_with(prefix) {
                return None;
            }
            let stat = std::fs::read_to_string(task.join("schedstat")).ok()?;
            stat.split_whitespace().next()?.parse::<f64>().ok()
        })
        .sum::<f64>()
        / 1e9
}

/// Run `load` and return its requests per second with the CPU microseconds per request spent
/// by the threads named `server` and by the load generator's.
async fn load_with_cpu<F: std::future::Future<Output = f64>>(
    server: &str,
    requests: usize,
    load: F,
) -> (f64, f64, f64) {
    let (s0, l0) = (threads_cpu(server), threads_cpu(LOADGEN));
    let rate = load.await;
    let per = |a: f64, b: f64| (b - a) * 1e6 / requests as f64;
    (
        rate,
        per(s0, threads_cpu(server)),
        per(l0, threads_cpu(LOADGEN)),
    )
}

fn rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

async fn rss_after_requests(total: usize, connections: usize) {
    // The same `serve` process the tests drive from outside (the test-support crate's `Served`).
    let served = Served::start(&[]);
    let url = served.url.clone();
    let addr: SocketAddr = url.trim_start_matches("http://").parse().expect("address");
    let token = client::user_token(&url, ApiVersion::V2, demo::APP_CLIENT, demo::USERS[0]).await;
    let auth = format!("Bearer {token}");
    let before = rss_kb(served.child.id()).unwrap_or(0);
    let started = Instant::now();
    let rate = load(addr, users(Some(&auth)), total, connections).await;
    let after = rss_kb(served.child.id()).unwrap_or(0);
    println!(
        "serve process: RSS {:.1} MB after {total} requests ({:.1} MB at start; {rate:.0} req/s, {:.1} s) [goal < 100 MB]",
        after as f64 / 1024.0,
        before as f64 / 1024.0,
        started.elapsed().as_secs_f64()
    );
}

/// The authorized `GET /api/v2/users` the first figures measure (bare wiremock needs no token).
fn users(authorization: Option<&str>) -> Arc<Vec<LoadRequest>> {
    Arc::new(vec![LoadRequest::get("users", PATH, authorization)])
}

fn main() {
    // The load generator's runtime.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(LOADGEN)
        .enable_all()
        .build()
        .expect("runtime");
    let requests = knob("BENCH_REQUESTS", 30_000);
    let rounds = knob("BENCH_ROUNDS", 5).max(1);
    let connections = knob("BENCH_CONNECTIONS", 16).max(1);
    rt.block_on(async {
        // Bare wiremock: a static answer, the floor every front door is compared with.
        let bare = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path(PATH))
            .respond_with(ResponseTemplate::new(200).set_body_raw(
                br#"{"id":"alice","password":"XXXXX","email":null,"phone":null,"isAutoUpdateEnabled":false}"#.to_vec(),
                "application/json",
            ))
            .mount(&bare)
            .await;
        let mock = FinapiMock::start().await;
        let mock_auth = format!("Bearer {}", user_token(mock.simulator()));
        let serve_sim = Simulator::new(&World::demo());
        let serve_auth = format!("Bearer {}", user_token(&serve_sim));
        // A clone shares the state of the simulator `serve` runs, so the mix's tokens are valid.
        let serve_for_mix = serve_sim.clone();
        let (serve_addr, stop_serve) = serve_on_own_runtime(serve_sim);
        let bare_addr = *bare.address();
        let mock_addr = *mock.server().address();

        // Warm up every target, then alternate rounds; the best round of each counts.
        let warm = (requests / 10).max(connections);
        let (bare_get, mock_get, serve_get) = (
            users(None),
            users(Some(&mock_auth)),
            users(Some(&serve_auth)),
        );
        load(bare_addr, bare_get.clone(), warm, connections).await;
        load(mock_addr, mock_get.clone(), warm, connections).await;
        load(serve_addr, serve_get.clone(), warm, connections).await;
        let (mut b, mut m, mut s) = (0f64, 0f64, 0f64);
        let (mut mock_ratios, mut serve_ratios) = (Vec::new(), Vec::new());
        for round in 0..rounds {
            let rb = load(bare_addr, bare_get.clone(), requests, connections).await;
            let rm = load(mock_addr, mock_get.clone(), requests, connections).await;
            let rs = load(serve_addr, serve_get.clone(), requests, connections).await;
            println!(
                "round {round}: bare wiremock {rb:.0} req/s, FinapiMock {rm:.0} req/s ({:.2}x), serve {rs:.0} req/s ({:.2}x)",
                rm / rb,
                rs / rb
            );
            mock_ratios.push(rm / rb);
            serve_ratios.push(rs / rb);
            b = b.max(rb);
            m = m.max(rm);
            s = s.max(rs);
        }
        // Rounds run back to back, so a ratio within one round shares the machine's mood;
        // the median of those ratios is the figure.
        println!("{rounds} rounds of {requests} GET {PATH} over {connections} connections (best req/s, median ratio):");
        println!("  bare wiremock (static body)  {b:>8.0} req/s");
        println!(
            "  FinapiMock (wiremock + sim)  {m:>8.0} req/s  ratio {:.2} [goal >= 0.8]",
            median(&mut mock_ratios)
        );
        println!(
            "  serve (own runtime)          {s:>8.0} req/s  ratio {:.2} [goal >= 1.5]",
            median(&mut serve_ratios)
        );

        let mix_requests = knob("BENCH_MIX_REQUESTS", requests);
        let sim_calls = knob("BENCH_SIM_CALLS", 2_000);
        if sim_calls > 0 {
            let sim = Simulator::new(&World::demo());
            sim_costs(&sim, &mix(&sim), sim_calls);
        }
        if mix_requests > 0 {
            let mock_mix = Arc::new(mix(mock.simulator()));
            let serve_mix = Arc::new(mix(&serve_for_mix));
            let bare_mix = MockServer::start().await;
            // The static answers come from a third simulator, so measuring changes no state
            // the measured targets see.
            let floor = Simulator::new(&World::demo());
            let floor_mix = mix(&floor);
            mount_static_mix(&bare_mix, &floor, &floor_mix).await;
            let bare_mix_addr = *bare_mix.address();
            let (ceiling_addr, stop_ceiling) =
                static_hyper_on_own_runtime(static_answers(&floor, &floor_mix));
            let floor_mix = Arc::new(floor_mix);
            load(bare_mix_addr, floor_mix.clone(), warm, connections).await;
            load(ceiling_addr, floor_mix.clone(), warm, connections).await;
            load(mock_addr, mock_mix.clone(), warm, connections).await;
            load(serve_addr, serve_mix.clone(), warm, connections).await;
            let (mut mock_ratios, mut serve_ratios, mut ceiling_ratios) =
                (Vec::new(), Vec::new(), Vec::new());
            for round in 0..rounds {
                let rb = load(bare_mix_addr, floor_mix.clone(), mix_requests, connections).await;
                let rm = load(mock_addr, mock_mix.clone(), mix_requests, connections).await;
                let (rs, serve_cpu, serve_gen) = load_with_cpu(
                    SERVE,
                    mix_requests,
                    load(serve_addr, serve_mix.clone(), mix_requests, connections),
                )
                .await;
                let (rc, ceiling_cpu, ceiling_gen) = load_with_cpu(
                    CEILING,
                    mix_requests,
                    load(ceiling_addr, floor_mix.clone(), mix_requests, connections),
                )
                .await;
                println!(
                    "mix round {round}: bare wiremock {rb:.0} req/s, FinapiMock {rm:.0} req/s ({:.2}x), serve {rs:.0} req/s ({:.2}x), static hyper {rc:.0} req/s ({:.2}x)",
                    rm / rb,
                    rs / rb,
                    rc / rb
                );
                println!(
                    "  CPU per request: serve {serve_cpu:.1} µs (load generator {serve_gen:.1}), static hyper {ceiling_cpu:.1} µs (load generator {ceiling_gen:.1})"
                );
                mock_ratios.push(rm / rb);
                serve_ratios.push(rs / rb);
                ceiling_ratios.push(rc / rb);
            }
            let _ = stop_ceiling.send(());
            println!(
                "{rounds} rounds of {mix_requests} mixed requests (tokens, banks, accounts, transactions, user list) over {connections} connections (median ratio over bare wiremock):"
            );
            println!("  FinapiMock    ratio {:.2}", median(&mut mock_ratios));
            println!(
                "  serve         ratio {:.2} [goal >= 1.5]",
                median(&mut serve_ratios)
            );
            println!(
                "  static hyper  ratio {:.2} (the same bytes from a bare hyper server: the ceiling)",
                median(&mut ceiling_ratios)
            );
        }
        let _ = stop_serve.send(());

        if std::env::var("BENCH_SKIP_MATRIX").is_err() {
            let config = CheckConfig::new(
                Target::InProcess {
                    faults: Faults::none(),
                },
                ApiVersion::V2,
            );
            let started = Instant::now();
            let report = runner::run(&config).await.expect("matrix run");
            let took = started.elapsed();
            println!(
                "V2 role matrix in-process: {} checks in {:.2} s [goal < 2 s]",
                report.results.len(),
                took.as_secs_f64()
            );
        }

        let rss_requests = knob("BENCH_RSS_REQUESTS", 1_000_000);
        if rss_requests > 0 {
            rss_after_requests(rss_requests, connections).await;
        }
    });
}
