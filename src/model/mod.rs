//! The role model: which operations exist, who may call them, and what a caller must see.
//!
//! - [`catalogue`]: the operations, loaded from `fixtures/operations.csv`;
//! - [`paths`]: what a request path says before it is routed (its API version);
//! - [`principal`]: the callers a check can play;
//! - [`rules`]: the documented rules, each with its source;
//! - [`expect`](mod@expect): the oracle (principal x operation -> outcome) and the judge;
//! - [`readings`]: switches for the ambiguous places in the docs;
//! - `openapi` (feature `cli`): OpenAPI 3 documents converted into shapes;
//! - [`shapes`]: request and response shapes per API version (`fixtures/shapes/`);
//! - [`user_fields`]: what finAPI accepts as a user id and a password;
//! - `spec_diff` (feature `cli`): what a newer OpenAPI document changes against the catalogue
//!   and shapes.

pub mod catalogue;
pub mod expect;
#[cfg(feature = "cli")]
#[cfg_attr(docsrs, doc(cfg(feature = "cli")))]
pub mod openapi;
pub mod paths;
pub mod principal;
pub mod readings;
pub mod rules;
pub mod shapes;
#[cfg(feature = "cli")]
#[cfg_attr(docsrs, doc(cfg(feature = "cli")))]
pub mod spec_diff;
pub mod user_fields;

pub use catalogue::{
    Api, ApiVersion, CallerKind, Callers, Catalogue, CatalogueError, Gate, Grant, Operation,
    ProbeStyle, Safety, Source,
};
pub use expect::{expect, judge, Expectation, Judgement, Mode, Observed, Outcome, Verdict};
pub use paths::version_of_path;
pub use principal::Principal;
pub use readings::Readings;
pub use rules::Rule;
pub use shapes::{
    BodyShape, FieldProblem, Kind, OperationShape, Param, ParamIn, Problem, Schema, ShapeProblem,
    Shapes, ShapesError,
};
