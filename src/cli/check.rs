//! `check`: every role boundary against the in-process mock or a real endpoint, reported in
//! any format; `--dry-run` lists the requests instead, `--resume` finishes an earlier report.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;

use finapi_conformance::model::Catalogue;
use finapi_conformance::report::{self, Format};
use finapi_conformance::runner::{self, http::Limits, CheckConfig, Target};

use super::args::{OutputArgs, TargetArgs};
use super::config::{config_for, credentials_of, secrets_of};
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
    let redactor = secrets_of(&config);
    if args.dry_run {
        let text = dry_run(&config).await?;
        process::write_stdout(&redactor.scrub(&text));
        return Ok(0);
    }
    config.handle_interrupt = true;
    if let Some(path) = &args.resume {
        let previous = runner::resume::Previous::load(path, &config).map_err(Failure::usage)?;
        eprintln!(
            "resuming {}: {} checks settled there, {} to run again",
            path.display(),
            previous.kept(),
            previous.rerun
        );
        config.resume = Some(Arc::new(previous));
    }
    if config.target.is_remote() {
        config.progress = Some(report::progress::for_stderr());
    }
    config.recorder = Some(runner::resume::Recorder::default());
    // A JSON report to a file is also written as the run goes (every 15 s), so a run that
    // dies leaves a report `--resume` can finish.
    let checkpoints = match (&args.output.output, args.output.format) {
        (Some(path), Format::Json) => {
            let scrubber = redactor.clone();
            futures::future::Either::Left(runner::resume::write_checkpoints(
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

/// Every request a run would send, with placeholders for tokens and secrets.
async fn dry_run(config: &CheckConfig) -> Result<String, Failure> {
    use std::fmt::Write;
    let catalogue = Catalogue::embedded().with_readings(&config.readings);
    let base = match &config.target {
        Target::Remote { base_url } => base_url.clone(),
        Target::InProcess { .. } => "http://127.0.0.1:0".into(),
    };
    // Refused as a real run would be (plain http to a remote host, an unusable --ca-cert).
    let http = runner::http::Http::with_transport(&base, Limits::local(), &config.transport)
        .map_err(Failure::usage)?;
    let session = runner::Session::offline(
        http,
        credentials_of(config),
        catalogue.clone(),
        runner::SessionOptions::new(config.version),
    );
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Dry run against {} (API {}): nothing is sent.",
        config.target.display(),
        config.version.label()
    );
    let _ = writeln!(out, "Set-up: a client_credentials token per configured client; users {}a0, {}b1, ... created, verified and logged in; one token revoked; at the end every user of the run is deleted.", session.prefix, session.prefix);
    // Calibration and evidence requests (src/runner/probe.rs): inert by construction.
    for (op, principal) in runner::probe::calibration_pairs(&session) {
        let _ = writeln!(
            out,
            "{} {} bearer=<{principal}> json={{}}    # calibration: does the target validate before the role check?",
            op.method, op.path
        );
    }
    let proofs: Vec<&str> = catalogue
        .operations(config.version)
        .filter(|op| runner::probe::proof_body(&session, op).is_some())
        .map(|op| op.id.as_str())
        .collect();
    let _ = writeln!(out, "EVIDENCE only when a denied caller gets a 4xx other than 401/403 and the target does not check the role first: the same request by an allowed caller (where that is inert), and a valid body naming only unknown ids for {}", proofs.join(", "));
    for (op, principal) in runner::planned_checks(&catalogue, config.version, &config.filters) {
        if config.target.is_remote()
            && !config.allow_mutations
            && runner::probe::harmful_if_broken(op, principal)
        {
            let _ = writeln!(
                out,
                "SKIP {} as {principal}: needs --allow-mutations",
                op.id
            );
            continue;
        }
        match runner::probe::build(&session, op, principal) {
            Ok(probe) => {
                let r = &probe.request;
                let body = match &r.body {
                    runner::http::Body::None => String::new(),
                    runner::http::Body::Json(v) => format!(" json={v}"),
                    runner::http::Body::Form(pairs) => {
                        let shown: Vec<String> = pairs
                            .iter()
                            .map(|(k, v)| match k.as_str() {
                                "client_secret" | "password" | "refresh_token" => {
                                    format!("{k}=<redacted>")
                                }
                                _ => format!("{k}={v}"),
                            })
                            .collect();
                        format!(" form={}", shown.join("&"))
                    }
                };
                let auth = r
                    .bearer
                    .as_deref()
                    .map(|_| format!(" bearer=<{principal}>"))
                    .unwrap_or_default();
                let _ = writeln!(
                    out,
                    "{} {}{auth}{body}    # {} as {principal}",
                    r.method, r.path, op.id
                );
            }
            Err(why) => {
                let _ = writeln!(out, "SKIP {} as {principal}: {why}", op.id);
            }
        }
    }
    if config.lifecycle {
        for sc in runner::lifecycle::scenarios() {
            let _ = writeln!(
                out,
                "SCENARIO lifecycle:{} ({}): several requests on users created for it",
                sc.name, sc.rule
            );
        }
    }
    Ok(out)
}
