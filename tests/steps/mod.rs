//! The Gherkin suite's machinery: the per-scenario world, the step definitions (in the
//! sub-modules) and [`run_suite`], which both `tests/features.rs` (the `cargo test` entry)
//! and `tests/features_fail.rs` (the proof that the suite can fail) call.
//!
//! Steps are thin: what an operation x principal must see comes from the role model
//! (`model::expect`), probes and their verdicts from the runner library
//! (`runner::check_one`, `runner::probe`, `runner::Session`), and the target is either a fresh
//! in-process mock per scenario or a real base URL.
#![allow(dead_code)]

mod answers;
mod catalogue;
mod tokens;

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use cucumber::event::ScenarioFinished;
use cucumber::gherkin;
use cucumber::writer::{self, Coloring, Verbosity};
use cucumber::{World as _, WriterExt as _};
use futures::FutureExt as _;
use parking_lot::Mutex;

use finapi_conformance::model::{ApiVersion, Catalogue, Principal, Rule};
use finapi_conformance::runner::http::HttpResponse;
use finapi_conformance::runner::session::RunUser;
use finapi_conformance::runner::{self, CheckConfig, ClientCredentials, Session, SessionOptions};
use finapi_conformance::{Faults, FinapiMock, Violation};

/// Tags that keep a scenario away from a real target, with the reason printed when it is left
/// out.
pub const MOCK_ONLY: &str = "mock-only";
pub const MUTATES_SHARED: &str = "mutates-shared";

/// How one run of the suite is set up.
#[derive(Debug, Clone)]
pub struct SuiteOptions {
    /// Directory (or single file) of `.feature` files.
    pub features: PathBuf,
    /// `None`: every scenario gets a fresh in-process mock. `Some(url)`: a real target.
    pub base_url: Option<String>,
    /// The API version of the mandator under test.
    pub version: ApiVersion,
    /// Breaks injected into every per-scenario mock (ignored for a real target).
    pub faults: Faults,
    /// Run `@mutates-shared` scenarios against a real target too.
    pub allow_mutations: bool,
    /// Write a JUnit report here.
    pub junit: Option<PathBuf>,
    /// Print cucumber's scenario-by-scenario output on stdout.
    pub console: bool,
    /// Credentials for a real target (`None`: the `FINAPI_*` variables, as `check` reads them).
    pub credentials: Option<runner::Credentials>,
    /// HTTP limits (`None`: gentle ones for a real target, fast ones for the mock).
    pub limits: Option<runner::http::Limits>,
    /// Judge the catalogue steps' probes in the runner's strict mode (exact status and error
    /// body) instead of boundary mode.
    pub strict: bool,
}

impl SuiteOptions {
    /// The in-process defaults: `features/`, API V2, no breaks, no report.
    pub fn mock(features: impl Into<PathBuf>) -> SuiteOptions {
        SuiteOptions {
            features: features.into(),
            base_url: None,
            version: ApiVersion::V2,
            faults: Faults::none(),
            allow_mutations: false,
            junit: None,
            console: false,
            credentials: None,
            limits: None,
            strict: false,
        }
    }

    /// Read the environment: `FINAPI_BASE_URL` (a real target; `mock` or unset for the
    /// in-process mock), `FINAPI_API_VERSION`, `FINAPI_VIOLATE=name,name`,
    /// `FINAPI_ALLOW_MUTATIONS=1`, `FINAPI_STRICT=1`, `CUCUMBER_JUNIT=path`,
    /// `FINAPI_FEATURES=dir`.
    pub fn from_env() -> Result<SuiteOptions, String> {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        let features = var("FINAPI_FEATURES")
            .map(PathBuf::from)
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("features"));
        let mut opts = SuiteOptions::mock(features);
        opts.base_url = var("FINAPI_BASE_URL").filter(|u| u != "mock");
        if let Some(v) = var("FINAPI_API_VERSION") {
            opts.version = v.parse()?;
        }
        if let Some(list) = var("FINAPI_VIOLATE") {
            opts.faults = parse_faults(&list)?;
        }
        opts.allow_mutations = var("FINAPI_ALLOW_MUTATIONS").is_some_and(|v| v != "0");
        opts.junit = var("CUCUMBER_JUNIT").map(PathBuf::from);
        opts.strict = var("FINAPI_STRICT").is_some_and(|v| v != "0");
        opts.console = true;
        Ok(opts)
    }

    pub fn is_remote(&self) -> bool {
        self.base_url.is_some()
    }

    /// Why a scenario with these tags does not run against this target, if it does not.
    pub fn exclusion(&self, tags: &[String]) -> Option<&'static str> {
        if !self.is_remote() {
            return None;
        }
        if tags.iter().any(|t| t == MOCK_ONLY) {
            return Some("@mock-only: needs the in-process mock (its clock, a world of its own, a password change token in clear, or an injected break)");
        }
        if tags.iter().any(|t| t == MUTATES_SHARED) && !self.allow_mutations {
            return Some("@mutates-shared: changes a real client's secret or configuration (put back afterwards); set FINAPI_ALLOW_MUTATIONS=1 to run it");
        }
        None
    }
}

/// `name,name` of `Violation`s.
pub fn parse_faults(list: &str) -> Result<Faults, String> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<Violation>())
        .collect()
}

/// How one scenario ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioRecord {
    pub feature: String,
    pub name: String,
    pub line: usize,
    pub tags: Vec<String>,
    pub passed: bool,
    /// Why it failed (empty when it passed).
    pub detail: String,
}

/// What a run of the suite found.
#[derive(Debug, Clone, Default)]
pub struct SuiteOutcome {
    pub scenarios: Vec<ScenarioRecord>,
    /// Scenarios left out for this target: (feature: scenario, reason).
    pub excluded: Vec<(String, String)>,
    /// Problems found outside the scenarios, each failing the run: a feature file whose
    /// scenario lacks a valid `@rule-<id>` tag, a JUnit path that cannot be written, a base
    /// URL the HTTP client refuses.
    pub problems: Vec<String>,
    pub parsing_errors: usize,
    pub failed_steps: usize,
    pub skipped_steps: usize,
    pub hook_errors: usize,
    /// cucumber's own verdict (failed, skipped-as-failed, ambiguous or parse errors).
    pub execution_failed: bool,
}

impl SuiteOutcome {
    /// True when every scenario ran and passed and the feature files are in order.
    pub fn passed(&self) -> bool {
        !self.execution_failed
            && self.problems.is_empty()
            && self.parsing_errors == 0
            && !self.scenarios.is_empty()
            && self.scenarios.iter().all(|s| s.passed)
    }

    /// `feature: scenario` of every failed scenario, sorted.
    pub fn failed(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .scenarios
            .iter()
            .filter(|s| !s.passed)
            .map(|s| format!("{}: {}", s.feature, s.name))
            .collect();
        out.sort();
        out
    }

    /// One line for the end of a run.
    pub fn summary_line(&self) -> String {
        let failed = self.scenarios.iter().filter(|s| !s.passed).count();
        format!(
            "{} passed, {} failed",
            self.scenarios.len() - failed,
            failed
        )
    }
}

/// The prefix of a rule tag: `@rule-intruder-admin`.
pub const RULE_TAG: &str = "rule-";

/// Every scenario of the feature files must name the rule it checks with a `@rule-<id>` tag
/// (on the scenario or its feature), and every such id must be one of `model::Rule`.
pub fn lint_features(path: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    let files = feature_files(path);
    if files.is_empty() {
        problems.push(format!("no .feature file under {}", path.display()));
    }
    for file in files {
        let feature = match gherkin::Feature::parse_path(&file, gherkin::GherkinEnv::default()) {
            Ok(f) => f,
            Err(e) => {
                problems.push(format!("{}: {e}", file.display()));
                continue;
            }
        };
        let scenarios = feature
            .scenarios
            .iter()
            .chain(feature.rules.iter().flat_map(|r| r.scenarios.iter()));
        for sc in scenarios {
            let tags = sc.tags.iter().chain(feature.tags.iter());
            let rules: Vec<&str> = tags.filter_map(|t| t.strip_prefix(RULE_TAG)).collect();
            let at = format!("{}:{} `{}`", file.display(), sc.position.line, sc.name);
            if rules.is_empty() {
                problems.push(format!("{at} has no @rule-<id> tag"));
            }
            for id in rules {
                if Rule::parse(id).is_none() {
                    problems.push(format!("{at}: @rule-{id} names no rule of model::Rule"));
                }
            }
        }
    }
    problems
}

fn feature_files(path: &Path) -> Vec<PathBuf> {
    if path.is_file() {
        return vec![path.to_path_buf()];
    }
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(path) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(feature_files(&p));
            } else if p.extension().is_some_and(|x| x == "feature") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Run the features of `opts` and report scenario by scenario.
pub async fn run_suite(opts: SuiteOptions) -> SuiteOutcome {
    let opts = Arc::new(opts);
    let records: Arc<Mutex<Vec<ScenarioRecord>>> = Arc::default();
    let excluded: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let lint = lint_features(&opts.features);

    let console: Box<dyn io::Write> = if opts.console {
        Box::new(io::stdout())
    } else {
        Box::new(io::sink())
    };
    let junit: Box<dyn io::Write> = match &opts.junit {
        Some(path) => match std::fs::File::create(path) {
            Ok(f) => Box::new(f),
            Err(e) => {
                let mut out = SuiteOutcome {
                    problems: lint,
                    ..SuiteOutcome::default()
                };
                out.problems
                    .push(format!("cannot write JUnit to {}: {e}", path.display()));
                return out;
            }
        },
        None => Box::new(io::sink()),
    };
    let writer = writer::Basic::raw(console, Coloring::Auto, Verbosity::Default)
        .summarized()
        .tee::<FinapiWorld, _>(writer::JUnit::for_tee(junit, Verbosity::Default))
        .normalized();

    // Against a real target every scenario shares one HTTP client, so the runner's limits
    // (requests in flight, requests per second, retries) hold for the whole run, not per
    // scenario.
    let shared_http = match &opts.base_url {
        Some(url) => match runner::http::Http::new(
            url,
            opts.limits
                .clone()
                .unwrap_or_else(runner::http::Limits::remote),
        ) {
            Ok(http) => Some(http),
            Err(e) => {
                return SuiteOutcome {
                    problems: vec![e],
                    ..SuiteOutcome::default()
                }
            }
        },
        None => None,
    };
    let before_opts = Arc::clone(&opts);
    let after_records = Arc::clone(&records);
    let filter_opts = Arc::clone(&opts);
    let filter_excluded = Arc::clone(&excluded);
    // A real target sees few scenarios at a time, so they finish (and report) one by one
    // under the shared rate limit; the mock takes cucumber's default.
    let concurrency = if opts.is_remote() { 2 } else { 64 };
    let written = FinapiWorld::cucumber()
        .max_concurrent_scenarios(concurrency)
        .with_writer(writer)
        .fail_on_skipped()
        .before(move |_, _, _, world| {
            world.suite = Some(Arc::clone(&before_opts));
            world.shared_http = shared_http.clone();
            async {}.boxed_local()
        })
        .after(move |feature, _, scenario, finished, world| {
            let (passed, detail) = match finished {
                ScenarioFinished::StepPassed => (true, String::new()),
                ScenarioFinished::StepSkipped => (
                    false,
                    "a step is undefined (no step definition matches it) or was skipped".into(),
                ),
                ScenarioFinished::StepFailed(_, _, err) => (false, err.to_string()),
                ScenarioFinished::BeforeHookFailed(_) => (false, "the before hook failed".into()),
            };
            after_records.lock().push(ScenarioRecord {
                feature: feature.name.clone(),
                name: scenario.name.clone(),
                line: scenario.position.line,
                tags: scenario.tags.clone(),
                passed,
                detail,
            });
            async move {
                if let Some(world) = world {
                    world.finish().await;
                }
            }
            .boxed_local()
        })
        // The command line belongs to the test harness (`cargo test -q`, test names), not to
        // cucumber: options come from the environment.
        .with_default_cli()
        .filter_run(opts.features.clone(), move |feature, _, scenario| {
            let tags: Vec<String> = scenario
                .tags
                .iter()
                .chain(feature.tags.iter())
                .cloned()
                .collect();
            match filter_opts.exclusion(&tags) {
                Some(why) => {
                    let name = format!("{}: {}", feature.name, scenario.name);
                    println!("left out for this target: {name} ({why})");
                    filter_excluded.lock().push((name, why.to_string()));
                    false
                }
                None => true,
            }
        })
        .await;

    use cucumber::writer::Stats as _;
    let mut scenarios = records.lock().clone();
    scenarios.sort_by(|a, b| (&a.feature, a.line).cmp(&(&b.feature, b.line)));
    let excluded = excluded.lock().clone();
    SuiteOutcome {
        scenarios,
        excluded,
        problems: lint,
        parsing_errors: written.parsing_errors(),
        failed_steps: written.failed_steps(),
        skipped_steps: written.skipped_steps(),
        hook_errors: written.hook_errors(),
        execution_failed: written.execution_has_failed(),
    }
}

/// A user a scenario created, under the name the scenario gave it.
#[derive(Clone)]
pub struct NamedUser {
    pub user: RunUser,
    /// The client that created it.
    pub creator: ClientCredentials,
}

/// A user token a scenario holds: who logged in through which client.
#[derive(Clone)]
pub struct HeldToken {
    pub user: String,
    pub via: Principal,
    pub access: String,
    pub refresh: Option<String>,
}

/// The target of one scenario: its own mock (in-process) and a runner session.
pub struct Conn {
    pub config: CheckConfig,
    pub mock: Option<FinapiMock>,
    pub session: Session,
    /// True once the session has its principals' tokens and its own users
    /// (`Session::set_up`).
    pub prepared: bool,
}

/// The state of one scenario.
#[derive(cucumber::World, Default)]
pub struct FinapiWorld {
    /// Set by the before hook.
    pub suite: Option<Arc<SuiteOptions>>,
    /// The run's one HTTP client for a real target (set by the before hook).
    pub shared_http: Option<runner::http::Http>,
    /// The API version the scenario binds its mandator to (`None`: the suite's).
    pub version: Option<ApiVersion>,
    pub conn: Option<Conn>,
    pub users: HashMap<String, NamedUser>,
    pub user_tokens: Vec<HeldToken>,
    pub client_tokens: HashMap<Principal, String>,
    /// The last answer a `When` step got.
    pub last: Option<HttpResponse>,
    /// Secrets a scenario changed: (principal, original secret), restored at the end.
    pub rotated: Vec<(Principal, String)>,
    /// Client configuration fields a scenario changed: (principal, field, old value).
    pub config_edits: Vec<(Principal, String, serde_json::Value)>,
}

impl fmt::Debug for FinapiWorld {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Tokens, passwords and secrets stay out of any output.
        f.debug_struct("FinapiWorld")
            .field("version", &self.version)
            .field("connected", &self.conn.is_some())
            .field("users", &self.users.keys().collect::<Vec<_>>())
            .field("last_status", &self.last.as_ref().map(|r| r.status))
            .finish()
    }
}

impl FinapiWorld {
    pub fn suite(&self) -> Arc<SuiteOptions> {
        self.suite
            .clone()
            .unwrap_or_else(|| Arc::new(SuiteOptions::mock("features")))
    }

    pub fn api_version(&self) -> ApiVersion {
        self.version.unwrap_or_else(|| self.suite().version)
    }

    /// Connect on first use: a fresh mock (with the suite's breaks) or the real target, and a
    /// runner session. On the mock the session is set up at once (cheap, and its clock jump,
    /// which makes the expired token, happens before any step acts); on a real target only
    /// when a step needs the principals' tokens ([`FinapiWorld::prepared`]), which spares
    /// every other scenario the set-up's requests and users.
    pub async fn conn(&mut self) -> &mut Conn {
        if self.conn.is_none() {
            let suite = self.suite();
            let target = match &suite.base_url {
                Some(url) => runner::Target::Remote {
                    base_url: url.clone(),
                },
                None => runner::Target::InProcess {
                    faults: suite.faults.clone(),
                },
            };
            let mut config = CheckConfig::new(target, self.api_version());
            config.allow_mutations = suite.allow_mutations;
            config.lifecycle = false;
            config.credentials = suite.credentials.clone();
            config.limits = suite.limits.clone();
            if suite.strict {
                config.mode = finapi_conformance::model::Mode::Strict;
            }
            let connected = match runner::connect(&config).await {
                Ok(c) => c,
                Err(e) => panic!("cannot reach the target: {e}"),
            };
            let catalogue = Catalogue::embedded().with_readings(&config.readings);
            let mut opts = SessionOptions::new(config.version);
            opts.clock = connected.mock.as_ref().map(|m| m.clock().clone());
            let http = self
                .shared_http
                .clone()
                .unwrap_or_else(|| connected.http.clone());
            let session = Session::new(http, connected.credentials.clone(), catalogue, opts);
            let in_process = connected.mock.is_some();
            self.conn = Some(Conn {
                config,
                mock: connected.mock,
                session,
                prepared: false,
            });
            if in_process {
                let conn = self.conn.as_mut().expect("stored just above");
                if let Err(e) = conn.session.set_up().await {
                    panic!("cannot set up a session with the mock: {e}");
                }
                conn.prepared = true;
            }
        }
        self.conn.as_mut().expect("connected just above")
    }

    /// The connection with its session set up: every principal's token, the run's users and
    /// their data (what the runner's probes address).
    pub async fn prepared(&mut self) -> &mut Conn {
        let conn = self.conn().await;
        if !conn.prepared {
            // Users created before a failure are removed by `finish`, like all others.
            if let Err(e) = conn.session.set_up().await {
                panic!("cannot set up a session with the target: {e}");
            }
            conn.prepared = true;
        }
        conn
    }

    pub async fn session(&mut self) -> &Session {
        &self.conn().await.session
    }

    /// The credentials a client principal presents, or a step failure naming what is missing.
    pub async fn client(&mut self, who: Principal) -> ClientCredentials {
        let session = self.session().await;
        let creds = match who {
            Principal::AppClient => session.creds.app.clone(),
            Principal::SecondAppClient => session.creds.app2.clone(),
            Principal::AdminClient => session.creds.admin.clone(),
            Principal::OtherMandatorAppClient => session.creds.other_app.clone(),
            other => panic!("{other} is not a client"),
        };
        creds.unwrap_or_else(|| {
            panic!("no credentials for the {who}: set its FINAPI_*_ID and FINAPI_*_SECRET")
        })
    }

    /// A scenario user by name.
    pub fn user(&self, name: &str) -> NamedUser {
        self.users
            .get(name)
            .cloned()
            .unwrap_or_else(|| panic!("no user \"{name}\" in this scenario: create it first"))
    }

    /// The latest token a user got (through `via`, when given).
    pub fn held(&self, name: &str, via: Option<Principal>) -> HeldToken {
        self.user_tokens
            .iter()
            .rev()
            .find(|t| t.user == name && via.is_none_or(|v| v == t.via))
            .cloned()
            .unwrap_or_else(|| match via {
                Some(v) => panic!("\"{name}\" has not logged in through the {v}"),
                None => panic!("\"{name}\" has not logged in"),
            })
    }

    /// The answer of the last `When` step.
    pub fn last(&self) -> &HttpResponse {
        self.last
            .as_ref()
            .expect("no request was made yet: a `When` step must come first")
    }

    /// End of scenario: put back any secret it changed, remove the users it created.
    pub async fn finish(&mut self) {
        tokens::restore_config(self).await;
        tokens::restore_secrets(self).await;
        if let Some(conn) = &self.conn {
            // The mock goes away with its users; a real target keeps them unless removed.
            if conn.mock.is_none() {
                let left = conn.session.clean_up().await;
                if left > 0 {
                    println!("warning: {left} user(s) of this scenario could not be removed");
                }
            }
        }
        // The scenario's mock (if any) stops here; `FinapiMock`'s drop is safe on a runtime
        // thread whatever its cooperative budget.
        self.conn = None;
    }
}

/// Parse a principal as features write it: `app-client`, `the app client`, `app client 2`,
/// `the admin client`, `another mandator's app client`, ...
pub fn principal(text: &str) -> Principal {
    let t = text.trim().trim_matches('"');
    let t = t.strip_prefix("the ").unwrap_or(t);
    let alias = match t {
        "app client 1" | "first app client" => Some(Principal::AppClient),
        "app client 2" => Some(Principal::SecondAppClient),
        "mandator admin client" => Some(Principal::AdminClient),
        "another mandator's app client" | "other mandator's app client" => {
            Some(Principal::OtherMandatorAppClient)
        }
        "another user" => Some(Principal::OtherUser),
        "another mandator's user" | "other mandator's user" => Some(Principal::OtherMandatorUser),
        _ => None,
    };
    alias
        .or_else(|| t.parse().ok())
        .unwrap_or_else(|| panic!("unknown principal `{text}`"))
}

/// `V1`/`V2` (any case).
pub fn version(text: &str) -> ApiVersion {
    text.trim()
        .parse()
        .unwrap_or_else(|e: String| panic!("{e}"))
}
