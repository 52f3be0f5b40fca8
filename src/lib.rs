//! # finapi-conformance
//!
//! Do finAPI's role boundaries hold, in your code and on finAPI's side? finAPI gives each
//! customer (a *mandator*) several app clients and one mandator admin client. App clients
//! create users and are the only ones that get user tokens; the admin client calls only the
//! mandator administration and never acts for a user. This crate keeps those boundaries as
//! data (the [`model`]) and gives you a mock finAPI that enforces them, for your app's tests.
//!
//! With `default-features = false` it builds the mock and what it needs, and nothing else:
//!
//! ```toml
//! [dev-dependencies]
//! finapi-conformance = { version = "0.1", default-features = false }
//! ```
//!
//! The features `serve` ([`serve`]: the mock as a server, for any language), `runner`
//! ([`runner`]: judge a real finAPI target) and `gherkin` ([`gherkin`]: the Gherkin step
//! library) add the rest; `cli` (the default) is the `finapi-conformance` binary.
//!
//! ## A mock finAPI per test
//!
//! [`FinapiMock`] starts a wiremock server that answers like finAPI: tokens, users, every
//! Access operation guarded by its documented callers, bodies in finAPI's shapes. It starts
//! with the demo [`World`]: mandators, app clients, an admin client and users with data.
//!
//! ```
//! use finapi_conformance::{world::demo, FinapiMock};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let mock = FinapiMock::start().await;
//! let http = reqwest::Client::new();
//!
//! // The admin client gets a token of its own...
//! let token: serde_json::Value = http
//!     .post(format!("{}/api/v2/oauth/token", mock.uri()))
//!     .form(&[
//!         ("grant_type", "client_credentials"),
//!         ("client_id", demo::ADMIN_CLIENT.0),
//!         ("client_secret", demo::ADMIN_CLIENT.1),
//!     ])
//!     .send().await.unwrap()
//!     .json().await.unwrap();
//! let admin = token["access_token"].as_str().unwrap();
//!
//! // ...but it never acts for a user: a user service refuses it.
//! let accounts = http
//!     .get(format!("{}/api/v2/accounts", mock.uri()))
//!     .bearer_auth(admin)
//!     .send().await.unwrap();
//! assert_eq!(accounts.status(), 403);
//! # }
//! ```
//!
//! ## Did my app use the right client? The journal
//!
//! The mock keeps a role-aware [`Journal`]: each request's operation, the kind of client
//! that called it, and the documented rule that refused it. Assert on it after your app ran.
//!
//! ```
//! use finapi_conformance::{world::demo, CallerKind, FinapiMock};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let mock = FinapiMock::start().await;
//! // ... your app runs against mock.uri() here; this one only asks for a client token ...
//! reqwest::Client::new()
//!     .post(format!("{}/api/v2/oauth/token", mock.uri()))
//!     .form(&[
//!         ("grant_type", "client_credentials"),
//!         ("client_id", demo::APP_CLIENT.0),
//!         ("client_secret", demo::APP_CLIENT.1),
//!     ])
//!     .send().await.unwrap();
//!
//! mock.assert_called_by("getToken", CallerKind::AppClient);
//! mock.assert_no_admin_token_on_user_services();
//! mock.assert_no_denials();
//! # }
//! ```
//!
//! ## Prove your checks can fail: faults
//!
//! A mock with a deliberate break ([`Violation`]) behaves as a finAPI that broke a
//! boundary. A check of yours that stays green on it checks nothing.
//!
//! ```
//! use finapi_conformance::{FinapiMock, Violation};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let broken = FinapiMock::builder()
//!     .violate(Violation::AdminReadsUserData)
//!     .start()
//!     .await;
//! assert!(broken.simulator().faults().has(Violation::AdminReadsUserData));
//! # }
//! ```
//!
//! ## No server at all: the simulator
//!
//! The [`Simulator`] behind both front doors answers in-process, and says which operation
//! it served and which rule refused it.
//!
//! ```
//! use finapi_conformance::{Rule, Simulator, World};
//!
//! let sim = Simulator::new(&World::demo());
//! let answer = sim.call("GET", "/api/v2/accounts", &[], b"");
//! assert_eq!(answer.status, 401);
//! assert_eq!(answer.served.operation, Some("getAndSearchAllAccounts"));
//! assert_eq!(answer.served.refused_by, Some(Rule::TokenRequired));
//! ```
//!
//! ## The role model
//!
//! Who may call what is one table, `fixtures/operations.csv`, compiled in: the
//! [`Catalogue`]. Its oracle ([`model::expect`](fn@model::expect)) says what a principal should get.
//!
//! ```
//! use finapi_conformance::{ApiVersion, CallerKind, Catalogue};
//!
//! let catalogue = Catalogue::embedded();
//! let list = catalogue.get(ApiVersion::V2, "getUserList").unwrap();
//! assert_eq!(list.path, "/api/v2/mandatorAdmin/getUserList");
//! assert!(list.callers.contains(CallerKind::MandatorAdmin));
//! assert!(!list.callers.contains(CallerKind::AppClient));
//! ```
//!
//! ## Where things are
//!
//! - [`model`]: operations, principals, rules, the oracle, the shapes;
//! - [`FinapiMock`] on wiremock (`mock.rs`); [`Journal`]: who called what (`journal.rs`);
//! - [`world`]: mandators, clients and users a mock starts with; [`Violation`]: deliberate
//!   breaks (`faults.rs`);
//! - [`sim`]: the transport-free simulator both front doors use (clock, profiles);
//! - [`serve`] (feature `serve`), [`runner`] and [`report`] (feature `runner`), [`gherkin`]
//!   (feature `gherkin`).

#![cfg_attr(docsrs, feature(doc_cfg))]

pub(crate) mod callbacks;
pub(crate) mod faults;
pub(crate) mod journal;
pub(crate) mod mock;
pub mod model;
pub mod sim;
pub mod world;

#[cfg(feature = "gherkin")]
#[cfg_attr(docsrs, doc(cfg(feature = "gherkin")))]
pub mod gherkin;
#[cfg(feature = "proxy")]
#[cfg_attr(docsrs, doc(cfg(feature = "proxy")))]
pub mod proxy;
#[cfg(feature = "runner")]
#[cfg_attr(docsrs, doc(cfg(feature = "runner")))]
pub mod report;
#[cfg(feature = "runner")]
#[cfg_attr(docsrs, doc(cfg(feature = "runner")))]
pub mod runner;
#[cfg(feature = "serve")]
#[cfg_attr(docsrs, doc(cfg(feature = "serve")))]
pub mod serve;

pub use faults::{Faults, Violation};
pub use journal::{CallerInfo, CallerKind, Calls, Journal, JournalEntry, JournalFinding};
pub use mock::{FinapiMock, FinapiMockBuilder};
pub use model::{ApiVersion, Catalogue, Principal, Readings, Rule};
pub use sim::{Clock, Simulator};
pub use world::World;

// The Rust examples of the README and the guides are compiled and run as doctests, so they
// cannot drift from the API (`cargo test --doc`).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExamples;
#[cfg(doctest)]
#[doc = include_str!("../docs/rust-tests.md")]
struct RustTestsGuideExamples;
#[cfg(all(doctest, feature = "gherkin"))]
#[doc = include_str!("../docs/scenarios.md")]
struct ScenariosGuideExamples;
