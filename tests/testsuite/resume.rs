//! Long runs that stop and go on, and runs that reuse earlier tokens:
//!
//! - `--resume`: a report with violations re-runs only those checks (and the unfinished ones
//!   of a checkpoint), and the new report merges the previous passes;
//! - checkpoints list every unfinished check, in a JSON report `--resume` reads back;
//! - `--state`: a run against a `serve` target keeps its client tokens; once they have
//!   expired, a later run presents one as the `expired-token` principal, so those checks run
//!   instead of being skipped, and go red when the target accepts expired tokens.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::common;

use common::served::{Served, BIN};
use common::TempDir;
use finapi_conformance::model::{Catalogue, Principal, Verdict};
use finapi_conformance::report;
use finapi_conformance::runner::{self, CheckConfig, Credentials, Filters, Limits, Target};
use finapi_conformance::serve::Server;
use finapi_conformance::sim::{SimConfig, Simulator};
use finapi_conformance::{ApiVersion, Clock, Faults, Violation, World};

const V2: ApiVersion = ApiVersion::V2;

fn in_process(faults: Faults) -> CheckConfig {
    let mut config = CheckConfig::new(Target::InProcess { faults }, V2);
    config.filters = Filters {
        only: vec![
            "Mandator Administration".into(),
            "lifecycle:token-reuse".into(),
        ],
        skip: vec![],
    };
    config
}

#[tokio::test]
async fn resume_reruns_only_what_failed_and_merges_the_rest() {
    // First run: the mock lets app clients list users, so three checks fail.
    let first = runner::run(&in_process(
        Faults::none().with(Violation::AppClientListsUsers),
    ))
    .await
    .unwrap();
    let s = first.summary();
    assert_eq!(s.violations, 3);
    let json = report::render(&first, report::Format::Json, false);

    // Second run against the repaired mock, resuming the first report.
    let mut config = in_process(Faults::none());
    let previous = runner::Previous::from_json(&json, &config).unwrap();
    assert_eq!(previous.rerun, 3);
    assert_eq!(previous.kept(), s.total - 3);
    config.resume = Some(Arc::new(previous));
    let recorder = runner::Recorder::default();
    config.recorder = Some(recorder.clone());
    let second = runner::run(&config).await.unwrap();
    assert_eq!(recorder.len(), 3, "only the three violations ran again");
    let merged = second.summary();
    assert_eq!(merged.total, s.total, "the passes were merged back in");
    assert_eq!(merged.violations, 0);
    assert_eq!(merged.passed, s.passed + 3);
    // In plan order, like a run that never stopped.
    let order: Vec<_> = first
        .results
        .iter()
        .map(|r| (r.operation.clone(), r.principal))
        .collect();
    let again: Vec<_> = second
        .results
        .iter()
        .map(|r| (r.operation.clone(), r.principal))
        .collect();
    assert_eq!(order, again);

    // Resuming the repaired report has nothing left to run.
    let mut config = in_process(Faults::none());
    let previous = runner::Previous::from_json(
        &report::render(&second, report::Format::Json, false),
        &config,
    )
    .unwrap();
    assert_eq!(previous.rerun, 0);
    config.resume = Some(Arc::new(previous));
    let recorder = runner::Recorder::default();
    config.recorder = Some(recorder.clone());
    let third = runner::run(&config).await.unwrap();
    assert!(recorder.is_empty());
    assert_eq!(third.summary().total, s.total);
}

#[tokio::test]
async fn a_checkpoint_lists_the_unfinished_checks_and_resume_runs_them() {
    let config = in_process(Faults::none());
    let full = runner::run(&config).await.unwrap();
    let total = full.results.len();
    // A run that got through the first five checks only.
    let recorder = runner::Recorder::default();
    for r in full.results.iter().take(5) {
        recorder.push(r);
    }
    let catalogue = Catalogue::embedded().clone();
    let checkpoint = runner::checkpoint(&config, &catalogue, &recorder, Duration::ZERO);
    assert_eq!(checkpoint.unfinished.len(), total - 5);
    assert_eq!(checkpoint.summary().possible, total);
    assert_eq!(checkpoint.summary().run, 5);
    let json = report::render(&checkpoint, report::Format::Json, false);
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(value["complete"], false);
    assert_eq!(
        value["unfinished"].as_array().unwrap().len(),
        total - 5,
        "the JSON report records unfinished checks"
    );
    assert!(report::summary_line(&checkpoint).contains(&format!("checks run 5/{total}")));

    let mut config = in_process(Faults::none());
    let previous = runner::Previous::from_json(&json, &config).unwrap();
    assert_eq!(previous.rerun, total - 5);
    config.resume = Some(Arc::new(previous));
    let recorder = runner::Recorder::default();
    config.recorder = Some(recorder.clone());
    let finished = runner::run(&config).await.unwrap();
    assert_eq!(recorder.len(), total - 5, "only the unfinished checks ran");
    assert_eq!(finished.summary().passed, total);
    assert!(finished.unfinished.is_empty());
}

#[test]
fn resume_refuses_other_reports_with_one_line() {
    let config = in_process(Faults::none());
    let err = runner::Previous::from_json("<junit/>", &config).unwrap_err();
    assert!(err.contains("--format json"), "{err}");
    let v1 = r#"{"api_version":"v1","results":[]}"#;
    let err = runner::Previous::from_json(v1, &config).unwrap_err();
    assert!(err.contains("API"), "{err}");
    let odd = r#"{"api_version":"v2","results":[{"operation":"noSuchOp","principal":"user","verdict":"pass","rule":"token-required"}]}"#;
    assert!(runner::Previous::from_json(odd, &config).is_err());
}

// ---------------------------------------------------------------------------------------------
// --state

/// A `serve` target on a clock the test moves.
async fn target(faults: Faults) -> (Server, Clock) {
    let clock = Clock::system();
    let sim = Simulator::with_config(
        &World::demo(),
        SimConfig {
            faults,
            clock: clock.clone(),
            ..SimConfig::default()
        },
    );
    let server = Server::start(sim, SocketAddr::from(([127, 0, 0, 1], 0)), 0)
        .await
        .unwrap();
    (server, clock)
}

/// Only the expired-token principal's checks, against `base_url`, fast.
fn remote(base_url: &str, state: &std::path::Path) -> CheckConfig {
    let mut config = CheckConfig::new(
        Target::Remote {
            base_url: base_url.to_string(),
        },
        V2,
    );
    config.limits = Some(Limits::local());
    config.credentials = Some(Credentials::demo());
    config.filters = Filters {
        only: vec!["expired-token".into()],
        skip: vec![],
    };
    config.lifecycle = false;
    config.state_file = Some(state.to_path_buf());
    config
}

/// Pretend the tokens in the state file were obtained long ago (the file's expiry times are
/// wall-clock times; the target's clock is moved on to match).
fn age_state_file(path: &std::path::Path) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut value: serde_json::Value = serde_json::from_str(&text).unwrap();
    for t in value["tokens"].as_array_mut().unwrap() {
        let at = t["expires_at"].as_i64().unwrap();
        t["expires_at"] = (at - 7200).into();
    }
    std::fs::write(path, value.to_string()).unwrap();
}

async fn state_round_trip(faults: Faults) -> (runner::Report, runner::Report, String) {
    let dir = TempDir::new(&format!("state-{}", faults.iter().count()));
    let state = dir.join("state.json");
    let (server, clock) = target(faults).await;
    let config = remote(&server.uri(), &state);

    let first = runner::run(&config).await.unwrap();
    let text = std::fs::read_to_string(&state).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&state).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the state file is owner-only");
    }
    // Two hours later, on both sides.
    age_state_file(&state);
    clock.advance(Duration::from_secs(7200));
    let second = runner::run(&config).await.unwrap();
    server.shutdown().await.unwrap();
    (first, second, text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_state_file_turns_expired_token_skips_into_checks() {
    let (first, second, state_text) = state_round_trip(Faults::none()).await;
    let s1 = first.summary();
    assert!(s1.total > 50, "{s1:?}");
    assert_eq!(
        s1.skipped, s1.total,
        "without an expired token nothing runs"
    );
    assert!(first.results[0].reason.contains("FINAPI_EXPIRED_TOKEN"));
    // The state file keeps the run's client tokens and no configured secret.
    for (_, secret) in [
        finapi_conformance::world::demo::APP_CLIENT,
        finapi_conformance::world::demo::ADMIN_CLIENT,
    ] {
        assert!(!state_text.contains(secret));
    }
    assert!(state_text.contains("expires_at"));

    let s2 = second.summary();
    assert_eq!(s2.total, s1.total);
    assert_eq!(
        s2.skipped,
        0,
        "{:?}",
        second
            .results
            .iter()
            .find(|r| r.verdict == Verdict::Skipped)
    );
    assert_eq!(s2.passed, s2.total);
    // 401, or 403 where the operation documents no 401 (revokeToken).
    let catalogue = Catalogue::embedded();
    let odd: Vec<_> = second
        .results
        .iter()
        .filter(|r| {
            let op = catalogue
                .get(second.api_version, &r.operation)
                .expect("a catalogue operation");
            !(r.principal == Principal::ExpiredToken
                && r.observed_status == Some(op.unauthenticated_status()))
        })
        .map(|r| (&r.operation, r.principal, r.observed_status))
        .collect();
    assert!(odd.is_empty(), "{odd:?}");
    assert!(second
        .results
        .iter()
        .any(|r| r.operation == "revokeToken" && r.observed_status == Some(403)));
    assert!(report::coverage(&second).contains(&format!("{0}/{0}", s2.total)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_expired_token_checks_go_red_when_expired_tokens_work() {
    let (_, second, _) =
        state_round_trip(Faults::none().with(Violation::ExpiredTokenAccepted)).await;
    let s = second.summary();
    assert_eq!(s.skipped, 0);
    assert!(s.violations > 0, "{s:?}");
}

// ---------------------------------------------------------------------------------------------
// The binary: Ctrl-C writes a report with the unfinished checks, and --resume finishes it

#[cfg(unix)]
#[test]
fn an_interrupted_check_writes_its_unfinished_checks_and_resume_finishes_them() {
    use finapi_conformance::world::demo;
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let env = [
        ("FINAPI_APP_CLIENT_ID", demo::APP_CLIENT.0),
        ("FINAPI_APP_CLIENT_SECRET", demo::APP_CLIENT.1),
        ("FINAPI_ADMIN_CLIENT_ID", demo::ADMIN_CLIENT.0),
        ("FINAPI_ADMIN_CLIENT_SECRET", demo::ADMIN_CLIENT.1),
    ];
    let serve = Served::start(&[]);
    let url = serve.url.clone();
    let dir = TempDir::new("interrupt");
    let report = dir.join("run.json");

    // A paced run, interrupted once its first progress line shows it is under way.
    let mut child = Command::new(BIN)
        .args([
            "check",
            "--base-url",
            &url,
            "--rate",
            "40",
            "--format",
            "json",
        ])
        .arg("--output")
        .arg(&report)
        .env_remove("FINAPI_BASE_URL")
        .envs(env)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = Vec::new();
    let first_progress = lines
        .by_ref()
        .map_while(Result::ok)
        .find(|l| {
            seen.push(l.clone());
            l.starts_with("progress: ")
        })
        .unwrap_or_else(|| panic!("no plain progress line on a non-terminal stderr: {seen:?}"));
    assert!(first_progress.contains("left"), "{first_progress}");
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap()
        .success());
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(2), "{rest:?}");
    let value: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(value["interrupted"], true);
    assert_eq!(value["complete"], false);
    let done = value["results"].as_array().unwrap().len();
    let unfinished = value["unfinished"].as_array().unwrap().len();
    assert!(
        done > 0 && unfinished > 0,
        "{done} done, {unfinished} unfinished"
    );
    assert_eq!(value["summary"]["possible"], done + unfinished);

    // Resume: only the unfinished checks run; the new report is whole.
    let resumed = dir.join("run2.json");
    let out = Command::new(BIN)
        .args([
            "check",
            "--base-url",
            &url,
            "--rate",
            "0",
            "--format",
            "json",
        ])
        .arg("--output")
        .arg(&resumed)
        .arg("--resume")
        .arg(&report)
        .env_remove("FINAPI_BASE_URL")
        .envs(env)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "{done} checks settled there, {unfinished} to run again"
        )),
        "{stderr}"
    );
    let value: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&resumed).unwrap()).unwrap();
    assert_eq!(value["complete"], true);
    assert_eq!(
        value["results"].as_array().unwrap().len(),
        done + unfinished
    );
    drop(serve);
}
