//! The role-aware journal of `FinapiMock`: operation, caller kind and refusing rule of each
//! request, the assertions integrators use, and proof that each assertion goes red when the
//! traffic (or the mock, broken on purpose) gives it reason to.

use crate::common;

use std::time::Duration;

use common::*;
use finapi_conformance::sim::Served;
use finapi_conformance::world::demo;
use finapi_conformance::{ApiVersion, CallerKind, FinapiMock, Rule, Violation};
use serde_json::json;

const V2: ApiVersion = ApiVersion::V2;

#[tokio::test]
async fn create_user_with_the_app_client_is_journaled_with_its_caller() {
    let mock = FinapiMock::start().await;
    let base = mock.uri();
    let app = client_token(&base, V2, demo::APP_CLIENT).await;
    let r = post_json(
        &base,
        "/api/v2/users",
        &app,
        &json!({"id": "dora", "password": "dora-password-1"}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);

    mock.assert_called_by("createUser", CallerKind::AppClient);
    mock.assert_no_denials();
    mock.assert_no_admin_token_on_user_services();
    let calls = mock.calls_to("createUser").by(CallerKind::AppClient);
    assert_eq!(calls.len(), 1);
    let e = &calls[0];
    assert_eq!(
        (e.method.as_str(), e.path.as_str()),
        ("POST", "/api/v2/users")
    );
    assert_eq!((e.status, e.version, e.refused_by), (201, V2, None));
    let caller = e.caller.as_ref().unwrap();
    assert_eq!(caller.client_id, demo::APP_CLIENT.0);
    assert_eq!(caller.mandator, demo::MANDATOR);
    assert_eq!(caller.user_id, None);
    // The token request names its client too.
    let token_calls = mock.calls_to("getToken").by_client(demo::APP_CLIENT.0);
    assert_eq!(token_calls.len(), 1);
}

#[tokio::test]
async fn the_journal_holds_no_secret_token_or_password() {
    let mock = FinapiMock::start().await;
    let base = mock.uri();
    let app = client_token(&base, V2, demo::APP_CLIENT).await;
    let (user_access, refresh) = user_tokens(&base, V2, demo::APP_CLIENT, demo::USERS[0]).await;
    get(
        &base,
        "/api/v2/accounts?secret=query-secret-1",
        &user_access,
    )
    .await;
    post_json(
        &base,
        "/api/v2/users",
        &app,
        &json!({"id": "erin", "password": "body-password-1"}),
    )
    .await;
    let entries = mock.journal().entries();
    assert!(entries.len() >= 4);
    let dumped = format!("{entries:?}{}", serde_json::to_string(&entries).unwrap());
    for secret in [
        demo::APP_CLIENT.1,
        demo::USERS[0].1,
        &app,
        &user_access,
        &refresh,
        "query-secret-1",
        "body-password-1",
    ] {
        assert!(!dumped.contains(secret), "the journal shows a secret");
    }
    // The password grant names its user, lower-cased, and the user's own call names it too.
    let user_call = &mock
        .calls_to("getAndSearchAllAccounts")
        .by(CallerKind::User)[0];
    assert_eq!(
        user_call.caller.as_ref().unwrap().user_id.as_deref(),
        Some("alice")
    );
}

#[tokio::test]
async fn an_admin_token_on_a_user_service_is_named_even_when_refused() {
    let mock = FinapiMock::start().await;
    let base = mock.uri();
    let admin = client_token(&base, V2, demo::ADMIN_CLIENT).await;
    let r = get(&base, "/api/v2/accounts", &admin).await;
    assert_eq!(r.status, 403);
    let finding = mock.check_no_admin_token_on_user_services().unwrap_err();
    assert_eq!(finding.offenders.len(), 1);
    let text = finding.to_string();
    for part in [
        "admin token reached a user service",
        "GET /api/v2/accounts",
        "getAndSearchAllAccounts",
        "mandator_admin demo-admin",
        "403",
        "refused by rule intruder-admin",
    ] {
        assert!(text.contains(part), "`{part}` missing in: {text}");
    }
    // The same panics through the assert form, with the same text.
    let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        mock.assert_no_admin_token_on_user_services()
    }))
    .unwrap_err();
    let message = panic.downcast_ref::<String>().unwrap();
    assert!(message.contains("GET /api/v2/accounts"), "{message}");
}

/// Broken on purpose, the mock lets the admin token read user data (200): the status says
/// nothing is wrong, the journal still names the request.
#[tokio::test]
async fn a_mock_that_lets_the_admin_read_user_data_is_still_caught_by_the_journal() {
    let mock = FinapiMock::builder()
        .violate(Violation::AdminReadsUserData)
        .start()
        .await;
    let base = mock.uri();
    let admin = client_token(&base, V2, demo::ADMIN_CLIENT).await;
    let r = get(&base, "/api/v2/accounts", &admin).await;
    assert_eq!(r.status, 200, "the break lets the admin through");
    mock.assert_no_denials();
    let finding = mock.check_no_admin_token_on_user_services().unwrap_err();
    assert_eq!(finding.offenders[0].status, 200);
    assert_eq!(finding.offenders[0].refused_by, None);
}

#[tokio::test]
async fn refusals_name_the_documented_rule() {
    let mock = FinapiMock::start().await;
    let base = mock.uri();
    let app = client_token(&base, V2, demo::APP_CLIENT).await;
    let admin = client_token(&base, V2, demo::ADMIN_CLIENT).await;
    let user = user_token(&base, V2, demo::APP_CLIENT, demo::USERS[0]).await;
    let legacy = client_token(&base, ApiVersion::V1, demo::LEGACY_APP_CLIENT).await;

    assert_eq!(
        get(&base, "/api/v2/mandatorAdmin/getUserList", &app)
            .await
            .status,
        403
    );
    assert_eq!(
        post_json(&base, "/api/v2/users", &admin, &json!({"id": "x1"}))
            .await
            .status,
        403
    );
    assert_eq!(
        get(&base, "/api/v2/clientConfiguration", &user)
            .await
            .status,
        403
    );
    assert_eq!(
        get(&base, "/api/v2/banks", "never-issued").await.status,
        401
    );
    assert_eq!(get(&base, "/api/v2/banks", &legacy).await.status, 403);
    assert_eq!(
        password_grant(&base, V2, demo::ADMIN_CLIENT, demo::USERS[0])
            .await
            .status,
        403
    );

    let rule_of = |op: &str| {
        mock.calls_to(op)
            .denied()
            .iter()
            .map(|e| e.refused_by)
            .collect::<Vec<_>>()
    };
    assert_eq!(rule_of("getUserList"), [Some(Rule::IntruderAppClient)]);
    assert_eq!(rule_of("createUser"), [Some(Rule::AdminSectionsOnly)]);
    assert_eq!(rule_of("getClientConfiguration"), [Some(Rule::UserScope)]);
    assert_eq!(
        rule_of("getAndSearchAllBanks"),
        [Some(Rule::TokenRequired), Some(Rule::ApiVersionBinding)]
    );
    assert_eq!(rule_of("getToken"), [Some(Rule::UserTokensViaAppClients)]);
    // The denials are all named.
    let finding = mock.check_no_denials().unwrap_err();
    assert_eq!(finding.offenders.len(), 6, "{finding}");
}

#[tokio::test]
async fn an_expired_token_is_refused_by_the_expiry_rule() {
    let mock = FinapiMock::start().await;
    let base = mock.uri();
    let app = client_token(&base, V2, demo::APP_CLIENT).await;
    assert_eq!(
        get(&base, "/api/v2/clientConfiguration", &app).await.status,
        200
    );
    mock.clock().advance(Duration::from_secs(3601));
    assert_eq!(
        get(&base, "/api/v2/clientConfiguration", &app).await.status,
        401
    );
    let last = mock.calls_to("getClientConfiguration").denied();
    assert_eq!(last[0].refused_by, Some(Rule::TokenExpiry));
    assert_eq!(last[0].caller, None, "an expired token identifies nobody");
}

#[tokio::test]
async fn a_break_switched_on_at_runtime_opens_the_boundary_and_the_journal_sees_it() {
    let mock = FinapiMock::start().await;
    let base = mock.uri();
    let app = client_token(&base, V2, demo::APP_CLIENT).await;
    let path = "/api/v2/mandatorAdmin/getUserList";
    assert_eq!(get(&base, path, &app).await.status, 403);
    mock.switch_faults(&[Violation::AppClientListsUsers], &[]);
    assert_eq!(get(&base, path, &app).await.status, 200);
    mock.switch_faults(&[], &[Violation::AppClientListsUsers]);
    assert_eq!(get(&base, path, &app).await.status, 403);
    let statuses: Vec<u16> = mock
        .calls_to("getUserList")
        .by(CallerKind::AppClient)
        .iter()
        .map(|e| e.status)
        .collect();
    assert_eq!(statuses, [403, 200, 403]);
    // The one that got through is the offence an integrator's app should never commit.
    assert!(mock
        .check_called_by("getUserList", CallerKind::MandatorAdmin)
        .is_err());
}

#[tokio::test]
async fn called_by_fails_when_never_called_or_called_by_another_kind() {
    let mock = FinapiMock::start().await;
    let never = mock
        .check_called_by("createUser", CallerKind::AppClient)
        .unwrap_err();
    assert!(never.to_string().contains("never called"), "{never}");
    let base = mock.uri();
    let user = user_token(&base, V2, demo::APP_CLIENT, demo::USERS[0]).await;
    post_json(
        &base,
        "/api/v2/users",
        &user,
        &json!({"id": "y1", "password": "y1-password-1"}),
    )
    .await;
    let other = mock
        .check_called_by("createUser", CallerKind::AppClient)
        .unwrap_err();
    assert!(
        other
            .to_string()
            .contains("by user demo-app-1 for user alice"),
        "{other}"
    );
}

#[tokio::test]
async fn unknown_paths_are_journaled_without_an_operation_and_the_ring_is_bounded() {
    let mock = FinapiMock::builder().journal_capacity(3).start().await;
    let base = mock.uri();
    for i in 0..5 {
        let r = send(http().get(format!("{base}/api/v2/nothing-{i}"))).await;
        assert_eq!(r.status, 404);
    }
    let entries = mock.journal().entries();
    assert_eq!(entries.len(), 3);
    assert_eq!(entries[0].path, "/api/v2/nothing-2");
    assert_eq!(entries[2].seq, 5);
    assert!(entries
        .iter()
        .all(|e| e.operation.is_none() && e.caller.is_none()));
}

#[test]
fn operation_ids_come_from_the_embedded_catalogue() {
    let catalogue = finapi_conformance::Catalogue::embedded();
    let op = catalogue.get(V2, "createUser").unwrap();
    let id = Served::operation_id(op);
    assert_eq!(id, "createUser");
    // The same static string every time: recording it allocates nothing.
    assert!(std::ptr::eq(id, Served::operation_id(op)));
}
