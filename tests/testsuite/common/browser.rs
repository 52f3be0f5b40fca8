//! Headless Chromium over WebDriver (chromedriver, through fantoccini) for the tests that
//! look at a page as a person would: the HTML report, Web Form 2.0's loader.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use fantoccini::{Client, ClientBuilder};

pub fn on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    })
}

/// What a browser test needs, or `None` when it cannot run here: then it says so on stderr, and
/// under `CI=true` (where CI installs the browser) it fails instead of skipping.
pub fn or_skip<T>(test: &str, found: Result<T, String>) -> Option<T> {
    match found {
        Ok(found) => Some(found),
        Err(why) => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true and {test} cannot run: {why}"
            );
            eprintln!("skipped {test}: {why}");
            None
        }
    }
}

/// The browser and its driver, or why the test cannot run.
pub fn find() -> Result<(PathBuf, PathBuf), String> {
    let chromium = std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .or_else(|| on_path("chromium"))
        .or_else(|| on_path("chromium-browser"))
        .ok_or("chromium is not installed (apt-get install -y chromium)")?;
    let driver = std::env::var_os("CHROMEDRIVER")
        .map(PathBuf::from)
        .or_else(|| on_path("chromedriver"))
        .ok_or("chromedriver is not installed (apt-get install -y chromium-driver)")?;
    Ok((chromium, driver))
}

/// A free loopback port (bound, read, released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// Start chromedriver and wait until its `/status` says it is ready.
pub async fn start_driver(driver: &Path) -> (tokio::process::Child, String) {
    let port = free_port();
    let child = tokio::process::Command::new(driver)
        .arg(format!("--port={port}"))
        .arg("--allowed-ips=127.0.0.1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("chromedriver starts");
    let url = format!("http://127.0.0.1:{port}");
    let http = super::http();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let mut poll = tokio::time::interval(Duration::from_millis(50));
    loop {
        poll.tick().await;
        if let Ok(r) = http.get(format!("{url}/status")).send().await {
            let body: serde_json::Value = r.json().await.unwrap_or_default();
            if body["value"]["ready"] == true {
                break;
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "chromedriver did not become ready on port {port}"
        );
    }
    (child, url)
}

/// A WebDriver session in a fresh headless Chromium: (the driver process, the client).
pub async fn session(chromium: &Path, driver: &Path) -> (tokio::process::Child, Client) {
    let (child, url) = start_driver(driver).await;
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": chromium,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run"
            ],
        }),
    );
    let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&url)
        .await
        .expect("a WebDriver session");
    (child, client)
}
