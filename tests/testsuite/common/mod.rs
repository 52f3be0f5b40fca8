//! What the test areas share. Most of it lives in the test-support crate (`tests/support/`),
//! which the benchmarks use too: finAPI's token request spelled once (`Grant`, `token_path`),
//! the HTTP helpers for the loopback mocks and `TempDir`, re-exported here so a test says
//! `common::client_token(...)`, and `Served`. What stays here is what
//! only the tests need: the binary's path as cargo tells it to a test target, and the browser.
#![allow(unused_imports)]

pub mod browser;
pub mod proxy_process;

pub use finapi_conformance_test_support::client::*;
pub use finapi_conformance_test_support::grant::*;
pub use finapi_conformance_test_support::TempDir;

use std::path::Path;

/// A `serve` process for a test, and the binary's path for tests that run other commands.
pub mod served {
    pub use finapi_conformance_test_support::Served;

    /// The crate's binary.
    pub const BIN: &str = env!("CARGO_BIN_EXE_finapi-conformance");
}

/// How many scenarios the feature files in `dir` hold, read with the Gherkin parser: one per plain
/// scenario, one per example row of an outline.
pub fn scenarios_in(dir: &Path) -> usize {
    use cucumber::gherkin::{Feature, GherkinEnv};
    let mut count = 0;
    for entry in std::fs::read_dir(dir).expect("a directory of feature files") {
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

/// A proxy report's violations, one line each: `operation as principal: reason [rule]`.
pub fn proxy_violations(report: &finapi_conformance::proxy::ProxyReport) -> Vec<String> {
    use finapi_conformance::model::Verdict;
    report
        .report
        .results
        .iter()
        .filter(|r| r.verdict == Verdict::Violation)
        .map(|r| {
            format!(
                "{} as {}: {} [{}]",
                r.operation,
                r.principal,
                r.reason,
                r.rule.id()
            )
        })
        .collect()
}

/// Write a credentials file (`--credentials FILE`, the variables a user sets) naming every
/// client `c` holds: `FINAPI_APP_CLIENT_ID`, `FINAPI_APP_CLIENT_SECRET` and so on.
pub fn write_credentials(path: &Path, c: &finapi_conformance::runner::Credentials) {
    let text: String = [
        ("APP_CLIENT", &c.app),
        ("APP_CLIENT2", &c.app2),
        ("ADMIN_CLIENT", &c.admin),
        ("OTHER_APP_CLIENT", &c.other_app),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.as_ref().map(|v| (k, v)))
    .map(|(k, v)| format!("FINAPI_{k}_ID={}\nFINAPI_{k}_SECRET={}\n", v.id, v.secret))
    .collect();
    std::fs::write(path, text).expect("the credentials file is written");
}
