//! The binary as a user runs it: `serve` in its own process over TCP, `check` against it,
//! exit codes, one-line errors, and no secret in any output.

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};

use finapi_conformance::world::demo;

use crate::common;

use common::served::{Served, BIN};
use common::TempDir;

/// The demo world's credentials, as a user exports them for a remote run.
fn demo_env() -> Vec<(&'static str, &'static str)> {
    vec![
        ("FINAPI_APP_CLIENT_ID", demo::APP_CLIENT.0),
        ("FINAPI_APP_CLIENT_SECRET", demo::APP_CLIENT.1),
        ("FINAPI_APP_CLIENT2_ID", demo::APP_CLIENT2.0),
        ("FINAPI_APP_CLIENT2_SECRET", demo::APP_CLIENT2.1),
        ("FINAPI_ADMIN_CLIENT_ID", demo::ADMIN_CLIENT.0),
        ("FINAPI_ADMIN_CLIENT_SECRET", demo::ADMIN_CLIENT.1),
        ("FINAPI_OTHER_APP_CLIENT_ID", demo::OTHER_APP_CLIENT.0),
        ("FINAPI_OTHER_APP_CLIENT_SECRET", demo::OTHER_APP_CLIENT.1),
    ]
}

fn secrets() -> Vec<&'static str> {
    demo_env()
        .into_iter()
        .filter(|(k, _)| k.ends_with("SECRET"))
        .map(|(_, v)| v)
        .collect()
}

fn check(url: &str, extra: &[&str]) -> Output {
    Command::new(BIN)
        .args([
            "check",
            "--base-url",
            url,
            "--rate",
            "0",
            "--concurrency",
            "8",
        ])
        .args(extra)
        .env_remove("FINAPI_BASE_URL")
        .envs(demo_env())
        .output()
        .expect("check runs")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn check_against_a_serve_process_passes_and_its_json_report_adds_up() {
    let served = Served::start(&[]);
    let out = check(&served.url, &["--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let s = &report["summary"];
    let total = s["total"].as_u64().unwrap();
    let parts: u64 = ["passed", "violations", "inconclusive", "skipped"]
        .iter()
        .map(|k| s[k].as_u64().unwrap())
        .sum();
    assert_eq!(total, parts);
    assert_eq!(s["violations"], 0);
    assert!(s["passed"].as_u64().unwrap() > 800, "{s}");
    let results = report["results"].as_array().unwrap();
    assert_eq!(results.len() as u64, total);
    for key in [
        "operation",
        "method",
        "path",
        "principal",
        "expected",
        "observed_status",
        "verdict",
        "rule",
        "latency_ms",
    ] {
        assert!(results[0].get(key).is_some(), "result without {key}");
    }
    // Without FINAPI_EXPIRED_TOKEN a remote run cannot make an expired token: skipped, with
    // the reason.
    let expired: Vec<_> = results
        .iter()
        .filter(|r| r["principal"] == "expired-token")
        .collect();
    assert!(!expired.is_empty());
    assert!(expired.iter().all(|r| r["verdict"] == "skipped"));
}

#[test]
fn a_broken_serve_process_makes_check_exit_1_and_name_the_rule() {
    let served = Served::start(&["--violate", "admin-gets-user-token"]);
    let out = check(
        &served.url,
        &["--only", "getToken.password", "--format", "json"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let bad: Vec<_> = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["verdict"] == "violation")
        .collect();
    assert_eq!(bad.len(), 1, "{bad:#?}");
    assert_eq!(bad[0]["principal"], "admin-client");
}

#[test]
fn missing_credentials_are_skipped_with_a_reason() {
    let served = Served::start(&[]);
    let out = Command::new(BIN)
        .args(["check", "--base-url", &served.url, "--rate", "0"])
        .args([
            "--only",
            "getUserList",
            "--format",
            "json",
            "--no-lifecycle",
        ])
        .env_remove("FINAPI_BASE_URL")
        .envs(demo_env().into_iter().filter(|(k, _)| !k.contains("ADMIN")))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let admin: Vec<_> = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["principal"] == "admin-client")
        .collect();
    assert_eq!(admin.len(), 1);
    assert_eq!(admin[0]["verdict"], "skipped");
    assert!(
        admin[0]["reason"]
            .as_str()
            .unwrap_or("")
            .contains("FINAPI_ADMIN_CLIENT"),
        "{}",
        admin[0]
    );
}

#[test]
fn no_secret_appears_in_any_format_or_the_dry_run() {
    let served = Served::start(&[]);
    let dir = TempDir::new("redaction");
    // Break something so the reports carry violations and their details as well.
    let broken = Served::start(&["--violate", "revoked-token-accepted"]);
    for url in [&served.url, &broken.url] {
        for format in ["table", "json", "junit", "markdown"] {
            let file = dir.join(format!("report.{format}"));
            let out = check(
                url,
                &["--format", format, "--output", file.to_str().unwrap()],
            );
            assert!(matches!(out.status.code(), Some(0 | 1)), "{}", text(&out));
            let written = std::fs::read_to_string(&file).unwrap();
            for secret in secrets() {
                assert!(
                    !text(&out).contains(secret),
                    "{format}: terminal shows a secret"
                );
                assert!(!written.contains(secret), "{format}: report shows a secret");
            }
            assert!(written.len() > 100, "{format}: report is empty");
        }
    }
    let out = check(&served.url, &["--dry-run"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let shown = text(&out);
    assert!(shown.contains("/api/v2/oauth/token"), "{shown}");
    for secret in secrets() {
        assert!(!shown.contains(secret), "the dry run shows a secret");
    }
}

#[test]
fn usage_and_configuration_errors_exit_2_with_one_line() {
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["check", "--api-version", "v3"], "v3"),
        (vec!["check", "--format", "yaml"], "yaml"),
        (
            vec!["check", "--base-url", "http://127.0.0.1:1"],
            "127.0.0.1:1",
        ),
        (vec!["check", "--base-url", "not a url"], "not a valid URL"),
        (vec!["check", "--violate", "no-such-break"], "no-such-break"),
        (
            vec!["check", "--credentials", "/nonexistent/creds"],
            "/nonexistent/creds",
        ),
        (
            vec!["serve", "--world", "/nonexistent/world.toml"],
            "world.toml",
        ),
        (vec!["serve", "--violate", "no-such-break"], "no-such-break"),
        (vec!["matrix", "--api-version", "v9"], "v9"),
        (vec!["no-such-command"], "no-such-command"),
    ];
    for (args, needle) in cases {
        let out = Command::new(BIN)
            .args(&args)
            .env_remove("FINAPI_BASE_URL")
            .envs(demo_env())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        // The first line says what is wrong (clap may add a hint about --help below it).
        let first = stderr.lines().next().unwrap_or("");
        assert!(first.starts_with("error:"), "{args:?}: {stderr:?}");
        assert!(first.contains(needle), "{args:?}: {stderr:?}");
    }
}

#[test]
fn a_bad_world_file_names_the_problem() {
    let dir = TempDir::new("world");
    let file = dir.join("world.toml");
    std::fs::write(&file, "[[mandators]]\nid = \"m\"\napi_version = \"v7\"\n").unwrap();
    let out = Command::new(BIN)
        .args(["serve", "--world", file.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("v7") && stderr.contains("world.toml"),
        "{stderr}"
    );
}

#[test]
fn serve_loads_the_example_world_and_prints_its_clients() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/world.example.toml");
    let mut child = Command::new(BIN)
        .args(["serve", "--addr", "127.0.0.1:0", "--world", example])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = String::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        let done = line.contains("Ctrl-C");
        seen.push_str(&line);
        seen.push('\n');
        if done {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    for id in [
        "acme-web",
        "acme-mobile",
        "acme-admin",
        "globex-app",
        "jane",
    ] {
        assert!(seen.contains(id), "{id} missing from {seen}");
    }
}

#[cfg(unix)]
#[test]
fn serve_stops_cleanly_on_ctrl_c() {
    let served = Served::start(&[]);
    let pid = served.child.id().to_string();
    let mut served = served;
    let status = Command::new("kill").args(["-INT", &pid]).status().unwrap();
    assert!(status.success());
    let exit = served.child.wait().unwrap();
    assert_eq!(exit.code(), Some(0), "serve did not exit cleanly: {exit:?}");
}

/// What a service manager or a container runtime sends: SIGTERM stops `serve` as Ctrl-C does.
#[cfg(unix)]
#[test]
fn serve_stops_cleanly_on_sigterm() {
    let mut served = Served::start(&[]);
    let pid = served.child.id().to_string();
    let status = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(status.success());
    // A serve that caught SIGTERM and went on serving fails here instead of hanging the suite
    // (`Served` kills it when dropped).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let exit = loop {
        if let Some(exit) = served.child.try_wait().unwrap() {
            break exit;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "serve still runs a minute after SIGTERM"
        );
        std::thread::yield_now();
    };
    assert_eq!(exit.code(), Some(0), "serve did not exit cleanly: {exit:?}");
}

/// `health` (the container image's health check): exit 0 with one line when a mock answers
/// `/__finapi/health`, 1 when nothing does or something else answers.
#[test]
fn health_says_whether_a_mock_is_up() {
    let served = Served::start(&[]);
    let ask = |url: &str| {
        Command::new(BIN)
            .args(["health", "--url", url, "--timeout", "5"])
            .output()
            .unwrap()
    };
    let up = ask(&format!("{}/__finapi/health", served.url));
    assert_eq!(up.status.code(), Some(0), "{}", text(&up));
    assert!(text(&up).starts_with("ok:"), "{}", text(&up));
    // A finAPI path answers, but not as the health endpoint does.
    let other = ask(&format!("{}/api/v2/banks", served.url));
    assert_eq!(other.status.code(), Some(1), "{}", text(&other));
    drop(served);
    let down = ask("http://127.0.0.1:1/__finapi/health");
    assert_eq!(down.status.code(), Some(1), "{}", text(&down));
    assert!(text(&down).starts_with("unhealthy:"), "{}", text(&down));
}

/// Beyond loopback the control API needs a token: without one `serve` does not start, and its
/// one line names the variable a container sets (`FINAPI_CONTROL_TOKEN`).
#[test]
fn serve_beyond_loopback_without_a_token_does_not_start() {
    let out = Command::new(BIN)
        .args(["serve", "--addr", "0.0.0.0:0"])
        .env_remove("FINAPI_CONTROL_TOKEN")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("FINAPI_CONTROL_TOKEN"), "{stderr}");
    assert!(stderr.contains("--no-control"), "{stderr}");
}

#[test]
fn matrix_prints_the_expected_role_matrix() {
    let out = Command::new(BIN)
        .args(["matrix", "--api-version", "v2"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let shown = String::from_utf8_lossy(&out.stdout);
    for needle in ["getUserList", "createUser", "admin"] {
        assert!(shown.contains(needle), "{needle} missing from the matrix");
    }
}

#[test]
fn readings_of_ambiguous_rules_are_chosen_on_both_sides() {
    // The mock lets the admin client read banks; a checker with the default reading sees it.
    let served = Served::start(&["--reading", "admin-reads-banks=true"]);
    let only = ["--only", "Banks", "--no-lifecycle", "--format", "json"];
    let out = check(&served.url, &only);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let out = check(
        &served.url,
        &[&only[..], &["--reading", "admin-reads-banks=true"]].concat(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = check(&served.url, &["--reading", "admin-reads-everything"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("unknown reading"), "{}", text(&out));
}

#[test]
fn diff_lists_exactly_the_checks_that_differ() {
    let faithful = Served::start(&[]);
    let broken = Served::start(&["--violate", "admin-gets-user-token"]);
    let run = |a: &str, b: &str| {
        Command::new(BIN)
            .args(["diff", "--base-url", a, "--against", b, "--rate", "0"])
            .args(["--only", "Authorization", "--no-lifecycle"])
            .env_remove("FINAPI_BASE_URL")
            .envs(demo_env())
            .output()
            .unwrap()
    };
    let out = run(&faithful.url, &broken.url);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let shown = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = shown.lines().filter(|l| l.contains(" as ")).collect();
    assert_eq!(lines.len(), 1, "{shown}");
    assert!(
        lines[0].starts_with("getToken.password as admin-client"),
        "{shown}"
    );
    let out = run(&faithful.url, &faithful.url);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("0 of "));
}

/// The users of the demo mandator whose ids start with `prefix`, as the admin client sees
/// them (deleted users' ids are masked, so they do not match).
fn run_users(url: &str) -> Vec<String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let http = common::http();
        let v2 = finapi_conformance::ApiVersion::V2;
        let token = common::client_token(url, v2, demo::ADMIN_CLIENT).await;
        let list: serde_json::Value = http
            .get(format!(
                "{url}/api/v2/mandatorAdmin/getUserList?perPage=500&isDeleted=false"
            ))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        list["users"]
            .as_array()
            .unwrap_or_else(|| panic!("no users in {list}"))
            .iter()
            .filter_map(|u| u["userId"].as_str())
            .filter(|id| id.starts_with("fc-"))
            .map(str::to_string)
            .collect()
    })
}

#[cfg(unix)]
#[test]
fn ctrl_c_stops_a_check_and_removes_its_users() {
    let served = Served::start(&[]);
    // A slow run (20 requests/s, a full check takes minutes), so it is surely mid-way when
    // interrupted.
    let child = Command::new(BIN)
        .args(["check", "--base-url", &served.url, "--rate", "20"])
        .env_remove("FINAPI_BASE_URL")
        .envs(demo_env())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The run has created its users once they show up in the mandator's user list.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while run_users(&served.url).len() < 3 {
        assert!(
            std::time::Instant::now() < deadline,
            "the run created no users"
        );
        std::thread::yield_now();
    }
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap()
        .success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert_eq!(run_users(&served.url), Vec::<String>::new());
}
