//! The Gherkin step library: run feature files written in the plain-language vocabulary of
//! `features/README.md` against a fresh in-process mock per scenario or a real finAPI target,
//! and add your own steps beside the built-in ones.
//!
//! Behind the `gherkin` cargo feature. The same library drives
//! `finapi-conformance features [DIR|FILE]...` (no Rust needed), this crate's own tests
//! (`tests/testsuite/features.rs`, a test per feature file), and an integrator's own tests.
//!
//! - [`FinapiWorld`]: the state of one scenario (the cucumber `World`); its methods connect to
//!   the target, look up the scenario's users and tokens, and keep the last answer;
//! - [`SuiteOptions`] and [`Features`]: which feature files, which target, which scenarios;
//! - [`run_suite`]: run them and get a [`SuiteOutcome`] (scenario by scenario, exit code);
//! - [`cucumber()`]: the same set-up as a `cucumber::Cucumber`, to drive cucumber yourself;
//! - [`principal`] and [`version`]: parse principals and API versions as features write them;
//! - [`leave_out()`]: a step that meets a precondition the target cannot meet leaves its
//!   scenario out, with the reason, instead of failing it;
//! - [`BUILT_IN`]: this crate's suite, compiled in.
//!
//! Steps are thin: what an operation x principal must see comes from the role model
//! (`model::expect`), probes and their verdicts from the runner library
//! (`runner::check_one`, `runner::probe`, `runner::Session`).
//!
//! # Running your own feature files, with your own steps
//!
//! In your crate's `Cargo.toml` (cucumber's attribute macros expand to paths into the
//! `cucumber` crate, so you need it as a direct dependency, at the version this crate uses):
//!
//! ```toml
//! [dev-dependencies]
//! finapi-conformance = { version = "0.1", default-features = false, features = ["gherkin"] }
//! cucumber = "0.21"
//! tokio = { version = "1", features = ["macros", "rt-multi-thread"] }
//! ```
//!
//! Then a plain test, say `tests/my_features.rs`: libtest's options (`-q`, `--nocapture`,
//! `--list`, a name filter) work as for any test, and the library never reads the command
//! line. A step function that takes `&mut FinapiWorld` registers itself
//! for this world when your test binary is linked, so the built-in steps and yours are matched
//! against every step text of your feature files (a text two definitions match fails as
//! ambiguous):
//!
//! ```no_run
//! use cucumber::then;
//! use finapi_conformance::gherkin::{principal, run_suite, FinapiWorld, SuiteOptions};
//!
//! /// Your own step, beside the built-in vocabulary.
//! #[then(regex = r"^(.+) still gets a client token$")]
//! async fn still_gets_a_token(world: &mut FinapiWorld, who: String) {
//!     let who = principal(&who);
//!     let client = world.client(who).await;
//!     let answer = world.session().await.client_token(&client).await;
//!     assert!(answer.is_success(), "the {who} got status {}", answer.status);
//! }
//!
//! #[tokio::test]
//! async fn my_features() {
//!     let mut opts = SuiteOptions::mock("tests/features");
//!     opts.console = true; // cucumber's scenario-by-scenario output, with --nocapture
//!     let outcome = run_suite(opts).await;
//!     assert_eq!(outcome.exit_code(), 0, "{}", outcome.report());
//! }
//! ```
//!
//! [`SuiteOptions::from_env`] reads the same environment variables as this crate's
//! `tests/testsuite/features.rs` (`FINAPI_BASE_URL`, `FINAPI_VIOLATE`, `CUCUMBER_JUNIT`, ...), and
//! [`SuiteOptions::base_url`] with [`SuiteOptions::credentials`] points the run at a real
//! target, with the safety rules of the `check` command.
//!
//! Every scenario must carry a `@rule-<id>` tag naming the [`Rule`](crate::Rule) it checks;
//! the run fails otherwise ([`lint_features`]).

mod builtin;
mod leave_out;
mod options;
mod steps;
mod suite;
mod world;

pub use builtin::BUILT_IN;
pub use leave_out::{leave_out, left_out_reason, LeaveOut, LeftOut, LEFT_OUT};
pub use options::{
    parse_faults, parse_name, parse_tags, Features, SuiteOptions, MOCK_ONLY, MUTATES_SHARED,
    RULE_TAG,
};
pub use suite::{
    cucumber, lint_features, run_suite, Ending, FeatureLoader, ScenarioRecord, SuiteOutcome,
};
pub use world::{principal, version, Conn, FinapiWorld, HeldToken, NamedUser};
