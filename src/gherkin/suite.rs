//! Running a suite: loading the feature files (from disk or built in), checking their rule
//! tags, selecting scenarios, running them with cucumber for [`FinapiWorld`] and collecting
//! what happened to each ([`run_suite`], [`SuiteOutcome`]). [`cucumber`] hands out the same
//! set-up as a `cucumber::Cucumber` for callers that drive cucumber themselves.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use cucumber::event::{ScenarioFinished, StepError};
use cucumber::feature::Ext as _;
use cucumber::gherkin;
use cucumber::writer::{self, Coloring, Verbosity};
use cucumber::{World as _, WriterExt as _};
use futures::FutureExt as _;
use parking_lot::Mutex;

use crate::model::Rule;
use crate::runner;

use super::builtin::BUILT_IN;
use super::leave_out::{left_out_reason, LeaveOut, LeftOut};
use super::options::{Features, SuiteOptions, RULE_TAG};
use super::world::FinapiWorld;

/// How one scenario ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Ending {
    /// Every step passed.
    Passed,
    /// A step failed (an assertion did not hold, or the target could not be reached).
    Failed,
    /// A step matches no step definition.
    Undefined,
    /// A step matches more than one step definition.
    Ambiguous,
    /// The set-up before the first step failed.
    HookFailed,
}

/// How one scenario ended, and where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ScenarioRecord {
    /// The feature's name.
    pub feature: String,
    /// The scenario's name (an outline's rows share it).
    pub name: String,
    /// Its line in the feature file.
    pub line: usize,
    /// Its own tags, without `@`.
    pub tags: Vec<String>,
    /// True when every step passed.
    pub passed: bool,
    /// How it ended.
    pub ending: Ending,
    /// Why it failed (empty when it passed).
    pub detail: String,
}

/// What a run of the suite found.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct SuiteOutcome {
    /// Every scenario that ran, sorted by feature and line.
    pub scenarios: Vec<ScenarioRecord>,
    /// Scenarios left out for this target, (feature: scenario, reason): before they start
    /// (`@mock-only`, `@mutates-shared`), or when a step met a precondition the target cannot
    /// meet ([`leave_out`](super::leave_out())). Counted apart from passed and failed.
    pub excluded: Vec<(String, String)>,
    /// Problems found outside the scenarios, each failing the run: a feature file that cannot
    /// be read or parsed, a scenario without a valid `@rule-<id>` tag, a JUnit path that cannot
    /// be written, a base URL the HTTP client refuses.
    pub problems: Vec<String>,
    /// Feature files cucumber could not read or parse.
    pub parsing_errors: usize,
    /// Steps that failed.
    pub failed_steps: usize,
    /// Steps that were skipped: a step no definition matches, or the step that left its
    /// scenario out.
    pub skipped_steps: usize,
    /// Hooks that failed.
    pub hook_errors: usize,
    /// cucumber's own verdict (failed, skipped-as-failed, ambiguous or parse errors).
    pub execution_failed: bool,
}

impl SuiteOutcome {
    /// True when at least one scenario ran, every scenario passed and the feature files are in
    /// order.
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

    /// True when the feature files themselves are at fault: one cannot be read or parsed, a
    /// scenario lacks a valid rule tag, a step is undefined or ambiguous; or the run could not
    /// start (see [`SuiteOutcome::problems`]), or selected no scenario.
    pub fn usage_error(&self) -> bool {
        self.parsing_errors > 0
            || !self.problems.is_empty()
            || self.scenarios.is_empty()
            || self
                .scenarios
                .iter()
                .any(|s| matches!(s.ending, Ending::Undefined | Ending::Ambiguous))
    }

    /// The command line's exit code: 0 every scenario passed, 1 a scenario failed, 2 a
    /// [usage error](SuiteOutcome::usage_error).
    pub fn exit_code(&self) -> i32 {
        if self.usage_error() {
            2
        } else if self.passed() {
            0
        } else {
            1
        }
    }

    /// What a run prints after cucumber's own output: the problems, every failed scenario with
    /// why, and the [summary line](SuiteOutcome::summary_line), each line starting with
    /// `features: ` or `FAILED `.
    pub fn report(&self) -> String {
        let mut out = String::new();
        for problem in &self.problems {
            out += &format!("features: problem: {problem}\n");
        }
        for s in self.scenarios.iter().filter(|s| !s.passed) {
            out += &format!(
                "FAILED {}: {} (line {}): {}\n",
                s.feature, s.name, s.line, s.detail
            );
        }
        if self.scenarios.is_empty() && self.problems.is_empty() && self.parsing_errors == 0 {
            out += "features: no scenario ran (none selected, or all left out)\n";
        }
        out += &format!("features: {}\n", self.summary_line());
        out
    }

    /// One line for the end of a run: `12 passed, 1 failed` (and what was left out, and parse
    /// errors, when there are any).
    pub fn summary_line(&self) -> String {
        let failed = self.scenarios.iter().filter(|s| !s.passed).count();
        let mut line = format!(
            "{} passed, {} failed",
            self.scenarios.len() - failed,
            failed
        );
        if !self.excluded.is_empty() {
            line += &format!(", {} left out for this target", self.excluded.len());
        }
        if self.parsing_errors > 0 {
            line += &format!(", {} feature file(s) not parsed", self.parsing_errors);
        }
        line
    }
}

/// The feature files of `features`, parsed (outlines not yet expanded), in order.
fn load(features: &Features) -> Vec<Result<gherkin::Feature, gherkin::ParseFileError>> {
    let env = gherkin::GherkinEnv::default;
    match features {
        Features::BuiltIn => BUILT_IN
            .iter()
            .map(|(name, text)| {
                let path = Path::new("features").join(name);
                match gherkin::Feature::parse(text, env()) {
                    Ok(mut f) => {
                        f.path = Some(path);
                        Ok(f)
                    }
                    Err(source) => Err(gherkin::ParseFileError::Parsing {
                        path,
                        error: None,
                        source,
                    }),
                }
            })
            .collect(),
        Features::Paths(paths) => paths
            .iter()
            .flat_map(|p| {
                if !p.exists() {
                    let source =
                        io::Error::new(io::ErrorKind::NotFound, "no such file or directory");
                    return vec![Err(gherkin::ParseFileError::Reading {
                        path: p.clone(),
                        source,
                    })];
                }
                feature_files(p)
                    .into_iter()
                    .map(|f| gherkin::Feature::parse_path(f, env()))
                    .collect()
            })
            .collect(),
    }
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

/// A parse error with its cause, on one line.
fn parse_error_line(e: &gherkin::ParseFileError) -> String {
    match e {
        gherkin::ParseFileError::Reading { path, source } => {
            format!("cannot read {}: {source}", path.display())
        }
        gherkin::ParseFileError::Parsing { path, source, .. } => {
            format!("cannot parse {}: {source}", path.display())
        }
    }
}

/// The loader of [`Features`] for cucumber: feature files from disk or the built-in suite,
/// with scenario outlines expanded.
#[derive(Debug, Clone, Copy, Default)]
pub struct FeatureLoader;

impl cucumber::Parser<Features> for FeatureLoader {
    type Cli = cucumber::cli::Empty;
    type Output =
        futures::stream::Iter<std::vec::IntoIter<cucumber::parser::Result<gherkin::Feature>>>;

    fn parse(self, input: Features, _cli: Self::Cli) -> Self::Output {
        let features: Vec<_> = load(&input)
            .into_iter()
            .map(|f| match f {
                Ok(f) => f.expand_examples().map_err(Into::into),
                Err(e) => Err(e.into()),
            })
            .collect();
        futures::stream::iter(features)
    }
}

/// Problems with the feature files themselves: files that cannot be read or parsed, and
/// scenarios that do not name the rule they check. Every scenario must carry a `@rule-<id>`
/// tag (on itself, its rule or its feature), and every such id must be one of
/// [`Rule`](crate::Rule).
pub fn lint_features(features: &Features) -> Vec<String> {
    let mut problems = Vec::new();
    let loaded = load(features);
    if loaded.is_empty() {
        problems.push(format!("no .feature file in {}", features.describe()));
    }
    for feature in loaded {
        let feature = match feature {
            Ok(f) => f,
            Err(e) => {
                problems.push(parse_error_line(&e));
                continue;
            }
        };
        let file = feature
            .path
            .as_ref()
            .map_or_else(|| feature.name.clone(), |p| p.display().to_string());
        let scenarios = feature.scenarios.iter().map(|s| (s, None)).chain(
            feature
                .rules
                .iter()
                .flat_map(|r| r.scenarios.iter().map(move |s| (s, Some(r)))),
        );
        for (sc, rule) in scenarios {
            let tags = sc
                .tags
                .iter()
                .chain(rule.iter().flat_map(|r| r.tags.iter()))
                .chain(feature.tags.iter());
            let rules: Vec<&str> = tags.filter_map(|t| t.strip_prefix(RULE_TAG)).collect();
            let at = format!("{file}:{} `{}`", sc.position.line, sc.name);
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

/// Every tag that applies to a scenario: its own, its rule's and its feature's.
fn all_tags(
    feature: &gherkin::Feature,
    rule: Option<&gherkin::Rule>,
    scenario: &gherkin::Scenario,
) -> Vec<String> {
    scenario
        .tags
        .iter()
        .chain(rule.iter().flat_map(|r| r.tags.iter()))
        .chain(feature.tags.iter())
        .cloned()
        .collect()
}

/// The run's one HTTP client for a real target, so the runner's limits (requests in flight,
/// requests per second, retries) hold for the whole run, not per scenario.
fn shared_http(opts: &SuiteOptions) -> Result<Option<runner::http::Http>, String> {
    match &opts.base_url {
        // The runner's client for the target (and its Web Form 2.0 host).
        Some(_) => runner::remote_client(&opts.check_config(opts.version)).map(Some),
        None => Ok(None),
    }
}

/// Where a real target's services are, found once for the run through its shared client, so
/// every scenario judges the same services and the target is asked once.
async fn shared_services(
    opts: &SuiteOptions,
    http: Option<&runner::http::Http>,
) -> Option<runner::Services> {
    let http = http?;
    let config = opts.check_config(opts.version);
    let located = runner::locate(config.addresses(), http).await;
    for line in located.services.lines() {
        if opts.console {
            println!("features: {}", line.describe());
        }
    }
    Some(located.services)
}

/// Scenarios at once: the options', else few against a real target (they finish and report
/// one by one under the shared rate limit) and cucumber's default on the mock.
fn concurrency(opts: &SuiteOptions) -> usize {
    opts.concurrency
        .unwrap_or(if opts.is_remote() { 2 } else { 64 })
        .max(1)
}

/// A `cucumber::Cucumber` for [`FinapiWorld`], set up as [`run_suite`] sets it up: every
/// scenario's world gets `opts` (target, credentials, breaks, readings) before its first step,
/// and puts back what it changed and removes the users it created after its last. Steps are
/// the built-in ones and every `#[given]`/`#[when]`/`#[then]` function on [`FinapiWorld`]
/// linked into the program. It reads feature files from a [`Features`], writes cucumber's
/// default console output, and ignores the process's command line (call `.with_cli(..)` to
/// change that). Note that cucumber's `.with_writer(..)`, `.with_parser(..)` and
/// `.with_runner(..)` bring back its own default, parsing the command line: call
/// `.with_default_cli()` again after them, or a test binary's `-q` or `--nocapture` ends the
/// process.
///
/// Unlike [`run_suite`], it does not check rule tags, select by tag or name, leave out
/// scenarios a real target must not run, or fail on undefined steps (add
/// `.fail_on_skipped()`); filter with `.filter_run(..)` and
/// [`SuiteOptions::exclusion`] if you point it at a real target. A scenario a step leaves out
/// ([`leave_out`](super::leave_out())) shows as failed here, with the reason, unless your writer
/// goes through [`LeaveOut`](super::LeaveOut); each scenario finds the target's services for
/// itself.
///
/// Fails when the base URL of `opts` is not one the HTTP client accepts.
#[allow(clippy::type_complexity)]
pub fn cucumber(
    opts: SuiteOptions,
) -> Result<
    cucumber::Cucumber<
        FinapiWorld,
        FeatureLoader,
        Features,
        impl cucumber::Runner<FinapiWorld, Cli = cucumber::runner::basic::Cli>,
        writer::Summarize<writer::Normalize<FinapiWorld, writer::Basic>>,
    >,
    String,
> {
    let http = shared_http(&opts)?;
    let concurrency = concurrency(&opts);
    let opts = Arc::new(opts);
    Ok(FinapiWorld::cucumber::<PathBuf>()
        .with_parser(FeatureLoader)
        .max_concurrent_scenarios(concurrency)
        .before(move |_, _, _, world| {
            world.suite = Some(Arc::clone(&opts));
            world.shared_http = http.clone();
            async {}.boxed_local()
        })
        .after(|_, _, _, _, world| {
            async move {
                if let Some(world) = world {
                    world.finish().await;
                }
            }
            .boxed_local()
        })
        .with_default_cli())
}

/// Run the features of `opts` and report scenario by scenario. Scenarios outside
/// [`SuiteOptions::tags`] and [`SuiteOptions::name`] do not run; against a real target
/// `@mock-only` (and, unless allowed, `@mutates-shared`) scenarios are left out, each printed
/// with the reason. Undefined and ambiguous steps fail the run, as do scenarios without a
/// valid `@rule-<id>` tag.
pub async fn run_suite(opts: SuiteOptions) -> SuiteOutcome {
    let opts = Arc::new(opts);
    let records: Arc<Mutex<Vec<ScenarioRecord>>> = Arc::default();
    let excluded: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let mut problems = lint_features(&opts.features);

    let console: Box<dyn io::Write> = if opts.console {
        Box::new(io::stdout())
    } else {
        Box::new(io::sink())
    };
    let junit: Box<dyn io::Write> = match &opts.junit {
        Some(path) => match std::fs::File::create(path) {
            Ok(f) => Box::new(f),
            Err(e) => {
                problems.push(format!("cannot write JUnit to {}: {e}", path.display()));
                return SuiteOutcome {
                    problems,
                    ..SuiteOutcome::default()
                };
            }
        },
        None => Box::new(io::sink()),
    };
    // A step that leaves its scenario out reaches the writers as a skipped step; only the
    // other skipped steps (no definition matches them) fail the run.
    let left_out = LeftOut::default();
    let not_left_out = left_out.clone();
    let writer = LeaveOut::new(
        writer::Basic::raw(console, Coloring::Auto, Verbosity::Default)
            .summarized()
            .tee::<FinapiWorld, _>(writer::JUnit::for_tee(junit, Verbosity::Default))
            .normalized()
            .fail_on_skipped_with(move |feature, _, scenario| {
                !not_left_out.is_left_out(feature, scenario)
            }),
        left_out,
    );

    let shared_http = match shared_http(&opts) {
        Ok(h) => h,
        Err(e) => {
            problems.push(e);
            return SuiteOutcome {
                problems,
                ..SuiteOutcome::default()
            };
        }
    };
    let services = shared_services(&opts, shared_http.as_ref()).await;
    let before_opts = Arc::clone(&opts);
    let after_records = Arc::clone(&records);
    let after_excluded = Arc::clone(&excluded);
    let filter_opts = Arc::clone(&opts);
    let filter_excluded = Arc::clone(&excluded);
    let written = FinapiWorld::cucumber::<PathBuf>()
        .with_parser(FeatureLoader)
        .max_concurrent_scenarios(concurrency(&opts))
        .with_writer(writer)
        .before(move |_, _, _, world| {
            world.suite = Some(Arc::clone(&before_opts));
            world.shared_http = shared_http.clone();
            world.shared_services = services.clone();
            async {}.boxed_local()
        })
        .after(move |feature, _, scenario, finished, world| {
            let left_out = match finished {
                ScenarioFinished::StepFailed(_, _, err) => left_out_reason(err),
                _ => None,
            };
            if let Some(why) = left_out {
                let name = format!("{}: {}", feature.name, scenario.name);
                println!("left out for this target: {name} ({why})");
                after_excluded.lock().push((name, why));
                return async move {
                    if let Some(world) = world {
                        world.finish().await;
                    }
                }
                .boxed_local();
            }
            let (ending, detail) = match finished {
                ScenarioFinished::StepPassed => (Ending::Passed, String::new()),
                ScenarioFinished::StepSkipped => (
                    Ending::Undefined,
                    "a step is undefined (no step definition matches it)".into(),
                ),
                ScenarioFinished::StepFailed(_, _, err @ StepError::AmbiguousMatch(_)) => {
                    (Ending::Ambiguous, err.to_string())
                }
                ScenarioFinished::StepFailed(_, _, err) => (Ending::Failed, err.to_string()),
                ScenarioFinished::BeforeHookFailed(_) => {
                    (Ending::HookFailed, "the before hook failed".into())
                }
            };
            after_records.lock().push(ScenarioRecord {
                feature: feature.name.clone(),
                name: scenario.name.clone(),
                line: scenario.position.line,
                tags: scenario.tags.clone(),
                passed: ending == Ending::Passed,
                ending,
                detail,
            });
            async move {
                if let Some(world) = world {
                    world.finish().await;
                }
            }
            .boxed_local()
        })
        // The command line belongs to the caller (a test harness, the `features` command), not
        // to cucumber: options come from `SuiteOptions`.
        .with_default_cli()
        .filter_run(opts.features.clone(), move |feature, rule, scenario| {
            let tags = all_tags(feature, rule, scenario);
            if !filter_opts.selects(&tags, &scenario.name) {
                return false;
            }
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
        problems,
        parsing_errors: written.parsing_errors(),
        failed_steps: written.failed_steps(),
        skipped_steps: written.skipped_steps(),
        hook_errors: written.hook_errors(),
        execution_failed: written.execution_has_failed(),
    }
}
