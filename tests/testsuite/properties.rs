//! Property tests of the role boundary: a random principal (every token state included) calls a
//! random operation of the catalogue (V1 and V2, grant rows included) with random path
//! parameters and bodies, and the library's oracle (`model::expect` + `model::judge`) must
//! agree with what the target answers. The requests are the runner's own inert probes
//! (`runner::probe::build` on a `runner::Session`), varied in their path parameters and bodies.
//!
//! Targets: the simulator without a socket (default, fast), the wiremock mock over real HTTP
//! (a smaller run), or a real finAPI when `FINAPI_BASE_URL` and the `check` command's credential
//! variables are set (then only inert variations are sent, harmful probes are skipped unless
//! `FINAPI_ALLOW_MUTATIONS=true`, the API version comes from `FINAPI_API_VERSION`, default v2,
//! and the run's users are removed at the end).
//!
//! Two tests break a boundary on purpose and run the property with proptest's `TestRunner`
//! directly, asserting that it fails and shrinks to the smallest pair.
//!
//! `FINAPI_PROPTEST_VIOLATE=<break>` (a `serve --list-violations` name) runs the in-process
//! property against a mock with that break, to see a failure and its shrunk case.
//!
//! Case counts: `PROPTEST_CASES` (default 4,096 in-process, an eighth of it over HTTP). A failing
//! run prints its seed. Runs use a recorded seed by default (deterministic CI);
//! `FINAPI_PROPTEST_SEED=random` explores new cases, `FINAPI_PROPTEST_SEED=<hex>` replays a
//! printed run, and proptest appends the failing case's seed to
//! `proptest-regressions/properties.txt` (replayed first on every later run).
//!
//! The cases, targets and checker live in the test-support crate (`tests/support/`, module
//! `pairs`), which `benches/properties.rs` uses too to measure cases per second with the same code.

use std::sync::atomic::{AtomicUsize, Ordering};

use finapi_conformance::model::Principal;
use finapi_conformance::{Faults, Violation};
use finapi_conformance_test_support::pairs::{
    case_strategy, check, BodyVar, Case, Checked, Params, Target, Transport,
};
use proptest::test_runner::{
    Config, FileFailurePersistence, RngAlgorithm, TestError, TestRng, TestRunner,
};

// ---------------------------------------------------------------------------------------------
// Runner set-up

/// `FINAPI_PROPTEST_VIOLATE=<break>` runs the mock property against a broken mock, to see
/// what a failure looks like (the run must then fail).
fn faults_from_env() -> Faults {
    match std::env::var("FINAPI_PROPTEST_VIOLATE") {
        Ok(name) if !name.is_empty() => Faults::none().with(name.parse().expect("a break name")),
        _ => Faults::none(),
    }
}

/// Cases per run unless `PROPTEST_CASES` says otherwise. A break in a single cell of the matrix
/// (one operation for one principal) is one pair in about 2,000; 4,096 cases find such a break
/// most of the time and still run in about a second in a debug build.
const DEFAULT_CASES: u32 = 4096;

fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The seed every run uses unless told otherwise, so that CI is deterministic: the same cases
/// on every machine, and a failure in CI fails the same way on a laptop.
const RECORDED_SEED: &str = "f1a9c0de5eed0000000000000000000000000000000000000000000000000001";

/// A run's seed: `FINAPI_PROPTEST_SEED` (64 hex digits) replays a run, `random` explores with a
/// fresh one (printed on failure); unset, the recorded seed.
fn seed() -> [u8; 32] {
    let mut seed = [0u8; 32];
    let chosen = std::env::var("FINAPI_PROPTEST_SEED").unwrap_or_else(|_| RECORDED_SEED.into());
    match chosen.as_str() {
        "random" => rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut seed),
        hex => {
            for (i, b) in seed.iter_mut().enumerate() {
                *b = hex
                    .get(2 * i..2 * i + 2)
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .unwrap_or(0);
            }
        }
    }
    seed
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn runner(cases: u32, seed: [u8; 32], persist: bool) -> TestRunner {
    let config = Config {
        cases,
        max_shrink_iters: 4096,
        failure_persistence: persist.then(|| {
            Box::new(FileFailurePersistence::Direct(
                "proptest-regressions/properties.txt",
            )) as Box<dyn proptest::test_runner::FailurePersistence>
        }),
        ..Config::default()
    };
    TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &seed))
}

/// Run the pair property against `target`; returns how many cases were judged.
fn run_pairs(target: &Target, cases: u32, name: &str) -> usize {
    let seed = seed();
    let judged = AtomicUsize::new(0);
    let mut runner = runner(cases, seed, true);
    let result = runner.run(&case_strategy(target.space()), |case| {
        if let Checked::Judged = check(target, &case)? {
            judged.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    });
    let leftover = if target.is_remote() {
        target.clean_up()
    } else {
        0
    };
    if let Err(e) = result {
        panic!(
            "{name}: {e}\nseed {} (replay this run with FINAPI_PROPTEST_SEED={})",
            hex(&seed),
            hex(&seed)
        );
    }
    assert_eq!(leftover, 0, "{name}: users left on the target");
    judged.into_inner()
}

// ---------------------------------------------------------------------------------------------
// Tests

#[test]
fn every_random_pair_gets_what_the_role_model_predicts() {
    let target = Target::remote_from_env()
        .unwrap_or_else(|| Target::mock(faults_from_env(), Transport::InProcess));
    let n = cases(DEFAULT_CASES);
    let judged = run_pairs(&target, n, "pairs");
    eprintln!("pairs: {judged} of {n} cases judged");
    // On the mock only the few probes the runner itself skips (no V1 web form to address)
    // may be skipped; a real target may skip more (missing credentials, harmful probes).
    if !target.is_remote() {
        assert!(
            judged * 100 >= n as usize * 95,
            "only {judged} of {n} cases were judged"
        );
    }
}

#[test]
fn random_pairs_over_real_http_get_what_the_role_model_predicts() {
    if std::env::var("FINAPI_BASE_URL").is_ok_and(|b| !b.is_empty() && b != "mock") {
        // The remote run above already goes over the network.
        return;
    }
    let target = Target::mock(Faults::none(), Transport::Http);
    let n = (cases(DEFAULT_CASES) / 8).max(16);
    let judged = run_pairs(&target, n, "pairs over HTTP");
    eprintln!("pairs over HTTP: {judged} of {n} cases judged");
    assert!(
        judged * 100 >= n as usize * 95,
        "only {judged} of {n} cases were judged"
    );
}

/// Run the property against a broken mock with a fixed seed and return the shrunk case.
fn shrink_against(violation: Violation) -> (Case, String) {
    let target = Target::mock(Faults::none().with(violation), Transport::InProcess);
    // Enough cases that the few failing pairs are met whatever the seed.
    let mut runner = runner(4000, [7u8; 32], false);
    match runner.run(&case_strategy(target.space()), |case| {
        check(&target, &case).map(|_| ())
    }) {
        Err(TestError::Fail(reason, case)) => (case, reason.to_string()),
        Err(other) => panic!("{violation}: unexpected outcome {other}"),
        Ok(()) => panic!("{violation}: the property held against a broken mock"),
    }
}

#[test]
fn admin_gets_user_token_shrinks_to_the_admin_password_grant() {
    let (case, reason) = shrink_against(Violation::AdminGetsUserToken);
    eprintln!("shrunk to: {case:?}\n  because: {reason}");
    assert_eq!(case.op().id, "getToken.password", "{case:?}");
    assert_eq!(case.principal, Principal::AdminClient, "{case:?}");
    assert!(case.params == Params::Probe && case.body == BodyVar::Probe);
    assert!(
        reason.contains("user-tokens-via-app-clients"),
        "the failure names the rule: {reason}"
    );
}

#[test]
fn app_client_lists_users_shrinks_to_the_first_app_client_on_get_user_list() {
    let (case, reason) = shrink_against(Violation::AppClientListsUsers);
    eprintln!("shrunk to: {case:?}\n  because: {reason}");
    assert_eq!(case.op().id, "getUserList", "{case:?}");
    // Both app clients of the mandator fail; the smaller principal is the first one.
    assert_eq!(case.principal, Principal::AppClient, "{case:?}");
    // getUserList has no path parameter, and every body shrinks to the probe's.
    assert!(case.body == BodyVar::Probe, "{case:?}");
    assert!(reason.contains("intruder-app-client"), "{reason}");
}

/// The pair property draws Web Form 2.0 operations too: a user token let into the admin's
/// profiles and translations is found and shrunk to a user on one of them.
#[test]
fn user_edits_profiles_shrinks_to_a_user_on_a_web_form_admin_operation() {
    let (case, reason) = shrink_against(Violation::UserEditsProfiles);
    eprintln!("shrunk to: {case:?}\n  because: {reason}");
    assert!(case.op().is_webform(), "{case:?}");
    assert!(
        ["Profiles", "Translations"].contains(&case.op().section.as_str()),
        "{case:?}"
    );
    assert_eq!(case.principal, Principal::User, "{case:?}");
    assert!(reason.contains("user-scope"), "{reason}");
}

/// The pair property draws the id cells too (`fixtures/ids.csv`): a list whose id filters
/// find every user's items is found and shrunk to another user on one id filter.
#[test]
fn id_filters_cross_users_shrinks_to_another_user_on_an_id_filter() {
    let (case, reason) = shrink_against(Violation::IdFiltersCrossUsers);
    eprintln!("shrunk to: {case:?}\n  because: {reason}");
    let field = case.field().expect("an id cell");
    assert!(field.label().starts_with('?'), "{case:?}");
    assert_eq!(case.op().method, http::Method::GET, "{case:?}");
    assert_eq!(case.principal, Principal::OtherUser, "{case:?}");
    assert!(reason.contains("own-data-only"), "{reason}");
    assert!(
        reason.contains(&field.label()),
        "the failure names the field: {reason}"
    );
}

/// A background update that acts on any user's connection shrinks to its one cell: another
/// user naming the run user's bank connection in `bankConnectionId`.
#[test]
fn background_update_any_connection_shrinks_to_the_tasks_bank_connection_id() {
    let (case, reason) = shrink_against(Violation::BackgroundUpdateAnyConnection);
    eprintln!("shrunk to: {case:?}\n  because: {reason}");
    assert_eq!(case.op().id, "createBankConnectionUpdateTask", "{case:?}");
    assert_eq!(
        case.field().map(|f| f.field.as_str()),
        Some("bankConnectionId"),
        "{case:?}"
    );
    assert_eq!(case.principal, Principal::OtherUser, "{case:?}");
    assert!(reason.contains("{bankConnectionId}"), "{reason}");
}
