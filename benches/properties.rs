//! Benchmark of the role-boundary property: pair cases (principal x operation x path
//! parameters x body, generated, probed and judged by the oracle) per second against the
//! in-process simulator, plus a short run over real HTTP for comparison. It reuses the
//! property's own code (module `pairs` of the test-support crate, `tests/support/`).
//! `cargo bench --bench properties` prints the figures and exits with status 1 when the
//! in-process rate is below the goal (1,000 cases/s).
//! `BENCH_SECONDS` sets the in-process measuring time (default 5).

use std::time::{Duration, Instant};

use finapi_conformance::Faults;
use finapi_conformance_test_support::pairs::{case_strategy, check, Checked, Target, Transport};
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

const GOAL: f64 = 1000.0;

/// Generate, probe and judge cases for about `budget` (at most `max` cases); (cases, judged,
/// elapsed).
fn measure(target: &Target, budget: Duration, max: usize) -> (usize, usize, Duration) {
    let strategy = case_strategy(target.space());
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &[42; 32]),
    );
    let started = Instant::now();
    let (mut cases, mut judged) = (0, 0);
    while cases < max && started.elapsed() < budget {
        let case = strategy.new_tree(&mut runner).expect("a case").current();
        match check(target, &case) {
            Ok(Checked::Judged) => judged += 1,
            Ok(Checked::Skipped) => {}
            Err(e) => panic!("the faithful mock broke the property: {e}"),
        }
        cases += 1;
    }
    (cases, judged, started.elapsed())
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is accepted.
    let seconds: u64 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);

    let setup = Instant::now();
    let target = Target::mock(Faults::none(), Transport::InProcess);
    println!(
        "in-process target set up (both API versions) in {:.0} ms",
        setup.elapsed().as_secs_f64() * 1000.0
    );
    // Warm-up: first touches of the catalogue, the router and the allocator.
    measure(&target, Duration::from_millis(300), 2_000);
    let (cases, judged, elapsed) = measure(&target, Duration::from_secs(seconds), usize::MAX);
    let rate = cases as f64 / elapsed.as_secs_f64();
    println!(
        "pair cases per second, in-process simulator: {rate:.0} ({cases} cases, {judged} judged, {:.2} s)",
        elapsed.as_secs_f64()
    );

    let http = Target::mock(Faults::none(), Transport::Http);
    let (h_cases, _, h_elapsed) = measure(&http, Duration::from_secs(2), 5_000);
    println!(
        "pair cases per second, wiremock mock over HTTP: {:.0} ({h_cases} cases, {:.2} s)",
        h_cases as f64 / h_elapsed.as_secs_f64(),
        h_elapsed.as_secs_f64()
    );

    if rate < GOAL {
        eprintln!("below the goal of {GOAL:.0} pair cases per second");
        std::process::exit(1);
    }
    println!("goal of {GOAL:.0} pair cases per second: met");
}
