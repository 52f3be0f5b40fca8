//! The conformance runner end to end: the faithful mock passes, every deliberate break is
//! reported, and runs against the in-process mock clean up after themselves.

use finapi_conformance::model::{ApiVersion, Mode, Principal, Rule, Verdict};
use finapi_conformance::runner::{self, CheckConfig, Filters, Target};
use finapi_conformance::{Faults, Violation};

fn config(version: ApiVersion, mode: Mode, faults: Faults) -> CheckConfig {
    let mut c = CheckConfig::new(Target::InProcess { faults }, version);
    c.mode = mode;
    c
}

#[tokio::test]
async fn the_faithful_mock_has_no_violation_in_either_version_or_mode() {
    for version in ApiVersion::ALL {
        for mode in [Mode::Boundary, Mode::Strict] {
            let report = runner::run(&config(version, mode, Faults::none()))
                .await
                .unwrap();
            let bad: Vec<_> = report
                .results
                .iter()
                .filter(|r| r.verdict != Verdict::Pass && r.verdict != Verdict::Skipped)
                .collect();
            assert!(bad.is_empty(), "{version} {mode:?}: {bad:#?}");
            let s = report.summary();
            assert!(
                s.passed > 900,
                "{version} {mode:?}: only {} checks passed",
                s.passed
            );
            assert_eq!(report.exit_code(), 0);
            assert_eq!(report.leftover_users, 0);
        }
    }
}

/// With `general-refusal-statuses` the mock refuses with 401/403 everywhere and strict mode
/// expects the same: still no violation.
#[tokio::test]
async fn general_refusal_statuses_agree_on_both_sides() {
    let mut c = config(ApiVersion::V1, Mode::Strict, Faults::none());
    c.readings = c
        .readings
        .clone()
        .with_settings(&["general-refusal-statuses=true"])
        .unwrap();
    let report = runner::run(&c).await.unwrap();
    let bad: Vec<_> = report
        .results
        .iter()
        .filter(|r| r.verdict != Verdict::Pass && r.verdict != Verdict::Skipped)
        .collect();
    assert!(bad.is_empty(), "{bad:#?}");
    assert!(report.summary().passed > 900);
}

#[tokio::test]
async fn every_deliberate_break_is_reported_under_its_rule() {
    for &violation in Violation::ALL {
        // Error-shape breaks keep the boundary (401/403 still deny): only strict mode sees them.
        let mode = if violation.rule() == Rule::ErrorShape {
            Mode::Strict
        } else {
            Mode::Boundary
        };
        let mut c = config(ApiVersion::V2, mode, Faults::none().with(violation));
        if mode == Mode::Boundary {
            // Only the checks of the break's rule: they must see it. The whole matrix per break
            // would cost the suite seconds; the faithful-mock test above runs it in full.
            c.filters = Filters {
                only: vec![violation.rule().id().to_string()],
                skip: vec![],
            };
        }
        let report = runner::run(&c).await.unwrap();
        let rules: Vec<Rule> = report.violations().map(|r| r.rule).collect();
        assert!(
            !rules.is_empty(),
            "{violation}: the runner reported no violation"
        );
        assert_eq!(report.exit_code(), 1, "{violation}");
        assert!(
            rules.contains(&violation.rule()) || violation.rule() == Rule::ErrorShape,
            "{violation}: reported under {rules:?}, not under {}",
            violation.rule()
        );
    }
}

#[tokio::test]
async fn filters_select_sections_operations_and_principals() {
    let mut c = config(ApiVersion::V2, Mode::Boundary, Faults::none());
    c.filters = Filters {
        only: vec!["Mandator Administration".into()],
        skip: vec!["user".into()],
    };
    c.lifecycle = false;
    let report = runner::run(&c).await.unwrap();
    assert!(!report.results.is_empty());
    assert!(report
        .results
        .iter()
        .all(|r| r.section == "Mandator Administration"));
    assert!(report.results.iter().all(|r| r.principal.name() != "user"));
    c.filters = Filters {
        only: vec!["getUserList".into(), "lifecycle:token-reuse".into()],
        skip: vec![],
    };
    c.lifecycle = true;
    let report = runner::run(&c).await.unwrap();
    let ops: std::collections::BTreeSet<_> = report
        .results
        .iter()
        .map(|r| r.operation.as_str())
        .collect();
    assert_eq!(
        ops.into_iter().collect::<Vec<_>>(),
        vec!["getUserList", "lifecycle:token-reuse"]
    );
}

#[tokio::test]
async fn the_run_removes_the_users_it_created() {
    let c = config(ApiVersion::V2, Mode::Boundary, Faults::none());
    let connected = runner::connect(&c).await.unwrap();
    let mock = connected.mock.as_ref().unwrap();
    let before = mock.simulator().with_state(|s| s.users[0].len());
    let catalogue = finapi_conformance::Catalogue::embedded().clone();
    let mut opts = runner::SessionOptions::new(ApiVersion::V2);
    opts.clock = Some(mock.clock().clone());
    let session = runner::Session::connect(
        connected.http.clone(),
        connected.credentials.clone(),
        catalogue.clone(),
        opts,
    )
    .await
    .unwrap();
    let results = runner::execute(&c, &session, &catalogue).await;
    assert!(results.iter().all(|r| r.verdict != Verdict::Violation));
    let during = mock.simulator().with_state(|s| s.users[0].len());
    assert!(during > before, "the run creates users of its own");
    assert_eq!(session.clean_up().await, 0);
    let prefix = session.prefix.clone();
    let left: Vec<String> = mock.simulator().with_state(|s| {
        s.users
            .iter()
            .flat_map(|m| m.keys().filter(|k| k.starts_with(&prefix)).cloned())
            .collect()
    });
    assert!(left.is_empty(), "users left behind: {left:?}");
}

/// The id cells (`fixtures/ids.csv`): another user, and another mandator's user, name the run
/// user's resource in a query filter or a body field. Against the faithful mock none is a
/// violation or inconclusive; each id break fails exactly its own cells of the whole V2 run,
/// and nothing else.
#[tokio::test]
async fn each_id_break_fails_exactly_its_id_cells() {
    use std::collections::BTreeSet;
    let run = |faults: Faults| async move {
        let mut c = config(ApiVersion::V2, Mode::Boundary, faults);
        c.lifecycle = false;
        runner::run(&c).await.unwrap()
    };
    let catalogue = finapi_conformance::Catalogue::embedded();
    let planned: BTreeSet<(String, Principal)> =
        runner::planned_id_checks(catalogue, ApiVersion::V2, &Filters::default())
            .iter()
            .map(|c| (c.name(), c.principal))
            .collect();
    let clean = run(Faults::none()).await;
    let cells: Vec<_> = clean
        .results
        .iter()
        .filter(|r| planned.contains(&(r.operation.clone(), r.principal)))
        .collect();
    assert_eq!(cells.len(), planned.len(), "every id cell is in the report");
    let mut per_rule: std::collections::BTreeMap<(String, &str), usize> = Default::default();
    for r in &cells {
        assert!(
            matches!(r.verdict, Verdict::Pass | Verdict::Skipped),
            "{r:#?}"
        );
        assert!(
            r.reason.starts_with(['?', '{']),
            "the reason names the field: {r:?}"
        );
        *per_rule
            .entry((r.rule.id().to_string(), r.verdict.name()))
            .or_default() += 1;
    }
    eprintln!("V2 id cells against the faithful mock: {per_rule:?}");
    for r in cells.iter().filter(|r| r.verdict == Verdict::Skipped) {
        eprintln!("  skipped {} as {}: {}", r.operation, r.principal, r.reason);
    }
    let passed = |rule: Rule| {
        cells
            .iter()
            .filter(|r| r.rule == rule && r.verdict == Verdict::Pass)
            .count()
    };
    assert!(passed(Rule::OwnDataOnly) >= 20, "{per_rule:?}");
    assert!(passed(Rule::MandatorIsolation) >= 20, "{per_rule:?}");

    let cases: [(Violation, BTreeSet<(String, Principal)>); 2] = [
        (
            Violation::IdFiltersCrossUsers,
            cells
                .iter()
                .filter(|r| {
                    r.method == "GET"
                        && r.principal == Principal::OtherUser
                        && r.verdict == Verdict::Pass
                })
                .map(|r| (r.operation.clone(), r.principal))
                .collect(),
        ),
        (
            Violation::BackgroundUpdateAnyConnection,
            [(
                "createBankConnectionUpdateTask{bankConnectionId}".to_string(),
                Principal::OtherUser,
            )]
            .into(),
        ),
    ];
    for (violation, want) in cases {
        let report = run(Faults::none().with(violation)).await;
        let got: BTreeSet<(String, Principal)> = report
            .violations()
            .map(|r| (r.operation.clone(), r.principal))
            .collect();
        assert_eq!(
            got, want,
            "{violation}: the violations differ from its cells"
        );
        assert!(report.violations().all(|r| r.rule == Rule::OwnDataOnly));
        eprintln!("{violation}: {} cells fail", got.len());
    }
}
