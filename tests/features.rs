//! The Gherkin suite (`features/`) as a `cargo test` target (`harness = false`), a thin user of
//! the library's step library (`finapi_conformance::gherkin`), as an integrator's own test
//! target would be.
//!
//! By default every scenario runs against a fresh in-process mock. With `FINAPI_BASE_URL` set
//! (and the `check` command's credential variables) the same features run against that target;
//! `@mock-only` scenarios are left out there, each with a printed reason. `CUCUMBER_JUNIT=path`
//! writes a JUnit report; `FINAPI_VIOLATE=name,name` injects breaks into every scenario's mock;
//! `FINAPI_STRICT=1`, `FINAPI_ALLOW_MUTATIONS=1`, `FINAPI_FEATURES=dir`,
//! `FINAPI_FEATURES_TAGS=expression` and `FINAPI_FEATURES_NAME=regex` are described in
//! `features/README.md`.
//!
//! Like a libtest target it takes a filter from the command line: `cargo test --test features
//! -- revoke` runs only the scenarios whose name contains `revoke` (`--exact`: whose name is
//! it); a filter no scenario matches runs nothing and passes, as libtest does, so
//! `cargo test some_unit_test` is not broken by this target.
//! Undefined, skipped or ambiguous steps, and scenarios without a valid `@rule-<id>` tag, fail
//! the run.

use finapi_conformance::gherkin::{self, SuiteOptions};

/// libtest options that take a value (so the value is not mistaken for a filter).
const WITH_VALUE: &[&str] = &[
    "--test-threads",
    "--skip",
    "--format",
    "--color",
    "--logfile",
    "--shuffle-seed",
    "-Z",
];

/// What the command line asks of this harness-less target.
struct Args {
    filter: Option<String>,
    exact: bool,
    /// `--list` or `--ignored`: nothing of this target to run.
    nothing: bool,
}

fn args() -> Args {
    let mut out = Args {
        filter: None,
        exact: false,
        nothing: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--exact" => out.exact = true,
            "--list" | "--ignored" => out.nothing = true,
            flag if WITH_VALUE.contains(&flag) => {
                it.next();
            }
            flag if flag.starts_with('-') => {}
            filter => out.filter = Some(filter.to_string()),
        }
    }
    out
}

#[tokio::main]
async fn main() {
    let args = args();
    if args.nothing {
        return;
    }
    let mut opts = match SuiteOptions::from_env() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("features: {e}");
            std::process::exit(2);
        }
    };
    if let Some(filter) = &args.filter {
        let escaped = regex::escape(filter);
        let pattern = if args.exact {
            format!("^{escaped}$")
        } else {
            escaped
        };
        opts.name = Some(gherkin::parse_name(&pattern).expect("an escaped pattern is valid"));
    }
    if opts.is_remote() && !opts.faults.is_empty() {
        println!("features: FINAPI_VIOLATE breaks only the in-process mock; it is ignored for FINAPI_BASE_URL");
    }
    let target = match &opts.base_url {
        Some(url) => finapi_conformance::runner::redact::url_for_display(url),
        None if opts.faults.is_empty() => "a fresh in-process mock per scenario".to_string(),
        None => {
            let names: Vec<&str> = opts.faults.iter().map(|v| v.name()).collect();
            format!(
                "a fresh in-process mock per scenario, broken on purpose: {}",
                names.join(", ")
            )
        }
    };
    println!("features: {} against {target}", opts.features.describe());
    let outcome = gherkin::run_suite(opts).await;
    let nothing_matched = args.filter.is_some()
        && outcome.scenarios.is_empty()
        && outcome.problems.is_empty()
        && outcome.parsing_errors == 0;
    if nothing_matched {
        println!("features: no scenario name matches the filter; nothing to run");
        return;
    }
    print!("{}", outcome.report());
    std::process::exit(outcome.exit_code());
}
