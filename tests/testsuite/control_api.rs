//! `serve`'s control API from outside Rust: the binary in its own process, driven with `curl`
//! as a test suite in another language would drive it. Skipped (with a message) where curl is
//! missing.

use std::io::Write;
use std::process::{Command, Stdio};

use finapi_conformance::world::demo;
use finapi_conformance::ApiVersion::V2;
use serde_json::Value;

use crate::common;

use common::served::{Served, BIN};
use common::{token_path, Grant};

fn have_curl() -> bool {
    let ok = Command::new("curl")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("SKIPPED: curl is not installed; the control API test drives serve with curl");
    }
    ok
}

/// One curl request: (status, body as JSON or `Value::String` of the raw text).
fn curl(method: &str, url: &str, headers: &[&str], body: Option<&str>) -> (u16, Value) {
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "-X", method, "-w", "\n%{http_code}"]);
    for h in headers {
        cmd.args(["-H", h]);
    }
    if body.is_some() {
        cmd.args(["--data-binary", "@-"]);
    }
    let mut child = cmd
        .arg(url)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("curl runs");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(body.unwrap_or("").as_bytes()).unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "curl failed: {out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    let (body, status) = text.rsplit_once('\n').unwrap();
    let value = serde_json::from_str(body).unwrap_or_else(|_| Value::String(body.to_string()));
    (status.trim().parse().unwrap(), value)
}

const JSON: &str = "Content-Type: application/json";
const FORM: &str = "Content-Type: application/x-www-form-urlencoded";

/// A grant with curl, its parameters in a form body.
fn curl_grant(base: &str, grant: Grant<'_>) -> (u16, Value) {
    let url = format!("{base}{}", token_path(V2));
    curl("POST", &url, &[FORM], Some(&grant.form()))
}

fn client_token(base: &str, client: (&str, &str)) -> String {
    let (status, body) = curl_grant(base, Grant::Client(client));
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_string()
}

fn user_token(base: &str, client: (&str, &str), user: (&str, &str)) -> String {
    let (status, body) = curl_grant(base, Grant::Password(client, user));
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_string()
}

fn bearer(token: &str) -> String {
    format!("Authorization: Bearer {token}")
}

fn create_zoe(base: &str, app: &str) -> u16 {
    curl(
        "POST",
        &format!("{base}/api/v2/users"),
        &[JSON, &bearer(app)],
        Some(r#"{"id":"zoe","password":"zoe-password-1"}"#),
    )
    .0
}

#[test]
fn journal_reset_faults_clock_and_world_over_http() {
    if !have_curl() {
        return;
    }
    let served = Served::start(&[]);
    let base = served.url.as_str();
    let control = |path: &str| format!("{base}/__finapi/{path}");
    assert_eq!(curl("GET", &control("health"), &[], None).0, 200);

    // createUser with an app client, and the journal entry that names it.
    let app = client_token(base, demo::APP_CLIENT);
    assert_eq!(create_zoe(base, &app), 201);
    let (status, journal) = curl(
        "GET",
        &control("journal?operation=createUser&caller_kind=app_client"),
        &[],
        None,
    );
    assert_eq!(status, 200, "{journal}");
    let entries = journal.as_array().unwrap();
    assert_eq!(entries.len(), 1, "{journal}");
    assert_eq!(entries[0]["operation"], "createUser");
    assert_eq!(entries[0]["status"], 201);
    assert_eq!(entries[0]["caller"]["kind"], "app_client");
    assert_eq!(entries[0]["caller"]["client_id"], demo::APP_CLIENT.0);
    assert_eq!(entries[0]["refused_by"], Value::Null);
    let all = curl("GET", &control("journal"), &[], None).1.to_string();
    assert!(
        !all.contains(&app) && !all.contains(demo::APP_CLIENT.1),
        "secret in journal"
    );
    // Nobody else created users.
    let others = curl(
        "GET",
        &control("journal?operation=createUser&caller_kind=user"),
        &[],
        None,
    )
    .1;
    assert_eq!(others, Value::Array(vec![]));

    // Reset: tokens and users forgotten, so the same user can be created again.
    let (status, summary) = curl("POST", &control("reset"), &[], None);
    assert_eq!(status, 200, "{summary}");
    assert_eq!(
        curl("GET", &control("journal"), &[], None).1,
        Value::Array(vec![])
    );
    let (status, _) = curl(
        "GET",
        &format!("{base}/api/v2/clientConfiguration"),
        &[&bearer(&app)],
        None,
    );
    assert_eq!(status, 401, "a token from before the reset still works");
    let app = client_token(base, demo::APP_CLIENT);
    assert_eq!(create_zoe(base, &app), 201);

    // A break switched on while serving opens the boundary; switched off, it closes again.
    let user_list = format!("{base}/api/v2/mandatorAdmin/getUserList");
    assert_eq!(curl("GET", &user_list, &[&bearer(&app)], None).0, 403);
    let (status, faults) = curl(
        "POST",
        &control("faults"),
        &[JSON],
        Some(r#"{"on":["app-client-lists-users"]}"#),
    );
    assert_eq!(
        (status, faults["faults"][0].as_str()),
        (200, Some("app-client-lists-users"))
    );
    assert_eq!(curl("GET", &user_list, &[&bearer(&app)], None).0, 200);
    curl(
        "POST",
        &control("faults"),
        &[JSON],
        Some(r#"{"off":["app-client-lists-users"]}"#),
    );
    assert_eq!(curl("GET", &user_list, &[&bearer(&app)], None).0, 403);
    let denied = curl(
        "GET",
        &control("journal?operation=getUserList&status=403"),
        &[],
        None,
    )
    .1;
    assert_eq!(denied.as_array().unwrap().len(), 2);
    assert_eq!(denied[0]["refused_by"], "intruder-app-client");

    // The clock moves past the user token's validity (an hour in the demo world).
    let user = user_token(base, demo::APP_CLIENT, demo::USERS[0]);
    let accounts = format!("{base}/api/v2/accounts");
    assert_eq!(curl("GET", &accounts, &[&bearer(&user)], None).0, 200);
    let (status, clock) = curl(
        "POST",
        &control("clock"),
        &[JSON],
        Some(r#"{"advance_seconds":3601}"#),
    );
    assert_eq!(
        (status, clock["advanced_seconds"].as_i64()),
        (200, Some(3601))
    );
    assert_eq!(curl("GET", &accounts, &[&bearer(&user)], None).0, 401);
    let expired = curl(
        "GET",
        &control("journal?operation=getAndSearchAllAccounts&status=401"),
        &[],
        None,
    )
    .1;
    assert_eq!(expired[0]["refused_by"], "token-expiry", "{expired}");

    // A world of its own, as TOML (by Content-Type) and then as JSON (sniffed).
    let toml_world = r#"
[[mandators]]
id = "acme"
[[mandators.app_clients]]
id = "acme-web"
secret = "acme-web-secret-0000000000000000000"
[mandators.admin_client]
id = "acme-admin"
secret = "acme-admin-secret-00000000000000000"
"#;
    let (status, summary) = curl(
        "POST",
        &control("world"),
        &["Content-Type: application/toml"],
        Some(toml_world),
    );
    assert_eq!(status, 200, "{summary}");
    assert_eq!(summary["mandators"][0], "acme");
    client_token(base, ("acme-web", "acme-web-secret-0000000000000000000"));
    let (status, _) = curl_grant(base, Grant::Client(demo::APP_CLIENT));
    assert_ne!(
        status, 200,
        "the demo world's client survived the new world"
    );
    let json_world = r#"{"mandators":[{"id":"beta","app_clients":[{"id":"beta-app","secret":"beta-app-secret-0000000000000000000"}],"admin_client":{"id":"beta-admin","secret":"beta-admin-secret-00000000000000000"}}]}"#;
    let (status, summary) = curl("POST", &control("world"), &[], Some(json_world));
    assert_eq!(
        (status, summary["mandators"][0].as_str()),
        (200, Some("beta")),
        "{summary}"
    );
    client_token(base, ("beta-app", "beta-app-secret-0000000000000000000"));
    // Reset goes back to the world last loaded.
    curl("POST", &control("reset"), &[], None);
    client_token(base, ("beta-app", "beta-app-secret-0000000000000000000"));
}

#[test]
fn control_errors_are_json_with_a_clear_message() {
    if !have_curl() {
        return;
    }
    let served = Served::start(&[]);
    let control = |path: &str| format!("{}/__finapi/{path}", served.url);
    let cases: [(&str, &str, Option<&str>, u16, &str); 7] = [
        (
            "POST",
            "faults",
            Some(r#"{"on":["no-such-break"]}"#),
            400,
            "unknown violation `no-such-break`",
        ),
        ("POST", "faults", Some("not json"), 400, "not the JSON"),
        (
            "POST",
            "clock",
            Some(r#"{"advance_seconds":-5}"#),
            400,
            "advance_seconds",
        ),
        (
            "POST",
            "world",
            Some("[[mandators]]\nid = \"x\"\n"),
            400,
            "world",
        ),
        (
            "GET",
            "journal?caller_kind=robot",
            None,
            400,
            "unknown caller kind `robot`",
        ),
        ("GET", "nothing-here", None, 404, "no control endpoint"),
        ("GET", "reset", None, 405, "use POST"),
    ];
    for (method, path, body, status, needle) in cases {
        let (got, value) = curl(method, &control(path), &[JSON], body);
        let message = value["error"]
            .as_str()
            .unwrap_or_else(|| panic!("{method} {path}: {value}"));
        assert_eq!(got, status, "{method} {path}: {message}");
        assert!(
            message.contains(needle),
            "{method} {path}: `{message}` lacks `{needle}`"
        );
    }
}

#[test]
fn a_control_token_guards_everything_but_health() {
    if !have_curl() {
        return;
    }
    let token = "control-token-for-the-test-1234";
    let served = Served::start(&["--control-token", token]);
    let journal = format!("{}/__finapi/journal", served.url);
    let (status, value) = curl("GET", &journal, &[], None);
    assert_eq!(status, 401);
    assert!(value["error"].as_str().unwrap().contains("control token"));
    assert_eq!(
        curl(
            "GET",
            &journal,
            &["Authorization: Bearer wrong-token"],
            None
        )
        .0,
        401
    );
    assert_eq!(curl("GET", &journal, &[&bearer(token)], None).0, 200);
    assert_eq!(
        curl(
            "GET",
            &journal,
            &[&format!("X-Finapi-Control-Token: {token}")],
            None
        )
        .0,
        200
    );
    assert_eq!(
        curl("GET", &format!("{}/__finapi/health", served.url), &[], None).0,
        200
    );
}

#[test]
fn without_the_control_api_the_prefix_is_finapis_404() {
    if !have_curl() {
        return;
    }
    let served = Served::start(&["--no-control"]);
    let (status, value) = curl("POST", &format!("{}/__finapi/reset", served.url), &[], None);
    assert_eq!(status, 404);
    assert_eq!(value["errors"][0]["code"], "UNKNOWN_ENTITY", "{value}");
}

#[test]
fn beyond_loopback_an_open_control_api_is_refused_at_start() {
    // Refused before binding anything. The address is a documentation address (TEST-NET-1)
    // no interface has: even a serve that failed to refuse could not listen on it.
    let out = Command::new(BIN)
        .args(["serve", "--addr", "192.0.2.1:0"])
        .env_remove("FINAPI_CONTROL_TOKEN")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("--control-token"), "{stderr}");
}
