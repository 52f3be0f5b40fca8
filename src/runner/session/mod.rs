//! A session with a target: the tokens each principal uses, the users the run created (with a
//! recognisable prefix), the user data probes address, and the clean-up at the end.
//!
//! One file per idea: `base` the session and its tokens; `setup` the run's own users and what
//! each principal presents, and their clean-up; `bank_data` the main user's data (test-bank
//! import, web form, ids by kind). Set-up uses bank data, both use the base.

mod bank_data;
mod base;
mod setup;

pub use base::{access_token, RunUser, Session, SessionOptions, SetupError, WebFormCompletion};
