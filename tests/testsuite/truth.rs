//! True verdicts where users point the tools: finAPI's real shapes built around the faithful
//! mock, and the verdicts held true on them. finAPI serves Access and Web Form 2.0 on two
//! hosts; the split front (`SplitFront`, in the test-support crate) makes them out of one
//! `serve`, each host answering the other's paths 404 with a finAPI ErrorMessage.
//!
//! - `check` without a Web Form address: 0 violations, the Web Form cells skipped with the
//!   reason (the address tried, the flag to set); with the address: 0 violations, the Web
//!   Form cells run on the Web Form host; the Web Form breaks caught through the split;
//!   `serve --profile staging` behind the split: 0 violations;
//! - `features` against a faithful target that serves Access V2 only (no Web Form host, no V1,
//!   lockout off, no bank data for new V2 users): 0 failed, what the target cannot run left out
//!   with the reason; the breaks its scenarios state still fail them; exact documented
//!   statuses only under `--strict`;
//! - the pair property against the split: Web Form cases skipped, never judged;
//! - the dry run against finAPI's hosts and another host; `diff` and the binary's summary line;
//! - a Web Form request body over `serve`'s limit gets Web Form's own error body.
//!
//! Every target is an in-process `serve::Server` on a fixed clock the run shares (so expired
//! tokens can be made, and a profile's waits pass on that clock). The figures each setup gives
//! are printed (`cargo test truth:: -- --nocapture`).

use std::time::Duration;

use crate::common;
use finapi_conformance::gherkin::{run_suite, Features, SuiteOptions, SuiteOutcome};
use finapi_conformance::model::{Api, ApiVersion, Catalogue, Readings, Shapes, Verdict};
use finapi_conformance::report;
use finapi_conformance::runner::{self, CheckConfig, Credentials, Filters, Limits, Report, Target};
use finapi_conformance::serve::Server;
use finapi_conformance::sim::{Clock, Profile, SimConfig, Simulator};
use finapi_conformance::world::World;
use finapi_conformance::{Faults, Violation};
use finapi_conformance_test_support::pairs;
use finapi_conformance_test_support::{FrontOptions, SplitFront};

use crate::common::served::{Served, BIN};
use crate::common::TempDir;

/// A `serve` of `world` with `faults` (and `profile`) on a fixed clock, split into finAPI's two
/// hosts by a front with `options`.
struct Split {
    server: Server,
    front: SplitFront,
    clock: Clock,
    world: World,
}

async fn split(
    world: World,
    faults: Faults,
    profile: Option<Profile>,
    options: FrontOptions,
) -> Split {
    split_reading(world, faults, profile, options, Readings::default()).await
}

async fn split_reading(
    world: World,
    faults: Faults,
    profile: Option<Profile>,
    options: FrontOptions,
    readings: Readings,
) -> Split {
    let clock = Clock::epoch();
    let sim = Simulator::with_config(
        &world,
        SimConfig {
            faults,
            clock: clock.clone(),
            profile,
            readings,
        },
    );
    let server = Server::start(sim, "127.0.0.1:0".parse().unwrap(), 0)
        .await
        .expect("serve binds");
    let front = SplitFront::start_with(&server.uri(), options).await;
    Split {
        server,
        front,
        clock,
        world,
    }
}

fn limits() -> Limits {
    Limits {
        concurrency: 16,
        rate: 0.0,
        timeout: Duration::from_secs(20),
        retries: 6,
        max_backoff: Duration::from_secs(2),
    }
}

impl Split {
    /// `check` against the Access host, with `webform` as `--webform-url`.
    fn config(&self, webform: Option<&str>) -> CheckConfig {
        let mut config = CheckConfig::new(
            Target::Remote {
                base_url: self.front.access.clone(),
            },
            ApiVersion::V2,
        );
        config.clock = Some(self.clock.clone());
        config.credentials = Some(Credentials::of_world(&self.world));
        // Our own in-process target: the probes that could change data the run did not
        // create, and secret rotation, are fine here.
        config.allow_mutations = true;
        config.limits = Some(limits());
        config.webform_url = webform.map(str::to_string);
        config
    }

    async fn check(&self, webform: Option<&str>) -> Report {
        runner::run(&self.config(webform)).await.expect("the run")
    }

    /// `features` (the built-in suite) against the Access host.
    fn suite(&self, webform: Option<&str>) -> SuiteOptions {
        let mut opts = SuiteOptions::built_in();
        opts.base_url = Some(self.front.access.clone());
        opts.credentials = Some(Credentials::of_world(&self.world));
        opts.limits = Some(limits());
        opts.concurrency = Some(8);
        opts.webform_url = webform.map(str::to_string);
        opts
    }

    async fn stop(self) {
        drop(self.front);
        self.server.shutdown().await.unwrap();
    }
}

/// The Web Form 2.0 cells of a report, and how they came out.
#[derive(Debug, Default, PartialEq, Eq)]
struct WebFormCells {
    total: usize,
    /// Answered: passed, violated or inconclusive.
    run: usize,
    /// Passed or violated: a verdict on evidence.
    judged: usize,
    skipped: usize,
    /// Skipped because the run did not find the service.
    not_found: usize,
}

fn is_webform(operation: &str) -> bool {
    Catalogue::embedded()
        .get(
            ApiVersion::V2,
            finapi_conformance::model::operation_of_cell(operation),
        )
        .is_some_and(|op| op.api == Api::WebForm2)
}

fn webform_cells(report: &Report) -> WebFormCells {
    let mut cells = WebFormCells::default();
    for r in report.results.iter().filter(|r| is_webform(&r.operation)) {
        cells.total += 1;
        match r.verdict {
            Verdict::Pass | Verdict::Violation => {
                cells.run += 1;
                cells.judged += 1;
            }
            Verdict::Inconclusive => cells.run += 1,
            Verdict::Skipped => {
                cells.skipped += 1;
                if r.reason.contains("Web Form 2.0 is not checked") {
                    cells.not_found += 1;
                }
            }
        }
    }
    cells
}

/// The figures of a setup, for the log and the docs.
fn figures(what: &str, report: &Report) {
    let s = report.summary();
    let w = webform_cells(report);
    eprintln!(
        "{what}: {} checks, {} violations, {} passed, {} inconclusive, {} skipped; Web Form cells: {} of {} run ({} judged), {} skipped ({} not found)",
        s.total, s.violations, s.passed, s.inconclusive, s.skipped, w.run, w.total, w.judged, w.skipped, w.not_found
    );
    eprintln!("  {}", report::services_line(report));
}

fn assert_no_violation(what: &str, report: &Report) {
    let bad: Vec<String> = report
        .violations()
        .map(|r| format!("{} as {}: {}", r.operation, r.principal, r.reason))
        .collect();
    assert!(bad.is_empty(), "{what}: false violations: {bad:#?}");
    assert_eq!(report.leftover_users, 0, "{what}: users left behind");
}

// ---- check -------------------------------------------------------------------------------

#[tokio::test]
async fn check_without_a_web_form_address_skips_web_form_with_the_reason() {
    // The Access host passes the mock's control API on, so the runner takes it for a mock,
    // looks for Web Form 2.0 on its address, and finds an Access host's 404 there.
    let target = split(
        World::demo_for(ApiVersion::V2),
        Faults::none(),
        None,
        FrontOptions::default(),
    )
    .await;
    let report = target.check(None).await;
    figures(
        "split, no --webform-url (Access host passes the control API)",
        &report,
    );
    assert_no_violation("split without address", &report);
    let w = webform_cells(&report);
    assert!(w.total > 200, "{w:?}");
    assert_eq!((w.run, w.not_found), (0, w.total), "{w:?}");
    let access = &target.front.access;
    let reason = report
        .results
        .iter()
        .find(|r| is_webform(&r.operation))
        .map(|r| r.reason.clone())
        .unwrap_or_default();
    assert!(
        reason.contains(&format!("Web Form 2.0 does not answer at {access}"))
            && reason.contains("404")
            && reason.contains("--webform-url"),
        "{reason}"
    );
    assert!(report.summary().passed > 800, "{:?}", report.summary());
    let web_form = &report.services[1];
    assert!(
        !web_form.checked && web_form.address.is_none(),
        "{web_form:?}"
    );
    assert!(
        report::summary_line(&report)
            .contains("Web Form 2.0 not checked: Web Form 2.0 does not answer at"),
        "{}",
        report::summary_line(&report)
    );
    target.stop().await;

    // A host that is neither finAPI's nor a mock: no address to try at all.
    let options = FrontOptions {
        control: false,
        ..FrontOptions::default()
    };
    let target = split(
        World::demo_for(ApiVersion::V2),
        Faults::none(),
        None,
        options,
    )
    .await;
    let report = target.check(None).await;
    figures("split, no --webform-url (no control API)", &report);
    assert_no_violation("split without address or control API", &report);
    let w = webform_cells(&report);
    assert_eq!((w.run, w.not_found), (0, w.total), "{w:?}");
    let reason = &report.services[1].note;
    assert!(
        reason.starts_with("no Web Form 2.0 address for")
            && reason.contains("neither finAPI's Access host")
            && reason.contains("--webform-url"),
        "{reason}"
    );
    target.stop().await;
}

#[tokio::test]
async fn check_with_the_web_form_address_runs_web_form_on_its_host() {
    let target = split(
        World::demo_for(ApiVersion::V2),
        Faults::none(),
        None,
        FrontOptions::default(),
    )
    .await;
    let webform = target.front.webform_url().to_string();
    let report = target.check(Some(&webform)).await;
    figures("split, --webform-url the Web Form host", &report);
    assert_no_violation("split with address", &report);
    let w = webform_cells(&report);
    assert_eq!(w.not_found, 0, "{w:?}");
    assert_eq!(w.run, w.total, "every Web Form cell runs: {w:?}");
    // Every Web Form request went to the Web Form host, every other one to the Access host.
    for r in &report.results {
        let Some(e) = &r.evidence else { continue };
        assert_eq!(
            e.request.contains(&webform),
            is_webform(&r.operation),
            "{} as {}: {}",
            r.operation,
            r.principal,
            e.request
        );
    }
    let line = &report.services[1];
    assert!(
        line.checked && line.address.as_deref() == Some(webform.as_str()),
        "{line:?}"
    );
    assert!(line.note.contains("got 401 from Web Form 2.0"), "{line:?}");
    target.stop().await;
}

#[tokio::test]
async fn web_form_breaks_are_caught_through_the_split() {
    for v in [
        Violation::OtherUsersWebFormVisible,
        Violation::AdminCreatesWebForms,
        Violation::UserEditsProfiles,
    ] {
        let target = split(
            World::demo_for(ApiVersion::V2),
            Faults::none().with(v),
            None,
            FrontOptions::default(),
        )
        .await;
        let webform = target.front.webform_url().to_string();
        let mut config = target.config(Some(&webform));
        // The break's rule, on the Web Form sections.
        config.filters = Filters {
            only: vec![
                "Web Forms".into(),
                "Tasks".into(),
                "Profiles".into(),
                "Translations".into(),
            ],
            skip: vec![],
        };
        let report = runner::run(&config).await.expect("the run");
        let caught: Vec<String> = report
            .violations()
            .filter(|r| r.rule == v.rule() && is_webform(&r.operation))
            .map(|r| format!("{} as {}", r.operation, r.principal))
            .collect();
        eprintln!(
            "{v} through the split: {} Web Form violations of {}",
            caught.len(),
            v.rule()
        );
        assert!(!caught.is_empty(), "{v}: not caught through the split");
        target.stop().await;
    }
}

#[tokio::test]
async fn staging_behind_the_split_gives_no_false_violation() {
    let target = split(
        World::demo_for(ApiVersion::V2),
        Faults::none(),
        Some(Profile::staging()),
        FrontOptions::default(),
    )
    .await;
    let webform = target.front.webform_url().to_string();
    let report = target.check(Some(&webform)).await;
    figures("staging behind the split, --webform-url", &report);
    assert_no_violation("staging with address", &report);
    let w = webform_cells(&report);
    assert_eq!(w.not_found, 0, "{w:?}");
    assert!(w.judged > 150, "{w:?}");
    let report = target.check(None).await;
    figures("staging behind the split, no --webform-url", &report);
    assert_no_violation("staging without address", &report);
    assert_eq!(webform_cells(&report).run, 0);
    target.stop().await;
}

// ---- features ---------------------------------------------------------------------------------

/// A faithful finAPI that serves Access V2 only: no Web Form host, no V1, lockout off in its
/// client configuration, no bank data for new V2 users.
async fn access_v2_only(faults: Faults, readings: Readings) -> Split {
    let world =
        World::demo_for(ApiVersion::V2).configure_all_clients(|c| c.max_user_login_attempts = 0);
    split_reading(
        world,
        faults,
        None,
        FrontOptions::access_v2_only(),
        readings,
    )
    .await
}

fn left_out(out: &SuiteOutcome, name: &str) -> Option<String> {
    out.excluded
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, why)| why.clone())
}

#[tokio::test]
async fn features_against_a_faithful_access_v2_only_target_fail_nothing() {
    let target = access_v2_only(Faults::none(), Readings::default()).await;
    let out = run_suite(target.suite(None)).await;
    eprintln!("features against Access V2 only: {}", out.summary_line());
    assert_eq!(out.failed(), Vec::<String>::new(), "{}", out.report());
    assert_eq!(out.exit_code(), 0, "{}", out.report());
    assert!(out.scenarios.len() > 60, "{}", out.summary_line());
    // What the target cannot run is left out, each with its reason.
    let v1 = left_out(
        &out,
        "API version binding: the mandator under test is served by its own API version only",
    )
    .expect("the version scenario is left out");
    assert!(
        v1.contains("does not serve Access V1") && v1.contains("404"),
        "{v1}"
    );
    let lockout = left_out(&out, "The token lifecycle: failed logins lock the user")
        .expect("lockout left out");
    assert!(
        lockout.contains("sets no maxUserLoginAttempts"),
        "{lockout}"
    );
    let web_form = left_out(
        &out,
        "Web Form 2.0: a user sees no other user's web forms and tasks",
    )
    .expect("web form scenarios left out");
    assert!(
        web_form.contains("Web Form 2.0 is not checked") && web_form.contains("--webform-url"),
        "{web_form}"
    );
    // Scenarios that ran or were left out: all of them.
    assert_eq!(
        out.scenarios.len() + out.excluded.len(),
        common::scenarios_in(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("features")),
        "{}",
        out.summary_line()
    );

    // A step none of whose checks can run (the run's user has no accounts on this target)
    // leaves its scenario out; a step with something to check still judges it.
    let dir = TempDir::with(
        "truth-no-data",
        "no_data.feature",
        "Feature: No data\n\n  @rule-own-data-only\n  Scenario: another user sees none of the user's accounts\n    Then every operation of section \"Accounts\" behaves for another user as the role model says\n\n  @rule-user-scope\n  Scenario: a user reads the banks\n    Then every operation of section \"Banks\" is allowed to the user\n",
    );
    let mut opts = target.suite(None);
    opts.features = Features::path(dir.path());
    let out = run_suite(opts).await;
    assert_eq!(out.scenarios.len(), 1, "{}", out.report());
    assert!(out.passed(), "{}", out.report());
    let why = left_out(
        &out,
        "No data: another user sees none of the user's accounts",
    )
    .expect("left out");
    assert!(
        why.contains("the run's user has no accounts to address"),
        "{why}"
    );
    target.stop().await;
}

/// The scenarios a break fails on the mock (`features_fail.rs`) fail against the Access-V2-only
/// target too, wherever they ran.
#[tokio::test]
async fn features_against_access_v2_only_still_fail_under_the_breaks_they_state() {
    for (v, expected) in [
        (
            Violation::AdminGetsUserToken,
            &[
                "App clients: only app clients use the password grant",
                "The mandator admin client: the admin client gets no user token",
                "The mandator admin client: the admin client is denied everything the role model denies it",
                "What stolen credentials give an intruder: stolen admin credentials give no user token",
            ][..],
        ),
        (
            Violation::RevokedTokenAccepted,
            &[
                "App clients: an app client gets, refreshes and revokes a user's token",
                "Error shapes: revoked-token calling getAuthorizedUser gets a 401 body",
                "The token lifecycle: every operation refuses revoked-token",
                "The token lifecycle: revoking with hint access_token revokes only that access token",
                "The token lifecycle: revoking with hint refresh_token revokes the refresh token and its access tokens",
                "The token lifecycle: revoking without a hint revokes the whole grant",
            ][..],
        ),
        (
            Violation::AppClientListsUsers,
            &[
                "App clients: an app client is kept out of Mandator Administration",
                "Error shapes: app-client calling getUserList gets a 403 ErrorMessage",
                "What stolen credentials give an intruder: stolen credentials of the app client cannot list users",
                "What stolen credentials give an intruder: stolen credentials of the second app client cannot list users",
            ][..],
        ),
    ] {
        let target = access_v2_only(Faults::none().with(v), Readings::default()).await;
        let out = run_suite(target.suite(None)).await;
        eprintln!("features against Access V2 only, {v}: {}", out.summary_line());
        let mut want: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
        want.sort();
        assert_eq!(out.failed(), want, "{v}: {}", out.report());
        assert_eq!(out.exit_code(), 1);
        target.stop().await;
    }
}

#[tokio::test]
async fn documented_refusal_statuses_are_asserted_only_under_strict() {
    // A target that refuses with 401 and 403 where an operation documents only one of them
    // (checkCategorization a 403 for a wrong role, revokeToken a 401 for a dead token).
    let readings = Readings::default()
        .with_settings(&["general-refusal-statuses=true".to_string()])
        .expect("a known reading");
    let target = access_v2_only(Faults::none(), readings).await;
    let mut opts = target.suite(None);
    opts.tags = Some(finapi_conformance::gherkin::parse_tags("@rule-error-shape").unwrap());
    let boundary = run_suite(opts.clone()).await;
    eprintln!("error shapes, boundary mode: {}", boundary.summary_line());
    assert_eq!(
        boundary.failed(),
        Vec::<String>::new(),
        "{}",
        boundary.report()
    );
    opts.strict = true;
    let strict = run_suite(opts).await;
    eprintln!("error shapes, --strict: {}", strict.summary_line());
    let failed = strict.failed();
    for row in [
        "Error shapes: app-client calling checkCategorization gets the refusal it documents",
        "Error shapes: admin-client calling checkCategorization gets the refusal it documents",
        "Error shapes: no-token calling revokeToken gets the refusal it documents",
        "Error shapes: malformed-token calling revokeToken gets the refusal it documents",
    ] {
        assert!(
            failed.iter().any(|f| f == row),
            "{row} must fail under --strict: {failed:#?}"
        );
    }
    target.stop().await;
}

#[tokio::test]
async fn features_with_the_web_form_address_run_the_web_form_scenarios() {
    let target = split(
        World::demo_for(ApiVersion::V2),
        Faults::none(),
        None,
        FrontOptions::default(),
    )
    .await;
    let webform = target.front.webform_url().to_string();
    let mut opts = target.suite(Some(&webform));
    opts.name =
        Some(finapi_conformance::gherkin::parse_name("web form|profiles|Web Form").unwrap());
    let out = run_suite(opts).await;
    eprintln!(
        "Web Form features through the split: {}",
        out.summary_line()
    );
    assert!(out.passed(), "{}", out.report());
    let web_form: Vec<_> = out
        .scenarios
        .iter()
        .filter(|s| s.feature == "Web Form 2.0")
        .collect();
    assert!(web_form.len() >= 8, "{}", out.report());
    assert!(
        out.excluded
            .iter()
            .all(|(_, why)| why.starts_with("@mock-only")),
        "{:#?}",
        out.excluded
    );
    target.stop().await;
}

// ---- the pair property, the dry run, diff and the binary -------------------------------------------

#[test]
fn the_pair_property_against_the_split_skips_web_form_and_judges_the_rest() {
    use proptest::test_runner::{Config, TestRunner};
    let rt = tokio::runtime::Runtime::new().unwrap();
    let target = rt.block_on(split(
        World::demo_for(ApiVersion::V2),
        Faults::none(),
        None,
        FrontOptions::default(),
    ));
    let remote = pairs::Target::remote(&target.config(None));
    let mut runner = TestRunner::new(Config {
        cases: 256,
        failure_persistence: None,
        ..Config::default()
    });
    let cells = std::cell::Cell::new((0, 0));
    let result = runner.run(&pairs::case_strategy(remote.space()), |case| {
        let checked = pairs::check(&remote, &case)?;
        let (j, w) = cells.get();
        match checked {
            pairs::Checked::Judged => cells.set((j + 1, w)),
            pairs::Checked::Skipped if case.op().is_webform() => cells.set((j, w + 1)),
            pairs::Checked::Skipped => {}
        }
        Ok(())
    });
    let (judged, skipped_webform) = cells.get();
    eprintln!("pairs against the split: {judged} judged, {skipped_webform} Web Form cases skipped");
    assert_eq!(remote.clean_up(), 0);
    result.unwrap_or_else(|e| panic!("{e}"));
    assert!(
        judged > 100 && skipped_webform > 0,
        "{judged} judged, {skipped_webform} Web Form skipped"
    );
    drop(remote);
    rt.block_on(target.stop());
}

#[test]
fn the_dry_run_puts_web_form_on_finapis_host_and_skips_it_elsewhere() {
    let dry = |base: &str, webform: Option<&str>| {
        let mut config = CheckConfig::new(
            Target::Remote {
                base_url: base.into(),
            },
            ApiVersion::V2,
        );
        config.credentials = Some(Credentials::demo());
        config.webform_url = webform.map(str::to_string);
        runner::dry_run(&config).expect("a dry run")
    };
    let sandbox = dry("https://sandbox.finapi.io", None);
    assert!(
        sandbox.contains("SERVICE Web Form 2.0 at https://webform-sandbox.finapi.io"),
        "{sandbox}"
    );
    assert!(
        sandbox.contains("GET https://webform-sandbox.finapi.io/api/webForms    # calibration"),
        "{sandbox}"
    );
    assert!(
        sandbox.contains("GET https://webform-sandbox.finapi.io/api/webForms/"),
        "{sandbox}"
    );
    let live = dry("https://live.finapi.io", None);
    assert!(
        live.contains("SERVICE Web Form 2.0 at https://webform-live.finapi.io"),
        "{live}"
    );
    let other = dry("https://staging.example.com", None);
    assert!(other.contains("SERVICE Web Form 2.0 not checked: no Web Form 2.0 address for https://staging.example.com"), "{other}");
    assert!(
        other.contains("SKIP getWebForms as user: Web Form 2.0 is not checked"),
        "{other}"
    );
    let given = dry(
        "https://staging.example.com",
        Some("https://forms.example.com"),
    );
    assert!(
        given.contains("GET https://forms.example.com/api/webForms"),
        "{given}"
    );
}

#[test]
fn the_binary_says_which_services_it_checked_and_diff_compares_only_those() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let served = Served::start(&[]);
    let front = rt.block_on(SplitFront::start(&served.url));
    let env = [
        (
            "FINAPI_APP_CLIENT_ID",
            finapi_conformance::world::demo::APP_CLIENT.0,
        ),
        (
            "FINAPI_APP_CLIENT_SECRET",
            finapi_conformance::world::demo::APP_CLIENT.1,
        ),
        (
            "FINAPI_ADMIN_CLIENT_ID",
            finapi_conformance::world::demo::ADMIN_CLIENT.0,
        ),
        (
            "FINAPI_ADMIN_CLIENT_SECRET",
            finapi_conformance::world::demo::ADMIN_CLIENT.1,
        ),
    ];
    let run = |args: &[&str]| {
        std::process::Command::new(BIN)
            .args(args)
            .args([
                "--rate",
                "0",
                "--only",
                "Web Forms",
                "--only",
                "Banks",
                "--no-lifecycle",
            ])
            .env_remove("FINAPI_BASE_URL")
            .env_remove("FINAPI_WEBFORM_URL")
            .envs(env)
            .output()
            .unwrap()
    };
    let text = |o: &std::process::Output| String::from_utf8_lossy(&o.stdout).to_string();
    let without = run(&["check", "--base-url", &front.access]);
    assert_eq!(without.status.code(), Some(0), "{}", text(&without));
    assert!(text(&without).contains(&format!("services: Access V2 at {}; Web Form 2.0 not checked: Web Form 2.0 does not answer at {}", front.access, front.access)), "{}", text(&without));
    let with = run(&[
        "check",
        "--base-url",
        &front.access,
        "--webform-url",
        front.webform_url(),
    ]);
    assert_eq!(with.status.code(), Some(0), "{}", text(&with));
    assert!(
        text(&with).contains(&format!("Web Form 2.0 at {}", front.webform_url())),
        "{}",
        text(&with)
    );
    // `serve` itself serves both on its own address.
    let same = run(&["check", "--base-url", &served.url]);
    assert!(
        text(&same).contains(&format!("Web Form 2.0 at {}", served.url)),
        "{}",
        text(&same)
    );
    // diff: the Web Form checks the split target was not checked on are not compared.
    let diff = run(&[
        "diff",
        "--base-url",
        &front.access,
        "--against",
        &served.url,
    ]);
    let shown = text(&diff);
    assert_eq!(diff.status.code(), Some(0), "{shown}");
    assert!(
        shown.contains("checks of a service one target was not checked on are not compared"),
        "{shown}"
    );
    drop(front);
}

// ---- Web Form's own error body, size limits included -------------------------------------------------

#[tokio::test]
async fn a_web_form_body_over_the_limit_gets_web_forms_error_body() {
    let sim = Simulator::new(&World::demo_for(ApiVersion::V2));
    let server = Server::start(sim, "127.0.0.1:0".parse().unwrap(), 0)
        .await
        .unwrap();
    let big = vec![b'a'; (1 << 20) + 1];
    let shapes = Shapes::embedded(ApiVersion::V2);
    for (op, path) in [
        (
            "createForBankConnectionImport",
            "/api/webForms/bankConnectionImport",
        ),
        ("createProfile", "/api/profiles"),
        ("createUser", "/api/v2/users"),
    ] {
        let resp = crate::common::send(
            crate::common::http()
                .post(format!("{}{path}", server.uri()))
                .header("content-type", "application/json")
                .body(big.clone()),
        )
        .await;
        assert_eq!(resp.status, 400, "{path}: {}", resp.text);
        let schema = shapes
            .response_schema(op, 400)
            .flatten()
            .unwrap_or_else(|| panic!("{op} documents a 400 body"));
        let problems = shapes.validate(&resp.body, schema);
        assert!(problems.is_empty(), "{path}: {problems:?} in {}", resp.text);
        let webform = path.starts_with("/api/webForms") || path.starts_with("/api/profiles");
        assert_eq!(
            resp.body.get("timestamp").is_some(),
            webform,
            "{path}: {}",
            resp.text
        );
        assert!(
            resp.text.contains("exceeds the limit of 1048576 bytes"),
            "{}",
            resp.text
        );
    }
    server.shutdown().await.unwrap();
}
