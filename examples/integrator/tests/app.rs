//! The app's own role checks: it runs against finapi-conformance's mock, and the mock's journal
//! says which client each call used, so a test can assert what the status codes alone cannot.

use finapi_conformance::world::demo;
use finapi_conformance::{CallerKind, FinapiMock, Violation};
use integrator_example::{AppError, ClientCredentials, FinapiApp, FinapiConfig};

fn app_for(mock: &FinapiMock) -> FinapiApp {
    FinapiApp::new(FinapiConfig {
        base_url: mock.uri(),
        app_client: ClientCredentials::new(demo::APP_CLIENT.0, demo::APP_CLIENT.1),
        admin_client: ClientCredentials::new(demo::ADMIN_CLIENT.0, demo::ADMIN_CLIENT.1),
    })
}

#[tokio::test]
async fn sign_up_uses_the_app_client_and_the_user_list_the_admin() {
    let mock = FinapiMock::start().await;
    let app = app_for(&mock);
    app.sign_up("dora", "dora-password-1").await.unwrap();
    assert!(app.user_ids().await.unwrap().contains(&"dora".to_string()));

    mock.assert_called_by("createUser", CallerKind::AppClient);
    mock.assert_called_by("getUserList", CallerKind::MandatorAdmin);
    mock.assert_no_admin_token_on_user_services();
    mock.assert_no_denials();
}

#[tokio::test]
async fn accounts_are_read_with_the_users_own_token() {
    let mock = FinapiMock::start().await;
    let app = app_for(&mock);
    let (user, password) = demo::USERS[0];
    app.accounts(user, password).await.unwrap();

    mock.assert_called_by("getAndSearchAllAccounts", CallerKind::User);
    let logins = mock
        .calls_to("getToken")
        .by(CallerKind::AppClient)
        .succeeded();
    assert_eq!(
        logins.len(),
        1,
        "one password grant, through the app client"
    );
    assert_eq!(
        logins[0].caller.as_ref().unwrap().user_id.as_deref(),
        Some(user)
    );
    mock.assert_no_admin_token_on_user_services();
}

/// The buggy path: finAPI refuses the admin token (403), and the journal names the request.
#[tokio::test]
async fn the_journal_names_the_admin_token_sent_to_a_user_service() {
    let mock = FinapiMock::start().await;
    let app = app_for(&mock);
    let refused = app.accounts_with_admin_token().await.unwrap_err();
    assert!(matches!(refused, AppError::Status(403, _)), "{refused}");

    let finding = mock.check_no_admin_token_on_user_services().unwrap_err();
    let text = finding.to_string();
    assert!(text.contains("GET /api/v2/accounts"), "{text}");
    assert!(text.contains("getAndSearchAllAccounts"), "{text}");
    assert!(
        text.contains(&format!("mandator_admin {}", demo::ADMIN_CLIENT.0)),
        "{text}"
    );
    assert!(mock.check_no_denials().is_err());
}

/// The same, with the assertion as a test would normally write it: it panics.
#[tokio::test]
#[should_panic(expected = "an admin token reached a user service")]
async fn the_assertion_fails_the_test_on_the_buggy_path() {
    let mock = FinapiMock::start().await;
    let _ = app_for(&mock).accounts_with_admin_token().await;
    mock.assert_no_admin_token_on_user_services();
}

/// A target that wrongly lets the admin token through (the mock broken on purpose) answers
/// 200, so the buggy app "works"; only the journal shows what it sent.
#[tokio::test]
async fn a_lenient_target_hides_the_bug_from_status_codes_but_not_from_the_journal() {
    let mock = FinapiMock::builder()
        .violate(Violation::AdminReadsUserData)
        .start()
        .await;
    let app = app_for(&mock);
    app.accounts_with_admin_token()
        .await
        .expect("the broken mock lets it through");
    mock.assert_no_denials();
    assert!(mock.check_no_admin_token_on_user_services().is_err());
}
