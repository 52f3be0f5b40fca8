//! `check`: every role boundary against the in-process mock or a real endpoint, reported in
//! any format; `--dry-run` lists the requests instead, `--resume` finishes an earlier report.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;

use finapi_conformance::report::{self, Format};
use finapi_conformance::runner;

use super::args::{OutputArgs, TargetArgs};
use super::config::config_for;
use super::failure::Failure;
use super::process;

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Base URL of the target (finAPI sandbox/staging, or a `serve` process); `mock` or
    /// nothing: the in-process mock.
    #[arg(long, env = "FINAPI_BASE_URL")]
    pub base_url: Option<String>,
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    /// List every request the run would send, and send none.
    #[arg(long)]
    pub dry_run: bool,
    /// Re-run only the checks a previous JSON report left failed, inconclusive or unfinished,
    /// and merge its passes and skips into this run's report.
    #[arg(long, value_name = "REPORT.json")]
    pub resume: Option<PathBuf>,
}

/// Run the command; returns the exit code.
pub async fn run(args: CheckArgs) -> Result<i32, Failure> {
    let mut config = config_for(args.base_url.as_deref(), &args.target)?;
    let redactor = config.secrets();
    if args.dry_run {
        let text = runner::dry_run(&config).map_err(Failure::usage)?;
        process::write_stdout(&redactor.scrub(&text));
        return Ok(0);
    }
    config.handle_interrupt = true;
    if let Some(path) = &args.resume {
        let previous = runner::Previous::load(path, &config).map_err(Failure::usage)?;
        eprintln!(
            "resuming {}: {} checks settled there, {} to run again",
            path.display(),
            previous.kept(),
            previous.rerun
        );
        config.resume = Some(Arc::new(previous));
    }
    if config.target.is_remote() {
        config.progress = Some(report::progress_for_stderr());
    }
    config.recorder = Some(runner::Recorder::default());
    // A JSON report to a file is also written as the run goes (every 15 s), so a run that
    // dies leaves a report `--resume` can finish.
    let checkpoints = match (&args.output.output, args.output.format) {
        (Some(path), Format::Json) => {
            let scrubber = redactor.clone();
            futures::future::Either::Left(runner::write_checkpoints(
                config.clone(),
                path.clone(),
                Duration::from_secs(15),
                move |text| scrubber.scrub(text),
            ))
        }
        _ => futures::future::Either::Right(std::future::pending::<()>()),
    };
    let report = tokio::select! {
        r = runner::run(&config) => r,
        _ = checkpoints => Err(runner::RunError::Config("the checkpoint writer stopped".into())),
    }
    .map_err(|e| Failure::usage(redactor.scrub(&e.to_string())))?;
    let text = redactor.scrub(&report::render(
        &report,
        args.output.format,
        args.output.color(),
    ));
    args.output
        .write(&text, &redactor.scrub(&report::summary_line(&report)))?;
    if report.leftover_users > 0 {
        eprintln!("warning: {} users created by this run could not be removed (their ids start with the run prefix)", report.leftover_users);
    }
    if report.interrupted {
        eprintln!("interrupted: the run's users were cleaned up");
        return Ok(2);
    }
    Ok(report.exit_code())
}
