//! # finapi-conformance
//!
//! A role-boundary conformance harness for the finAPI banking API: the role model as data, a
//! stateful mock of finAPI, and a runner that checks any target against the model.
//!
//! - [`model`]: operations, principals, rules and the oracle (`fixtures/operations.csv`);
//! - [`sim`]: the transport-free simulator (state, role guard, handlers, clock);
//! - [`mock`]: the simulator on a `wiremock::MockServer`, for Rust tests;
//! - [`serve`]: the simulator on a multi-threaded hyper server, for long runs;
//! - [`world`]: mandators, clients and users a simulator starts with;
//! - [`faults`]: deliberate boundary breaks that prove the checks can fail;
//! - `gherkin` (feature `gherkin`, default): the Gherkin step library and suite runner.

pub mod cli;
#[cfg(feature = "gherkin")]
pub mod cli_features;
pub mod faults;
#[cfg(feature = "gherkin")]
pub mod gherkin;
pub mod mock;
pub mod model;
pub mod report;
pub mod runner;
pub mod serve;
pub mod sim;
pub mod world;

pub use faults::{Faults, Violation};
pub use mock::{FinapiMock, FinapiMockBuilder};
pub use model::{ApiVersion, Catalogue, Principal, Readings, Rule};
pub use sim::{Clock, Simulator};
pub use world::World;
