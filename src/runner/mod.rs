//! The conformance runner: probes every operation x principal of the role model against a
//! target and judges each response with the model's oracle.
//!
//! - [`run`] with a [`CheckConfig`] gives a [`Report`]; [`dry_run`] lists what it would send;
//! - [`Credentials`]: client credentials from the environment or a file (`credentials.rs`);
//! - [`Http`]: the hardened HTTP client with concurrency, rate limit, timeouts, retries and
//!   its [`Transport`] rules (`http.rs`);
//! - [`Session`]: tokens per principal, the run's own users and data, clean-up (`session/`);
//! - [`Services`]: where Access and Web Form 2.0 are, whether each answers there, and the one
//!   place a request path is put on its service's base URL (`services.rs`);
//! - [`build_probe`]: one inert request per operation x principal (`probe.rs`);
//! - [`check_id`]: the id cells, where another user names the run user's resource in a query
//!   parameter or a body field (`ids.rs`);
//! - [`scenarios`]: the token lifecycle scenarios (`lifecycle.rs`);
//! - [`Redactor`]: scrubs secrets from anything printed (`redact.rs`);
//! - the redacted request and response behind each verdict (`evidence.rs`);
//! - [`TokenState`]: tokens kept between runs (`--state`), reused once expired
//!   (`state_file.rs`);
//! - [`Previous`]: re-running what a previous report left failed or unfinished (`--resume`,
//!   `resume.rs`).

pub(crate) mod credentials;
mod dry_run;
pub(crate) mod evidence;
pub(crate) mod http;
pub(crate) mod ids;
pub(crate) mod lifecycle;
pub(crate) mod probe;
pub(crate) mod redact;
pub(crate) mod resume;
pub(crate) mod services;
pub(crate) mod session;
pub(crate) mod state_file;

use std::time::{Duration, Instant};

use futures::StreamExt;
use serde::Serialize;

use crate::faults::Faults;
use crate::mock::FinapiMock;
use crate::model::expect::{judge_with, needs_evidence, CheckOrder};
use crate::model::{
    expect, ApiVersion, Catalogue, Mode, Observed, Operation, Outcome, Principal, ProbeStyle,
    Readings, Rule, Verdict,
};
use crate::world::World;
pub use credentials::{ClientCredentials, Credentials};
pub use dry_run::dry_run;
pub use http::{
    Body, Http, HttpRequest, HttpResponse, Limits, TargetUrl, Transport, DEFAULT_MAX_BODY_BYTES,
};
pub use ids::{check_id, owner_id, planned_id_checks, probe_id, IdCheck, Parties};
pub use lifecycle::{scenarios, Scenario};
pub use probe::{build as build_probe, calibrate, harmful_if_broken, Probe};
pub use redact::{url_for_display, Redactor};
pub use resume::{checkpoint, write_checkpoints, Previous, Recorder};
pub use services::{
    access_served, calibrate_webform, locate, webform_address, Addresses, Located, ServiceLine,
    Services, WebFormAddress, WebFormCalibration, SAME_ADDRESS,
};
pub use session::{access_token, RunUser, Session, SessionOptions, SetupError, WebFormCompletion};
pub use state_file::State as TokenState;

/// What to check.
#[derive(Debug, Clone)]
pub enum Target {
    /// A fresh in-process mock of the demo world (bound to the run's API version), optionally
    /// with deliberate breaks.
    InProcess { faults: Faults },
    /// A base URL: a `serve` process, finAPI sandbox or staging.
    Remote { base_url: String },
}

impl Target {
    /// `mock` (or nothing) means the in-process mock.
    pub fn parse(base_url: Option<&str>) -> Target {
        match base_url {
            None | Some("mock") => Target::InProcess {
                faults: Faults::none(),
            },
            Some(url) => Target::Remote {
                base_url: url.to_string(),
            },
        }
    }
    pub fn is_remote(&self) -> bool {
        matches!(self, Target::Remote { .. })
    }
    /// How the target is shown in reports (no credentials, no query string).
    pub fn display(&self) -> String {
        match self {
            Target::InProcess { .. } => "in-process mock".into(),
            Target::Remote { base_url } => redact::url_for_display(base_url),
        }
    }
}

/// Which checks to run: each filter matches a section, an operation id, a principal, a rule
/// id or a lifecycle scenario name (case-insensitive).
#[derive(Debug, Clone, Default)]
pub struct Filters {
    pub only: Vec<String>,
    pub skip: Vec<String>,
}

impl Filters {
    fn keys_match(list: &[String], keys: &[&str]) -> bool {
        list.iter()
            .any(|f| keys.iter().any(|k| k.eq_ignore_ascii_case(f.trim())))
    }
    pub fn admits(&self, keys: &[&str]) -> bool {
        (self.only.is_empty() || Self::keys_match(&self.only, keys))
            && !Self::keys_match(&self.skip, keys)
    }
}

/// Everything a run needs.
#[derive(Debug, Clone)]
pub struct CheckConfig {
    pub target: Target,
    pub version: ApiVersion,
    pub mode: Mode,
    pub filters: Filters,
    /// `None`: gentle limits for remote targets, fast ones for the in-process mock.
    pub limits: Option<http::Limits>,
    /// How the target may be reached: body cap, CA certificates, plain http, connect timeout.
    pub transport: http::Transport,
    /// `None`: the demo credentials in-process, the environment for remote targets.
    pub credentials: Option<Credentials>,
    pub readings: Readings,
    pub allow_mutations: bool,
    pub keep_users: bool,
    /// Run the lifecycle scenarios after the matrix.
    pub lifecycle: bool,
    /// Stop and clean up on Ctrl-C (the CLI sets it; library callers usually do not).
    pub handle_interrupt: bool,
    /// Called after each matrix check with (done, total).
    pub progress: Option<Progress>,
    /// The target's clock, when the caller shares it (an in-process `serve::Server` in
    /// tests): the runner waits on it instead of sleeping (`Retry-After`, backoff) and can
    /// expire a token by moving it. `None` for real targets.
    pub clock: Option<crate::sim::Clock>,
    /// Keep this run's tokens here, and use the ones that have expired since as the
    /// `expired-token` principal (`--state`).
    pub state_file: Option<std::path::PathBuf>,
    /// Checks a previous report settled (`--resume`): not run again, merged into the report.
    pub resume: Option<std::sync::Arc<resume::Previous>>,
    /// Where finished checks are recorded as they finish (for checkpoints and interrupts);
    /// `run` makes one when it is not set.
    pub recorder: Option<resume::Recorder>,
    /// Base URL of the target's Web Form 2.0 host (`--webform-url`), or [`SAME_ADDRESS`]
    /// (`same`) for the target's own address. `None`: finAPI's Web Form host for finAPI's
    /// Access hosts, the target's own address for a mock, else Web Form 2.0 is not checked
    /// ([`webform_address`], [`locate`]).
    pub webform_url: Option<String>,
    /// On a target without a control API, print the run's import web form and wait up to this
    /// long for a person to complete it (`--webform-interactive`).
    pub webform_interactive: Option<std::time::Duration>,
    /// The world of the in-process mock (`None`: the demo world bound to `version`); its
    /// credentials are the run's unless `credentials` says otherwise.
    pub world: Option<World>,
}

/// A progress callback.
#[derive(Clone)]
pub struct Progress(pub std::sync::Arc<dyn Fn(usize, usize) + Send + Sync>);

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Progress")
    }
}

impl CheckConfig {
    /// The client credentials a run of this config presents: the given ones, else the demo
    /// world's in-process and the environment's (`FINAPI_*`) for a remote target.
    pub fn credentials_or_default(&self) -> Credentials {
        self.credentials
            .clone()
            .unwrap_or_else(|| match self.target {
                Target::InProcess { .. } => Credentials::demo(),
                Target::Remote { .. } => Credentials::from_env(),
            })
    }

    /// Where the target is, as the services see it: its base URL (`None` in-process), API
    /// version and `--webform-url`.
    pub fn addresses(&self) -> Addresses<'_> {
        Addresses {
            base_url: match &self.target {
                Target::InProcess { .. } => None,
                Target::Remote { base_url } => Some(base_url),
            },
            version: self.version,
            webform_url: self.webform_url.as_deref(),
        }
    }

    /// Everything secret a run of this config could print: its credentials and the tokens of
    /// its `--state` file.
    pub fn secrets(&self) -> Redactor {
        let mut secrets = self.credentials_or_default().secrets();
        if let Some(path) = &self.state_file {
            secrets.extend(
                state_file::State::load(path)
                    .map(|s| s.secrets())
                    .unwrap_or_default(),
            );
        }
        Redactor::new(secrets)
    }

    pub fn new(target: Target, version: ApiVersion) -> Self {
        CheckConfig {
            target,
            version,
            mode: Mode::Boundary,
            filters: Filters::default(),
            limits: None,
            transport: http::Transport::default(),
            credentials: None,
            readings: Readings::default(),
            allow_mutations: false,
            keep_users: false,
            lifecycle: true,
            handle_interrupt: false,
            progress: None,
            clock: None,
            state_file: None,
            resume: None,
            recorder: None,
            webform_url: None,
            webform_interactive: None,
            world: None,
        }
    }
}

/// One judged check.
#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    /// operationId, grant row (`getToken.password`), an id cell (`operationId?field`,
    /// `operationId{field}`: [`CheckResult::operation_id`] is its operation) or
    /// `lifecycle:<scenario>`.
    pub operation: String,
    #[serde(skip)]
    pub section: String,
    pub method: String,
    pub path: String,
    pub principal: Principal,
    pub expected: String,
    pub observed_status: Option<u16>,
    pub verdict: Verdict,
    pub reason: String,
    pub rule: Rule,
    pub latency_ms: u64,
    /// The redacted request and response (matrix checks that sent a request).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence: Option<evidence::Evidence>,
}

impl CheckResult {
    /// Puts the answer's status, latency and redacted evidence on the result. Without an
    /// answer at all (status 0) the result is inconclusive with the transport's reason, and
    /// `false` says there is nothing to judge.
    pub(crate) fn took_answer(
        &mut self,
        request: &http::HttpRequest,
        principal: Principal,
        resp: &http::HttpResponse,
        redactor: &redact::Redactor,
    ) -> bool {
        self.latency_ms = resp.latency.as_millis() as u64;
        self.evidence = Some(evidence::Evidence::capture(
            request, principal, resp, redactor,
        ));
        if resp.status == 0 {
            self.verdict = Verdict::Inconclusive;
            self.reason = resp.error.clone().unwrap_or_else(|| "no response".into());
            return false;
        }
        self.observed_status = Some(resp.status);
        true
    }

    /// The cell `name` (an operation id, or an id cell's name) of `op` as `principal`, not run
    /// yet: skipped, with no reason, until it is probed and judged.
    pub fn not_run(
        name: String,
        op: &Operation,
        principal: Principal,
        expectation: &crate::model::Expectation,
    ) -> CheckResult {
        CheckResult {
            operation: name,
            section: op.section.clone(),
            method: op.method.to_string(),
            path: op.path.clone(),
            principal,
            expected: expectation.outcome.name().into(),
            observed_status: None,
            verdict: Verdict::Skipped,
            reason: String::new(),
            rule: expectation.rule,
            latency_ms: 0,
            evidence: None,
        }
    }

    /// One line for a check that did not hold: `METHOD cell as principal: expected ..., got
    /// STATUS (reason; rule RULE)`.
    pub fn failure_line(&self) -> String {
        format!(
            "{} {} as {}: expected {}, got {} ({}; rule {})",
            self.method,
            self.operation,
            self.principal,
            self.expected,
            self.observed_status
                .map_or("no answer".to_string(), |s| s.to_string()),
            self.reason,
            self.rule
        )
    }

    /// The operation the check is of: the cell's name without an id cell's field.
    pub fn operation_id(&self) -> &str {
        crate::model::operation_of_cell(&self.operation)
    }
}

/// A finished run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub target: String,
    pub api_version: ApiVersion,
    pub mode: Mode,
    pub duration_ms: u64,
    pub results: Vec<CheckResult>,
    /// Users the run created and could not remove (0 unless something went wrong).
    pub leftover_users: usize,
    /// True when the run was interrupted (Ctrl-C) before all checks ran.
    pub interrupted: bool,
    /// Checks planned but not finished (an interrupted run, or a checkpoint of a running one).
    pub unfinished: Vec<resume::CheckKey>,
    /// The services the run checked (Access, Web Form 2.0), where, or why not.
    pub services: Vec<ServiceLine>,
}

/// Totals by verdict.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub total: usize,
    pub passed: usize,
    pub violations: usize,
    pub inconclusive: usize,
    pub skipped: usize,
    /// Checks that got an answer to judge (passed + violations + inconclusive).
    pub run: usize,
    /// Checks the run planned: every result plus the unfinished ones.
    pub possible: usize,
}

impl Report {
    pub fn summary(&self) -> Summary {
        let mut s = Summary {
            total: self.results.len(),
            possible: self.results.len() + self.unfinished.len(),
            ..Summary::default()
        };
        for r in &self.results {
            match r.verdict {
                Verdict::Pass => s.passed += 1,
                Verdict::Violation => s.violations += 1,
                Verdict::Inconclusive => s.inconclusive += 1,
                Verdict::Skipped => s.skipped += 1,
            }
        }
        s.run = s.passed + s.violations + s.inconclusive;
        s
    }

    pub fn violations(&self) -> impl Iterator<Item = &CheckResult> {
        self.results
            .iter()
            .filter(|r| r.verdict == Verdict::Violation)
    }

    /// Exit code of `check`: 1 when any boundary did not hold.
    pub fn exit_code(&self) -> i32 {
        if self.summary().violations > 0 {
            1
        } else {
            0
        }
    }

    /// The share of checks run: `checks run 772/947 (81.5%)`. A check counts as run when the
    /// target answered it (pass, violation or inconclusive); skipped and unfinished checks do
    /// not.
    pub fn coverage(&self) -> String {
        let s = self.summary();
        let share = if s.possible == 0 {
            0.0
        } else {
            s.run as f64 * 100.0 / s.possible as f64
        };
        format!("checks run {}/{} ({share:.1}%)", s.run, s.possible)
    }

    /// The report's JSON form, pretty-printed with a final newline: its fields plus `summary`,
    /// `coverage` and `complete`. What `--format json` writes, checkpoints are written as, and
    /// `--resume` ([`resume::Previous`]) reads.
    pub fn to_json(&self) -> String {
        let value = serde_json::json!({
            "target": self.target,
            "api_version": self.api_version,
            "mode": self.mode,
            "duration_ms": self.duration_ms,
            "interrupted": self.interrupted,
            "leftover_users": self.leftover_users,
            "summary": self.summary(),
            "coverage": self.coverage(),
            "services": self.services,
            "complete": self.unfinished.is_empty() && !self.interrupted,
            "results": self.results,
            "unfinished": self.unfinished,
        });
        serde_json::to_string_pretty(&value).unwrap_or_default() + "\n"
    }
}

/// A run that could not be carried out (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{0}")]
    Setup(#[from] SetupError),
    #[error("{0}")]
    Config(String),
}

/// A target ready for a session: the HTTP client and, in-process, the mock that serves it.
pub struct Connected {
    pub http: http::Http,
    pub credentials: Credentials,
    pub mock: Option<FinapiMock>,
}

/// How this run completes its own import web form: the in-process mock directly, `serve`
/// through its control API (when `GET /__finapi/health` answers, [`Located::control_api`]),
/// else a person if `--webform-interactive` asks for one.
fn webform_completion(
    config: &CheckConfig,
    connected: &Connected,
    located: &Located,
) -> session::WebFormCompletion {
    use session::WebFormCompletion;
    if let Some(mock) = &connected.mock {
        return WebFormCompletion::Simulator(mock.simulator().clone());
    }
    if located.control_api {
        return WebFormCompletion::ControlApi;
    }
    match config.webform_interactive {
        Some(bound) => WebFormCompletion::Interactive(bound),
        None => WebFormCompletion::None,
    }
}

/// Start (in-process) or reach (remote) the target.
pub async fn connect(config: &CheckConfig) -> Result<Connected, RunError> {
    match &config.target {
        Target::InProcess { faults } => {
            let world = config
                .world
                .clone()
                .unwrap_or_else(|| World::demo_for(config.version));
            let mock = FinapiMock::builder()
                .world(world.clone())
                .faults(faults.clone())
                .readings(config.readings.clone())
                .start()
                .await;
            let limits = config.limits.clone().unwrap_or_else(http::Limits::local);
            let http = http::Http::with_transport(&mock.uri(), limits, &config.transport)
                .map_err(RunError::Config)?;
            let credentials = config
                .credentials
                .clone()
                .unwrap_or_else(|| Credentials::of_world(&world));
            Ok(Connected {
                http,
                credentials,
                mock: Some(mock),
            })
        }
        Target::Remote { .. } => {
            let http = remote_client(config).map_err(RunError::Config)?;
            let credentials = config
                .credentials
                .clone()
                .unwrap_or_else(Credentials::from_env);
            Ok(Connected {
                http,
                credentials,
                mock: None,
            })
        }
    }
}

/// The client for a remote target of `config`: its base URL checked against the transport
/// (https, or http to loopback) before anything is sent or looked up, its limits (gentle by
/// default) and shared clock, and the Web Form 2.0 host ([`webform_address`]: given, or
/// finAPI's for finAPI's Access host) as the only other origin a request may go to, checked
/// like the base URL. `Err` is one line; an in-process target has no such client.
pub fn remote_client(config: &CheckConfig) -> Result<http::Http, String> {
    let Target::Remote { base_url } = &config.target else {
        return Err("the in-process mock is reached without a network client".into());
    };
    http::TargetUrl::parse(base_url, &config.transport)?;
    let limits = config.limits.clone().unwrap_or_else(http::Limits::remote);
    let mut http = http::Http::with_transport(base_url, limits, &config.transport)?;
    if let Some(clock) = &config.clock {
        http = http.with_clock(clock.clone());
    }
    if let Some(WebFormAddress::Url { url, .. }) = webform_address(config.addresses()) {
        http = http.allow_origin(&url, &config.transport)?;
    }
    Ok(http)
}

/// The matrix checks a run makes: every operation x principal the model does not call
/// "not applicable", filtered.
pub fn planned_checks<'c>(
    catalogue: &'c Catalogue,
    version: ApiVersion,
    filters: &Filters,
) -> Vec<(&'c Operation, Principal)> {
    let mut out = Vec::new();
    for op in catalogue.checks(version) {
        for p in Principal::ALL {
            let e = expect(op, p);
            if e.outcome == Outcome::NotApplicable {
                continue;
            }
            if filters.admits(&[&op.section, &op.id, p.name(), e.rule.id()]) {
                out.push((op, p));
            }
        }
    }
    out
}

/// Run a whole check.
pub async fn run(config: &CheckConfig) -> Result<Report, RunError> {
    let started = Instant::now();
    let mut config = config.clone();
    let recorder = config
        .recorder
        .get_or_insert_with(resume::Recorder::default)
        .clone();
    let state = match &config.state_file {
        Some(path) => Some(state_file::State::load(path).map_err(RunError::Config)?),
        None => None,
    };
    let config = &config;
    let mut connected = connect(config).await?;
    let state_scope = state_file::Scope::of(config);
    if let Some(state) = &state {
        if connected.credentials.expired_token.is_none() {
            connected.credentials.expired_token = state.expired_token(&state_scope);
        }
    }
    let catalogue = Catalogue::embedded().with_readings(&config.readings);
    let mut opts = SessionOptions::new(config.version);
    opts.clock = connected
        .mock
        .as_ref()
        .map(|m| m.clock().clone())
        .or_else(|| config.clock.clone());
    let located = locate(config.addresses(), &connected.http).await;
    recorder.set_services(located.services.lines().to_vec());
    opts.webform_completion = webform_completion(config, &connected, &located);
    opts.services = located.services.clone();
    let mut session = Session::new(
        connected.http.clone(),
        connected.credentials.clone(),
        catalogue.clone(),
        opts,
    );
    // Ctrl-C is watched from before the first user is created, so an interrupted run always
    // reaches the clean-up below.
    let interrupt = async {
        if config.handle_interrupt {
            let _ = tokio::signal::ctrl_c().await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    tokio::pin!(interrupt);
    let _ = futures::poll!(&mut interrupt);
    let outcome = tokio::select! {
        r = async {
            session.set_up().await?;
            Ok::<_, SetupError>(execute(config, &session, &catalogue).await)
        } => r.map(|results| (results, false)),
        _ = &mut interrupt => Ok((recorder.finished(), true)),
    };
    let (results, interrupted) = match outcome {
        Ok(done) => done,
        Err(e) => {
            if !config.keep_users {
                session.clean_up().await;
            }
            return Err(e.into());
        }
    };
    let leftover_users = if config.keep_users {
        0
    } else {
        session.clean_up().await
    };
    if let (Some(state), Some(path)) = (state, &config.state_file) {
        // Re-read first: another run (`diff` runs two) may have saved in the meantime.
        let mut state = state_file::State::load(path).unwrap_or(state);
        // A secret rotation revokes the client tokens of this run: they would come back as
        // revoked, not expired, so they are not kept.
        let rotated = results.iter().any(|r| {
            r.operation.starts_with("lifecycle:secret-rotation") && r.verdict != Verdict::Skipped
        });
        if !rotated {
            state.record(&state_scope, session.obtained_tokens());
        }
        state.save(path).map_err(RunError::Config)?;
    }
    drop(connected);
    let unfinished = if interrupted {
        resume::unfinished(config, &catalogue, &results)
    } else {
        Vec::new()
    };
    let report = Report {
        target: config.target.display(),
        api_version: config.version,
        mode: config.mode,
        duration_ms: started.elapsed().as_millis() as u64,
        results,
        leftover_users,
        interrupted,
        unfinished,
        services: located.services.lines().to_vec(),
    };
    Ok(match &config.resume {
        Some(previous) => previous.merge(report, &catalogue, config),
        None => report,
    })
}

/// Run the matrix and then the lifecycle scenarios in an existing session.
pub async fn execute(
    config: &CheckConfig,
    session: &Session,
    catalogue: &Catalogue,
) -> Vec<CheckResult> {
    let mut checks = planned_checks(catalogue, config.version, &config.filters);
    let mut id_checks = ids::planned_id_checks(catalogue, config.version, &config.filters);
    if let Some(previous) = &config.resume {
        checks.retain(|(op, p)| !previous.settled(&op.id, *p));
        id_checks.retain(|c| !previous.settled(&c.name(), c.principal));
    }
    let concurrency = config
        .limits
        .as_ref()
        .map_or(if config.target.is_remote() { 4 } else { 16 }, |l| {
            l.concurrency.max(1)
        });
    let total = checks.len() + id_checks.len();
    let done = std::sync::atomic::AtomicUsize::new(0);
    let done = &done;
    let judging = Judging::calibrate(session).await;
    tracing::debug!(order = ?judging.calibration.order, reason = %judging.calibration.reason, "check order");
    let judging = &judging;
    // Deletes go last: under a break, another principal's delete of the run user's data
    // would otherwise race the reads that judge the same data (a read after it sees 404).
    let (deletes, others): (Vec<_>, Vec<_>) = checks
        .into_iter()
        .enumerate()
        .partition(|(_, (op, _))| op.method == ::http::Method::DELETE);
    let run_batch = |batch: Vec<_>| {
        futures::stream::iter(batch)
            .map(|(i, (op, p))| async move {
                let r = check_one_judged(config, session, judging, op, p).await;
                if let Some(recorder) = &config.recorder {
                    recorder.push(&r);
                }
                if let Some(progress) = &config.progress {
                    (progress.0)(
                        done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1,
                        total,
                    );
                }
                (i, r)
            })
            .buffer_unordered(concurrency)
            .collect::<Vec<(usize, CheckResult)>>()
    };
    let record = |r: &CheckResult| {
        if let Some(recorder) = &config.recorder {
            recorder.push(r);
        }
        if let Some(progress) = &config.progress {
            (progress.0)(
                done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1,
                total,
            );
        }
    };
    let mut results = run_batch(others).await;
    // Id cells after the matrix's reads and edits, before its deletes: the lists at once, then
    // the writes one at a time, so that the run user's reads before and after a write see
    // only that write.
    let first_id = results.len() + deletes.len();
    let (filters, writes): (Vec<_>, Vec<_>) = id_checks
        .into_iter()
        .enumerate()
        .partition(|(_, c)| c.is_filter());
    let mut id_results: Vec<(usize, CheckResult)> = futures::stream::iter(filters)
        .map(|(i, c)| async move {
            let r = ids::check_id(config, session, &c).await;
            record(&r);
            (first_id + i, r)
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    for (i, c) in writes {
        let r = ids::check_id(config, session, &c).await;
        record(&r);
        id_results.push((first_id + i, r));
    }
    results.extend(run_batch(deletes).await);
    results.extend(id_results);
    results.sort_by_key(|(i, _)| *i);
    let mut results: Vec<CheckResult> = results.into_iter().map(|(_, r)| r).collect();
    if config.lifecycle {
        for sc in lifecycle::scenarios() {
            let name = format!("lifecycle:{}", sc.name);
            if !config.filters.admits(&[
                &name,
                sc.name,
                "lifecycle",
                sc.principal.name(),
                sc.rule.id(),
            ]) {
                continue;
            }
            if config
                .resume
                .as_ref()
                .is_some_and(|previous| previous.settled(&name, sc.principal))
            {
                continue;
            }
            let started = Instant::now();
            let unanswered_before = session.http.unanswered().0;
            let mut outcome = if sc.mutates_shared
                && config.target.is_remote()
                && !config.allow_mutations
            {
                lifecycle::ScenarioOutcome {
                    verdict: Verdict::Skipped,
                    reason: "changes a real client's secret (restored afterwards); needs --allow-mutations".into(),
                    status: None,
                }
            } else {
                (sc.run)(session).await
            };
            // A scenario judged on a request that got no answer (a redirect, a body over the
            // cap, a broken connection) proves nothing either way.
            let (unanswered, why) = session.http.unanswered();
            if unanswered > unanswered_before && outcome.verdict != Verdict::Skipped {
                outcome.verdict = Verdict::Inconclusive;
                outcome.reason = why.unwrap_or_else(|| "a request got no answer".into());
            }
            let result = CheckResult {
                operation: name,
                section: "Lifecycle".into(),
                method: String::new(),
                path: String::new(),
                principal: sc.principal,
                expected: sc.rule.id().into(),
                observed_status: outcome.status,
                verdict: outcome.verdict,
                reason: outcome.reason,
                rule: sc.rule,
                latency_ms: started.elapsed().as_millis() as u64,
                evidence: None,
            };
            if let Some(recorder) = &config.recorder {
                recorder.push(&result);
            }
            results.push(result);
        }
    }
    results
}

/// How a run judges unclear answers: what the calibration learned about the target's order of
/// checks, and the control answers sent so far.
#[derive(Debug)]
pub struct Judging {
    pub calibration: probe::Calibration,
    pub controls: probe::Controls,
}

impl Judging {
    /// Calibrate the target (two inert requests, see [`probe::calibrate`]).
    pub async fn calibrate(session: &Session) -> Judging {
        Judging {
            calibration: probe::calibrate(session).await,
            controls: probe::Controls::default(),
        }
    }

    /// Assume the faithful mock's order (the role first) without asking.
    pub fn role_first() -> Judging {
        Judging {
            calibration: probe::Calibration::assumed_role_first(),
            controls: probe::Controls::default(),
        }
    }
}

/// Probe and judge one operation x principal, assuming the target checks the role before it
/// validates the request (true of the faithful mock). A run calibrates instead: see
/// [`check_one_judged`].
pub async fn check_one(
    config: &CheckConfig,
    session: &Session,
    op: &Operation,
    principal: Principal,
) -> CheckResult {
    check_one_judged(config, session, &Judging::role_first(), op, principal).await
}

/// Probe and judge one operation x principal. When a denied caller gets a 4xx other than
/// 401/403 from a target that does not check the role first (or whose order is unknown), the
/// same request is repeated by an allowed caller (once per request, when that is inert) and a
/// valid, inert request is sent by the same caller (where one exists); the verdict rests on
/// that evidence, and is `inconclusive` with the reason when it does not settle the answer.
pub async fn check_one_judged(
    config: &CheckConfig,
    session: &Session,
    judging: &Judging,
    op: &Operation,
    principal: Principal,
) -> CheckResult {
    let expectation = expect(op, principal);
    let mut result = CheckResult::not_run(op.id.clone(), op, principal, &expectation);
    if config.target.is_remote()
        && !config.allow_mutations
        && probe::harmful_if_broken(op, principal)
    {
        result.reason = "if this boundary were broken the request would change data the run did not create; needs --allow-mutations".into();
        return result;
    }
    let probe = match probe::build(session, op, principal) {
        Ok(p) => p,
        Err(why) => {
            result.reason = why;
            return result;
        }
    };
    let resp = session.http.send(&probe.request).await;
    if op.probe == ProbeStyle::WrongSecret && resp.is_success() {
        restore_after_wrong_secret(session, &probe).await;
    }
    if !result.took_answer(&probe.request, principal, &resp, &session.redactor()) {
        return result;
    }
    let mut evidence = crate::model::expect::Evidence {
        order: judging.calibration.order,
        control: None,
        proof: None,
    };
    if evidence.order != CheckOrder::RoleFirst && needs_evidence(op, &expectation, resp.status) {
        evidence.control = judging.controls.status(session, op, &probe.request).await;
        if let Some(proof) = probe::proof(session, op, principal) {
            let answer = session.http.send(&proof.request).await;
            if answer.status != 0 && answer.status != 429 && answer.status < 500 {
                evidence.proof = Some(crate::model::expect::Proof {
                    status: answer.status,
                    allowed_statuses: proof.allowed_statuses,
                });
            }
        }
    }
    let judgement = judge_with(
        op,
        &expectation,
        Observed {
            status: resp.status,
            body: &resp.body,
        },
        config.mode,
        &probe.allowed_statuses,
        &evidence,
    );
    result.verdict = judgement.verdict;
    result.reason = judgement.reason;
    result
}

/// A target that accepted the deliberately wrong old secret changed the client's secret to
/// the probe's value: put the real one back.
async fn restore_after_wrong_secret(session: &Session, probe: &probe::Probe) {
    let (Some(app), http::Body::Json(body)) = (&session.creds.app, &probe.request.body) else {
        return;
    };
    let Some(changed_to) = body.get("newClientSecret").and_then(|v| v.as_str()) else {
        return;
    };
    let Some(admin) = &session.creds.admin else {
        return;
    };
    if let Some(token) = session::access_token(&session.client_token(admin).await) {
        let req = http::HttpRequest::new(::http::Method::POST, session.path("changeClientCredentials"))
            .bearer(Some(token))
            .json(serde_json::json!({ "clientId": app.id, "oldClientSecret": changed_to, "newClientSecret": app.secret }));
        session.http.send(&req).await;
    }
}

/// Time budget helper for callers that want a bound on a whole run.
pub async fn run_with_timeout(config: &CheckConfig, limit: Duration) -> Result<Report, RunError> {
    tokio::time::timeout(limit, run(config))
        .await
        .map_err(|_| RunError::Config(format!("the run took longer than {}s", limit.as_secs())))?
}
