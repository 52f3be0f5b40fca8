//! The shapes format and its loading: schemas, operations' request and response shapes, the
//! embedded `fixtures/shapes/*.json` parsed once per process, and lookups over them.

use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use serde_json::{Number, Value};

use super::pattern::Pattern;
use crate::model::ApiVersion;

/// The embedded V1 shapes, exactly as committed.
pub const V1_JSON: &str = include_str!("../../../fixtures/shapes/v1.json");
/// The embedded V2 shapes, exactly as committed.
pub const V2_JSON: &str = include_str!("../../../fixtures/shapes/v2.json");
/// The embedded Web Form 2.0 shapes, exactly as committed (imported from finAPI's spec).
pub const WEBFORM2_JSON: &str = include_str!("../../../fixtures/shapes/webform2.json");

/// The prefix a Web Form 2.0 model gets in the V2 shapes when Access V2 has a model of the same
/// name (`Paging` becomes `WebForm2Paging`).
pub const WEBFORM2_PREFIX: &str = "WebForm2";

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
    /// renamed with a `WebForm2` prefix (and every reference to it), so both keep their own
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

    /// Follow `ref`s to the schema that describes the value (a chain of bounded length).
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
    pub(super) fn with_pattern<R>(
        &self,
        pattern: &str,
        f: impl FnOnce(Option<&Pattern>) -> R,
    ) -> R {
        match self.patterns().get(pattern) {
            Some(p) => f(p.as_ref()),
            None => f(Pattern::compile(pattern).as_ref()),
        }
    }

    /// Whether `null` is a legal value of `schema`.
    pub fn accepts_null(&self, schema: &Schema) -> bool {
        self.accepts_null_at(schema, 0)
    }

    /// [`Shapes::accepts_null`] at `depth` of a walk (gives up past [`MAX_DEPTH`]).
    pub(super) fn accepts_null_at(&self, s: &Schema, depth: usize) -> bool {
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
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use serde_json::json;

    /// A small set of shapes with every construct of the format.
    pub(in crate::model::shapes) fn shapes() -> Shapes {
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

    pub(in crate::model::shapes) fn bank() -> Schema {
        Schema::reference("Bank")
    }

    pub(in crate::model::shapes) fn good_bank() -> Value {
        json!({
            "id": 7, "name": "Testbank", "bic": "ABCDEF12", "blzs": ["12345678"],
            "interfaces": [{"interface": "XS2A", "health": 100}],
            "lastSync": "2024-05-01T10:00:00+02:00", "founded": "1999-12-31",
            "rank": 5, "score": 1.5, "tags": {"eu": true}, "parent": null,
            "location": "DE", "extra": "unknown fields are fine"
        })
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
}
