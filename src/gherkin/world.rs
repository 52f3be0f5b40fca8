//! The state of one scenario ([`FinapiWorld`]): its connection to the target (a fresh
//! in-process mock or a real base URL, with a runner session), the users and tokens it made,
//! the last answer, and what it must put back at the end. Also the parsers step definitions
//! use for principals and API versions.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use crate::model::{ApiVersion, Catalogue, Principal};
use crate::runner::http::HttpResponse;
use crate::runner::session::RunUser;
use crate::runner::{self, CheckConfig, ClientCredentials, Session, SessionOptions};
use crate::FinapiMock;

use super::steps;
use super::SuiteOptions;

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
    /// The latest Web Form 2.0 web form: (owner's name, id, url).
    pub web_form: Option<(String, String, String)>,
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
            .unwrap_or_else(|| Arc::new(SuiteOptions::default()))
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
            config.readings = suite.readings.clone();
            config.limits = suite.limits.clone();
            config.transport = suite.transport.clone();
            if suite.base_url.is_none() {
                config.world = suite.world.clone();
            }
            if suite.strict {
                config.mode = crate::model::Mode::Strict;
            }
            let connected = match runner::connect(&config).await {
                Ok(c) => c,
                Err(e) => panic!("cannot reach the target: {e}"),
            };
            let catalogue = Catalogue::embedded().with_readings(&config.readings);
            let mut opts = SessionOptions::new(config.version);
            opts.clock = connected.mock.as_ref().map(|m| m.clock().clone());
            if let Some(mock) = &connected.mock {
                opts.webform_completion =
                    crate::runner::session::WebFormCompletion::Simulator(mock.simulator().clone());
            }
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
        steps::restore_config(self).await;
        steps::restore_secrets(self).await;
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

/// The catalogue's operation `id` of `version`, or a step failure naming it (a feature file
/// that names an operation the catalogue lacks is the file's mistake, said in one line).
pub(crate) fn named_operation(
    catalogue: &Catalogue,
    version: ApiVersion,
    id: &str,
) -> crate::model::Operation {
    catalogue
        .get(version, id)
        .cloned()
        .unwrap_or_else(|| panic!("no operation \"{id}\" in the {version} catalogue"))
}
