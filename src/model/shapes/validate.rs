//! Validation against the shapes: every way a JSON value breaks a schema (the conformance
//! checks), and the first bad field of a request body (the mock's 400/422).

use std::fmt;

use serde_json::{Number, Value};

use super::formats::format_ok;
use super::schema::{Kind, Schema, Shapes, MAX_DEPTH};

/// One way a value breaks a schema, at a JSON path such as `$.banks[0].blzs`.
#[derive(Debug, Clone, PartialEq)]
pub struct ShapeProblem {
    pub path: String,
    pub problem: Problem,
}

impl fmt::Display for ShapeProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.problem)
    }
}

/// What is wrong with a value.
#[derive(Debug, Clone, PartialEq)]
pub enum Problem {
    /// A required field is absent (the path names the field).
    MissingRequired,
    WrongType {
        expected: &'static str,
        found: &'static str,
    },
    /// `null` where the schema is not nullable.
    NullNotAllowed,
    /// A value outside the enum (shown as JSON).
    UnknownEnumValue {
        value: String,
    },
    /// A string or integer that breaks its format (`date`, `date-time`, `int32`, ...).
    BadFormat {
        format: String,
        value: String,
    },
    /// A number below `minimum` or above `maximum`.
    OutOfRange {
        value: String,
        bound: String,
    },
    /// A string outside `min_length`/`max_length`, or an array outside `min_items`/`max_items`.
    BadLength {
        length: u64,
        bound: String,
    },
    PatternMismatch {
        pattern: String,
    },
    /// `one_of` with zero or several matching alternatives.
    OneOf {
        matched: usize,
    },
    /// A `ref` to a model the shapes do not have.
    UnknownModel {
        name: String,
    },
}

impl Problem {
    /// A short stable name for the kind of problem.
    pub fn kind(&self) -> &'static str {
        match self {
            Problem::MissingRequired => "missing",
            Problem::WrongType { .. } => "type",
            Problem::NullNotAllowed => "null",
            Problem::UnknownEnumValue { .. } => "enum",
            Problem::BadFormat { .. } => "format",
            Problem::OutOfRange { .. } => "range",
            Problem::BadLength { .. } => "length",
            Problem::PatternMismatch { .. } => "pattern",
            Problem::OneOf { .. } => "one-of",
            Problem::UnknownModel { .. } => "unknown-model",
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::MissingRequired => f.write_str("required field is missing"),
            Problem::WrongType { expected, found } => write!(f, "expected {expected}, got {found}"),
            Problem::NullNotAllowed => f.write_str("null where the field is not nullable"),
            Problem::UnknownEnumValue { value } => {
                write!(f, "{value} is not one of the allowed values")
            }
            Problem::BadFormat { format, value } => write!(f, "{value} is not a valid {format}"),
            Problem::OutOfRange { value, bound } => write!(f, "{value} is out of range ({bound})"),
            Problem::BadLength { length, bound } => write!(f, "length {length} breaks {bound}"),
            Problem::PatternMismatch { pattern } => write!(f, "does not match pattern {pattern}"),
            Problem::OneOf { matched } => {
                write!(f, "{matched} alternatives of one_of match (need exactly 1)")
            }
            Problem::UnknownModel { name } => write!(f, "unknown model `{name}`"),
        }
    }
}

/// The first bad field of a request body, for a 400/422 answer that names it.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldProblem {
    /// The field's path inside the body (`name`, `accounts[0].iban`); empty for the body itself.
    pub field: String,
    pub problem: Problem,
}

impl fmt::Display for FieldProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() {
            write!(f, "request body: {}", self.problem)
        } else {
            write!(f, "field '{}': {}", self.field, self.problem)
        }
    }
}

/// Where a walk is: validating a response, or a request body (form bodies carry text).
#[derive(Clone, Copy)]
struct Mode {
    form: bool,
}

impl Shapes {
    /// Every way `value` breaks `schema` (empty when it conforms). Fields the schema does not
    /// name are allowed.
    pub fn validate(&self, value: &Value, schema: &Schema) -> Vec<ShapeProblem> {
        let mut out = Vec::new();
        let mut path = String::from("$");
        self.check(value, schema, &mut path, 0, Mode { form: false }, &mut out);
        out
    }

    /// True when `value` conforms to `schema`.
    pub fn conforms(&self, value: &Value, schema: &Schema) -> bool {
        self.validate(value, schema).is_empty()
    }

    /// True when `value`, met at `depth` of a walk, conforms to `schema` (a response value,
    /// not form text).
    pub(super) fn conforms_at(&self, value: &Value, schema: &Schema, depth: usize) -> bool {
        let mut path = String::new();
        let mut sub = Vec::new();
        self.check(
            value,
            schema,
            &mut path,
            depth,
            Mode { form: false },
            &mut sub,
        );
        sub.is_empty()
    }

    fn check(
        &self,
        v: &Value,
        s: &Schema,
        path: &mut String,
        depth: usize,
        mode: Mode,
        out: &mut Vec<ShapeProblem>,
    ) {
        if depth > MAX_DEPTH {
            return;
        }
        if v.is_null() {
            if !self.accepts_null_at(s, depth) {
                add(out, path, Problem::NullNotAllowed);
            }
            return;
        }
        if let Some(r) = &s.reference {
            match self.models.get(r) {
                Some(m) => self.check(v, m, path, depth + 1, mode, out),
                None => add(out, path, Problem::UnknownModel { name: r.clone() }),
            }
            return;
        }
        if let Some(alts) = &s.one_of {
            let matched = alts
                .iter()
                .filter(|a| {
                    let mut sub = Vec::new();
                    self.check(v, a, &mut path.clone(), depth + 1, mode, &mut sub);
                    sub.is_empty()
                })
                .count();
            if matched != 1 {
                add(out, path, Problem::OneOf { matched });
            }
            return;
        }
        if let Some(values) = &s.enumeration {
            let known = values
                .iter()
                .any(|e| e == v || (mode.form && form_equal(e, v)));
            if !known {
                add(
                    out,
                    path,
                    Problem::UnknownEnumValue {
                        value: v.to_string(),
                    },
                );
                return;
            }
        }
        let kind = s.effective_kind();
        let wrong = |expected: Kind| Problem::WrongType {
            expected: expected.as_str(),
            found: json_type(v),
        };
        match kind {
            Kind::Any => {}
            Kind::Object => {
                let Some(obj) = v.as_object() else {
                    add(out, path, wrong(kind));
                    return;
                };
                let len = path.len();
                for req in &s.required {
                    if !obj.contains_key(req) {
                        push_field(path, req);
                        add(out, path, Problem::MissingRequired);
                        path.truncate(len);
                    }
                }
                for (name, value) in obj {
                    let schema = match s.fields.as_ref().and_then(|f| f.get(name)) {
                        Some(fs) => fs,
                        None => match &s.additional {
                            Some(a) => a,
                            None => continue,
                        },
                    };
                    push_field(path, name);
                    self.check(value, schema, path, depth + 1, mode, out);
                    path.truncate(len);
                }
            }
            Kind::Array => {
                let Some(items) = v.as_array() else {
                    add(out, path, wrong(kind));
                    return;
                };
                let n = items.len() as u64;
                if let Some(min) = s.min_items.filter(|m| n < *m) {
                    add(
                        out,
                        path,
                        Problem::BadLength {
                            length: n,
                            bound: format!("min_items {min}"),
                        },
                    );
                }
                if let Some(max) = s.max_items.filter(|m| n > *m) {
                    add(
                        out,
                        path,
                        Problem::BadLength {
                            length: n,
                            bound: format!("max_items {max}"),
                        },
                    );
                }
                if let Some(item) = &s.items {
                    let len = path.len();
                    for (i, value) in items.iter().enumerate() {
                        use fmt::Write as _;
                        let _ = write!(path, "[{i}]");
                        self.check(value, item, path, depth + 1, mode, out);
                        path.truncate(len);
                    }
                }
            }
            Kind::String => {
                let Some(text) = v.as_str() else {
                    add(out, path, wrong(kind));
                    return;
                };
                for problem in self.string_problems(s, text) {
                    add(out, path, problem);
                }
            }
            Kind::Integer | Kind::Number => {
                let number = match v {
                    Value::Number(n) => Some(n.clone()),
                    Value::String(t) if mode.form => t.trim().parse::<Number>().ok(),
                    _ => None,
                };
                let Some(n) = number.filter(|n| kind == Kind::Number || !n.is_f64()) else {
                    add(out, path, wrong(kind));
                    return;
                };
                if let Some(problem) = number_problem(s, &n) {
                    add(out, path, problem);
                }
            }
            Kind::Boolean => {
                let ok =
                    v.is_boolean() || (mode.form && matches!(v.as_str(), Some("true" | "false")));
                if !ok {
                    add(out, path, wrong(kind));
                }
            }
        }
    }

    /// Format, length and pattern problems of a string value.
    pub(super) fn string_problems(&self, s: &Schema, text: &str) -> Vec<Problem> {
        let mut out = Vec::new();
        if let Some(format) = &s.format {
            if !format_ok(format, text) {
                out.push(Problem::BadFormat {
                    format: format.clone(),
                    value: Value::String(text.to_string()).to_string(),
                });
            }
        }
        if s.min_length.is_some() || s.max_length.is_some() {
            let n = text.chars().count() as u64;
            if let Some(min) = s.min_length.filter(|m| n < *m) {
                out.push(Problem::BadLength {
                    length: n,
                    bound: format!("min_length {min}"),
                });
            }
            if let Some(max) = s.max_length.filter(|m| n > *m) {
                out.push(Problem::BadLength {
                    length: n,
                    bound: format!("max_length {max}"),
                });
            }
        }
        if let Some(pattern) = &s.pattern {
            let ok = self.with_pattern(pattern, |p| p.is_none_or(|p| p.regex.is_match(text)));
            if !ok {
                out.push(Problem::PatternMismatch {
                    pattern: pattern.clone(),
                });
            }
        }
        out
    }

    /// Check a request body against `op_id`'s body shape and name the first field that is
    /// missing, of the wrong type, or outside its enum. Operations without a body shape, and
    /// unknown operations, accept anything. For form bodies the values are text (a JSON object
    /// of strings), so `"5"` is a fine integer there.
    pub fn check_request_body(&self, op_id: &str, body: &Value) -> Result<(), FieldProblem> {
        let Some(shape) = self.operations.get(op_id).and_then(|o| o.body.as_ref()) else {
            return Ok(());
        };
        if body.is_null() {
            return if shape.required {
                Err(FieldProblem {
                    field: String::new(),
                    problem: Problem::MissingRequired,
                })
            } else {
                Ok(())
            };
        }
        let mut out = Vec::new();
        let mut path = String::from("$");
        let mode = Mode {
            form: shape.is_form(),
        };
        self.check(body, &shape.schema, &mut path, 0, mode, &mut out);
        out.into_iter()
            .find(|p| {
                matches!(
                    p.problem,
                    Problem::MissingRequired
                        | Problem::WrongType { .. }
                        | Problem::NullNotAllowed
                        | Problem::UnknownEnumValue { .. }
                )
            })
            .map_or(Ok(()), |p| {
                let field = p.path.strip_prefix('$').unwrap_or(&p.path);
                Err(FieldProblem {
                    field: field.strip_prefix('.').unwrap_or(field).to_string(),
                    problem: p.problem,
                })
            })
    }
}

/// The JSON type name of a value.
fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_f64() => "number",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn add(out: &mut Vec<ShapeProblem>, path: &str, problem: Problem) {
    out.push(ShapeProblem {
        path: path.to_string(),
        problem,
    });
}

/// A form value (text) equals an enum value when the enum value reads the same.
fn form_equal(enum_value: &Value, given: &Value) -> bool {
    match (enum_value, given.as_str()) {
        (Value::String(e), Some(g)) => e == g,
        (other, Some(g)) => serde_json::from_str::<Value>(g).is_ok_and(|x| x == *other),
        _ => false,
    }
}

fn push_field(path: &mut String, name: &str) {
    path.push('.');
    path.push_str(name);
}

/// Format (int32/int64) and bound problems of a number.
pub(super) fn number_problem(s: &Schema, n: &Number) -> Option<Problem> {
    let bad_format = match s.format.as_deref() {
        Some("int32") => n.as_i64().is_none_or(|i| i32::try_from(i).is_err()),
        Some("int64") => n.as_i64().is_none(),
        _ => false,
    };
    if bad_format {
        return Some(Problem::BadFormat {
            format: s.format.clone().unwrap_or_default(),
            value: n.to_string(),
        });
    }
    let x = n.as_f64()?;
    if let Some(min) = s
        .minimum
        .as_ref()
        .and_then(Number::as_f64)
        .filter(|m| x < *m)
    {
        return Some(Problem::OutOfRange {
            value: n.to_string(),
            bound: format!("minimum {min}"),
        });
    }
    if let Some(max) = s
        .maximum
        .as_ref()
        .and_then(Number::as_f64)
        .filter(|m| x > *m)
    {
        return Some(Problem::OutOfRange {
            value: n.to_string(),
            bound: format!("maximum {max}"),
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::super::schema::tests::{bank, good_bank, shapes};
    use super::*;
    use serde_json::json;

    fn kinds(problems: &[ShapeProblem]) -> Vec<(String, &'static str)> {
        problems
            .iter()
            .map(|p| (p.path.clone(), p.problem.kind()))
            .collect()
    }

    #[test]
    fn a_good_value_has_no_problems() {
        let s = shapes();
        assert_eq!(s.validate(&good_bank(), &bank()), vec![]);
    }

    #[test]
    fn validate_catches_each_kind_of_problem() {
        let s = shapes();
        let cases: Vec<(&str, Value, &str, &str)> = vec![
            ("remove", json!("name"), "$.name", "missing"),
            ("set", json!({"name": 5}), "$.name", "type"),
            ("set", json!({"id": 1.5}), "$.id", "type"),
            ("set", json!({"blzs": "12345678"}), "$.blzs", "type"),
            ("set", json!({"name": null}), "$.name", "null"),
            (
                "set",
                json!({"interfaces": [{"interface": "HBCI", "health": 1}]}),
                "$.interfaces[0].interface",
                "enum",
            ),
            (
                "set",
                json!({"founded": "31.12.1999"}),
                "$.founded",
                "format",
            ),
            (
                "set",
                json!({"founded": "1999-02-30"}),
                "$.founded",
                "format",
            ),
            (
                "set",
                json!({"lastSync": "2024-05-01 10:00"}),
                "$.lastSync",
                "format",
            ),
            (
                "set",
                json!({"interfaces": [{"interface": "XS2A", "health": 3_000_000_000u64}]}),
                "$.interfaces[0].health",
                "format",
            ),
            ("set", json!({"rank": 101}), "$.rank", "range"),
            ("set", json!({"id": 0}), "$.id", "range"),
            ("set", json!({"score": 0.1}), "$.score", "range"),
            ("set", json!({"name": "X"}), "$.name", "length"),
            (
                "set",
                json!({"name": "far too long a name"}),
                "$.name",
                "length",
            ),
            ("set", json!({"blzs": []}), "$.blzs", "length"),
            ("set", json!({"blzs": ["1234"]}), "$.blzs[0]", "pattern"),
            ("set", json!({"bic": "xABCDEF12"}), "$.bic", "pattern"),
            ("set", json!({"tags": {"eu": "yes"}}), "$.tags.eu", "type"),
            ("set", json!({"location": 5}), "$.location", "one-of"),
            (
                "set",
                json!({"parent": {"id": 1}}),
                "$.parent.name",
                "missing",
            ),
        ];
        for (action, change, path, kind) in cases {
            let mut value = good_bank();
            let obj = value.as_object_mut().unwrap();
            match action {
                "remove" => {
                    obj.remove(change.as_str().unwrap());
                }
                _ => {
                    for (k, v) in change.as_object().unwrap() {
                        obj.insert(k.clone(), v.clone());
                    }
                }
            }
            let problems = s.validate(&value, &bank());
            assert!(
                kinds(&problems).contains(&(path.to_string(), kind)),
                "{change} should give {kind} at {path}, got {problems:?}"
            );
            assert!(!problems.is_empty());
        }
        let unknown = Schema::reference("Nope");
        assert_eq!(
            kinds(&s.validate(&json!({}), &unknown)),
            vec![("$".into(), "unknown-model")]
        );
    }

    #[test]
    fn problems_read_well() {
        let s = shapes();
        let mut v = good_bank();
        v["blzs"] = json!([1]);
        let text = s.validate(&v, &bank())[0].to_string();
        assert_eq!(text, "$.blzs[0]: expected string, got integer");
    }

    #[test]
    fn request_bodies_name_the_bad_field() {
        let s = shapes();
        let ok = json!({"name": "x", "kind": "A"});
        assert_eq!(s.check_request_body("createLabel", &ok), Ok(()));
        let cases = [
            (json!({"kind": "A"}), "name", "missing"),
            (json!({"name": 1, "kind": "A"}), "name", "type"),
            (json!({"name": "x", "kind": "C"}), "kind", "enum"),
            (
                json!({"name": "x", "kind": "A", "weight": "heavy"}),
                "weight",
                "type",
            ),
            (
                json!({"name": "x", "kind": "A", "nested": {}}),
                "nested.x",
                "missing",
            ),
            (json!({"name": null, "kind": "A"}), "name", "null"),
            (json!([1]), "", "type"),
            (json!(null), "", "missing"),
        ];
        for (body, field, kind) in cases {
            let err = s.check_request_body("createLabel", &body).unwrap_err();
            assert_eq!(
                (err.field.as_str(), err.problem.kind()),
                (field, kind),
                "{body}"
            );
        }
        let err = s
            .check_request_body("createLabel", &json!({"kind": "A"}))
            .unwrap_err();
        assert_eq!(err.to_string(), "field 'name': required field is missing");
        // No body shape: anything goes.
        assert_eq!(s.check_request_body("revokeToken", &json!(1)), Ok(()));
        assert_eq!(s.check_request_body("unknown", &json!(1)), Ok(()));
    }

    #[test]
    fn form_bodies_carry_text() {
        let s = shapes();
        let ok = json!({"grant_type": "password", "expires": "60"});
        assert_eq!(s.check_request_body("getToken", &ok), Ok(()));
        let bad = json!({"grant_type": "password", "expires": "soon"});
        assert_eq!(
            s.check_request_body("getToken", &bad).unwrap_err().field,
            "expires"
        );
        let bad = json!({"grant_type": "implicit"});
        assert_eq!(
            s.check_request_body("getToken", &bad)
                .unwrap_err()
                .problem
                .kind(),
            "enum"
        );
    }
}
