//! insta snapshots of what people read: the expected role matrix per API version (the
//! `matrix` command's output), finAPI-shaped error bodies (401 BadCredentialsError and
//! ErrorMessage for 400/403/404/422/423), and the JSON and Markdown reports of a small
//! deterministic run. The simulator runs on a fixed clock and requests carry a fixed
//! `X-Request-Id`, so bodies are stable; timings and generated request ids are redacted.
//!
//! The `.snap` files live in `tests/snapshots/`. A change shows up as a failing test; review it
//! with `cargo insta review` (or `INSTA_UPDATE=always` and `git diff`). With `CI=true` insta
//! never writes files, it only compares.

use finapi_conformance::model::{ApiVersion, Catalogue};
use finapi_conformance::report;
use finapi_conformance::runner::{self, CheckConfig, Filters, Target};
use finapi_conformance::sim::{SimConfig, SimResponse};
use finapi_conformance::world::demo;
use finapi_conformance::{Clock, Faults, Simulator, Violation, World};
use serde_json::{json, Value};

use crate::common::{token_path, Grant};

// ---------------------------------------------------------------------------------------------
// The expected role matrix

#[test]
fn role_matrix_v1() {
    let matrix = report::expected_matrix(Catalogue::embedded(), ApiVersion::V1);
    insta::assert_snapshot!("role_matrix_v1", matrix);
}

#[test]
fn role_matrix_v2() {
    let matrix = report::expected_matrix(Catalogue::embedded(), ApiVersion::V2);
    insta::assert_snapshot!("role_matrix_v2", matrix);
}

// ---------------------------------------------------------------------------------------------
// Error bodies

const REQUEST_ID: &str = "snapshot-request-1";

fn sim(version: ApiVersion) -> Simulator {
    Simulator::with_config(
        &World::demo_for(version),
        SimConfig {
            clock: Clock::epoch(),
            ..SimConfig::default()
        },
    )
}

fn form(pairs: &[(&str, &str)]) -> Vec<u8> {
    serde_urlencoded::to_string(pairs).unwrap().into_bytes()
}

fn token(sim: &Simulator, v: ApiVersion, pairs: &[(&str, &str)]) -> SimResponse {
    sim.call(
        "POST",
        token_path(v),
        &[
            ("content-type", "application/x-www-form-urlencoded"),
            ("x-request-id", REQUEST_ID),
        ],
        &form(pairs),
    )
}

fn client_token(sim: &Simulator, v: ApiVersion, client: (&str, &str)) -> String {
    let r = token(sim, v, &Grant::Client(client).pairs());
    assert_eq!(r.status, 200);
    r.json()["access_token"].as_str().unwrap().to_string()
}

fn user_token(sim: &Simulator, v: ApiVersion, user: (&str, &str)) -> String {
    let r = token(sim, v, &Grant::Password(demo::APP_CLIENT, user).pairs());
    assert_eq!(r.status, 200);
    r.json()["access_token"].as_str().unwrap().to_string()
}

/// A call with the fixed request id, as `{status, body}` (a token is never part of it).
fn call(
    sim: &Simulator,
    method: &str,
    path: &str,
    bearer: Option<&str>,
    body: Option<Value>,
) -> Value {
    let auth = bearer.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("x-request-id", REQUEST_ID)];
    if let Some(a) = &auth {
        headers.push(("authorization", a.as_str()));
    }
    let bytes = match &body {
        Some(b) => {
            headers.push(("content-type", "application/json"));
            serde_json::to_vec(b).unwrap()
        }
        None => Vec::new(),
    };
    let r = sim.call(method, path, &headers, &bytes);
    assert_eq!(r.request_id, REQUEST_ID, "the request id is echoed");
    json!({ "status": r.status, "body": r.json() })
}

#[test]
fn error_bodies_v2() {
    let v = ApiVersion::V2;
    let sim = sim(v);
    let app = client_token(&sim, v, demo::APP_CLIENT);
    let alice = user_token(&sim, v, demo::USERS[0]);
    let bodies = json!({
        "401 no token": call(&sim, "GET", "/api/v2/users", None, None),
        "401 unknown token": call(&sim, "GET", "/api/v2/users", Some("never-issued"), None),
        "403 app client on getUserList": call(&sim, "GET", "/api/v2/mandatorAdmin/getUserList", Some(&app), None),
        "403 user creating a user": call(&sim, "POST", "/api/v2/users", Some(&alice), Some(json!({}))),
        "404 unknown account": call(&sim, "GET", "/api/v2/accounts/9000000000000", Some(&alice), None),
        "400 password too short": call(&sim, "POST", "/api/v2/users", Some(&app), Some(json!({ "id": "snap-user", "password": "123" }))),
        "422 verifying a verified user": call(&sim, "POST", "/api/v2/users/verify/alice", Some(&app), None),
    });
    insta::assert_json_snapshot!("error_bodies_v2", bodies);
}

#[test]
fn error_bodies_v1() {
    let v = ApiVersion::V1;
    let sim = sim(v);
    let app = client_token(&sim, v, demo::APP_CLIENT);
    let bodies = json!({
        "401 no token": call(&sim, "GET", "/api/v1/users", None, None),
        "403 app client on getUserList": call(&sim, "GET", "/api/v1/mandatorAdmin/getUserList", Some(&app), None),
        "403 API version mismatch": call(&sim, "GET", "/api/v2/clientConfiguration", Some(&app), None),
        "404 unknown user": call(&sim, "POST", "/api/v1/users/verify/nobody", Some(&app), None),
    });
    insta::assert_json_snapshot!("error_bodies_v1", bodies);
}

#[test]
fn token_endpoint_error_bodies() {
    let v = ApiVersion::V2;
    let sim = sim(v);
    let body = |r: SimResponse| json!({ "status": r.status, "body": r.json() });
    let wrong_pw = Grant::Password(demo::APP_CLIENT, ("bob", "wrong-password")).pairs();
    let wrong = body(token(&sim, v, &wrong_pw));
    token(&sim, v, &wrong_pw);
    token(&sim, v, &wrong_pw);
    let locked = body(token(&sim, v, &wrong_pw));
    let bodies = json!({
        "401 bad client credentials": body(token(
            &sim,
            v,
            &Grant::Client((demo::APP_CLIENT.0, "wrong")).pairs(),
        )),
        "403 admin client asking for a user token": body(token(
            &sim,
            v,
            &Grant::Password(demo::ADMIN_CLIENT, demo::USERS[0]).pairs(),
        )),
        "403 unverified user": body(token(
            &sim,
            v,
            &Grant::Password(demo::APP_CLIENT, demo::UNVERIFIED_USER).pairs(),
        )),
        "400 wrong password": wrong,
        "400 unsupported grant": body(token(&sim, v, &[
            ("grant_type", "implicit"),
            ("client_id", demo::APP_CLIENT.0),
            ("client_secret", demo::APP_CLIENT.1),
        ])),
        "423 locked after three wrong passwords": locked,
    });
    insta::assert_json_snapshot!("token_endpoint_error_bodies", bodies);
}

#[test]
fn generated_request_ids_are_redacted() {
    // Without X-Request-Id the simulator makes one up (`selfgen-<uuid>`): redacted, after
    // checking its shape.
    let sim = sim(ApiVersion::V2);
    let app = client_token(&sim, ApiVersion::V2, demo::APP_CLIENT);
    let auth = format!("Bearer {app}");
    let r = sim.call(
        "GET",
        "/api/v2/mandatorAdmin/getUserList",
        &[("authorization", &auth)],
        b"",
    );
    assert_eq!(r.status, 403);
    let body = r.json();
    let id = body["requestId"].as_str().unwrap_or("");
    assert!(id.starts_with("selfgen-") && id.len() == 44, "{id}");
    assert_eq!(id, r.request_id, "body and header carry the same id");
    insta::assert_json_snapshot!("403_with_generated_request_id", body, {
        ".requestId" => "[selfgen request id]",
    });
}

// ---------------------------------------------------------------------------------------------
// Reports of a small deterministic run

/// getUserList for every principal plus the token-reuse scenario, against a mock where app
/// clients may list users, so the reports show passes, violations and skips.
async fn small_run() -> runner::Report {
    let mut config = CheckConfig::new(
        Target::InProcess {
            faults: Faults::none().with(Violation::AppClientListsUsers),
        },
        ApiVersion::V2,
    );
    config.filters = Filters {
        only: vec!["getUserList".into(), "lifecycle:token-reuse".into()],
        skip: vec![],
    };
    runner::run(&config).await.expect("the run")
}

#[tokio::test]
async fn json_report_of_a_small_run() {
    let report = small_run().await;
    // Every app client (the mandator's two and the other mandator's) lists users.
    assert_eq!(report.summary().violations, 3);
    let value: Value =
        serde_json::from_str(&report::render(&report, report::Format::Json, false)).unwrap();
    insta::assert_json_snapshot!("json_report", value, {
        ".duration_ms" => "[duration]",
        ".results[].latency_ms" => "[latency]",
        ".results[].evidence" => "[redacted request and response]",
    });
}

#[tokio::test]
async fn markdown_report_of_a_small_run() {
    let report = small_run().await;
    insta::assert_snapshot!(
        "markdown_report",
        report::render(&report, report::Format::Markdown, false)
    );
}
