//! The Gherkin suite (`features/`), one libtest test per feature file, each a thin user of the
//! library's step library (`finapi_conformance::gherkin`), as an integrator's own test would be.
//!
//! Being plain `#[test]`s, they take libtest's options like every other test: a name filter
//! (`cargo test features::token_lifecycle`), `--exact`, `--list`, `--ignored`, `-q`,
//! `--nocapture` (shows each file's summary), `--test-threads`. Cucumber's scenario-by-scenario
//! output, which bypasses libtest's capture, is on with `FINAPI_FEATURES_CONSOLE=1`.
//!
//! By default every scenario runs against a fresh in-process mock. With `FINAPI_BASE_URL` set
//! (and the `check` command's credential variables) the same features run against that target;
//! `@mock-only` scenarios are left out there, each with a printed reason. `CUCUMBER_JUNIT=path`
//! writes a JUnit report; `FINAPI_VIOLATE=name,name` injects breaks into every scenario's mock;
//! `FINAPI_STRICT=1`, `FINAPI_ALLOW_MUTATIONS=1`, `FINAPI_FEATURES_TAGS=expression` and
//! `FINAPI_FEATURES_NAME=regex` are described in `features/README.md`. Undefined, skipped or
//! ambiguous steps, and scenarios without a valid `@rule-<id>` tag, fail the test.

use std::path::{Path, PathBuf};

use finapi_conformance::gherkin::{self, Features, SuiteOptions};

fn features_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("features")
}

/// Runs one feature file as the environment asks, and fails with the suite's report.
async fn run(name: &str) {
    let mut opts = SuiteOptions::from_env().unwrap_or_else(|e| panic!("features: {e}"));
    opts.features = Features::path(features_dir().join(format!("{name}.feature")));
    // cucumber writes to the terminal itself, past libtest's capture: only when asked.
    opts.console = std::env::var_os("FINAPI_FEATURES_CONSOLE").is_some();
    if let Ok(path) = std::env::var("CUCUMBER_JUNIT") {
        // One report per feature file, beside the path asked for.
        opts.junit = Some(PathBuf::from(format!("{path}.{name}.xml")));
    }
    let outcome = gherkin::run_suite(opts).await;
    let report = outcome.report();
    print!("{report}");
    assert!(
        !outcome.scenarios.is_empty(),
        "features/{name}.feature ran no scenario\n{report}"
    );
    assert_eq!(
        outcome.exit_code(),
        0,
        "features/{name}.feature failed\n{report}"
    );
}

macro_rules! feature_files {
    ($($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                run(stringify!($name)).await;
            }
        )*

        /// A feature file added to `features/` without a test here would never run.
        #[test]
        fn every_feature_file_has_a_test() {
            let listed = [$(stringify!($name)),*];
            let mut found: Vec<String> = std::fs::read_dir(features_dir())
                .expect("features/")
                .filter_map(|e| {
                    let path = e.ok()?.path();
                    (path.extension()? == "feature")
                        .then(|| path.file_stem()?.to_str().map(str::to_string))?
                })
                .collect();
            found.sort();
            let mut listed: Vec<String> = listed.iter().map(|s| s.to_string()).collect();
            listed.sort();
            assert_eq!(found, listed, "add the new feature file to feature_files! in tests/testsuite/features.rs");
        }
    };
}

feature_files!(
    api_version,
    app_clients,
    error_shapes,
    ids,
    intruder,
    mandator_admin,
    shared_user_base,
    token_lifecycle,
    user_tokens,
    webform,
);
