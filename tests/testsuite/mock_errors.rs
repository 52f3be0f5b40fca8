//! Error bodies, request ids, transport-level errors, and the wiremock front door's own
//! features (user mocks that override the simulator, the request journal).

use crate::common;

use chrono::{DateTime, NaiveDateTime};
use common::*;
use finapi_conformance::world::demo;
use finapi_conformance::{ApiVersion, ApiVersion::V2, Clock, FinapiMock};
use reqwest::Method;
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

const APP: (&str, &str) = demo::APP_CLIENT;

async fn frozen() -> FinapiMock {
    FinapiMock::builder().clock(Clock::epoch()).start().await
}

/// Keys of a JSON object, sorted.
fn keys(v: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = v
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .map(String::as_str)
        .collect();
    k.sort_unstable();
    k
}

#[tokio::test]
async fn v2_error_message_shape() {
    let mock = frozen().await;
    let base = mock.uri();
    let app = client_token(&base, V2, APP).await;
    let r = get(&base, "/api/v2/mandatorAdmin/getUserList", &app).await;
    assert_eq!(r.status, 403, "{}", r.text);
    assert_eq!(
        keys(&r.body),
        ["authContext", "date", "endpoint", "errors", "requestId"],
        "V2 leaves out `bank` when there is none"
    );
    let errors = r.body["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1);
    // V2's ErrorDetails leaves out a multi-step authentication there is none of.
    assert_eq!(keys(&errors[0]), ["code", "message", "type"]);
    assert_eq!(errors[0]["code"], "UNAUTHORIZED_ACCESS");
    assert_eq!(errors[0]["type"], "TECHNICAL");
    assert_eq!(
        errors[0]["message"],
        "an app client token may not call getUserList"
    );
    assert_eq!(r.body["date"], "2024-01-01T00:00:00.000+00:00");
    assert!(DateTime::parse_from_rfc3339(r.body["date"].as_str().unwrap()).is_ok());
    assert_eq!(r.body["endpoint"], "GET /api/v2/mandatorAdmin/getUserList");
    assert_eq!(r.body["requestId"], r.request_id());
    let auth = r.body["authContext"].as_str().expect("authContext");
    assert!(auth.contains(APP.0), "{auth}");
    assert_eq!(
        r.headers.get("content-type").unwrap(),
        "application/json",
        "error bodies are JSON"
    );
}

#[tokio::test]
async fn v1_error_message_shape() {
    let mock = frozen().await;
    let base = mock.uri();
    let app = client_token(&base, ApiVersion::V1, demo::LEGACY_APP_CLIENT).await;
    let r = get(&base, "/api/v1/mandatorAdmin/getUserList", &app).await;
    assert_eq!(r.status, 403, "{}", r.text);
    assert_eq!(
        keys(&r.body),
        [
            "authContext",
            "bank",
            "date",
            "endpoint",
            "errors",
            "requestId"
        ]
    );
    assert_eq!(r.body["bank"], Value::Null);
    assert_eq!(r.body["date"], "2024-01-01 00:00:00.000");
    assert_eq!(r.body["endpoint"], "GET /api/v1/mandatorAdmin/getUserList");
    assert_eq!(r.code(), "UNAUTHORIZED_ACCESS");
    // A user reaching an app-client service is named with the right article too.
    let victor = user_token(
        &base,
        ApiVersion::V1,
        demo::LEGACY_APP_CLIENT,
        demo::LEGACY_USER,
    )
    .await;
    let r = get(&base, "/api/v1/clientConfiguration", &victor).await;
    assert_eq!(
        r.message(),
        "a user token may not call getClientConfiguration"
    );
}

#[tokio::test]
async fn error_dates_follow_the_version_format_on_the_system_clock() {
    let mock = FinapiMock::start().await;
    let base = mock.uri();
    let v1 = call(&base, Method::GET, "/api/v1/nothing", None, None).await;
    let v1_date = v1.body["date"].as_str().unwrap();
    assert_eq!(v1_date.len(), 23, "{v1_date}");
    NaiveDateTime::parse_from_str(v1_date, "%Y-%m-%d %H:%M:%S%.3f").expect("V1 date");
    let v2 = call(&base, Method::GET, "/api/v2/nothing", None, None).await;
    let v2_date = v2.body["date"].as_str().unwrap();
    DateTime::parse_from_rfc3339(v2_date).expect("V2 date");
    assert_eq!(v2_date.len(), 29, "milliseconds and offset: {v2_date}");
    assert!(v2_date.ends_with("+00:00"), "{v2_date}");
}

#[tokio::test]
async fn a_given_request_id_is_echoed() {
    let mock = frozen().await;
    let base = mock.uri();
    // On an error...
    let r = send(
        http()
            .get(format!("{base}/api/v2/nothing"))
            .header("X-Request-Id", "my-request-1"),
    )
    .await;
    assert_eq!(r.status, 404);
    assert_eq!(r.request_id(), "my-request-1");
    assert_eq!(r.body["requestId"], "my-request-1");
    // ...and on success.
    let r = send(
        http()
            .post(format!("{base}{}", token_path(V2)))
            .header("X-Request-Id", "my-request-2")
            .form(&Grant::Client(APP).pairs()),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.request_id(), "my-request-2");
    // 255 characters are still fine.
    let long = "r".repeat(255);
    let r = send(
        http()
            .get(format!("{base}/api/v2/nothing"))
            .header("X-Request-Id", &long),
    )
    .await;
    assert_eq!(r.status, 404);
    assert_eq!(r.request_id(), long);
}

#[tokio::test]
async fn a_missing_request_id_is_generated() {
    let mock = frozen().await;
    let base = mock.uri();
    let a = call(&base, Method::GET, "/api/v2/nothing", None, None).await;
    let b = call(&base, Method::GET, "/api/v2/nothing", None, None).await;
    for r in [&a, &b] {
        assert!(r.request_id().starts_with("selfgen-"), "{:?}", r.headers);
        assert_eq!(r.body["requestId"], r.request_id());
    }
    assert_ne!(a.request_id(), b.request_id());
    let app = client_token(&base, V2, APP).await;
    let ok = get(&base, "/api/v2/clientConfiguration", &app).await;
    assert_eq!(ok.status, 200);
    assert!(ok.request_id().starts_with("selfgen-"));
}

#[tokio::test]
async fn a_request_id_over_255_characters_is_400() {
    let mock = frozen().await;
    let base = mock.uri();
    let app = client_token(&base, V2, APP).await;
    let r = send(
        http()
            .get(format!("{base}/api/v2/clientConfiguration"))
            .bearer_auth(&app)
            .header("X-Request-Id", "r".repeat(256)),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.code(), "BAD_REQUEST");
    assert!(r.request_id().starts_with("selfgen-"));
}

#[tokio::test]
async fn unknown_paths_are_404() {
    let mock = frozen().await;
    let r = call(&mock.uri(), Method::GET, "/api/v2/nothing/here", None, None).await;
    assert_eq!(r.status, 404, "{}", r.text);
    assert_eq!(r.code(), "UNKNOWN_ENTITY");
    assert_eq!(r.body["endpoint"], "GET /api/v2/nothing/here");
    // Nobody authenticated: the shape still requires a string.
    assert_eq!(r.body["authContext"], "-/-");
}

#[tokio::test]
async fn a_wrong_method_is_405() {
    let mock = frozen().await;
    let base = mock.uri();
    let app = client_token(&base, V2, APP).await;
    for (m, p) in [
        (Method::PUT, "/api/v2/users"),
        (Method::GET, "/api/v2/oauth/token"),
        (Method::DELETE, "/api/v2/clientConfiguration"),
    ] {
        let r = call(&base, m.clone(), p, Some(&app), None).await;
        assert_eq!(r.status, 405, "{m} {p}: {}", r.text);
        assert_eq!(r.code(), "METHOD_NOT_ALLOWED");
    }
}

#[tokio::test]
async fn malformed_json_is_400() {
    let mock = frozen().await;
    let base = mock.uri();
    let app = client_token(&base, V2, APP).await;
    for body in ["{\"id\": ", "[1, 2]", "\"text\""] {
        let r = send(
            http()
                .post(format!("{base}/api/v2/users"))
                .bearer_auth(&app)
                .header("content-type", "application/json")
                .body(body),
        )
        .await;
        assert_eq!(r.status, 400, "{body}: {}", r.text);
        assert_eq!(r.code(), "BAD_REQUEST");
    }
}

#[tokio::test]
async fn a_wrong_content_type_is_415() {
    let mock = frozen().await;
    let base = mock.uri();
    let app = client_token(&base, V2, APP).await;
    let r = send(
        http()
            .post(format!("{base}/api/v2/users"))
            .bearer_auth(&app)
            .header("content-type", "text/plain")
            .body(r#"{"id":"plain"}"#),
    )
    .await;
    assert_eq!(r.status, 415, "{}", r.text);
    assert_eq!(r.code(), "UNSUPPORTED_MEDIA_TYPE");
    // The token endpoint takes a form, not JSON.
    let r = send(http().post(format!("{base}{}", token_path(V2))).json(
        &json!({ "grant_type": "client_credentials", "client_id": APP.0, "client_secret": APP.1 }),
    ))
    .await;
    assert_eq!(r.status, 415, "{}", r.text);
}

#[tokio::test]
async fn bad_form_encoding_is_400() {
    let mock = frozen().await;
    let r = send(
        http()
            .post(format!("{}{}", mock.uri(), token_path(V2)))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(vec![b'g', b'=', 0xff, 0xfe]),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.code(), "BAD_REQUEST");
    // A parameter given twice is refused as well.
    let r = token(
        &mock.uri(),
        V2,
        &[
            ("grant_type", "client_credentials"),
            ("grant_type", "password"),
            ("client_id", APP.0),
            ("client_secret", APP.1),
        ],
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text);
}

#[tokio::test]
async fn unauthenticated_requests_get_a_bad_credentials_body() {
    let mock = frozen().await;
    let base = mock.uri();
    let none = call(&base, Method::GET, "/api/v2/users", None, None).await;
    let bad = get(&base, "/api/v2/users", "not-a-token").await;
    let basic = send(
        http()
            .get(format!("{base}/api/v2/users"))
            .basic_auth(APP.0, Some(APP.1)),
    )
    .await;
    for (what, r) in [("no token", none), ("unknown token", bad), ("basic", basic)] {
        assert_eq!(r.status, 401, "{what}: {}", r.text);
        assert_eq!(keys(&r.body), ["error", "error_description"], "{what}");
        assert!(!r.body["error"].as_str().unwrap().is_empty());
    }
}

#[tokio::test]
async fn x_http_method_override_turns_a_post_into_a_patch() {
    let mock = frozen().await;
    let base = mock.uri();
    let user = user_token(&base, V2, APP, demo::USERS[0]).await;
    let r = send(
        http()
            .post(format!("{base}/api/v2/users"))
            .bearer_auth(&user)
            .header("X-HTTP-Method-Override", "PATCH")
            .json(&json!({ "email": "alice@example.com" })),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["email"], "alice@example.com");
}

#[tokio::test]
async fn user_mocks_override_single_endpoints() {
    let mock = frozen().await;
    let base = mock.uri();
    Mock::given(method("GET"))
        .and(path("/api/v2/banks"))
        .respond_with(ResponseTemplate::new(503).set_body_json(json!({ "overridden": true })))
        .expect(1)
        .named("banks outage")
        .mount(mock.server())
        .await;
    let user = user_token(&base, V2, APP, demo::USERS[0]).await;
    let r = get(&base, "/api/v2/banks", &user).await;
    assert_eq!(r.status, 503);
    assert_eq!(r.body, json!({ "overridden": true }));
    // Everything else is still the simulator.
    let r = get(&base, "/api/v2/banks/280001", &user).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["name"], "finAPI Test Bank");
    let r = get(&base, "/api/v2/users", &user).await;
    assert_eq!(r.body["id"], "alice");
    mock.server().verify().await;
}

#[tokio::test]
async fn the_journal_records_requests() {
    let mock = frozen().await;
    let base = mock.uri();
    let app = client_token(&base, V2, APP).await;
    get(&base, "/api/v2/clientConfiguration", &app).await;
    call(&base, Method::DELETE, "/api/v2/nothing", None, None).await;
    let journal = mock.received_requests().await.expect("recording is on");
    let seen: Vec<(String, String)> = journal
        .iter()
        .map(|r| (r.method.to_string(), r.url.path().to_string()))
        .collect();
    assert_eq!(
        seen,
        [
            ("POST".to_string(), "/api/v2/oauth/token".to_string()),
            ("GET".into(), "/api/v2/clientConfiguration".into()),
            ("DELETE".into(), "/api/v2/nothing".into()),
        ]
    );
    let auth = journal[1].headers.get("authorization").unwrap();
    assert_eq!(auth.to_str().unwrap(), format!("Bearer {app}"));
}

#[tokio::test]
async fn without_wiremock_recording_the_role_journal_still_records() {
    let mock = FinapiMock::builder()
        .clock(Clock::epoch())
        .record_requests(false)
        .start()
        .await;
    let base = mock.uri();
    let app = client_token(&base, V2, APP).await;
    let r = get(&base, "/api/v2/clientConfiguration", &app).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(mock.received_requests().await.is_none());
    let operations: Vec<Option<String>> = mock
        .journal()
        .entries()
        .into_iter()
        .map(|e| e.operation.map(|o| o.to_string()))
        .collect();
    assert_eq!(operations.len(), 2, "{operations:?}");
    assert!(
        operations[1]
            .as_deref()
            .is_some_and(|o| o.contains("getClientConfiguration")),
        "{operations:?}"
    );
}

/// Dropping the mock on a tokio worker whose cooperative budget is spent used to spin forever
/// inside wiremock's drop. The scenario runs on a thread of its own so that a regression shows
/// up as a failed assertion instead of a hung test run.
#[test]
fn dropping_the_mock_on_a_worker_with_a_spent_budget_returns() {
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let mock = FinapiMock::start().await;
            let res = send(http().get(format!("{}/api/v2/banks", mock.uri()))).await;
            assert_eq!(res.status, 401);
            // Spend the task's budget without yielding: each ready receive costs one unit.
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
            for _ in 0..1_000 {
                tx.send(()).expect("open channel");
                let _ = futures::FutureExt::now_or_never(rx.recv());
            }
            drop(mock);
        });
        let _ = done_tx.send(());
    });
    let finished = done_rx.recv_timeout(std::time::Duration::from_secs(60));
    assert!(finished.is_ok(), "dropping the mock did not return");
}

/// The drop still verifies the expectations of the user's own mocks, as wiremock does.
#[tokio::test]
async fn an_unmet_expectation_still_fails_on_drop() {
    let mock = FinapiMock::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v2/banks"))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(mock.server())
        .await;
    let dropped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(mock)));
    let message = dropped.expect_err("an unmet expectation panics on drop");
    let text = message
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| message.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default();
    assert!(text.contains("Verifications failed"), "{text}");
}

/// Where an operation documents only one of 401 and 403, a refusal takes that one: a wrong
/// role on `checkCategorization` (no 403 documented) is a 401 `{error, error_description}`, a
/// missing or dead token on `revokeToken` (no 401 documented) a 403 ErrorMessage. The reading
/// `general-refusal-statuses` gives 403 and 401 as everywhere else; the role boundary holds
/// either way.
#[tokio::test]
async fn refusals_take_the_status_the_operation_documents() {
    let check = "/api/v2/tests/checkCategorization";
    let body = json!({ "transactionData": [] });
    for general in [false, true] {
        let readings = finapi_conformance::Readings::default()
            .with_settings(&[format!("general-refusal-statuses={general}")])
            .unwrap();
        let mock = FinapiMock::builder().readings(readings).start().await;
        let base = mock.uri();
        let app = client_token(&base, V2, APP).await;
        let r = post_json(&base, check, &app, &body).await;
        if general {
            assert_eq!(r.status, 403, "{}", r.text);
            assert_eq!(r.code(), "UNAUTHORIZED_ACCESS", "{}", r.text);
        } else {
            assert_eq!(r.status, 401, "{}", r.text);
            assert_eq!(r.body["error"], "invalid_token", "{}", r.text);
            assert!(r.body["error_description"].is_string(), "{}", r.text);
        }
        for token in [None, Some("never-issued")] {
            let r = post_form(&base, "/api/v2/oauth/revoke", token, &[("token", "x")]).await;
            if general {
                assert_eq!(r.status, 401, "{token:?}: {}", r.text);
                assert!(r.body["error"].is_string(), "{}", r.text);
            } else {
                assert_eq!(r.status, 403, "{token:?}: {}", r.text);
                assert_eq!(r.code(), "UNAUTHORIZED_ACCESS", "{}", r.text);
            }
        }
        // The right callers still get through.
        let user = user_token(&base, V2, APP, demo::USERS[0]).await;
        let r = post_json(&base, check, &user, &body).await;
        assert!(r.status == 200 || r.status == 400, "{}", r.text);
        let r = post_form(&base, "/api/v2/oauth/revoke", Some(&app), &[("token", "x")]).await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
}
