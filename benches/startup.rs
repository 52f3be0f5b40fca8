//! What a mock per test costs: `FinapiMock::start()` + one request against its bare-wiremock
//! twin, `MockServer::start()` + one mounted mock + one request, measured in one run, the two
//! sides interleaved so a busy machine moves both alike. The figure is the ratio of the medians
//! (goal: at most 2). The first start of a process, which builds the catalogue, the shapes and
//! the demo world once for every later mock, is shown on its own.
//!
//! Run it in the profile `cargo test` uses: `cargo bench --bench startup --profile dev`
//! (`BENCH_STARTS`: starts per side, default 200). Exits 1 when the ratio is over the goal.

use std::time::{Duration, Instant};

use finapi_conformance::world::demo;
use finapi_conformance::{ApiVersion, FinapiMock};
use finapi_conformance_test_support::grant::{token_path, Grant};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const GOAL: f64 = 2.0;

fn token_form() -> Vec<(&'static str, &'static str)> {
    Grant::Client(demo::APP_CLIENT).pairs()
}

/// A finAPI mock, one client-credentials token request, and the mock dropped.
async fn finapi_once(http: &reqwest::Client) -> Duration {
    let started = Instant::now();
    let mock = FinapiMock::start().await;
    let status = http
        .post(format!("{}{}", mock.uri(), token_path(ApiVersion::V2)))
        .form(&token_form())
        .send()
        .await
        .expect("the mock answers")
        .status();
    assert_eq!(status, 200);
    drop(mock);
    started.elapsed()
}

/// What a wiremock user writes for the same: a server, one mock mounted, one request.
async fn wiremock_once(http: &reqwest::Client) -> Duration {
    let started = Instant::now();
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(token_path(ApiVersion::V2)))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "access_token": "a-token", "token_type": "bearer", "expires_in": 3600,
            "scope": "all"
        })))
        .mount(&server)
        .await;
    let status = http
        .post(format!("{}{}", server.uri(), token_path(ApiVersion::V2)))
        .form(&token_form())
        .send()
        .await
        .expect("wiremock answers")
        .status();
    assert_eq!(status, 200);
    drop(server);
    started.elapsed()
}

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs[xs.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    // Like `#[tokio::test]`: a current-thread runtime.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let starts: usize = std::env::var("BENCH_STARTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200)
        .max(1);
    let profile = if cfg!(debug_assertions) {
        "dev (as cargo test)"
    } else {
        "release"
    };
    rt.block_on(async {
        let http = reqwest::Client::new();
        let first_finapi = finapi_once(&http).await;
        let first_wiremock = wiremock_once(&http).await;
        let (mut finapi, mut wiremock) = (Vec::new(), Vec::new());
        for i in 0..starts {
            // Alternate which side goes first, so neither always follows the other.
            if i % 2 == 0 {
                finapi.push(finapi_once(&http).await);
                wiremock.push(wiremock_once(&http).await);
            } else {
                wiremock.push(wiremock_once(&http).await);
                finapi.push(finapi_once(&http).await);
            }
        }
        let (f, w) = (median(finapi), median(wiremock));
        let ratio = f.as_secs_f64() / w.as_secs_f64();
        println!("startup ({profile}, {starts} starts per side, medians)");
        println!(
            "  first start in the process: FinapiMock {:.2} ms, wiremock {:.2} ms",
            ms(first_finapi),
            ms(first_wiremock)
        );
        println!("  FinapiMock::start() + one token request: {:.3} ms", ms(f));
        println!(
            "  MockServer::start() + one mock + one request: {:.3} ms",
            ms(w)
        );
        println!("  ratio {ratio:.2} (goal <= {GOAL})");
        if ratio > GOAL {
            std::process::exit(1);
        }
    });
}
