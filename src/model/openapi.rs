//! OpenAPI 3.0 (YAML or JSON) to [`Shapes`]: how `fixtures/shapes/v1.json` is made, and how
//! `spec-diff` reads a newer finAPI spec.
//!
//! What is kept: model names (`$ref` becomes `ref`), types, formats, enums, nullability,
//! fields and required-ness, array and string bounds, number bounds, `oneOf`; per operation
//! the method, path, parameters, request body and the body schema of every documented status
//! (`null` for a status without content). What is dropped: descriptions, examples, defaults,
//! headers, styles. `allOf` with a single `$ref` becomes that reference (nullable when the
//! wrapper says so); any other `allOf` is merged into one object. `anyOf` becomes `any`
//! (the shapes format has no "at least one of").

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Map, Value};

use crate::model::shapes::{BodyShape, Kind, OperationShape, Param, ParamIn, Schema, Shapes};
use crate::model::ApiVersion;

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Why a document could not be converted.
#[derive(Debug, thiserror::Error)]
pub enum OpenApiError {
    #[error("cannot read {path}: {message}")]
    Read { path: String, message: String },
    #[error("not a YAML or JSON document: {0}")]
    Syntax(String),
    #[error("not an OpenAPI 3 document: {0}")]
    Structure(String),
}

fn bad(message: impl Into<String>) -> OpenApiError {
    OpenApiError::Structure(message.into())
}

/// Read and convert an OpenAPI file.
pub fn import_file(path: &Path, version: ApiVersion) -> Result<Shapes, OpenApiError> {
    let text = std::fs::read_to_string(path).map_err(|e| OpenApiError::Read {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    import_str(&text, version)
}

/// Convert an OpenAPI document given as YAML or JSON text.
pub fn import_str(text: &str, version: ApiVersion) -> Result<Shapes, OpenApiError> {
    import(&parse_document(text)?, version)
}

/// Parse YAML or JSON text (JSON is YAML) into a JSON value; map keys become strings.
pub fn parse_document(text: &str) -> Result<Value, OpenApiError> {
    let yaml: serde_yaml::Value =
        serde_yaml::from_str(text).map_err(|e| OpenApiError::Syntax(e.to_string()))?;
    yaml_to_json(yaml)
}

fn yaml_to_json(v: serde_yaml::Value) -> Result<Value, OpenApiError> {
    use serde_yaml::Value as Y;
    Ok(match v {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                n.as_f64()
                    .and_then(serde_json::Number::from_f64)
                    .map(Value::Number)
                    .unwrap_or(Value::Null)
            }
        }
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => Value::Array(
            items
                .into_iter()
                .map(yaml_to_json)
                .collect::<Result<_, _>>()?,
        ),
        Y::Mapping(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                let key = match k {
                    Y::String(s) => s,
                    Y::Number(n) => n.to_string(),
                    Y::Bool(b) => b.to_string(),
                    other => {
                        return Err(OpenApiError::Syntax(format!(
                            "unsupported map key {other:?}"
                        )))
                    }
                };
                out.insert(key, yaml_to_json(v)?);
            }
            Value::Object(out)
        }
        Y::Tagged(t) => yaml_to_json(t.value)?,
    })
}

/// Convert a parsed OpenAPI 3 document.
pub fn import(doc: &Value, version: ApiVersion) -> Result<Shapes, OpenApiError> {
    let openapi = match doc.get("openapi") {
        Some(Value::String(v)) => v.clone(),
        Some(Value::Number(v)) => v.to_string(),
        _ => return Err(bad("no `openapi` version field")),
    };
    if !openapi.starts_with('3') {
        return Err(bad(format!("OpenAPI {openapi} is not 3.x")));
    }
    let conv = Converter { doc };
    let mut models = BTreeMap::new();
    if let Some(schemas) = doc
        .pointer("/components/schemas")
        .and_then(Value::as_object)
    {
        for (name, s) in schemas {
            models.insert(name.clone(), conv.schema(s, 0)?);
        }
    }
    let mut operations = BTreeMap::new();
    let paths = doc
        .get("paths")
        .and_then(Value::as_object)
        .ok_or_else(|| bad("no `paths`"))?;
    for (path, item) in paths {
        let item = conv.deref(item)?;
        let shared: &[Value] = item
            .get("parameters")
            .and_then(Value::as_array)
            .map_or(&[], Vec::as_slice);
        for method in METHODS {
            let Some(op) = item.get(method) else { continue };
            let id = op
                .get("operationId")
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    bad(format!(
                        "{} {path} has no operationId",
                        method.to_uppercase()
                    ))
                })?;
            let shape = conv.operation(method, path, op, shared)?;
            if operations.insert(id.to_string(), shape).is_some() {
                return Err(bad(format!("operationId {id} is used twice")));
            }
        }
    }
    let title = doc
        .pointer("/info/title")
        .and_then(Value::as_str)
        .unwrap_or("untitled");
    let spec_version = doc
        .pointer("/info/version")
        .and_then(Value::as_str)
        .unwrap_or("?");
    let shapes = Shapes::new(
        version,
        format!("OpenAPI document \"{title}\" {spec_version}"),
        models,
        operations,
    );
    if let Some(name) = shapes.unknown_refs().first() {
        return Err(bad(format!("$ref to unknown schema `{name}`")));
    }
    Ok(shapes)
}

/// Reads schemas and operations with the document at hand, for `$ref`s.
struct Converter<'a> {
    doc: &'a Value,
}

/// `#/components/schemas/Bank` -> `Bank`.
fn model_name(reference: &str) -> Option<String> {
    reference
        .strip_prefix("#/components/schemas/")
        .map(|n| n.replace("~1", "/").replace("~0", "~"))
}

fn text_list(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

fn u64_of(v: &Value, key: &str) -> Option<u64> {
    v.get(key).and_then(Value::as_u64)
}

fn number_of(v: &Value, key: &str) -> Option<serde_json::Number> {
    match v.get(key) {
        Some(Value::Number(n)) => Some(n.clone()),
        _ => None,
    }
}

impl Converter<'_> {
    /// Follow a local `$ref` (`#/components/...`) of a parameter, body, response or path item.
    fn deref<'v>(&'v self, mut v: &'v Value) -> Result<&'v Value, OpenApiError> {
        for _ in 0..16 {
            let Some(r) = v.get("$ref").and_then(Value::as_str) else {
                return Ok(v);
            };
            let pointer = r
                .strip_prefix('#')
                .ok_or_else(|| bad(format!("external $ref {r} is not supported")))?;
            v = self
                .doc
                .pointer(pointer)
                .ok_or_else(|| bad(format!("$ref {r} points nowhere")))?;
        }
        Err(bad("$ref chain too long"))
    }

    fn schema(&self, s: &Value, depth: usize) -> Result<Schema, OpenApiError> {
        if depth > 64 {
            return Err(bad("schema nested too deeply"));
        }
        let nullable = s.get("nullable").and_then(Value::as_bool).unwrap_or(false);
        if let Some(r) = s.get("$ref").and_then(Value::as_str) {
            let name =
                model_name(r).ok_or_else(|| bad(format!("$ref {r} is not a component schema")))?;
            return Ok(Schema {
                nullable,
                ..Schema::reference(name)
            });
        }
        if let Some(parts) = s.get("allOf").and_then(Value::as_array) {
            // Parts that only describe (a description, an example) add nothing to the shape.
            let parts: Vec<Value> = parts
                .iter()
                .filter(|p| shapes_something(p))
                .cloned()
                .collect();
            let single_ref = parts.len() == 1 && parts[0].get("$ref").is_some();
            if single_ref && s.get("properties").is_none() {
                let mut out = self.schema(&parts[0], depth + 1)?;
                out.nullable |= nullable;
                return Ok(out);
            }
            return self.merged(s, &parts, depth);
        }
        let mut out = Schema {
            nullable,
            ..Schema::default()
        };
        if let Some(alts) = s.get("oneOf").and_then(Value::as_array) {
            out.one_of = Some(
                alts.iter()
                    .map(|a| self.schema(a, depth + 1))
                    .collect::<Result<_, _>>()?,
            );
            return Ok(out);
        }
        if s.get("anyOf").is_some() {
            out.kind = Some(Kind::Any);
            return Ok(out);
        }
        out.kind = match s.get("type") {
            Some(Value::String(t)) => Some(kind_of(t)?),
            // OpenAPI 3.1 style: ["string", "null"].
            Some(Value::Array(ts)) => {
                let mut kind = None;
                for t in ts.iter().filter_map(Value::as_str) {
                    if t == "null" {
                        out.nullable = true;
                    } else {
                        kind = Some(kind_of(t)?);
                    }
                }
                kind
            }
            _ => None,
        };
        out.format = s.get("format").and_then(Value::as_str).map(String::from);
        out.enumeration = s.get("enum").and_then(Value::as_array).cloned();
        if let Some(props) = s.get("properties").and_then(Value::as_object) {
            let mut fields = BTreeMap::new();
            for (name, p) in props {
                fields.insert(name.clone(), self.schema(p, depth + 1)?);
            }
            out.fields = Some(fields);
        }
        out.required = text_list(s.get("required"));
        out.additional = match s.get("additionalProperties") {
            Some(Value::Bool(true)) => Some(Box::new(Schema::of(Kind::Any))),
            Some(a @ Value::Object(_)) => Some(Box::new(self.schema(a, depth + 1)?)),
            _ => None,
        };
        if let Some(items) = s.get("items") {
            out.items = Some(Box::new(self.schema(items, depth + 1)?));
        }
        out.min_items = u64_of(s, "minItems");
        out.max_items = u64_of(s, "maxItems");
        out.min_length = u64_of(s, "minLength");
        out.max_length = u64_of(s, "maxLength");
        out.pattern = s.get("pattern").and_then(Value::as_str).map(String::from);
        out.minimum = number_of(s, "minimum");
        out.maximum = number_of(s, "maximum");
        Ok(out)
    }

    /// `allOf` of several parts: one object with the fields and required names of all parts
    /// (referenced parts are read from the components).
    fn merged(&self, s: &Value, parts: &[Value], depth: usize) -> Result<Schema, OpenApiError> {
        let mut out = Schema {
            kind: Some(Kind::Object),
            nullable: s.get("nullable").and_then(Value::as_bool).unwrap_or(false),
            ..Schema::default()
        };
        let mut own = s.clone();
        if let Some(o) = own.as_object_mut() {
            o.remove("allOf");
        }
        for part in parts.iter().chain(std::iter::once(&own)) {
            let part = self.deref(part)?;
            let converted = match part.get("allOf") {
                Some(_) => self.schema(part, depth + 1)?,
                None => {
                    let mut plain = part.clone();
                    if let Some(o) = plain.as_object_mut() {
                        o.remove("nullable");
                    }
                    self.schema(&plain, depth + 1)?
                }
            };
            if let Some(fields) = converted.fields {
                out.fields.get_or_insert_with(BTreeMap::new).extend(fields);
            }
            for r in converted.required {
                if !out.required.contains(&r) {
                    out.required.push(r);
                }
            }
            if converted.additional.is_some() {
                out.additional = converted.additional;
            }
        }
        Ok(out)
    }

    fn operation(
        &self,
        method: &str,
        path: &str,
        op: &Value,
        shared: &[Value],
    ) -> Result<OperationShape, OpenApiError> {
        let mut params: Vec<Param> = Vec::new();
        let own: &[Value] = op
            .get("parameters")
            .and_then(Value::as_array)
            .map_or(&[], Vec::as_slice);
        // Path-level parameters first; an operation's own parameter of the same name and place
        // replaces it.
        for p in shared.iter().chain(own) {
            let p = self.param(self.deref(p)?)?;
            params.retain(|q| !(q.name == p.name && q.location == p.location));
            params.push(p);
        }
        let body = match op.get("requestBody") {
            None => None,
            Some(b) => {
                let b = self.deref(b)?;
                let content = b
                    .get("content")
                    .and_then(Value::as_object)
                    .ok_or_else(|| bad(format!("{path}: requestBody without content")))?;
                let (media, entry) = pick_media(content)
                    .ok_or_else(|| bad(format!("{path}: requestBody with empty content")))?;
                Some(BodyShape {
                    content: media.to_string(),
                    required: b.get("required").and_then(Value::as_bool).unwrap_or(false),
                    schema: self.media_schema(entry)?,
                })
            }
        };
        let mut responses = BTreeMap::new();
        let listed = op
            .get("responses")
            .and_then(Value::as_object)
            .ok_or_else(|| bad(format!("{} {path} has no responses", method.to_uppercase())))?;
        for (status, r) in listed {
            let r = self.deref(r)?;
            let schema = match r
                .get("content")
                .and_then(Value::as_object)
                .and_then(pick_media)
            {
                Some((_, entry)) => Some(self.media_schema(entry)?),
                None => None,
            };
            responses.insert(status.clone(), schema);
        }
        Ok(OperationShape {
            method: method.to_uppercase(),
            path: path.to_string(),
            params,
            body,
            responses,
        })
    }

    fn param(&self, p: &Value) -> Result<Param, OpenApiError> {
        let name = p
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("parameter without a name"))?;
        let location = match p.get("in").and_then(Value::as_str) {
            Some("path") => ParamIn::Path,
            Some("query") => ParamIn::Query,
            Some("header") => ParamIn::Header,
            Some("cookie") => ParamIn::Cookie,
            other => return Err(bad(format!("parameter {name}: unknown place {other:?}"))),
        };
        let schema = match p.get("schema") {
            Some(s) => self.schema(s, 0)?,
            None => Schema::of(Kind::Any),
        };
        Ok(Param {
            name: name.to_string(),
            location,
            required: p.get("required").and_then(Value::as_bool).unwrap_or(false),
            schema,
        })
    }

    /// The schema of a media type entry (`any` when it names none).
    fn media_schema(&self, entry: &Value) -> Result<Schema, OpenApiError> {
        match entry.get("schema") {
            Some(s) => self.schema(s, 0),
            None => Ok(Schema::of(Kind::Any)),
        }
    }
}

/// Whether a schema object says anything about the shape (more than words and examples).
fn shapes_something(part: &Value) -> bool {
    const WORDS: [&str; 9] = [
        "description",
        "example",
        "examples",
        "title",
        "default",
        "readOnly",
        "writeOnly",
        "deprecated",
        "externalDocs",
    ];
    part.as_object()
        .is_none_or(|o| o.keys().any(|k| !WORDS.contains(&k.as_str())))
}

/// JSON if offered, else the first media type.
fn pick_media(content: &Map<String, Value>) -> Option<(&str, &Value)> {
    content
        .get_key_value("application/json")
        .or_else(|| content.iter().next())
        .map(|(k, v)| (k.as_str(), v))
}

fn kind_of(t: &str) -> Result<Kind, OpenApiError> {
    Ok(match t {
        "object" => Kind::Object,
        "array" => Kind::Array,
        "string" => Kind::String,
        "integer" => Kind::Integer,
        "number" => Kind::Number,
        "boolean" => Kind::Boolean,
        other => return Err(bad(format!("unknown type `{other}`"))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: &str = r##"
openapi: 3.0.1
info: {title: Mini, version: "1.0", description: dropped}
paths:
  /api/v1/banks/{id}:
    parameters:
      - {name: id, in: path, required: true, schema: {type: integer, format: int64}}
    get:
      operationId: getBank
      description: dropped
      parameters:
        - {$ref: '#/components/parameters/X-Request-Id'}
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Bank'}
              example: {id: 1}
        "404": {$ref: '#/components/responses/NotFound'}
  /oauth/revoke:
    post:
      operationId: revokeToken
      requestBody:
        required: true
        content:
          application/x-www-form-urlencoded:
            schema: {type: object, required: [token], properties: {token: {type: string}}}
      responses:
        200: {description: no body}
components:
  parameters:
    X-Request-Id: {name: X-Request-Id, in: header, required: false, schema: {type: string, maxLength: 255}}
  responses:
    NotFound:
      description: nope
      content: {application/json: {schema: {$ref: '#/components/schemas/Error'}}}
  schemas:
    Error: {type: object, properties: {message: {type: string, nullable: true}}}
    Bank:
      type: object
      description: dropped
      required: [id, name]
      properties:
        id: {type: integer, format: int64, minimum: 1, example: 5}
        name: {type: string, minLength: 1}
        error: {allOf: [{$ref: '#/components/schemas/Error'}], nullable: true, description: x}
        tags: {type: array, items: {type: string, enum: [A, B]}, maxItems: 3}
        extra: {type: object, additionalProperties: {type: string}}
        both: {allOf: [{$ref: '#/components/schemas/Error'}, {type: object, required: [code], properties: {code: {type: integer}}}]}
        either: {oneOf: [{type: string}, {type: integer}]}
"##;

    #[test]
    fn converts_every_construct() {
        let s = import_str(SPEC, ApiVersion::V1).unwrap();
        let json = serde_json::to_value(&s).unwrap();
        let expected = serde_json::json!({
            "version": "v1",
            "source": "OpenAPI document \"Mini\" 1.0",
            "models": {
                "Error": {"type": "object", "fields": {"message": {"type": "string", "nullable": true}}},
                "Bank": {
                    "type": "object",
                    "required": ["id", "name"],
                    "fields": {
                        "id": {"type": "integer", "format": "int64", "minimum": 1},
                        "name": {"type": "string", "min_length": 1},
                        "error": {"ref": "Error", "nullable": true},
                        "tags": {"type": "array", "items": {"type": "string", "enum": ["A", "B"]}, "max_items": 3},
                        "extra": {"type": "object", "additional": {"type": "string"}},
                        "both": {"type": "object", "required": ["code"], "fields": {
                            "message": {"type": "string", "nullable": true},
                            "code": {"type": "integer"}
                        }},
                        "either": {"one_of": [{"type": "string"}, {"type": "integer"}]}
                    }
                }
            },
            "operations": {
                "getBank": {
                    "method": "GET",
                    "path": "/api/v1/banks/{id}",
                    "params": [
                        {"name": "id", "in": "path", "required": true, "schema": {"type": "integer", "format": "int64"}},
                        {"name": "X-Request-Id", "in": "header", "required": false, "schema": {"type": "string", "max_length": 255}}
                    ],
                    "responses": {"200": {"ref": "Bank"}, "404": {"ref": "Error"}}
                },
                "revokeToken": {
                    "method": "POST",
                    "path": "/oauth/revoke",
                    "params": [],
                    "body": {"content": "application/x-www-form-urlencoded", "required": true, "schema": {
                        "type": "object", "required": ["token"], "fields": {"token": {"type": "string"}}
                    }},
                    "responses": {"200": null}
                }
            }
        });
        assert_eq!(json, expected);
        assert!(!s.to_json_pretty().contains("dropped"));
    }

    #[test]
    fn json_documents_work_too() {
        let doc = parse_document(SPEC).unwrap();
        let from_json = import_str(&doc.to_string(), ApiVersion::V1).unwrap();
        assert_eq!(from_json, import_str(SPEC, ApiVersion::V1).unwrap());
    }

    #[test]
    fn bad_documents_are_clear_errors() {
        let cases = [
            ("a: [", "not a YAML"),
            ("openapi: 2.0\npaths: {}", "not 3.x"),
            ("info: {}", "no `openapi`"),
            (
                "openapi: 3.0.0\npaths: {/a: {get: {responses: {}}}}",
                "no operationId",
            ),
            (
                "openapi: 3.0.0\npaths: {/a: {get: {operationId: a, responses: {'200': {content: {application/json: {schema: {$ref: '#/components/schemas/Nope'}}}}}}}}",
                "unknown schema `Nope`",
            ),
            (
                "openapi: 3.0.0\npaths: {/a: {get: {operationId: a, parameters: [{$ref: '#/nowhere'}], responses: {}}}}",
                "points nowhere",
            ),
            (
                "openapi: 3.0.0\npaths: {/a: {get: {operationId: a, responses: {}}, post: {operationId: a, responses: {}}}}",
                "used twice",
            ),
        ];
        for (text, message) in cases {
            let err = import_str(text, ApiVersion::V1).unwrap_err().to_string();
            assert!(err.contains(message), "{text}: {err}");
            assert!(!err.contains('\n'), "one line: {err}");
        }
    }
}
