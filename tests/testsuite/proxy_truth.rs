//! The proxy's verdicts hold true where users really point it: apps that test isolation
//! themselves, users who fail to log in, tests that move the mock's clock, and finAPI's two
//! hosts (Access and Web Form 2.0 apart). The faithful mock gives no violation in any of these
//! setups, and the breaks each setup can show are still caught under their rule.

use finapi_conformance::model::{Principal, Verdict};
use finapi_conformance::proxy::{Proxy, ProxyConfig, ProxyReport, ReplayMode};
use finapi_conformance::runner::{Credentials, Limits};
use finapi_conformance_test_support::SplitFront;

use crate::common::served::Served;
use crate::traffic::apps::{self, Bases, Client};

/// Where the app's calls go: the mock on one address, or finAPI's two hosts in front of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Setup {
    /// `serve` serves both services on one address; the proxy fronts it.
    OneAddress,
    /// An Access host and a Web Form host in front of `serve`; the proxy fronts both
    /// (`--webform-upstream`).
    Split,
    /// The split hosts, but the proxy is given only the Access host.
    SplitAccessOnly,
}

/// Which app runs through the proxy.
#[derive(Debug, Clone, Copy)]
enum App {
    Isolation,
    FailingLogins { webform: bool },
    ConfigFirst,
}

/// `serve ARGS` in `setup`, the proxy (replaying reads) in front, `app` through it.
async fn run(setup: Setup, app: App, serve_args: &[&str]) -> (Client, ProxyReport) {
    run_with(setup, app, serve_args, |_| {}).await
}

/// [`run`], with the proxy's configuration changed by `change`.
async fn run_with(
    setup: Setup,
    app: App,
    serve_args: &[&str],
    change: impl FnOnce(&mut ProxyConfig),
) -> (Client, ProxyReport) {
    let served = Served::start(serve_args);
    let split = match setup {
        Setup::OneAddress => None,
        Setup::Split | Setup::SplitAccessOnly => Some(SplitFront::start(&served.url).await),
    };
    let mut config = match &split {
        None => ProxyConfig::new(&served.url, Credentials::demo()),
        Some(s) => ProxyConfig::new(&s.access, Credentials::demo()),
    };
    if let (Some(s), Setup::Split) = (&split, setup) {
        config.webform_upstream = Some(s.webform_url().to_string());
    }
    config.replay = ReplayMode::Reads;
    config.limits = Limits::local();
    change(&mut config);
    let proxy = Proxy::start(config).await.unwrap();
    let bases = Bases::one(&proxy.uri());
    let client = match app {
        App::Isolation => apps::isolation_app(bases).await,
        App::FailingLogins { webform } => apps::failing_logins_app(bases, webform).await,
        App::ConfigFirst => apps::config_first_app(bases).await,
    };
    let report = proxy.finish().await;
    drop(split);
    drop(served);
    (client, report)
}

use crate::common::proxy_violations as violations;

/// The figures of a run, for the eye (`--nocapture`).
fn figures(name: &str, report: &ProxyReport) {
    eprintln!(
        "{name}: {} violations, {} inconclusive, {} passed; {} calls, {} Web Form ({} judged), {} replays, {} controls, {} login failures",
        report.summary.violations,
        report.summary.inconclusive,
        report.summary.passed,
        report.calls,
        report.web_form_calls,
        report.web_form_judged,
        report.replays,
        report.controls,
        report.login_failures.iter().map(|f| f.calls).sum::<usize>(),
    );
}

/// The Access address a report names.
fn access_address(report: &ProxyReport) -> String {
    report.report.services[0].address.clone().unwrap()
}

fn cell(report: &ProxyReport, op: &str, p: Principal) -> Option<Verdict> {
    report
        .report
        .results
        .iter()
        .find(|r| r.operation == op && r.principal == p)
        .map(|r| r.verdict)
}

#[tokio::test]
async fn an_app_that_tests_isolation_itself_is_no_violation() {
    let (client, report) = run(Setup::OneAddress, App::Isolation, &[]).await;
    figures("isolation app, one address", &report);
    // The app's own isolation test held: bob was refused alice's account and web form.
    assert_eq!(client.statuses("bob reads alice's account"), [404]);
    assert_eq!(client.statuses("bob reads alice's web form"), [404]);
    assert_eq!(violations(&report), Vec::<String>::new());
    // Bob's 404s were not replayed as another user: nothing shows whose the resource is.
    for op in ["getAccount", "getWebForm"] {
        let note = report.replay.iter().find(|n| n.operation == op).unwrap();
        assert!(
            note.not_replayed
                .iter()
                .any(|w| w.starts_with("other-user: the app's own call was not shown")),
            "{op}: {:?}",
            note.not_replayed
        );
        // Alice's own reads were replayed as bob, and hidden from him.
        assert_eq!(cell(&report, op, Principal::OtherUser), Some(Verdict::Pass));
    }
}

#[tokio::test]
async fn isolation_breaks_are_still_caught_through_replay() {
    for (v, op) in [
        ("other-user-data-visible", "getAccount"),
        ("other-users-web-form-visible", "getWebForm"),
    ] {
        let (_, report) = run(Setup::OneAddress, App::Isolation, &["--violate", v]).await;
        let found = violations(&report);
        assert!(
            found
                .iter()
                .any(|f| f.starts_with(&format!("{op} as other-user"))
                    && f.ends_with("[own-data-only]")),
            "{v}: {found:?}"
        );
    }
}

#[tokio::test]
async fn failed_logins_and_a_moved_clock_are_no_violation() {
    let (client, report) = run(Setup::OneAddress, App::FailingLogins { webform: true }, &[]).await;
    figures("failing-logins app, one address", &report);
    // The app's users did fail, in every way.
    assert_eq!(client.statuses("typo login"), [400]);
    assert_eq!(client.statuses("unverified login"), [403]);
    assert_eq!(client.statuses("wrong password"), [400, 400, 400]);
    assert_eq!(client.statuses("locked login"), [423]);
    assert_eq!(client.statuses("stale refresh"), [400]);
    assert_eq!(client.statuses("unknown refresh"), [400]);
    assert_eq!(client.statuses("user reads self after expiry"), [401]);
    assert_eq!(client.statuses("user reads self again"), [200]);
    assert_eq!(violations(&report), Vec::<String>::new());
    // Listed apart, as the app's login failures, each with what it is taken for.
    let listed = |op: &str, status: u16, what: &str| {
        report
            .login_failures
            .iter()
            .any(|f| f.operation == op && f.status == status && f.reason.contains(what))
    };
    assert!(
        listed(
            "getToken.password",
            400,
            "a mistyped password or an unknown user"
        ),
        "{:?}",
        report.login_failures
    );
    assert!(
        listed("getToken.password", 403, "not verified"),
        "{:?}",
        report.login_failures
    );
    assert!(
        listed("getToken.password", 423, "locked"),
        "{:?}",
        report.login_failures
    );
    assert!(
        listed(
            "getToken.refresh_token",
            400,
            "never saw this refresh token"
        ),
        "{:?}",
        report.login_failures
    );
    assert!(
        listed("getToken.refresh_token", 400, "revoke"),
        "{:?}",
        report.login_failures
    );
    // The calls after the clock moved were judged as expired tokens, refused as they must be.
    assert_eq!(
        cell(&report, "getAuthorizedUser", Principal::ExpiredToken),
        Some(Verdict::Pass)
    );
    assert_eq!(
        cell(&report, "getClientConfiguration", Principal::ExpiredToken),
        Some(Verdict::Pass)
    );
    assert_eq!(report.exit_code(), 0);
}

#[tokio::test]
async fn lifecycle_breaks_are_still_caught() {
    for (v, rule) in [
        ("admin-gets-user-token", "user-tokens-via-app-clients"),
        ("second-app-client-isolated", "shared-user-base"),
        ("expired-token-accepted", "token-expiry"),
        ("revoked-token-accepted", "token-required"),
    ] {
        let (_, report) = run(
            Setup::OneAddress,
            App::FailingLogins { webform: false },
            &["--violate", v],
        )
        .await;
        let found = violations(&report);
        assert!(
            found.iter().any(|f| f.ends_with(&format!("[{rule}]"))),
            "{v}: expected [{rule}], found {found:?}"
        );
    }
}

#[tokio::test]
async fn through_finapis_two_hosts_the_web_form_calls_are_judged() {
    let (client, report) = run(Setup::Split, App::FailingLogins { webform: true }, &[]).await;
    figures("failing-logins app, split hosts", &report);
    assert_eq!(client.statuses("user creates a web form"), [201]);
    assert_eq!(client.statuses("user reads the web form again"), [200]);
    assert_eq!(violations(&report), Vec::<String>::new());
    // Its services line says where each went, and that Web Form 2.0 was judged, as check's does.
    let web_form = &report.report.services[1];
    assert!(web_form.checked, "{web_form:?}");
    assert!(
        report.summary_line().contains(&format!(
            "services: Access V2 at {}; Web Form 2.0 at {}",
            access_address(&report),
            web_form.address.as_deref().unwrap()
        )),
        "{}",
        report.summary_line()
    );
    assert!(report.web_form_calls >= 5);
    assert_eq!(report.web_form_calls, report.web_form_judged);
    assert_eq!(
        cell(&report, "getWebForm", Principal::User),
        Some(Verdict::Pass)
    );
    // Its reads were replayed on the Web Form host.
    assert_eq!(
        cell(&report, "getWebForm", Principal::OtherUser),
        Some(Verdict::Pass)
    );
    assert_eq!(
        cell(&report, "getWebForm", Principal::ExpiredToken),
        Some(Verdict::Pass)
    );
    // The app that tests isolation itself, on the two hosts.
    let (client, report) = run(Setup::Split, App::Isolation, &[]).await;
    figures("isolation app, split hosts", &report);
    assert_eq!(client.statuses("bob reads alice's web form"), [404]);
    assert_eq!(violations(&report), Vec::<String>::new());
    assert_eq!(
        cell(&report, "getWebForm", Principal::OtherUser),
        Some(Verdict::Pass)
    );
}

#[tokio::test]
async fn through_finapis_two_hosts_a_web_form_break_is_caught() {
    let (_, report) = run(
        Setup::Split,
        App::Isolation,
        &["--violate", "other-users-web-form-visible"],
    )
    .await;
    let found = violations(&report);
    assert!(
        found
            .iter()
            .any(|f| f.starts_with("getWebForm as other-user") && f.ends_with("[own-data-only]")),
        "{found:?}"
    );
}

#[tokio::test]
async fn without_the_web_form_host_its_calls_pass_through_unjudged() {
    let (client, report) = run(
        Setup::SplitAccessOnly,
        App::FailingLogins { webform: true },
        &[],
    )
    .await;
    figures("failing-logins app, split hosts, Access only", &report);
    // The Access host answers Web Form paths 404; the proxy judges none of them.
    assert_eq!(client.statuses("user creates a web form"), [404]);
    assert_eq!(violations(&report), Vec::<String>::new());
    assert!(report.web_form_calls > 0);
    assert_eq!(report.web_form_judged, 0);
    let web_form = &report.report.services[1];
    assert!(
        !web_form.checked && web_form.note.contains("--webform-upstream"),
        "{web_form:?}"
    );
    assert!(
        report
            .summary_line()
            .contains("Web Form 2.0 not checked: Web Form 2.0 does not answer at"),
        "{}",
        report.summary_line()
    );
    assert!(report
        .report
        .results
        .iter()
        .all(|r| !r.operation.contains("WebForm")));
}

#[tokio::test]
async fn the_json_report_carries_checks_summary_object() {
    let (_, report) = run(Setup::OneAddress, App::Isolation, &[]).await;
    let text = report.render(finapi_conformance::report::Format::Json, false);
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let check_summary = serde_json::to_value(report.report.summary()).unwrap();
    assert_eq!(v["summary"], check_summary);
    for k in [
        "total",
        "passed",
        "violations",
        "inconclusive",
        "skipped",
        "run",
        "possible",
    ] {
        assert!(v["summary"][k].is_u64(), "{k}");
    }
    // The HTML page shows them where check's does, once.
    let html = report.render(finapi_conformance::report::Format::Html, false);
    assert_eq!(html.matches("id=\"services\"").count(), 1);
    assert!(html.contains("<table id=\"traffic\">"));
    // The services where check's JSON has them, and nowhere else.
    assert_eq!(v["report"]["services"][1]["service"], "Web Form 2.0");
    assert!(v.get("services").is_none());
    assert!(v["login_failures"].is_array());
}

#[tokio::test]
async fn a_configuration_read_before_any_user_logs_in_is_replayed_as_a_user_once_one_does() {
    let (client, report) = run(Setup::OneAddress, App::ConfigFirst, &[]).await;
    figures("config-first app", &report);
    assert_eq!(client.statuses("app reads its configuration"), [200]);
    assert_eq!(client.statuses("user reads self"), [200]);
    assert_eq!(violations(&report), Vec::<String>::new());
    // No user had logged in when the app read its configuration: the replay as a user waited
    // for one, and was sent once the user logged in.
    assert_eq!(
        cell(&report, "getClientConfiguration", Principal::User),
        Some(Verdict::Pass)
    );
    let waited = |report: &ProxyReport| {
        report
            .deferred
            .iter()
            .find(|d| d.operation == "getClientConfiguration" && d.principal == Principal::User)
            .cloned()
            .unwrap_or_else(|| panic!("{:?}", report.deferred))
    };
    let note = waited(&report);
    assert_eq!((note.deferred, note.sent), (1, 1), "{note:?}");
    assert!(note.never_sent.is_empty(), "{note:?}");
    assert!(note.waited_for.contains("no user's live token"), "{note:?}");
    let (_, report) = run(
        Setup::OneAddress,
        App::ConfigFirst,
        &["--violate", "user-token-reaches-client-services"],
    )
    .await;
    let found = violations(&report);
    assert!(
        found
            .iter()
            .any(|f| f.starts_with("getClientConfiguration as user") && f.ends_with("[user-scope]")),
        "{found:?}"
    );
    // Waiting is bounded: with room for no read, or no time to wait, the replay is never sent,
    // and the report says why.
    for (bound, why) in [
        (
            Box::new(|c: &mut ProxyConfig| c.max_deferred = 0) as Box<dyn FnOnce(&mut ProxyConfig)>,
            "the bound: 0 reads were already waiting",
        ),
        (
            Box::new(|c: &mut ProxyConfig| c.defer_for = std::time::Duration::ZERO),
            "no token for it appeared within 0 s",
        ),
    ] {
        let (_, report) = run_with(
            Setup::OneAddress,
            App::ConfigFirst,
            &["--violate", "user-token-reaches-client-services"],
            bound,
        )
        .await;
        assert_eq!(
            cell(&report, "getClientConfiguration", Principal::User),
            None,
            "{why}"
        );
        let note = waited(&report);
        assert_eq!(note.sent, 0, "{note:?}");
        assert_eq!(note.never_sent.get(why), Some(&1), "{note:?}");
    }
}

/// A fake finAPI that refuses one operation with 401 for a user token it accepts elsewhere
/// (over-restriction), unless `dead`: then it refuses that token everywhere (a token that
/// ended for a reason the proxy did not see). Every grant gets a token named after it.
async fn over_restricting_upstream(dead: bool) -> wiremock::MockServer {
    use finapi_conformance::world::demo;
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, Request, ResponseTemplate};
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v2/oauth/token"))
        .respond_with(|req: &Request| {
            let form: Vec<(String, String)> =
                form_urlencoded::parse(&req.body).into_owned().collect();
            let get = |k: &str| {
                form.iter()
                    .find(|(n, _)| n == k)
                    .map_or("", |(_, v)| v.as_str())
                    .to_string()
            };
            let app =
                [demo::APP_CLIENT.0, demo::APP_CLIENT2.0].contains(&get("client_id").as_str());
            let who = match get("grant_type").as_str() {
                // Only the mandator's app clients get user tokens, as finAPI documents.
                "password" if !app => return ResponseTemplate::new(403),
                "password" => format!("user-{}", get("username")),
                _ => format!("client-{}", get("client_id")),
            };
            ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "access_token": format!("token-of-{who}"),
                "refresh_token": format!("refresh-of-{who}"),
                "expires_in": 3600,
                "token_type": "bearer",
                "scope": "all",
            }))
        })
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/accounts"))
        .respond_with(ResponseTemplate::new(401).set_body_json(
            serde_json::json!({ "error": "invalid_token", "error_description": "refused" }),
        ))
        .with_priority(1)
        .mount(&server)
        .await;
    let other = if dead { 401 } else { 200 };
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(other).set_body_json(serde_json::json!({})))
        .with_priority(5)
        .mount(&server)
        .await;
    server
}

/// The app logs alice in and lists her accounts through the proxy in front of `upstream`.
async fn refused_listing(upstream: &str, replay: ReplayMode) -> ProxyReport {
    let mut config = ProxyConfig::new(upstream, Credentials::demo());
    config.replay = replay;
    config.limits = Limits::local();
    let proxy = Proxy::start(config).await.unwrap();
    let mut c = Client::new(Bases::one(&proxy.uri()));
    let (alice, _) = c
        .grant(
            "alice logs in",
            crate::common::Grant::Password(
                finapi_conformance::world::demo::APP_CLIENT,
                finapi_conformance::world::demo::USERS[0],
            ),
        )
        .await;
    let listed = c
        .get(
            "alice lists her accounts",
            "/api/v2/accounts",
            alice.as_deref(),
        )
        .await;
    assert_eq!(listed.status, 401);
    proxy.finish().await
}

#[tokio::test]
async fn a_401_on_a_token_the_upstream_accepts_elsewhere_is_over_restriction() {
    let upstream = over_restricting_upstream(false).await;
    let report = refused_listing(&upstream.uri(), ReplayMode::Reads).await;
    let found = violations(&report);
    assert!(
        found
            .iter()
            .any(|f| f.starts_with("getAndSearchAllAccounts as user")
                && f.contains("accepted the same token")),
        "{found:?}"
    );
    assert!(report.controls >= 1);
    // Without replay the proxy sends no control: the refusal stays inconclusive.
    let report = refused_listing(&upstream.uri(), ReplayMode::Off).await;
    assert_eq!(violations(&report), Vec::<String>::new());
    assert_eq!(
        cell(&report, "getAndSearchAllAccounts", Principal::User),
        Some(Verdict::Inconclusive)
    );
}

#[tokio::test]
async fn a_401_on_a_token_that_ended_unseen_is_inconclusive() {
    let upstream = over_restricting_upstream(true).await;
    let report = refused_listing(&upstream.uri(), ReplayMode::Reads).await;
    assert_eq!(violations(&report), Vec::<String>::new());
    let r = report
        .report
        .results
        .iter()
        .find(|r| r.operation == "getAndSearchAllAccounts" && r.principal == Principal::User)
        .unwrap();
    assert_eq!(r.verdict, Verdict::Inconclusive);
    assert!(
        r.reason
            .contains("ended for a reason the proxy did not see"),
        "{}",
        r.reason
    );
}

#[tokio::test]
async fn a_revoke_sent_elsewhere_is_no_violation() {
    // The app's token is revoked by a call that does not pass through the proxy.
    use finapi_conformance::world::demo;
    let served = Served::start(&[]);
    let mut config = ProxyConfig::new(&served.url, Credentials::demo());
    config.replay = ReplayMode::Reads;
    config.limits = Limits::local();
    let proxy = Proxy::start(config).await.unwrap();
    let mut c = Client::new(Bases::one(&proxy.uri()));
    let (alice, _) = c
        .grant(
            "alice logs in",
            crate::common::Grant::Password(demo::APP_CLIENT, demo::USERS[0]),
        )
        .await;
    let alice = alice.unwrap();
    assert_eq!(
        c.get("alice reads self", "/api/v2/users", Some(&alice))
            .await
            .status,
        200
    );
    let app = crate::common::client_token(
        &served.url,
        finapi_conformance::ApiVersion::V2,
        demo::APP_CLIENT,
    )
    .await;
    let r = crate::common::post_form(
        &served.url,
        "/api/v2/oauth/revoke",
        Some(&app),
        &[("token", &alice), ("token_type_hint", "access_token")],
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        c.get("alice reads self again", "/api/v2/users", Some(&alice))
            .await
            .status,
        401
    );
    let report = proxy.finish().await;
    assert_eq!(violations(&report), Vec::<String>::new());
    assert_eq!(
        cell(&report, "getAuthorizedUser", Principal::User),
        Some(Verdict::Inconclusive)
    );
}

#[tokio::test]
async fn in_front_of_staging_on_two_hosts_nothing_is_a_violation() {
    // Staging's profile: rate limits (429), latency, answers that fail; the app's sign-ups may
    // be refused and its users' logins then fail too.
    for app in [App::FailingLogins { webform: true }, App::Isolation] {
        let (_, report) = run(Setup::Split, app, &["--profile", "staging"]).await;
        figures(&format!("{app:?}, split hosts, staging"), &report);
        assert_eq!(violations(&report), Vec::<String>::new(), "{app:?}");
    }
}

/// The `Date` of an answer, as the upstream's time.
fn dated(r: &reqwest::Response) -> chrono::DateTime<chrono::Utc> {
    let text = r.headers()["date"].to_str().unwrap();
    chrono::DateTime::parse_from_rfc2822(text)
        .unwrap()
        .with_timezone(&chrono::Utc)
}

#[tokio::test]
async fn both_mocks_date_every_answer_in_their_own_time() {
    // The proxy reads the upstream's time from `Date`: a moved clock must show there.
    let http = crate::common::http();
    let served = Served::start(&[]);
    let before = dated(
        &http
            .get(format!("{}/api/v2/banks", served.url))
            .send()
            .await
            .unwrap(),
    );
    let moved = http
        .post(format!("{}/__finapi/clock", served.url))
        .json(&serde_json::json!({ "advance_seconds": 7200 }))
        .send()
        .await
        .unwrap();
    assert!(dated(&moved) >= before + chrono::Duration::seconds(7200));
    let after = dated(
        &http
            .get(format!("{}/api/v2/banks", served.url))
            .send()
            .await
            .unwrap(),
    );
    assert!(
        after >= before + chrono::Duration::seconds(7200),
        "{before} {after}"
    );

    let mock = finapi_conformance::FinapiMock::start().await;
    let before = dated(
        &http
            .get(format!("{}/api/v2/banks", mock.uri()))
            .send()
            .await
            .unwrap(),
    );
    mock.clock().advance(std::time::Duration::from_secs(7200));
    let after = dated(
        &http
            .get(format!("{}/api/v2/banks", mock.uri()))
            .send()
            .await
            .unwrap(),
    );
    assert!(
        after >= before + chrono::Duration::seconds(7200),
        "{before} {after}"
    );
}
