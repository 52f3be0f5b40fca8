//! How one run of a Gherkin suite is set up ([`SuiteOptions`]): which feature files, which
//! target, which scenarios, which breaks and readings, and where the JUnit report goes. Also
//! the safety rules that keep some scenarios away from a real target.

use std::path::PathBuf;

use cucumber::gherkin::tagexpr::TagOperation;
use cucumber::tag::Ext as _;

use crate::model::{ApiVersion, Readings};
use crate::runner;
use crate::{Faults, Violation};

/// Tag of a scenario that needs the in-process mock (its clock, a world of its own, a password
/// change token in clear, or an injected break); left out against a real target.
pub const MOCK_ONLY: &str = "mock-only";
/// Tag of a scenario that changes a real client's secret or configuration (and puts it back);
/// against a real target it runs only with [`SuiteOptions::allow_mutations`].
pub const MUTATES_SHARED: &str = "mutates-shared";
/// The prefix of a rule tag, as in `@rule-intruder-admin`: every scenario names the rule of
/// [`Rule`](crate::Rule) it checks.
pub const RULE_TAG: &str = "rule-";

/// Where the feature files come from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Features {
    /// These `.feature` files, and every `.feature` file under these directories (sorted).
    Paths(Vec<PathBuf>),
    /// The suite of this crate's `features/` directory, built into the library
    /// ([`BUILT_IN`](super::BUILT_IN)).
    BuiltIn,
}

impl Features {
    /// A single file or directory.
    pub fn path(path: impl Into<PathBuf>) -> Features {
        Features::Paths(vec![path.into()])
    }

    /// For messages: the paths, or `the built-in suite`.
    pub fn describe(&self) -> String {
        match self {
            Features::Paths(paths) => paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
            Features::BuiltIn => "the built-in suite".into(),
        }
    }
}

/// How one run of the suite is set up. Start from [`SuiteOptions::mock`] (a directory) or
/// [`SuiteOptions::built_in`] and change the fields you need.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SuiteOptions {
    /// The feature files.
    pub features: Features,
    /// `None`: every scenario gets a fresh in-process mock. `Some(url)`: a real target.
    pub base_url: Option<String>,
    /// The API version of the mandator under test.
    pub version: ApiVersion,
    /// Breaks injected into every per-scenario mock (ignored for a real target).
    pub faults: Faults,
    /// How the per-scenario mocks and the role-model steps read the ambiguous rules.
    pub readings: Readings,
    /// Run `@mutates-shared` scenarios against a real target too.
    pub allow_mutations: bool,
    /// Write a JUnit report here.
    pub junit: Option<PathBuf>,
    /// Print cucumber's scenario-by-scenario output on stdout.
    pub console: bool,
    /// Credentials for a real target (`None`: the `FINAPI_*` variables, as `check` reads them;
    /// the mock's own on the in-process mock).
    pub credentials: Option<runner::Credentials>,
    /// HTTP limits (`None`: gentle ones for a real target, fast ones for the mock).
    pub limits: Option<runner::http::Limits>,
    /// How a real target may be reached (body cap, CA certificates, plain http, connect
    /// timeout).
    pub transport: runner::http::Transport,
    /// Where a real target serves Web Form 2.0, as `check --webform-url` takes it (a base URL,
    /// or `same`); `None`: finAPI's Web Form host for finAPI's Access hosts, the target's own
    /// address for a `serve`, else the Web Form 2.0 scenarios are left out
    /// ([`runner::webform_address`]).
    pub webform_url: Option<String>,
    /// Judge the role-model steps' probes in the runner's strict mode (exact status and error
    /// body) instead of boundary mode.
    pub strict: bool,
    /// Only scenarios whose tags (with their feature's and rule's) satisfy this cucumber tag
    /// expression, e.g. `@rule-token-reuse and not @mock-only`.
    pub tags: Option<TagOperation>,
    /// Only scenarios whose name matches this regular expression.
    pub name: Option<regex::Regex>,
    /// Scenarios run at once (`None`: 64 on the mock, 2 against a real target).
    pub concurrency: Option<usize>,
    /// The world of every per-scenario mock (`None`: the demo world); the scenarios use its
    /// clients ([`runner::Credentials::of_world`]) unless `credentials` says otherwise.
    pub world: Option<crate::world::World>,
}

impl Default for SuiteOptions {
    /// The built-in suite on the in-process mock.
    fn default() -> SuiteOptions {
        SuiteOptions::built_in()
    }
}

impl SuiteOptions {
    /// The feature files of `features` (a directory or one file) against a fresh in-process
    /// mock per scenario: API V2, no breaks, default readings, no report, no console output.
    pub fn mock(features: impl Into<PathBuf>) -> SuiteOptions {
        SuiteOptions {
            features: Features::path(features),
            base_url: None,
            version: ApiVersion::V2,
            faults: Faults::none(),
            readings: Readings::default(),
            allow_mutations: false,
            junit: None,
            console: false,
            credentials: None,
            limits: None,
            transport: runner::http::Transport::default(),
            webform_url: None,
            strict: false,
            tags: None,
            name: None,
            concurrency: None,
            world: None,
        }
    }

    /// The built-in suite with the defaults of [`SuiteOptions::mock`].
    pub fn built_in() -> SuiteOptions {
        SuiteOptions {
            features: Features::BuiltIn,
            ..SuiteOptions::mock("features")
        }
    }

    /// Read the environment on top of the defaults (the built-in suite): `FINAPI_FEATURES=dir`,
    /// `FINAPI_BASE_URL` (a real target; `mock` or unset for the in-process mock),
    /// `FINAPI_API_VERSION`, `FINAPI_VIOLATE=name,name`, `FINAPI_ALLOW_MUTATIONS=1`,
    /// `FINAPI_STRICT=1`, `FINAPI_WEBFORM_URL`, `CUCUMBER_JUNIT=path`, `FINAPI_FEATURES_TAGS=expression`,
    /// `FINAPI_FEATURES_NAME=regex`, and the transport's `FINAPI_CA_CERT`,
    /// `FINAPI_MAX_BODY_BYTES`, `FINAPI_ALLOW_PLAIN_HTTP=1`. Console output is on.
    pub fn from_env() -> Result<SuiteOptions, String> {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        let mut opts = match var("FINAPI_FEATURES") {
            Some(dir) => SuiteOptions::mock(dir),
            None => SuiteOptions::built_in(),
        };
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
        opts.webform_url = var("FINAPI_WEBFORM_URL");
        if let Some(expr) = var("FINAPI_FEATURES_TAGS") {
            opts.tags = Some(parse_tags(&expr)?);
        }
        if let Some(re) = var("FINAPI_FEATURES_NAME") {
            opts.name = Some(parse_name(&re)?);
        }
        opts.transport = runner::http::Transport::from_env()?;
        opts.console = true;
        Ok(opts)
    }

    /// True when the scenarios run against a real target.
    pub fn is_remote(&self) -> bool {
        self.base_url.is_some()
    }

    /// The runner's configuration for a scenario of API `version` under these options: the
    /// target, credentials, readings, limits, transport and Web Form address, strict mode.
    pub fn check_config(&self, version: ApiVersion) -> runner::CheckConfig {
        let target = match &self.base_url {
            Some(url) => runner::Target::Remote {
                base_url: url.clone(),
            },
            None => runner::Target::InProcess {
                faults: self.faults.clone(),
            },
        };
        let mut config = runner::CheckConfig::new(target, version);
        config.allow_mutations = self.allow_mutations;
        config.lifecycle = false;
        config.credentials = self.credentials.clone();
        config.readings = self.readings.clone();
        config.limits = self.limits.clone();
        config.transport = self.transport.clone();
        config.webform_url = self.webform_url.clone();
        if self.base_url.is_none() {
            config.world = self.world.clone();
        }
        if self.strict {
            config.mode = crate::model::Mode::Strict;
        }
        config
    }

    /// Whether a scenario with these tags (its own, its rule's and its feature's, without `@`)
    /// and this name is one the run selects ([`SuiteOptions::tags`], [`SuiteOptions::name`]).
    pub fn selects(&self, tags: &[String], name: &str) -> bool {
        self.tags.as_ref().is_none_or(|t| t.eval(tags.iter()))
            && self.name.as_ref().is_none_or(|re| re.is_match(name))
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
            return Some("@mutates-shared: changes a real client's secret or configuration (put back afterwards); run it with --allow-mutations or FINAPI_ALLOW_MUTATIONS=1");
        }
        None
    }
}

/// `name,name` of [`Violation`]s.
pub fn parse_faults(list: &str) -> Result<Faults, String> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<Violation>())
        .collect()
}

/// A cucumber tag expression (`@a and not (@b or @c)`).
pub fn parse_tags(expr: &str) -> Result<TagOperation, String> {
    expr.parse::<TagOperation>()
        .map_err(|e| format!("bad tag expression `{expr}`: {e}"))
}

/// A regular expression for scenario names.
pub fn parse_name(re: &str) -> Result<regex::Regex, String> {
    regex::Regex::new(re).map_err(|e| format!("bad name pattern `{re}`: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn tag_expressions_and_names_select_scenarios() {
        let mut opts = SuiteOptions::built_in();
        assert!(opts.selects(&tags(&["rule-x"]), "any"));
        opts.tags = Some(parse_tags("@rule-x and not @mock-only").expect("valid"));
        assert!(opts.selects(&tags(&["rule-x"]), "any"));
        assert!(!opts.selects(&tags(&["rule-x", "mock-only"]), "any"));
        assert!(!opts.selects(&tags(&["rule-y"]), "any"));
        opts.name = Some(parse_name("^an? ").expect("valid"));
        assert!(opts.selects(&tags(&["rule-x"]), "a token"));
        assert!(!opts.selects(&tags(&["rule-x"]), "the token"));
        assert!(parse_tags("@a and and").is_err());
        assert!(parse_name("(").is_err());
    }

    #[test]
    fn a_real_target_leaves_out_mock_only_and_shared_mutations() {
        let mut opts = SuiteOptions::built_in();
        assert_eq!(opts.exclusion(&tags(&[MOCK_ONLY])), None);
        opts.base_url = Some("https://example.invalid".into());
        assert!(opts.exclusion(&tags(&[MOCK_ONLY])).is_some());
        assert!(opts.exclusion(&tags(&[MUTATES_SHARED])).is_some());
        assert_eq!(opts.exclusion(&tags(&["rule-x"])), None);
        opts.allow_mutations = true;
        assert_eq!(opts.exclusion(&tags(&[MUTATES_SHARED])), None);
    }
}
