//! The Gherkin suite (`features/`) as a `cargo test` target (`harness = false`).
//!
//! By default every scenario runs against a fresh in-process mock. With `FINAPI_BASE_URL` set
//! (and the `check` command's credential variables) the same features run against that target;
//! `@mock-only` scenarios are left out there, each with a printed reason. `CUCUMBER_JUNIT=path`
//! writes a JUnit report; `FINAPI_VIOLATE=name,name` injects breaks into every scenario's mock;
//! `FINAPI_STRICT=1`, `FINAPI_ALLOW_MUTATIONS=1` and `FINAPI_FEATURES=dir` are described in
//! `features/README.md`.
//! Undefined, skipped or ambiguous steps, and scenarios without a valid `@rule-<id>` tag, fail
//! the run.

mod steps;

#[tokio::main]
async fn main() {
    let opts = match steps::SuiteOptions::from_env() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("features: {e}");
            std::process::exit(2);
        }
    };
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
    println!("features: {} against {target}", opts.features.display());
    let outcome = steps::run_suite(opts).await;
    for problem in &outcome.problems {
        println!("features: problem: {problem}");
    }
    for s in outcome.scenarios.iter().filter(|s| !s.passed) {
        println!(
            "FAILED {}: {} (line {}): {}",
            s.feature, s.name, s.line, s.detail
        );
    }
    if !outcome.excluded.is_empty() {
        println!(
            "{} scenario(s) left out for this target (listed above)",
            outcome.excluded.len()
        );
    }
    println!("features: {}", outcome.summary_line());
    if !outcome.passed() {
        std::process::exit(1);
    }
}
