//! Users: creation, verification, password changes, the authorized user's own record, the
//! shared user base of one mandator and the isolation between mandators.

use crate::common;

use common::*;
use finapi_conformance::world::demo;
use finapi_conformance::{ApiVersion::V2, FinapiMock, World};
use serde_json::{json, Value};

const APP: (&str, &str) = demo::APP_CLIENT;
const APP2: (&str, &str) = demo::APP_CLIENT2;
const ALICE: (&str, &str) = demo::USERS[0];
const BOB: (&str, &str) = demo::USERS[1];
const CAROL: (&str, &str) = demo::UNVERIFIED_USER;

/// The mock, its base URL and an app client token of demo-app-1.
async fn setup() -> (FinapiMock, String, String) {
    let mock = FinapiMock::start().await;
    let base = mock.uri();
    let app = client_token(&base, V2, APP).await;
    (mock, base, app)
}

async fn create(base: &str, app: &str, body: Value) -> Resp {
    post_json(base, "/api/v2/users", app, &body).await
}

async fn verify(base: &str, app: &str, user: &str) -> Resp {
    call(
        base,
        reqwest::Method::POST,
        &format!("/api/v2/users/verify/{user}"),
        Some(app),
        None,
    )
    .await
}

async fn status_of(base: &str, app: &str, user: &str) -> Resp {
    get(
        base,
        &format!("/api/v2/users/verificationStatus?userId={user}"),
        app,
    )
    .await
}

/// requestPasswordChange then executePasswordChange; returns the execute response.
async fn change_password(base: &str, app: &str, user: &str, new_password: &str) -> Resp {
    let r = post_json(
        base,
        "/api/v2/users/requestPasswordChange",
        app,
        &json!({ "userId": user }),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let token = r.body["passwordChangeToken"].as_str().unwrap();
    post_json(
        base,
        "/api/v2/users/executePasswordChange",
        app,
        &json!({ "userId": user, "password": new_password, "passwordChangeToken": token }),
    )
    .await
}

#[tokio::test]
async fn create_user_returns_the_password_in_plain_text() {
    let (_mock, base, app) = setup().await;
    let r = create(
        &base,
        &app,
        json!({ "id": "dave.d+1@example-x_y", "password": "dave-password", "email": "dave@example.com", "phone": "+49 1" }),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["id"], "dave.d+1@example-x_y");
    assert_eq!(r.body["password"], "dave-password");
    assert_eq!(r.body["email"], "dave@example.com");
    assert_eq!(r.body["phone"], "+49 1");
    assert_eq!(r.body["isAutoUpdateEnabled"], false);
    // Auto-verification is off: the user must be verified before logging in.
    let login = ("dave.d+1@example-x_y", "dave-password");
    assert_eq!(password_grant(&base, V2, APP, login).await.status, 403);
    assert_eq!(verify(&base, &app, login.0).await.status, 200);
    assert_eq!(password_grant(&base, V2, APP, login).await.status, 200);
}

#[tokio::test]
async fn create_user_validates_id_password_and_email() {
    let (_mock, base, app) = setup().await;
    let long_id = "a".repeat(37);
    let long_email = format!("{}@x.de", "e".repeat(316));
    let cases = [
        ("id too long", json!({ "id": long_id })),
        ("id with a space", json!({ "id": "a b" })),
        ("id with a slash", json!({ "id": "a/b" })),
        ("id with an umlaut", json!({ "id": "jürgen" })),
        ("empty id", json!({ "id": "" })),
        (
            "password too short",
            json!({ "id": "shorty", "password": "12345" }),
        ),
        (
            "password too long",
            json!({ "id": "longy", "password": "p".repeat(129) }),
        ),
        (
            "email too long",
            json!({ "id": "mailer", "email": long_email }),
        ),
        (
            "phone too long",
            json!({ "id": "caller", "phone": "1".repeat(51) }),
        ),
    ];
    for (what, body) in cases {
        let r = create(&base, &app, body).await;
        assert_eq!(r.status, 400, "{what}: {}", r.text);
        assert!(!r.code().is_empty(), "{what}: {}", r.text);
    }
    // The limits themselves are allowed.
    let r = create(
        &base,
        &app,
        json!({ "id": "b".repeat(36), "password": "123456" }),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let r = create(
        &base,
        &app,
        json!({ "id": "maxpw", "password": "p".repeat(128) }),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
}

#[tokio::test]
async fn a_duplicate_id_is_entity_exists_whatever_its_case() {
    let (_mock, base, app) = setup().await;
    for id in ["alice", "ALICE", "Alice"] {
        let r = create(&base, &app, json!({ "id": id, "password": "secret-pw" })).await;
        assert_eq!(r.status, 422, "{id}: {}", r.text);
        assert_eq!(r.code(), "ENTITY_EXISTS");
    }
    let r = create(&base, &app, json!({ "id": "Zed", "password": "secret-pw" })).await;
    assert_eq!(r.status, 201);
    let r = create(&base, &app, json!({ "id": "zED", "password": "secret-pw" })).await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(r.code(), "ENTITY_EXISTS");
}

#[tokio::test]
async fn omitted_id_and_password_are_random() {
    let (_mock, base, app) = setup().await;
    let a = create(&base, &app, json!({})).await;
    let b = call(
        &base,
        reqwest::Method::POST,
        "/api/v2/users",
        Some(&app),
        None,
    )
    .await;
    for r in [&a, &b] {
        assert_eq!(r.status, 201, "{}", r.text);
        let id = r.body["id"].as_str().unwrap();
        let pw = r.body["password"].as_str().unwrap();
        assert!((1..=36).contains(&id.len()), "{id}");
        assert!(
            id.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.+@".contains(c)),
            "{id}"
        );
        assert!((6..=128).contains(&pw.chars().count()), "{pw}");
    }
    assert_ne!(a.body["id"], b.body["id"]);
    assert_ne!(a.body["password"], b.body["password"]);
    // The generated credentials work.
    let id = a.body["id"].as_str().unwrap();
    let pw = a.body["password"].as_str().unwrap();
    assert_eq!(verify(&base, &app, id).await.status, 200);
    assert_eq!(password_grant(&base, V2, APP, (id, pw)).await.status, 200);
}

#[tokio::test]
async fn a_client_with_auto_verification_verifies_at_creation_and_at_login() {
    let world = World::demo().configure_client(APP.0, |c| c.user_auto_verification = true);
    let mock = FinapiMock::builder().world(world).start().await;
    let base = mock.uri();
    let app = client_token(&base, V2, APP).await;
    let r = create(
        &base,
        &app,
        json!({ "id": "eve", "password": "eve-password" }),
    )
    .await;
    assert_eq!(r.status, 201);
    assert_eq!(
        status_of(&base, &app, "eve").await.body["isUserVerified"],
        true
    );
    // Carol, unverified, may log in through the auto-verifying client, not through the other.
    assert_eq!(password_grant(&base, V2, APP2, CAROL).await.status, 403);
    assert_eq!(password_grant(&base, V2, APP, CAROL).await.status, 200);
}

#[tokio::test]
async fn verify_user() {
    let (_mock, base, app) = setup().await;
    let r = verify(&base, &app, CAROL.0).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.text, "");
    assert_eq!(password_grant(&base, V2, APP, CAROL).await.status, 200);

    let r = verify(&base, &app, CAROL.0).await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(r.code(), "USER_ALREADY_VERIFIED");

    let r = verify(&base, &app, "nobody").await;
    assert_eq!(r.status, 404, "{}", r.text);
    assert_eq!(r.code(), "UNKNOWN_ENTITY");
}

#[tokio::test]
async fn verification_status() {
    let (_mock, base, app) = setup().await;
    let r = status_of(&base, &app, CAROL.0).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.body,
        json!({ "userId": "carol", "isUserVerified": false })
    );
    let r = status_of(&base, &app, "ALICE").await;
    assert_eq!(r.body, json!({ "userId": "alice", "isUserVerified": true }));
    verify(&base, &app, CAROL.0).await;
    assert_eq!(
        status_of(&base, &app, CAROL.0).await.body["isUserVerified"],
        true
    );
    assert_eq!(status_of(&base, &app, "nobody").await.status, 404);
    let r = get(&base, "/api/v2/users/verificationStatus", &app).await;
    assert_eq!(r.status, 400, "{}", r.text);
}

#[tokio::test]
async fn delete_unverified_user() {
    let (_mock, base, app) = setup().await;
    let r = delete(&base, "/api/v2/users/alice", &app).await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(r.code(), "ILLEGAL_ENTITY_STATE");
    assert_eq!(password_grant(&base, V2, APP, ALICE).await.status, 200);

    let r = delete(&base, "/api/v2/users/carol", &app).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(status_of(&base, &app, CAROL.0).await.status, 404);
    assert_eq!(password_grant(&base, V2, APP, CAROL).await.status, 400);

    let r = delete(&base, "/api/v2/users/carol", &app).await;
    assert_eq!(r.status, 404, "{}", r.text);
}

#[tokio::test]
async fn request_password_change() {
    let (_mock, base, app) = setup().await;
    let r = post_json(
        &base,
        "/api/v2/users/requestPasswordChange",
        &app,
        &json!({ "userId": CAROL.0 }),
    )
    .await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(r.code(), "USER_NOT_VERIFIED");

    let r = post_json(
        &base,
        "/api/v2/users/requestPasswordChange",
        &app,
        &json!({ "userId": "nobody" }),
    )
    .await;
    assert_eq!(r.status, 404, "{}", r.text);

    let r = post_json(
        &base,
        "/api/v2/users/requestPasswordChange",
        &app,
        &json!({ "userId": ALICE.0 }),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["userId"], "alice");
    // Alice has no email: V2's PasswordChangingResource leaves `userEmail` out then.
    assert!(
        r.body.get("userEmail").is_none_or(Value::is_string),
        "{}",
        r.text
    );
    let token = r.body["passwordChangeToken"].as_str().unwrap();
    assert_eq!(token.len(), 36, "{token}");
}

#[tokio::test]
async fn execute_password_change_sets_the_new_password() {
    let (_mock, base, app) = setup().await;
    let r = change_password(&base, &app, ALICE.0, "alice-new-password").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.text, "");
    assert_eq!(password_grant(&base, V2, APP, ALICE).await.status, 400);
    let fresh = (ALICE.0, "alice-new-password");
    assert_eq!(password_grant(&base, V2, APP, fresh).await.status, 200);
}

#[tokio::test]
async fn execute_password_change_rejects_bad_tokens() {
    let (_mock, base, app) = setup().await;
    let path = "/api/v2/users/executePasswordChange";
    // Never requested: a well-formed token that is not the user's. The documented 400
    // (executePasswordChange documents no 422).
    let wrong = "00000000-0000-4000-8000-000000000000";
    let r = post_json(
        &base,
        path,
        &app,
        &json!({ "userId": ALICE.0, "password": "new-password", "passwordChangeToken": wrong }),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.code(), "ILLEGAL_FIELD_VALUE", "{}", r.text);
    let r = post_json(
        &base,
        path,
        &app,
        &json!({ "userId": ALICE.0, "password": "new-password", "passwordChangeToken": "not-hex!" }),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text);
    // A too-short new password.
    let r = post_json(
        &base,
        path,
        &app,
        &json!({ "userId": ALICE.0, "password": "123", "passwordChangeToken": wrong }),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(password_grant(&base, V2, APP, ALICE).await.status, 200);
}

#[tokio::test]
async fn a_password_change_revokes_every_token_of_the_user_for_every_app_client() {
    let (_mock, base, app) = setup().await;
    let (via1, refresh1) = user_tokens(&base, V2, APP, ALICE).await;
    let (via2, refresh2) = user_tokens(&base, V2, APP2, ALICE).await;
    let bob = user_token(&base, V2, APP, BOB).await;
    for t in [&via1, &via2, &bob] {
        assert_eq!(get(&base, "/api/v2/users", t).await.status, 200);
    }
    // The change goes through app client 2; app client 1's tokens die as well.
    let app2 = client_token(&base, V2, APP2).await;
    let r = change_password(&base, &app2, ALICE.0, "alice-new-password").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(get(&base, "/api/v2/users", &via1).await.status, 401);
    assert_eq!(get(&base, "/api/v2/users", &via2).await.status, 401);
    assert_eq!(refresh_grant(&base, V2, APP, &refresh1).await.status, 400);
    assert_eq!(refresh_grant(&base, V2, APP2, &refresh2).await.status, 400);
    // Other users and the clients themselves are unaffected.
    assert_eq!(get(&base, "/api/v2/users", &bob).await.status, 200);
    assert_eq!(
        get(&base, "/api/v2/clientConfiguration", &app).await.status,
        200
    );
}

#[tokio::test]
async fn a_password_change_unlocks_a_locked_user() {
    let (_mock, base, app) = setup().await;
    for _ in 0..3 {
        password_grant(&base, V2, APP, (ALICE.0, "wrong-password")).await;
    }
    assert_eq!(password_grant(&base, V2, APP, ALICE).await.status, 423);
    let r = change_password(&base, &app, ALICE.0, "alice-new-password").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let fresh = (ALICE.0, "alice-new-password");
    assert_eq!(password_grant(&base, V2, APP, fresh).await.status, 200);
    // The failure counter starts from zero again.
    for _ in 0..2 {
        password_grant(&base, V2, APP, (ALICE.0, "wrong-password")).await;
    }
    assert_eq!(password_grant(&base, V2, APP, fresh).await.status, 200);
}

#[tokio::test]
async fn the_authorized_user_reads_their_record_with_a_masked_password() {
    let (_mock, base, _app) = setup().await;
    let user = user_token(&base, V2, APP, ALICE).await;
    let r = get(&base, "/api/v2/users", &user).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["id"], "alice");
    assert_eq!(r.body["password"], "XXXXX");
    assert_eq!(r.body["isAutoUpdateEnabled"], false);
}

#[tokio::test]
async fn the_authorized_user_edits_their_record_and_empty_strings_clear() {
    let (_mock, base, _app) = setup().await;
    let user = user_token(&base, V2, APP, ALICE).await;
    let r = patch_json(
        &base,
        "/api/v2/users",
        &user,
        &json!({ "email": "alice@example.com", "phone": "+49 30 1", "isAutoUpdateEnabled": true }),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["email"], "alice@example.com");
    assert_eq!(r.body["phone"], "+49 30 1");
    assert_eq!(r.body["isAutoUpdateEnabled"], true);
    assert_eq!(r.body["password"], "XXXXX");

    let r = patch_json(&base, "/api/v2/users", &user, &json!({ "email": "" })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["email"], Value::Null);
    assert_eq!(r.body["phone"], "+49 30 1", "untouched fields stay");
    let r = get(&base, "/api/v2/users", &user).await;
    assert_eq!(r.body["email"], Value::Null);
    assert_eq!(r.body["isAutoUpdateEnabled"], true);
}

#[tokio::test]
async fn the_authorized_user_deletes_themselves() {
    let (_mock, base, app) = setup().await;
    let (user, refresh) = user_tokens(&base, V2, APP, ALICE).await;
    let r = delete(&base, "/api/v2/users", &user).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(get(&base, "/api/v2/users", &user).await.status, 401);
    assert_eq!(refresh_grant(&base, V2, APP, &refresh).await.status, 400);
    assert_eq!(password_grant(&base, V2, APP, ALICE).await.status, 400);
    assert_eq!(status_of(&base, &app, ALICE.0).await.status, 404);
    // The id is free again.
    let r = create(
        &base,
        &app,
        json!({ "id": "alice", "password": "another-pw" }),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
}

#[tokio::test]
async fn app_clients_of_one_mandator_share_the_user_base() {
    let (_mock, base, app) = setup().await;
    let r = create(
        &base,
        &app,
        json!({ "id": "frank", "password": "frank-password" }),
    )
    .await;
    assert_eq!(r.status, 201);
    let app2 = client_token(&base, V2, APP2).await;
    assert_eq!(
        status_of(&base, &app2, "frank").await.body["isUserVerified"],
        false
    );
    assert_eq!(verify(&base, &app2, "frank").await.status, 200);
    let r = password_grant(&base, V2, APP2, ("frank", "frank-password")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let t = r.body["access_token"].as_str().unwrap();
    assert_eq!(get(&base, "/api/v2/users", t).await.body["id"], "frank");
    // The same id cannot be created through the second client.
    let r = create(&base, &app2, json!({ "id": "FRANK" })).await;
    assert_eq!(r.status, 422);
}

#[tokio::test]
async fn another_mandator_cannot_see_or_log_in_this_mandators_users() {
    let (_mock, base, _app) = setup().await;
    let other = client_token(&base, V2, demo::OTHER_APP_CLIENT).await;
    assert_eq!(status_of(&base, &other, ALICE.0).await.status, 404);
    assert_eq!(verify(&base, &other, CAROL.0).await.status, 404);
    let r = delete(&base, "/api/v2/users/carol", &other).await;
    assert_eq!(r.status, 404, "{}", r.text);
    let r = post_json(
        &base,
        "/api/v2/users/requestPasswordChange",
        &other,
        &json!({ "userId": ALICE.0 }),
    )
    .await;
    assert_eq!(r.status, 404, "{}", r.text);
    let r = password_grant(&base, V2, demo::OTHER_APP_CLIENT, ALICE).await;
    assert_eq!(r.status, 400, "{}", r.text);
    // Its own user base is separate: `alice` is a free id there.
    let r = create(
        &base,
        &other,
        json!({ "id": "alice", "password": "other-alice" }),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    // ...and the demo mandator's alice is untouched.
    assert_eq!(password_grant(&base, V2, APP, ALICE).await.status, 200);
    assert_eq!(
        password_grant(&base, V2, APP, ("alice", "other-alice"))
            .await
            .status,
        400
    );
}
