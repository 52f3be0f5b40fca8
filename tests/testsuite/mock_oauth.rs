//! The token endpoint (three grants) and token revocation, over HTTP.

use crate::common;

use std::collections::HashSet;
use std::time::Duration;

use common::*;
use finapi_conformance::world::demo;
use finapi_conformance::{ApiVersion, ApiVersion::V2, Clock, FinapiMock};
use serde_json::json;

const APP: (&str, &str) = demo::APP_CLIENT;
const ALICE: (&str, &str) = demo::USERS[0];

/// A mock on a frozen clock, so `expires_in` values are exact.
async fn frozen() -> FinapiMock {
    FinapiMock::builder().clock(Clock::epoch()).start().await
}

/// Revoke `token` with `bearer`: V1 sends query parameters, V2 a form body.
async fn revoke(base: &str, v: ApiVersion, bearer: &str, token: &str, hint: Option<&str>) -> Resp {
    let mut params = vec![("token", token)];
    if let Some(h) = hint {
        params.push(("token_type_hint", h));
    }
    match v {
        ApiVersion::V1 => {
            let req = http()
                .post(format!("{base}/oauth/revoke"))
                .query(&params)
                .bearer_auth(bearer);
            send(req).await
        }
        ApiVersion::V2 => post_form(base, "/api/v2/oauth/revoke", Some(bearer), &params).await,
    }
}

/// Status of GET /users with a user token (200 while the token lives, 401 after).
async fn user_status(base: &str, token: &str) -> u16 {
    get(base, "/api/v2/users", token).await.status
}

/// Status of GET /clientConfiguration with a client token.
async fn client_status(base: &str, token: &str) -> u16 {
    get(base, "/api/v2/clientConfiguration", token).await.status
}

#[tokio::test]
async fn client_credentials_in_the_form_body() {
    let mock = frozen().await;
    let r = client_grant(&mock.uri(), V2, APP).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["token_type"], "bearer");
    assert_eq!(r.body["scope"], "all");
    assert_eq!(r.body["expires_in"], 3600);
    assert!(r.body.get("refresh_token").is_none(), "{}", r.body);
    let t = r.body["access_token"].as_str().unwrap();
    assert_eq!(client_status(&mock.uri(), t).await, 200);
}

#[tokio::test]
async fn client_credentials_via_http_basic() {
    let mock = frozen().await;
    let r = grant_basic(&mock.uri(), V2, Grant::Client(APP)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let t = r.body["access_token"].as_str().unwrap();
    assert_eq!(client_status(&mock.uri(), t).await, 200);

    let wrong = grant_basic(&mock.uri(), V2, Grant::Client((APP.0, "not-the-secret"))).await;
    assert_eq!(wrong.status, 401);
}

#[tokio::test]
async fn client_credentials_on_the_v1_endpoint_for_a_v1_mandator() {
    let mock = frozen().await;
    let t = client_token(&mock.uri(), ApiVersion::V1, demo::LEGACY_APP_CLIENT).await;
    let r = get(&mock.uri(), "/api/v1/clientConfiguration", &t).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["isMandatorAdmin"], false);
}

#[tokio::test]
async fn password_grant_gives_a_user_token_and_a_refresh_token() {
    let mock = frozen().await;
    let r = password_grant(&mock.uri(), V2, APP, ALICE).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["token_type"], "bearer");
    assert_eq!(r.body["scope"], "all");
    assert_eq!(r.body["expires_in"], 3600);
    let refresh = r.body["refresh_token"].as_str().unwrap();
    let access = r.body["access_token"].as_str().unwrap();
    assert_ne!(access, refresh);
    let me = get(&mock.uri(), "/api/v2/users", access).await;
    assert_eq!(me.status, 200);
    assert_eq!(me.body["id"], "alice");
}

#[tokio::test]
async fn user_ids_are_case_insensitive_at_login() {
    let mock = frozen().await;
    let r = password_grant(&mock.uri(), V2, APP, ("ALICE", ALICE.1)).await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn refresh_grant_issues_a_new_working_access_token() {
    let mock = frozen().await;
    let base = mock.uri();
    let (access, refresh) = user_tokens(&base, V2, APP, ALICE).await;
    let r = refresh_grant(&base, V2, APP, &refresh).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let fresh = r.body["access_token"].as_str().unwrap();
    assert_ne!(fresh, access);
    assert_eq!(r.body["refresh_token"], refresh.as_str());
    assert_eq!(r.body["expires_in"], 3600);
    assert_eq!(user_status(&base, fresh).await, 200);
}

#[tokio::test]
async fn bad_client_credentials_are_401_with_a_bad_credentials_body() {
    let mock = frozen().await;
    for (id, secret) in [(APP.0, "wrong-secret"), ("no-such-client", APP.1)] {
        let r = client_grant(&mock.uri(), V2, (id, secret)).await;
        assert_eq!(r.status, 401, "{}", r.text);
        let obj = r.body.as_object().expect("JSON object");
        assert_eq!(obj.len(), 2, "{}", r.body);
        assert_eq!(r.body["error"], "invalid_client");
        assert_eq!(r.body["error_description"], "Bad client credentials");
    }
}

#[tokio::test]
async fn bad_user_credentials_and_grants_are_400() {
    let mock = frozen().await;
    let base = mock.uri();
    let wrong_pw = password_grant(&base, V2, APP, (ALICE.0, "wrong-password")).await;
    let no_user = password_grant(&base, V2, APP, ("nobody", "whatever-password")).await;
    let bad_refresh = refresh_grant(&base, V2, APP, "not-a-refresh-token").await;
    let unknown_grant = token(
        &base,
        V2,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", APP.0),
            ("client_secret", APP.1),
        ],
    )
    .await;
    let missing_grant = token(&base, V2, &[("client_id", APP.0), ("client_secret", APP.1)]).await;
    for (what, r) in [
        ("wrong password", wrong_pw),
        ("unknown user", no_user),
        ("bad refresh token", bad_refresh),
        ("unknown grant", unknown_grant),
        ("missing grant", missing_grant),
    ] {
        assert_eq!(r.status, 400, "{what}: {}", r.text);
        assert_eq!(r.code(), "BAD_REQUEST", "{what}: {}", r.text);
        assert_eq!(r.body["errors"][0]["type"], "TECHNICAL", "{what}");
    }
}

#[tokio::test]
async fn an_unverified_user_gets_403() {
    let mock = frozen().await;
    let r = password_grant(&mock.uri(), V2, APP, demo::UNVERIFIED_USER).await;
    assert_eq!(r.status, 403, "{}", r.text);
    assert_eq!(r.code(), "USER_NOT_VERIFIED");
    assert!(r.body.get("access_token").is_none());
}

#[tokio::test]
async fn a_user_is_locked_after_max_login_attempts_and_their_tokens_die() {
    let mock = frozen().await;
    let base = mock.uri();
    let (access, refresh) = user_tokens(&base, V2, APP, ALICE).await;
    let wrong = (ALICE.0, "wrong-password");
    for attempt in 1..=3 {
        let r = password_grant(&base, V2, APP, wrong).await;
        assert_eq!(r.status, 400, "attempt {attempt}: {}", r.text);
        if attempt < 3 {
            assert_eq!(user_status(&base, &access).await, 200, "attempt {attempt}");
        }
    }
    // Locked: even the right password is refused, and the existing tokens are dead.
    let r = password_grant(&base, V2, APP, ALICE).await;
    assert_eq!(r.status, 423, "{}", r.text);
    assert_eq!(r.code(), "LOCKED");
    assert_eq!(user_status(&base, &access).await, 401);
    // The refresh token died with the lock.
    let r = refresh_grant(&base, V2, APP, &refresh).await;
    assert_eq!(r.status, 400, "{}", r.text);
    // Bob is not affected.
    assert_eq!(
        password_grant(&base, V2, APP, demo::USERS[1]).await.status,
        200
    );
}

#[tokio::test]
async fn a_successful_login_resets_the_failure_counter() {
    let mock = frozen().await;
    let base = mock.uri();
    let wrong = (ALICE.0, "wrong-password");
    for _ in 0..2 {
        assert_eq!(password_grant(&base, V2, APP, wrong).await.status, 400);
    }
    assert_eq!(password_grant(&base, V2, APP, ALICE).await.status, 200);
    for _ in 0..2 {
        assert_eq!(password_grant(&base, V2, APP, wrong).await.status, 400);
    }
    assert_eq!(password_grant(&base, V2, APP, ALICE).await.status, 200);
}

#[tokio::test]
async fn the_same_token_is_returned_while_unexpired() {
    let mock = frozen().await;
    let base = mock.uri();
    let c1 = client_token(&base, V2, APP).await;
    let c2 = client_token(&base, V2, APP).await;
    assert_eq!(c1, c2);
    let (a1, r1) = user_tokens(&base, V2, APP, ALICE).await;
    mock.clock().advance(Duration::from_secs(600));
    let again = password_grant(&base, V2, APP, ALICE).await;
    assert_eq!(again.body["access_token"], a1.as_str());
    assert_eq!(again.body["refresh_token"], r1.as_str());
    assert_eq!(again.body["expires_in"], 3000, "remaining lifetime");
    // Different clients and different users get different tokens.
    assert_ne!(client_token(&base, V2, demo::APP_CLIENT2).await, c1);
    assert_ne!(user_token(&base, V2, APP, demo::USERS[1]).await, a1);
}

#[tokio::test]
async fn tokens_expire_by_the_mock_clock() {
    let mock = frozen().await;
    let base = mock.uri();
    let client = client_token(&base, V2, APP).await;
    let user = user_token(&base, V2, APP, ALICE).await;
    mock.clock().advance(Duration::from_secs(3599));
    assert_eq!(client_status(&base, &client).await, 200);
    assert_eq!(user_status(&base, &user).await, 200);
    mock.clock().advance(Duration::from_secs(1));
    let r = get(&base, "/api/v2/clientConfiguration", &client).await;
    assert_eq!(r.status, 401, "{}", r.text);
    assert_eq!(r.body["error"], "invalid_token");
    assert!(r.body["error_description"].is_string());
    assert_eq!(user_status(&base, &user).await, 401);
    // After expiry a new, different token is issued.
    let fresh = client_token(&base, V2, APP).await;
    assert_ne!(fresh, client);
    assert_eq!(client_status(&base, &fresh).await, 200);
}

#[tokio::test]
async fn validity_periods_come_from_the_client_configuration_and_apply_to_new_tokens_only() {
    let mock = frozen().await;
    let base = mock.uri();
    let client = client_token(&base, V2, APP).await;
    let old_user = user_token(&base, V2, APP, ALICE).await;
    let patch =
        json!({ "userAccessTokensValidityPeriod": 600, "clientAccessTokensValidityPeriod": 120 });
    let r = patch_json(&base, "/api/v2/clientConfiguration", &client, &patch).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["userAccessTokensValidityPeriod"], 600);
    assert_eq!(r.body["clientAccessTokensValidityPeriod"], 120);

    // A token issued afterwards carries the new period.
    let r = password_grant(&base, V2, APP, demo::USERS[1]).await;
    assert_eq!(r.body["expires_in"], 600);
    let new_user = r.body["access_token"].as_str().unwrap().to_string();
    // The client token issued before keeps its hour (and is reused).
    let r = client_grant(&base, V2, APP).await;
    assert_eq!(r.body["access_token"], client.as_str());
    assert_eq!(r.body["expires_in"], 3600);

    mock.clock().advance(Duration::from_secs(601));
    assert_eq!(user_status(&base, &new_user).await, 401);
    assert_eq!(user_status(&base, &old_user).await, 200);
    assert_eq!(client_status(&base, &client).await, 200);

    mock.clock().advance(Duration::from_secs(3000));
    let fresh = client_grant(&base, V2, APP).await;
    assert_eq!(fresh.body["expires_in"], 120);
}

#[tokio::test]
async fn refresh_tokens_come_only_with_the_password_grant() {
    let mock = frozen().await;
    let base = mock.uri();
    let client = client_token(&base, V2, APP).await;
    // A client access token is no refresh token.
    let r = refresh_grant(&base, V2, APP, &client).await;
    assert_eq!(r.status, 400, "{}", r.text);
    // A user access token is no refresh token either.
    let user = user_token(&base, V2, APP, ALICE).await;
    assert_eq!(refresh_grant(&base, V2, APP, &user).await.status, 400);
}

#[tokio::test]
async fn the_admin_client_gets_only_its_own_token() {
    let mock = frozen().await;
    let base = mock.uri();
    let admin = client_token(&base, V2, demo::ADMIN_CLIENT).await;
    let r = get(&base, "/api/v2/mandatorAdmin/getUserList", &admin).await;
    assert_eq!(r.status, 200, "{}", r.text);

    let r = password_grant(&base, V2, demo::ADMIN_CLIENT, ALICE).await;
    assert_eq!(r.status, 403, "{}", r.text);
    assert_eq!(r.code(), "UNAUTHORIZED_ACCESS");
    assert!(r.body.get("access_token").is_none());

    let (_, refresh) = user_tokens(&base, V2, APP, ALICE).await;
    let r = refresh_grant(&base, V2, demo::ADMIN_CLIENT, &refresh).await;
    assert_eq!(r.status, 403, "{}", r.text);
    assert_eq!(r.code(), "UNAUTHORIZED_ACCESS");
}

#[tokio::test]
async fn v1_revoke_takes_query_parameters() {
    let mock = frozen().await;
    let base = mock.uri();
    let v1 = ApiVersion::V1;
    let client = client_token(&base, v1, demo::LEGACY_APP_CLIENT).await;
    let user = user_token(&base, v1, demo::LEGACY_APP_CLIENT, demo::LEGACY_USER).await;
    assert_eq!(get(&base, "/api/v1/users", &user).await.status, 200);
    let r = revoke(&base, v1, &client, &user, Some("access_token")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.text, "");
    assert_eq!(get(&base, "/api/v1/users", &user).await.status, 401);
}

#[tokio::test]
async fn v2_revoke_takes_a_form_body() {
    let mock = frozen().await;
    let base = mock.uri();
    let client = client_token(&base, V2, APP).await;
    let user = user_token(&base, V2, APP, ALICE).await;
    let r = revoke(&base, V2, &client, &user, Some("access_token")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.text, "");
    assert_eq!(user_status(&base, &user).await, 401);
}

#[tokio::test]
async fn hint_access_token_revokes_only_that_access_token() {
    let mock = frozen().await;
    let base = mock.uri();
    let client = client_token(&base, V2, APP).await;
    let (access, refresh) = user_tokens(&base, V2, APP, ALICE).await;
    assert_eq!(
        revoke(&base, V2, &client, &access, Some("access_token"))
            .await
            .status,
        200
    );
    assert_eq!(user_status(&base, &access).await, 401);
    let r = refresh_grant(&base, V2, APP, &refresh).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let fresh = r.body["access_token"].as_str().unwrap();
    assert_eq!(user_status(&base, fresh).await, 200);
}

#[tokio::test]
async fn hint_refresh_token_revokes_the_refresh_token_and_the_grants_access_tokens() {
    let mock = frozen().await;
    let base = mock.uri();
    let client = client_token(&base, V2, APP).await;
    let (access, refresh) = user_tokens(&base, V2, APP, ALICE).await;
    let refreshed = refresh_grant(&base, V2, APP, &refresh).await.body["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    // Another grant of another user survives.
    let bob = user_token(&base, V2, APP, demo::USERS[1]).await;
    assert_eq!(
        revoke(&base, V2, &client, &refresh, Some("refresh_token"))
            .await
            .status,
        200
    );
    assert_eq!(refresh_grant(&base, V2, APP, &refresh).await.status, 400);
    assert_eq!(user_status(&base, &access).await, 401);
    assert_eq!(user_status(&base, &refreshed).await, 401);
    assert_eq!(user_status(&base, &bob).await, 200);
    assert_eq!(client_status(&base, &client).await, 200);
}

#[tokio::test]
async fn no_hint_revokes_the_whole_grant() {
    let mock = frozen().await;
    let base = mock.uri();
    let client = client_token(&base, V2, APP).await;
    let (access, refresh) = user_tokens(&base, V2, APP, ALICE).await;
    assert_eq!(revoke(&base, V2, &client, &access, None).await.status, 200);
    assert_eq!(user_status(&base, &access).await, 401);
    assert_eq!(refresh_grant(&base, V2, APP, &refresh).await.status, 400);
    // The user can log in again and gets a new grant.
    let (again, again_refresh) = user_tokens(&base, V2, APP, ALICE).await;
    assert_ne!(again, access);
    assert_ne!(again_refresh, refresh);
}

#[tokio::test]
async fn an_unknown_token_revokes_with_200() {
    let mock = frozen().await;
    let client = client_token(&mock.uri(), V2, APP).await;
    let r = revoke(&mock.uri(), V2, &client, "0123456789abcdef", None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.text, "");
    let r = revoke(
        &mock.uri(),
        ApiVersion::V1,
        &client,
        "0123456789abcdef",
        None,
    )
    .await;
    // The demo client is bound to V2: the V1 path is a version mismatch.
    assert_eq!(r.status, 403, "{}", r.text);
}

#[tokio::test]
async fn an_unsupported_hint_is_400() {
    let mock = frozen().await;
    let base = mock.uri();
    let client = client_token(&base, V2, APP).await;
    let user = user_token(&base, V2, APP, ALICE).await;
    let r = revoke(&base, V2, &client, &user, Some("id_token")).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.code(), "BAD_REQUEST");
    assert_eq!(user_status(&base, &user).await, 200);
}

#[tokio::test]
async fn the_admin_client_cannot_revoke_a_user_token() {
    let mock = frozen().await;
    let base = mock.uri();
    let admin = client_token(&base, V2, demo::ADMIN_CLIENT).await;
    let (user, refresh) = user_tokens(&base, V2, APP, ALICE).await;
    for t in [&user, &refresh] {
        let r = revoke(&base, V2, &admin, t, None).await;
        assert_eq!(r.status, 403, "{}", r.text);
        assert_eq!(r.code(), "UNAUTHORIZED_ACCESS");
    }
    assert_eq!(user_status(&base, &user).await, 200);
    assert_eq!(refresh_grant(&base, V2, APP, &refresh).await.status, 200);
    // Its own token it may revoke.
    assert_eq!(revoke(&base, V2, &admin, &admin, None).await.status, 200);
    let r = get(&base, "/api/v2/mandatorAdmin/getUserList", &admin).await;
    assert_eq!(r.status, 401);
}

#[tokio::test]
async fn a_user_token_cannot_call_revoke() {
    let mock = frozen().await;
    let base = mock.uri();
    let user = user_token(&base, V2, APP, ALICE).await;
    let r = revoke(&base, V2, &user, &user, None).await;
    assert_eq!(r.status, 403, "{}", r.text);
    assert_eq!(r.code(), "UNAUTHORIZED_ACCESS");
    assert_eq!(user_status(&base, &user).await, 200);
}

#[tokio::test]
async fn revoke_without_a_token_parameter_is_400() {
    let mock = frozen().await;
    let client = client_token(&mock.uri(), V2, APP).await;
    let r = post_form(&mock.uri(), "/api/v2/oauth/revoke", Some(&client), &[]).await;
    assert_eq!(r.status, 400, "{}", r.text);
}

#[tokio::test]
async fn tokens_have_at_least_128_bits_and_do_not_repeat() {
    let mock = frozen().await;
    let base = mock.uri();
    let mut seen = HashSet::new();
    for _ in 0..100 {
        let t = client_token(&base, V2, APP).await;
        assert!(t.len() >= 32, "{t} is shorter than 128 bits of hex");
        assert!(t.len() <= 128, "{t} exceeds the V1 limit of 128 characters");
        assert!(t.chars().all(|c| c.is_ascii_hexdigit()), "{t} is not hex");
        assert!(seen.insert(t), "a token repeated");
        // Let it expire so the next request gets a new one instead of reuse.
        mock.clock().advance(Duration::from_secs(3600));
    }
    let (access, refresh) = user_tokens(&base, V2, APP, ALICE).await;
    assert!(refresh.len() >= 32 && refresh.chars().all(|c| c.is_ascii_hexdigit()));
    assert!(seen.insert(access) && seen.insert(refresh));
    assert_eq!(seen.len(), 102);
}
