//! The role model: which operations exist, who may call them, and what a caller must see.
//!
//! - [`Catalogue`] and [`Operation`]: the operations, loaded from `fixtures/operations.csv`
//!   (`catalogue.rs`); [`version_of_path`]: what a path says before it is routed (`paths.rs`);
//! - [`Principal`]: the callers a check can play (`principal.rs`);
//! - [`Rule`]: the documented rules, each with its source (`rules.rs`);
//! - [`expect()`] and [`judge()`]: the oracle (principal x operation -> outcome) and the judge
//!   (`expect.rs`);
//! - [`Readings`]: switches for the ambiguous places in the docs (`readings.rs`);
//! - [`Shapes`]: request and response shapes per API version (`shapes/`, from
//!   `fixtures/shapes/`);
//! - what finAPI accepts as a user id and a password (`user_fields.rs`);
//! - with the feature `cli`: OpenAPI 3 documents converted into shapes (`import_openapi`,
//!   `openapi.rs`) and what a newer document changes against the catalogue and shapes
//!   (`SpecDiff`, `spec_diff.rs`).

pub(crate) mod catalogue;
pub(crate) mod expect;
#[cfg(feature = "cli")]
#[cfg_attr(docsrs, doc(cfg(feature = "cli")))]
pub(crate) mod openapi;
pub(crate) mod paths;
pub(crate) mod principal;
pub(crate) mod readings;
pub(crate) mod rules;
pub(crate) mod shapes;
#[cfg(feature = "cli")]
#[cfg_attr(docsrs, doc(cfg(feature = "cli")))]
pub(crate) mod spec_diff;
pub(crate) mod user_fields;

pub use catalogue::{
    Api, ApiVersion, CallerKind, Callers, Catalogue, CatalogueError, Gate, Grant, Operation,
    ProbeStyle, Safety, Source,
};
pub use expect::{
    expect, judge, CheckOrder, Expectation, Judgement, Mode, Observed, Outcome, Verdict,
};
#[cfg(feature = "cli")]
#[cfg_attr(docsrs, doc(cfg(feature = "cli")))]
pub use openapi::{import_file as import_openapi, parse_document as parse_openapi, OpenApiError};
pub use paths::version_of_path;
pub use principal::Principal;
pub use readings::Readings;
pub use rules::Rule;
pub use shapes::{
    BodyShape, FieldProblem, Kind, OperationShape, Param, ParamIn, Problem, Schema, ShapeProblem,
    Shapes, ShapesError,
};
#[cfg(feature = "cli")]
#[cfg_attr(docsrs, doc(cfg(feature = "cli")))]
pub use spec_diff::{Difference, SpecDiff};
