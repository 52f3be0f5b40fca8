//! Bodies that keep finAPI's published contract: every JSON body the simulator answers passes
//! through here on its way out and is completed from the operation's documented response shape
//! (`fixtures/shapes/`, [`Shapes::fill`]), so a client generated from finAPI's specification
//! can read it: every required field present, no `null` where the shape has no `nullable`.
//!
//! Handlers build bodies from state and say what they know; this module adds what the mock has
//! no opinion on. Hot paths that serialize complete bodies themselves (`Reply::RawJson`: the
//! bank list, users) skip it; `tests/conformance.rs` checks that their bodies conform.

use serde_json::Value;

use crate::model::shapes::{Schema, Shapes};
use crate::model::ApiVersion;

/// The seed of the values `fill` makes up for one operation and status: stable, so the same
/// request gets the same body.
fn seed(op_id: &str, status: u16) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in op_id.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100_0000_01b3);
    }
    h ^ u64::from(status)
}

/// What to send for a handler's JSON body.
#[derive(Debug, PartialEq)]
pub enum Outgoing {
    /// This body (completed when the status is documented).
    Json(Value),
    /// The operation documents this status without a body: send none.
    NoBody,
}

/// Complete `value`, the body of `op_id`'s answer with `status`, to its documented shape. A
/// status the shapes do not document for the operation keeps the handler's body as it is
/// (`tests/conformance.rs` lists such statuses).
pub fn response(version: ApiVersion, op_id: &str, status: u16, value: Value) -> Outgoing {
    let shapes = Shapes::embedded(version);
    match shapes.response_schema(op_id, status) {
        None => Outgoing::Json(value),
        Some(None) => Outgoing::NoBody,
        Some(Some(schema)) => Outgoing::Json(shapes.fill(schema, value, seed(op_id, status))),
    }
}

/// Complete an error body: to the operation's documented error shape for `status` where there
/// is one, else to the version's `BadCredentialsError` (401) or `ErrorMessage` model. Error
/// bodies always keep a body.
pub fn error(version: ApiVersion, op_id: Option<&str>, status: u16, value: Value) -> Value {
    let shapes = Shapes::embedded(version);
    let documented = op_id.and_then(|op| shapes.response_schema(op, status).flatten());
    let name = if status == 401 {
        "BadCredentialsError"
    } else {
        "ErrorMessage"
    };
    let fallback;
    let schema = match documented {
        Some(s) => s,
        None if shapes.model(name).is_some() => {
            fallback = Schema::reference(name);
            &fallback
        }
        None => return value,
    };
    shapes.fill(schema, value, seed(op_id.unwrap_or(name), status))
}

/// `value` completed to the version's model `name` (unchanged when the shapes lack it).
pub fn model(version: ApiVersion, name: &str, value: Value) -> Value {
    let shapes = Shapes::embedded(version);
    if shapes.model(name).is_none() {
        return value;
    }
    shapes.fill(&Schema::reference(name), value, seed(name, 200))
}
