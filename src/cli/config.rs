//! From the shared flags to what the library runs: a run's [`CheckConfig`], the deliberate
//! breaks.

use std::time::Duration;

use finapi_conformance::runner::{self, CheckConfig, Filters, Limits, Target};
use finapi_conformance::{Faults, Violation};

use super::args::TargetArgs;
use super::failure::Failure;

/// `--violate` names as a set of breaks.
pub fn faults(names: &[String]) -> Result<Faults, Failure> {
    names
        .iter()
        .map(|v| v.parse::<Violation>())
        .collect::<Result<_, _>>()
        .map_err(Failure::usage)
}

/// Build a run configuration from the shared target flags.
pub fn config_for(base_url: Option<&str>, args: &TargetArgs) -> Result<CheckConfig, Failure> {
    let mut target = Target::parse(base_url);
    let faults = faults(&args.violations)?;
    match &mut target {
        Target::InProcess { faults: f } => *f = faults,
        Target::Remote { .. } if !faults.is_empty() => {
            return Err(Failure::usage("--violate breaks the in-process mock only; use `serve --violate` for a separate process"))
        }
        Target::Remote { .. } => {}
    }
    let mut config = CheckConfig::new(target, args.judge.api_version);
    config.readings = args.judge.readings.readings()?;
    config.mode = args.judge.mode();
    config.filters = Filters {
        only: args.only.clone(),
        skip: args.skip.clone(),
    };
    let mut limits = if config.target.is_remote() {
        Limits::remote()
    } else {
        Limits::local()
    };
    if config.target.is_remote() {
        limits.rate = args.rate.max(0.0);
        limits.retries = args.retries;
    }
    limits.timeout = Duration::from_secs(args.timeout.max(1));
    if let Some(c) = args.concurrency {
        if c == 0 {
            return Err(Failure::usage("--concurrency must be at least 1"));
        }
        limits.concurrency = c;
    }
    config.limits = Some(limits);
    config.transport = args.transport.transport();
    if let Target::Remote { base_url } = &config.target {
        // Refused at once, before any other work, any connection or any name lookup.
        runner::TargetUrl::parse(base_url, &config.transport).map_err(Failure::usage)?;
    }
    config.credentials = args.judge.credentials_file()?;
    config.allow_mutations = args.allow_mutations;
    config.keep_users = args.keep_users;
    config.lifecycle = !args.no_lifecycle;
    config.state_file = args.state.clone();
    config.webform_url = args.webform_url.clone();
    config.webform_interactive = args.webform_interactive.map(Duration::from_secs);
    Ok(config)
}
