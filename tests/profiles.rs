//! The runner against targets that answer like a real, busy deployment (`serve --profile`):
//! validation before the role check, rate limits, 503s and dropped connections, latency, long
//! tokens and alternative error bodies. The faithful answers must give no violation, and
//! every deliberate break must still be reported under its rule, or be on the documented
//! list of breaks no inert probe can show under that profile.
//!
//! Every target is an in-process `serve::Server` on a fixed clock shared with the run, so
//! `Retry-After`, backoff and latency pass on that clock and nothing waits for real.

use std::collections::BTreeMap;
use std::time::Duration;

use finapi_conformance::model::{ApiVersion, Mode, Rule, Verdict};
use finapi_conformance::runner::http::Limits;
use finapi_conformance::runner::{self, CheckConfig, Credentials, Filters, Report, Target};
use finapi_conformance::serve::Server;
use finapi_conformance::sim::profile::{not_observable, KNOBS};
use finapi_conformance::sim::{Clock, Profile, SimConfig, Simulator};
use finapi_conformance::world::World;
use finapi_conformance::{Faults, Violation};

/// A `serve` target with `profile` and `faults`, and the run's configuration for it.
async fn target(
    profile: &Profile,
    faults: Faults,
    version: ApiVersion,
    mode: Mode,
) -> (Server, CheckConfig) {
    let clock = Clock::epoch();
    let world = World::demo_for(version);
    let sim = Simulator::with_config(
        &world,
        SimConfig {
            faults,
            clock: clock.clone(),
            profile: Some(profile.clone()),
            ..SimConfig::default()
        },
    );
    let server = Server::start(sim, "127.0.0.1:0".parse().unwrap(), 0)
        .await
        .expect("serve binds");
    let mut config = CheckConfig::new(
        Target::Remote {
            base_url: server.uri(),
        },
        version,
    );
    config.mode = mode;
    config.clock = Some(clock);
    config.credentials = Some(Credentials::of_world(&world));
    // Our own in-process target: the probes that could change data the run did not create if
    // a boundary broke, and secret rotation, are fine here (as in-process).
    config.allow_mutations = true;
    config.limits = Some(Limits {
        concurrency: 16,
        rate: 0.0,
        timeout: Duration::from_secs(20),
        retries: 6,
        max_backoff: Duration::from_secs(2),
    });
    (server, config)
}

async fn run(profile: &Profile, faults: Faults, version: ApiVersion, mode: Mode) -> Report {
    let (server, config) = target(profile, faults, version, mode).await;
    let report = runner::run(&config).await.expect("the run");
    server.shutdown().await.unwrap();
    report
}

fn figures(report: &Report) -> String {
    let s = report.summary();
    format!(
        "checks {}, passed {}, violations {}, inconclusive {}, skipped {}",
        s.total, s.passed, s.violations, s.inconclusive, s.skipped
    )
}

/// Inconclusive verdicts by reason (first words), for the log.
fn inconclusive_reasons(report: &Report) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for r in report
        .results
        .iter()
        .filter(|r| r.verdict == Verdict::Inconclusive)
    {
        *out.entry(r.reason.clone()).or_default() += 1;
    }
    out
}

fn assert_no_violation(what: &str, report: &Report) {
    let bad: Vec<_> = report.violations().collect();
    assert!(bad.is_empty(), "{what}: false violations: {bad:#?}");
    assert_eq!(report.leftover_users, 0, "{what}: users left behind");
    for r in &report.results {
        if r.verdict == Verdict::Inconclusive || r.verdict == Verdict::Skipped {
            assert!(!r.reason.trim().is_empty(), "{what}: no reason: {r:?}");
        }
    }
}

#[tokio::test]
async fn staging_gives_no_false_violation_in_either_version() {
    for version in ApiVersion::ALL {
        let report = run(&Profile::staging(), Faults::none(), version, Mode::Boundary).await;
        eprintln!("staging {version}: {}", figures(&report));
        for (reason, n) in inconclusive_reasons(&report) {
            eprintln!("  {n:4} x {reason}");
        }
        assert_no_violation(&format!("staging {version}"), &report);
        let s = report.summary();
        assert!(
            s.passed > 700,
            "staging {version}: only {} passed",
            s.passed
        );
        // The validation answers are told apart, not hidden: some wrong-role calls with an
        // invalid body stay inconclusive, with the reason.
        assert!(
            report
                .results
                .iter()
                .any(|r| r.verdict == Verdict::Inconclusive
                    && r.reason
                        .contains("validates requests before it checks the role")),
            "staging {version}: the calibration did not find validation first"
        );
    }
}

#[tokio::test]
async fn each_knob_alone_gives_no_false_violation() {
    for (name, _) in KNOBS.iter().filter(|(n, _)| *n != "staging") {
        let profile = Profile::knob(name).unwrap();
        for mode in [Mode::Boundary, Mode::Strict] {
            if mode == Mode::Strict && profile.validate_first {
                // Strict mode wants a 403 where a validating target answers 400: not a
                // boundary question (the validation answers are inconclusive, see above).
                continue;
            }
            let report = run(&profile, Faults::none(), ApiVersion::V2, mode).await;
            eprintln!("{name} {mode:?}: {}", figures(&report));
            assert_no_violation(&format!("{name} {mode:?}"), &report);
        }
    }
}

/// Run with one break and say whether it was reported under its rule.
async fn caught(profile: &Profile, violation: Violation) -> Result<(), String> {
    // Error-shape breaks keep the boundary: only strict mode sees them, on any check.
    let strict = violation.rule() == Rule::ErrorShape;
    let mode = if strict { Mode::Strict } else { Mode::Boundary };
    let (server, mut config) = target(
        profile,
        Faults::none().with(violation),
        ApiVersion::V2,
        mode,
    )
    .await;
    if !strict {
        // Only the checks of the break's rule: enough to see it, and quick.
        config.filters = Filters {
            only: vec![violation.rule().id().to_string()],
            skip: vec![],
        };
    }
    let report = runner::run(&config).await.expect("the run");
    server.shutdown().await.unwrap();
    let rules: Vec<Rule> = report.violations().map(|r| r.rule).collect();
    if rules.contains(&violation.rule()) || (strict && !rules.is_empty()) {
        Ok(())
    } else {
        Err(format!("{violation}: not reported ({})", figures(&report)))
    }
}

async fn every_break_is_caught_or_listed(profile: &Profile) {
    let listed = not_observable(profile);
    let mut missed = Vec::new();
    for &violation in Violation::ALL {
        let outcome = caught(profile, violation).await;
        let on_list = listed.iter().any(|(v, _)| *v == violation);
        match (outcome, on_list) {
            (Ok(()), true) => missed.push(format!(
                "{violation} is reported under {profile}, but listed as not observable"
            )),
            (Err(why), false) => missed.push(why),
            _ => {}
        }
    }
    assert!(missed.is_empty(), "{profile}: {missed:#?}");
}

#[tokio::test]
async fn every_break_is_caught_under_staging_or_listed() {
    every_break_is_caught_or_listed(&Profile::staging()).await;
}

#[tokio::test]
async fn every_break_is_caught_under_each_knob_or_listed() {
    for (name, _) in KNOBS.iter().filter(|(n, _)| *n != "staging") {
        every_break_is_caught_or_listed(&Profile::knob(name).unwrap()).await;
    }
}

#[test]
fn the_readme_lists_the_breaks_staging_cannot_show_with_reasons() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let section = readme
        .split("<!-- not-observable:start -->")
        .nth(1)
        .and_then(|s| s.split("<!-- not-observable:end -->").next())
        .expect("README has the not-observable section");
    let rows: Vec<&str> = section.lines().filter(|l| l.starts_with("| `")).collect();
    let listed = not_observable(&Profile::staging());
    assert_eq!(rows.len(), listed.len(), "README rows: {rows:#?}");
    for (violation, reason) in listed {
        assert!(
            rows.iter()
                .any(|r| r.contains(&format!("`{violation}`")) && r.contains(reason)),
            "README lacks `{violation}` with its reason"
        );
    }
}
