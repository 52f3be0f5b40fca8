//! Response and request shapes as data: what finAPI's bodies look like, per API version.
//!
//! The shapes live in `fixtures/shapes/v1.json` and `v2.json` (format: `fixtures/shapes/README.md`)
//! and are compiled into the crate. One file per idea:
//!
//! - `schema`: the format ([`Schema`], [`OperationShape`], [`Shapes`]), the embedded files
//!   parsed once per process ([`Shapes::embedded`]) and lookups over them;
//! - `validate`: [`Shapes::validate`] lists every way a JSON value breaks a schema (the
//!   conformance checks); [`Shapes::check_request_body`] names the first bad field of a
//!   request (the mock's 400/422);
//! - `fill`: [`Shapes::fill`] completes a partial body into one that conforms (the mock's
//!   responses); [`Shapes::request_body`] makes a request body an operation accepts (what the
//!   runner, the steps and the tests send);
//! - `pattern` and `formats`, below both: patterns matched against the whole string, as
//!   finAPI's server does (Java's `@Pattern`), not searched for inside it, with a sample that
//!   matches; the string formats, and calendar days read and written by hand.
//!
//! Validation and filling read the schema; filling keeps what validation accepts, so it uses
//! validation, never the other way round.

mod fill;
mod formats;
mod pattern;
mod schema;
mod validate;

pub(crate) use formats::{format_ymd, parse_ymd};
pub use schema::{BodyShape, Kind, OperationShape, Param, ParamIn, Schema, Shapes, ShapesError};
pub use validate::{FieldProblem, Problem, ShapeProblem};
