//! The app's own feature files (`features/`), run by cucumber with finapi-conformance's step
//! library plus steps of our own that drive the app against each scenario's mock. The steps
//! register themselves (cucumber's `#[given]`/`#[when]`/`#[then]`), so a plain `#[test]` runs
//! them.

use cucumber::{given, then, when};
use finapi_conformance::gherkin::{run_suite, FinapiWorld, SuiteOptions};
use finapi_conformance::world::demo;
use finapi_conformance::{CallerKind, FinapiMock};
use integrator_example::{ClientCredentials, FinapiApp, FinapiConfig};

/// The scenario's mock (the step library starts one per scenario).
async fn mock(world: &mut FinapiWorld) -> &FinapiMock {
    world
        .conn()
        .await
        .mock
        .as_ref()
        .expect("these steps run against the in-process mock")
}

async fn app(world: &mut FinapiWorld) -> FinapiApp {
    FinapiApp::new(FinapiConfig {
        base_url: mock(world).await.uri(),
        app_client: ClientCredentials::new(demo::APP_CLIENT.0, demo::APP_CLIENT.1),
        admin_client: ClientCredentials::new(demo::ADMIN_CLIENT.0, demo::ADMIN_CLIENT.1),
    })
}

#[given(regex = r"^my app talks to the mock$")]
async fn talks_to_the_mock(world: &mut FinapiWorld) {
    // From here on the journal holds the app's own requests only.
    mock(world).await.journal().clear();
}

#[when(regex = r#"^my app signs up "([^"]+)"$"#)]
async fn signs_up(world: &mut FinapiWorld, name: String) {
    app(world)
        .await
        .sign_up(&name, &format!("{name}-password-1"))
        .await
        .unwrap();
}

#[when(regex = r"^my app reads accounts with the admin token$")]
async fn reads_with_admin_token(world: &mut FinapiWorld) {
    let _ = app(world).await.accounts_with_admin_token().await;
}

#[then(regex = r#"^my app called "([^"]+)" only with the app client$"#)]
async fn called_with_app_client(world: &mut FinapiWorld, operation: String) {
    mock(world)
        .await
        .assert_called_by(&operation, CallerKind::AppClient);
}

#[then(regex = r"^my app never sent the admin token to a user service$")]
async fn never_admin_on_user_service(world: &mut FinapiWorld) {
    mock(world).await.assert_no_admin_token_on_user_services();
}

#[then(regex = r#"^the journal names "([^"]+)" as an admin token on a user service$"#)]
async fn journal_names(world: &mut FinapiWorld, request: String) {
    let finding = mock(world)
        .await
        .check_no_admin_token_on_user_services()
        .expect_err("the journal should have caught the admin token");
    assert!(finding.to_string().contains(&request), "{finding}");
}

/// The app's feature files, as one test: libtest's options (`-q`, `--nocapture`, `--list`,
/// a name filter, ...) work as for any other test, and cucumber's scenario-by-scenario output
/// shows with `--nocapture`.
#[tokio::test(flavor = "multi_thread")]
async fn my_app_keeps_the_role_boundaries() {
    let mut options = SuiteOptions::mock(concat!(env!("CARGO_MANIFEST_DIR"), "/features"));
    options.console = true;
    let outcome = run_suite(options).await;
    println!("{}", outcome.summary_line());
    assert_eq!(outcome.exit_code(), 0, "{}", outcome.report());
}
