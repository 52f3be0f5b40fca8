//! Web Form 2.0 steps: a user creates a web form, the form is ended (its page, or the mock's
//! hand), and its status, its effects in Access and who can see it are checked.

use std::time::Duration;

use cucumber::{then, when};
use serde_json::{json, Value};

use crate::gherkin::world::named_operation;
use crate::gherkin::{leave_out, FinapiWorld};
use crate::model::Api;
use crate::runner::http::{HttpRequest, HttpResponse};

/// `(owner's name, id, url)` of the scenario's latest web form.
fn form(world: &FinapiWorld) -> (String, String, String) {
    world
        .web_form
        .clone()
        .expect("no web form yet: a user must create one first")
}

/// `path` of Web Form 2.0 on its host; the scenario is left out when the target does not
/// serve Web Form 2.0 where the run looks for it.
async fn webform_path(world: &mut FinapiWorld, path: &str) -> String {
    match world.session().await.service_path(Api::WebForm2, path) {
        Ok(path) => path,
        Err(why) => leave_out(why),
    }
}

/// Send `method path` as user `name` (their latest token), to the Web Form or Access host.
async fn as_user(
    world: &mut FinapiWorld,
    name: &str,
    method: http::Method,
    path: &str,
    body: Option<Value>,
) -> HttpResponse {
    let token = world.held(name, None).access;
    let session = world.session().await;
    let mut req = HttpRequest::new(method, path.to_string()).bearer(Some(token));
    if let Some(b) = body {
        req = req.json(b);
    }
    session.http.send(&req).await
}

async fn get_form(world: &mut FinapiWorld, name: &str, id: &str) -> HttpResponse {
    let version = world.api_version();
    let catalogue = world.session().await.catalogue.clone();
    let op = named_operation(&catalogue, version, "getWebForm");
    let path = webform_path(world, &op.path.replace("{id}", id)).await;
    as_user(world, name, http::Method::GET, &path, None).await
}

#[when(regex = r#"^"([^"]+)" creates a web form to import a bank connection$"#)]
async fn create_import_form(world: &mut FinapiWorld, name: String) {
    let version = world.api_version();
    let catalogue = world.session().await.catalogue.clone();
    let op = named_operation(&catalogue, version, "createForBankConnectionImport");
    let path = webform_path(world, &op.path).await;
    let resp = as_user(world, &name, http::Method::POST, &path, Some(json!({}))).await;
    let body = resp.json();
    let id = body["id"].as_str().map(str::to_string);
    let url = body["url"].as_str().unwrap_or_default().to_string();
    if let Some(id) = id {
        world.web_form = Some((name, id, url));
    }
    world.last = Some(resp);
}

#[when(regex = r#"^the web form's page is submitted with the PIN "([^"]*)"$"#)]
async fn submit_page(world: &mut FinapiWorld, pin: String) {
    let (_, _, url) = form(world);
    let session = world.session().await;
    let req = HttpRequest::new(http::Method::POST, url).form(&[
        ("username", "fc-test-bank-user"),
        ("pin", pin.as_str()),
        ("action", "login"),
    ]);
    let resp = session.http.send(&req).await;
    world.last = Some(resp);
}

#[when(regex = r"^the web form is (completed|completed with an error|aborted)$")]
async fn end_form(world: &mut FinapiWorld, how: String) {
    let (_, id, _) = form(world);
    let status = match how.as_str() {
        "completed" => "COMPLETED",
        "aborted" => "ABORTED",
        _ => "COMPLETED_WITH_ERROR",
    };
    let conn = world.conn().await;
    let mock = conn
        .mock
        .as_ref()
        .expect("ending a web form by hand needs the mock (tag the scenario @mock-only)");
    mock.complete_web_form(&id, status)
        .unwrap_or_else(|e| panic!("{e}"));
}

#[when(regex = r"^the web form's lifetime passes$")]
async fn lifetime_passes(world: &mut FinapiWorld) {
    let conn = world.conn().await;
    let mock = conn
        .mock
        .as_ref()
        .expect("moving the clock needs the in-process mock (tag the scenario @mock-only)");
    let lifetime = mock
        .simulator()
        .with_state(|s| s.webform.lifetime())
        .to_std()
        .unwrap_or_default();
    mock.clock().advance(lifetime + Duration::from_secs(1));
}

#[then(regex = r#"^the web form's status is "([A-Z_]+)"$"#)]
async fn form_status(world: &mut FinapiWorld, want: String) {
    let (owner, id, _) = form(world);
    let resp = get_form(world, &owner, &id).await;
    assert_eq!(resp.status, 200, "the owner cannot read the web form");
    let got = resp.json()["status"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert_eq!(got, want, "the web form's status");
}

#[then(regex = r#"^"([^"]+)" has the bank connection the web form names$"#)]
async fn has_connection(world: &mut FinapiWorld, name: String) {
    let (owner, id, _) = form(world);
    let form = get_form(world, &owner, &id).await.json();
    let connection = form["payload"]["bankConnectionId"]
        .as_u64()
        .unwrap_or_else(|| panic!("the web form names no bank connection: {form}"));
    let version = world.api_version();
    let catalogue = world.session().await.catalogue.clone();
    let path = named_operation(&catalogue, version, "getBankConnection")
        .path
        .replace("{id}", &connection.to_string());
    let resp = as_user(world, &name, http::Method::GET, &path, None).await;
    assert_eq!(
        resp.status, 200,
        "bank connection {connection} is not visible"
    );
    let accounts = named_operation(&catalogue, version, "getAndSearchAllAccounts").path;
    let resp = as_user(world, &name, http::Method::GET, &accounts, None).await;
    let listed = resp.json()["accounts"].as_array().map_or(0, Vec::len);
    assert!(listed > 0, "the imported connection brought no accounts");
}

#[then(regex = r#"^"([^"]+)" has no bank connection$"#)]
async fn has_no_connection(world: &mut FinapiWorld, name: String) {
    let version = world.api_version();
    let catalogue = world.session().await.catalogue.clone();
    let path = named_operation(&catalogue, version, "getAllBankConnections").path;
    let resp = as_user(world, &name, http::Method::GET, &path, None).await;
    assert_eq!(resp.status, 200);
    let body = resp.json();
    let count = body
        .as_object()
        .and_then(|o| o.values().find_map(Value::as_array))
        .map_or(0, Vec::len);
    assert_eq!(count, 0, "\"{name}\" has bank connections: {body}");
}

#[then(regex = r#"^"([^"]+)" (can|cannot) see the web form$"#)]
async fn sees_form(world: &mut FinapiWorld, name: String, can: String) {
    let (_, id, _) = form(world);
    let resp = get_form(world, &name, &id).await;
    if can == "can" {
        assert_eq!(resp.status, 200, "\"{name}\" cannot see the web form");
    } else {
        assert_eq!(
            resp.status, 404,
            "\"{name}\" sees the web form (status {})",
            resp.status
        );
    }
    world.last = Some(resp);
}
