//! `matrix`: the expected role matrix (what the docs say), or the rules behind it.

use clap::Args;

use finapi_conformance::model::{ApiVersion, Catalogue, Rule};
use finapi_conformance::report;

use super::args::{parse_version, ReadingArgs};
use super::failure::Failure;

#[derive(Debug, Args)]
pub struct MatrixArgs {
    #[arg(long, default_value = "v2", value_parser = parse_version)]
    pub api_version: ApiVersion,
    /// Print the rules and the documentation behind each instead.
    #[arg(long)]
    pub rules: bool,
    #[command(flatten)]
    pub readings: ReadingArgs,
}

/// Run the command; returns the exit code.
pub fn run(args: MatrixArgs) -> Result<i32, Failure> {
    if args.rules {
        for rule in Rule::ALL {
            println!(
                "{:<28} {}\n{:<28} source: {}",
                rule.id(),
                rule.statement(),
                "",
                rule.source()
            );
        }
    } else {
        let catalogue = Catalogue::embedded().with_readings(&args.readings.readings()?);
        print!("{}", report::expected_matrix(&catalogue, args.api_version));
    }
    Ok(0)
}
