//! `features`: run Gherkin feature files with the built-in step library
//! ([`finapi_conformance::gherkin`]) against a fresh in-process mock per scenario or a real
//! target, with the `check` command's target flags and credentials, reported on the terminal
//! (`table`) and optionally as JUnit. Exit 0: every scenario passed; 1: a scenario failed; 2: a
//! usage error, a feature file that cannot be parsed, a scenario without a valid rule tag, or
//! an undefined or ambiguous step.

use std::path::PathBuf;

use clap::Args;

use finapi_conformance::gherkin::{self, Features, SuiteOptions};
use finapi_conformance::model::Mode;
use finapi_conformance::report::Format;
use finapi_conformance::runner::{url_for_display, Target};
use finapi_conformance::world::World;

use super::args::{OutputArgs, TargetArgs};
use super::config::config_for;
use super::failure::Failure;

#[derive(Debug, Args)]
pub struct FeaturesArgs {
    /// Feature files, or directories searched for `*.feature` (default: the built-in suite).
    #[arg(value_name = "DIR|FILE")]
    pub paths: Vec<PathBuf>,
    /// Base URL of a real target; `mock` or nothing: a fresh in-process mock per scenario.
    #[arg(long, env = "FINAPI_BASE_URL")]
    pub base_url: Option<String>,
    /// World file (TOML) of every scenario's in-process mock, as for `serve --world` (e.g. the
    /// `world.toml` of `proxy --record`); its clients and API version are the run's.
    #[arg(long, value_name = "FILE", conflicts_with = "base_url")]
    pub world: Option<PathBuf>,
    /// Only scenarios matching this cucumber tag expression, e.g.
    /// `@rule-token-reuse and not @mock-only` (tags of the scenario, its rule and its feature).
    #[arg(long, value_name = "EXPRESSION")]
    pub tags: Option<String>,
    /// Only scenarios whose name matches this regular expression.
    #[arg(long, value_name = "REGEX")]
    pub name: Option<String>,
    // `table`: the scenarios on the terminal as they run (always shown); `junit` (with
    // --output FILE): also a JUnit report, one test case per scenario.
    #[command(flatten)]
    pub output: OutputArgs,
    /// Write a JUnit report (one test case per scenario): the same as `--format junit --output
    /// FILE`.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["format", "output"])]
    pub junit: Option<PathBuf>,
    /// The target, credentials and mock flags of `check`. Here `--concurrency` is how many
    /// scenarios run at once (against a real target also the requests in flight).
    #[command(flatten)]
    pub target: TargetArgs,
}

/// Where the JUnit report goes, if anywhere. `features` shows its scenarios on the terminal
/// (`table`) and writes `junit` to a file; it has no other format.
fn junit_report(args: &FeaturesArgs) -> Result<Option<PathBuf>, Failure> {
    if let Some(path) = &args.junit {
        return Ok(Some(path.clone()));
    }
    match (args.output.format, &args.output.output) {
        (Format::Table, None) => Ok(None),
        (Format::Junit, Some(path)) => Ok(Some(path.clone())),
        (Format::Junit, None) => Err(Failure::usage(
            "`features --format junit` needs --output FILE (the terminal shows the scenarios)",
        )),
        (Format::Table, Some(_)) => Err(Failure::usage(
            "`features` writes only a JUnit report to a file: add --format junit",
        )),
        _ => Err(Failure::usage(
            "`features` reports as table (its scenarios on the terminal) or junit (with --output FILE)",
        )),
    }
}

/// The run's options from the command line.
fn options(args: &FeaturesArgs) -> Result<SuiteOptions, Failure> {
    let t = &args.target;
    let not_here = [
        (!t.only.is_empty(), "--only"),
        (!t.skip.is_empty(), "--skip"),
        (t.keep_users, "--keep-users"),
        (t.no_lifecycle, "--no-lifecycle"),
    ];
    if let Some((_, flag)) = not_here.iter().find(|(set, _)| *set) {
        return Err(Failure::usage(format!(
            "{flag} does not apply to `features`; select scenarios with --tags or --name"
        )));
    }
    let junit = junit_report(args)?;
    let config = config_for(args.base_url.as_deref(), t)?;
    let mut opts = match args.paths.as_slice() {
        [] => SuiteOptions::built_in(),
        paths => {
            let mut o = SuiteOptions::built_in();
            o.features = Features::Paths(paths.to_vec());
            o
        }
    };
    match &config.target {
        Target::InProcess { faults } => {
            opts.faults = faults.clone();
            if let Some(path) = &args.world {
                let world = World::from_file(path).map_err(|e| Failure::usage(e.to_string()))?;
                opts.world = Some(world);
            }
        }
        Target::Remote { base_url } => {
            if !t.judge.readings.is_empty() {
                return Err(Failure::usage(
                    "--reading changes the in-process mock only; a real target reads the rules its own way",
                ));
            }
            opts.base_url = Some(base_url.clone());
        }
    }
    opts.version = match &opts.world {
        Some(world) => world.mandators[0].api_version,
        None => config.version,
    };
    opts.readings = config.readings.clone();
    opts.strict = config.mode == Mode::Strict;
    opts.credentials = config.credentials.clone();
    opts.allow_mutations = config.allow_mutations;
    opts.limits = config.limits.clone();
    opts.transport = config.transport.clone();
    opts.webform_url = config.webform_url.clone();
    opts.concurrency = t.concurrency;
    opts.junit = junit;
    opts.console = true;
    if let Some(expr) = &args.tags {
        opts.tags = Some(gherkin::parse_tags(expr).map_err(Failure::usage)?);
    }
    if let Some(re) = &args.name {
        opts.name = Some(gherkin::parse_name(re).map_err(Failure::usage)?);
    }
    Ok(opts)
}

/// Run the command; returns the exit code.
pub async fn run(args: FeaturesArgs) -> Result<i32, Failure> {
    let opts = options(&args)?;
    let target = match &opts.base_url {
        Some(url) => url_for_display(url),
        None if opts.world.is_some() => {
            let path = args.world.as_ref().map(|p| p.display().to_string());
            let mut t = format!(
                "a fresh in-process mock per scenario, of the world {}",
                path.unwrap_or_default()
            );
            if !opts.faults.is_empty() {
                let names: Vec<&str> = opts.faults.iter().map(|v| v.name()).collect();
                t += &format!(", broken on purpose: {}", names.join(", "));
            }
            t
        }
        None if opts.faults.is_empty() => "a fresh in-process mock per scenario".into(),
        None => {
            let names: Vec<&str> = opts.faults.iter().map(|v| v.name()).collect();
            format!(
                "a fresh in-process mock per scenario, broken on purpose: {}",
                names.join(", ")
            )
        }
    };
    println!("features: {} against {target}", opts.features.describe());
    let outcome = if opts.is_remote() {
        // Scenarios remove their users when they end; one stopped halfway cannot.
        tokio::select! {
            outcome = gherkin::run_suite(opts) => outcome,
            _ = tokio::signal::ctrl_c() => {
                eprintln!("interrupted: scenarios still running did not remove the users they created (ids start with `fc-`)");
                return Ok(2);
            }
        }
    } else {
        gherkin::run_suite(opts).await
    };
    print!("{}", outcome.report());
    Ok(outcome.exit_code())
}
