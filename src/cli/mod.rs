//! The command line: the [`Cli`] parser, its commands, and the dispatch down to one file per
//! command. The commands share the flags of `args` and turn them into runs through `config`;
//! a failure is one line and an exit code (`failure`); `process` holds the stop signal.

mod args;
mod check;
mod config;
mod diff;
mod failure;
#[cfg(feature = "gherkin")]
mod features;
mod health;
mod matrix;
mod process;
mod proxy;
mod serve;
mod shapes;
mod spec_diff;

use clap::{Parser, Subcommand};

use failure::Failure;

#[derive(Debug, Parser)]
#[command(
    name = "finapi-conformance",
    version,
    about = "Role-boundary conformance for the finAPI API: a mock and a checker"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the mock finAPI standalone (for clients in any language, and long runs).
    Serve(serve::ServeArgs),
    /// Check every role boundary against the in-process mock or a real endpoint.
    Check(check::CheckArgs),
    /// Print the expected role matrix (what the docs say), or the rules behind it.
    Matrix(matrix::MatrixArgs),
    /// Run the same checks against two targets and list every check whose outcome differs.
    Diff(diff::DiffArgs),
    /// Response and request shapes (fixtures/shapes/).
    #[command(subcommand)]
    Shapes(shapes::ShapesCommand),
    /// List what a finAPI OpenAPI spec adds, removes or changes against the catalogue and the
    /// shapes; exit code 1 when anything differs.
    SpecDiff(spec_diff::SpecDiffArgs),
    /// Sit between your app and finAPI (or the mock): pass every call through, judge each
    /// with the role model, optionally replay reads and token grants as other principals.
    Proxy(proxy::ProxyArgs),
    /// Ask a running mock whether it is up (GET /__finapi/health); exit 0 if it is, 1 if not.
    Health(health::HealthArgs),
    /// Run Gherkin feature files (default: the built-in suite) with the built-in steps.
    #[cfg(feature = "gherkin")]
    Features(features::FeaturesArgs),
}

/// Run a parsed command; returns the process exit code.
pub async fn run(cli: Cli) -> Result<i32, Failure> {
    match cli.command {
        Command::Serve(args) => serve::run(args).await,
        Command::Check(args) => check::run(args).await,
        Command::Matrix(args) => matrix::run(args),
        Command::Diff(args) => diff::run(args).await,
        Command::Shapes(command) => shapes::run(command),
        Command::SpecDiff(args) => spec_diff::run(args),
        Command::Proxy(args) => proxy::run(args).await,
        Command::Health(args) => health::run(args).await,
        #[cfg(feature = "gherkin")]
        Command::Features(args) => features::run(args).await,
    }
}
