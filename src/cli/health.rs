//! `health`: is a mock up? Asks `GET /__finapi/health` (no token needed) and exits 0 when it
//! answers `{"status":"ok"}`, 1 otherwise, with one line either way. The container image's
//! health check, and a readiness probe for any runtime that can run a command.

use std::time::Duration;

use clap::Args;

use super::failure::Failure;

#[derive(Debug, Args)]
pub struct HealthArgs {
    /// The health endpoint to ask.
    #[arg(
        long,
        value_name = "URL",
        default_value = "http://127.0.0.1:8080/__finapi/health",
        env = "FINAPI_HEALTH_URL"
    )]
    pub url: String,
    /// Seconds to wait for the whole answer.
    #[arg(long, value_name = "S", default_value_t = 3)]
    pub timeout: u64,
}

/// Run the command; returns the exit code (0 healthy, 1 not).
pub async fn run(args: HealthArgs) -> Result<i32, Failure> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(args.timeout.max(1)))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .map_err(|e| Failure::usage(format!("cannot build an HTTP client: {e}")))?;
    let answer = match client.get(&args.url).send().await {
        Ok(answer) => answer,
        Err(e) => {
            println!("unhealthy: {} did not answer ({e})", args.url);
            return Ok(1);
        }
    };
    let status = answer.status();
    let body: serde_json::Value = answer.json().await.unwrap_or_default();
    if status.is_success() && body["status"] == "ok" {
        println!("ok: {} answered {status}", args.url);
        Ok(0)
    } else {
        println!("unhealthy: {} answered {status} {body}", args.url);
        Ok(1)
    }
}
