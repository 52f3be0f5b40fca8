//! `proxy --record DIR` in front of faithful `serve`: an integrator's app (client tokens, a user
//! created and logged in through both app clients, its client configuration, a bank import
//! through Web Form 2.0, reads of accounts and transactions, a refresh, a revoke) runs through
//! the proxy once. Then: the
//! recorded world serves the app's read flow with the same ids, amounts and relations to the
//! recorded users logging in with their own passwords; the recorded feature file passes on
//! that world and fails under each break it covers, under its rule; no file holds a secret of
//! the session; recording twice gives the same files.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use finapi_conformance::gherkin::{run_suite, SuiteOptions};
use finapi_conformance::proxy::{Proxy, ProxyConfig, ReplayMode};
use finapi_conformance::runner::Credentials;
use finapi_conformance::runner::Limits;
use finapi_conformance::world::{demo, World};
use finapi_conformance::Faults;
use finapi_conformance::Violation;
use serde_json::{json, Value};

use crate::common::served::{Served, BIN};
use crate::common::TempDir;

/// The user the app creates, and the demo user it also serves.
const ANNA: (&str, &str) = ("rec-anna", "rec-anna-password-1");
const ALICE: (&str, &str) = demo::USERS[0];

/// The app, in plain HTTP.
struct App {
    base: String,
    http: reqwest::Client,
    /// Every secret the app sent or got: client secrets, passwords, tokens.
    secrets: BTreeSet<String>,
}

/// What the app's reads showed of one user's data: accounts (id -> connection, balance) and
/// transactions (id -> account, amount, category id).
#[derive(Debug, Default, PartialEq)]
struct Reads {
    accounts: BTreeMap<u64, (u64, String)>,
    transactions: BTreeMap<u64, (u64, String, Option<u64>)>,
}

impl App {
    fn new(base: &str) -> App {
        App {
            base: base.to_string(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            secrets: BTreeSet::new(),
        }
    }

    async fn send(
        &mut self,
        method: reqwest::Method,
        url: &str,
        bearer: Option<&str>,
        form: Option<&[(&str, &str)]>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let url = if url.starts_with("http") {
            url.to_string()
        } else {
            format!("{}{url}", self.base)
        };
        let mut req = self.http.request(method, url);
        if let Some(t) = bearer {
            req = req.bearer_auth(t);
        }
        if let Some(f) = form {
            req = req.form(f);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.expect("the request is answered");
        let status = r.status().as_u16();
        let body: Value = r.json().await.unwrap_or(Value::Null);
        for k in ["access_token", "refresh_token"] {
            if let Some(t) = body[k].as_str() {
                self.secrets.insert(t.to_string());
            }
        }
        (status, body)
    }

    async fn grant(&mut self, pairs: &[(&str, &str)]) -> Value {
        for (k, v) in pairs {
            if ["client_secret", "password", "refresh_token"].contains(k) {
                self.secrets.insert(v.to_string());
            }
        }
        let (status, body) = self
            .send(
                reqwest::Method::POST,
                "/api/v2/oauth/token",
                None,
                Some(pairs),
                None,
            )
            .await;
        assert_eq!(status, 200, "{pairs:?}: {body}");
        body
    }

    async fn client(&mut self, (id, secret): (&str, &str)) -> String {
        let pairs = [
            ("grant_type", "client_credentials"),
            ("client_id", id),
            ("client_secret", secret),
        ];
        self.grant(&pairs).await["access_token"]
            .as_str()
            .unwrap()
            .to_string()
    }

    async fn login(&mut self, (id, secret): (&str, &str), (user, pw): (&str, &str)) -> Value {
        let pairs = [
            ("grant_type", "password"),
            ("client_id", id),
            ("client_secret", secret),
            ("username", user),
            ("password", pw),
        ];
        self.grant(&pairs).await
    }

    async fn get(&mut self, path: &str, token: &str) -> Value {
        let (status, body) = self
            .send(reqwest::Method::GET, path, Some(token), None, None)
            .await;
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    /// The read flow: connections, accounts, one account, transactions.
    async fn reads(&mut self, token: &str) -> Reads {
        self.get("/api/v2/bankConnections", token).await;
        let accounts = self.get("/api/v2/accounts", token).await;
        let mut out = Reads::default();
        for a in accounts["accounts"].as_array().into_iter().flatten() {
            out.accounts.insert(
                a["id"].as_u64().unwrap(),
                (
                    a["bankConnectionId"].as_u64().unwrap(),
                    a["balance"].to_string(),
                ),
            );
        }
        if let Some(first) = out.accounts.keys().next() {
            self.get(&format!("/api/v2/accounts/{first}"), token).await;
        }
        let transactions = self
            .get("/api/v2/transactions?view=userView&perPage=500", token)
            .await;
        for t in transactions["transactions"]
            .as_array()
            .into_iter()
            .flatten()
        {
            out.transactions.insert(
                t["id"].as_u64().unwrap(),
                (
                    t["accountId"].as_u64().unwrap(),
                    t["amount"].to_string(),
                    t["category"]["id"].as_u64(),
                ),
            );
        }
        out
    }

    /// The whole session; returns Anna's and Alice's reads.
    async fn session(&mut self) -> (Reads, Reads) {
        use reqwest::Method;
        let app = self.client(demo::APP_CLIENT).await;
        let _app2 = self.client(demo::APP_CLIENT2).await;
        let admin = self.client(demo::ADMIN_CLIENT).await;
        self.secrets.insert(ANNA.1.to_string());
        let body = json!({ "id": ANNA.0, "password": ANNA.1, "email": "anna.muster@example.org" });
        let (status, _) = self
            .send(Method::POST, "/api/v2/users", Some(&app), None, Some(body))
            .await;
        assert_eq!(status, 201);
        let verify = format!("/api/v2/users/verify/{}", ANNA.0);
        let (status, _) = self
            .send(Method::POST, &verify, Some(&app), None, None)
            .await;
        assert_eq!(status, 200);
        let via1 = self.login(demo::APP_CLIENT, ANNA).await;
        let anna = via1["access_token"].as_str().unwrap().to_string();
        let refresh = via1["refresh_token"].as_str().unwrap().to_string();
        let via2 = self.login(demo::APP_CLIENT2, ANNA).await;
        let anna2 = via2["access_token"].as_str().unwrap().to_string();
        // The app's own reads as a client: its configuration, the user's verification.
        self.get("/api/v2/clientConfiguration", &app).await;
        let status = format!("/api/v2/users/verificationStatus?userId={}", ANNA.0);
        self.get(&status, &app).await;
        // A bank import through Web Form 2.0: the form, its page, the result.
        let (status, form) = self
            .send(
                Method::POST,
                "/api/webForms/bankConnectionImport",
                Some(&anna),
                None,
                Some(json!({})),
            )
            .await;
        assert_eq!(status, 201, "{form}");
        let page = form["url"].as_str().unwrap().to_string();
        let (status, _) = self
            .send(
                Method::POST,
                &page,
                None,
                Some(&[
                    ("username", "anna-at-the-bank"),
                    ("pin", "123456"),
                    ("action", "login"),
                ]),
                None,
            )
            .await;
        assert!(status < 400, "the web form's page: {status}");
        let id = form["id"].as_str().unwrap();
        let done = self.get(&format!("/api/webForms/{id}"), &anna).await;
        assert_eq!(done["status"], "COMPLETED", "{done}");
        let anna_reads = self.reads(&anna).await;
        assert!(!anna_reads.transactions.is_empty());
        self.get("/api/v2/users", &anna).await;
        // Alice, a user of the mandator from before, reads hers.
        let alice_token = self.login(demo::APP_CLIENT, ALICE).await["access_token"]
            .as_str()
            .unwrap()
            .to_string();
        let alice_reads = self.reads(&alice_token).await;
        self.get("/api/v2/mandatorAdmin/getUserList", &admin).await;
        // A refresh, then app client 2 revokes Anna's token of it.
        let pairs = [
            ("grant_type", "refresh_token"),
            ("client_id", demo::APP_CLIENT.0),
            ("client_secret", demo::APP_CLIENT.1),
            ("refresh_token", refresh.as_str()),
        ];
        let refreshed = self.grant(&pairs).await["access_token"]
            .as_str()
            .unwrap()
            .to_string();
        let app2 = self.client(demo::APP_CLIENT2).await;
        let (status, _) = self
            .send(
                Method::POST,
                "/api/v2/oauth/revoke",
                Some(&app2),
                Some(&[("token", &anna2), ("token_type_hint", "access_token")]),
                None,
            )
            .await;
        assert_eq!(status, 200);
        self.get("/api/v2/accounts", &refreshed).await;
        (anna_reads, alice_reads)
    }
}

/// The demo credentials, the other mandator's included.
fn proxy_config(upstream: &str, dir: &Path) -> ProxyConfig {
    let mut c = ProxyConfig::new(upstream, Credentials::demo());
    c.replay = ReplayMode::Reads;
    c.limits = Limits::local();
    c.record = Some(dir.to_path_buf());
    c
}

/// One recorded session into `dir`: the app's reads and every secret it carried.
async fn record(dir: &Path) -> (Reads, Reads, BTreeSet<String>) {
    let served = Served::start(&[]);
    let proxy = Proxy::start(proxy_config(&served.url, dir)).await.unwrap();
    let mut app = App::new(&proxy.uri());
    let (anna, alice) = app.session().await;
    let report = proxy.finish().await;
    let recorded = report
        .recorded
        .clone()
        .expect("a recording")
        .expect("written");
    println!("{}", recorded.summary_line());
    assert_eq!(report.exit_code(), 0, "{}", report.summary_line());
    let mut secrets = app.secrets;
    for (_, s) in [
        demo::APP_CLIENT,
        demo::APP_CLIENT2,
        demo::ADMIN_CLIENT,
        demo::OTHER_APP_CLIENT,
    ] {
        secrets.insert(s.to_string());
    }
    secrets.insert(ALICE.1.to_string());
    (anna, alice, secrets)
}

fn files(dir: &Path) -> BTreeMap<String, String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&p).unwrap())
        })
        .collect()
}

/// `features DIR` on the recorded world, in-process, with `faults`.
async fn features(dir: &Path, faults: Faults) -> finapi_conformance::gherkin::SuiteOutcome {
    let mut opts = SuiteOptions::mock(dir);
    opts.world = Some(World::from_file(dir.join("world.toml")).unwrap());
    opts.faults = faults;
    run_suite(opts).await
}

/// Each break the recorded facts cover, and the rule of a scenario that catches it: every break
/// this session's traffic shows through the proxy, and one it does not (the replays of a web
/// form as the admin find it absent), which the facts' own probes catch. `forbidden-as-401` is
/// not among them: in boundary mode a 401 for a wrong role counts as a refusal, as `check`
/// judges it, so only `features --strict` fails on it. `measure_...` below lists the rest and why.
const CAUGHT: &[(&str, &str)] = &[
    ("admin-gets-user-token", "user-tokens-via-app-clients"),
    ("admin-refreshes-user-token", "user-tokens-via-app-clients"),
    ("app-client-lists-users", "intruder-app-client"),
    ("app-client-reaches-admin-sections", "intruder-app-client"),
    ("admin-reaches-client-services", "admin-sections-only"),
    ("admin-reads-user-data", "intruder-admin"),
    ("client-token-reads-user-data", "user-scope"),
    ("user-token-reaches-client-services", "user-scope"),
    ("user-token-reaches-admin", "user-scope"),
    ("no-token-accepted", "token-required"),
    ("unknown-token-accepted", "token-required"),
    ("revoked-token-accepted", "token-required"),
    ("other-user-data-visible", "own-data-only"),
    ("other-mandator-visible", "mandator-isolation"),
    ("second-app-client-isolated", "shared-user-base"),
    ("token-not-reused", "token-reuse"),
    ("plain-text-errors", "error-shape"),
    ("shape-drift", "error-shape"),
    ("admin-creates-web-forms", "intruder-admin"),
];

/// The rule tags of the scenarios that failed.
fn failed_rules(outcome: &finapi_conformance::gherkin::SuiteOutcome) -> BTreeSet<String> {
    outcome
        .scenarios
        .iter()
        .filter(|s| !s.passed)
        .flat_map(|s| s.tags.iter())
        .filter_map(|t| t.strip_prefix("rule-"))
        .map(str::to_string)
        .collect()
}

/// The numbers for the report, not a check: which breaks the session's traffic shows through
/// the proxy, and which of them the faithful recording's feature file catches.
/// `cargo test record::measure -- --ignored --nocapture`
#[tokio::test]
#[ignore]
async fn measure_which_breaks_the_traffic_shows_and_the_facts_catch() {
    let dir = TempDir::new("record-measure");
    record(dir.path()).await;
    let mut shown = 0;
    let mut caught = 0;
    for v in Violation::ALL {
        let broken = TempDir::new("record-broken");
        let served = Served::start(&["--violate", v.name()]);
        let proxy = Proxy::start(proxy_config(&served.url, broken.path()))
            .await
            .unwrap();
        let mut app = App::new(&proxy.uri());
        // A broken mock may refuse what the app needs: the session goes as far as it can.
        let _ = tokio::spawn(async move { app.session().await }).await;
        let report = proxy.finish().await;
        drop(served);
        let violations: BTreeSet<String> = report
            .report
            .results
            .iter()
            .filter(|r| r.verdict == finapi_conformance::model::Verdict::Violation)
            .map(|r| r.rule.id().to_string())
            .collect();
        let shows = !violations.is_empty() || !report.shape_differences.is_empty();
        let outcome = features(dir.path(), Faults::none().with(*v)).await;
        let rules = failed_rules(&outcome);
        shown += usize::from(shows);
        caught += usize::from(shows && !rules.is_empty());
        println!(
            "{:45} traffic shows: {:5} {:?} shapes {}; facts fail: {:?}",
            v.name(),
            shows,
            violations,
            report.shape_differences.len(),
            rules
        );
    }
    println!("the facts catch {caught} of the {shown} breaks the traffic shows");
}

#[tokio::test]
async fn a_recorded_session_replays_on_its_world_and_pins_its_boundaries() {
    let dir = TempDir::new("record");
    let (anna, alice, secrets) = record(dir.path()).await;
    let recorded = files(dir.path());
    // `FINAPI_UPDATE_EXAMPLE=1` keeps this recording as the committed example.
    if std::env::var_os("FINAPI_UPDATE_EXAMPLE").is_some() {
        let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/recorded-session");
        std::fs::create_dir_all(&example).unwrap();
        for (name, text) in &recorded {
            std::fs::write(example.join(name), text).unwrap();
        }
    }
    let names: Vec<&str> = recorded.keys().map(String::as_str).collect();
    assert_eq!(names, ["README.md", "session.feature", "world.toml"]);
    // Nothing secret in any file.
    assert!(secrets.len() > 10, "{}", secrets.len());
    let mut found = Vec::new();
    for (name, text) in &recorded {
        for s in &secrets {
            if text.contains(s.as_str()) {
                found.push(name.clone());
            }
        }
        for personal in ["anna.muster", "Musterfirma", "REWE", "Mustermann"] {
            assert!(!text.contains(personal), "{name} holds {personal}");
        }
    }
    assert_eq!(found, Vec::<String>::new(), "secrets in files");
    println!(
        "secret scan: {} secrets, {} found",
        secrets.len(),
        found.len()
    );

    // The recorded world serves the read flow: same ids, amounts, relations.
    let world = World::from_file(dir.path().join("world.toml")).unwrap();
    let m = &world.mandators[0];
    let (app_id, app_secret) = (m.app_clients[0].id.clone(), m.app_clients[0].secret.clone());
    assert_eq!(app_id, demo::APP_CLIENT.0);
    assert!(recorded["README.md"].contains(&app_secret));
    let world_file = dir.path().join("world.toml");
    let served = Served::start(&["--world", world_file.to_str().unwrap()]);
    let mut app = App::new(&served.url);
    let client = (app_id.as_str(), app_secret.as_str());
    for (user, want) in [(ANNA, &anna), (ALICE, &alice)] {
        let token = app.login(client, user).await["access_token"]
            .as_str()
            .unwrap()
            .to_string();
        let got = app.reads(&token).await;
        assert_eq!(&got, want, "{}", user.0);
    }
    drop(served);

    // The facts pass on the recorded world...
    let outcome = features(dir.path(), Faults::none()).await;
    assert_eq!(outcome.exit_code(), 0, "{}", outcome.report());
    println!("{}", outcome.summary_line());
    // ... and fail under each break they cover, under its rule.
    use futures::StreamExt as _;
    let path = dir.path();
    let wrong: Vec<String> = futures::stream::iter(CAUGHT)
        .map(|(name, rule)| async move {
            let v: Violation = name.parse().unwrap();
            let outcome = features(path, Faults::none().with(v)).await;
            let rules = failed_rules(&outcome);
            (!rules.contains(*rule))
                .then(|| format!("{name}: expected a failure under {rule}, got {rules:?}"))
        })
        .buffer_unordered(4)
        .filter_map(|w| async move { w })
        .collect()
        .await;
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Dates masked: the mock dates its demo data relative to today.
fn undated(files: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let date = regex::Regex::new(r"\d{4}-\d{2}-\d{2}").unwrap();
    files
        .iter()
        .map(|(k, v)| (k.clone(), date.replace_all(v, "YYYY-MM-DD").into_owned()))
        .collect()
}

#[tokio::test]
async fn recording_twice_gives_the_same_files_as_the_committed_example() {
    let (a, b) = (TempDir::new("record-a"), TempDir::new("record-b"));
    record(a.path()).await;
    record(b.path()).await;
    let (a, b) = (files(a.path()), files(b.path()));
    assert_eq!(
        undated(&a),
        undated(&b),
        "two recordings of one session differ"
    );
    let example = files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/recorded-session"));
    assert!(
        undated(&example) == undated(&a),
        "examples/recorded-session is not this session's recording: re-record it with \
         FINAPI_UPDATE_EXAMPLE=1 cargo test record:: and review the diff"
    );
}

/// The committed example passes with the binary, on its own world (what CI runs).
#[test]
fn the_committed_example_passes_on_its_world_with_the_binary() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/recorded-session");
    let out = std::process::Command::new(BIN)
        .arg("features")
        .arg(&dir)
        .arg("--world")
        .arg(dir.join("world.toml"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("of the world"), "{stdout}");
    assert!(stdout.contains(" passed, 0 failed"), "{stdout}");
}

/// The binary: `proxy --record DIR`, stopped by SIGTERM, writes the report and the recording,
/// and says so on stderr.
#[test]
fn the_binary_records_when_stopped() {
    use crate::common::proxy_process::ProxyProcess;
    let served = Served::start(&[]);
    let dir = TempDir::new("record-bin");
    let creds = dir.join("creds.env");
    let c = Credentials::demo();
    crate::common::write_credentials(
        &creds,
        &Credentials {
            other_app: None,
            ..c
        },
    );
    let recording = dir.join("recorded");
    let report = dir.join("report.json");
    let proxy = ProxyProcess::start(
        &served.url,
        &creds,
        &[
            "--replay",
            "reads",
            "--rate",
            "0",
            "--format",
            "json",
            "--output",
            report.to_str().unwrap(),
            "--record",
            recording.to_str().unwrap(),
        ],
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(App::new(&proxy.url).session());
    let stopped = proxy.stop();
    let stderr = stopped.stderr;
    assert_eq!(stopped.code, Some(0), "{stderr}");
    let last = stderr.lines().last().unwrap_or_default();
    assert!(last.starts_with("recorded 3 files ("), "{last}");
    let names: Vec<String> = files(&recording).into_keys().collect();
    assert_eq!(names, ["README.md", "session.feature", "world.toml"]);
}

/// The same feature file runs unchanged against the recorded target itself (here the faithful
/// `serve` the session went to), with its real credentials.
#[tokio::test]
async fn the_recorded_facts_run_against_the_recorded_target() {
    let dir = TempDir::new("record-remote");
    record(dir.path()).await;
    let served = Served::start(&[]);
    let mut opts = SuiteOptions::mock(dir.path());
    opts.base_url = Some(served.url.clone());
    opts.credentials = Some(Credentials::demo());
    opts.limits = Some(Limits::local());
    opts.concurrency = Some(8);
    let outcome = run_suite(opts).await;
    assert_eq!(outcome.exit_code(), 0, "{}", outcome.report());
}
