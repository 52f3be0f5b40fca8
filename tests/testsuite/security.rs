//! Security properties of the mock: secrets and tokens never reach the logs or the reports,
//! client secrets and passwords are compared with `subtle` (and a wrong value is rejected
//! wherever it differs), and `serve`'s request journal stays within its capacity.

use crate::common;

use std::io::Write;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use finapi_conformance::report::{self, Format};
use finapi_conformance::runner::{self, CheckConfig, Target};
use finapi_conformance::serve::Server;
use finapi_conformance::sim::Simulator;
use finapi_conformance::world::demo;
use finapi_conformance::{ApiVersion, Faults, World};
use serde_json::{json, Value};
use tracing_subscriber::layer::{Layer, SubscriberExt};

use common::{
    client_token, password_grant, post_json, refresh_grant, sim_grant, user_tokens, Grant, TempDir,
};

const V2: ApiVersion = ApiVersion::V2;

/// While a test holds a [`Capture`], everything any test in this binary logs, at TRACE level and
/// from every crate, goes to the shared buffer. Outside captures nothing is formatted, so the
/// rest of the suite does not pay for TRACE logging.
fn capture_logs() -> (Arc<Mutex<Vec<u8>>>, Capture) {
    static BUFFER: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    let buffer = BUFFER
        .get_or_init(|| {
            let buffer = Arc::new(Mutex::new(Vec::new()));
            let sink = buffer.clone();
            let layer = tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .with_writer(move || Sink(sink.clone()))
                .with_filter(tracing_subscriber::filter::filter_fn(|_| {
                    CAPTURING.load(Ordering::SeqCst) > 0
                }));
            let subscriber = tracing_subscriber::registry().with(layer);
            tracing::subscriber::set_global_default(subscriber).expect("first subscriber");
            buffer
        })
        .clone();
    CAPTURING.fetch_add(1, Ordering::SeqCst);
    (buffer, Capture)
}

static CAPTURING: AtomicUsize = AtomicUsize::new(0);

/// Logs are captured while one of these lives.
struct Capture;

impl Drop for Capture {
    fn drop(&mut self) {
        CAPTURING.fetch_sub(1, Ordering::SeqCst);
    }
}

struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn token_of(v: &Value, key: &str) -> String {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("no {key} in {v}"))
        .to_string()
}

/// A whole token lifecycle over `serve`: client and password grants, refresh, a password
/// change, a secret rotation and revocation. Returns every secret value it saw or sent.
async fn token_lifecycle(base: &str) -> Vec<String> {
    let mut secrets: Vec<String> = [demo::APP_CLIENT, demo::APP_CLIENT2, demo::ADMIN_CLIENT]
        .iter()
        .map(|c| c.1.to_string())
        .collect();
    let app = client_token(base, V2, demo::APP_CLIENT).await;
    let admin = client_token(base, V2, demo::ADMIN_CLIENT).await;
    secrets.extend([app.clone(), admin.clone()]);
    let user = "log-watcher";
    let password = "log-watcher-first-password";
    let r = post_json(
        base,
        "/api/v2/users",
        &app,
        &json!({ "id": user, "password": password }),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let r = common::call(
        base,
        reqwest::Method::POST,
        &format!("/api/v2/users/verify/{user}"),
        Some(&app),
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let (access, refresh) = user_tokens(base, V2, demo::APP_CLIENT, (user, password)).await;
    let r = refresh_grant(base, V2, demo::APP_CLIENT, &refresh).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let refreshed = token_of(&r.body, "access_token");
    // A failed login carries the password too.
    let wrong = "log-watcher-wrong-password";
    assert_eq!(
        password_grant(base, V2, demo::APP_CLIENT, (user, wrong))
            .await
            .status,
        400
    );
    let r = post_json(
        base,
        "/api/v2/users/requestPasswordChange",
        &app,
        &json!({ "userId": user }),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let change = token_of(&r.body, "passwordChangeToken");
    let new_password = "log-watcher-second-password";
    let r = post_json(
        base,
        "/api/v2/users/executePasswordChange",
        &app,
        &json!({ "userId": user, "password": new_password, "passwordChangeToken": change }),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let (access2, refresh2) = user_tokens(base, V2, demo::APP_CLIENT, (user, new_password)).await;
    let rotated = "rotated-secret-000000000000000000000";
    assert_eq!(rotated.len(), 36);
    let r = post_json(
        base,
        "/api/v2/mandatorAdmin/changeClientCredentials",
        &admin,
        &json!({ "clientId": demo::APP_CLIENT2.0, "oldClientSecret": demo::APP_CLIENT2.1, "newClientSecret": rotated }),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let app = client_token(base, V2, demo::APP_CLIENT).await;
    let r = common::post_form(
        base,
        "/api/v2/oauth/revoke",
        Some(&app),
        &[("token", &refresh2)],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    secrets.extend([
        password.to_string(),
        wrong.to_string(),
        new_password.to_string(),
        rotated.to_string(),
        access,
        refresh,
        refreshed,
        change,
        access2,
        refresh2,
        app,
    ]);
    secrets
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_and_tokens_never_appear_in_logs() {
    let (buffer, _capture) = capture_logs();
    let sim = Simulator::new(&World::demo());
    let server = Server::start(sim, SocketAddr::from(([127, 0, 0, 1], 0)), 100)
        .await
        .unwrap();
    let secrets = token_lifecycle(&server.uri()).await;
    server.shutdown().await.unwrap();
    let logs = String::from_utf8_lossy(&buffer.lock().unwrap()).into_owned();
    // The capture works and the simulator does log the lifecycle ...
    for event in [
        "simulator answered",
        "token requested",
        "token revoked",
        "password changed",
        "client secret rotated",
        "serve listening",
    ] {
        assert!(logs.contains(event), "no `{event}` event in the logs");
    }
    // ... without a single secret, password or token.
    for secret in &secrets {
        assert!(
            !logs.contains(secret.as_str()),
            "a secret of {} characters appears in the logs",
            secret.len()
        );
    }
}

/// Runs of 40+ hex digits: the shape of every token the mock issues.
fn has_token_shape(text: &str) -> bool {
    let mut run = 0;
    for c in text.chars() {
        if c.is_ascii_hexdigit() {
            run += 1;
            if run >= 40 {
                return true;
            }
        } else {
            run = 0;
        }
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_hold_no_secrets_or_tokens() {
    let (_, _capture) = capture_logs();
    let mut config = CheckConfig::new(
        Target::InProcess {
            faults: Faults::none(),
        },
        V2,
    );
    config.allow_mutations = true;
    let report = runner::run(&config).await.expect("a run");
    assert!(!report.results.is_empty());
    let mut secrets: Vec<&str> = vec![
        demo::APP_CLIENT.1,
        demo::APP_CLIENT2.1,
        demo::ADMIN_CLIENT.1,
        demo::OTHER_APP_CLIENT.1,
        demo::OTHER_ADMIN_CLIENT.1,
        demo::OTHER_USER.1,
    ];
    secrets.extend(demo::USERS.iter().map(|u| u.1));
    for format in [
        Format::Table,
        Format::Json,
        Format::Junit,
        Format::Markdown,
        Format::Html,
    ] {
        let text = report::render(&report, format, false);
        assert!(text.len() > 100, "{format:?} report is empty");
        for s in &secrets {
            assert!(!text.contains(s), "{format:?} report holds a secret");
        }
        assert!(
            !has_token_shape(&text),
            "{format:?} report holds something shaped like a token"
        );
    }
    // Committed snapshots (if any) hold no demo secret either.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/testsuite/snapshots");
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
        for s in &secrets {
            assert!(!text.contains(s), "{:?} holds a secret", entry.path());
        }
        assert!(!has_token_shape(&text), "{:?} holds a token", entry.path());
    }
}

#[test]
fn the_token_shape_detector_finds_tokens() {
    // The check above is only as good as this detector.
    let sim = Simulator::new(&World::demo());
    let r = sim_grant(&sim, ApiVersion::V2, Grant::Client(demo::APP_CLIENT));
    let token = token_of(&r.json(), "access_token");
    assert!(has_token_shape(&format!("report: {token}.")));
    assert!(!has_token_shape("request 2024-01-01 deadbeef"));
}

#[test]
fn secrets_and_passwords_are_compared_with_subtle() {
    // The comparison code: constant time over equal lengths, through `subtle`.
    let state = include_str!("../../src/sim/state/parties.rs");
    for f in ["fn secret_matches", "fn password_matches"] {
        let body = state
            .split(f)
            .nth(1)
            .unwrap_or_else(|| panic!("{f} is gone"));
        let body = &body[..body.find("\n    }").expect("end of fn")];
        assert!(body.contains("ct_eq"), "{f} does not use subtle's ct_eq");
        // Only the lengths may be compared directly.
        assert!(
            !body.replace(".len() ==", "").contains("=="),
            "{f} compares with == : {body}"
        );
    }
    // Every secret check goes through those two functions.
    for file in [
        include_str!("../../src/sim/ops/oauth.rs"),
        include_str!("../../src/sim/ops/mandator_admin.rs"),
        include_str!("../../src/sim/ops/users.rs"),
    ] {
        for bad in [".secret ==", "secret() ==", ".password ==", "== presented"] {
            assert!(
                !file.contains(bad),
                "a direct comparison `{bad}` in the handlers"
            );
        }
    }
}

/// The same value with its first or its last byte changed.
fn flipped(value: &str) -> [String; 2] {
    let flip = |c: u8| if c == b'x' { 'y' } else { 'x' };
    let b = value.as_bytes();
    [
        format!("{}{}", flip(b[0]), &value[1..]),
        format!("{}{}", &value[..value.len() - 1], flip(b[b.len() - 1])),
    ]
}

fn grant_call(sim: &Simulator, grant: Grant<'_>) -> (u16, Value) {
    let r = sim_grant(sim, ApiVersion::V2, grant);
    (r.status, r.json())
}

#[test]
fn wrong_secrets_of_the_right_length_are_rejected_wherever_they_differ() {
    let sim = Simulator::new(&World::demo());
    let (id, secret) = demo::APP_CLIENT;
    // Client secret at the token endpoint.
    for wrong in flipped(secret) {
        assert_eq!(wrong.len(), secret.len());
        let (status, body) = grant_call(&sim, Grant::Client((id, &wrong)));
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("invalid_client"))
        );
    }
    let (status, _) = grant_call(&sim, Grant::Client((id, secret)));
    assert_eq!(status, 200);
    // User password at the password grant (a good login in between resets the lockout count).
    let (user, password) = demo::USERS[0];
    let grant = |pw: &str| grant_call(&sim, Grant::Password((id, secret), (user, pw))).0;
    for wrong in flipped(password) {
        assert_eq!(grant(&wrong), 400, "a wrong password was accepted");
        assert_eq!(grant(password), 200);
    }
    // Old secret at the secret rotation.
    let admin = {
        let (_, body) = grant_call(&sim, Grant::Client(demo::ADMIN_CLIENT));
        format!("Bearer {}", token_of(&body, "access_token"))
    };
    let (id2, secret2) = demo::APP_CLIENT2;
    for wrong in flipped(secret2) {
        let body =
            json!({ "clientId": id2, "oldClientSecret": wrong, "newClientSecret": "n".repeat(36) });
        let r = sim.call(
            "POST",
            "/api/v2/mandatorAdmin/changeClientCredentials",
            &[
                ("authorization", &admin),
                ("content-type", "application/json"),
            ],
            body.to_string().as_bytes(),
        );
        assert_eq!(
            r.status,
            422,
            "rotation with a wrong old secret: {:?}",
            r.json()
        );
    }
    let (status, _) = grant_call(&sim, Grant::Client((id2, secret2)));
    assert_eq!(status, 200, "the secret was rotated by a wrong old secret");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_journal_holds_at_most_its_capacity() {
    let (_, _capture) = capture_logs();
    let capacity = 8;
    let server = Server::start(
        Simulator::new(&World::demo()),
        SocketAddr::from(([127, 0, 0, 1], 0)),
        capacity,
    )
    .await
    .unwrap();
    assert_eq!(server.journal().capacity(), capacity);
    let http = common::http();
    let total = 3 * capacity + 5;
    for i in 0..total {
        let r = http
            .get(format!(
                "{}/api/v2/nothing-{i}?token=query-secret-{i}",
                server.uri()
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
    }
    let entries = server.journal().entries();
    assert_eq!(entries.len(), capacity);
    // The most recent requests, oldest first, and no query string (it can carry tokens).
    for (k, e) in entries.iter().enumerate() {
        assert_eq!(e.path, format!("/api/v2/nothing-{}", total - capacity + k));
        assert_eq!((e.method.as_str(), e.status), ("GET", 404));
        assert!(!format!("{e:?}").contains("query-secret"));
    }
    server.shutdown().await.unwrap();
    // Capacity 0 keeps nothing.
    let server = Server::start(
        Simulator::new(&World::demo()),
        SocketAddr::from(([127, 0, 0, 1], 0)),
        0,
    )
    .await
    .unwrap();
    for _ in 0..5 {
        http.get(format!("{}/api/v2/banks", server.uri()))
            .send()
            .await
            .unwrap();
    }
    assert!(server.journal().entries().is_empty());
    server.shutdown().await.unwrap();
}

/// `--state`: the tokens a run keeps for later runs never reach a report or the logs, and the
/// expired token a later run presents from the file is not in its reports either.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_file_tokens_stay_out_of_reports_and_logs() {
    let (buffer, _capture) = capture_logs();
    let sim = Simulator::new(&World::demo());
    let server = Server::start(sim, SocketAddr::from(([127, 0, 0, 1], 0)), 100)
        .await
        .unwrap();
    let dir = TempDir::new("sec-state");
    let path = dir.join("state.json");
    let mut config = CheckConfig::new(
        Target::Remote {
            base_url: server.uri(),
        },
        V2,
    );
    config.limits = Some(runner::Limits::local());
    config.credentials = Some(runner::Credentials::demo());
    config.state_file = Some(path.clone());
    config.filters.only = vec!["Authorization".into(), "expired-token".into()];
    let first = runner::run(&config).await.expect("a run");
    let state = runner::TokenState::load(&path).unwrap();
    let tokens = state.secrets();
    assert!(!tokens.is_empty(), "the run kept its client tokens");
    // The same file again: the tokens are still valid, so none is used as expired, and the
    // reports of both runs hold none of them.
    let second = runner::run(&config).await.expect("a run");
    server.shutdown().await.unwrap();
    let logs = String::from_utf8_lossy(&buffer.lock().unwrap()).into_owned();
    for report in [&first, &second] {
        for format in [Format::Json, Format::Html, Format::Markdown, Format::Junit] {
            let text = report::render(report, format, false);
            for t in &tokens {
                assert!(
                    !text.contains(t.as_str()),
                    "{format:?} report holds a kept token"
                );
            }
        }
    }
    for t in &tokens {
        assert!(!logs.contains(t.as_str()), "the logs hold a kept token");
    }
}
