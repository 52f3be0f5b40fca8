//! `shapes`: the response and request shapes; `shapes import-openapi` converts an OpenAPI 3
//! document into the shapes format.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use finapi_conformance::model::{import_openapi, ApiVersion};

use super::args::parse_version;
use super::failure::Failure;

#[derive(Debug, Subcommand)]
pub enum ShapesCommand {
    /// Convert an OpenAPI 3 document (YAML or JSON) into the shapes format and print it.
    ImportOpenapi(ImportOpenapiArgs),
}

#[derive(Debug, Args)]
pub struct ImportOpenapiArgs {
    /// The OpenAPI document.
    pub spec: PathBuf,
    /// API version the shapes are for.
    #[arg(long, value_parser = parse_version)]
    pub api_version: ApiVersion,
}

/// Run the command; returns the exit code.
pub fn run(command: ShapesCommand) -> Result<i32, Failure> {
    match command {
        ShapesCommand::ImportOpenapi(args) => {
            let shapes = import_openapi(&args.spec, args.api_version)
                .map_err(|e| Failure::usage(e.to_string()))?;
            print!("{}", shapes.to_json_pretty());
            Ok(0)
        }
    }
}
