//! `spec-diff` as a user runs it: the V1 spec against the embedded model gives no difference,
//! a changed copy gives exactly its changes (exit 1), and unreadable input exits 2 with one line.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use finapi_conformance::model::parse_openapi;
use serde_json::json;

use crate::common::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_finapi-conformance");
const V1_SPEC: &str = "finapi-access-v1-1.151.1-fastbill-go-finapi.yaml";

fn reference_spec() -> Option<PathBuf> {
    let beside = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/reference/finapi");
    let found = [beside, PathBuf::from("/work/shared/reference/finapi")]
        .into_iter()
        .map(|dir| dir.join(V1_SPEC))
        .find(|p| p.is_file());
    if found.is_none() {
        eprintln!(
            "skipped: {V1_SPEC} not found beside the repository (../shared/reference/finapi)"
        );
    }
    found
}

fn spec_diff(spec: &Path, extra: &[&str]) -> Output {
    Command::new(BIN)
        .arg("spec-diff")
        .arg(spec)
        .args(extra)
        .output()
        .expect("spec-diff runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_v1_spec_has_no_differences() {
    let Some(spec) = reference_spec() else { return };
    let out = spec_diff(&spec, &["--api-version", "v1"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(
        stdout(&out).starts_with("no differences between"),
        "{}",
        stdout(&out)
    );
    // The version is guessed from the paths when not given.
    assert_eq!(spec_diff(&spec, &[]).status.code(), Some(0));
}

#[test]
fn a_changed_spec_gives_exactly_its_changes() {
    let Some(spec) = reference_spec() else { return };
    let mut doc = parse_openapi(&std::fs::read_to_string(&spec).unwrap()).unwrap();
    let paths = doc["paths"].as_object_mut().unwrap();
    // A new operation.
    paths.insert(
        "/api/v1/extraThings".into(),
        json!({"get": {"operationId": "getExtraThings", "responses": {"200": {"description": "ok"}}}}),
    );
    // A new path for getBank.
    let item = paths.remove("/api/v1/banks/{id}").unwrap();
    assert_eq!(
        item.as_object().unwrap().len(),
        1,
        "only getBank lives there"
    );
    paths.insert("/api/v1/bank/{id}".into(), item);
    // A required field dropped from, and a field added to, a response model.
    let bank = &mut doc["components"]["schemas"]["Bank"];
    bank["properties"]
        .as_object_mut()
        .unwrap()
        .remove("name")
        .unwrap();
    let required = bank["required"].as_array_mut().unwrap();
    let before = required.len();
    required.retain(|r| r != "name");
    assert_eq!(required.len(), before - 1, "name was required");
    bank["properties"]["foundedIn"] = json!({"type": "integer", "format": "int32"});
    let tmp = TempDir::new("spec-diff");
    let changed = tmp.file("changed.json", &doc.to_string());

    let out = spec_diff(&changed, &["--api-version", "v1"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines,
        vec![
            "Operations (2)",
            "  ~ getBank: path /api/v1/banks/{id} -> /api/v1/bank/{id}",
            "  + getExtraThings: GET /api/v1/extraThings is not in the catalogue",
            "Models (2)",
            "  + Bank.foundedIn: field added (integer(int32), optional)",
            "  - Bank.name: field removed (was required)",
            "4 differences between changed.json and the v1 catalogue and shapes",
        ]
    );
}

#[test]
fn unreadable_input_exits_2_with_one_line() {
    let tmp = TempDir::new("spec-diff");
    let missing = tmp.join("no-such-file.yaml");
    let garbage = tmp.file("garbage.yaml", "openapi: [unclosed\n");
    let swagger = tmp.file("swagger.yaml", "swagger: '2.0'\npaths: {}\n");
    for path in [missing, garbage, swagger] {
        for args in [
            vec!["spec-diff".to_string(), path.display().to_string()],
            vec![
                "shapes".into(),
                "import-openapi".into(),
                path.display().to_string(),
                "--api-version".into(),
                "v1".into(),
            ],
        ] {
            let out = Command::new(BIN).args(&args).output().unwrap();
            assert_eq!(out.status.code(), Some(2), "{args:?}");
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
            assert!(err.starts_with("error: "), "{err}");
            assert!(out.stdout.is_empty());
        }
    }
}

#[test]
fn import_openapi_prints_what_the_library_converts() {
    let tmp = TempDir::new("spec-diff");
    let spec = tmp.file(
        "mini.yaml",
        "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /api/v1/x:\n    get:\n      operationId: getX\n      responses:\n        '204': {description: none}\n",
    );
    let out = Command::new(BIN)
        .args(["shapes", "import-openapi"])
        .arg(&spec)
        .args(["--api-version", "v2"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(printed["version"], "v2");
    assert_eq!(
        printed["operations"]["getX"]["responses"]["204"],
        serde_json::Value::Null
    );
    assert_eq!(printed["operations"]["getX"]["method"], "GET");
}
