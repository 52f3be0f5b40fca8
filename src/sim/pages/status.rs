//! A web form's status as JSONP, `/webForm/{id}/status.js?callback=NAME`, which the embedded
//! element polls to follow the form from any origin without CORS.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::sim::form::query_value;
use crate::sim::ops::webform::completion::expire;
use crate::sim::state::State;

/// `/webForm/{id}/status.js?callback=NAME`: the form's status as JSONP, so the embedded
/// element can follow it from any origin without CORS.
pub const STATUS_SUFFIX: &str = "/status.js";

/// `/webForm/{id}/status.js?callback=NAME`: `NAME({"status": ...})` (`null` for an unknown
/// form). The id is the form's secret, as its URL is.
pub fn status(
    state: &mut State,
    id: &str,
    query: Option<&str>,
    now: DateTime<Utc>,
) -> (u16, String) {
    expire(state, now);
    let Some(callback) = query_value(query, "callback", |c| {
        c.is_ascii_alphanumeric() || c == '_' || c == '$'
    }) else {
        return (
            400,
            "/* status.js needs `callback` (a JavaScript name) */\n".into(),
        );
    };
    let status = state
        .webform
        .forms
        .get(id)
        .map_or(Value::Null, |f| json!({ "status": f.status }));
    (200, format!("{callback}({status});\n"))
}
