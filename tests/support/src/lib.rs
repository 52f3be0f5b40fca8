//! What finapi-conformance's tests and benchmarks share, as cargo does with its
//! `cargo-test-support` crate: a crate of its own that both depend on, so a benchmark measures
//! the tests' own code without including their files.
//!
//! - [`grant`]: finAPI's token request spelled once (path per version, each grant's form);
//! - [`client`]: a client for the loopback mocks and helpers over it (token grants, JSON calls);
//! - [`served`]: the `serve` binary in a child process;
//! - [`split`]: finAPI's two hosts (Access, Web Form 2.0) split out of one mock, for the
//!   runner's and the proxy's truth tests;
//! - [`temp`]: a temp directory that removes itself;
//! - [`pairs`]: the pair property's cases, targets and checker (`tests/testsuite/properties.rs`
//!   runs them as a property, `benches/properties.rs` times them).
//!
//! It links the same `finapi_conformance` library as the test binary and the benchmarks, so a
//! `Faults` or a `Session` made on one side is the type the other side takes. The crate's own
//! unit tests do not use it (they build the library a second time, with `cfg(test)`).

pub mod client;
pub mod grant;
pub mod pairs;
pub mod served;
pub mod split;
pub mod temp;

pub use served::Served;
pub use split::{FrontOptions, SplitFront};
pub use temp::TempDir;
