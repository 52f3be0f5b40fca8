//! The command line: `serve` (and, with the runner, `check`, `matrix`, `diff`).

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

use finapi_conformance::faults::{Faults, Violation};
use finapi_conformance::model::{ApiVersion, Catalogue, Mode, Readings};
use finapi_conformance::proxy::{Proxy, ProxyConfig, ReplayMode};
use finapi_conformance::report::{self, Format};
use finapi_conformance::runner::{
    self, http::Limits, redact::Redactor, CheckConfig, Credentials, Filters, Target,
};
use finapi_conformance::serve::Server;
use finapi_conformance::sim::{SimConfig, Simulator};
use finapi_conformance::world::World;

#[derive(Debug, Parser)]
#[command(
    name = "finapi-conformance",
    version,
    about = "Role-boundary conformance for the finAPI API: a mock and a checker"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the mock finAPI standalone (for clients in any language, and long runs).
    Serve(ServeArgs),
    /// Check every role boundary against the in-process mock or a real endpoint.
    Check(CheckArgs),
    /// Print the expected role matrix (what the docs say), or the rules behind it.
    Matrix(MatrixArgs),
    /// Run the same checks against two targets and list every check whose outcome differs.
    Diff(DiffArgs),
    /// Response and request shapes (fixtures/shapes/).
    #[command(subcommand)]
    Shapes(ShapesCommand),
    /// List what a finAPI OpenAPI spec adds, removes or changes against the catalogue and the
    /// shapes; exit code 1 when anything differs.
    SpecDiff(SpecDiffArgs),
    /// Sit between your app and finAPI (or the mock): pass every call through, judge each
    /// with the role model, optionally replay reads and token grants as other principals.
    Proxy(ProxyArgs),
    /// Run Gherkin feature files (default: the built-in suite) with the built-in steps.
    #[cfg(feature = "gherkin")]
    Features(crate::cli_features::FeaturesArgs),
}

#[derive(Debug, Subcommand)]
pub enum ShapesCommand {
    /// Convert an OpenAPI 3 document (YAML or JSON) into the shapes format and print it.
    ImportOpenapi(ImportOpenapiArgs),
}

#[derive(Debug, Args)]
pub struct ImportOpenapiArgs {
    /// The OpenAPI document.
    pub spec: PathBuf,
    /// API version the shapes are for.
    #[arg(long, value_parser = parse_version)]
    pub api_version: ApiVersion,
}

#[derive(Debug, Args)]
pub struct SpecDiffArgs {
    /// The OpenAPI document (YAML or JSON).
    pub spec: PathBuf,
    /// API version to compare with (default: v2 if a path starts with /api/v2/, else v1).
    #[arg(long, value_parser = parse_version)]
    pub api_version: Option<ApiVersion>,
}

#[derive(Debug, Args, Clone)]
pub struct TargetArgs {
    /// API version of the target.
    #[arg(long, default_value = "v2", value_parser = parse_version)]
    pub api_version: ApiVersion,
    /// Exact statuses and error bodies as documented (default: any 401/403 counts as denied).
    #[arg(long)]
    pub strict: bool,
    /// Only these checks: a section, operationId, principal, rule id or lifecycle scenario (repeatable).
    #[arg(long, value_name = "SECTION|OPERATION|PRINCIPAL")]
    pub only: Vec<String>,
    /// Leave out these checks (same keys as --only; repeatable).
    #[arg(long, value_name = "SECTION|OPERATION|PRINCIPAL")]
    pub skip: Vec<String>,
    /// KEY=VALUE file with the FINAPI_* credential variables (the environment wins).
    #[arg(long, value_name = "FILE")]
    pub credentials: Option<PathBuf>,
    /// Requests in flight at once (default: 4 remote, 16 in-process).
    #[arg(long)]
    pub concurrency: Option<usize>,
    /// Requests per second against a remote target (0 = unlimited).
    #[arg(long, default_value_t = 10.0)]
    pub rate: f64,
    /// Seconds before a request times out.
    #[arg(long, default_value_t = 30)]
    pub timeout: u64,
    /// Retries on 429/503 (honouring Retry-After).
    #[arg(long, default_value_t = 3)]
    pub retries: u32,
    /// Seconds to establish a connection (TCP and TLS), apart from --timeout.
    #[arg(long, value_name = "S", default_value_t = 10)]
    pub connect_timeout: u64,
    /// Longest response body read, in bytes; past it the connection is dropped and the check
    /// is inconclusive (in set-up: the run stops). Default 16 MiB.
    #[arg(long, value_name = "BYTES", default_value_t = runner::http::DEFAULT_MAX_BODY_BYTES)]
    pub max_body_bytes: u64,
    /// PEM file of CA certificates to trust besides the system's and the bundled ones
    /// (repeatable; the variable takes a path list).
    #[arg(long, value_name = "FILE", env = "FINAPI_CA_CERT", value_delimiter = PATH_LIST_SEPARATOR)]
    pub ca_cert: Vec<PathBuf>,
    /// Allow http:// to a host that is not loopback (credentials then travel in clear): only
    /// for a test host on a private network.
    #[arg(long)]
    pub allow_plain_http: bool,
    /// Allow probes that could change data the run did not create if a boundary were broken,
    /// and the secret-rotation scenario (which restores the secret).
    #[arg(long)]
    pub allow_mutations: bool,
    /// Keep the users the run created (default: removed at the end, also after Ctrl-C).
    #[arg(long)]
    pub keep_users: bool,
    /// Skip the token lifecycle scenarios.
    #[arg(long)]
    pub no_lifecycle: bool,
    /// Break the in-process mock on purpose (repeatable; see `serve --list-violations`).
    #[arg(long = "violate", value_name = "RULE")]
    pub violations: Vec<String>,
    /// Read an ambiguous rule differently: NAME=true|false (repeatable; see
    /// docs/readings.md; names: admin-reads-banks, admin-reads-client-configuration,
    /// cross-client-user-token-revoke).
    #[arg(long = "reading", value_name = "NAME=BOOL")]
    pub readings: Vec<String>,
    /// Keep this run's client tokens in FILE (mode 0600, never printed); a later run uses one
    /// that has expired since as the expired-token principal.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Base URL of the target's Web Form 2.0 host (finAPI: https://webform-sandbox.finapi.io);
    /// default: the target's own address, where the mocks serve it.
    #[arg(long, env = "FINAPI_WEBFORM_URL", value_name = "URL")]
    pub webform_url: Option<String>,
    /// On a V2 target without a control API: print the run's import web form and wait up to
    /// SECONDS for a person to log in to the finAPI Test Bank there, so the checks that need
    /// the run user's bank data run.
    #[arg(long, value_name = "SECONDS")]
    pub webform_interactive: Option<u64>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Base URL of the target (finAPI sandbox/staging, or a `serve` process); `mock` or
    /// nothing: the in-process mock.
    #[arg(long, env = "FINAPI_BASE_URL")]
    pub base_url: Option<String>,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Report format.
    #[arg(long, default_value = "table", value_parser = parse_format)]
    pub format: Format,
    /// Write the report to a file (the summary line still goes to the terminal).
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// List every request the run would send, and send none.
    #[arg(long)]
    pub dry_run: bool,
    /// Re-run only the checks a previous JSON report left failed, inconclusive or unfinished,
    /// and merge its passes and skips into this run's report.
    #[arg(long, value_name = "REPORT.json")]
    pub resume: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ProxyArgs {
    /// Base URL of finAPI (sandbox/staging) or of a `serve` process the calls go to.
    #[arg(long, value_name = "URL")]
    pub upstream: String,
    /// Address to listen on (loopback unless you name another; port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:8090")]
    pub addr: SocketAddr,
    /// API version of the mandator.
    #[arg(long, default_value = "v2", value_parser = parse_version)]
    pub api_version: ApiVersion,
    /// Exact statuses and error bodies as documented (default: any 401/403 counts as denied).
    #[arg(long)]
    pub strict: bool,
    /// `reads`: re-send each inert read as every other principal, and each password or
    /// refresh grant with every other client (writes never); `off`: only watch.
    #[arg(long, default_value = "off", value_parser = parse_replay)]
    pub replay: ReplayMode,
    /// Most replays in one run.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub max_replays: usize,
    /// Report format.
    #[arg(long, default_value = "table", value_parser = parse_format)]
    pub format: Format,
    /// Write the report to a file (the summary line still goes to the terminal).
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// KEY=VALUE file with the FINAPI_* credential variables (the environment wins).
    #[arg(long, value_name = "FILE")]
    pub credentials: Option<PathBuf>,
    /// Replays per second (0 = unlimited).
    #[arg(long, default_value_t = 10.0)]
    pub rate: f64,
    /// Replays in flight at once.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// Seconds a replay may take; for the pass-through, the longest wait between two chunks.
    #[arg(long, default_value_t = 30)]
    pub timeout: u64,
    /// Seconds to establish a connection (TCP and TLS).
    #[arg(long, value_name = "S", default_value_t = 10)]
    pub connect_timeout: u64,
    /// Longest request body passed on, and longest replay answer read, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = runner::http::DEFAULT_MAX_BODY_BYTES)]
    pub max_body_bytes: u64,
    /// PEM file of CA certificates to trust besides the system's and the bundled ones.
    #[arg(long, value_name = "FILE", env = "FINAPI_CA_CERT", value_delimiter = PATH_LIST_SEPARATOR)]
    pub ca_cert: Vec<PathBuf>,
    /// Allow http:// to an upstream that is not loopback (credentials then travel in clear).
    #[arg(long)]
    pub allow_plain_http: bool,
    /// Read an ambiguous rule differently: NAME=true|false (repeatable; see docs/readings.md).
    #[arg(long = "reading", value_name = "NAME=BOOL")]
    pub readings: Vec<String>,
}

fn parse_replay(s: &str) -> Result<ReplayMode, String> {
    s.parse()
}

#[derive(Debug, Args)]
pub struct MatrixArgs {
    #[arg(long, default_value = "v2", value_parser = parse_version)]
    pub api_version: ApiVersion,
    /// Print the rules and the documentation behind each instead.
    #[arg(long)]
    pub rules: bool,
    /// Read an ambiguous rule differently: NAME=true|false (repeatable; see
    /// docs/readings.md; names: admin-reads-banks, admin-reads-client-configuration,
    /// cross-client-user-token-revoke).
    #[arg(long = "reading", value_name = "NAME=BOOL")]
    pub readings: Vec<String>,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// First target (`mock` for the in-process mock).
    #[arg(long)]
    pub base_url: String,
    /// Second target (`mock` for the in-process mock).
    #[arg(long)]
    pub against: String,
    #[command(flatten)]
    pub target: TargetArgs,
}

/// Separator of the path list in `FINAPI_CA_CERT` (as in `PATH`).
const PATH_LIST_SEPARATOR: char = if cfg!(windows) { ';' } else { ':' };

fn parse_version(s: &str) -> Result<ApiVersion, String> {
    s.parse()
}

fn parse_format(s: &str) -> Result<Format, String> {
    s.parse()
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// World file (TOML) with mandators, clients and users; default: the demo world.
    #[arg(long)]
    pub world: Option<PathBuf>,
    /// Switch on a deliberate boundary break (repeatable); see --list-violations.
    #[arg(long = "violate", value_name = "RULE")]
    pub violations: Vec<String>,
    /// List the boundary breaks the mock can simulate, and exit.
    #[arg(long)]
    pub list_violations: bool,
    /// Read an ambiguous rule differently: NAME=true|false (repeatable; see
    /// docs/readings.md; names: admin-reads-banks, admin-reads-client-configuration,
    /// cross-client-user-token-revoke).
    #[arg(long = "reading", value_name = "NAME=BOOL")]
    pub readings: Vec<String>,

    /// How many recent requests the journal keeps (operation, caller, status, rule; never a
    /// secret); 0 = none. Read it at GET /__finapi/journal.
    #[arg(long, default_value_t = 1000)]
    pub journal: usize,

    /// Answer like a busy real deployment: `staging`, or knobs separated by commas
    /// (validate-first, rate-limit, flaky, latency, long-tokens, alt-errors, seed=N).
    #[arg(long, value_name = "KNOB[,KNOB]")]
    pub profile: Option<String>,
    /// Switch off the control API under /__finapi/ (journal, reset, world, faults, clock).
    #[arg(long)]
    pub no_control: bool,
    /// Token the control API requires (Authorization: Bearer or X-Finapi-Control-Token);
    /// needed when listening beyond loopback.
    #[arg(long, env = "FINAPI_CONTROL_TOKEN", hide_env_values = true)]
    pub control_token: Option<String>,
}

/// A CLI failure: one line for the user and an exit code.
#[derive(Debug)]
pub struct Failure {
    pub message: String,
    pub code: i32,
}

impl Failure {
    pub fn usage(message: impl Into<String>) -> Failure {
        Failure {
            message: message.into(),
            code: 2,
        }
    }
}

/// Run a parsed command; returns the process exit code.
pub async fn run(cli: Cli) -> Result<i32, Failure> {
    match cli.command {
        Command::Serve(args) => serve(args).await,
        Command::Check(args) => check(args).await,
        Command::Matrix(args) => {
            if args.rules {
                for rule in finapi_conformance::model::Rule::ALL {
                    println!(
                        "{:<28} {}\n{:<28} source: {}",
                        rule.id(),
                        rule.statement(),
                        "",
                        rule.source()
                    );
                }
            } else {
                let readings = parse_readings(&args.readings)?;
                let catalogue = Catalogue::embedded().with_readings(&readings);
                print!(
                    "{}",
                    report::table::expected_matrix(&catalogue, args.api_version)
                );
            }
            Ok(0)
        }
        Command::Diff(args) => diff(args).await,
        Command::Shapes(ShapesCommand::ImportOpenapi(args)) => {
            let shapes =
                finapi_conformance::model::openapi::import_file(&args.spec, args.api_version)
                    .map_err(|e| Failure::usage(e.to_string()))?;
            print!("{}", shapes.to_json_pretty());
            Ok(0)
        }
        Command::SpecDiff(args) => spec_diff(args),
        Command::Proxy(args) => proxy(args).await,
        #[cfg(feature = "gherkin")]
        Command::Features(args) => crate::cli_features::run(args).await,
    }
}

fn spec_diff(args: SpecDiffArgs) -> Result<i32, Failure> {
    use finapi_conformance::model::{openapi, spec_diff as sd};
    let unreadable =
        |e: openapi::OpenApiError| Failure::usage(format!("{}: {e}", args.spec.display()));
    // The version is not known before the document is read; convert, then relabel.
    let mut spec = openapi::import_file(&args.spec, ApiVersion::V1).map_err(unreadable)?;
    let version = args.api_version.unwrap_or_else(|| sd::guess_version(&spec));
    spec.version = version;
    let differences = sd::spec_diff(
        &spec,
        Catalogue::embedded(),
        sd::shapes_for(sd::guess_api(&spec), version),
        version,
    );
    let name = args.spec.file_name().map_or_else(
        || args.spec.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    print!("{}", sd::render(&differences, &name, version));
    Ok(if differences.is_empty() { 0 } else { 1 })
}

/// `--violate` names as a set of breaks.
fn parse_faults(names: &[String]) -> Result<Faults, Failure> {
    names
        .iter()
        .map(|v| v.parse::<Violation>())
        .collect::<Result<_, _>>()
        .map_err(Failure::usage)
}

/// `--reading` settings on top of the default readings.
fn parse_readings(settings: &[String]) -> Result<Readings, Failure> {
    Readings::default()
        .with_settings(settings)
        .map_err(Failure::usage)
}

/// Build a run configuration from the shared target flags.
pub(crate) fn config_for(
    base_url: Option<&str>,
    args: &TargetArgs,
) -> Result<CheckConfig, Failure> {
    let mut target = Target::parse(base_url);
    let faults = parse_faults(&args.violations)?;
    match &mut target {
        Target::InProcess { faults: f } => *f = faults,
        Target::Remote { .. } if !faults.is_empty() => {
            return Err(Failure::usage("--violate breaks the in-process mock only; use `serve --violate` for a separate process"))
        }
        Target::Remote { .. } => {}
    }
    let mut config = CheckConfig::new(target, args.api_version);
    config.readings = parse_readings(&args.readings)?;
    config.mode = if args.strict {
        Mode::Strict
    } else {
        Mode::Boundary
    };
    config.filters = Filters {
        only: args.only.clone(),
        skip: args.skip.clone(),
    };
    let mut limits = if config.target.is_remote() {
        Limits::remote()
    } else {
        Limits::local()
    };
    if config.target.is_remote() {
        limits.rate = args.rate.max(0.0);
        limits.retries = args.retries;
    }
    limits.timeout = Duration::from_secs(args.timeout.max(1));
    if let Some(c) = args.concurrency {
        if c == 0 {
            return Err(Failure::usage("--concurrency must be at least 1"));
        }
        limits.concurrency = c;
    }
    config.limits = Some(limits);
    config.transport.max_body_bytes = args.max_body_bytes;
    config.transport.connect_timeout = Duration::from_secs(args.connect_timeout.max(1));
    config.transport.ca_certs = args.ca_cert.clone();
    config.transport.allow_plain_http = args.allow_plain_http;
    if let Target::Remote { base_url } = &config.target {
        // Refused at once, before any other work, any connection or any name lookup.
        runner::http::TargetUrl::parse(base_url, &config.transport).map_err(Failure::usage)?;
    }
    if let Some(path) = &args.credentials {
        config.credentials = Some(Credentials::from_file(path).map_err(Failure::usage)?);
    }
    config.allow_mutations = args.allow_mutations;
    config.keep_users = args.keep_users;
    config.lifecycle = !args.no_lifecycle;
    config.state_file = args.state.clone();
    config.webform_url = args.webform_url.clone();
    config.webform_interactive = args.webform_interactive.map(Duration::from_secs);
    Ok(config)
}

fn secrets_of(config: &CheckConfig) -> Redactor {
    let creds = config
        .credentials
        .clone()
        .unwrap_or_else(|| match config.target {
            Target::InProcess { .. } => Credentials::demo(),
            Target::Remote { .. } => Credentials::from_env(),
        });
    let mut secrets = creds.secrets();
    if let Some(path) = &config.state_file {
        secrets.extend(
            runner::state_file::State::load(path)
                .map(|s| s.secrets())
                .unwrap_or_default(),
        );
    }
    Redactor::new(secrets)
}

async fn check(args: CheckArgs) -> Result<i32, Failure> {
    let mut config = config_for(args.base_url.as_deref(), &args.target)?;
    let redactor = secrets_of(&config);
    if args.dry_run {
        let text = dry_run(&config).await?;
        print!("{}", redactor.scrub(&text));
        return Ok(0);
    }
    config.handle_interrupt = true;
    if let Some(path) = &args.resume {
        let previous = runner::resume::Previous::load(path, &config).map_err(Failure::usage)?;
        eprintln!(
            "resuming {}: {} checks settled there, {} to run again",
            path.display(),
            previous.kept(),
            previous.rerun
        );
        config.resume = Some(Arc::new(previous));
    }
    if config.target.is_remote() {
        config.progress = Some(report::progress::for_stderr());
    }
    config.recorder = Some(runner::resume::Recorder::default());
    // A JSON report to a file is also written as the run goes (every 15 s), so a run that
    // dies leaves a report `--resume` can finish.
    let checkpoints = match (&args.output, args.format) {
        (Some(path), Format::Json) => {
            let scrubber = redactor.clone();
            futures::future::Either::Left(runner::resume::write_checkpoints(
                config.clone(),
                path.clone(),
                Duration::from_secs(15),
                move |text| scrubber.scrub(text),
            ))
        }
        _ => futures::future::Either::Right(std::future::pending::<()>()),
    };
    let report = tokio::select! {
        r = runner::run(&config) => r,
        _ = checkpoints => Err(runner::RunError::Config("the checkpoint writer stopped".into())),
    }
    .map_err(|e| Failure::usage(redactor.scrub(&e.to_string())))?;
    let color =
        args.output.is_none() && args.format == Format::Table && std::io::stdout().is_terminal();
    let text = redactor.scrub(&report::render(&report, args.format, color));
    match &args.output {
        Some(path) => {
            std::fs::write(path, text)
                .map_err(|e| Failure::usage(format!("cannot write {}: {e}", path.display())))?;
            println!("{}", redactor.scrub(&report::summary_line(&report)));
        }
        None => print!("{text}"),
    }
    if report.leftover_users > 0 {
        eprintln!("warning: {} users created by this run could not be removed (their ids start with the run prefix)", report.leftover_users);
    }
    if report.interrupted {
        eprintln!("interrupted: the run's users were cleaned up");
        return Ok(2);
    }
    Ok(report.exit_code())
}

/// Every request a run would send, with placeholders for tokens and secrets.
async fn dry_run(config: &CheckConfig) -> Result<String, Failure> {
    use std::fmt::Write;
    let catalogue = Catalogue::embedded().with_readings(&config.readings);
    let base = match &config.target {
        Target::Remote { base_url } => base_url.clone(),
        Target::InProcess { .. } => "http://127.0.0.1:0".into(),
    };
    // Refused as a real run would be (plain http to a remote host, an unusable --ca-cert).
    let http = runner::http::Http::with_transport(&base, Limits::local(), &config.transport)
        .map_err(Failure::usage)?;
    let creds = config
        .credentials
        .clone()
        .unwrap_or_else(|| match config.target {
            Target::InProcess { .. } => Credentials::demo(),
            Target::Remote { .. } => Credentials::from_env(),
        });
    let session = runner::Session::offline(
        http,
        creds,
        catalogue.clone(),
        runner::SessionOptions::new(config.version),
    );
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Dry run against {} (API {}): nothing is sent.",
        config.target.display(),
        config.version.label()
    );
    let _ = writeln!(out, "Set-up: a client_credentials token per configured client; users {}a0, {}b1, ... created, verified and logged in; one token revoked; at the end every user of the run is deleted.", session.prefix, session.prefix);
    // Calibration and evidence requests (src/runner/probe.rs): inert by construction.
    for (op, principal) in runner::probe::calibration_pairs(&session) {
        let _ = writeln!(
            out,
            "{} {} bearer=<{principal}> json={{}}    # calibration: does the target validate before the role check?",
            op.method, op.path
        );
    }
    let proofs: Vec<&str> = catalogue
        .operations(config.version)
        .filter(|op| runner::probe::proof_body(&session, op).is_some())
        .map(|op| op.id.as_str())
        .collect();
    let _ = writeln!(out, "EVIDENCE only when a denied caller gets a 4xx other than 401/403 and the target does not check the role first: the same request by an allowed caller (where that is inert), and a valid body naming only unknown ids for {}", proofs.join(", "));
    for (op, principal) in runner::planned_checks(&catalogue, config.version, &config.filters) {
        if config.target.is_remote()
            && !config.allow_mutations
            && runner::probe::harmful_if_broken(op, principal)
        {
            let _ = writeln!(
                out,
                "SKIP {} as {principal}: needs --allow-mutations",
                op.id
            );
            continue;
        }
        match runner::probe::build(&session, op, principal) {
            Ok(probe) => {
                let r = &probe.request;
                let body = match &r.body {
                    runner::http::Body::None => String::new(),
                    runner::http::Body::Json(v) => format!(" json={v}"),
                    runner::http::Body::Form(pairs) => {
                        let shown: Vec<String> = pairs
                            .iter()
                            .map(|(k, v)| match k.as_str() {
                                "client_secret" | "password" | "refresh_token" => {
                                    format!("{k}=<redacted>")
                                }
                                _ => format!("{k}={v}"),
                            })
                            .collect();
                        format!(" form={}", shown.join("&"))
                    }
                };
                let auth = r
                    .bearer
                    .as_deref()
                    .map(|_| format!(" bearer=<{principal}>"))
                    .unwrap_or_default();
                let _ = writeln!(
                    out,
                    "{} {}{auth}{body}    # {} as {principal}",
                    r.method, r.path, op.id
                );
            }
            Err(why) => {
                let _ = writeln!(out, "SKIP {} as {principal}: {why}", op.id);
            }
        }
    }
    if config.lifecycle {
        for sc in runner::lifecycle::scenarios() {
            let _ = writeln!(
                out,
                "SCENARIO lifecycle:{} ({}): several requests on users created for it",
                sc.name, sc.rule
            );
        }
    }
    Ok(out)
}

async fn diff(args: DiffArgs) -> Result<i32, Failure> {
    let a = config_for(Some(&args.base_url), &args.target)?;
    let b = config_for(Some(&args.against), &args.target)?;
    let mut redactor = secrets_of(&a);
    for s in secrets_of(&b).scrub_list() {
        redactor.add(s);
    }
    let (ra, rb) = tokio::join!(runner::run(&a), runner::run(&b));
    let ra =
        ra.map_err(|e| Failure::usage(redactor.scrub(&format!("{}: {e}", a.target.display()))))?;
    let rb =
        rb.map_err(|e| Failure::usage(redactor.scrub(&format!("{}: {e}", b.target.display()))))?;
    let mut differences = 0;
    for x in &ra.results {
        let y = rb
            .results
            .iter()
            .find(|y| y.operation == x.operation && y.principal == x.principal);
        let same =
            y.is_some_and(|y| y.verdict == x.verdict && y.observed_status == x.observed_status);
        if !same {
            differences += 1;
            let show = |r: Option<&runner::CheckResult>| match r {
                Some(r) => format!(
                    "{} ({})",
                    r.verdict.name(),
                    r.observed_status.map_or("-".into(), |s| s.to_string())
                ),
                None => "not run".into(),
            };
            println!(
                "{} as {}: {} = {}, {} = {}",
                x.operation,
                x.principal,
                ra.target,
                show(Some(x)),
                rb.target,
                show(y)
            );
        }
    }
    println!(
        "{differences} of {} checks differ between {} and {}",
        ra.results.len(),
        ra.target,
        rb.target
    );
    Ok(if differences == 0 { 0 } else { 1 })
}

async fn serve(args: ServeArgs) -> Result<i32, Failure> {
    if args.list_violations {
        for v in Violation::ALL {
            println!("{:<42} {:<28} {}", v.name(), v.rule().id(), v.description());
        }
        return Ok(0);
    }
    let faults = parse_faults(&args.violations)?;
    let readings = parse_readings(&args.readings)?;
    let world = match &args.world {
        Some(path) => World::from_file(path).map_err(|e| Failure::usage(e.to_string()))?,
        None => World::demo(),
    };
    let profile = args
        .profile
        .as_deref()
        .map(str::parse::<finapi_conformance::sim::Profile>)
        .transpose()
        .map_err(Failure::usage)?;
    let sim = Simulator::with_config(
        &world,
        SimConfig {
            faults: faults.clone(),
            readings,
            profile: profile.clone(),
            ..SimConfig::default()
        },
    );
    let control = match (args.no_control, args.control_token.clone()) {
        (true, _) => finapi_conformance::serve::Control::Off,
        (false, Some(token)) if !token.trim().is_empty() => finapi_conformance::serve::Control::Token(token),
        (false, Some(_)) => return Err(Failure::usage("--control-token must not be empty")),
        (false, None) if !args.addr.ip().is_loopback() => {
            return Err(Failure::usage(format!(
                "listening on {} (not loopback): the control API needs --control-token, or pass --no-control",
                args.addr
            )))
        }
        (false, None) => finapi_conformance::serve::Control::Open,
    };
    let control_on = control != finapi_conformance::serve::Control::Off;
    let options = finapi_conformance::serve::ServeOptions {
        journal_capacity: args.journal,
        control,
    };
    let server = Server::start_with(sim, args.addr, options)
        .await
        .map_err(|e| Failure::usage(format!("cannot listen on {}: {e}", args.addr)))?;
    // Listen for Ctrl-C before telling anyone the server is up, so an early signal still
    // stops it cleanly.
    let mut stop = Box::pin(tokio::signal::ctrl_c());
    let _ = futures::poll!(&mut stop);
    let mut banner = format!("finAPI mock listening on {}\n", server.uri());
    banner += &world_banner(&world, args.world.is_none());
    for v in faults.iter() {
        banner += &format!("  BROKEN ON PURPOSE: {} ({})\n", v.name(), v.description());
    }
    if let Some(p) = profile.filter(|p| !p.is_faithful()) {
        banner += &format!("  profile: {p} (not the faithful mock)\n");
    }
    if control_on {
        banner += &format!(
            "Control API: {}/__finapi/ (health, journal, reset, world, faults, clock)\n",
            server.uri()
        );
    }
    banner += "Press Ctrl-C to stop.\n";
    // A closed stdout (the reader went away) must not take the server down.
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(banner.as_bytes()).and_then(|_| out.flush());
    drop(out);
    let _ = stop.await;
    eprintln!("stopping...");
    server.shutdown().await.map_err(|e| Failure {
        message: format!("shutdown failed: {e}"),
        code: 1,
    })?;
    Ok(0)
}

/// The world's clients and users, for the start banner. Secrets are printed only for the built-in demo world,
/// whose secrets are public; a world file's secrets stay unprinted.
fn world_banner(world: &World, is_demo: bool) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    for m in &world.mandators {
        let _ = writeln!(out, "mandator {} (API {})", m.id, m.api_version.label());
        for c in &m.app_clients {
            let secret = if is_demo {
                c.secret.as_str()
            } else {
                "<from your world file>"
            };
            let _ = writeln!(out, "  app client    {:<16} secret {}", c.id, secret);
        }
        let secret = if is_demo {
            m.admin_client.secret.as_str()
        } else {
            "<from your world file>"
        };
        let _ = writeln!(
            out,
            "  admin client  {:<16} secret {}",
            m.admin_client.id, secret
        );
        for u in &m.users {
            let pw = if is_demo {
                u.password.as_str()
            } else {
                "<from your world file>"
            };
            let _ = writeln!(
                out,
                "  user          {:<16} password {}{}",
                u.id,
                pw,
                if u.verified { "" } else { " (unverified)" }
            );
        }
    }
    out
}

async fn proxy(args: ProxyArgs) -> Result<i32, Failure> {
    if args.concurrency == 0 {
        return Err(Failure::usage("--concurrency must be at least 1"));
    }
    let credentials = match &args.credentials {
        Some(path) => Credentials::from_file(path).map_err(Failure::usage)?,
        None => Credentials::from_env(),
    };
    let redactor = Redactor::new(credentials.secrets());
    if credentials.app.is_none() && credentials.admin.is_none() {
        eprintln!("warning: no client credentials (FINAPI_APP_CLIENT_ID, FINAPI_ADMIN_CLIENT_ID, ... or --credentials): the proxy cannot tell whose tokens it sees, so no call gets a role verdict");
    }
    let mut config = ProxyConfig::new(args.upstream.clone(), credentials);
    config.addr = args.addr;
    config.version = args.api_version;
    config.mode = if args.strict {
        Mode::Strict
    } else {
        Mode::Boundary
    };
    config.readings = parse_readings(&args.readings)?;
    config.replay = args.replay;
    config.max_replays = args.max_replays;
    let mut limits = Limits::remote();
    limits.rate = args.rate.max(0.0);
    limits.concurrency = args.concurrency;
    limits.timeout = Duration::from_secs(args.timeout.max(1));
    config.limits = limits;
    config.transport.max_body_bytes = args.max_body_bytes;
    config.transport.connect_timeout = Duration::from_secs(args.connect_timeout.max(1));
    config.transport.ca_certs = args.ca_cert.clone();
    config.transport.allow_plain_http = args.allow_plain_http;
    config.lines = Some(Arc::new(|line: &str| eprintln!("{line}")));
    // Listen for Ctrl-C and SIGTERM before telling anyone the proxy is up.
    let mut stop = Box::pin(stop_signal());
    let _ = futures::poll!(&mut stop);
    let proxy = Proxy::start(config)
        .await
        .map_err(|e| Failure::usage(redactor.scrub(&e)))?;
    let banner = format!(
        "finapi-conformance proxy listening on {} -> {}{}\nPress Ctrl-C to stop and write the report.\n",
        proxy.uri(),
        runner::redact::url_for_display(&args.upstream),
        if args.replay == ReplayMode::Reads {
            " (replaying reads and token grants)"
        } else {
            ""
        }
    );
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(banner.as_bytes()).and_then(|_| out.flush());
    drop(out);
    stop.await;
    eprintln!("stopping...");
    let report = proxy.finish().await;
    let color =
        args.output.is_none() && args.format == Format::Table && std::io::stdout().is_terminal();
    // Every secret the proxy saw (credentials, tokens, passwords) is scrubbed by the
    // report's own redactor; the credentials once more here.
    let text = redactor.scrub(&report.render(args.format, color));
    match &args.output {
        Some(path) => {
            std::fs::write(path, text)
                .map_err(|e| Failure::usage(format!("cannot write {}: {e}", path.display())))?;
            println!("{}", redactor.scrub(&report.summary_line()));
        }
        None => {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(text.as_bytes()).and_then(|_| out.flush());
        }
    }
    Ok(report.exit_code())
}

/// Ctrl-C, or SIGTERM on Unix.
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
