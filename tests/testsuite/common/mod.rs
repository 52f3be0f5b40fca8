//! What the test areas share. Most of it lives in the test-support crate (`tests/support/`),
//! which the benchmarks use too: finAPI's token request spelled once (`Grant`, `token_path`),
//! the HTTP helpers for the loopback mocks and `TempDir`, re-exported here so a test says
//! `common::client_token(...)`, and `Served`. What stays here is what
//! only the tests need: the binary's path as cargo tells it to a test target, and the browser.
#![allow(unused_imports)]

pub mod browser;

pub use finapi_conformance_test_support::client::*;
pub use finapi_conformance_test_support::grant::*;
pub use finapi_conformance_test_support::TempDir;

/// A `serve` process for a test, and the binary's path for tests that run other commands.
pub mod served {
    pub use finapi_conformance_test_support::Served;

    /// The crate's binary.
    pub const BIN: &str = env!("CARGO_BIN_EXE_finapi-conformance");
}
