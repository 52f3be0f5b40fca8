//! `finapi-conformance proxy` in front of `serve`: an integrator's app runs through it and gets
//! the answers it would get directly; the faithful mock gives no violation; each break the
//! traffic or its replays can show is reported under its rule; a break no replay can reach is
//! listed as such; no secret reaches any output.

use std::process::Command;

use finapi_conformance::model::{ApiVersion, Principal, Verdict};
use finapi_conformance::proxy::{Proxy, ProxyConfig, ProxyReport, ReplayMode};
use finapi_conformance::runner::Credentials;
use finapi_conformance::runner::Limits;
use finapi_conformance::world::demo;
use serde_json::{json, Value};

use crate::common::proxy_process::{ProxyProcess, Stopped};
use crate::common::proxy_violations as violations;
use crate::common::served::{Served, BIN};
use crate::common::{client_token, token_path, user_token, Grant, TempDir};

/// One answer the app got.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Answer {
    step: &'static str,
    status: u16,
    content_type: String,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
    /// The answer with what is random per process masked: tokens, request ids, dates.
    fn masked(&self) -> (String, u16, String, Value) {
        fn mask(v: &mut Value) {
            match v {
                Value::Object(map) => {
                    for (k, v) in map.iter_mut() {
                        let timestamp = v.as_str().is_some_and(|t| {
                            t.len() > 10 && t.as_bytes()[4] == b'-' && t.as_bytes()[10] == b'T'
                        });
                        if timestamp
                            || ["access_token", "refresh_token", "requestId", "date"]
                                .contains(&k.as_str())
                        {
                            *v = json!("<random>");
                        } else {
                            mask(v);
                        }
                    }
                }
                Value::Array(items) => items.iter_mut().for_each(mask),
                _ => {}
            }
        }
        let mut v = self.json();
        mask(&mut v);
        (
            self.step.to_string(),
            self.status,
            self.content_type.clone(),
            v,
        )
    }
}

/// An integrator's app, in plain HTTP: client tokens, the admin's user list, a user created
/// and verified by the app client and logged in through both app clients, demo users' reads,
/// a refresh, a revoke, reads after it, and the user deleting themselves. It keeps going when a
/// step fails (a flaky staging), skipping what needs the missing piece.
struct App {
    base: String,
    http: reqwest::Client,
    answers: Vec<Answer>,
}

impl App {
    fn new(base: &str) -> App {
        App {
            base: base.to_string(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            answers: Vec::new(),
        }
    }

    async fn send(
        &mut self,
        step: &'static str,
        method: reqwest::Method,
        path: &str,
        bearer: Option<&str>,
        form: Option<&[(&str, &str)]>,
        body: Option<&Value>,
    ) -> Answer {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = bearer {
            req = req.bearer_auth(t);
        }
        if let Some(f) = form {
            req = req.form(f);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let answer = match req.send().await {
            Ok(r) => Answer {
                step,
                status: r.status().as_u16(),
                content_type: r
                    .headers()
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string(),
                body: r.bytes().await.map(|b| b.to_vec()).unwrap_or_default(),
            },
            Err(_) => Answer {
                step,
                status: 0,
                content_type: String::new(),
                body: Vec::new(),
            },
        };
        self.answers.push(answer.clone());
        answer
    }

    async fn grant(
        &mut self,
        step: &'static str,
        grant: Grant<'_>,
    ) -> (Option<String>, Option<String>) {
        let form = grant.pairs();
        let path = token_path(ApiVersion::V2);
        let a = self
            .send(step, reqwest::Method::POST, path, None, Some(&form), None)
            .await;
        let v = a.json();
        let s = |k: &str| v[k].as_str().map(str::to_string);
        (s("access_token"), s("refresh_token"))
    }

    async fn client(&mut self, step: &'static str, client: (&str, &str)) -> Option<String> {
        self.grant(step, Grant::Client(client)).await.0
    }

    async fn login(
        &mut self,
        step: &'static str,
        client: (&str, &str),
        user: (&str, &str),
    ) -> (Option<String>, Option<String>) {
        self.grant(step, Grant::Password(client, user)).await
    }

    async fn get(&mut self, step: &'static str, path: &str, token: Option<&str>) -> Answer {
        self.send(step, reqwest::Method::GET, path, token, None, None)
            .await
    }

    /// The app creates `user`, verifies it and reads its verification status.
    async fn create_and_verify(&mut self, user: (&str, &str), app: Option<&str>) {
        use reqwest::Method;
        let body = json!({ "id": user.0, "password": user.1 });
        self.send(
            "app creates a user",
            Method::POST,
            "/api/v2/users",
            app,
            None,
            Some(&body),
        )
        .await;
        self.send(
            "app verifies the user",
            Method::POST,
            &format!("/api/v2/users/verify/{}", user.0),
            app,
            None,
            None,
        )
        .await;
        self.get(
            "app reads the verification status",
            &format!("/api/v2/users/verificationStatus?userId={}", user.0),
            app,
        )
        .await;
    }

    /// The whole flow; returns every answer in order.
    async fn run(mut self) -> Vec<Answer> {
        use reqwest::Method;
        let app = self.client("app token", demo::APP_CLIENT).await;
        let _app2 = self.client("app2 token", demo::APP_CLIENT2).await;
        let admin = self.client("admin token", demo::ADMIN_CLIENT).await;
        let user = ("proxy-app-user", "proxy-app-user-password-1");
        self.create_and_verify(user, app.as_deref()).await;
        let (via1, refresh1) = self.login("user via app", demo::APP_CLIENT, user).await;
        let (_via2, _) = self.login("user via app2", demo::APP_CLIENT2, user).await;
        let (alice, _) = self
            .login("alice via app", demo::APP_CLIENT, demo::USERS[0])
            .await;
        let (alice2, _) = self
            .login("alice via app2", demo::APP_CLIENT2, demo::USERS[0])
            .await;
        let (_bob, _) = self
            .login("bob via app2", demo::APP_CLIENT2, demo::USERS[1])
            .await;
        self.get("user reads self", "/api/v2/users", via1.as_deref())
            .await;
        self.get(
            "admin lists users",
            "/api/v2/mandatorAdmin/getUserList",
            admin.as_deref(),
        )
        .await;
        self.get(
            "app reads its configuration",
            "/api/v2/clientConfiguration",
            app.as_deref(),
        )
        .await;
        let accounts = self
            .get("alice lists accounts", "/api/v2/accounts", alice.as_deref())
            .await
            .json();
        let ids: Vec<i64> = accounts["accounts"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| a["id"].as_i64())
            .collect();
        if let Some(id) = ids.first() {
            self.get(
                "alice reads an account",
                &format!("/api/v2/accounts/{id}"),
                alice.as_deref(),
            )
            .await;
            // A list filtered by the caller's own resource: replayed as another user, it must
            // list none of alice's items.
            self.get(
                "alice lists an account's transactions",
                &format!("/api/v2/transactions?accountIds={id}"),
                alice.as_deref(),
            )
            .await;
        }
        let refreshed = match refresh1 {
            Some(r) => {
                self.grant(
                    "user refreshes via app",
                    Grant::Refresh(demo::APP_CLIENT, &r),
                )
                .await
                .0
            }
            None => None,
        };
        let app2 = self.client("app2 token again", demo::APP_CLIENT2).await;
        if let Some(t) = &alice2 {
            self.send(
                "app2 revokes alice's token",
                Method::POST,
                "/api/v2/oauth/revoke",
                app2.as_deref(),
                Some(&[("token", t), ("token_type_hint", "access_token")]),
                None,
            )
            .await;
        }
        if let Some(id) = ids.get(1) {
            self.get(
                "alice reads another account",
                &format!("/api/v2/accounts/{id}"),
                alice.as_deref(),
            )
            .await;
        }
        self.send(
            "user deletes self",
            Method::DELETE,
            "/api/v2/users",
            refreshed.as_deref().or(via1.as_deref()),
            None,
            None,
        )
        .await;
        self.answers
    }
}

/// Tokens an app got before the proxy started (directly from finAPI): the clients' and two
/// users'.
struct EarlyTokens {
    app: String,
    admin: String,
    alice: String,
    bob: String,
}

impl EarlyTokens {
    async fn get(base: &str) -> EarlyTokens {
        let v2 = ApiVersion::V2;
        EarlyTokens {
            app: client_token(base, v2, demo::APP_CLIENT).await,
            admin: client_token(base, v2, demo::ADMIN_CLIENT).await,
            alice: user_token(base, v2, demo::APP_CLIENT, demo::USERS[0]).await,
            bob: user_token(base, v2, demo::APP_CLIENT, demo::USERS[1]).await,
        }
    }
}

impl App {
    /// The same kind of app, long-running: it holds tokens it got before the proxy started, so
    /// no grant passes the proxy. The admin lists users, the app reads its configuration,
    /// creates and verifies a user and reads its verification status, alice reads herself, her
    /// accounts, one account and its transactions, bob lists his accounts.
    async fn run_with(mut self, t: &EarlyTokens) -> Vec<Answer> {
        self.get(
            "admin lists users",
            "/api/v2/mandatorAdmin/getUserList",
            Some(&t.admin),
        )
        .await;
        self.get(
            "app reads its configuration",
            "/api/v2/clientConfiguration",
            Some(&t.app),
        )
        .await;
        let user = ("proxy-early-user", "proxy-early-user-password-1");
        self.create_and_verify(user, Some(&t.app)).await;
        self.get("alice reads self", "/api/v2/users", Some(&t.alice))
            .await;
        let accounts = self
            .get("alice lists accounts", "/api/v2/accounts", Some(&t.alice))
            .await
            .json();
        let first = accounts["accounts"][0]["id"].as_i64();
        if let Some(id) = first {
            self.get(
                "alice reads an account",
                &format!("/api/v2/accounts/{id}"),
                Some(&t.alice),
            )
            .await;
            self.get(
                "alice lists an account's transactions",
                &format!("/api/v2/transactions?accountIds={id}"),
                Some(&t.alice),
            )
            .await;
        }
        self.get("bob lists accounts", "/api/v2/accounts", Some(&t.bob))
            .await;
        self.answers
    }
}

/// The demo world's clients, as the proxy's credentials (the other mandator's app client
/// included).
fn credentials() -> Credentials {
    Credentials::demo()
}

fn config(upstream: &str, replay: ReplayMode) -> ProxyConfig {
    let mut c = ProxyConfig::new(upstream, credentials());
    c.replay = replay;
    c.limits = Limits::local();
    c
}

/// `serve ARGS`, the proxy in front of it (in-process), the app through it: the answers and
/// the report.
async fn through_proxy(serve_args: &[&str], replay: ReplayMode) -> (Vec<Answer>, ProxyReport) {
    let served = Served::start(serve_args);
    let proxy = Proxy::start(config(&served.url, replay)).await.unwrap();
    let answers = App::new(&proxy.uri()).run().await;
    let report = proxy.finish().await;
    drop(served);
    (answers, report)
}

/// `serve ARGS`; the tokens of a long-running app, got from it directly; then the proxy in
/// front of it (replaying reads), and the app's calls with those tokens through it.
async fn early_tokens_through_proxy(serve_args: &[&str]) -> (Vec<Answer>, ProxyReport) {
    early_tokens_through(serve_args, true).await
}

/// [`early_tokens_through_proxy`], with identification on or off (`--identify`).
async fn early_tokens_through(serve_args: &[&str], identify: bool) -> (Vec<Answer>, ProxyReport) {
    let served = Served::start(serve_args);
    let tokens = EarlyTokens::get(&served.url).await;
    let mut c = config(&served.url, ReplayMode::Reads);
    c.identify = identify;
    let proxy = Proxy::start(c).await.unwrap();
    let answers = App::new(&proxy.uri()).run_with(&tokens).await;
    let report = proxy.finish().await;
    drop(served);
    (answers, report)
}

/// `serve ARGS`, the proxy (replaying reads) in front, the config-first app through it.
async fn config_first_through_proxy(serve_args: &[&str]) -> (Vec<Answer>, ProxyReport) {
    let served = Served::start(serve_args);
    let proxy = Proxy::start(config(&served.url, ReplayMode::Reads))
        .await
        .unwrap();
    crate::traffic::apps::config_first_app(crate::traffic::apps::Bases::one(&proxy.uri())).await;
    let report = proxy.finish().await;
    drop(served);
    (Vec::new(), report)
}

/// Every step of the app's flow got a 2xx (the flow worked; not a run of refusals).
fn assert_all_2xx(answers: &[Answer]) {
    let statuses: Vec<(&str, u16)> = answers.iter().map(|a| (a.step, a.status)).collect();
    assert!(
        answers.iter().all(|a| (200..300).contains(&a.status)),
        "{statuses:?}"
    );
}

/// The report holds a passing cell for `op` as `p`.
fn passed(report: &ProxyReport, op: &str, p: Principal) -> bool {
    report
        .report
        .results
        .iter()
        .any(|r| r.operation == op && r.principal == p && r.verdict == Verdict::Pass)
}

#[tokio::test]
async fn the_app_gets_the_answers_it_gets_directly_and_the_faithful_mock_holds() {
    let direct = {
        let served = Served::start(&[]);
        App::new(&served.url).run().await
    };
    let (proxied, report) = through_proxy(&[], ReplayMode::Off).await;
    assert_eq!(direct.len(), proxied.len());
    for (d, p) in direct.iter().zip(&proxied) {
        assert_eq!(d.masked(), p.masked(), "step {}", d.step);
    }
    // The flow itself worked (not a run of refusals).
    assert_all_2xx(&proxied);
    assert_eq!(violations(&report), Vec::<String>::new());
    assert!(report.findings.is_empty(), "{:?}", report.findings);
    assert!(
        report.shape_differences.is_empty(),
        "{:?}",
        report.shape_differences
    );
    assert_eq!(report.calls, proxied.len());
    assert_eq!(report.unknown_callers, 0);
    // Every call was judged as the principal it came from.
    let cell = |op: &str, p: Principal| passed(&report, op, p);
    assert!(cell("getUserList", Principal::AdminClient));
    assert!(cell("getToken.password", Principal::SecondAppClient));
    assert!(cell("getToken.refresh_token", Principal::AppClient));
    assert!(cell("getAccount", Principal::User));
    assert!(cell("revokeToken", Principal::SecondAppClient));
    assert!(cell("deleteAuthorizedUser", Principal::User));
}

#[tokio::test]
async fn answers_pass_byte_for_byte() {
    let served = Served::start(&[]);
    let proxy = Proxy::start(config(&served.url, ReplayMode::Off))
        .await
        .unwrap();
    let http = crate::common::http();
    let admin = {
        let mut app = App::new(&served.url);
        app.client("admin", demo::ADMIN_CLIENT).await.unwrap()
    };
    let client = {
        let mut app = App::new(&served.url);
        app.client("app", demo::APP_CLIENT).await.unwrap()
    };
    // Successful reads (error bodies carry a fresh date and request id each time).
    for (path, token) in [
        ("/api/v2/mandatorAdmin/getUserList", Some(admin.as_str())),
        ("/api/v2/banks?perPage=500", Some(client.as_str())),
        ("/api/v2/clientConfiguration", Some(client.as_str())),
    ] {
        let get = |base: String| {
            let mut req = http.get(format!("{base}{path}"));
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
            async move {
                let r = req.send().await.unwrap();
                let status = r.status();
                let mut headers = r.headers().clone();
                headers.remove("x-request-id");
                headers.remove("date");
                (status, headers, r.bytes().await.unwrap())
            }
        };
        let direct = get(served.url.clone()).await;
        let proxied = get(proxy.uri()).await;
        assert_eq!(direct.0, proxied.0, "{path}");
        assert_eq!(direct.1, proxied.1, "{path}");
        assert_eq!(direct.2, proxied.2, "{path}");
    }
    let r = http
        .get(format!("{}/api/v2/nothing-here", proxy.uri()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let report = proxy.finish().await;
    assert_eq!(report.calls, 4);
    assert_eq!(report.not_in_catalogue, 1);
}

#[tokio::test]
async fn replays_of_the_faithful_mock_find_nothing() {
    let (_, report) = through_proxy(&[], ReplayMode::Reads).await;
    assert_eq!(violations(&report), Vec::<String>::new());
    assert!(report.replays > 20, "{} replays", report.replays);
    assert!(report.findings.is_empty(), "{:?}", report.findings);
    // Writes are listed as never replayed, reads as replayed.
    let note = |op: &str| report.replay.iter().find(|n| n.operation == op).unwrap();
    assert_eq!(note("createUser").replays, 0);
    assert!(note("createUser")
        .not_replayed
        .iter()
        .any(|w| w.contains("never replayed")));
    assert_eq!(note("deleteAuthorizedUser").replays, 0);
    assert!(note("getAccount").replays > 0);
    assert!(note("getAccount")
        .principals
        .contains(&Principal::OtherUser));
    assert!(note("getAccount")
        .principals
        .contains(&Principal::RevokedToken));
    assert!(note("getToken.password")
        .principals
        .contains(&Principal::AdminClient));
    // Alice's transactions filtered by her account: replayed as another user, none of hers.
    let cell = report
        .report
        .results
        .iter()
        .find(|r| {
            r.operation == "getAndSearchAllTransactions?accountIds"
                && r.principal == Principal::OtherUser
        })
        .unwrap();
    assert_eq!(cell.verdict, Verdict::Pass, "{}", cell.reason);
    assert!(cell
        .reason
        .starts_with("?accountIds: hidden (200, none of the run user's"));
}

#[tokio::test]
async fn tokens_got_before_the_proxy_started_are_identified_and_their_calls_judged() {
    let (answers, report) = early_tokens_through_proxy(&[]).await;
    assert_all_2xx(&answers);
    assert_eq!(violations(&report), Vec::<String>::new());
    // Every call was judged as its caller.
    assert_eq!(report.unknown_callers, 0);
    let judged = |op: &str, p: Principal| passed(&report, op, p);
    assert!(judged("getUserList", Principal::AdminClient));
    assert!(judged("createUser", Principal::AppClient));
    assert!(judged("getAccount", Principal::User));
    // Alice's read of her account's transactions, replayed as bob, listed none of hers.
    assert!(judged(
        "getAndSearchAllTransactions?accountIds",
        Principal::OtherUser
    ));
    // The clients' tokens were the proxy's own (the same credentials get the same token):
    // no read. The users' took one read each.
    assert_eq!(report.identify_reads, 2);
    let how = |caller: &str| {
        report
            .callers
            .iter()
            .find(|c| c.caller == caller)
            .map(|c| c.how.clone())
            .unwrap_or_else(|| panic!("no caller {caller}: {:?}", report.callers))
    };
    assert!(how("user alice").starts_with("probed: GET /api/v2/users with it got 200"));
    assert!(how("admin-client").starts_with("token traffic seen: the proxy's own"));
    // With --identify off, none of them is judged.
    let (_, report) = early_tokens_through(&[], false).await;
    assert_eq!(report.identify_reads, 0);
    assert_eq!(report.unknown_callers, report.calls);
    assert!(
        report.report.results.is_empty(),
        "{:?}",
        report.report.results
    );
    assert!(report
        .callers
        .iter()
        .all(|c| c.caller == "unknown" && c.how.contains("--identify off")));
}

/// Each break the app's traffic or its replays can show, with the rule it is reported under.
const VISIBLE: &[(&str, &str)] = &[
    ("admin-gets-user-token", "user-tokens-via-app-clients"),
    ("admin-refreshes-user-token", "user-tokens-via-app-clients"),
    ("app-client-lists-users", "intruder-app-client"),
    // Its rule is app-client-services; the one admin read the app makes is getUserList, whose
    // refusal of app clients the role model files under intruder-app-client.
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
    // Alice's transactions filtered by her account, replayed as another user.
    ("id-filters-cross-users", "own-data-only"),
    ("other-mandator-visible", "mandator-isolation"),
    ("second-app-client-isolated", "shared-user-base"),
    // The app asks app client 2's token twice.
    ("token-not-reused", "token-reuse"),
];

/// Breaks that show as shape differences (not role verdicts).
const SHAPES: &[&str] = &["plain-text-errors", "shape-drift"];

/// Breaks neither this app's traffic nor any replay can show, and why.
const UNREACHABLE: &[(&str, &str)] = &[
    // This app makes no Web Form 2.0 call, so neither its traffic nor a replay reaches them.
    (
        "admin-creates-web-forms",
        "Web Form 2.0: this app creates no web form",
    ),
    (
        "user-edits-profiles",
        "Web Form 2.0: this app calls no profile",
    ),
    (
        "other-users-web-form-visible",
        "Web Form 2.0: this app reads no web form",
    ),
    (
        "admin-revokes-user-token",
        "a revoke is a write: never replayed",
    ),
    (
        "app-client-deletes-users",
        "a delete is a write: never replayed",
    ),
    (
        "expired-token-accepted",
        "needs an expired token (FINAPI_EXPIRED_TOKEN)",
    ),
    (
        "forbidden-as-401",
        "boundary mode takes any 401/403 as a refusal (--strict)",
    ),
    (
        "api-version-unenforced",
        "the app calls only its own API version",
    ),
    (
        "deleted-user-ids-unmasked",
        "a value in a list, not a boundary of one call",
    ),
    (
        "unverified-user-gets-token",
        "verification is state, not a role",
    ),
    ("revoke-ignores-hint", "lifecycle: what a revoke ends"),
    (
        "secret-rotation-keeps-tokens",
        "lifecycle: a secret change (a write)",
    ),
    (
        "secret-rotation-revokes-user-tokens",
        "lifecycle: a secret change (a write)",
    ),
    (
        "wrong-old-secret-accepted",
        "lifecycle: a secret change (a write)",
    ),
    (
        "password-change-keeps-tokens",
        "lifecycle: a password change (a write)",
    ),
    (
        "password-change-keeps-other-client-tokens",
        "lifecycle: a password change (a write)",
    ),
    (
        "background-update-any-connection",
        "a background update (a write) is never replayed, and the app names only its own bank connections",
    ),
    ("lockout-disabled", "lifecycle: failed logins"),
    ("locked-user-gets-token", "lifecycle: failed logins"),
];

/// Which of the app's flows runs through the proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    /// [`App::run`]: every grant passes the proxy.
    Grants,
    /// [`App::run_with`]: the tokens were got before the proxy started.
    EarlyTokens,
    /// `traffic::apps::config_first_app`: the client configuration is read before any user
    /// logs in.
    ConfigFirst,
}

impl Flow {
    /// The breaks this flow's traffic and replays can show, with the rule of each.
    fn can_show(self) -> Vec<(&'static str, &'static str)> {
        match self {
            Flow::Grants => VISIBLE.to_vec(),
            Flow::EarlyTokens => VISIBLE
                .iter()
                .filter(|(n, _)| !NOT_WITH_EARLY_TOKENS.iter().any(|(x, _)| x == n))
                .copied()
                .collect(),
            Flow::ConfigFirst => CONFIG_FIRST.to_vec(),
        }
    }
}

/// The breaks the config-first app's traffic and replays can show, with the rule of each.
const CONFIG_FIRST: &[(&str, &str)] = &[
    // Its password grant, replayed with the other clients.
    ("admin-gets-user-token", "user-tokens-via-app-clients"),
    ("second-app-client-isolated", "shared-user-base"),
    // Its reads, replayed as the clients and without a valid token.
    ("admin-reaches-client-services", "admin-sections-only"),
    ("admin-reads-user-data", "intruder-admin"),
    ("client-token-reads-user-data", "user-scope"),
    ("no-token-accepted", "token-required"),
    ("unknown-token-accepted", "token-required"),
    // Its configuration read, replayed as the user once one logged in.
    ("user-token-reaches-client-services", "user-scope"),
];

/// Breaks the app's traffic shows with its grants, and not with tokens got before the proxy
/// started, and why.
const NOT_WITH_EARLY_TOKENS: &[(&str, &str)] = &[
    (
        "admin-gets-user-token",
        "no grant passes the proxy, so none is replayed with the admin client",
    ),
    (
        "admin-refreshes-user-token",
        "no grant passes the proxy, so none is replayed with the admin client",
    ),
    (
        "second-app-client-isolated",
        "no grant passes the proxy, so none is replayed with the second app client",
    ),
    ("token-not-reused", "no grant passes the proxy"),
    (
        "revoked-token-accepted",
        "no revoke passes the proxy, so it holds no revoked token",
    ),
];

/// Run `flow` under every break: each break's violations and shape differences.
async fn under_every_break(flow: Flow) -> Vec<(finapi_conformance::Violation, Vec<String>, usize)> {
    use finapi_conformance::Violation;
    use futures::StreamExt;
    futures::stream::iter(Violation::ALL.iter().copied())
        .map(|v| async move {
            let args = ["--violate", v.name()];
            let (_, report) = match flow {
                Flow::Grants => through_proxy(&args, ReplayMode::Reads).await,
                Flow::EarlyTokens => early_tokens_through_proxy(&args).await,
                Flow::ConfigFirst => config_first_through_proxy(&args).await,
            };
            (v, violations(&report), report.shape_differences.len())
        })
        .buffer_unordered(2)
        .collect()
        .await
}

#[tokio::test]
async fn every_break_traffic_or_replay_can_show_is_reported_under_its_rule() {
    use finapi_conformance::Violation;
    // Every break is in exactly one list.
    for v in Violation::ALL {
        let n = v.name();
        let lists = usize::from(VISIBLE.iter().any(|(x, _)| *x == n))
            + usize::from(SHAPES.contains(&n))
            + usize::from(UNREACHABLE.iter().any(|(x, _)| *x == n));
        assert_eq!(lists, 1, "{n} is in {lists} lists");
    }
    for (n, _) in NOT_WITH_EARLY_TOKENS {
        assert!(VISIBLE.iter().any(|(x, _)| x == n), "{n} is not visible");
    }
    let mut wrong = Vec::new();
    for flow in [Flow::Grants, Flow::EarlyTokens, Flow::ConfigFirst] {
        let outcomes = under_every_break(flow).await;
        let shows = flow.can_show();
        let mut can_show = 0;
        let mut caught = 0;
        for (v, found, shapes) in &outcomes {
            let n = v.name();
            if let Some((_, rule)) = shows.iter().find(|(x, _)| *x == n) {
                can_show += 1;
                if found.iter().any(|f| f.ends_with(&format!("[{rule}]"))) {
                    caught += 1;
                } else {
                    wrong.push(format!("{flow:?} {n}: expected [{rule}], found {found:?}"));
                }
            } else if SHAPES.contains(&n) {
                if *shapes == 0 || !found.is_empty() {
                    wrong.push(format!(
                        "{flow:?} {n}: expected shape differences only, found {found:?}"
                    ));
                }
            } else if !found.is_empty() {
                wrong.push(format!(
                    "{flow:?} {n} is listed as unreachable but shows: {found:?}"
                ));
            }
        }
        eprintln!("{flow:?}: {caught} of the {can_show} breaks its traffic can show caught");
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[tokio::test]
async fn a_break_no_replay_can_reach_is_listed_as_such() {
    // The admin revoking user tokens shows only in a revoke by the admin; a revoke is a write,
    // never replayed, and the app revokes with its own client.
    let (_, report) = through_proxy(
        &["--violate", "admin-revokes-user-token"],
        ReplayMode::Reads,
    )
    .await;
    assert_eq!(violations(&report), Vec::<String>::new());
    let revoke = report
        .replay
        .iter()
        .find(|n| n.operation == "revokeToken")
        .unwrap();
    assert_eq!(revoke.replays, 0);
    assert!(revoke.not_replayed.contains("a write: never replayed"));
}

#[tokio::test]
async fn shape_drift_is_listed_with_its_json_path() {
    let (_, report) = through_proxy(&["--violate", "shape-drift"], ReplayMode::Reads).await;
    assert!(
        report
            .shape_differences
            .iter()
            .any(|d| d.path.contains("authContext")),
        "{:?}",
        report.shape_differences
    );
}

#[tokio::test]
async fn the_apps_own_misuse_is_a_finding_not_a_verdict() {
    let served = Served::start(&[]);
    let proxy = Proxy::start(config(&served.url, ReplayMode::Off))
        .await
        .unwrap();
    let mut app = App::new(&proxy.uri());
    let admin = app.client("admin", demo::ADMIN_CLIENT).await;
    let client = app.client("app", demo::APP_CLIENT).await;
    app.get("admin reads accounts", "/api/v2/accounts", admin.as_deref())
        .await;
    app.get(
        "client reads accounts",
        "/api/v2/accounts",
        client.as_deref(),
    )
    .await;
    let path = format!(
        "/api/v2/clientConfiguration?client_secret={}",
        demo::APP_CLIENT.1
    );
    app.get("secret in the query", &path, client.as_deref())
        .await;
    app.get(
        "client lists users",
        "/api/v2/mandatorAdmin/getUserList",
        client.as_deref(),
    )
    .await;
    let report = proxy.finish().await;
    let kinds: Vec<(&str, &str)> = report
        .findings
        .iter()
        .map(|f| (f.kind, f.operation.as_str()))
        .collect();
    for want in [
        ("admin-token-on-user-service", "getAndSearchAllAccounts"),
        ("client-token-on-user-service", "getAndSearchAllAccounts"),
        ("secret-in-query", "getClientConfiguration"),
        ("forbidden-call", "getUserList"),
    ] {
        assert!(kinds.contains(&want), "{want:?} not in {kinds:?}");
    }
    // finAPI refused all of them: no violation, exit code 0.
    assert_eq!(report.exit_code(), 0);
    let text = report.render(finapi_conformance::report::Format::Table, false);
    assert!(!text.contains(demo::APP_CLIENT.1), "{text}");
}

#[tokio::test]
async fn in_front_of_staging_the_app_still_gets_its_answers_and_nothing_is_a_violation() {
    let (answers, report) = through_proxy(&["--profile", "staging"], ReplayMode::Reads).await;
    assert!(
        answers
            .iter()
            .filter(|a| (200..300).contains(&a.status))
            .count()
            > answers.len() / 2
    );
    assert_eq!(violations(&report), Vec::<String>::new());
}

/// The binary: its address on the first line, a verdict per call on stderr, the report after
/// SIGTERM, exit 0 / 1, and no secret in any output.
fn run_binary(serve_args: &[&str], format: &str) -> (i32, String, String, String) {
    let served = Served::start(serve_args);
    let dir = TempDir::new(&format!("proxy-bin-{format}"));
    let creds = dir.join("creds.env");
    let c = credentials();
    crate::common::write_credentials(&creds, &c);
    let report = dir.join("report");
    let proxy = ProxyProcess::start(
        &served.url,
        &creds,
        &[
            "--replay",
            "reads",
            "--rate",
            "0",
            "--format",
            format,
            "--output",
            report.to_str().unwrap(),
        ],
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let answers = rt.block_on(App::new(&proxy.url).run());
    // SIGTERM: the proxy writes its report and exits.
    let Stopped {
        code,
        stdout,
        stderr,
    } = proxy.stop();
    let code = code.unwrap_or(-1);
    let report = std::fs::read_to_string(&report).unwrap_or_default();
    // Every secret the app used or got: client secrets, user passwords, tokens.
    let mut secrets: Vec<String> = [
        demo::APP_CLIENT.1,
        demo::APP_CLIENT2.1,
        demo::ADMIN_CLIENT.1,
        demo::OTHER_APP_CLIENT.1,
        demo::USERS[0].1,
        demo::USERS[1].1,
        "proxy-app-user-password-1",
    ]
    .map(str::to_string)
    .to_vec();
    for a in &answers {
        let v = a.json();
        for k in ["access_token", "refresh_token"] {
            if let Some(t) = v[k].as_str() {
                secrets.push(t.to_string());
            }
        }
    }
    assert!(secrets.len() > 10);
    let all = format!("{stdout}{stderr}{report}");
    for s in &secrets {
        assert!(!all.contains(s.as_str()), "a secret in the output: {all}");
    }
    (code, stdout, stderr, report)
}

#[test]
fn the_binary_reports_after_sigterm_with_a_line_per_call_and_no_secret() {
    let (code, stdout, stderr, report) = run_binary(&[], "json");
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("listening on http://127.0.0.1:"),
        "{stdout}"
    );
    let lines = stderr.lines().filter(|l| l.starts_with("proxy: ")).count();
    assert!(lines > 20, "{stderr}");
    assert!(
        stderr.contains("getToken.password by second-app-client: pass"),
        "{stderr}"
    );
    let v: Value = serde_json::from_str(&report).unwrap();
    assert!(v["calls"].as_u64().unwrap() > 15);
    assert!(v["report"]["results"].as_array().unwrap().len() > 20);
}

#[test]
fn the_binary_exits_1_on_a_violation_in_every_format() {
    for format in ["table", "junit", "markdown", "html"] {
        let (code, _, stderr, report) =
            run_binary(&["--violate", "revoked-token-accepted"], format);
        assert_eq!(code, 1, "{format}: {stderr}");
        assert!(stderr.contains("violation"), "{stderr}");
        assert!(report.contains("revoked"), "{format}: {report}");
    }
}

#[tokio::test]
async fn bad_configuration_is_one_line_and_exit_2() {
    // A recording's directory that cannot be made (under a file) is refused before the proxy
    // starts, not found out when it stops and the session is gone.
    let dir = TempDir::new("proxy-bad-record");
    let file = dir.join("a-file");
    std::fs::write(&file, "").unwrap();
    let under_a_file = file.join("recording").display().to_string();
    for args in [
        vec!["--upstream", "http://example.com"],
        vec!["--upstream", "not a url"],
        vec!["--upstream", "http://127.0.0.1:9", "--replay", "all"],
        vec![
            "--upstream",
            "http://127.0.0.1:9",
            "--record",
            &under_a_file,
        ],
    ] {
        // A proxy that starts instead of refusing would run until stopped: bounded, it fails.
        let run = tokio::process::Command::new(BIN)
            .arg("proxy")
            .args(&args)
            .args(["--addr", "127.0.0.1:0"])
            .kill_on_drop(true)
            .output();
        let out = tokio::time::timeout(std::time::Duration::from_secs(60), run)
            .await
            .unwrap_or_else(|_| panic!("{args:?}: the proxy started instead of refusing"))
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(stderr.lines().any(|l| l.starts_with("error: ")), "{stderr}");
    }
}

/// `--identify on|off` on the command line: a user token got before the proxy started is
/// identified with one read (`on`, the default) or stays an unknown caller (`off`); any other
/// value is one line and exit 2.
#[tokio::test]
async fn the_binary_identifies_early_tokens_unless_told_off() {
    let served = Served::start(&[]);
    let alice = user_token(
        &served.url,
        ApiVersion::V2,
        demo::APP_CLIENT,
        demo::USERS[0],
    )
    .await;
    let dir = TempDir::new("proxy-identify");
    let creds = dir.join("creds.env");
    let c = credentials();
    crate::common::write_credentials(
        &creds,
        &Credentials {
            other_app: None,
            ..c
        },
    );
    for (switch, reads, unknown) in [(None, 1, 0), (Some("on"), 1, 0), (Some("off"), 0, 1)] {
        let report = dir.join(format!("report-{switch:?}.json"));
        let mut args = vec!["--format", "json", "--rate", "0"];
        args.extend(["--output", report.to_str().unwrap()]);
        if let Some(switch) = switch {
            args.extend(["--identify", switch]);
        }
        let proxy = ProxyProcess::start(&served.url, &creds, &args);
        let r = crate::common::http()
            .get(format!("{}/api/v2/users", proxy.url))
            .bearer_auth(&alice)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{switch:?}");
        let stopped = proxy.stop();
        assert_eq!(stopped.code, Some(0), "{switch:?}: {}", stopped.stderr);
        let json: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
        assert_eq!(json["identify_reads"], reads, "{switch:?}: {json:#}");
        assert_eq!(json["unknown_callers"], unknown, "{switch:?}: {json:#}");
    }
    let out = Command::new(BIN)
        .args(["proxy", "--upstream", &served.url, "--identify", "maybe"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("`maybe` is neither on nor off"), "{stderr}");
}

#[tokio::test]
async fn a_v1_app_is_judged_too_and_its_documented_revoke_query_is_no_finding() {
    use finapi_conformance::runner::ClientCredentials;
    let served = Served::start(&[]);
    let creds = Credentials {
        app: Some(ClientCredentials::new(
            demo::LEGACY_APP_CLIENT.0,
            demo::LEGACY_APP_CLIENT.1,
        )),
        admin: Some(ClientCredentials::new(
            demo::LEGACY_ADMIN_CLIENT.0,
            demo::LEGACY_ADMIN_CLIENT.1,
        )),
        ..Credentials::default()
    };
    let mut c = ProxyConfig::new(&served.url, creds);
    c.version = ApiVersion::V1;
    c.replay = ReplayMode::Reads;
    c.limits = Limits::local();
    let proxy = Proxy::start(c).await.unwrap();
    let http = crate::common::http();
    let (base, v1) = (proxy.uri(), ApiVersion::V1);
    let app = client_token(&base, v1, demo::LEGACY_APP_CLIENT).await;
    let victor = user_token(&base, v1, demo::LEGACY_APP_CLIENT, demo::LEGACY_USER).await;
    let get = |path: &str, token: &str| {
        http.get(format!("{}{path}", proxy.uri()))
            .bearer_auth(token)
            .send()
    };
    assert_eq!(
        get("/api/v1/accounts", &victor).await.unwrap().status(),
        200
    );
    let r = http
        .post(format!("{}/oauth/revoke?token={victor}", proxy.uri()))
        .bearer_auth(&app)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        get("/api/v1/accounts", &victor).await.unwrap().status(),
        401
    );
    let report = proxy.finish().await;
    assert_eq!(violations(&report), Vec::<String>::new());
    assert!(
        report.findings.iter().all(|f| f.kind != "secret-in-query"),
        "{:?}",
        report.findings
    );
    // The revoked token was known as such: its later use is the app's misuse, not finAPI's.
    assert!(report
        .report
        .results
        .iter()
        .any(|r| r.operation == "getAndSearchAllAccounts"
            && r.principal == Principal::RevokedToken
            && r.verdict == Verdict::Pass));
    assert!(report
        .findings
        .iter()
        .any(|f| f.kind == "forbidden-call" && f.caller == "revoked-token"));
}
