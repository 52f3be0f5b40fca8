//! `diff`: the same checks against two targets, and every check whose outcome differs. A check
//! of a service one of the targets does not serve where the run looked (Web Form 2.0 without
//! an address) is not compared: it has no outcome on that side.

use clap::Args;

use finapi_conformance::model::{Catalogue, Service};
use finapi_conformance::report;
use finapi_conformance::runner;

use super::args::TargetArgs;
use super::config::config_for;
use super::failure::Failure;

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// First target (`mock` for the in-process mock).
    #[arg(long)]
    pub base_url: String,
    /// Second target (`mock` for the in-process mock).
    #[arg(long)]
    pub against: String,
    #[command(flatten)]
    pub target: TargetArgs,
}

/// Run the command; returns the exit code (0 no difference, 1 some).
pub async fn run(args: DiffArgs) -> Result<i32, Failure> {
    let a = config_for(Some(&args.base_url), &args.target)?;
    let b = config_for(Some(&args.against), &args.target)?;
    let mut redactor = a.secrets();
    for s in b.secrets().scrub_list() {
        redactor.add(s);
    }
    let (ra, rb) = tokio::join!(runner::run(&a), runner::run(&b));
    let ra =
        ra.map_err(|e| Failure::usage(redactor.scrub(&format!("{}: {e}", a.target.display()))))?;
    let rb =
        rb.map_err(|e| Failure::usage(redactor.scrub(&format!("{}: {e}", b.target.display()))))?;
    // The services a side did not check, by name.
    let unchecked: Vec<&str> = ra
        .services
        .iter()
        .chain(&rb.services)
        .filter(|s| !s.checked)
        .map(|s| s.service.as_str())
        .collect();
    let catalogue = Catalogue::embedded();
    let mut differences = 0;
    let mut not_compared = 0;
    for x in &ra.results {
        let service = catalogue
            .get(a.version, x.operation_id())
            .map(|op| Service::of(op).name());
        if service.is_some_and(|s| unchecked.contains(&s.as_str())) {
            not_compared += 1;
            continue;
        }
        let y = rb
            .results
            .iter()
            .find(|y| y.operation == x.operation && y.principal == x.principal);
        let same =
            y.is_some_and(|y| y.verdict == x.verdict && y.observed_status == x.observed_status);
        if !same {
            differences += 1;
            let show = |r: Option<&runner::CheckResult>| match r {
                Some(r) => format!(
                    "{} ({})",
                    r.verdict.name(),
                    r.observed_status.map_or("-".into(), |s| s.to_string())
                ),
                None => "not run".into(),
            };
            println!(
                "{} as {}: {} = {}, {} = {}",
                x.operation,
                x.principal,
                ra.target,
                show(Some(x)),
                rb.target,
                show(y)
            );
        }
    }
    for r in [&ra, &rb] {
        println!(
            "{}: {}",
            r.target,
            redactor.scrub(&report::services_line(r))
        );
    }
    if not_compared > 0 {
        println!(
            "{not_compared} checks of a service one target was not checked on are not compared"
        );
    }
    println!(
        "{differences} of {} checks differ between {} and {}",
        ra.results.len() - not_compared,
        ra.target,
        rb.target
    );
    Ok(if differences == 0 { 0 } else { 1 })
}
