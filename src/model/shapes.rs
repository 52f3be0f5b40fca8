//! Response and request shapes as data: what finAPI's bodies look like, per API version.
//!
//! The shapes live in `fixtures/shapes/v1.json` and `v2.json` (format: `fixtures/shapes/README.md`)
//! and are compiled into the crate. Three things read them:
//!
//! - [`Shapes::validate`] lists every way a JSON value breaks a schema (the conformance checks);
//! - [`Shapes::fill`] completes a partial body into one that conforms (the mock's responses);
//! - [`Shapes::check_request_body`] names the first bad field of a request (the mock's 400/422);
//! - [`Shapes::request_body`] makes a request body an operation accepts (what the runner, the
//!   steps and the tests send).
//!
//! Patterns are matched against the whole string, as finAPI's server does (Java's
//! `@Pattern`), not searched for inside it.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::OnceLock;

use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Number, Value};

use crate::model::ApiVersion;

/// The embedded V1 shapes, exactly as committed.
pub const V1_JSON: &str = include_str!("../../fixtures/shapes/v1.json");
/// The embedded V2 shapes, exactly as committed.
pub const V2_JSON: &str = include_str!("../../fixtures/shapes/v2.json");
/// The embedded Web Form 2.0 shapes, exactly as committed (imported from finAPI's spec).
pub const WEBFORM2_JSON: &str = include_str!("../../fixtures/shapes/webform2.json");

/// The prefix a Web Form 2.0 model gets in the V2 shapes when Access V2 has a model of the same
/// name (`Paging` becomes `WebForm2Paging`).
pub const WEBFORM2_PREFIX: &str = "WebForm2";

/// The seed of [`Shapes::request_body`]'s made-up values.
const REQUEST_BODY_SEED: u64 = 7;

/// How deep [`Shapes::fill`] and [`Shapes::validate`] follow nested schemas (guards `ref` cycles).
pub const MAX_DEPTH: usize = 24;

/// The JSON type a [`Schema`] admits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Object,
    Array,
    String,
    Integer,
    Number,
    Boolean,
    /// Any JSON value, `null` included.
    Any,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Object => "object",
            Kind::Array => "array",
            Kind::String => "string",
            Kind::Integer => "integer",
            Kind::Number => "number",
            Kind::Boolean => "boolean",
            Kind::Any => "any",
        }
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// One schema of the shapes format: a reference to a model, a typed value, or a choice.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Schema {
    /// The name of a model in [`Shapes::models`].
    #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<Kind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// The allowed values.
    #[serde(rename = "enum", default, skip_serializing_if = "Option::is_none")]
    pub enumeration: Option<Vec<Value>>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub nullable: bool,
    /// Object fields, by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fields: Option<BTreeMap<String, Schema>>,
    /// Names of the required object fields.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub required: Vec<String>,
    /// For maps: the schema of every value not named in `fields`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional: Option<Box<Schema>>,
    /// For arrays: the schema of every item.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items: Option<Box<Schema>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_items: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_items: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_length: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum: Option<Number>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum: Option<Number>,
    /// Exactly one of these must match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub one_of: Option<Vec<Schema>>,
}

impl Schema {
    /// A reference to the model `name`.
    pub fn reference(name: impl Into<String>) -> Schema {
        Schema {
            reference: Some(name.into()),
            ..Schema::default()
        }
    }

    /// A plain schema of one type.
    pub fn of(kind: Kind) -> Schema {
        Schema {
            kind: Some(kind),
            ..Schema::default()
        }
    }

    /// The type this schema checks: its own, else what `fields` or `items` imply, else any.
    /// (References and `one_of` are handled before the type.)
    pub fn effective_kind(&self) -> Kind {
        match self.kind {
            Some(k) => k,
            None if self.fields.is_some() || self.additional.is_some() => Kind::Object,
            None if self.items.is_some() => Kind::Array,
            None => Kind::Any,
        }
    }

    pub fn is_required(&self, field: &str) -> bool {
        self.required.iter().any(|r| r == field)
    }
}

/// Where a parameter goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ParamIn {
    Path,
    Query,
    Header,
    Cookie,
}

impl ParamIn {
    pub fn as_str(self) -> &'static str {
        match self {
            ParamIn::Path => "path",
            ParamIn::Query => "query",
            ParamIn::Header => "header",
            ParamIn::Cookie => "cookie",
        }
    }
}

/// One request parameter of an operation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Param {
    pub name: String,
    #[serde(rename = "in")]
    pub location: ParamIn,
    #[serde(default)]
    pub required: bool,
    pub schema: Schema,
}

/// The request body an operation takes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BodyShape {
    /// `application/json` or `application/x-www-form-urlencoded`.
    pub content: String,
    #[serde(default)]
    pub required: bool,
    pub schema: Schema,
}

impl BodyShape {
    /// Form bodies carry every value as text.
    pub fn is_form(&self) -> bool {
        self.content == "application/x-www-form-urlencoded"
    }
}

/// The request and response shapes of one operation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperationShape {
    pub method: String,
    /// Path template with `{name}` parameters, as documented.
    pub path: String,
    #[serde(default)]
    pub params: Vec<Param>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<BodyShape>,
    /// Status (`"200"`, `"default"`) to body schema; `None` when the status has no body.
    pub responses: BTreeMap<String, Option<Schema>>,
}

/// The shapes of one API version.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Shapes {
    pub version: ApiVersion,
    /// Where the facts come from (one line).
    pub source: String,
    pub models: BTreeMap<String, Schema>,
    pub operations: BTreeMap<String, OperationShape>,
    /// Compiled patterns of every schema above, built on first use.
    #[serde(skip)]
    patterns: OnceLock<HashMap<String, Option<Pattern>>>,
}

impl Clone for Shapes {
    fn clone(&self) -> Self {
        Shapes::new(
            self.version,
            self.source.clone(),
            self.models.clone(),
            self.operations.clone(),
        )
    }
}

impl PartialEq for Shapes {
    fn eq(&self, other: &Self) -> bool {
        self.version == other.version
            && self.source == other.source
            && self.models == other.models
            && self.operations == other.operations
    }
}

/// Errors while reading a shapes file.
#[derive(Debug, thiserror::Error)]
pub enum ShapesError {
    #[error("shapes: {0}")]
    Json(#[from] serde_json::Error),
    #[error("shapes: {0}")]
    Invalid(String),
}

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

/// A compiled pattern and a string that matches it.
#[derive(Debug)]
struct Pattern {
    regex: Regex,
    sample: Option<String>,
}

impl Pattern {
    fn compile(pattern: &str) -> Option<Pattern> {
        let regex = Regex::new(&format!("^(?:{pattern})$")).ok()?;
        let sample = sample_for(pattern, 1).filter(|s| regex.is_match(s));
        Some(Pattern { regex, sample })
    }
}

/// Where a walk is: validating a response, or a request body (form bodies carry text).
#[derive(Clone, Copy)]
struct Mode {
    form: bool,
}

impl Shapes {
    /// Shapes from their parts (patterns compile on first use).
    pub fn new(
        version: ApiVersion,
        source: String,
        models: BTreeMap<String, Schema>,
        operations: BTreeMap<String, OperationShape>,
    ) -> Shapes {
        Shapes {
            version,
            source,
            models,
            operations,
            patterns: OnceLock::new(),
        }
    }

    /// The embedded shapes of every operation a version's tokens reach, parsed once per
    /// process: V1's Access shapes; for V2, Access V2's and Web Form 2.0's together (see
    /// [`Shapes::merged_with_webform2`]).
    pub fn embedded(version: ApiVersion) -> &'static Shapes {
        static V2: OnceLock<Shapes> = OnceLock::new();
        match version {
            ApiVersion::V1 => Shapes::access(ApiVersion::V1),
            ApiVersion::V2 => V2.get_or_init(|| {
                Shapes::access(ApiVersion::V2).merged_with_webform2(Shapes::webform2())
            }),
        }
    }

    /// The embedded shapes of finAPI Access alone (`fixtures/shapes/v1.json`, `v2.json`).
    pub fn access(version: ApiVersion) -> &'static Shapes {
        static V1: OnceLock<Shapes> = OnceLock::new();
        static V2: OnceLock<Shapes> = OnceLock::new();
        let (cell, text) = match version {
            ApiVersion::V1 => (&V1, V1_JSON),
            ApiVersion::V2 => (&V2, V2_JSON),
        };
        cell.get_or_init(|| Shapes::parse(text).expect("fixtures/shapes/*.json are valid (tested)"))
    }

    /// The embedded shapes of Web Form 2.0 alone, with the model names of its spec
    /// (`fixtures/shapes/webform2.json`).
    pub fn webform2() -> &'static Shapes {
        static WF2: OnceLock<Shapes> = OnceLock::new();
        WF2.get_or_init(|| {
            Shapes::parse(WEBFORM2_JSON).expect("fixtures/shapes/webform2.json is valid (tested)")
        })
    }

    /// These shapes plus Web Form 2.0's. A Web Form model whose name Access already uses is
    /// renamed with [`WEBFORM2_PREFIX`] (and every reference to it), so both keep their own
    /// definition. Operation ids do not collide (tested).
    pub fn merged_with_webform2(&self, webform: &Shapes) -> Shapes {
        let renamed = |name: &str| -> String {
            if self.models.contains_key(name) {
                format!("{WEBFORM2_PREFIX}{name}")
            } else {
                name.to_string()
            }
        };
        fn rename_refs(s: &mut Schema, f: &dyn Fn(&str) -> String) {
            if let Some(r) = &mut s.reference {
                *r = f(r);
            }
            for child in s.fields.iter_mut().flat_map(|m| m.values_mut()) {
                rename_refs(child, f);
            }
            for child in s.additional.iter_mut().chain(s.items.iter_mut()) {
                rename_refs(child, f);
            }
            for child in s.one_of.iter_mut().flatten() {
                rename_refs(child, f);
            }
        }
        let mut models = self.models.clone();
        for (name, schema) in &webform.models {
            let mut schema = schema.clone();
            rename_refs(&mut schema, &renamed);
            models.insert(renamed(name), schema);
        }
        let mut operations = self.operations.clone();
        for (id, op) in &webform.operations {
            let mut op = op.clone();
            for p in &mut op.params {
                rename_refs(&mut p.schema, &renamed);
            }
            if let Some(b) = &mut op.body {
                rename_refs(&mut b.schema, &renamed);
            }
            for s in op.responses.values_mut().flatten() {
                rename_refs(s, &renamed);
            }
            operations.insert(id.clone(), op);
        }
        Shapes::new(
            self.version,
            format!("{}; {}", self.source, webform.source),
            models,
            operations,
        )
    }

    /// Parse a shapes file and check that every `ref` names a model.
    pub fn parse(text: &str) -> Result<Shapes, ShapesError> {
        let shapes: Shapes = serde_json::from_str(text)?;
        if let Some(name) = shapes.unknown_refs().first() {
            return Err(ShapesError::Invalid(format!(
                "ref to unknown model `{name}`"
            )));
        }
        Ok(shapes)
    }

    /// Names used in a `ref` that are not models (sorted, each once).
    pub fn unknown_refs(&self) -> Vec<String> {
        let mut unknown = std::collections::BTreeSet::new();
        self.each_schema(&mut |s| {
            if let Some(r) = &s.reference {
                if !self.models.contains_key(r) {
                    unknown.insert(r.clone());
                }
            }
        });
        unknown.into_iter().collect()
    }

    /// Deterministic pretty JSON (maps sorted), as committed in `fixtures/shapes/`.
    pub fn to_json_pretty(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("shapes serialise");
        text.push('\n');
        text
    }

    pub fn operation(&self, op_id: &str) -> Option<&OperationShape> {
        self.operations.get(op_id)
    }

    pub fn model(&self, name: &str) -> Option<&Schema> {
        self.models.get(name)
    }

    /// Follow `ref`s to the schema that describes the value (a chain of at most [`MAX_DEPTH`]).
    pub fn resolve<'a>(&'a self, mut schema: &'a Schema) -> &'a Schema {
        for _ in 0..MAX_DEPTH {
            match schema.reference.as_deref().and_then(|r| self.models.get(r)) {
                Some(target) => schema = target,
                None => break,
            }
        }
        schema
    }

    /// The body schema of `op_id`'s answer with `status`: outer `None` when the status is not
    /// documented (neither exactly, nor as `4XX`, nor as `default`), inner `None` when it has
    /// no body.
    pub fn response_schema(&self, op_id: &str, status: u16) -> Option<Option<&Schema>> {
        let responses = &self.operations.get(op_id)?.responses;
        let exact = status.to_string();
        let range = format!("{}XX", status / 100);
        [exact.as_str(), range.as_str(), "default"]
            .iter()
            .find_map(|key| responses.get(*key))
            .map(Option::as_ref)
    }

    /// Call `f` on every schema of the shapes, nested ones included.
    pub fn each_schema(&self, f: &mut dyn FnMut(&Schema)) {
        fn walk(s: &Schema, f: &mut dyn FnMut(&Schema)) {
            f(s);
            for child in s.fields.iter().flat_map(|m| m.values()) {
                walk(child, f);
            }
            for child in s.additional.iter().chain(s.items.iter()) {
                walk(child, f);
            }
            for child in s.one_of.iter().flatten() {
                walk(child, f);
            }
        }
        for s in self.models.values() {
            walk(s, f);
        }
        for op in self.operations.values() {
            for p in &op.params {
                walk(&p.schema, f);
            }
            if let Some(b) = &op.body {
                walk(&b.schema, f);
            }
            for s in op.responses.values().flatten() {
                walk(s, f);
            }
        }
    }

    fn patterns(&self) -> &HashMap<String, Option<Pattern>> {
        self.patterns.get_or_init(|| {
            let mut out = HashMap::new();
            self.each_schema(&mut |s| {
                if let Some(p) = &s.pattern {
                    out.entry(p.clone()).or_insert_with(|| Pattern::compile(p));
                }
            });
            out
        })
    }

    /// Run `f` with the compiled pattern (`None` when it does not compile). Patterns of the
    /// shapes are compiled once; a pattern from elsewhere is compiled for this call.
    fn with_pattern<R>(&self, pattern: &str, f: impl FnOnce(Option<&Pattern>) -> R) -> R {
        match self.patterns().get(pattern) {
            Some(p) => f(p.as_ref()),
            None => f(Pattern::compile(pattern).as_ref()),
        }
    }

    // ---------------------------------------------------------------------------------------
    // Validation

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

    /// Whether `null` is a legal value of `schema`.
    pub fn accepts_null(&self, schema: &Schema) -> bool {
        self.accepts_null_at(schema, 0)
    }

    fn accepts_null_at(&self, s: &Schema, depth: usize) -> bool {
        if s.nullable {
            return true;
        }
        if depth > MAX_DEPTH {
            return false;
        }
        if let Some(r) = &s.reference {
            return self
                .models
                .get(r)
                .is_some_and(|m| self.accepts_null_at(m, depth + 1));
        }
        if let Some(alts) = &s.one_of {
            return alts.iter().any(|a| self.accepts_null_at(a, depth + 1));
        }
        s.effective_kind() == Kind::Any && s.enumeration.is_none()
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
    fn string_problems(&self, s: &Schema, text: &str) -> Vec<Problem> {
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

    // ---------------------------------------------------------------------------------------
    // Request bodies

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

    /// A JSON request body `op_id` accepts: the fields of `given` (what the sender means, such
    /// as an id that exists nowhere) kept where they fit, every other required field filled in
    /// with a plausible value, nothing optional added. `None` when the shapes describe no JSON
    /// body for the operation (none at all, or a form). Same inputs, same output; the result
    /// passes [`Shapes::check_request_body`].
    pub fn request_body(&self, op_id: &str, given: Value) -> Option<Value> {
        let shape = self.operations.get(op_id)?.body.as_ref()?;
        if shape.is_form() {
            return None;
        }
        Some(self.fill(&shape.schema, given, REQUEST_BODY_SEED))
    }

    // ---------------------------------------------------------------------------------------
    // Filling

    /// A value that conforms to `schema`, built from `partial`: every given field that fits
    /// is kept, every missing required field gets a plausible value derived from `seed`, a
    /// `null` in a non-nullable field is dropped (optional) or replaced (required), and a
    /// value that does not fit is replaced. Same inputs, same output.
    pub fn fill(&self, schema: &Schema, partial: Value, seed: u64) -> Value {
        self.fill_at(schema, Some(partial), "value", seed, 0)
    }

    /// A plausible value of `schema` from nothing.
    pub fn sample(&self, schema: &Schema, seed: u64) -> Value {
        self.fill_at(schema, None, "value", seed, 0)
    }

    /// `given` is `None` when there is nothing to keep (the value is to be made up).
    fn fill_at(
        &self,
        s: &Schema,
        given: Option<Value>,
        hint: &str,
        seed: u64,
        depth: usize,
    ) -> Value {
        if given.as_ref().is_some_and(Value::is_null) && self.accepts_null_at(s, depth) {
            return Value::Null;
        }
        let given = given.filter(|v| !v.is_null());
        if let Some(r) = &s.reference {
            return match self.models.get(r) {
                Some(m) if depth < MAX_DEPTH => self.fill_at(m, given, hint, seed, depth + 1),
                Some(m) => given.unwrap_or_else(|| shallow(m)),
                None => given.unwrap_or(Value::Null),
            };
        }
        if let Some(alts) = &s.one_of {
            return self.fill_one_of(s, alts, given, hint, seed, depth);
        }
        if let Some(values) = &s.enumeration {
            if let Some(v) = given.filter(|v| values.contains(v)) {
                return v;
            }
            let choices: Vec<&Value> = values.iter().filter(|v| !v.is_null()).collect();
            return match choices.len() {
                0 => Value::Null,
                n => choices[(seed % n as u64) as usize].clone(),
            };
        }
        match s.effective_kind() {
            Kind::Any => given.unwrap_or_else(|| Value::Object(Map::new())),
            Kind::Object => self.fill_object(s, given, seed, depth),
            Kind::Array => self.fill_array(s, given, hint, seed, depth),
            Kind::String => match given {
                Some(Value::String(t)) if self.string_problems(s, &t).is_empty() => {
                    Value::String(t)
                }
                _ => Value::String(self.make_string(s, hint, seed)),
            },
            Kind::Integer => match given {
                Some(Value::Number(n)) if !n.is_f64() && number_problem(s, &n).is_none() => {
                    Value::Number(n)
                }
                _ => Value::Number(make_integer(s, seed)),
            },
            Kind::Number => match given {
                Some(Value::Number(n)) if number_problem(s, &n).is_none() => Value::Number(n),
                _ => Value::Number(make_number(s, seed)),
            },
            Kind::Boolean => match given {
                Some(Value::Bool(b)) => Value::Bool(b),
                _ => Value::Bool(seed % 2 == 1),
            },
        }
    }

    fn fill_object(&self, s: &Schema, given: Option<Value>, seed: u64, depth: usize) -> Value {
        let mut map = match given {
            Some(Value::Object(m)) => m,
            _ => Map::new(),
        };
        let empty = BTreeMap::new();
        let fields = s.fields.as_ref().unwrap_or(&empty);
        // Fix what was given, in place.
        let mut absent = Vec::new();
        for (name, value) in map.iter_mut() {
            let Some(schema) = fields.get(name).or(s.additional.as_deref()) else {
                continue;
            };
            if value.is_null() && !self.accepts_null_at(schema, depth + 1) && !s.is_required(name) {
                absent.push(name.clone()); // an optional field may simply be absent
                continue;
            }
            let given = std::mem::take(value);
            *value = self.fill_at(schema, Some(given), name, mix(seed, name), depth + 1);
        }
        for name in absent {
            map.remove(&name);
        }
        // Add what is required and missing.
        for name in &s.required {
            if map.contains_key(name) {
                continue;
            }
            let value = match fields.get(name).or(s.additional.as_deref()) {
                Some(schema) => self.fill_at(schema, None, name, mix(seed, name), depth + 1),
                None => Value::String(String::new()),
            };
            map.insert(name.clone(), value);
        }
        Value::Object(map)
    }

    fn fill_array(
        &self,
        s: &Schema,
        given: Option<Value>,
        hint: &str,
        seed: u64,
        depth: usize,
    ) -> Value {
        let mut items = match given {
            Some(Value::Array(items)) => items,
            _ => Vec::new(),
        };
        if let Some(max) = s.max_items {
            items.truncate(max as usize);
        }
        let Some(item) = s.items.as_deref() else {
            while (items.len() as u64) < s.min_items.unwrap_or(0) {
                items.push(Value::Object(Map::new()));
            }
            return Value::Array(items);
        };
        let mut out: Vec<Value> = items
            .into_iter()
            .enumerate()
            .map(|(i, v)| self.fill_at(item, Some(v), hint, seed.wrapping_add(i as u64), depth + 1))
            .collect();
        while (out.len() as u64) < s.min_items.unwrap_or(0) {
            let i = out.len() as u64;
            out.push(self.fill_at(item, None, hint, seed.wrapping_add(i), depth + 1));
        }
        Value::Array(out)
    }

    fn fill_one_of(
        &self,
        s: &Schema,
        alts: &[Schema],
        given: Option<Value>,
        hint: &str,
        seed: u64,
        depth: usize,
    ) -> Value {
        if let Some(v) = &given {
            let mut path = String::new();
            let mut sub = Vec::new();
            self.check(v, s, &mut path, depth, Mode { form: false }, &mut sub);
            if sub.is_empty() {
                return given.unwrap_or(Value::Null);
            }
        }
        let mut first = None;
        for alt in alts {
            let candidate = self.fill_at(alt, given.clone(), hint, seed, depth + 1);
            let mut path = String::new();
            let mut sub = Vec::new();
            self.check(
                &candidate,
                s,
                &mut path,
                depth,
                Mode { form: false },
                &mut sub,
            );
            if sub.is_empty() {
                return candidate;
            }
            first.get_or_insert(candidate);
        }
        first.unwrap_or(Value::Null)
    }

    fn make_string(&self, s: &Schema, hint: &str, seed: u64) -> String {
        let n = seed % 10_000;
        let mut text = match s.format.as_deref() {
            Some("date") => make_date(seed),
            Some("date-time") => {
                format!("{}T{:02}:{:02}:00Z", make_date(seed), seed % 24, seed % 60)
            }
            Some("ipv4") => format!("192.0.2.{}", seed % 250 + 1),
            Some("uuid") => format!("00000000-0000-4000-8000-{:012x}", seed % 0xffff_ffff_ffff),
            Some("email") => format!("user{n}@example.com"),
            _ => format!("{hint}-{n}"),
        };
        if let Some(pattern) = &s.pattern {
            let min = s.min_length.unwrap_or(0) as usize;
            text = self.with_pattern(pattern, |p| match p {
                Some(p) if p.regex.is_match(&text) => text.clone(),
                // The hint-based text does not fit: the pattern's own sample, longer if needed.
                Some(p) => match &p.sample {
                    Some(sample) if sample.chars().count() >= min => sample.clone(),
                    _ => sample_for(pattern, min.max(1))
                        .filter(|t| p.regex.is_match(t))
                        .unwrap_or_else(|| text.clone()),
                },
                None => text.clone(),
            });
        }
        let len = text.chars().count();
        if let Some(max) = s.max_length.map(|m| m as usize).filter(|m| len > *m) {
            text = text.chars().take(max).collect();
        }
        if let Some(min) = s.min_length.map(|m| m as usize) {
            let len = text.chars().count();
            if len < min {
                let pad = text.chars().last().unwrap_or('x');
                text.extend(std::iter::repeat_n(pad, min - len));
            }
        }
        text
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

/// The calendar day a text starts with (`YYYY-MM-DD`), read by hand: body completion and
/// list sorting call it for every date they meet, and chrono's format parser was a tenth of a
/// transactions page's time.
pub(crate) fn parse_ymd(text: &str) -> Option<chrono::NaiveDate> {
    let b = text.as_bytes();
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return None;
    }
    let number = |from: usize, to: usize| -> Option<u32> {
        b.get(from..to)?.iter().try_fold(0u32, |n, c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    chrono::NaiveDate::from_ymd_opt(
        i32::try_from(number(0, 4)?).ok()?,
        number(5, 7)?,
        number(8, 10)?,
    )
}

/// A calendar day as `YYYY-MM-DD`, written by hand for the same reason (chrono's formatter
/// writes a character at a time); years outside 0..=9999 fall back to chrono.
pub(crate) fn format_ymd(date: chrono::NaiveDate) -> String {
    use chrono::Datelike;
    let year = date.year();
    if !(0..=9999).contains(&year) {
        return date.to_string();
    }
    let mut out = *b"0000-00-00";
    let mut put = |at: usize, width: usize, mut n: u32| {
        for slot in out[at..at + width].iter_mut().rev() {
            *slot = b'0' + (n % 10) as u8;
            n /= 10;
        }
    };
    put(0, 4, year.unsigned_abs());
    put(5, 2, date.month());
    put(8, 2, date.day());
    out.iter().copied().map(char::from).collect()
}

/// Whether `text` has the string format `format` (unknown formats always fit).
fn format_ok(format: &str, text: &str) -> bool {
    match format {
        "date" => text.len() == 10 && parse_ymd(text).is_some(),
        "date-time" => chrono::DateTime::parse_from_rfc3339(text).is_ok(),
        "ipv4" => text.parse::<std::net::Ipv4Addr>().is_ok(),
        _ => true,
    }
}

/// Format (int32/int64) and bound problems of a number.
fn number_problem(s: &Schema, n: &Number) -> Option<Problem> {
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

fn make_integer(s: &Schema, seed: u64) -> Number {
    let (lo, hi) = match s.format.as_deref() {
        Some("int32") => (i32::MIN as f64, i32::MAX as f64),
        _ => (i64::MIN as f64, i64::MAX as f64),
    };
    let min = s
        .minimum
        .as_ref()
        .and_then(Number::as_f64)
        .unwrap_or(lo)
        .max(lo)
        .ceil();
    let max = s
        .maximum
        .as_ref()
        .and_then(Number::as_f64)
        .unwrap_or(hi)
        .min(hi)
        .floor();
    let want = 1 + (seed % 1000) as i64;
    let value = if (want as f64) < min {
        min as i64
    } else if (want as f64) > max {
        max as i64
    } else {
        want
    };
    Number::from(value)
}

fn make_number(s: &Schema, seed: u64) -> Number {
    let want = 1.0 + (seed % 10_000) as f64 / 100.0;
    let min = s.minimum.as_ref().and_then(Number::as_f64);
    let max = s.maximum.as_ref().and_then(Number::as_f64);
    let value = match (min, max) {
        (Some(lo), _) if want < lo => lo,
        (_, Some(hi)) if want > hi => hi,
        _ => want,
    };
    Number::from_f64(value).unwrap_or_else(|| Number::from(0))
}

fn make_date(seed: u64) -> String {
    let base = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).expect("valid date");
    (base + chrono::Duration::days((seed % 365) as i64))
        .format("%Y-%m-%d")
        .to_string()
}

/// A shallow value of the right type, where nesting stops (ref cycles).
fn shallow(s: &Schema) -> Value {
    match s.effective_kind() {
        Kind::Array => Value::Array(Vec::new()),
        Kind::String => Value::String(String::new()),
        Kind::Integer | Kind::Number => Value::Number(0.into()),
        Kind::Boolean => Value::Bool(false),
        Kind::Object | Kind::Any => Value::Object(Map::new()),
    }
}

/// Mix a field name into a seed (FNV-1a), so sibling fields get different values.
fn mix(seed: u64, name: &str) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64 ^ seed;
    for b in name.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// A string matching `pattern`, with unbounded repetitions repeated `reps` times (at least
/// their minimum). `None` when the pattern does not parse.
fn sample_for(pattern: &str, reps: usize) -> Option<String> {
    use regex_syntax::hir::{Class, Hir, HirKind};
    fn walk(h: &Hir, reps: u32, out: &mut String) {
        match h.kind() {
            HirKind::Empty | HirKind::Look(_) => {}
            HirKind::Literal(lit) => out.push_str(&String::from_utf8_lossy(&lit.0)),
            HirKind::Class(Class::Unicode(c)) => {
                let preferred = ['a', 'A', '0'];
                let pick = preferred
                    .into_iter()
                    .find(|p| c.ranges().iter().any(|r| r.start() <= *p && *p <= r.end()))
                    .or_else(|| c.ranges().first().map(|r| r.start()));
                out.extend(pick);
            }
            HirKind::Class(Class::Bytes(c)) => {
                out.extend(c.ranges().first().map(|r| char::from(r.start())));
            }
            HirKind::Repetition(r) => {
                let n = r.min.max(reps.min(r.max.unwrap_or(u32::MAX)));
                for _ in 0..n {
                    walk(&r.sub, reps, out);
                }
            }
            HirKind::Capture(c) => walk(&c.sub, reps, out),
            HirKind::Concat(parts) => parts.iter().for_each(|p| walk(p, reps, out)),
            HirKind::Alternation(alts) => {
                if let Some(first) = alts.first() {
                    walk(first, reps, out);
                }
            }
        }
    }
    let hir = regex_syntax::parse(pattern).ok()?;
    let mut out = String::new();
    walk(&hir, u32::try_from(reps).unwrap_or(u32::MAX), &mut out);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn days_are_written_and_read_back_by_hand() {
        for (y, m, d) in [(2024, 2, 29), (1, 1, 1), (9999, 12, 31), (2026, 12, 2)] {
            let date = chrono::NaiveDate::from_ymd_opt(y, m, d).expect("valid date");
            let text = format_ymd(date);
            assert_eq!(text, date.format("%Y-%m-%d").to_string());
            assert_eq!(parse_ymd(&text), Some(date));
        }
        let far = chrono::NaiveDate::from_ymd_opt(12345, 6, 7).expect("valid date");
        assert_eq!(format_ymd(far), far.to_string());
    }

    /// A small set of shapes with every construct of the format.
    fn shapes() -> Shapes {
        Shapes::parse(
            &json!({
                "version": "v1",
                "source": "unit test",
                "models": {
                    "Bank": {
                        "type": "object",
                        "required": ["id", "name", "blzs", "interfaces", "lastSync"],
                        "fields": {
                            "id": {"type": "integer", "format": "int64", "minimum": 1},
                            "name": {"type": "string", "min_length": 2, "max_length": 12},
                            "bic": {"type": "string", "nullable": true, "pattern": "[A-Z]{6}[A-Z0-9]{2}"},
                            "blzs": {"type": "array", "items": {"type": "string", "pattern": "[0-9]{8}"}, "min_items": 1},
                            "interfaces": {"type": "array", "items": {"ref": "BankInterface"}},
                            "lastSync": {"type": "string", "format": "date-time"},
                            "founded": {"type": "string", "format": "date"},
                            "rank": {"type": "integer", "format": "int32", "maximum": 100},
                            "score": {"type": "number", "minimum": 0.5},
                            "tags": {"type": "object", "additional": {"type": "boolean"}},
                            "parent": {"ref": "Bank", "nullable": true},
                            "location": {"ref": "Location"}
                        }
                    },
                    "BankInterface": {
                        "type": "object",
                        "required": ["interface", "health"],
                        "fields": {
                            "interface": {"ref": "Interface"},
                            "health": {"type": "integer", "format": "int32"}
                        }
                    },
                    "Interface": {"type": "string", "enum": ["FINTS_SERVER", "WEB_SCRAPER", "XS2A"]},
                    "Location": {"one_of": [
                        {"type": "string", "min_length": 2, "max_length": 2},
                        {"type": "object", "required": ["city"], "fields": {"city": {"type": "string"}}}
                    ]},
                    "Node": {
                        "type": "object",
                        "required": ["id", "child"],
                        "fields": {"id": {"type": "integer"}, "child": {"ref": "Node"}}
                    },
                    "ErrorMessage": {"type": "object", "fields": {"message": {"type": "string"}}}
                },
                "operations": {
                    "getBank": {
                        "method": "GET",
                        "path": "/api/v1/banks/{id}",
                        "params": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer", "format": "int64"}}],
                        "responses": {"200": {"ref": "Bank"}, "4XX": {"ref": "ErrorMessage"}}
                    },
                    "createLabel": {
                        "method": "POST",
                        "path": "/api/v1/labels",
                        "body": {"content": "application/json", "required": true, "schema": {
                            "type": "object",
                            "required": ["name", "kind"],
                            "fields": {
                                "name": {"type": "string"},
                                "kind": {"type": "string", "enum": ["A", "B"]},
                                "weight": {"type": "integer"},
                                "nested": {"type": "object", "required": ["x"], "fields": {"x": {"type": "boolean"}}}
                            }
                        }},
                        "responses": {"201": {"ref": "Bank"}, "default": {"ref": "ErrorMessage"}}
                    },
                    "getToken": {
                        "method": "POST",
                        "path": "/oauth/token",
                        "body": {"content": "application/x-www-form-urlencoded", "required": true, "schema": {
                            "type": "object",
                            "required": ["grant_type"],
                            "fields": {
                                "grant_type": {"type": "string", "enum": ["client_credentials", "password"]},
                                "expires": {"type": "integer", "format": "int32"}
                            }
                        }},
                        "responses": {"200": {"type": "object"}}
                    },
                    "revokeToken": {
                        "method": "POST",
                        "path": "/oauth/revoke",
                        "responses": {"200": null}
                    }
                }
            })
            .to_string(),
        )
        .expect("test shapes parse")
    }

    fn bank() -> Schema {
        Schema::reference("Bank")
    }

    fn good_bank() -> Value {
        json!({
            "id": 7, "name": "Testbank", "bic": "ABCDEF12", "blzs": ["12345678"],
            "interfaces": [{"interface": "XS2A", "health": 100}],
            "lastSync": "2024-05-01T10:00:00+02:00", "founded": "1999-12-31",
            "rank": 5, "score": 1.5, "tags": {"eu": true}, "parent": null,
            "location": "DE", "extra": "unknown fields are fine"
        })
    }

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
    fn fill_keeps_what_fits_and_adds_what_is_required() {
        let s = shapes();
        let filled = s.fill(
            &bank(),
            json!({"id": 42, "name": 7, "bic": null, "extra": 1}),
            3,
        );
        assert_eq!(s.validate(&filled, &bank()), vec![]);
        assert_eq!(filled["id"], 42);
        assert_eq!(filled["extra"], 1, "unknown fields are kept");
        assert!(filled["name"].is_string(), "a wrong type is replaced");
        assert!(filled["bic"].is_null(), "null stays where nullable");
        for field in ["blzs", "interfaces", "lastSync"] {
            assert!(filled.get(field).is_some(), "{field} added");
        }
        assert_eq!(
            filled["blzs"].as_array().unwrap().len(),
            1,
            "min_items 1 gives one item"
        );
        assert_eq!(
            filled["interfaces"],
            json!([]),
            "optional-length arrays stay empty"
        );
        assert!(
            filled.get("rank").is_none(),
            "optional fields are not invented"
        );
    }

    #[test]
    fn fill_drops_null_in_optional_and_replaces_it_in_required() {
        let s = shapes();
        let filled = s.fill(&bank(), json!({"rank": null, "name": null}), 1);
        assert!(filled.get("rank").is_none());
        assert!(filled["name"].is_string());
        assert_eq!(s.validate(&filled, &bank()), vec![]);
    }

    #[test]
    fn fill_is_deterministic_and_survives_ref_cycles() {
        let s = shapes();
        assert_eq!(s.fill(&bank(), json!({}), 9), s.fill(&bank(), json!({}), 9));
        let node = Schema::reference("Node");
        let filled = s.fill(&node, json!({}), 0);
        // Required self-reference: the chain stops at the depth limit with an empty object.
        let mut depth = 0;
        let mut cur = &filled;
        while let Some(child) = cur.get("child") {
            depth += 1;
            cur = child;
        }
        assert!((1..=MAX_DEPTH).contains(&depth), "depth {depth}");
    }

    #[test]
    fn fill_always_validates() {
        let s = shapes();
        let partials = [
            json!(null),
            json!({}),
            json!([]),
            json!("text"),
            json!(17),
            good_bank(),
            json!({"blzs": [1, "12"], "interfaces": [{"interface": "?"}], "location": {"x": 1}}),
            json!({"tags": {"a": 1, "b": true}, "score": -3, "founded": "yesterday"}),
        ];
        let mut schemas: Vec<Schema> = s.models.keys().map(Schema::reference).collect();
        schemas.retain(|r| r.reference.as_deref() != Some("Node"));
        for schema in &schemas {
            for partial in &partials {
                for seed in 0..40 {
                    let filled = s.fill(schema, partial.clone(), seed);
                    let problems = s.validate(&filled, schema);
                    assert!(
                        problems.is_empty(),
                        "fill({partial}) for {schema:?} seed {seed} = {filled}: {problems:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn fill_respects_patterns_formats_and_enums() {
        let s = shapes();
        let filled = s.sample(&bank(), 5);
        assert!(filled["blzs"][0].as_str().unwrap().len() == 8);
        assert!(format_ok("date-time", filled["lastSync"].as_str().unwrap()));
        let iface = s.sample(&Schema::reference("Interface"), 4);
        assert!(["FINTS_SERVER", "WEB_SCRAPER", "XS2A"].contains(&iface.as_str().unwrap()));
    }

    #[test]
    fn response_schema_knows_documented_statuses() {
        let s = shapes();
        assert_eq!(s.response_schema("getBank", 200), Some(Some(&bank())));
        assert_eq!(
            s.response_schema("getBank", 404),
            Some(Some(&Schema::reference("ErrorMessage"))),
            "4XX covers 404"
        );
        assert_eq!(s.response_schema("getBank", 500), None);
        assert_eq!(s.response_schema("revokeToken", 200), Some(None));
        assert!(s.response_schema("createLabel", 503).is_some(), "default");
        assert_eq!(s.response_schema("noSuchOperation", 200), None);
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
    fn request_bodies_made_from_the_shapes_pass_their_check() {
        for version in [ApiVersion::V1, ApiVersion::V2] {
            let shapes = Shapes::embedded(version);
            let mut made = 0;
            for (id, op) in &shapes.operations {
                let Some(body) = shapes.request_body(id, json!({})) else {
                    assert!(op.body.as_ref().is_none_or(BodyShape::is_form), "{id}");
                    continue;
                };
                assert_eq!(shapes.check_request_body(id, &body), Ok(()), "{id}: {body}");
                made += 1;
            }
            assert!(made >= 38, "{version:?}: {made}");
        }
        let v2 = Shapes::embedded(ApiVersion::V2);
        let body = v2
            .request_body("submitPayment", json!({"paymentId": 99, "extra": true}))
            .unwrap();
        assert_eq!(body["paymentId"], 99, "given fields are kept");
        assert_eq!(body["extra"], true, "unknown given fields too");
        assert!(
            body["bankingInterface"].is_string(),
            "required ones added: {body}"
        );
        assert_eq!(v2.request_body("getToken", json!({})), None, "a form");
        assert_eq!(v2.request_body("getBank", json!({})), None, "no body");
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

    #[test]
    fn parse_rejects_unknown_refs_and_keys() {
        let text = r#"{"version":"v1","source":"x","models":{},"operations":{"a":{"method":"GET","path":"/a","responses":{"200":{"ref":"Missing"}}}}}"#;
        assert!(Shapes::parse(text)
            .unwrap_err()
            .to_string()
            .contains("Missing"));
        let text = r#"{"version":"v1","source":"x","models":{"A":{"type":"string","description":"no"}},"operations":{}}"#;
        assert!(Shapes::parse(text).is_err());
    }

    #[test]
    fn round_trip_is_stable() {
        let s = shapes();
        let again = Shapes::parse(&s.to_json_pretty()).unwrap();
        assert_eq!(again, s);
        assert_eq!(again.to_json_pretty(), s.to_json_pretty());
    }

    #[test]
    fn embedded_shapes_parse() {
        for v in ApiVersion::ALL {
            let s = Shapes::embedded(v);
            assert_eq!(s.version, v);
        }
    }

    #[test]
    fn pattern_samples_match() {
        for p in [
            "[0-9a-f\\-]*",
            "[A-Za-z0-9¡-ʯ &\\(\\)\\{\\}\\[\\]\\.:,;\\?!\\+\\-_\\$@#~`\\^€]*",
            "^[A-Z]{2}[0-9]{2}[A-Z0-9]{1,30}$",
            "(foo|bar)+-[0-9]{3}",
        ] {
            let compiled = Pattern::compile(p).expect("compiles");
            let sample = compiled.sample.expect("sample");
            assert!(compiled.regex.is_match(&sample), "{p}: {sample}");
        }
    }
}
