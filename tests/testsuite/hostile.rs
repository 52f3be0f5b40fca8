//! The hostile-target suite: the `check` binary, run as a user runs it, against targets that
//! misbehave the way real ones do: redirects to another origin, huge and endless bodies,
//! drip-fed answers, garbage instead of HTTP, connections cut or reset mid-answer, TLS with a
//! certificate nobody trusts, plain http to a remote host, a proxy. Every hostile server is a
//! tokio listener on 127.0.0.1 in this process; most pass requests on to the crate's own
//! `serve` and misbehave only on chosen paths. Each case asserts exact verdicts and exit codes,
//! and the runs that see huge answers assert the binary's peak resident memory.
#![cfg(unix)]

use std::io::Read as _;
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use finapi_conformance::serve::Server;
use finapi_conformance::world::demo;
use finapi_conformance::{Simulator, World};
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::common::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_finapi-conformance");

/// 1.5 GB: the answer size of the issue.
const HUGE: u64 = 1_500_000_000;

/// Peak resident memory the runner may reach, whatever the target sends.
const RSS_LIMIT_KIB: u64 = 256 * 1024;

/// The default body cap, as the reasons name it.
const CAP: u64 = 16 * 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// Hostile servers
// ---------------------------------------------------------------------------------------------

/// What a hostile front does with one request.
#[derive(Clone, Debug)]
enum Act {
    /// Pass it on to the faithful target.
    Forward,
    /// Answer `status` with this `Location`.
    Redirect { status: u16, location: String },
    /// 200 with `len` bytes of body: announced in Content-Length, or read until the close.
    Huge { len: u64, announce: bool },
    /// 200 with a 1000-byte body, one byte every `every`.
    DripBody { every: Duration },
    /// The status line and headers, one byte every `every`.
    DripHead { every: Duration },
    /// Not HTTP at all.
    Garbage,
    /// Headers and part of the body, then the connection closes (FIN).
    CutMidAnswer,
    /// Headers and part of the body, then the connection is reset (RST).
    ResetMidAnswer,
}

/// Decides per request (method, path with query, body) what to do.
type Policy = Arc<dyn Fn(&Request) -> Act + Send + Sync>;

/// One request as read from a client.
struct Request {
    method: String,
    path: String,
    /// The head to pass on, with `Connection: close` (one request per connection, so every
    /// request passes through the policy).
    head: Vec<u8>,
    body: Vec<u8>,
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

async fn read_request<S: AsyncRead + Unpin>(s: &mut S) -> Option<Request> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let end = loop {
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > 64 * 1024 {
            return None;
        }
        let n = s.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let text = String::from_utf8_lossy(&buf[..end]).into_owned();
    let mut first = text.split("\r\n").next()?.split(' ');
    let method = first.next()?.to_string();
    let path = first.next()?.to_string();
    let len = text
        .split("\r\n")
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = buf[end..].to_vec();
    while body.len() < len {
        let n = s.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    let mut head = String::new();
    for (i, line) in text.trim_end_matches("\r\n").split("\r\n").enumerate() {
        if i > 0 && line.to_ascii_lowercase().starts_with("connection:") {
            continue;
        }
        head.push_str(line);
        head.push_str("\r\n");
    }
    head.push_str("Connection: close\r\n\r\n");
    Some(Request {
        method,
        path,
        head: head.into_bytes(),
        body,
    })
}

/// Pass `req` on to `backend` and copy its answer back.
async fn forward<S: AsyncWrite + Unpin>(client: &mut S, backend: SocketAddr, req: &Request) {
    let Ok(mut b) = TcpStream::connect(backend).await else {
        return;
    };
    if b.write_all(&req.head).await.is_err() || b.write_all(&req.body).await.is_err() {
        return;
    }
    let _ = tokio::io::copy(&mut b, client).await;
    let _ = client.shutdown().await;
}

/// Bytes the hostile fronts wrote in huge answers (to show how much the runner was offered).
static HUGE_BYTES_SENT: AtomicU64 = AtomicU64::new(0);

async fn serve_plain(mut s: TcpStream, backend: SocketAddr, policy: Policy) {
    let Some(req) = read_request(&mut s).await else {
        return;
    };
    match policy(&req) {
        Act::Forward => forward(&mut s, backend, &req).await,
        Act::Redirect { status, location } => {
            let head = format!(
                "HTTP/1.1 {status} Moved\r\nLocation: {location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
            let _ = s.write_all(head.as_bytes()).await;
            let _ = s.shutdown().await;
        }
        Act::Huge { len, announce } => {
            let head = if announce {
                format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n")
            } else {
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n"
                    .to_string()
            };
            if s.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            let block = vec![b' '; 1 << 20];
            let mut sent = 0u64;
            while sent < len {
                let n = (len - sent).min(block.len() as u64) as usize;
                if s.write_all(&block[..n]).await.is_err() {
                    break;
                }
                sent += n as u64;
            }
            HUGE_BYTES_SENT.fetch_add(sent, Ordering::Relaxed);
            let _ = s.shutdown().await;
        }
        Act::DripBody { every } => {
            let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\nConnection: close\r\n\r\n";
            if s.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            for _ in 0..1000 {
                if s.write_all(b" ").await.is_err() || s.flush().await.is_err() {
                    return;
                }
                tokio::time::sleep(every).await;
            }
        }
        Act::DripHead { every } => {
            let head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\nContent-Length: 2\r\n\r\n{}";
            for byte in head {
                if s.write_all(&[*byte]).await.is_err() || s.flush().await.is_err() {
                    return;
                }
                tokio::time::sleep(every).await;
            }
        }
        Act::Garbage => {
            let _ = s
                .write_all(b"SSH-2.0-OpenSSH_9.6\r\n\x00\x01\x02\xff not HTTP at all\r\n\r\n")
                .await;
            let _ = s.shutdown().await;
        }
        Act::CutMidAnswer => {
            let _ = s
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n{\"accounts\":[")
                .await;
            let _ = s.shutdown().await;
        }
        Act::ResetMidAnswer => {
            let _ = s
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n{\"accounts\":[")
                .await;
            let _ = s.flush().await;
            // SO_LINGER 0: closing sends RST instead of FIN (no blocking with a zero linger).
            #[allow(deprecated)]
            let _ = s.set_linger(Some(Duration::ZERO));
            drop(s);
        }
    }
}

/// The faithful target: the crate's `serve` on a free loopback port.
async fn backend() -> Server {
    Server::start(
        Simulator::new(&World::demo()),
        SocketAddr::from(([127, 0, 0, 1], 0)),
        0,
    )
    .await
    .expect("serve starts")
}

/// A front on a free loopback port that applies `policy` to every request (bound before it is
/// returned, so a run may start at once).
async fn front(backend: SocketAddr, policy: Policy) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        for _ in 0..1_000_000 {
            let Ok((s, _)) = listener.accept().await else {
                break;
            };
            tokio::spawn(serve_plain(s, backend, policy.clone()));
        }
    });
    addr
}

/// Where redirects point: it must never hear from the runner.
struct Collector {
    addr: SocketAddr,
    seen: Arc<AtomicUsize>,
}

async fn collector() -> Collector {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let seen = Arc::new(AtomicUsize::new(0));
    let count = seen.clone();
    tokio::spawn(async move {
        for _ in 0..1_000_000 {
            let Ok((mut s, _)) = listener.accept().await else {
                break;
            };
            count.fetch_add(1, Ordering::Relaxed);
            tokio::spawn(async move {
                let mut sink = vec![0u8; 8192];
                while matches!(s.read(&mut sink).await, Ok(n) if n > 0) {}
            });
        }
    });
    Collector { addr, seen }
}

/// A TLS front with a fresh self-signed certificate for `localhost`, passing every request on
/// to `backend`; returns its address and the certificate's PEM.
async fn tls_front(backend: SocketAddr) -> (SocketAddr, String) {
    use tokio_rustls::rustls;
    let key = rcgen::generate_simple_self_signed(vec!["localhost".to_string()])
        .expect("self-signed certificate");
    let pem = key.cert.pem();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("protocol versions")
    .with_no_client_auth()
    .with_single_cert(
        vec![key.cert.der().clone()],
        rustls::pki_types::PrivateKeyDer::Pkcs8(key.signing_key.serialize_der().into()),
    )
    .expect("server config");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        for _ in 0..1_000_000 {
            let Ok((s, _)) = listener.accept().await else {
                break;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(s).await else {
                    return;
                };
                if let Some(req) = read_request(&mut tls).await {
                    forward(&mut tls, backend, &req).await;
                }
            });
        }
    });
    (addr, pem)
}

/// An HTTP CONNECT proxy that tunnels to any loopback port and counts the tunnels it opened.
async fn connect_proxy() -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let tunnels = Arc::new(AtomicUsize::new(0));
    let count = tunnels.clone();
    tokio::spawn(async move {
        for _ in 0..1_000_000 {
            let Ok((mut s, _)) = listener.accept().await else {
                break;
            };
            let count = count.clone();
            tokio::spawn(async move {
                let Some(req) = read_request(&mut s).await else {
                    return;
                };
                // CONNECT localhost:PORT: only to this machine.
                let port = req
                    .path
                    .rsplit(':')
                    .next()
                    .and_then(|p| p.parse::<u16>().ok());
                let (true, Some(port)) = (req.method == "CONNECT", port) else {
                    return;
                };
                let Ok(mut up) = TcpStream::connect(("127.0.0.1", port)).await else {
                    return;
                };
                count.fetch_add(1, Ordering::Relaxed);
                if s.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    .await
                    .is_ok()
                {
                    let _ = tokio::io::copy_bidirectional(&mut s, &mut up).await;
                }
            });
        }
    });
    (addr, tunnels)
}

// ---------------------------------------------------------------------------------------------
// Running the binary
// ---------------------------------------------------------------------------------------------

/// A finished `check` process.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
    /// Peak resident memory of the process (ru_maxrss), KiB.
    peak_rss_kib: u64,
    elapsed: Duration,
}

impl Run {
    fn report(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "no JSON report ({e}); exit {}; stderr: {}",
                self.code, self.stderr
            )
        })
    }
    fn results(&self) -> Vec<Value> {
        self.report()["results"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
    /// The one line on stderr.
    fn error_line(&self) -> &str {
        let lines: Vec<&str> = self.stderr.lines().filter(|l| !l.is_empty()).collect();
        assert_eq!(lines.len(), 1, "one line on stderr, got: {}", self.stderr);
        lines[0]
    }
}

/// Run the binary with `args`, with only the demo world's credentials (and `env`) in its
/// environment: no proxy or FINAPI_* variable of the caller leaks in. Killed after `limit`.
async fn run_bin(args: Vec<String>, env: Vec<(String, String)>, limit: Duration) -> Run {
    tokio::task::spawn_blocking(move || run_blocking(&args, &env, limit))
        .await
        .expect("runner thread")
}

/// The peak resident memory of process `pid` so far (`VmHWM`), KiB; `None` once it is gone.
fn vm_hwm_kib(pid: libc::pid_t) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn run_blocking(args: &[String], env: &[(String, String)], limit: Duration) -> Run {
    let started = Instant::now();
    let mut cmd = Command::new(BIN);
    cmd.args(args).env_clear();
    for (name, (id, secret)) in [
        ("APP_CLIENT", demo::APP_CLIENT),
        ("APP_CLIENT2", demo::APP_CLIENT2),
        ("ADMIN_CLIENT", demo::ADMIN_CLIENT),
        ("OTHER_APP_CLIENT", demo::OTHER_APP_CLIENT),
    ] {
        cmd.env(format!("FINAPI_{name}_ID"), id)
            .env(format!("FINAPI_{name}_SECRET"), secret);
    }
    cmd.envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    // Reaped with waitpid below (after the memory poller is done with its pid), not with
    // `Child::wait`.
    #[allow(clippy::zombie_processes)]
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let pid = child.id() as libc::pid_t;
    let (done, watchdog) = std::sync::mpsc::channel::<()>();
    // Reads the child's peak memory (VmHWM) while it runs, and kills it after `limit`. Not
    // ru_maxrss: a child spawned from this (large) test process starts its count from the
    // parent's memory, whatever the child itself uses.
    let killer = std::thread::spawn(move || {
        let mut peak_kib = 0;
        let deadline = Instant::now() + limit;
        loop {
            if let Some(kib) = vm_hwm_kib(pid) {
                peak_kib = peak_kib.max(kib);
            }
            match watchdog.recv_timeout(Duration::from_millis(5)) {
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) if Instant::now() < deadline => {}
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                    // SAFETY: the child is not reaped before `done` is sent, so `pid` is
                    // still ours.
                    unsafe { libc::kill(pid, libc::SIGKILL) };
                    break;
                }
                _ => break,
            }
        }
        peak_kib
    });
    let mut status = 0;
    // SAFETY: waits for our own child; `status` is valid for writes.
    let reaped = unsafe { libc::waitpid(pid, &mut status, 0) };
    let _ = done.send(());
    let polled_peak_kib = killer.join().unwrap_or(0);
    assert_eq!(reaped, pid, "waitpid reaps the binary");
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    Run {
        code,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
        peak_rss_kib: polled_peak_kib,
        elapsed: started.elapsed(),
    }
}

/// `check --base-url URL --format json ...`: fast pacing, no retries unless `extra` says.
fn check_args(url: &str, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "check",
        "--base-url",
        url,
        "--format",
        "json",
        "--rate",
        "0",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

fn by_id(path: &str) -> bool {
    path.starts_with("/api/v2/accounts/") || path.starts_with("/api/v2/banks/")
}

/// Results of the checks whose operation addresses one account or one bank (the reads the
/// fronts misbehave on).
fn checks_by_id(results: &[Value]) -> Vec<&Value> {
    results
        .iter()
        .filter(|r| by_id(r["path"].as_str().unwrap_or_default()))
        .collect()
}

/// [`checks_by_id`] that were sent (not skipped).
fn sent_by_id(results: &[Value]) -> Vec<&Value> {
    checks_by_id(results)
        .into_iter()
        .filter(|r| verdict(r) != "skipped")
        .collect()
}

/// `check` through the hostile front at `addr`, with `extra` flags, within five minutes.
async fn check_through(addr: SocketAddr, extra: &[&str]) -> Run {
    let url = format!("http://127.0.0.1:{}", addr.port());
    run_bin(check_args(&url, extra), vec![], Duration::from_secs(300)).await
}

fn verdict(r: &Value) -> &str {
    r["verdict"].as_str().unwrap_or_default()
}
fn reason(r: &Value) -> &str {
    r["reason"].as_str().unwrap_or_default()
}

fn count(results: &[Value], v: &str) -> usize {
    results.iter().filter(|r| verdict(r) == v).count()
}

// ---------------------------------------------------------------------------------------------
// Redirects
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_of_the_token_endpoint_or_in_set_up_stops_the_run_and_nothing_reaches_its_target(
) {
    let server = backend().await;
    let collector = collector().await;
    let elsewhere = format!("http://127.0.0.1:{}", collector.addr.port());
    // The token endpoint, with each redirect status; then a read the set-up makes.
    let cases: Vec<(u16, &str, &str)> = vec![
        (301, "POST", "/api/v2/oauth/token"),
        (302, "POST", "/api/v2/oauth/token"),
        (307, "POST", "/api/v2/oauth/token"),
        (308, "POST", "/api/v2/oauth/token"),
        (307, "GET", "/api/v2/accounts"),
    ];
    for (status, method, path) in cases {
        let location = format!("{elsewhere}{path}");
        let (m, p) = (method.to_string(), path.to_string());
        let policy: Policy = Arc::new(move |req: &Request| {
            if req.method == m && req.path.split('?').next() == Some(p.as_str()) {
                Act::Redirect {
                    status,
                    location: location.clone(),
                }
            } else {
                Act::Forward
            }
        });
        let addr = front(server.addr(), policy).await;
        let run = run_bin(
            check_args(&format!("http://127.0.0.1:{}", addr.port()), &[]),
            vec![],
            Duration::from_secs(120),
        )
        .await;
        assert_eq!(run.code, 2, "{status} on {method} {path}: {}", run.stderr);
        assert_eq!(
            run.error_line(),
            format!(
                "error: set-up stopped: {method} {path}: redirected to {elsewhere} ({status}, not followed); the runner never follows redirects: check --base-url"
            )
        );
        assert!(run.stdout.is_empty(), "no report: {}", run.stdout);
    }
    assert_eq!(
        collector.seen.load(Ordering::Relaxed),
        0,
        "the redirect target received connections"
    );
    server.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirected_probes_are_inconclusive_never_a_pass_or_a_violation() {
    let server = backend().await;
    let collector = collector().await;
    let elsewhere = format!("http://127.0.0.1:{}", collector.addr.port());
    let turn = Arc::new(AtomicUsize::new(0));
    let target = elsewhere.clone();
    // Every request for one account or one bank goes elsewhere, with each status in turn.
    let policy: Policy = Arc::new(move |req: &Request| {
        let path = req.path.as_str();
        if by_id(path) {
            let status = [301, 302, 307, 308][turn.fetch_add(1, Ordering::Relaxed) % 4];
            Act::Redirect {
                status,
                location: format!("{target}{path}"),
            }
        } else {
            Act::Forward
        }
    });
    let addr = front(server.addr(), policy).await;
    let run = check_through(addr, &["--retries", "0"]).await;
    assert_eq!(run.code, 0, "no violation: {}", run.stderr);
    let results = run.results();
    let redirected = checks_by_id(&results);
    let sent: Vec<&&Value> = redirected
        .iter()
        .filter(|r| verdict(r) != "skipped")
        .collect();
    assert!(sent.len() >= 20, "{} redirected probes", sent.len());
    for r in &sent {
        assert_eq!(verdict(r), "inconclusive", "{r}");
        assert!(
            reason(r).starts_with(&format!("redirected to {elsewhere} (")),
            "{r}"
        );
        assert_eq!(r["observed_status"], Value::Null, "{r}");
    }
    for status in [301, 302, 307, 308] {
        assert!(
            sent.iter()
                .any(|r| reason(r).contains(&format!("({status}, not followed)"))),
            "no probe saw {status}"
        );
    }
    assert_eq!(count(&results, "violation"), 0);
    assert_eq!(collector.seen.load(Ordering::Relaxed), 0);
    eprintln!(
        "redirected probes: {} inconclusive, 0 passes, 0 violations; the collector saw {} connections; {} checks in all",
        sent.len(),
        collector.seen.load(Ordering::Relaxed),
        results.len()
    );
    server.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lifecycle_scenario_that_met_a_redirect_is_inconclusive() {
    let server = backend().await;
    let collector = collector().await;
    let elsewhere = format!("http://127.0.0.1:{}", collector.addr.port());
    let target = elsewhere.clone();
    // The unverified user's login (run users of tag `n`) goes elsewhere: without an answer,
    // "refused" cannot be told from "never asked".
    let unverified = regex::Regex::new(r"username=fc-[0-9a-f]{8}-n[0-9]").expect("regex");
    let policy: Policy = Arc::new(move |req: &Request| {
        if req.path.ends_with("/oauth/token")
            && unverified.is_match(&String::from_utf8_lossy(&req.body))
        {
            Act::Redirect {
                status: 307,
                location: format!("{target}/api/v2/oauth/token"),
            }
        } else {
            Act::Forward
        }
    });
    let addr = front(server.addr(), policy).await;
    let run = run_bin(
        check_args(
            &format!("http://127.0.0.1:{}", addr.port()),
            &[
                "--only",
                "lifecycle:unverified-user-refused",
                "--retries",
                "0",
            ],
        ),
        vec![],
        Duration::from_secs(120),
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let results = run.results();
    assert_eq!(results.len(), 1, "{}", run.stdout);
    assert_eq!(verdict(&results[0]), "inconclusive", "{}", results[0]);
    assert_eq!(
        reason(&results[0]),
        format!("redirected to {elsewhere} (307, not followed)")
    );
    assert_eq!(collector.seen.load(Ordering::Relaxed), 0);
    server.shutdown().await.expect("shutdown");
}

// ---------------------------------------------------------------------------------------------
// Huge, endless and slow answers
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_and_endless_answers_are_cut_at_the_cap_and_memory_stays_bounded() {
    let server = backend().await;
    let turn = Arc::new(AtomicUsize::new(0));
    // Every read of one account or bank answers 1.5 GB: announced, or streamed until the close.
    let policy: Policy = Arc::new(move |req: &Request| {
        let path = req.path.as_str();
        if by_id(path) {
            Act::Huge {
                len: HUGE,
                announce: turn.fetch_add(1, Ordering::Relaxed) % 2 == 0,
            }
        } else {
            Act::Forward
        }
    });
    let addr = front(server.addr(), policy).await;
    // Default concurrency and body cap.
    let run = check_through(addr, &["--retries", "0", "--no-lifecycle"]).await;
    assert_eq!(run.code, 0, "no violation: {}", run.stderr);
    let results = run.results();
    let oversized: Vec<&Value> = sent_by_id(&results);
    assert!(
        oversized.len() >= 20,
        "{} oversized answers",
        oversized.len()
    );
    for r in &oversized {
        assert_eq!(verdict(r), "inconclusive", "{r}");
        assert_eq!(
            reason(r),
            format!("answer larger than {CAP} bytes (--max-body-bytes): connection dropped")
        );
    }
    assert_eq!(count(&results, "violation"), 0);
    eprintln!(
        "huge answers: {} checks got 1.5 GB answers ({} MB offered in all), all inconclusive; peak RSS {} MiB in {:.1}s",
        oversized.len(),
        HUGE_BYTES_SENT.load(Ordering::Relaxed) / 1_000_000,
        run.peak_rss_kib / 1024,
        run.elapsed.as_secs_f64()
    );
    assert!(
        run.peak_rss_kib > 0 && run.peak_rss_kib < RSS_LIMIT_KIB,
        "peak RSS {} KiB",
        run.peak_rss_kib
    );
    server.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_token_answer_stops_the_set_up_with_bounded_memory() {
    let server = backend().await;
    let policy: Policy = Arc::new(|req: &Request| {
        let path = req.path.as_str();
        if path.starts_with("/api/v2/oauth/token") {
            Act::Huge {
                len: HUGE,
                announce: false,
            }
        } else {
            Act::Forward
        }
    });
    let addr = front(server.addr(), policy).await;
    let run = run_bin(
        check_args(&format!("http://127.0.0.1:{}", addr.port()), &[]),
        vec![],
        Duration::from_secs(120),
    )
    .await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(
        run.error_line(),
        format!("error: set-up stopped: POST /api/v2/oauth/token: answer larger than {CAP} bytes (--max-body-bytes): connection dropped")
    );
    eprintln!(
        "endless token answer: peak RSS {} MiB",
        run.peak_rss_kib / 1024
    );
    assert!(
        run.peak_rss_kib > 0 && run.peak_rss_kib < RSS_LIMIT_KIB,
        "{} KiB",
        run.peak_rss_kib
    );
    // A lower cap applies as given.
    let run = run_bin(
        check_args(
            &format!("http://127.0.0.1:{}", addr.port()),
            &["--max-body-bytes", "1000"],
        ),
        vec![],
        Duration::from_secs(120),
    )
    .await;
    assert_eq!(run.code, 2);
    assert!(
        run.error_line()
            .ends_with("answer larger than 1000 bytes (--max-body-bytes): connection dropped"),
        "{}",
        run.stderr
    );
    server.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drip_fed_answers_are_cut_at_the_request_timeout() {
    let server = backend().await;
    // A body of one byte per 50 ms (50 s in all) on the banks, headers as slowly on the
    // accounts; the run allows 2 s per request.
    let policy: Policy = Arc::new(|req: &Request| {
        let path = req.path.as_str();
        if path.starts_with("/api/v2/banks/") {
            Act::DripBody {
                every: Duration::from_millis(50),
            }
        } else if path.starts_with("/api/v2/accounts/") {
            Act::DripHead {
                every: Duration::from_millis(50),
            }
        } else {
            Act::Forward
        }
    });
    let addr = front(server.addr(), policy).await;
    // A `*.localhost` name: loopback without DNS, so plain http is allowed and stays here.
    let url = format!("http://hostile-target.localhost:{}", addr.port());
    let run = run_bin(
        check_args(
            &url,
            &[
                "--retries",
                "0",
                "--no-lifecycle",
                "--timeout",
                "2",
                "--concurrency",
                "64",
            ],
        ),
        vec![],
        Duration::from_secs(300),
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let results = run.results();
    let slow: Vec<&Value> = sent_by_id(&results);
    assert!(slow.len() >= 20, "{} drip-fed answers", slow.len());
    for r in &slow {
        assert_eq!(verdict(r), "inconclusive", "{r}");
        assert!(reason(r).starts_with("timeout: "), "{r}");
        let latency = r["latency_ms"].as_u64().unwrap_or(u64::MAX);
        assert!((1_900..5_000).contains(&latency), "cut at 2 s: {r}");
    }
    assert_eq!(count(&results, "violation"), 0);
    server.shutdown().await.expect("shutdown");
}

// ---------------------------------------------------------------------------------------------
// Broken answers
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_and_answers_cut_or_reset_midway_are_inconclusive() {
    let server = backend().await;
    let turn = Arc::new(AtomicUsize::new(0));
    // Garbage on the banks; on the accounts, answers cut (FIN) and reset (RST) in turn.
    let policy: Policy = Arc::new(move |req: &Request| {
        let path = req.path.as_str();
        if path.starts_with("/api/v2/banks/") {
            Act::Garbage
        } else if path.starts_with("/api/v2/accounts/") {
            if turn.fetch_add(1, Ordering::Relaxed) % 2 == 0 {
                Act::CutMidAnswer
            } else {
                Act::ResetMidAnswer
            }
        } else {
            Act::Forward
        }
    });
    let addr = front(server.addr(), policy).await;
    let run = check_through(addr, &["--retries", "0", "--no-lifecycle"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let results = run.results();
    let broken: Vec<&Value> = sent_by_id(&results);
    assert!(broken.len() >= 20);
    let base = format!("http://127.0.0.1:{}", addr.port());
    for r in &broken {
        assert_eq!(verdict(r), "inconclusive", "{r}");
        let path = r["path"].as_str().unwrap_or_default();
        let why = reason(r);
        if path.starts_with("/api/v2/banks/") {
            assert_eq!(why, format!("request failed: {base}"), "{r}");
        } else {
            // A FIN after part of the body; a RST may also arrive before the head is read.
            assert!(
                why == format!("connection lost mid-answer: {base}")
                    || why == format!("request failed: {base}"),
                "{r}"
            );
        }
    }
    assert!(
        broken
            .iter()
            .any(|r| reason(r).starts_with("connection lost mid-answer")),
        "no answer was cut mid-body"
    );
    assert_eq!(count(&results, "violation"), 0);
    server.shutdown().await.expect("shutdown");
}

// ---------------------------------------------------------------------------------------------
// Transport security
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_to_a_host_that_is_not_loopback_is_refused_before_any_connection() {
    // 10.255.255.1 does not answer: a connection attempt would hang until the connect timeout.
    for url in [
        "http://staging.example.com",
        "http://10.255.255.1:8080",
        "http://[2001:db8::1]:8080",
        "http://localhost.example.com",
    ] {
        for args in [
            check_args(url, &[]),
            vec![
                "diff".into(),
                "--base-url".into(),
                "mock".into(),
                "--against".into(),
                url.into(),
            ],
            vec!["features".into(), "--base-url".into(), url.into()],
        ] {
            let run = run_bin(args.clone(), vec![], Duration::from_secs(60)).await;
            assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
            let line = run.error_line();
            assert!(
                line.contains(&format!("refusing `{url}`: credentials go only over https, except to loopback (127.0.0.0/8, ::1, localhost)")),
                "{args:?}: {line}"
            );
            assert!(line.contains("--allow-plain-http"), "{line}");
            assert!(
                run.elapsed < Duration::from_secs(5),
                "{args:?} took {:?}",
                run.elapsed
            );
        }
    }
    // With the opt-in the URL is accepted, and the run fails only at the connection (a closed
    // port on another loopback address stands in for the private test host).
    let run = run_bin(
        check_args(
            "http://127.0.0.2:9",
            &["--allow-plain-http", "--retries", "0"],
        ),
        vec![],
        Duration::from_secs(60),
    )
    .await;
    assert_eq!(run.code, 2);
    assert!(
        run.error_line()
            .contains("connection failed: http://127.0.0.2:9"),
        "{}",
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_self_signed_target_is_refused_without_its_ca_and_works_with_it() {
    let server = backend().await;
    let (addr, pem) = tls_front(server.addr()).await;
    let url = format!("https://localhost:{}", addr.port());
    let tmp = TempDir::new("hostile-ca");
    let ca = tmp.file("ca.pem", &pem);
    let quick = ["--no-lifecycle", "--only", "Accounts", "--retries", "0"];

    let run = run_bin(check_args(&url, &quick), vec![], Duration::from_secs(120)).await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    let line = run.error_line();
    assert!(
        line.starts_with(&format!("error: cannot get a token for the app client (FINAPI_APP_CLIENT_ID) (status 0, connection failed: {url} (")),
        "{line}"
    );
    assert!(line.contains("certificate"), "says why: {line}");

    let mut with_ca = quick.to_vec();
    with_ca.extend(["--ca-cert", ca.to_str().expect("utf-8 path")]);
    let run = run_bin(check_args(&url, &with_ca), vec![], Duration::from_secs(120)).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let results = run.results();
    assert!(count(&results, "pass") > 10, "{}", run.stdout);
    assert_eq!(count(&results, "violation"), 0);
    assert_eq!(count(&results, "inconclusive"), 0);

    // The variable takes a path list; an unrelated CA first changes nothing.
    let other =
        rcgen::generate_simple_self_signed(vec!["other.test".to_string()]).expect("certificate");
    let other = tmp.file("other.pem", &other.cert.pem());
    let list = std::env::join_paths([&other, &ca]).expect("path list");
    let run = run_bin(
        check_args(&url, &quick),
        vec![("FINAPI_CA_CERT".into(), list.to_string_lossy().into_owned())],
        Duration::from_secs(120),
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);

    // A file that is not a certificate is a one-line error before anything is sent.
    let bad = tmp.file("not-a-cert.pem", "hello");
    let mut with_bad = quick.to_vec();
    with_bad.extend(["--ca-cert", bad.to_str().expect("utf-8 path")]);
    let run = run_bin(check_args(&url, &with_bad), vec![], Duration::from_secs(60)).await;
    assert_eq!(run.code, 2);
    assert_eq!(
        run.error_line(),
        format!(
            "error: --ca-cert {}: no PEM certificate in it",
            bad.display()
        )
    );
    server.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_proxy_and_no_proxy_are_honoured() {
    let server = backend().await;
    let (addr, pem) = tls_front(server.addr()).await;
    let (proxy, tunnels) = connect_proxy().await;
    let url = format!("https://localhost:{}", addr.port());
    let tmp = TempDir::new("hostile-proxy-ca");
    let ca = tmp.file("ca.pem", &pem);
    let args = check_args(
        &url,
        &[
            "--no-lifecycle",
            "--only",
            "Accounts",
            "--retries",
            "0",
            "--ca-cert",
            ca.to_str().expect("utf-8 path"),
        ],
    );
    let proxy_env = ("HTTPS_PROXY".to_string(), format!("http://{proxy}"));
    let run = run_bin(
        args.clone(),
        vec![proxy_env.clone()],
        Duration::from_secs(120),
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let through = tunnels.load(Ordering::Relaxed);
    assert!(through > 0, "HTTPS_PROXY was not used");
    let run = run_bin(
        args,
        vec![proxy_env, ("NO_PROXY".into(), "localhost".into())],
        Duration::from_secs(120),
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        tunnels.load(Ordering::Relaxed),
        through,
        "NO_PROXY was not honoured"
    );
    server.shutdown().await.expect("shutdown");
}
