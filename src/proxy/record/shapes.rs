//! `shapes.json`: the shape differences a session saw, each operation, status and JSON path
//! with the problem and an example value (scrubbed: text that is not a code is replaced), to
//! update a reading or a shape in `fixtures/shapes/` from (docs/shapes.md).

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::proxy::state::ShapeDifference;

#[derive(Serialize)]
struct Entry<'a> {
    operation: &'a str,
    status: u16,
    path: &'a str,
    problem: &'a str,
    answers: usize,
    example: Value,
}

/// A value with its text scrubbed: codes (`UNAUTHORIZED_ACCESS`, `EUR`) stay, other strings
/// become `"<text>"`; numbers, booleans and the structure stay.
fn scrubbed(v: &Value) -> Value {
    match v {
        Value::String(s) => {
            let code = !s.is_empty()
                && s.len() <= 40
                && s.chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
            if code {
                v.clone()
            } else {
                Value::from("<text>")
            }
        }
        Value::Array(items) => Value::Array(items.iter().map(scrubbed).collect()),
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), scrubbed(v))).collect())
        }
        other => other.clone(),
    }
}

/// The file, or `None` when the session saw no difference.
pub(crate) fn render(
    differences: &[ShapeDifference],
    examples: &BTreeMap<(String, u16, String), Value>,
) -> Option<String> {
    if differences.is_empty() {
        return None;
    }
    let mut entries: Vec<Entry<'_>> = differences
        .iter()
        .map(|d| Entry {
            operation: &d.operation,
            status: d.status,
            path: &d.path,
            problem: &d.problem,
            answers: d.answers,
            example: examples
                .get(&(d.operation.clone(), d.status, d.path.clone()))
                .map(scrubbed)
                .unwrap_or(Value::Null),
        })
        .collect();
    entries.sort_by(|a, b| {
        (a.operation, a.status, a.path, a.problem).cmp(&(b.operation, b.status, b.path, b.problem))
    });
    serde_json::to_string_pretty(&entries)
        .ok()
        .map(|s| s + "\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn text_is_scrubbed_codes_stay() {
        let v = json!({ "code": "UNAUTHORIZED_ACCESS", "message": "Anna Muster", "n": 3 });
        assert_eq!(
            scrubbed(&v),
            json!({ "code": "UNAUTHORIZED_ACCESS", "message": "<text>", "n": 3 })
        );
    }
}
