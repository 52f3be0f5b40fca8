//! Mandator Administration and the TPP sections, driven by the mandator admin client.

use crate::common;

use std::time::Duration;

use common::*;
use finapi_conformance::world::demo;
use finapi_conformance::{ApiVersion, ApiVersion::V2, Clock, FinapiMock};
use serde_json::{json, Value};

const APP: (&str, &str) = demo::APP_CLIENT;
const ADMIN: (&str, &str) = demo::ADMIN_CLIENT;
const ALICE: (&str, &str) = demo::USERS[0];
const LIST: &str = "/api/v2/mandatorAdmin/getUserList";

/// The mock, its base URL and the demo admin client's token.
async fn setup() -> (FinapiMock, String, String) {
    let mock = FinapiMock::builder().clock(Clock::epoch()).start().await;
    let base = mock.uri();
    let admin = client_token(&base, V2, ADMIN).await;
    (mock, base, admin)
}

/// The `userId`s of a user list response, in order.
fn ids(r: &Resp) -> Vec<String> {
    r.body["users"]
        .as_array()
        .unwrap_or_else(|| panic!("no users in {}", r.text))
        .iter()
        .map(|u| u["userId"].as_str().unwrap().to_string())
        .collect()
}

async fn delete_users(base: &str, admin: &str, users: &[&str]) -> Resp {
    post_json(
        base,
        "/api/v2/mandatorAdmin/deleteUsers",
        admin,
        &json!({ "userIds": users }),
    )
    .await
}

#[tokio::test]
async fn user_list_pages_through_the_mandators_users() {
    let (_mock, base, admin) = setup().await;
    let r = get(&base, LIST, &admin).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(ids(&r), ["alice", "bob", "carol"]);
    assert_eq!(
        r.body["paging"],
        json!({ "page": 1, "perPage": 20, "pageCount": 1, "totalCount": 3 })
    );
    let first = &r.body["users"][0];
    // V2's UserInfo requires these; dates and statistics it has no value for are left out.
    for key in ["registrationDate", "bankConnectionCount", "isLocked"] {
        assert!(first.get(key).is_some(), "UserInfo lacks {key}: {first}");
    }
    for key in ["deletionDate", "lastActiveDate", "monthlyStats"] {
        assert!(
            !first.get(key).is_some_and(Value::is_null),
            "null {key}: {first}"
        );
    }
    assert_eq!(first["registrationDate"], "2024-01-01");
    assert_eq!(first["deletionDate"], Value::Null);

    let r = get(&base, &format!("{LIST}?page=2&perPage=1"), &admin).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(ids(&r), ["bob"]);
    assert_eq!(
        r.body["paging"],
        json!({ "page": 2, "perPage": 1, "pageCount": 3, "totalCount": 3 })
    );
    let r = get(&base, &format!("{LIST}?perPage=500"), &admin).await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn user_list_rejects_bad_paging() {
    let (_mock, base, admin) = setup().await;
    for q in ["perPage=0", "perPage=501", "perPage=-1", "perPage=x"] {
        let r = get(&base, &format!("{LIST}?{q}"), &admin).await;
        assert_eq!(r.status, 400, "{q}: {}", r.text);
        assert_eq!(r.code(), "ILLEGAL_PAGE_SIZE", "{q}");
    }
    for q in ["page=0", "page=-1", "page=first"] {
        let r = get(&base, &format!("{LIST}?{q}"), &admin).await;
        assert_eq!(r.status, 400, "{q}: {}", r.text);
    }
    let r = get(
        &base,
        &format!("{LIST}?order=registrationDate,sideways"),
        &admin,
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text);
}

#[tokio::test]
async fn user_list_includes_deleted_users_with_masked_ids_and_filters() {
    let (mock, base, _) = setup().await;
    mock.clock().advance(Duration::from_secs(86_400));
    let admin = client_token(&base, V2, ADMIN).await;
    let r = delete_users(&base, &admin, &["bob"]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    // Lock alice.
    for _ in 0..3 {
        password_grant(&base, V2, APP, (ALICE.0, "wrong-password")).await;
    }

    let r = get(&base, LIST, &admin).await;
    assert_eq!(ids(&r), ["alice", "bXb", "carol"]);
    let bob = &r.body["users"][1];
    assert_eq!(bob["deletionDate"], "2024-01-02");
    assert_eq!(bob["isLocked"], false);
    assert_eq!(r.body["users"][0]["isLocked"], true);

    let cases = [
        ("isDeleted=true", vec!["bXb"]),
        ("isDeleted=false", vec!["alice", "carol"]),
        ("isLocked=true", vec!["alice"]),
        ("isLocked=false", vec!["bXb", "carol"]),
        ("userId=carol", vec!["carol"]),
        ("userId=ALICE", vec!["alice"]),
        ("userId=nobody", vec![]),
        ("order=userId,desc", vec!["carol", "bXb", "alice"]),
        ("order=userId,desc&isDeleted=false", vec!["carol", "alice"]),
    ];
    for (q, want) in cases {
        let r = get(&base, &format!("{LIST}?{q}"), &admin).await;
        assert_eq!(r.status, 200, "{q}: {}", r.text);
        assert_eq!(ids(&r), want, "{q}");
        assert_eq!(r.body["paging"]["totalCount"], want.len(), "{q}");
    }
    let r = get(&base, &format!("{LIST}?isDeleted=maybe"), &admin).await;
    assert_eq!(r.status, 400, "{}", r.text);
}

#[tokio::test]
async fn user_list_shows_only_the_own_mandators_users() {
    let (_mock, base, _admin) = setup().await;
    let other = client_token(&base, V2, demo::OTHER_ADMIN_CLIENT).await;
    let r = get(&base, LIST, &other).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(ids(&r), ["mallory"]);
    let r = get(&base, &format!("{LIST}?userId=alice"), &other).await;
    assert_eq!(ids(&r), Vec::<String>::new());
}

#[tokio::test]
async fn delete_users_reports_deleted_and_ignores_unknown_and_foreign_ids() {
    let (_mock, base, admin) = setup().await;
    let alice = user_token(&base, V2, APP, ALICE).await;
    let r = delete_users(
        &base,
        &admin,
        &["bob", "nobody", demo::OTHER_USER.0, "ALICE", "bob"],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.body,
        json!({ "deletedUsers": ["alice", "bob"], "nonDeletedUsers": [] })
    );
    // Deleted users are gone, with their tokens.
    assert_eq!(get(&base, "/api/v2/users", &alice).await.status, 401);
    assert_eq!(password_grant(&base, V2, APP, ALICE).await.status, 400);
    // The other mandator's user is untouched.
    let r = password_grant(&base, V2, demo::OTHER_APP_CLIENT, demo::OTHER_USER).await;
    assert_eq!(r.status, 200, "{}", r.text);
    // Deleting again: neither list names them.
    let r = delete_users(&base, &admin, &["alice"]).await;
    assert_eq!(r.body, json!({ "deletedUsers": [], "nonDeletedUsers": [] }));
    let r = post_json(
        &base,
        "/api/v2/mandatorAdmin/deleteUsers",
        &admin,
        &json!({}),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text);
}

const ROTATE: &str = "/api/v2/mandatorAdmin/changeClientCredentials";
const NEW_SECRET: &str = "new-secret-0000000000000000000000000";

#[tokio::test]
async fn change_client_credentials_rotates_the_secret_and_revokes_the_clients_tokens() {
    let (_mock, base, admin) = setup().await;
    assert_eq!(NEW_SECRET.len(), 36);
    let app = client_token(&base, V2, APP).await;
    let (user, refresh) = user_tokens(&base, V2, APP, ALICE).await;
    let app2 = client_token(&base, V2, demo::APP_CLIENT2).await;

    let r = post_json(
        &base,
        ROTATE,
        &admin,
        &json!({ "clientId": APP.0, "oldClientSecret": APP.1, "newClientSecret": NEW_SECRET }),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.text, "");

    // The old secret stops working, the new one works.
    let old = client_grant(&base, V2, APP).await;
    assert_eq!(old.status, 401, "{}", old.text);
    let fresh = client_token(&base, V2, (APP.0, NEW_SECRET)).await;
    assert_ne!(fresh, app);
    // The client's own token is revoked; its user tokens are not; other clients are not.
    let cfg = "/api/v2/clientConfiguration";
    assert_eq!(get(&base, cfg, &app).await.status, 401);
    assert_eq!(get(&base, cfg, &fresh).await.status, 200);
    assert_eq!(get(&base, cfg, &app2).await.status, 200);
    assert_eq!(get(&base, "/api/v2/users", &user).await.status, 200);
    assert_eq!(
        refresh_grant(&base, V2, (APP.0, NEW_SECRET), &refresh)
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn change_client_credentials_refuses_a_wrong_old_secret() {
    let (_mock, base, admin) = setup().await;
    let wrong = "wrong-secret-00000000000000000000000";
    assert_eq!(wrong.len(), 36);
    for body in [
        json!({ "clientId": APP.0, "oldClientSecret": wrong, "newClientSecret": NEW_SECRET }),
        json!({ "clientId": "no-such-client", "oldClientSecret": APP.1, "newClientSecret": NEW_SECRET }),
        // Another mandator's client is unknown here.
        json!({ "clientId": demo::OTHER_APP_CLIENT.0, "oldClientSecret": demo::OTHER_APP_CLIENT.1, "newClientSecret": NEW_SECRET }),
    ] {
        let r = post_json(&base, ROTATE, &admin, &body).await;
        assert_eq!(r.status, 422, "{body}: {}", r.text);
    }
    assert_eq!(client_token(&base, V2, APP).await.len(), 48);
    client_token(&base, V2, demo::OTHER_APP_CLIENT).await;
}

#[tokio::test]
async fn v2_client_secrets_have_exactly_36_characters() {
    let (_mock, base, admin) = setup().await;
    for new in [
        "short-secret",
        &format!("{NEW_SECRET}x"),
        "new_secret_with_underscores_00000000",
    ] {
        let r = post_json(
            &base,
            ROTATE,
            &admin,
            &json!({ "clientId": APP.0, "oldClientSecret": APP.1, "newClientSecret": new }),
        )
        .await;
        assert_eq!(r.status, 400, "{new}: {}", r.text);
    }
    client_token(&base, V2, APP).await;
}

#[tokio::test]
async fn the_admin_client_rotates_its_own_secret() {
    let (_mock, base, admin) = setup().await;
    let r = post_json(
        &base,
        ROTATE,
        &admin,
        &json!({ "clientId": ADMIN.0, "oldClientSecret": ADMIN.1, "newClientSecret": NEW_SECRET }),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(get(&base, LIST, &admin).await.status, 401);
    let fresh = client_token(&base, V2, (ADMIN.0, NEW_SECRET)).await;
    assert_eq!(get(&base, LIST, &fresh).await.status, 200);
}

/// Create, list and delete rules of one kind (`ibanRules` or `keywordRules`).
async fn rules_round_trip(kind: &str, rule: Value) {
    let (_mock, base, admin) = setup().await;
    let path = format!("/api/v2/mandatorAdmin/{kind}");
    let r = post_json(&base, &path, &admin, &json!({ kind: [rule.clone(), rule] })).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let created = r.body[kind].as_array().unwrap().clone();
    assert_eq!(created.len(), 2);
    let id = created[0]["id"].as_u64().expect("rule id");
    assert_ne!(created[0]["id"], created[1]["id"]);

    let r = get(&base, &path, &admin).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body[kind].as_array().unwrap(), &created);
    assert_eq!(r.body["paging"]["totalCount"], 2);
    // Rules belong to the mandator: the other mandator sees none.
    let other = client_token(&base, V2, demo::OTHER_ADMIN_CLIENT).await;
    assert_eq!(get(&base, &path, &other).await.body[kind], json!([]));

    let r = post_json(
        &base,
        &format!("{path}/delete"),
        &admin,
        &json!({ "ids": [id, 999_999] }),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["identifiers"], json!([id]));
    let r = get(&base, &path, &admin).await;
    assert_eq!(r.body[kind].as_array().unwrap().len(), 1);
    assert_ne!(r.body[kind][0]["id"], id);

    // A rule without categoryId/direction, and an empty list, are refused.
    let r = post_json(&base, &path, &admin, &json!({ kind: [{ "foo": 1 }] })).await;
    assert_eq!(r.status, 400, "{}", r.text);
    let r = post_json(&base, &path, &admin, &json!({ kind: [] })).await;
    assert_eq!(r.status, 400, "{}", r.text);
}

#[tokio::test]
async fn iban_rules_round_trip() {
    rules_round_trip(
        "ibanRules",
        json!({ "categoryId": 4, "direction": "Income", "iban": "DE13100000000123456789" }),
    )
    .await;
}

#[tokio::test]
async fn keyword_rules_round_trip() {
    rules_round_trip(
        "keywordRules",
        json!({ "categoryId": 4, "direction": "Spending", "keywords": ["coffee"], "allKeywordsMustMatch": true }),
    )
    .await;
}

const SWITCH_V1: &str = "/api/v1/mandatorAdmin/switchApiVersion";
const SWITCH_V2: &str = "/api/v2/mandatorAdmin/switchApiVersion";

#[tokio::test]
async fn a_v2_mandator_cannot_switch_to_v1_unless_it_switched_recently() {
    let (_mock, base, admin) = setup().await;
    let r = post_json(&base, SWITCH_V2, &admin, &json!({ "apiVersion": "V1" })).await;
    assert_eq!(r.status, 422, "{}", r.text);
    let r = post_json(&base, SWITCH_V2, &admin, &json!({ "apiVersion": "V2" })).await;
    assert_eq!(r.status, 422, "already on V2: {}", r.text);
    let r = post_json(&base, SWITCH_V2, &admin, &json!({ "apiVersion": "V3" })).await;
    assert_eq!(r.status, 400, "{}", r.text);
    // Still V2.
    assert_eq!(get(&base, LIST, &admin).await.status, 200);
}

/// Switch the `legacy` mandator to V2 through the V1 path; returns its admin token.
async fn legacy_to_v2(base: &str) -> String {
    let admin = client_token(base, ApiVersion::V1, demo::LEGACY_ADMIN_CLIENT).await;
    let r = post_json(base, SWITCH_V1, &admin, &json!({ "apiVersion": "V2" })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    admin
}

#[tokio::test]
async fn after_switching_to_v2_v1_calls_are_a_version_mismatch() {
    let (_mock, base, _admin) = setup().await;
    let v1 = ApiVersion::V1;
    // Before the switch, V2 is the mismatch.
    let app = client_token(&base, v1, demo::LEGACY_APP_CLIENT).await;
    let r = get(&base, "/api/v2/clientConfiguration", &app).await;
    assert_eq!(r.status, 403, "{}", r.text);
    assert!(r.message().contains("API version mismatch"), "{}", r.text);

    let admin = legacy_to_v2(&base).await;
    let r = get(&base, "/api/v1/mandatorAdmin/getUserList", &admin).await;
    assert_eq!(r.status, 403, "{}", r.text);
    assert_eq!(r.code(), "UNAUTHORIZED_ACCESS");
    assert!(r.message().contains("API version mismatch"), "{}", r.text);
    let r = get(&base, "/api/v1/clientConfiguration", &app).await;
    assert_eq!(r.status, 403, "{}", r.text);
    let r = client_grant(&base, v1, demo::LEGACY_APP_CLIENT).await;
    assert_eq!(r.status, 403, "{}", r.text);

    // V2 works: the admin's list, the app client, and victor's login.
    let r = get(&base, LIST, &admin).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(ids(&r), [demo::LEGACY_USER.0]);
    let app2 = client_token(&base, V2, demo::LEGACY_APP_CLIENT).await;
    assert_eq!(
        get(&base, "/api/v2/clientConfiguration", &app2)
            .await
            .status,
        200
    );
    let victor = user_token(&base, V2, demo::LEGACY_APP_CLIENT, demo::LEGACY_USER).await;
    assert_eq!(
        get(&base, "/api/v2/users", &victor).await.body["id"],
        "victor"
    );
}

#[tokio::test]
async fn switching_back_to_v1_is_allowed_within_seven_days() {
    let (mock, base, _admin) = setup().await;
    let admin = legacy_to_v2(&base).await;
    mock.clock().advance(Duration::from_secs(6 * 86_400));
    let admin = {
        assert_eq!(get(&base, LIST, &admin).await.status, 401, "expired");
        client_token(&base, V2, demo::LEGACY_ADMIN_CLIENT).await
    };
    let r = post_json(&base, SWITCH_V2, &admin, &json!({ "apiVersion": "V1" })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        get(&base, "/api/v1/mandatorAdmin/getUserList", &admin)
            .await
            .status,
        200
    );
    assert_eq!(get(&base, LIST, &admin).await.status, 403);
}

#[tokio::test]
async fn switching_back_to_v1_is_refused_after_seven_days() {
    let (mock, base, _admin) = setup().await;
    let admin = legacy_to_v2(&base).await;
    mock.clock().advance(Duration::from_secs(7 * 86_400 + 60));
    let admin = {
        // The admin token of the switch has expired meanwhile; get a V2 one.
        assert_eq!(get(&base, LIST, &admin).await.status, 401);
        client_token(&base, V2, demo::LEGACY_ADMIN_CLIENT).await
    };
    let r = post_json(&base, SWITCH_V2, &admin, &json!({ "apiVersion": "V1" })).await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(get(&base, LIST, &admin).await.status, 200);
}

#[tokio::test]
async fn tpp_certificates_round_trip() {
    let (_mock, base, admin) = setup().await;
    let path = "/api/v2/tppCertificates";
    let cert = json!({ "type": "QWAC", "publicKey": "-----BEGIN CERTIFICATE-----", "privateKey": "-----BEGIN PRIVATE KEY-----", "label": "qwac 1" });
    let r = post_json(&base, path, &admin, &cert).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["label"], "qwac 1");
    let id = r.body["id"].as_u64().expect("certificate id");

    let r = get(&base, path, &admin).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["tppCertificates"].as_array().unwrap().len(), 1);
    assert_eq!(r.body["tppCertificates"][0]["id"], id);
    let one = format!("{path}/{id}");
    let r = get(&base, &one, &admin).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["certificateType"], "QWAC");

    // Another mandator cannot see it.
    let other = client_token(&base, V2, demo::OTHER_ADMIN_CLIENT).await;
    assert_eq!(get(&base, &one, &other).await.status, 404);
    assert_eq!(delete(&base, &one, &other).await.status, 404);

    assert_eq!(delete(&base, &one, &admin).await.status, 200);
    let r = get(&base, &one, &admin).await;
    assert_eq!(r.status, 404, "{}", r.text);
    assert_eq!(r.code(), "UNKNOWN_ENTITY");
    assert_eq!(
        get(&base, path, &admin).await.body["tppCertificates"],
        json!([])
    );
    assert_eq!(post_json(&base, path, &admin, &json!({})).await.status, 400);
}

#[tokio::test]
async fn tpp_credentials_round_trip() {
    let (_mock, base, admin) = setup().await;
    let path = "/api/v2/tppCredentials";
    let body = json!({ "tppAuthenticationGroupId": 1, "label": "first", "tppClientId": "abc" });
    let r = post_json(&base, path, &admin, &body).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.body["id"].as_u64().expect("credential id");
    let one = format!("{path}/{id}");

    let r = patch_json(&base, &one, &admin, &json!({ "label": "renamed" })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["label"], "renamed");
    // The TPP client id is a bank credential: TppCredentials does not show it.
    assert!(r.body.get("tppClientId").is_none(), "{}", r.text);
    assert_eq!(r.body["id"], id);
    let r = get(&base, &one, &admin).await;
    assert_eq!(r.body["label"], "renamed");
    let r = get(&base, path, &admin).await;
    assert_eq!(r.body["tppCredentials"][0]["label"], "renamed");
    let r = get(&base, &format!("{path}/tppAuthenticationGroups"), &admin).await;
    assert_eq!(r.status, 200, "{}", r.text);

    let other = client_token(&base, V2, demo::OTHER_ADMIN_CLIENT).await;
    assert_eq!(
        patch_json(&base, &one, &other, &json!({ "label": "x" }))
            .await
            .status,
        404
    );

    assert_eq!(delete(&base, &one, &admin).await.status, 200);
    assert_eq!(get(&base, &one, &admin).await.status, 404);
    assert_eq!(
        get(&base, path, &admin).await.body["tppCredentials"],
        json!([])
    );
}
