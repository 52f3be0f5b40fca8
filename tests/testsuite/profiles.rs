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
use finapi_conformance::report::{self, Format};
use finapi_conformance::runner::Limits;
use finapi_conformance::runner::{self, CheckConfig, Credentials, Filters, Report, Target};
use finapi_conformance::serve::Server;
use finapi_conformance::sim::{not_observable, KNOBS};
use finapi_conformance::sim::{Clock, Profile, SimConfig, Simulator};
use finapi_conformance::world::World;
use finapi_conformance::{Faults, Violation};

use crate::common::{sim_grant, sim_token, Grant};

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
        let unclear: std::collections::BTreeSet<&str> = report
            .results
            .iter()
            .filter(|r| r.verdict == Verdict::Inconclusive)
            .map(|r| r.operation.as_str())
            .collect();
        eprintln!("  operations with inconclusive checks: {unclear:?}");
        assert_no_violation(&format!("staging {version}"), &report);
        let s = report.summary();
        assert!(
            s.passed > 700,
            "staging {version}: only {} passed",
            s.passed
        );
        // The validation answers are told apart, not hidden: some wrong-role calls with an
        // invalid body stay inconclusive, with the reason.
        let unclear = report
            .results
            .iter()
            .find(|r| {
                r.verdict == Verdict::Inconclusive
                    && r.reason
                        .contains("validates requests before it checks the role")
            })
            .unwrap_or_else(|| panic!("staging {version}: no validation-first inconclusive"));
        // Every report format carries the reason.
        for format in [Format::Table, Format::Json, Format::Junit, Format::Markdown] {
            let shown = report::render(&report, format, false);
            assert!(
                shown.contains("an allowed caller gets the same 400"),
                "{format:?} lacks the reason of {unclear:?}"
            );
        }
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
    // Only the checks of the break's rule: enough to see it, and quick. An error-shape break
    // shows on any refused call, so the wrong-role calls to the admin sections stand in for all.
    let rule = if strict {
        Rule::AdminSectionsOnly
    } else {
        violation.rule()
    };
    config.filters = Filters {
        only: vec![rule.id().to_string()],
        skip: vec![],
    };
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
fn the_profiles_page_lists_the_breaks_staging_cannot_show_with_reasons() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/profiles.md")).unwrap();
    let section = readme
        .split("<!-- not-observable:start -->")
        .nth(1)
        .and_then(|s| s.split("<!-- not-observable:end -->").next())
        .expect("docs/profiles.md has the not-observable section");
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

// ---------------------------------------------------------------------------------------------
// Each knob does what it says (so the runs above really met it).

fn sim(profile: &str, version: ApiVersion) -> Simulator {
    Simulator::with_config(
        &World::demo_for(version),
        SimConfig {
            clock: Clock::epoch(),
            profile: Some(profile.parse().unwrap()),
            ..SimConfig::default()
        },
    )
}

fn token(sim: &Simulator, version: ApiVersion, client: (&str, &str)) -> String {
    sim_token(sim, version, Grant::Client(client))
}

#[test]
fn validate_first_answers_a_wrong_role_call_with_a_bad_body_400_not_403() {
    use finapi_conformance::world::demo;
    for (profile, want) in [("faithful", 403), ("validate-first", 400)] {
        let sim = sim(profile, ApiVersion::V2);
        let app = token(&sim, ApiVersion::V2, demo::APP_CLIENT);
        let bearer = format!("Bearer {app}");
        let headers = [
            ("authorization", bearer.as_str()),
            ("content-type", "application/json"),
        ];
        // An admin-only operation, an invalid body, an app client.
        let resp = sim.call("POST", "/api/v2/mandatorAdmin/ibanRules", &headers, b"{}");
        assert_eq!(resp.status, want, "{profile}: {:?}", resp.json());
        // A valid body is refused by the role check either way.
        let resp = sim.call(
            "POST",
            "/api/v2/mandatorAdmin/ibanRules",
            &headers,
            br#"{"ibanRules":[{"categoryId":1,"direction":"Income","iban":"DE13700800000061110500"}]}"#,
        );
        assert_eq!(resp.status, 403, "{profile}: {:?}", resp.json());
    }
}

#[test]
fn rate_limit_answers_429_with_retry_after_until_the_clock_moves() {
    use finapi_conformance::world::demo;
    let sim = sim("rate-limit", ApiVersion::V2);
    let statuses: Vec<u16> = (0..60)
        .map(|_| sim_grant(&sim, ApiVersion::V2, Grant::Client(demo::APP_CLIENT)).status)
        .collect();
    let limit = finapi_conformance::sim::RateLimit::STAGING;
    assert!(statuses[..limit.burst as usize].iter().all(|s| *s == 200));
    assert!(statuses[limit.burst as usize..].iter().all(|s| *s == 429));
    let refused = sim.call("GET", "/api/v2/banks", &[], b"");
    assert_eq!((refused.status, refused.hints.retry_after), (429, Some(1)));
    sim.clock().advance(Duration::from_secs(1));
    assert_eq!(sim.call("GET", "/api/v2/banks", &[], b"").status, 401);
}

#[test]
fn flaky_and_latency_follow_the_seed() {
    let outcomes = |seed: u64| {
        let sim = sim(&format!("flaky,latency,seed={seed}"), ApiVersion::V2);
        (0..400)
            .map(|_| {
                let r = sim.call("GET", "/api/v2/banks", &[], b"");
                (r.status, r.hints)
            })
            .collect::<Vec<_>>()
    };
    let a = outcomes(5);
    assert_eq!(a, outcomes(5), "the same seed gives the same answers");
    assert_ne!(a, outcomes(6));
    assert!(a.iter().any(|(s, h)| *s == 503 && h.close), "no timeout");
    assert!(
        a.iter()
            .any(|(s, h)| *s == 503 && !h.close && h.retry_after == Some(1)),
        "no 503"
    );
    assert!(
        a.iter().all(|(_, h)| h.delay.is_some()),
        "latency on every answer"
    );
}

#[test]
fn long_tokens_and_alternative_error_bodies() {
    use finapi_conformance::world::demo;
    let sim = sim("long-tokens,alt-errors", ApiVersion::V1);
    let app = token(&sim, ApiVersion::V1, demo::LEGACY_APP_CLIENT);
    assert_eq!(app.len(), 128);
    let unauthenticated = sim.call("GET", "/api/v1/banks", &[], b"").json();
    assert!(unauthenticated["errorDescription"].is_string());
    assert!(unauthenticated.get("error_description").is_none());
    let bearer = format!("Bearer {app}");
    let forbidden = sim
        .call(
            "GET",
            "/api/v1/mandatorAdmin/getUserList",
            &[("authorization", &bearer)],
            b"",
        )
        .json();
    assert_eq!(forbidden["errors"][0]["code"], "UNAUTHORIZED_ACCESS");
    assert!(forbidden.get("bank").is_none());
    assert!(forbidden["errors"][0]
        .get("multiStepAuthentication")
        .is_none());
    assert_eq!(forbidden["date"], "2024-01-01 00:00:00.000");
}

#[tokio::test]
async fn serve_sends_retry_after_and_drops_timed_out_connections() {
    let profile: Profile = "rate-limit,flaky,seed=2".parse().unwrap();
    let (server, _) = target(&profile, Faults::none(), ApiVersion::V2, Mode::Boundary).await;
    let client = crate::common::http();
    let (mut retry_after, mut dropped) = (false, false);
    for _ in 0..400 {
        match client
            .get(format!("{}/api/v2/banks", server.uri()))
            .send()
            .await
        {
            Ok(resp) => {
                retry_after |= resp.headers().get("retry-after").is_some();
            }
            Err(e) => {
                assert!(!e.is_timeout(), "{e}");
                dropped = true;
            }
        }
    }
    assert!(
        retry_after && dropped,
        "retry-after {retry_after}, dropped {dropped}"
    );
    server.shutdown().await.unwrap();
}

// ---------------------------------------------------------------------------------------------
// The evidence matters: judged as if the role were checked first, the staging target's
// validation answers are false violations (issue 13's 136).

#[tokio::test]
async fn assuming_the_role_first_turns_validation_answers_into_false_violations() {
    let (server, config) = target(
        &Profile::staging(),
        Faults::none(),
        ApiVersion::V2,
        Mode::Boundary,
    )
    .await;
    let connected = runner::connect(&config).await.unwrap();
    let catalogue = finapi_conformance::Catalogue::embedded().clone();
    let mut opts = runner::SessionOptions::new(ApiVersion::V2);
    opts.clock = config.clock.clone();
    let session = runner::Session::connect(
        connected.http.clone(),
        connected.credentials.clone(),
        catalogue.clone(),
        opts,
    )
    .await
    .unwrap();
    let calibration = runner::calibrate(&session).await;
    assert_eq!(
        calibration.order,
        finapi_conformance::model::CheckOrder::ValidationFirst,
        "{}",
        calibration.reason
    );
    let judging = runner::Judging::calibrate(&session).await;
    let (mut assumed, mut judged) = (0, 0);
    for (op, p) in runner::planned_checks(&catalogue, ApiVersion::V2, &Filters::default()) {
        let naive = runner::check_one(&config, &session, op, p).await;
        if naive.verdict == Verdict::Violation {
            assumed += 1;
            let r = runner::check_one_judged(&config, &session, &judging, op, p).await;
            assert_ne!(r.verdict, Verdict::Violation, "{r:?}");
            judged += 1;
        }
    }
    eprintln!("role first assumed: {assumed} false violations; judged on evidence: 0 of {judged}");
    assert!(
        assumed > 50,
        "only {assumed} false violations when the role is assumed first"
    );
    assert_eq!(session.clean_up().await, 0);
    server.shutdown().await.unwrap();
}

#[test]
fn the_binary_refuses_an_unknown_profile_knob_in_one_line() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_finapi-conformance"))
        .args([
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--profile",
            "staging,warp-speed",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains("warp-speed") && err.contains("validate-first"),
        "{err}"
    );
}
