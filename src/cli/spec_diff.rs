//! `spec-diff`: what a finAPI OpenAPI spec adds, removes or changes against the catalogue and
//! the shapes.

use std::path::PathBuf;

use clap::Args;

use finapi_conformance::model::{openapi, spec_diff as sd, ApiVersion, Catalogue};

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
    let unreadable =
        |e: openapi::OpenApiError| Failure::usage(format!("{}: {e}", args.spec.display()));
    // The version is not known before the document is read; convert, then relabel.
    let mut spec = openapi::import_file(&args.spec, ApiVersion::V1).map_err(unreadable)?;
    let version = args.api_version.unwrap_or_else(|| sd::guess_version(&spec));
    spec.version = version;
    let differences = sd::spec_diff(
        &spec,
        Catalogue::embedded(),
        sd::shapes_for(sd::guess_api(&spec), version),
        version,
    );
    let name = args.spec.file_name().map_or_else(
        || args.spec.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    print!("{}", sd::render(&differences, &name, version));
    Ok(if differences.is_empty() { 0 } else { 1 })
}
