//! `proxy`: sit between an app and finAPI (or the mock), pass every call through and judge
//! it, until Ctrl-C or SIGTERM; then write the report.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;

use finapi_conformance::proxy::{Proxy, ProxyConfig, ReplayMode};
use finapi_conformance::runner::{Credentials, Limits, Redactor};

use super::args::{JudgeArgs, OutputArgs, TransportArgs};
use super::failure::Failure;
use super::process;

#[derive(Debug, Args)]
pub struct ProxyArgs {
    /// Base URL of finAPI Access (sandbox/staging) or of a `serve` process the calls go to.
    #[arg(long, value_name = "URL")]
    pub upstream: String,
    /// Base URL of finAPI Web Form 2.0. Default: derived from --upstream
    /// (`sandbox.finapi.io` -> `webform-sandbox.finapi.io`, `live.finapi.io` ->
    /// `webform-live.finapi.io`), else the upstream itself (a mock serves both).
    #[arg(long, value_name = "URL")]
    pub webform_upstream: Option<String>,
    /// Address to listen on (loopback unless you name another; port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:8090")]
    pub addr: SocketAddr,
    #[command(flatten)]
    pub judge: JudgeArgs,
    /// `reads`: re-send each inert read as every other principal (a stable read waits for a
    /// principal the proxy holds no token for yet; the ids a user's query names are judged
    /// too), and each password or refresh grant with every other client (writes never);
    /// `off`: only watch.
    #[arg(long, default_value = "off", value_parser = parse_replay)]
    pub replay: ReplayMode,
    /// Most replays in one run.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub max_replays: usize,
    /// `on`: a token the proxy never saw issued (got before it started) is identified by an
    /// inert read with it, once, and its calls are judged; `off`: its calls get only a shape
    /// check.
    #[arg(long, value_name = "on|off", default_value = "on", value_parser = parse_switch, action = clap::ArgAction::Set)]
    pub identify: bool,
    /// When stopped, also keep the session in DIR: `world.toml` (for `serve --world`),
    /// `session.feature` (the boundary facts, for `features`), `README.md`, and `shapes.json`
    /// when answers differed from the documented shapes. No secret is written.
    #[arg(long, value_name = "DIR")]
    pub record: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub output: OutputArgs,
    /// Replays per second (0 = unlimited).
    #[arg(long, default_value_t = 10.0)]
    pub rate: f64,
    /// Replays in flight at once.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// Seconds a replay may take; for the pass-through, the longest wait between two chunks.
    #[arg(long, default_value_t = 30)]
    pub timeout: u64,
    #[command(flatten)]
    pub transport: TransportArgs,
}

fn parse_replay(s: &str) -> Result<ReplayMode, String> {
    s.parse()
}

fn parse_switch(s: &str) -> Result<bool, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "on" => Ok(true),
        "off" => Ok(false),
        other => Err(format!("`{other}` is neither on nor off")),
    }
}

/// Run the command; returns the exit code (the report's, once stopped).
pub async fn run(args: ProxyArgs) -> Result<i32, Failure> {
    if args.concurrency == 0 {
        return Err(Failure::usage("--concurrency must be at least 1"));
    }
    let credentials = args
        .judge
        .credentials_file()?
        .unwrap_or_else(Credentials::from_env);
    let redactor = Redactor::new(credentials.secrets());
    if credentials.app.is_none() && credentials.admin.is_none() {
        eprintln!("warning: no client credentials (FINAPI_APP_CLIENT_ID, FINAPI_ADMIN_CLIENT_ID, ... or --credentials): the proxy cannot tell whose tokens it sees, so no call gets a role verdict");
    }
    let mut config = ProxyConfig::new(args.upstream.clone(), credentials);
    config.webform_upstream = args.webform_upstream.clone();
    config.addr = args.addr;
    config.version = args.judge.api_version;
    config.mode = args.judge.mode();
    config.readings = args.judge.readings.readings()?;
    config.replay = args.replay;
    config.max_replays = args.max_replays;
    config.identify = args.identify;
    config.record = args.record.clone();
    let mut limits = Limits::remote();
    limits.rate = args.rate.max(0.0);
    limits.concurrency = args.concurrency;
    limits.timeout = Duration::from_secs(args.timeout.max(1));
    config.limits = limits;
    config.transport = args.transport.transport();
    config.lines = Some(Arc::new(|line: &str| eprintln!("{line}")));
    let stop = process::stop_signal().await;
    let proxy = Proxy::start(config)
        .await
        .map_err(|e| Failure::usage(redactor.scrub(&e)))?;
    let services: Vec<String> = proxy
        .services()
        .iter()
        .map(|line| {
            if line.checked {
                format!("{} ({})\n", line.describe(), line.note)
            } else {
                format!("{}\n", line.describe())
            }
        })
        .collect();
    process::write_stdout(&format!(
        "finapi-conformance proxy listening on {}{}\n{}\
         Set both of your app's finAPI base URLs (Access and Web Form) to the proxy. Press Ctrl-C to stop and write the report.\n",
        proxy.uri(),
        if args.replay == ReplayMode::Reads {
            " (replaying reads and token grants)"
        } else {
            ""
        },
        services.concat(),
    ));
    stop.await;
    eprintln!("stopping...");
    let report = proxy.finish().await;
    // Every secret the proxy saw (credentials, tokens, passwords) is scrubbed by the
    // report's own redactor; the credentials once more here.
    let text = redactor.scrub(&report.render(args.output.format, args.output.color()));
    args.output
        .write(&text, &redactor.scrub(&report.summary_line()))?;
    match &report.recorded {
        Some(Ok(recorded)) => eprintln!("{}", recorded.summary_line()),
        Some(Err(e)) => {
            eprintln!("error: {}", redactor.scrub(e));
            return Ok(2);
        }
        None => {}
    }
    Ok(report.exit_code())
}
