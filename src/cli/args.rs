//! The flags several commands share, each declared once and `#[command(flatten)]`ed into the
//! commands that take it (as cargo's `command_prelude`): [`TargetArgs`] (`check`, `diff`,
//! `features`), [`JudgeArgs`] (those and `proxy`), [`ReadingArgs`] (those, `serve` and
//! `matrix`), [`TransportArgs`] (how a target is reached) and [`OutputArgs`] (`--format`,
//! `--output`), with what each means once parsed.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use finapi_conformance::model::{ApiVersion, Mode, Readings};
use finapi_conformance::report::Format;
use finapi_conformance::runner::{self, Credentials, Transport};

use super::failure::Failure;
use super::process;

/// Separator of the path list in `FINAPI_CA_CERT` (as in `PATH`).
const PATH_LIST_SEPARATOR: char = if cfg!(windows) { ';' } else { ':' };

pub fn parse_version(s: &str) -> Result<ApiVersion, String> {
    s.parse()
}

fn parse_format(s: &str) -> Result<Format, String> {
    s.parse()
}

/// A run against one target: what `check`, `diff` and `features` share.
#[derive(Debug, Args, Clone)]
pub struct TargetArgs {
    #[command(flatten)]
    pub judge: JudgeArgs,
    /// Only these checks: a section, operationId, principal, rule id or lifecycle scenario (repeatable).
    #[arg(long, value_name = "SECTION|OPERATION|PRINCIPAL")]
    pub only: Vec<String>,
    /// Leave out these checks (same keys as --only; repeatable).
    #[arg(long, value_name = "SECTION|OPERATION|PRINCIPAL")]
    pub skip: Vec<String>,
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
    #[command(flatten)]
    pub transport: TransportArgs,
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

/// How answers are judged, and with whose clients: what every command that judges a target
/// shares (`check`, `diff`, `features`, `proxy`).
#[derive(Debug, Args, Clone)]
pub struct JudgeArgs {
    /// API version of the target.
    #[arg(long, default_value = "v2", value_parser = parse_version)]
    pub api_version: ApiVersion,
    /// Exact statuses and error bodies as documented (default: any 401/403 counts as denied).
    #[arg(long)]
    pub strict: bool,
    /// KEY=VALUE file with the FINAPI_* credential variables (the environment wins).
    #[arg(long, value_name = "FILE")]
    pub credentials: Option<PathBuf>,
    #[command(flatten)]
    pub readings: ReadingArgs,
}

impl JudgeArgs {
    pub fn mode(&self) -> Mode {
        if self.strict {
            Mode::Strict
        } else {
            Mode::Boundary
        }
    }

    /// The `--credentials` file, read; `None` without the flag.
    pub fn credentials_file(&self) -> Result<Option<Credentials>, Failure> {
        self.credentials
            .as_deref()
            .map(Credentials::from_file)
            .transpose()
            .map_err(Failure::usage)
    }
}

/// `--reading`: how the mock, the matrix and the judge read the ambiguous rules.
#[derive(Debug, Args, Clone)]
pub struct ReadingArgs {
    /// Read an ambiguous rule differently: NAME=true|false (repeatable; see
    /// docs/readings.md; names: admin-reads-banks, admin-reads-client-configuration,
    /// cross-client-user-token-revoke).
    #[arg(long = "reading", value_name = "NAME=BOOL")]
    pub readings: Vec<String>,
}

impl ReadingArgs {
    /// The settings on top of the default readings.
    pub fn readings(&self) -> Result<Readings, Failure> {
        Readings::default()
            .with_settings(&self.readings)
            .map_err(Failure::usage)
    }

    pub fn is_empty(&self) -> bool {
        self.readings.is_empty()
    }
}

/// How a target is reached: the connection, the body cap, the certificates trusted, plain
/// http.
#[derive(Debug, Args, Clone)]
pub struct TransportArgs {
    /// Seconds to establish a connection (TCP and TLS), apart from --timeout.
    #[arg(long, value_name = "S", default_value_t = 10)]
    pub connect_timeout: u64,
    /// Longest body read, in bytes: past it the connection is dropped and the check is
    /// inconclusive (in set-up: the run stops). In `proxy`: the longest request body passed on
    /// and replay answer read. Default 16 MiB.
    #[arg(long, value_name = "BYTES", default_value_t = runner::DEFAULT_MAX_BODY_BYTES)]
    pub max_body_bytes: u64,
    /// PEM file of CA certificates to trust besides the system's and the bundled ones
    /// (repeatable; the variable takes a path list).
    #[arg(long, value_name = "FILE", env = "FINAPI_CA_CERT", value_delimiter = PATH_LIST_SEPARATOR)]
    pub ca_cert: Vec<PathBuf>,
    /// Allow http:// to a host that is not loopback (credentials then travel in clear): only
    /// for a test host on a private network.
    #[arg(long)]
    pub allow_plain_http: bool,
}

impl TransportArgs {
    pub fn transport(&self) -> Transport {
        let mut t = Transport::default();
        t.max_body_bytes = self.max_body_bytes;
        t.connect_timeout = Duration::from_secs(self.connect_timeout.max(1));
        t.ca_certs = self.ca_cert.clone();
        t.allow_plain_http = self.allow_plain_http;
        t
    }
}

/// Where a report goes, and in which format.
#[derive(Debug, Args, Clone)]
pub struct OutputArgs {
    /// Report format.
    #[arg(long, default_value = "table", value_parser = parse_format)]
    pub format: Format,
    /// Write the report to a file (the summary line still goes to the terminal).
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

impl OutputArgs {
    /// Colours only for a table on a terminal.
    pub fn color(&self) -> bool {
        use std::io::IsTerminal as _;
        self.output.is_none() && self.format == Format::Table && std::io::stdout().is_terminal()
    }

    /// Write the report `text` to the `--output` file, then its `summary` line to the
    /// terminal; without `--output`, the report to the terminal.
    pub fn write(&self, text: &str, summary: &str) -> Result<(), Failure> {
        match &self.output {
            Some(path) => {
                std::fs::write(path, text)
                    .map_err(|e| Failure::usage(format!("cannot write {}: {e}", path.display())))?;
                process::write_stdout(&format!("{summary}\n"));
            }
            None => process::write_stdout(text),
        }
        Ok(())
    }
}
