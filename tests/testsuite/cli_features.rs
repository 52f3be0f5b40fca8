//! The `features` command, run as a binary: an integrator's own scenarios written only from
//! `features/README.md`'s vocabulary pass on the faithful mock and fail on a broken one, exit
//! codes for undefined steps and parse errors, scenario selection by tag and name, the built-in
//! suite from any directory, and the safety rules against a real target (a `serve` process).

use std::path::Path;
use std::process::{Command, Output};

use finapi_conformance::world::demo;

use crate::common;

use common::served::{Served, BIN};
use common::TempDir;

/// Scenarios an integrator writes with the documented steps only (no Rust). Six scenarios:
/// the outline has two rows.
const OWN: &str = r#"Feature: An integrator's own checks

  @rule-app-client-services
  Scenario: the app client is kept out of the user list
    When the app client calls "getUserList"
    Then the request is denied
    And the answer body is an ErrorMessage with code "UNAUTHORIZED_ACCESS"

  @rule-shared-user-base @rule-intruder-admin
  Scenario: a user made by the second app client is listed for the admin
    Given a verified user "max" created through the second app client
    When the admin client looks up "max" in the user list
    Then the answer lists "max"
    And "max" can log in through the app client
    And "max" cannot log in through the admin client

  @rule-token-reuse
  Scenario: a client token is reused while it lives
    Given the app client has a token
    Then the app client gets the same token again

  @rule-admin-sections-only
  Scenario: the admin client reads no banks
    When the admin client calls "getAndSearchAllBanks"
    Then the request is denied

  @rule-app-client-services @mock-only
  Scenario Outline: the app client may use <operation>
    Then "<operation>" is allowed to the app client

    Examples:
      | operation            |
      | createUser           |
      | getAndSearchAllBanks |
"#;

/// The integrator's directory.
fn own() -> TempDir {
    TempDir::with("own", "own_checks.feature", OWN)
}

/// `features ARGS` in `cwd`, with no target or credential in the environment.
fn features_in(cwd: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.arg("features").args(args).current_dir(cwd);
    for (k, _) in std::env::vars() {
        if k.starts_with("FINAPI_") || k == "CUCUMBER_JUNIT" {
            cmd.env_remove(k);
        }
    }
    cmd.output().expect("the binary runs")
}

fn features(args: &[&str]) -> Output {
    features_in(&std::env::temp_dir(), args)
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// (passed, failed) from the summary line `features: P passed, F failed...`.
fn counts(out: &Output) -> (usize, usize) {
    let text = stdout(out);
    let line = text
        .lines()
        .rev()
        .find(|l| l.starts_with("features: ") && l.contains(" passed, "))
        .unwrap_or_else(|| panic!("no summary line in:\n{text}\n{}", stderr(out)));
    let numbers: Vec<usize> = line
        .trim_start_matches("features: ")
        .split(", ")
        .take(2)
        .map(|part| {
            part.split_whitespace()
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("bad summary line {line:?}"))
        })
        .collect();
    (numbers[0], numbers[1])
}

fn assert_exit(out: &Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        stdout(out),
        stderr(out)
    );
}

#[test]
fn an_integrators_own_scenarios_pass_on_the_faithful_mock() {
    let dir = own();
    let out = features(&[dir.path().to_str().unwrap()]);
    assert_exit(&out, 0);
    assert_eq!(counts(&out), (6, 0));
    // cucumber's own output is there, scenario by scenario.
    assert!(stdout(&out).contains("the app client is kept out of the user list"));
}

#[test]
fn they_fail_when_the_mock_breaks_the_boundary_they_state() {
    let dir = own();
    let path = dir.path().to_str().unwrap();
    let out = features(&[path, "--violate", "app-client-lists-users"]);
    assert_exit(&out, 1);
    assert_eq!(counts(&out), (5, 1));
    assert!(stdout(&out).contains(
        "FAILED An integrator's own checks: the app client is kept out of the user list"
    ));

    // A different reading of an ambiguous rule reaches the mock too.
    let out = features(&[path, "--reading", "admin-reads-banks=true"]);
    assert_exit(&out, 1);
    assert_eq!(counts(&out), (5, 1));
    assert!(
        stdout(&out).contains("FAILED An integrator's own checks: the admin client reads no banks")
    );
}

#[test]
fn a_single_file_runs_and_junit_lists_its_scenarios() {
    let dir = own();
    let file = dir.path().join("own_checks.feature");
    // `--format junit --output FILE` as for `check` and `proxy`; `--junit FILE` for short.
    for (name, flags) in [
        ("report.xml", &["--format", "junit", "--output"][..]),
        ("short.xml", &["--junit"][..]),
    ] {
        let junit = dir.path().join(name);
        let out = features(
            &[
                &[file.to_str().unwrap()],
                flags,
                &[junit.to_str().unwrap(), "--concurrency", "1"],
            ]
            .concat(),
        );
        assert_exit(&out, 0);
        let xml = std::fs::read_to_string(&junit).expect("JUnit report written");
        assert_eq!(xml.matches("<testcase ").count(), 6, "{flags:?}: {xml}");
        assert!(!xml.contains("<failure"));
    }
}

#[test]
fn features_reports_only_as_table_or_junit_to_a_file() {
    for args in [
        &["--format", "junit"][..],
        &["--format", "json", "--output", "r.json"][..],
        &["--output", "r.xml"][..],
        &["--junit", "a.xml", "--format", "junit", "--output", "b.xml"][..],
    ] {
        let out = features(args);
        assert_exit(&out, 2);
        let err = stderr(&out);
        let first = err.lines().next().unwrap_or_default();
        assert!(first.starts_with("error: "), "{args:?}: {err}");
    }
}

#[test]
fn an_undefined_step_is_a_usage_error() {
    let dir = TempDir::with(
        "undefined",
        "undefined.feature",
        "Feature: Undefined\n\n  @rule-token-reuse\n  Scenario: a step nobody wrote\n    Given the app client has a token\n    Then the moon is made of cheese\n",
    );
    let out = features(&[dir.path().to_str().unwrap()]);
    assert_exit(&out, 2);
    assert!(stdout(&out).contains("undefined"), "{}", stdout(&out));
}

#[test]
fn a_file_that_does_not_parse_is_a_usage_error() {
    let dir = TempDir::with(
        "parse",
        "broken.feature",
        "Feature: Broken\n\n  @rule-token-reuse\n  Scenario: fine\n    Given the app client has a token\n\n  This line is no Gherkin at all\n  Scenario Outline:\n    Examples:\n      | a |\n      | 1 | 2 |\n",
    );
    let out = features(&[dir.path().to_str().unwrap()]);
    assert_exit(&out, 2);
    assert!(stdout(&out).contains("cannot parse"), "{}", stdout(&out));

    let out = features(&["/no/such/dir/of/features"]);
    assert_exit(&out, 2);
}

#[test]
fn a_scenario_without_a_known_rule_tag_is_a_usage_error() {
    let dir = TempDir::with(
        "lint",
        "lint.feature",
        "Feature: Lint\n\n  Scenario: untagged\n    Given the app client has a token\n",
    );
    let out = features(&[dir.path().to_str().unwrap()]);
    assert_exit(&out, 2);
    assert!(
        stdout(&out).contains("has no @rule-<id> tag"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn tags_and_names_select_scenarios() {
    let dir = own();
    let path = dir.path().to_str().unwrap();
    let out = features(&[path, "--tags", "@rule-app-client-services"]);
    assert_exit(&out, 0);
    assert_eq!(counts(&out), (3, 0));

    let out = features(&[
        path,
        "--tags",
        "@rule-app-client-services and not @mock-only",
    ]);
    assert_exit(&out, 0);
    assert_eq!(counts(&out), (1, 0));

    // The feature's scenarios named "a ..." only.
    let out = features(&[path, "--name", "^a "]);
    assert_exit(&out, 0);
    assert_eq!(counts(&out), (2, 0));

    // Both at once; and a selection that fails on the broken mock fails the run.
    let out = features(&[
        path,
        "--tags",
        "not @mock-only",
        "--name",
        "user list|listed",
        "--violate",
        "app-client-lists-users",
    ]);
    assert_exit(&out, 1);
    assert_eq!(counts(&out), (1, 1));

    // Nothing selected: nothing to prove, a usage error.
    let out = features(&[path, "--tags", "@rule-lockout"]);
    assert_exit(&out, 2);
    assert_eq!(counts(&out), (0, 0));
}

#[test]
fn bad_options_are_usage_errors_with_one_line() {
    let dir = own();
    let path = dir.path().to_str().unwrap();
    for args in [
        vec![path, "--tags", "@a and and"],
        vec![path, "--name", "("],
        vec![path, "--violate", "no-such-break"],
        vec![path, "--reading", "no-such-reading=true"],
        vec![
            path,
            "--base-url",
            "http://127.0.0.1:9",
            "--reading",
            "admin-reads-banks=true",
        ],
        vec![
            path,
            "--base-url",
            "http://127.0.0.1:9",
            "--violate",
            "app-client-lists-users",
        ],
        vec![path, "--only", "Users"],
    ] {
        let out = features(&args);
        assert_exit(&out, 2);
        let err = stderr(&out);
        assert!(err.starts_with("error: "), "{args:?}: {err}");
        assert!(stdout(&out).is_empty(), "{args:?}: nothing ran");
    }
}

#[test]
fn without_a_directory_the_built_in_suite_runs_from_anywhere() {
    let elsewhere = TempDir::new("cwd");
    let out = features_in(elsewhere.path(), &[]);
    assert_exit(&out, 0);
    let (passed, failed) = counts(&out);
    assert!(
        passed > 70 && failed == 0,
        "{passed} passed, {failed} failed"
    );
    assert!(stdout(&out).starts_with("features: the built-in suite against"));

    // It is the real suite: a broken boundary fails exactly its scenarios. Of the four that
    // state it (see features_fail), three have "admin" in their name.
    let out = features_in(
        elsewhere.path(),
        &["--violate", "admin-gets-user-token", "--name", "admin"],
    );
    assert_exit(&out, 1);
    let (some, failed) = counts(&out);
    assert!(some > 0 && some < passed, "{some} passed");
    assert_eq!(failed, 3);
}

#[test]
fn against_a_real_target_mock_only_scenarios_are_left_out_with_their_reason() {
    let served = Served::start(&[]);
    let dir = own();
    let creds = dir.path().join("credentials.env");
    let lines: Vec<String> = [
        ("FINAPI_APP_CLIENT_ID", demo::APP_CLIENT.0),
        ("FINAPI_APP_CLIENT_SECRET", demo::APP_CLIENT.1),
        ("FINAPI_APP_CLIENT2_ID", demo::APP_CLIENT2.0),
        ("FINAPI_APP_CLIENT2_SECRET", demo::APP_CLIENT2.1),
        ("FINAPI_ADMIN_CLIENT_ID", demo::ADMIN_CLIENT.0),
        ("FINAPI_ADMIN_CLIENT_SECRET", demo::ADMIN_CLIENT.1),
        ("FINAPI_OTHER_APP_CLIENT_ID", demo::OTHER_APP_CLIENT.0),
        ("FINAPI_OTHER_APP_CLIENT_SECRET", demo::OTHER_APP_CLIENT.1),
    ]
    .iter()
    .map(|(k, v)| format!("{k}={v}"))
    .collect();
    std::fs::write(&creds, lines.join("\n")).expect("credentials file");
    let out = features(&[
        dir.path().join("own_checks.feature").to_str().unwrap(),
        "--base-url",
        &served.url,
        "--credentials",
        creds.to_str().unwrap(),
        // A local process: no need for the gentle pace a real target gets.
        "--rate",
        "0",
    ]);
    assert_exit(&out, 0);
    let text = stdout(&out);
    assert_eq!(counts(&out), (4, 0), "the outline's two rows are left out");
    assert_eq!(
        text.matches("left out for this target: ").count(),
        2,
        "{text}"
    );
    assert!(text.contains("@mock-only: needs the in-process mock"));
    assert!(text.contains("2 left out for this target"));
    for (_, secret) in [demo::APP_CLIENT, demo::ADMIN_CLIENT] {
        assert!(!text.contains(secret), "a secret in the output");
    }
}
