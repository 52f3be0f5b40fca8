//! The test suite: one binary, a module per area (cargo's own layout), so the crate links once
//! and every area's tests run in parallel. Run one area with its module name as the filter:
//! `cargo test mock_oauth::`, `cargo test features::token_lifecycle`.

mod common;
mod traffic;

mod cli;
mod cli_features;
mod conformance;
mod control_api;
mod docs;
mod features;
mod features_fail;
mod hostile;
mod html_report;
mod isolation;
mod journal;
mod malformed;
mod mock_admin;
mod mock_catalogue;
mod mock_client_config;
mod mock_errors;
mod mock_oauth;
mod mock_requests;
mod mock_users;
mod openapi_v1;
mod profiles;
mod properties;
mod proxy;
mod proxy_truth;
mod record;
mod resume;
mod runner;
mod security;
mod shapes;
mod snapshots;
mod soak;
mod spec_diff;
mod state_machine;
mod truth;
mod webform;
mod webform_browser;
