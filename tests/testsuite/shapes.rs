//! The committed shapes against their sources and the catalogue: `v1.json` is exactly the
//! conversion of finAPI's V1 spec, every catalogue operation has a shape, and on the real
//! models `fill` always conforms while `validate` catches what is broken on purpose.

use std::path::PathBuf;

use finapi_conformance::model::{ApiVersion, Catalogue, Schema, Shapes, Source};
use serde_json::{json, Value};

const V1_SPEC: &str = "finapi-access-v1-1.151.1-fastbill-go-finapi.yaml";

/// The reference folder beside the repository (`../shared/reference/finapi`), or /work/shared.
pub fn reference_spec() -> Option<PathBuf> {
    let beside = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/reference/finapi");
    [beside, PathBuf::from("/work/shared/reference/finapi")]
        .into_iter()
        .map(|dir| dir.join(V1_SPEC))
        .find(|p| p.is_file())
}

#[test]
fn v1_json_is_the_conversion_of_the_v1_spec() {
    let Some(spec) = reference_spec() else {
        eprintln!(
            "skipped: {V1_SPEC} not found beside the repository (../shared/reference/finapi)"
        );
        return;
    };
    let converted = finapi_conformance::model::import_openapi(&spec, ApiVersion::V1)
        .expect("the V1 spec converts");
    let committed = include_str!("../../fixtures/shapes/v1.json");
    assert!(
        converted.to_json_pretty() == committed,
        "fixtures/shapes/v1.json is stale: regenerate it with `finapi-conformance shapes import-openapi {} --api-version v1`",
        spec.display()
    );
}

/// Versions whose shapes are real (the V2 file is a placeholder until its import lands).
fn real_versions() -> Vec<ApiVersion> {
    ApiVersion::ALL
        .into_iter()
        .filter(|v| {
            let s = Shapes::embedded(*v);
            let real = !s.operations.is_empty();
            if !real {
                eprintln!("skipped: the {v} shapes are still a placeholder");
            }
            real
        })
        .collect()
}

#[test]
fn every_catalogue_operation_has_a_shape_with_its_method_and_path() {
    assert!(real_versions().contains(&ApiVersion::V1));
    for version in real_versions() {
        let shapes = Shapes::embedded(version);
        for op in Catalogue::embedded().operations(version) {
            let Some(shape) = shapes.operation(&op.id) else {
                assert_eq!(op.source, Source::Extra, "{version} {} has no shape", op.id);
                continue;
            };
            assert_eq!(shape.method, op.method.as_str(), "{version} {}", op.id);
            assert_eq!(shape.path, op.path, "{version} {}", op.id);
            let success = shape.responses.get(&op.success.to_string());
            assert!(
                success.is_some(),
                "{version} {}: no {} response",
                op.id,
                op.success
            );
        }
    }
}

/// Every schema worth filling: each model, and each response and request body.
fn schemas(shapes: &Shapes) -> Vec<(String, Schema)> {
    let mut out: Vec<(String, Schema)> = shapes
        .models
        .keys()
        .map(|m| (m.clone(), Schema::reference(m)))
        .collect();
    for (id, op) in &shapes.operations {
        for (status, s) in &op.responses {
            if let Some(s) = s {
                out.push((format!("{id} {status}"), s.clone()));
            }
        }
        if let Some(b) = &op.body {
            out.push((format!("{id} body"), b.schema.clone()));
        }
    }
    out
}

#[test]
fn fill_conforms_for_every_real_schema() {
    let partials = [
        json!({}),
        json!(null),
        json!({"id": "not a number", "name": null, "status": "NO_SUCH_VALUE", "blzs": [1]}),
    ];
    for version in real_versions() {
        let shapes = Shapes::embedded(version);
        for (name, schema) in schemas(shapes) {
            for partial in &partials {
                for seed in [0, 1, 7, 12345] {
                    let filled = shapes.fill(&schema, partial.clone(), seed);
                    let problems = shapes.validate(&filled, &schema);
                    assert!(
                        problems.is_empty(),
                        "{version} {name}: fill({partial}, {seed}) = {filled}\n{problems:?}"
                    );
                }
            }
        }
    }
}

/// Remove, retype or null each required field of a filled model: validate must say so, at
/// that field.
#[test]
fn validate_catches_each_broken_required_field_of_the_real_models() {
    for version in real_versions() {
        let shapes = Shapes::embedded(version);
        let mut checked = 0;
        for (name, model) in &shapes.models {
            let schema = Schema::reference(name);
            let good = shapes.sample(&schema, 3);
            assert_eq!(shapes.validate(&good, &schema), vec![], "{name}");
            for field in &model.required {
                let path = format!("$.{field}");
                let field_schema = &model.fields.as_ref().unwrap()[field];
                let mut missing = good.clone();
                missing.as_object_mut().unwrap().remove(field);
                let found = shapes.validate(&missing, &schema);
                assert!(
                    found
                        .iter()
                        .any(|p| p.path == path && p.problem.kind() == "missing"),
                    "{name}: removing {field} gave {found:?}"
                );
                let mut retyped = good.clone();
                let wrong = match shapes.resolve(field_schema).effective_kind() {
                    finapi_conformance::model::Kind::Any => continue,
                    finapi_conformance::model::Kind::Array => json!({"not": "an array"}),
                    _ => json!([]),
                };
                retyped[field] = wrong;
                let found = shapes.validate(&retyped, &schema);
                assert!(
                    found.iter().any(|p| p.path == path),
                    "{name}: retyping {field} gave {found:?}"
                );
                if !shapes.accepts_null(field_schema) {
                    let mut nulled = good.clone();
                    nulled[field] = Value::Null;
                    let found = shapes.validate(&nulled, &schema);
                    assert!(
                        found
                            .iter()
                            .any(|p| p.path == path && p.problem.kind() == "null"),
                        "{name}: null in {field} gave {found:?}"
                    );
                }
                checked += 1;
            }
        }
        assert!(
            checked > 100,
            "{version}: only {checked} required fields checked"
        );
    }
}

#[test]
fn real_request_bodies_name_the_bad_field() {
    let v1 = Shapes::embedded(ApiVersion::V1);
    let err = v1
        .check_request_body("createLabel", &json!({}))
        .unwrap_err();
    assert_eq!(
        (err.field.as_str(), err.problem.kind()),
        ("name", "missing")
    );
    assert_eq!(
        v1.check_request_body("createLabel", &json!({"name": "Rent"})),
        Ok(())
    );
    let form = json!({"grant_type": "password", "client_id": "a", "client_secret": "b"});
    assert_eq!(v1.check_request_body("getToken", &form), Ok(()));
    let form = json!({"grant_type": "implicit", "client_id": "a", "client_secret": "b"});
    let err = v1.check_request_body("getToken", &form).unwrap_err();
    assert_eq!(
        (err.field.as_str(), err.problem.kind()),
        ("grant_type", "enum")
    );
}

#[test]
fn v1_token_and_revoke_live_under_oauth() {
    let v1 = Shapes::embedded(ApiVersion::V1);
    assert_eq!(v1.operation("getToken").unwrap().path, "/oauth/token");
    assert_eq!(v1.operation("revokeToken").unwrap().path, "/oauth/revoke");
    assert_eq!(
        v1.response_schema("revokeToken", 200),
        Some(None),
        "revoke answers without a body"
    );
    assert_eq!(
        v1.response_schema("getToken", 200),
        Some(Some(&Schema::reference("AccessToken")))
    );
}

/// Arbitrary JSON, a few levels deep.
fn any_json() -> impl proptest::strategy::Strategy<Value = Value> {
    use proptest::prelude::*;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        (-1e6f64..1e6).prop_map(Value::from),
        // Compiled once: a `&str` strategy parses its regex again for every value.
        proptest::string::string_regex("[A-Za-z0-9 ._-]{0,10}")
            .expect("a valid regex")
            .prop_map(Value::from),
        Just(json!("2024-02-30")),
        Just(json!("")),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            proptest::collection::btree_map(
                proptest::string::string_regex("[a-z]{1,6}").expect("a valid regex"),
                inner,
                0..4,
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Property, on every real model with a recorded seed: whatever the partial body (a valid
/// sample with some fields replaced by arbitrary JSON), `fill` conforms; and `fill` leaves a
/// value that already conforms exactly as it is.
#[test]
fn fill_conforms_for_arbitrary_partials_and_keeps_conforming_values() {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
    for version in real_versions() {
        let shapes = Shapes::embedded(version);
        let names: Vec<String> = shapes.models.keys().cloned().collect();
        let strategy = (
            0..names.len(),
            any::<u64>(),
            proptest::collection::vec((any::<prop::sample::Index>(), any_json()), 0..4),
        );
        let config = Config {
            cases: 512,
            failure_persistence: None,
            ..Config::default()
        };
        let mut runner =
            TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &[11; 32]));
        let result = runner.run(&strategy, |(model, seed, changes)| {
            let schema = Schema::reference(&names[model]);
            let fields: Vec<&String> = shapes.models[&names[model]]
                .fields
                .iter()
                .flat_map(|f| f.keys())
                .collect();
            let mut partial = shapes.sample(&schema, seed);
            for (at, value) in changes {
                if let (Some(obj), false) = (partial.as_object_mut(), fields.is_empty()) {
                    obj.insert(at.get(&fields).to_string(), value);
                } else {
                    partial = value;
                }
            }
            let filled = shapes.fill(&schema, partial.clone(), seed);
            let problems = shapes.validate(&filled, &schema);
            if !problems.is_empty() {
                return Err(TestCaseError::fail(format!(
                    "{version} {}: fill({partial}) = {filled}: {problems:?}",
                    names[model]
                )));
            }
            if shapes.validate(&partial, &schema).is_empty() && filled != partial {
                return Err(TestCaseError::fail(format!(
                    "{version} {}: fill changed a conforming {partial} into {filled}",
                    names[model]
                )));
            }
            Ok(())
        });
        if let Err(e) = result {
            panic!("{e}");
        }
    }
}
