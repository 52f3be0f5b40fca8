//! finAPI's own web form loader (the npm package `@finapi/web-form`) against the mock, in a
//! headless Chromium: an app's page on another origin embeds a Web Form 2.0 form with
//! `FinApiWebForm.load(el, {token: <web form id>, targetUrl: <the mock>})`; the form loads
//! (`loaded`), and reaches its final status by the form's own submit or by the control API,
//! and the loader fires `complete`, `fail` or `abort` within two seconds.
//!
//! Needs `chromium` and `chromedriver` (as the HTML report test) and the npm package, which
//! `.ci/run` installs: `npm install --prefix target/npm @finapi/web-form@2.48.0` (or point
//! `FINAPI_WEBFORM_LOADER` at its `dist/web-form.min.js`). Without them the test is skipped
//! with a note, and fails under `CI=true`.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};
use finapi_conformance::serve::Server;
use finapi_conformance::world::demo;
use finapi_conformance::{Simulator, World};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::common::{self, browser};

const V2: finapi_conformance::ApiVersion = finapi_conformance::ApiVersion::V2;

/// The loader bundle of the npm package, or why there is none.
fn loader() -> Result<PathBuf, String> {
    let path = std::env::var_os("FINAPI_WEBFORM_LOADER")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("target/npm/node_modules/@finapi/web-form/dist/web-form.min.js")
        });
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!(
            "{} is missing (npm install --prefix target/npm @finapi/web-form@2.48.0)",
            path.display()
        ))
    }
}

/// The app's page: it embeds the form named by `?token=` from the mock named by `?target=`,
/// and notes the loader's events in `window.events`.
const PAGE: &str = r#"<!doctype html>
<html><head><meta charset="utf-8"><title>an app</title></head>
<body>
<h1>My app</h1>
<div id="web-form"></div>
<script src="/web-form.min.js"></script>
<script>
  window.events = [];
  var q = new URLSearchParams(location.search);
  FinApiWebForm.load(document.getElementById("web-form"),
    { token: q.get("token"), targetUrl: q.get("target") },
    {
      onLoaded: function () { window.events.push("loaded"); },
      onComplete: function () { window.events.push("complete"); },
      onFail: function () { window.events.push("fail"); },
      onAbort: function () { window.events.push("abort"); }
    });
</script>
</body></html>
"#;

/// The app's own web server, on an origin of its own: the page and the npm loader bundle.
async fn app_server(loader: Vec<u8>) -> (String, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let task = tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let loader = loader.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
                    match conn.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let line = String::from_utf8_lossy(&head);
                let path = line.split_whitespace().nth(1).unwrap_or("/");
                let (kind, body): (&str, &[u8]) = if path.starts_with("/web-form.min.js") {
                    ("text/javascript", &loader)
                } else {
                    ("text/html; charset=utf-8", PAGE.as_bytes())
                };
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: {kind}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = conn.write_all(head.as_bytes()).await;
                let _ = conn.write_all(body).await;
                let _ = conn.shutdown().await;
            });
        }
    });
    (url, task)
}

/// A fresh verified user of the demo mandator and their token.
async fn user_token(base: &str, id: &str) -> String {
    let app = common::client_token(base, V2, demo::APP_CLIENT).await;
    let password = format!("{id}-password");
    let r = common::post_json(
        base,
        "/api/v2/users",
        &app,
        &json!({ "id": id, "password": password, "email": format!("{id}@example.org") }),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let verify = format!("/api/v2/users/verify/{id}");
    let r = common::call(base, reqwest::Method::POST, &verify, Some(&app), None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    common::user_token(base, V2, demo::APP_CLIENT, (id, &password)).await
}

async fn new_form(base: &str, token: &str) -> String {
    new_form_with(base, token, &json!({})).await
}

async fn new_form_with(base: &str, token: &str, body: &Value) -> String {
    let r = common::post_json(base, "/api/webForms/bankConnectionImport", token, body).await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.body["id"].as_str().expect("a web form id").to_string()
}

/// The loader's events so far.
async fn events(client: &Client) -> Vec<String> {
    let value = client
        .execute("return (window.events || []).join(',')", vec![])
        .await
        .unwrap_or(Value::Null);
    value
        .as_str()
        .unwrap_or_default()
        .split(',')
        .filter(|e| !e.is_empty())
        .map(str::to_string)
        .collect()
}

/// Waits (bounded) until the loader has fired `event`; how long it took.
async fn fired(client: &Client, event: &str, within: Duration) -> Duration {
    let started = Instant::now();
    loop {
        if events(client).await.iter().any(|e| e == event) {
            return started.elapsed();
        }
        if started.elapsed() >= within {
            let page = client
                .execute("return document.documentElement.outerHTML", vec![])
                .await
                .unwrap_or(Value::Null);
            panic!(
                "no `{event}` within {within:?}; events: {:?}; the page: {}",
                events(client).await,
                page.as_str().unwrap_or_default()
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn end_by_control_api(base: &str, id: &str, status: &str) {
    let r = crate::common::http()
        .post(format!("{base}/__finapi/webForms/{id}"))
        .json(&json!({ "status": status }))
        .send()
        .await
        .expect("the control API answers");
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finapis_npm_loader_embeds_the_form_and_hears_how_it_ends() {
    let found = browser::find().and_then(|b| loader().map(|l| (b, l)));
    let Some(((chromium, driver), loader)) = browser::or_skip(
        "finapis_npm_loader_embeds_the_form_and_hears_how_it_ends",
        found,
    ) else {
        return;
    };
    let server = Server::start(
        Simulator::new(&World::demo()),
        "127.0.0.1:0".parse().unwrap(),
        100,
    )
    .await
    .expect("serve starts");
    let mock = server.uri();
    let (app, app_task) = app_server(std::fs::read(&loader).expect("the loader bundle")).await;
    assert_ne!(app, mock, "the app's page is on another origin");
    let token = user_token(&mock, "wf-browser-user").await;
    let (mut driver_process, client) = browser::session(&chromium, &driver).await;

    let outcome = async {
        // The loader accepts `localhost` (not 127.0.0.1) or finAPI's domains as its target.
        let target = mock.replace("127.0.0.1", "localhost");
        let open = |id: &str| format!("{app}/?token={id}&target={target}");

        // 1. Completed from outside (the control API): `complete` within two seconds.
        let id = new_form(&mock, &token).await;
        client.goto(&open(&id)).await.unwrap();
        fired(&client, "loaded", Duration::from_secs(15)).await;
        end_by_control_api(&mock, &id, "COMPLETED").await;
        let took = fired(&client, "complete", Duration::from_secs(2)).await;
        eprintln!("complete after the control API: {took:?}");

        // 2. The person logs in to the test bank inside the embedded form: a wrong PIN shows
        //    an error, the right one completes the form, and the app's callback hears of it.
        let (callback, received) = crate::webform::receiver();
        let body = json!({ "callbacks": { "finalised": callback } });
        let id = new_form_with(&mock, &token, &body).await;
        client.goto(&open(&id)).await.unwrap();
        fired(&client, "loaded", Duration::from_secs(15)).await;
        client.enter_frame(0).await.expect("the form's frame");
        let login = |pin: &'static str| {
            let client = client.clone();
            async move {
                let form = client
                    .form(Locator::Css("form"))
                    .await
                    .expect("the login form");
                form.set_by_name("username", "wf-browser-user")
                    .await
                    .unwrap();
                form.set_by_name("pin", pin).await.unwrap();
                client
                    .find(Locator::Css("button[value=login]"))
                    .await
                    .unwrap()
                    .click()
                    .await
                    .unwrap();
            }
        };
        login("000000").await;
        // The frame loads the answer to the login; wait for it (bounded).
        let error = client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Id("error"))
            .await
            .expect("an error");
        assert!(error.text().await.unwrap().contains("wrong user id or PIN"));
        login("123456").await;
        client.enter_parent_frame().await.unwrap();
        fired(&client, "complete", Duration::from_secs(2)).await;
        let (line, sent) = tokio::task::spawn_blocking(move || received.join().unwrap())
            .await
            .unwrap();
        assert!(line.starts_with("POST /finapi/callback"), "{line}");
        let sent: Value = serde_json::from_str(&sent).expect("a JSON callback");
        assert_eq!(sent, json!({ "webFormId": id, "status": "COMPLETED" }));

        // 3. Aborted and failed from outside: `abort` and `fail`.
        for (status, event) in [("ABORTED", "abort"), ("COMPLETED_WITH_ERROR", "fail")] {
            let id = new_form(&mock, &token).await;
            client.goto(&open(&id)).await.unwrap();
            fired(&client, "loaded", Duration::from_secs(15)).await;
            end_by_control_api(&mock, &id, status).await;
            fired(&client, event, Duration::from_secs(2)).await;
            assert!(!events(&client).await.iter().any(|e| e == "complete"));
        }

        // The two completed imports are in Access, for this user.
        let connections = common::get(&mock, "/api/v2/bankConnections", &token).await;
        let listed = connections.body["connections"]
            .as_array()
            .map_or(0, Vec::len);
        assert_eq!(listed, 2, "{}", connections.text);
    };
    // Close the browser whatever happened, then report.
    let result = futures::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(outcome)).await;
    let _ = client.close().await;
    let _ = driver_process.kill().await;
    app_task.abort();
    server.shutdown().await.expect("shutdown");
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}
