//! Client configuration: each app client reads and edits its own; validity periods apply to
//! tokens issued afterwards; nobody else reaches it.

use crate::common;

use common::*;
use finapi_conformance::world::demo;
use finapi_conformance::{ApiVersion::V2, FinapiMock, World};
use serde_json::json;

const PATH: &str = "/api/v2/clientConfiguration";

#[tokio::test]
async fn each_app_client_reads_its_own_configuration() {
    let world = World::demo().configure_client(demo::APP_CLIENT2.0, |c| {
        c.user_auto_verification = true;
        c.max_user_login_attempts = 7;
    });
    let mock = FinapiMock::builder().world(world).start().await;
    let base = mock.uri();
    let one = get(
        &base,
        PATH,
        &client_token(&base, V2, demo::APP_CLIENT).await,
    )
    .await;
    let two = get(
        &base,
        PATH,
        &client_token(&base, V2, demo::APP_CLIENT2).await,
    )
    .await;
    assert_eq!(
        (one.status, two.status),
        (200, 200),
        "{} {}",
        one.text,
        two.text
    );
    assert_eq!(one.body["isUserAutoVerificationEnabled"], false);
    assert_eq!(one.body["maxUserLoginAttempts"], 3);
    assert_eq!(two.body["isUserAutoVerificationEnabled"], true);
    assert_eq!(two.body["maxUserLoginAttempts"], 7);
    assert_eq!(one.body["isMandatorAdmin"], false);
}

#[tokio::test]
async fn an_edit_changes_only_the_calling_clients_configuration() {
    let mock = FinapiMock::start().await;
    let base = mock.uri();
    let t1 = client_token(&base, V2, demo::APP_CLIENT).await;
    let t2 = client_token(&base, V2, demo::APP_CLIENT2).await;
    let r = patch_json(
        &base,
        PATH,
        &t1,
        &json!({ "userAccessTokensValidityPeriod": 600, "applicationName": "Budget" }),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["userAccessTokensValidityPeriod"], 600);
    assert_eq!(
        get(&base, PATH, &t1).await.body["applicationName"],
        "Budget"
    );
    let other = get(&base, PATH, &t2).await;
    assert_eq!(other.body["userAccessTokensValidityPeriod"], 3600);
    assert_eq!(other.body["applicationName"], serde_json::Value::Null);
    // "" clears a text field.
    let r = patch_json(&base, PATH, &t1, &json!({ "applicationName": "" })).await;
    assert_eq!(r.body["applicationName"], serde_json::Value::Null);
}

#[tokio::test]
async fn a_new_validity_period_applies_to_tokens_issued_afterwards() {
    let mock = FinapiMock::start().await;
    let base = mock.uri();
    let app = client_token(&base, V2, demo::APP_CLIENT).await;
    let before = password_grant(&base, V2, demo::APP_CLIENT, demo::USERS[0]).await;
    assert_eq!(before.body["expires_in"], 3600);
    let r = patch_json(
        &base,
        PATH,
        &app,
        &json!({ "userAccessTokensValidityPeriod": 120 }),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let after = password_grant(&base, V2, demo::APP_CLIENT, demo::USERS[1]).await;
    assert_eq!(after.body["expires_in"], 120);
    mock.clock().advance(std::time::Duration::from_secs(121));
    let old = before.body["access_token"].as_str().unwrap();
    let new = after.body["access_token"].as_str().unwrap();
    assert_eq!(
        get(&base, "/api/v2/users", old).await.status,
        200,
        "issued before the edit"
    );
    assert_eq!(
        get(&base, "/api/v2/users", new).await.status,
        401,
        "issued after the edit"
    );
}

#[tokio::test]
async fn bad_edits_are_refused_and_change_nothing() {
    let mock = FinapiMock::start().await;
    let base = mock.uri();
    let app = client_token(&base, V2, demo::APP_CLIENT).await;
    // Every bad value is the documented 400 (editClientConfiguration documents no 422).
    for (body, status) in [
        (json!({ "userAccessTokensValidityPeriod": 59 }), 400),
        // A wrong type is a malformed request (the body check), a bad value a rejected one:
        // both the documented 400.
        (json!({ "userAccessTokensValidityPeriod": "long" }), 400),
        (json!({ "applicationName": 5 }), 400),
        (json!({ "isUserAutoVerificationEnabled": true }), 400),
        (json!({ "maxUserLoginAttempts": 0 }), 400),
    ] {
        let r = patch_json(&base, PATH, &app, &body).await;
        assert_eq!(r.status, status, "{body}: {}", r.text);
        assert!(
            !r.code().is_empty(),
            "{body}: not an ErrorMessage: {}",
            r.text
        );
    }
    let now = get(&base, PATH, &app).await;
    assert_eq!(now.body["userAccessTokensValidityPeriod"], 3600);
    assert_eq!(now.body["maxUserLoginAttempts"], 3);
}

#[tokio::test]
async fn only_app_clients_reach_the_configuration() {
    let mock = FinapiMock::start().await;
    let base = mock.uri();
    let admin = client_token(&base, V2, demo::ADMIN_CLIENT).await;
    let user = user_token(&base, V2, demo::APP_CLIENT, demo::USERS[0]).await;
    for token in [&admin, &user] {
        let r = get(&base, PATH, token).await;
        assert_eq!(r.status, 403, "{}", r.text);
        assert_eq!(r.code(), "UNAUTHORIZED_ACCESS");
        let r = patch_json(&base, PATH, token, &json!({ "applicationName": "x" })).await;
        assert_eq!(r.status, 403, "{}", r.text);
    }
    assert_eq!(get(&base, PATH, "not-a-token").await.status, 401);
}
