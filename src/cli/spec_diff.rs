//! `spec-diff`: what a finAPI OpenAPI spec adds, removes or changes against the catalogue and
//! the shapes.

use std::path::PathBuf;

use clap::Args;

use finapi_conformance::model::{ApiVersion, SpecDiff};

use super::args::parse_version;
use super::failure::Failure;

#[derive(Debug, Args)]
pub struct SpecDiffArgs {
    /// The OpenAPI document (YAML or JSON).
    pub spec: PathBuf,
    /// API version to compare with (default: v2 if a path starts with /api/v2/, else v1).
    #[arg(long, value_parser = parse_version)]
    pub api_version: Option<ApiVersion>,
}

/// Run the command; returns the exit code (0 no difference, 1 some).
pub fn run(args: SpecDiffArgs) -> Result<i32, Failure> {
    let diff = SpecDiff::of_file(&args.spec, args.api_version)
        .map_err(|e| Failure::usage(format!("{}: {e}", args.spec.display())))?;
    let name = args.spec.file_name().map_or_else(
        || args.spec.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    print!("{}", diff.render(&name));
    Ok(if diff.is_empty() { 0 } else { 1 })
}
