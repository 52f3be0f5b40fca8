//! `diff`: the same checks against two targets, and every check whose outcome differs.

use clap::Args;

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
    let mut differences = 0;
    for x in &ra.results {
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
    println!(
        "{differences} of {} checks differ between {} and {}",
        ra.results.len(),
        ra.target,
        rb.target
    );
    Ok(if differences == 0 { 0 } else { 1 })
}
