//! The cross-check of the shapes importer: the mock's V1 answers validated against finAPI's raw
//! V1 OpenAPI document (`shared/reference/finapi/finapi-access-v1-1.151.1-fastbill-go-finapi.yaml`)
//! with the `jsonschema` crate, independently of `fixtures/shapes/`.
//!
//! The document's components become one JSON Schema (2020-12) document: `#/components/schemas/X`
//! refs point into `$defs`, OpenAPI 3.0's `nullable: true` becomes a type that admits `null`,
//! and keywords JSON Schema does not know (`example`, `discriminator`, ...) are dropped. Where
//! the document is absent the test says so and passes (it is reference material beside the
//! repository, not part of it).

use crate::traffic;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use finapi_conformance::model::ApiVersion;
use finapi_conformance::Faults;
use serde_json::{json, Map, Value};

const SPEC: &str = "finapi-access-v1-1.151.1-fastbill-go-finapi.yaml";

/// The document: `FINAPI_V1_OPENAPI` if set, else `shared/reference/finapi/` beside the
/// repository or beside any folder above it.
fn spec_path() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("FINAPI_V1_OPENAPI") {
        return Some(PathBuf::from(p));
    }
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .map(|dir| dir.join("shared/reference/finapi").join(SPEC))
        .find(|p| p.is_file())
}

/// Keywords of OpenAPI 3.0 schema objects that JSON Schema does not have (or that must not
/// constrain an answer).
const DROPPED: [&str; 6] = [
    "nullable",
    "example",
    "discriminator",
    "xml",
    "externalDocs",
    "writeOnly",
];

/// One OpenAPI schema object as JSON Schema.
fn convert(schema: &Value) -> Value {
    let Value::Object(map) = schema else {
        return schema.clone();
    };
    let mut out = Map::new();
    for (k, v) in map {
        match k.as_str() {
            k if DROPPED.contains(&k) => {}
            "$ref" => {
                let name = v
                    .as_str()
                    .and_then(|r| r.strip_prefix("#/components/schemas/"))
                    .unwrap_or_else(|| panic!("unsupported ref {v}"));
                out.insert(k.into(), Value::from(format!("#/$defs/{name}")));
            }
            "properties" => {
                let props: Map<String, Value> = v
                    .as_object()
                    .map(|p| p.iter().map(|(n, s)| (n.clone(), convert(s))).collect())
                    .unwrap_or_default();
                out.insert(k.into(), Value::Object(props));
            }
            "items" | "not" => {
                out.insert(k.into(), convert(v));
            }
            "additionalProperties" if v.is_object() => {
                out.insert(k.into(), convert(v));
            }
            "allOf" | "anyOf" | "oneOf" => {
                let parts = v
                    .as_array()
                    .map(|a| a.iter().map(convert).collect())
                    .unwrap_or_default();
                out.insert(k.into(), Value::Array(parts));
            }
            _ => {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    if map.get("nullable") != Some(&Value::Bool(true)) {
        return Value::Object(out);
    }
    // `nullable` admits null for the whole schema, compositions included (a nullable
    // `allOf: [$ref]` is the referenced model or null).
    json!({ "anyOf": [{ "type": "null" }, Value::Object(out)] })
}

/// The spec, converted: `$defs` and, per operation id, status to body schema (`None`: no body).
struct Contract {
    defs: Value,
    responses: HashMap<String, BTreeMap<String, Option<Value>>>,
}

fn contract(doc: &Value) -> Contract {
    let defs: Map<String, Value> = doc["components"]["schemas"]
        .as_object()
        .expect("components.schemas")
        .iter()
        .map(|(n, s)| (n.clone(), convert(s)))
        .collect();
    let mut responses = HashMap::new();
    for item in doc["paths"].as_object().expect("paths").values() {
        for (method, op) in item.as_object().into_iter().flatten() {
            if !["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                continue;
            }
            let Some(id) = op["operationId"].as_str() else {
                continue;
            };
            let mut by_status = BTreeMap::new();
            for (status, resp) in op["responses"].as_object().into_iter().flatten() {
                let body = resp["content"]
                    .as_object()
                    .and_then(|c| c.values().next())
                    .map(|media| convert(&media["schema"]));
                by_status.insert(status.clone(), body);
            }
            responses.insert(id.to_string(), by_status);
        }
    }
    Contract {
        defs: Value::Object(defs),
        responses,
    }
}

/// Validators by body schema, compiled once each.
struct Validators<'c> {
    contract: &'c Contract,
    compiled: HashMap<String, jsonschema::Validator>,
}

impl Validators<'_> {
    fn errors(&mut self, schema: &Value, body: &Value) -> Vec<String> {
        let key = schema.to_string();
        let validator = self.compiled.entry(key).or_insert_with(|| {
            let mut root = schema.as_object().cloned().unwrap_or_default();
            root.insert("$defs".into(), self.contract.defs.clone());
            jsonschema::options()
                .with_draft(jsonschema::Draft::Draft202012)
                .should_validate_formats(false)
                .build(&Value::Object(root))
                .expect("the converted schema compiles")
        });
        validator
            .iter_errors(body)
            .map(|e| format!("{}: {e}", e.instance_path()))
            .collect()
    }
}

#[tokio::test]
async fn v1_answers_conform_to_the_v1_openapi_document() {
    let Some(path) = spec_path() else {
        println!(
            "skipped: the V1 OpenAPI document ({SPEC}) is not in shared/reference/finapi/ beside \
             the repository, and FINAPI_V1_OPENAPI is not set"
        );
        return;
    };
    let text = std::fs::read_to_string(&path).expect("the V1 document is readable");
    let doc: Value = serde_yaml::from_str(&text).expect("the V1 document is YAML");
    let contract = contract(&doc);
    let mut validators = Validators {
        contract: &contract,
        compiled: HashMap::new(),
    };

    // The checker can fail: an ErrorMessage without its required authContext is refused.
    let error_schema = json!({ "$ref": "#/$defs/ErrorMessage" });
    let drifted = json!({ "errors": [], "date": "2026-01-01 00:00:00.000", "requestId": "r", "endpoint": "GET /" });
    assert!(
        !validators.errors(&error_schema, &drifted).is_empty(),
        "an ErrorMessage without authContext passed"
    );

    let exchanges = traffic::record(ApiVersion::V1, Faults::none()).await;
    let mut per_op: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut not_in_document = std::collections::BTreeSet::new();
    let mut undocumented = std::collections::BTreeSet::new();
    for e in &exchanges {
        let Some(by_status) = contract.responses.get(&e.op_id) else {
            not_in_document.insert(e.op_id.clone());
            continue;
        };
        let problems = per_op.entry(e.op_id.clone()).or_default();
        let at = format!("{} {} as {} -> {}", e.method, e.path, e.by, e.status);
        let documented = by_status
            .get(&e.status.to_string())
            .or_else(|| by_status.get("default"));
        match (documented, e.json()) {
            (None, _) => {
                undocumented.insert((e.op_id.clone(), e.status));
            }
            (Some(None), Some(_)) => {
                problems.push(format!("{at}: a body where none is documented"))
            }
            (Some(Some(_)), None) => {
                problems.push(format!("{at}: no body where one is documented"))
            }
            (Some(Some(schema)), Some(body)) => {
                for err in validators.errors(schema, &body) {
                    problems.push(format!("{at}: {err}"));
                }
            }
            (Some(None), None) => {}
        }
    }
    let conforming = per_op.values().filter(|p| p.is_empty()).count();
    println!(
        "V1 operations whose responses conform to the OpenAPI document: {conforming}/{}",
        per_op.len()
    );
    if !not_in_document.is_empty() {
        println!("not in the document: {not_in_document:?}");
    }
    if !undocumented.is_empty() {
        println!("statuses the document does not list for the operation: {undocumented:?}");
    }
    let problems: Vec<String> = per_op
        .iter()
        .flat_map(|(op, ps)| ps.iter().map(move |p| format!("{op}: {p}")))
        .collect();
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
