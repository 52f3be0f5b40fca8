//! Proof that the Gherkin suite can fail, and fails in the right place: with one boundary
//! broken in every scenario's mock, exactly the scenarios that state that boundary fail and all
//! others pass (checked from the suite's own records and from its JUnit report). Also: the
//! faithful mock passes everything, an undefined step or a missing rule tag fails the run, the
//! README's example runs, and against a "real" target `@mock-only` scenarios are left out.

use std::path::{Path, PathBuf};

use finapi_conformance::gherkin::{self, run_suite, SuiteOptions, SuiteOutcome};
use finapi_conformance::model::ApiVersion;
use finapi_conformance::runner::Credentials;
use finapi_conformance::{FinapiMock, Violation};

use crate::common::TempDir;

fn features() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("features")
}

async fn broken(v: Violation, junit: Option<PathBuf>) -> SuiteOutcome {
    let mut opts = SuiteOptions::mock(features());
    opts.faults = opts.faults.with(v);
    opts.junit = junit;
    run_suite(opts).await
}

/// Assert that exactly `expected` (feature: scenario) failed and every other scenario passed.
fn assert_fails_exactly(v: Violation, out: &SuiteOutcome, expected: &[&str]) {
    let mut want: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(out.failed(), want, "{v}: failing scenarios differ");
    let total = out.scenarios.len();
    let passed = out.scenarios.iter().filter(|s| s.passed).count();
    assert_eq!(passed, total - expected.len(), "{v}: the others must pass");
    assert!(total > 70, "{v}: only {total} scenarios ran");
    assert!(
        out.execution_failed && !out.passed(),
        "{v}: the run must fail"
    );
    for s in out.scenarios.iter().filter(|s| !s.passed) {
        assert!(
            !s.detail.is_empty(),
            "{v}: {} failed without a reason",
            s.name
        );
    }
}

/// (name, failed) of every test case of a JUnit report, names without cucumber's
/// `Scenario: ` prefix and `: path:line:column` suffix.
fn junit_cases(xml: &str) -> Vec<(String, bool)> {
    xml.split("<testcase ")
        .skip(1)
        .map(|case| {
            let name = case
                .split_once("name=\"")
                .and_then(|(_, rest)| rest.split_once('"'))
                .map(|(name, _)| name)
                .unwrap_or_default();
            let name = name
                .replace("&quot;", "\"")
                .replace("&apos;", "'")
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&amp;", "&");
            let name = name.strip_prefix("Scenario: ").unwrap_or(&name);
            let name = name.rsplit_once(": ").map_or(name, |(n, _)| n).to_string();
            let body = case.split("</testcase>").next().unwrap_or_default();
            (name, body.contains("<failure"))
        })
        .collect()
}

#[tokio::test]
async fn the_faithful_mock_passes_every_scenario_in_both_api_versions() {
    for version in ApiVersion::ALL {
        let mut opts = SuiteOptions::mock(features());
        opts.version = version;
        let out = run_suite(opts).await;
        let failed: Vec<_> = out
            .scenarios
            .iter()
            .filter(|s| !s.passed)
            .map(|s| format!("{}: {}: {}", s.feature, s.name, s.detail))
            .collect();
        assert!(failed.is_empty(), "{version}: {failed:#?}");
        assert!(out.problems.is_empty(), "{:#?}", out.problems);
        assert!(out.passed(), "{version}: {out:#?}");
        assert!(
            out.scenarios.len() > 70,
            "{} scenarios",
            out.scenarios.len()
        );
        assert!(out.excluded.is_empty(), "nothing is left out on the mock");
        assert_eq!(out.skipped_steps, 0);
    }
}

#[tokio::test]
async fn an_admin_that_gets_user_tokens_fails_exactly_its_scenarios() {
    let v = Violation::AdminGetsUserToken;
    let junit_dir = TempDir::new("features-junit");
    let junit = junit_dir.join("report.xml");
    let out = broken(v, Some(junit.clone())).await;
    let expected = [
        "App clients: only app clients use the password grant",
        "The mandator admin client: the admin client gets no user token",
        "The mandator admin client: the admin client is denied everything the role model denies it",
        "What stolen credentials give an intruder: stolen admin credentials give no user token",
    ];
    assert_fails_exactly(v, &out, &expected);

    // The JUnit report says the same: one case per scenario, the same ones failed.
    let xml = std::fs::read_to_string(&junit).expect("CUCUMBER_JUNIT report written");
    let cases = junit_cases(&xml);
    assert_eq!(
        cases.len(),
        out.scenarios.len(),
        "one test case per scenario"
    );
    let mut failed: Vec<&str> = cases
        .iter()
        .filter(|(_, f)| *f)
        .map(|(n, _)| n.as_str())
        .collect();
    failed.sort();
    let mut want: Vec<&str> = expected
        .iter()
        .map(|e| e.split_once(": ").map_or(*e, |(_, n)| n))
        .collect();
    want.sort();
    assert_eq!(failed, want, "JUnit failures");
}

#[tokio::test]
async fn accepted_revoked_tokens_fail_exactly_their_scenarios() {
    let v = Violation::RevokedTokenAccepted;
    let out = broken(v, None).await;
    assert_fails_exactly(
        v,
        &out,
        &[
            "App clients: an app client gets, refreshes and revokes a user's token",
            "Error shapes: revoked-token calling getAuthorizedUser gets a 401 body",
            "The token lifecycle: every operation refuses revoked-token",
            "The token lifecycle: revoking with hint access_token revokes only that access token",
            "The token lifecycle: revoking with hint refresh_token revokes the refresh token and its access tokens",
            "The token lifecycle: revoking without a hint revokes the whole grant",
            "The token lifecycle: changing a client's secret revokes that client's tokens only",
            "The token lifecycle: a password change revokes the user's tokens for every client",
            "The token lifecycle: failed logins lock the user",
        ],
    );
}

#[tokio::test]
async fn app_clients_that_list_users_fail_exactly_their_scenarios() {
    let v = Violation::AppClientListsUsers;
    let out = broken(v, None).await;
    assert_fails_exactly(
        v,
        &out,
        &[
            "App clients: an app client is kept out of Mandator Administration",
            "Error shapes: app-client calling getUserList gets a 403 ErrorMessage",
            "What stolen credentials give an intruder: stolen credentials of the app client cannot list users",
            "What stolen credentials give an intruder: stolen credentials of the second app client cannot list users",
        ],
    );
}

#[tokio::test]
async fn an_undefined_step_fails_the_run() {
    let dir = TempDir::new("features-undefined");
    std::fs::write(
        dir.join("undefined.feature"),
        "Feature: Undefined\n\n  @rule-token-reuse\n  Scenario: a step nobody wrote\n    Given the app client has a token\n    Then the moon is made of cheese\n\n  @rule-token-reuse\n  Scenario: a good one\n    Given the app client has a token\n    Then the app client gets the same token again\n",
    )
    .expect("write feature");
    let out = run_suite(SuiteOptions::mock(dir.path())).await;
    assert!(!out.passed(), "an undefined step must fail the run");
    assert!(out.execution_failed, "cucumber must count it as failed");
    let bad: Vec<_> = out.scenarios.iter().filter(|s| !s.passed).collect();
    assert_eq!(bad.len(), 1, "{:#?}", out.scenarios);
    assert_eq!(bad[0].name, "a step nobody wrote");
    assert!(bad[0].detail.contains("undefined"), "{}", bad[0].detail);
    assert_eq!(bad[0].ending, gherkin::Ending::Undefined);
    assert_eq!(out.scenarios.len(), 2);
    assert_eq!(
        out.exit_code(),
        2,
        "an undefined step is the feature file's fault"
    );
}

#[tokio::test]
async fn an_ambiguous_step_fails_the_run() {
    // This text matches two step definitions ("... logs in through <client>" and
    // "<client> verifies ...").
    let dir = TempDir::new("features-ambiguous");
    std::fs::write(
        dir.join("ambiguous.feature"),
        "Feature: Ambiguous\n\n  @rule-verification\n  Scenario: two steps match\n    Given a verified user \"ann\" created through the app client\n    When \"ann\" logs in through the app client verifies \"ann\"\n",
    )
    .expect("write feature");
    let out = run_suite(SuiteOptions::mock(dir.path())).await;
    assert!(!out.passed(), "an ambiguous step must fail the run");
    assert!(out.execution_failed);
    assert_eq!(out.scenarios.len(), 1);
    assert!(!out.scenarios[0].passed);
    assert!(
        out.scenarios[0].detail.to_lowercase().contains("ambiguous"),
        "{}",
        out.scenarios[0].detail
    );
    assert_eq!(out.scenarios[0].ending, gherkin::Ending::Ambiguous);
    assert_eq!(out.exit_code(), 2);
}

#[tokio::test]
async fn a_scenario_without_a_known_rule_tag_fails_the_run() {
    let dir = TempDir::new("features-lint");
    std::fs::write(
        dir.join("lint.feature"),
        "Feature: Lint\n\n  Scenario: untagged\n    Given the app client has a token\n\n  @rule-no-such-rule\n  Scenario: wrong tag\n    Given the app client has a token\n",
    )
    .expect("write feature");
    let out = run_suite(SuiteOptions::mock(dir.path())).await;
    assert!(
        out.scenarios.iter().all(|s| s.passed),
        "the steps themselves pass"
    );
    assert!(!out.passed(), "tag problems must fail the run");
    assert_eq!(out.problems.len(), 2, "{:#?}", out.problems);
    assert!(out.problems[0].contains("untagged") && out.problems[0].contains("no @rule-"));
    assert!(out.problems[1].contains("@rule-no-such-rule"));
}

#[tokio::test]
async fn the_readme_example_uses_only_existing_steps_and_passes() {
    let readme = std::fs::read_to_string(features().join("README.md")).expect("features/README.md");
    let example = readme
        .split("```gherkin\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a ```gherkin block in features/README.md");
    let dir = TempDir::new("features-readme");
    std::fs::write(dir.join("example.feature"), example).expect("write feature");
    let out = run_suite(SuiteOptions::mock(dir.path())).await;
    assert!(out.passed(), "{out:#?}");
    assert_eq!(out.scenarios.len(), 3, "one scenario and a two-row outline");
}

#[tokio::test]
async fn against_a_real_target_mock_only_scenarios_are_left_out_with_a_reason() {
    // A mock reached only through its URL and the demo credentials, as a real target would be.
    let target = FinapiMock::start().await;
    let mut opts = SuiteOptions::mock(features());
    opts.base_url = Some(target.uri());
    opts.credentials = Some(Credentials::demo());
    opts.limits = Some(finapi_conformance::runner::Limits::local());
    // A local mock: more scenarios at once than the two a real target gets.
    opts.concurrency = Some(16);
    let out = run_suite(opts).await;
    assert!(out.passed(), "{:#?}", out.failed());
    assert!(!out.excluded.is_empty(), "@mock-only scenarios exist");
    for (name, why) in &out.excluded {
        assert!(
            why.starts_with("@mock-only") || why.starts_with("@mutates-shared"),
            "{name}: {why}"
        );
    }
    let expired = "The token lifecycle: a user token dies when its validity period ends";
    assert!(out.excluded.iter().any(|(n, _)| n == expired));
    let ran: Vec<String> = out
        .scenarios
        .iter()
        .map(|s| format!("{}: {}", s.feature, s.name))
        .collect();
    assert!(
        !ran.iter().any(|n| n == expired),
        "left-out scenarios do not run"
    );
    // Every scenario either ran or was left out.
    assert_eq!(
        out.scenarios.len() + out.excluded.len(),
        scenarios_in_files()
    );
    // The scenarios removed the users they created (every id starts with `fc-`).
    let left: Vec<String> = target.simulator().with_state(|s| {
        s.users
            .iter()
            .flat_map(|m| m.values())
            .filter(|u| u.id.starts_with("fc-"))
            .map(|u| u.id.clone())
            .collect()
    });
    assert!(left.is_empty(), "users left behind: {left:?}");
}

/// How many scenarios the feature files hold, read with the Gherkin parser: one per plain
/// scenario, one per example row of an outline.
fn scenarios_in_files() -> usize {
    use cucumber::gherkin::{Feature, GherkinEnv};
    let mut count = 0;
    for entry in std::fs::read_dir(features()).expect("features/") {
        let path = entry.expect("a directory entry").path();
        if path.extension().is_none_or(|e| e != "feature") {
            continue;
        }
        let feature = Feature::parse_path(&path, GherkinEnv::default()).expect("it parses");
        let scenarios = feature
            .scenarios
            .iter()
            .chain(feature.rules.iter().flat_map(|r| r.scenarios.iter()));
        for sc in scenarios {
            count += match sc.examples.as_slice() {
                [] => 1,
                examples => examples
                    .iter()
                    .map(|e| {
                        e.table
                            .as_ref()
                            .map_or(0, |t| t.rows.len().saturating_sub(1))
                    })
                    .sum(),
            };
        }
    }
    count
}

/// Every one of the mock's deliberate breaks makes at least one scenario fail, and among the
/// failures is a scenario tagged with the rule the break violates. Slow (one suite run per
/// break): `cargo test --test features_fail -- --ignored`.
#[tokio::test]
#[ignore]
async fn every_break_fails_a_scenario_of_its_rule() {
    let mut missed = Vec::new();
    for &v in Violation::ALL {
        let out = broken(v, None).await;
        let tag = format!("{}{}", gherkin::RULE_TAG, v.rule().id());
        let failed: Vec<_> = out.scenarios.iter().filter(|s| !s.passed).collect();
        let of_rule = failed.iter().any(|s| s.tags.contains(&tag));
        if failed.is_empty() || !of_rule || out.passed() {
            missed.push(format!(
                "{v} (rule {}): {} failed, none tagged @{tag}",
                v.rule(),
                failed.len()
            ));
        }
        let passed = out.scenarios.iter().filter(|s| s.passed).count();
        assert!(passed > 50, "{v}: only {passed} scenarios passed");
    }
    assert!(missed.is_empty(), "{missed:#?}");
}

#[tokio::test]
async fn strict_mode_holds_on_the_faithful_mock_and_sees_malformed_error_bodies_everywhere() {
    let mut opts = SuiteOptions::mock(features());
    opts.strict = true;
    let clean = run_suite(opts.clone()).await;
    assert!(clean.passed(), "{:#?}", clean.failed());

    opts.faults = opts.faults.with(Violation::PlainTextErrors);
    let strict = run_suite(opts).await;
    let boundary = broken(Violation::PlainTextErrors, None).await;
    let failed = strict.failed();
    // The error-shape scenarios fail in both modes; in strict mode the role-model steps also
    // judge every 403 body they provoke.
    for f in boundary.failed() {
        assert!(failed.contains(&f), "{f} fails in boundary mode only");
    }
    assert!(
        failed.len() > boundary.failed().len() + 10,
        "strict: {failed:#?}"
    );
    assert!(failed.iter().any(|f| f.starts_with("User tokens:")));
}

// ---- steps of an integrator's own, on the library's world ------------------------------------

/// A step this test crate adds to the library's world: it registers itself for
/// `FinapiWorld` when this binary is linked, as an integrator's own step would.
#[cucumber::then(regex = r"^the integrator's own step sees status (\d{3})$")]
async fn own_step(world: &mut gherkin::FinapiWorld, status: u16) {
    let got = world.last().status;
    assert_eq!(got, status, "the integrator's step saw {got}");
}

const OWN_STEPS: &str = "Feature: Own steps\n\n  @rule-app-client-services\n  Scenario: own step holds\n    When the app client calls \"getUserList\"\n    Then the integrator's own step sees status 403\n\n  @rule-app-client-services\n  Scenario: own step fails\n    When the app client calls \"getUserList\"\n    Then the integrator's own step sees status 200\n";

#[tokio::test]
async fn steps_defined_outside_the_library_run_beside_the_built_in_ones() {
    let dir = TempDir::new("features-own");
    std::fs::write(dir.join("own.feature"), OWN_STEPS).expect("write feature");
    let out = run_suite(SuiteOptions::mock(dir.path())).await;
    assert_eq!(out.scenarios.len(), 2, "{out:#?}");
    assert!(out.problems.is_empty(), "{:#?}", out.problems);
    assert_eq!(out.failed(), vec!["Own steps: own step fails".to_string()]);
    let failed = out
        .scenarios
        .iter()
        .find(|s| !s.passed)
        .expect("one failed");
    assert_eq!(failed.ending, gherkin::Ending::Failed);
    assert!(failed.detail.contains("saw 403"), "{}", failed.detail);
    assert_eq!(out.exit_code(), 1);
}

#[tokio::test]
async fn the_library_hands_out_a_cucumber_with_the_same_world_and_steps() {
    use cucumber::writer::Stats as _;
    use cucumber::WriterExt as _;
    let dir = TempDir::new("features-cucumber");
    std::fs::write(dir.join("own.feature"), OWN_STEPS).expect("write feature");
    let quiet = cucumber::writer::Basic::raw(
        std::io::sink(),
        cucumber::writer::Coloring::Never,
        cucumber::writer::Verbosity::Default,
    )
    .summarized()
    .normalized();
    let written = gherkin::cucumber(SuiteOptions::mock(dir.path()))
        .expect("in-process options")
        .with_writer(quiet)
        // A new writer brings back cucumber's default of parsing the process's command line
        // (here libtest's `-q`, `--nocapture`, ...): ask for the default options again.
        .with_default_cli()
        .run(gherkin::Features::path(dir.path()))
        .await;
    assert_eq!(written.passed_steps(), 3, "three steps hold");
    assert_eq!(written.failed_steps(), 1, "the step stating 200 fails");
    assert!(written.execution_has_failed());
}

#[tokio::test]
async fn web_form_breaks_fail_exactly_their_scenarios() {
    let cases: [(Violation, &[&str]); 3] = [
        (
            Violation::UserEditsProfiles,
            &[
                "User tokens: a user token reaches no client service",
                "Web Form 2.0: a user edits no profiles or translations",
            ],
        ),
        (
            Violation::AdminCreatesWebForms,
            &[
                "The mandator admin client: the admin client may call no other client service",
                "The mandator admin client: the admin client is denied everything the role model denies it",
                "Web Form 2.0: the admin client creates no web forms and reads no tasks",
            ],
        ),
        (
            Violation::OtherUsersWebFormVisible,
            &[
                "The shared user base: other-mandator-user finds nothing of the mandator's users",
                "User tokens: a user reaches no other user's data",
                "Web Form 2.0: a user sees no other user's web forms and tasks",
                "Web Form 2.0: a completed import web form gives its user a bank connection",
            ],
        ),
    ];
    for (v, expected) in cases {
        let out = broken(v, None).await;
        assert_fails_exactly(v, &out, expected);
    }
}
