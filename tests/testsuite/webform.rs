//! Web Form 2.0 in the mock: an integrator's V2 flow end to end, completion three ways with
//! the same effects, expiry, paging, visibility between users, the documented errors and the
//! role boundaries (each break proven caught).

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::Duration;

use crate::common::*;
use finapi_conformance::model::{Mode, Verdict};
use finapi_conformance::runner::{self, CheckConfig, Target};
use finapi_conformance::serve::Server;
use finapi_conformance::world::demo;
use finapi_conformance::{ApiVersion, Faults, FinapiMock, Simulator, Violation, World};
use reqwest::Method;
use serde_json::{json, Value};

const V2: ApiVersion = ApiVersion::V2;

/// Where a `serve` front door listens.
struct Served {
    url: String,
}

/// A callback receiver on a loopback port (bound before the form names it): the first request
/// it gets, as (request line, body).
pub(crate) fn receiver() -> (String, std::thread::JoinHandle<(String, String)>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut raw = Vec::new();
        let mut buf = [0u8; 1024];
        loop {
            let n = stream.read(&mut buf).unwrap_or(0);
            raw.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&raw).to_string();
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let len = head
                    .lines()
                    .find_map(|l| l.strip_prefix("Content-Length: "))
                    .and_then(|n| n.trim().parse::<usize>().ok())
                    .unwrap_or(0);
                if body.len() >= len {
                    let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
                    return (head.lines().next().unwrap_or("").to_string(), body.into());
                }
            }
            if n == 0 {
                return (String::new(), String::new());
            }
        }
    });
    (format!("https://127.0.0.1:{port}/finapi/callback"), handle)
}

/// A fresh user of the demo mandator with a token, as an app signs one up.
async fn new_user(base: &str, id: &str) -> String {
    let app = client_token(base, V2, demo::APP_CLIENT).await;
    let r = post_json(
        base,
        "/api/v2/users",
        &app,
        &json!({ "id": id, "password": format!("{id}-password"), "email": format!("{id}@example.org") }),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let r = call(
        base,
        Method::POST,
        &format!("/api/v2/users/verify/{id}"),
        Some(&app),
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    user_token(base, V2, demo::APP_CLIENT, (id, &format!("{id}-password"))).await
}

async fn import_form(base: &str, token: &str, body: &Value) -> Value {
    let r = post_json(base, "/api/webForms/bankConnectionImport", token, body).await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.body
}

/// The accounts and bank connections a user sees in Access.
async fn access_data(base: &str, token: &str) -> (usize, usize, usize) {
    // Each list answer has one array (`connections`, `accounts`, `transactions`).
    let count = |v: &Value, _: &str| {
        v.as_object()
            .and_then(|o| o.values().find_map(Value::as_array))
            .map_or(0, Vec::len)
    };
    let c = get(base, "/api/v2/bankConnections", token).await;
    let a = get(base, "/api/v2/accounts", token).await;
    let t = get(base, "/api/v2/transactions?perPage=500", token).await;
    (
        count(&c.body, "bankConnections"),
        count(&a.body, "accounts"),
        count(&t.body, "transactions"),
    )
}

#[tokio::test]
async fn an_integrators_v2_flow_through_the_forms_page() {
    let mock = FinapiMock::start().await;
    let base = mock.uri();
    let token = new_user(&base, "wf-page-user").await;
    assert_eq!(access_data(&base, &token).await, (0, 0, 0));
    let (callback, received) = receiver();
    let form = import_form(
        &base,
        &token,
        &json!({ "bankConnectionName": "My test bank", "callbacks": { "finalised": callback } }),
    )
    .await;
    assert_eq!(form["status"], "NOT_YET_OPENED");
    assert_eq!(form["type"], "BANK_CONNECTION_IMPORT");
    let id = form["id"].as_str().unwrap().to_string();
    let url = form["url"].as_str().unwrap().to_string();
    assert!(url.starts_with(&base), "{url} is on the mock's address");

    // The page: opening it starts the form; a wrong PIN shows an error and ends nothing.
    let page = send(http().get(&url)).await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("finAPI Test Bank") && page.text.contains("<form"));
    assert!(!page.text.contains("<script"), "works without JavaScript");
    let r = get(&base, &format!("/api/webForms/{id}"), &token).await;
    assert_eq!(r.body["status"], "IN_PROGRESS");
    let wrong = send(
        http()
            .post(&url)
            .form(&[("username", "me"), ("pin", "000000")]),
    )
    .await;
    assert!(wrong.text.contains("id=\"error\""), "{}", wrong.text);
    assert_eq!(access_data(&base, &token).await, (0, 0, 0));

    let done =
        send(
            http()
                .post(&url)
                .form(&[("username", "me"), ("pin", "123456"), ("action", "login")]),
        )
        .await;
    assert!(done.text.contains("COMPLETED"), "{}", done.text);
    let r = get(&base, &format!("/api/webForms/{id}"), &token).await;
    assert_eq!(r.body["status"], "COMPLETED");
    let connection = r.body["payload"]["bankConnectionId"].as_u64().unwrap();
    let c = get(
        &base,
        &format!("/api/v2/bankConnections/{connection}"),
        &token,
    )
    .await;
    assert_eq!(c.status, 200, "{}", c.text);
    assert_eq!(c.body["name"], "My test bank");
    let (connections, accounts, transactions) = access_data(&base, &token).await;
    assert_eq!(connections, 1);
    assert!(accounts > 0 && transactions > 0);

    let (line, body) = received.join().unwrap();
    assert!(line.starts_with("POST /finapi/callback "), "{line}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body, json!({ "webFormId": id, "status": "COMPLETED" }));
    // The journal shows the Web Form calls with their caller.
    assert!(!mock.calls_to("createForBankConnectionImport").is_empty());
}

#[tokio::test]
async fn completion_from_rust_and_from_the_control_api_has_the_same_effects() {
    // From Rust.
    let mock = FinapiMock::start().await;
    let base = mock.uri();
    let token = new_user(&base, "wf-rust-user").await;
    let form = import_form(&base, &token, &json!({})).await;
    let done = mock
        .complete_web_form(form["id"].as_str().unwrap(), "COMPLETED")
        .unwrap();
    assert!(done["payload"]["bankConnectionId"].as_u64().is_some());
    let from_rust = access_data(&base, &token).await;
    assert_eq!(from_rust.0, 1);
    assert!(mock
        .complete_web_form(form["id"].as_str().unwrap(), "ABORTED")
        .is_err());

    // From the control API of `serve` (in-process, the same front door as the binary's).
    let server = Server::start(
        Simulator::new(&World::demo()),
        "127.0.0.1:0".parse().unwrap(),
        100,
    )
    .await
    .unwrap();
    let served = Served { url: server.uri() };
    let token = new_user(&served.url, "wf-rust-user").await;
    let form = import_form(&served.url, &token, &json!({})).await;
    let id = form["id"].as_str().unwrap();
    let r = post_json(
        &served.url,
        &format!("/__finapi/webForms/{id}"),
        "",
        &json!({ "status": "COMPLETED" }),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["status"], "COMPLETED");
    assert_eq!(access_data(&served.url, &token).await, from_rust);
    let again = post_json(
        &served.url,
        &format!("/__finapi/webForms/{id}"),
        "",
        &json!({ "status": "ABORTED" }),
    )
    .await;
    assert_eq!(again.status, 409);
    let bad = post_json(
        &served.url,
        &format!("/__finapi/webForms/{id}"),
        "",
        &json!({ "status": "DONE" }),
    )
    .await;
    assert_eq!(bad.status, 400);
}

#[tokio::test]
async fn aborted_and_expired_forms_create_nothing_and_payment_forms_create_their_order() {
    let mock = FinapiMock::start().await;
    let base = mock.uri();
    let token = new_user(&base, "wf-end-user").await;
    let aborted = import_form(&base, &token, &json!({})).await;
    mock.complete_web_form(aborted["id"].as_str().unwrap(), "ABORTED")
        .unwrap();
    mock.set_web_form_lifetime(Duration::from_secs(60));
    let expiring = import_form(&base, &token, &json!({})).await;
    assert!(expiring["expiresAt"].as_str().unwrap() > expiring["createdAt"].as_str().unwrap());
    mock.clock().advance(Duration::from_secs(61));
    let r = get(
        &base,
        &format!("/api/webForms/{}", expiring["id"].as_str().unwrap()),
        &token,
    )
    .await;
    assert_eq!(r.body["status"], "EXPIRED");
    let page = send(http().get(expiring["url"].as_str().unwrap())).await;
    assert!(page.text.contains("EXPIRED"));
    assert_eq!(access_data(&base, &token).await, (0, 0, 0));

    let order = json!({ "amount": { "value": 12.5, "currency": "EUR" }, "recipient": { "name": "Shop", "iban": "DE13700800000061110500" } });
    let r = post_json(
        &base,
        "/api/webForms/standalonePayment",
        &token,
        &json!({ "orders": [order] }),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["type"], "STANDALONE_PAYMENT");
    let done = mock
        .complete_web_form(r.body["id"].as_str().unwrap(), "COMPLETED")
        .unwrap();
    let payment = done["payload"]["paymentId"].as_u64().unwrap();
    let payments = get(&base, "/api/v2/payments", &token).await;
    assert!(
        payments.body["payments"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["id"] == payment),
        "{}",
        payments.text
    );
}

#[tokio::test]
async fn lists_are_paged_and_a_user_sees_only_their_own_forms() {
    for faults in [
        Faults::none(),
        Faults::none().with(Violation::OtherUsersWebFormVisible),
    ] {
        let broken = !faults.is_empty();
        let mock = FinapiMock::builder().faults(faults).start().await;
        let base = mock.uri();
        let alice = user_token(&base, V2, demo::APP_CLIENT, demo::USERS[0]).await;
        let bob = user_token(&base, V2, demo::APP_CLIENT, demo::USERS[1]).await;
        let mut ids = Vec::new();
        for _ in 0..3 {
            ids.push(import_form(&base, &alice, &json!({})).await["id"].clone());
        }
        let page = get(&base, "/api/webForms?page=2&perPage=2", &alice).await;
        assert_eq!(page.status, 200);
        assert_eq!(page.body["items"].as_array().unwrap().len(), 1);
        assert_eq!(page.body["paging"]["totalCount"], 3);
        assert_eq!(page.body["paging"]["pageCount"], 2);
        let theirs = get(
            &base,
            &format!("/api/webForms/{}", ids[0].as_str().unwrap()),
            &bob,
        )
        .await;
        let listed = get(&base, "/api/webForms", &bob).await;
        if broken {
            assert_eq!(theirs.status, 200, "the break shows alice's form to bob");
        } else {
            assert_eq!(theirs.status, 404, "{}", theirs.text);
            assert_eq!(theirs.body["code"], "NOT_FOUND");
            assert_eq!(listed.body["items"], json!([]));
        }
    }
}

#[tokio::test]
async fn bad_input_gets_web_form_errors() {
    let mock = FinapiMock::start().await;
    let base = mock.uri();
    let token = user_token(&base, V2, demo::APP_CLIENT, demo::USERS[0]).await;
    // 400 ValidationError naming the field.
    let r = post_json(&base, "/api/webForms/standingOrder", &token, &json!({})).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(r.body["timestamp"].is_string() && r.body["endpoint"].is_string());
    assert_eq!(r.body["errors"][0]["field"], "amount", "{}", r.text);
    let r = get(&base, "/api/webForms?perPage=501", &token).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["errors"][0]["field"], "perPage");
    // 404 NOT_FOUND.
    let r = get(
        &base,
        "/api/webForms/00000000-0000-4000-8000-000000000000",
        &token,
    )
    .await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (404, Some("NOT_FOUND"))
    );
    // 422: a bank the mock does not offer.
    let r = post_json(
        &base,
        "/api/webForms/bankConnectionImport",
        &token,
        &json!({ "bank": { "id": 1 } }),
    )
    .await;
    assert_eq!(r.status, 422);
    assert_eq!(r.body["code"], "BANK_NOT_SUPPORTED");
    // 401 without a token: Web Form's Error, not Access's.
    let r = call(&base, Method::GET, "/api/webForms", None, None).await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (401, Some("UNAUTHORIZED"))
    );
    // A garbage body is a 400, never a panic.
    let r = send(
        http()
            .post(format!("{base}/api/profiles"))
            .bearer_auth(client_token(&base, V2, demo::ADMIN_CLIENT).await)
            .header("content-type", "application/json")
            .body("{not json"),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text);
}

#[tokio::test]
async fn profiles_and_translations_belong_to_the_mandator_admin() {
    let mock = FinapiMock::start().await;
    let base = mock.uri();
    let admin = client_token(&base, V2, demo::ADMIN_CLIENT).await;
    let other_admin = client_token(&base, V2, demo::OTHER_ADMIN_CLIENT).await;
    let user = user_token(&base, V2, demo::APP_CLIENT, demo::USERS[0]).await;
    let app = client_token(&base, V2, demo::APP_CLIENT).await;
    let r = post_json(
        &base,
        "/api/profiles",
        &admin,
        &json!({ "label": "brand", "default": true }),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.body["id"].as_str().unwrap().to_string();
    let r = patch_json(
        &base,
        &format!("/api/profiles/{id}"),
        &admin,
        &json!({ "label": "new" }),
    )
    .await;
    assert_eq!((r.status, r.body["label"].as_str()), (201, Some("new")));
    assert_eq!(
        get(&base, &format!("/api/profiles/{id}"), &other_admin)
            .await
            .status,
        404
    );
    for token in [&user, &app] {
        let r = get(&base, "/api/profiles", token).await;
        assert_eq!(
            (r.status, r.body["code"].as_str()),
            (403, Some("FORBIDDEN"))
        );
    }
    // A user's forms may use the mandator's profile.
    let r = post_json(
        &base,
        "/api/webForms/bankConnectionImport",
        &user,
        &json!({ "profileId": id }),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let r = post_json(&base, "/api/translations", &admin, &json!({ "en": {} })).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(
        get(&base, "/api/translations", &admin).await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // The admin client creates no web forms.
    let r = post_json(
        &base,
        "/api/webForms/bankConnectionImport",
        &admin,
        &json!({}),
    )
    .await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (403, Some("FORBIDDEN"))
    );
    assert_eq!(
        delete(&base, &format!("/api/profiles/{id}"), &admin)
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn a_callback_to_another_host_is_refused_unless_allowed() {
    let mock = FinapiMock::start().await;
    let base = mock.uri();
    let token = user_token(&base, V2, demo::APP_CLIENT, demo::USERS[0]).await;
    let form = import_form(
        &base,
        &token,
        &json!({ "callbacks": { "finalised": "https://callbacks.example.org/x" } }),
    )
    .await;
    mock.complete_web_form(form["id"].as_str().unwrap(), "ABORTED")
        .unwrap();
    let sent = mock.web_form_callbacks();
    assert_eq!(sent.len(), 1);
    assert!(sent[0]
        .1
        .as_ref()
        .is_err_and(|e| e.contains("not loopback")));
}

/// The runner covers every Web Form operation for every principal: 0 violations on the
/// faithful mock, and each Web Form break is caught.
#[tokio::test]
async fn the_runner_judges_every_web_form_cell_and_catches_each_break() {
    let run = |faults: Faults| async move {
        let mut config = CheckConfig::new(Target::InProcess { faults }, V2);
        config.mode = Mode::Boundary;
        config.lifecycle = false;
        runner::run(&config).await.unwrap()
    };
    let webform_ops: Vec<String> = finapi_conformance::Catalogue::embedded()
        .operations(V2)
        .filter(|o| o.is_webform())
        .map(|o| o.id.clone())
        .collect();
    assert_eq!(webform_ops.len(), 21);
    let faithful = run(Faults::none()).await;
    let cells: Vec<_> = faithful
        .results
        .iter()
        .filter(|r| webform_ops.contains(&r.operation))
        .collect();
    assert!(cells.len() >= 21 * 8, "{} Web Form cells", cells.len());
    for r in &cells {
        assert!(
            matches!(r.verdict, Verdict::Pass),
            "{} as {}: {:?} {}",
            r.operation,
            r.principal,
            r.verdict,
            r.reason
        );
    }
    // The probes run concurrently: under the visibility break another user's delete may
    // remove the run user's form before the read, so either operation may be the one caught.
    for (violation, ops) in [
        (
            Violation::AdminCreatesWebForms,
            &["createForBankConnectionImport"][..],
        ),
        (Violation::UserEditsProfiles, &["editProfile"][..]),
        (
            Violation::OtherUsersWebFormVisible,
            &["getWebForm", "deleteWebForm"][..],
        ),
    ] {
        let report = run(Faults::none().with(violation)).await;
        let caught = report
            .results
            .iter()
            .any(|r| ops.contains(&r.operation.as_str()) && r.verdict == Verdict::Violation);
        let cells: Vec<_> = report
            .results
            .iter()
            .filter(|r| ops.contains(&r.operation.as_str()))
            .map(|r| {
                format!(
                    "{} {} {:?} {}",
                    r.operation, r.principal, r.verdict, r.reason
                )
            })
            .collect();
        assert!(caught, "{violation} is not caught on {ops:?}: {cells:#?}");
    }
}

#[test]
fn the_world_is_unchanged_by_web_form_state() {
    // A reset goes back to the world and keeps the Web Form settings.
    let sim = Simulator::new(&World::demo());
    sim.with_state(|s| s.webform.lifetime = Some(chrono::Duration::seconds(5)));
    sim.reset();
    assert_eq!(
        sim.with_state(|s| s.webform.lifetime()),
        chrono::Duration::seconds(5)
    );
}

/// The script finAPI's loader fetches (`@finapi/web-form`: `/finapi-webform2.js?t=..&token=..
/// &tagname=..`) defines the element under the given name, and the status it polls follows
/// the form to its end. (Not run in a browser here: see the report of issue 20.)
#[tokio::test]
async fn the_loader_script_and_the_status_it_polls_are_served() {
    let mock = FinapiMock::start().await;
    let base = mock.uri();
    let token = user_token(&base, V2, demo::APP_CLIENT, demo::USERS[0]).await;
    let form = import_form(&base, &token, &json!({})).await;
    let id = form["id"].as_str().unwrap();
    let script = send(http().get(format!(
        "{base}/finapi-webform2.js?t=1&token={id}&tagname=lw3x-abc123"
    )))
    .await;
    assert_eq!(script.status, 200);
    let ct = script.headers["content-type"].to_str().unwrap();
    assert!(ct.starts_with("application/javascript"), "{ct}");
    assert!(
        script.text.contains(r#"TAG = "lw3x-abc123""#),
        "{}",
        script.text
    );
    assert!(script.text.contains(&format!(r#"BASE = "{base}""#)));
    assert!(script.text.contains("customElements.define(TAG"));
    // A name that is no custom element name, or markup, is refused.
    for bad in [
        "tagname=Nope&token=1",
        "tagname=a-b%22%3Balert(1)&token=1",
        "token=1",
    ] {
        let r = send(http().get(format!("{base}/finapi-webform2.js?{bad}"))).await;
        assert_eq!(r.status, 400, "{bad}");
    }
    let status = |text: &str| text.to_string();
    let poll = format!("{base}/webForm/{id}/status.js?callback=cb_1");
    let before = send(http().get(&poll)).await;
    assert_eq!(
        status(&before.text),
        "cb_1({\"status\":\"NOT_YET_OPENED\"});\n"
    );
    mock.complete_web_form(id, "ABORTED").unwrap();
    let after = send(http().get(&poll)).await;
    assert_eq!(status(&after.text), "cb_1({\"status\":\"ABORTED\"});\n");
    let r = send(http().get(format!("{base}/webForm/{id}/status.js?callback=x(1)"))).await;
    assert_eq!(r.status, 400);
}
