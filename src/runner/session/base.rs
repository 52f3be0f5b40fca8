//! The session itself: what a run holds of its target (client, credentials, catalogue, the
//! fixtures its probes use), its tokens (client and password grants, revocation), the run's
//! users as they are asked for, and the one way every part of it sends.

use std::collections::HashMap;
use std::time::Duration;

use parking_lot::Mutex;
use serde_json::{json, Value};

use crate::model::{ApiVersion, Catalogue, Principal};
use crate::runner::credentials::{ClientCredentials, Credentials};
use crate::runner::http::{Http, HttpRequest, HttpResponse, Withheld};
use crate::runner::redact::Redactor;
use crate::runner::services::Services;
use crate::runner::state_file::Obtained;
use crate::sim::Clock;

/// A user the run created.
#[derive(Clone, PartialEq, Eq)]
pub struct RunUser {
    pub id: String,
    pub password: String,
}

impl std::fmt::Debug for RunUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (password redacted)", self.id)
    }
}

/// A set-up failure that makes the run impossible (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SetupError(pub String);

/// What the probes of a run use.
#[derive(Debug, Default)]
pub struct Fixtures {
    /// Token per principal; a missing entry is explained in `unavailable`.
    pub tokens: HashMap<Principal, String>,
    pub unavailable: HashMap<Principal, String>,
    /// The run's main user (principal `user`) and the user whose data others probe.
    pub user_a: Option<RunUser>,
    /// Refresh tokens of user A: through app client 1 and through app client 2.
    pub refresh_app: Option<String>,
    pub refresh_app2: Option<String>,
    /// User A's resource ids by kind (`accounts`, `labels`, ...).
    pub resources: HashMap<String, u64>,
    /// A user created only to be deleted by the deleteAuthorizedUser probe.
    pub disposable_token: Option<String>,
    /// A user whose data the delete-all probes may wipe (so user A's data stays for others).
    pub scratch_token: Option<String>,
    /// The app client's configuration as the target reports it.
    pub client_config: Value,
    /// Why user A has no data of some kinds (the target let no owned request create it).
    pub no_data_reason: Option<String>,
    /// User A's Web Form 2.0 ids by kind (`webForms`, `tasks`): strings, not numbers.
    pub webform_ids: HashMap<String, String>,
}

/// How the run's own Web Form 2.0 import form gets completed.
#[derive(Debug, Clone, Default)]
pub enum WebFormCompletion {
    /// Not at all (the form stays open; its id still serves the probes).
    #[default]
    None,
    /// The in-process mock's simulator, directly.
    Simulator(crate::sim::Simulator),
    /// `serve`'s control API (`POST /__finapi/webForms/{id}`), when the target has one.
    ControlApi,
    /// A person: the run prints the form's URL and waits up to this long for the form to end.
    Interactive(Duration),
}

/// Options of a session.
#[derive(Debug, Clone)]
pub struct SessionOptions {
    pub version: ApiVersion,
    /// Id prefix of every user the run creates.
    pub prefix: String,
    /// The in-process mock's clock, when the target is the in-process mock.
    pub clock: Option<Clock>,
    /// Where the target's services are ([`Services`]; default: both on its own address).
    pub services: Services,
    /// How the run completes its own import web form.
    pub webform_completion: WebFormCompletion,
}

impl SessionOptions {
    pub fn new(version: ApiVersion) -> Self {
        SessionOptions {
            version,
            prefix: run_prefix(),
            clock: None,
            services: Services::default(),
            webform_completion: WebFormCompletion::None,
        }
    }
}

/// `fc-<8 hex>-`: short enough for finAPI's 36-character user ids.
pub fn run_prefix() -> String {
    format!(
        "fc-{:08x}-",
        u32::from_le_bytes(crate::sim::random::random_bytes::<4>())
    )
}

pub(super) fn random_secret(len: usize) -> String {
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    // 36 characters: a byte's remainder is uniform enough for a throwaway test password.
    (0..len)
        .map(|_| {
            CHARS[usize::from(crate::sim::random::random_bytes::<1>()[0]) % CHARS.len()] as char
        })
        .collect()
}

/// A connected session.
pub struct Session {
    pub http: Http,
    pub version: ApiVersion,
    pub creds: Credentials,
    pub catalogue: Catalogue,
    pub prefix: String,
    pub fixtures: Fixtures,
    pub clock: Option<Clock>,
    /// Where each service is: every request of a service goes through [`Services::path`].
    pub services: Services,
    pub(super) webform_completion: WebFormCompletion,
    /// Every user id the run created or may have created, with the client and password used.
    pub(super) created: Mutex<Vec<(ClientCredentials, RunUser)>>,
    pub(super) counter: std::sync::atomic::AtomicU32,
    /// Client tokens this run obtained, with their expiry (for `--state`).
    pub(super) obtained: Mutex<Vec<Obtained>>,
    /// Scrubs the run's secrets and tokens (built on first use, after set-up).
    pub(super) redactor: std::sync::OnceLock<Redactor>,
    /// True while [`Session::set_up`] runs.
    pub(super) setting_up: std::sync::atomic::AtomicBool,
    /// Why set-up must stop: an answer the client withheld (a redirect, a body over the cap).
    pub(super) setup_stop: Mutex<Option<String>>,
}

impl Session {
    /// A session that has sent nothing yet; [`Session::set_up`] authenticates and creates the
    /// run's users.
    pub fn new(
        http: Http,
        creds: Credentials,
        catalogue: Catalogue,
        opts: SessionOptions,
    ) -> Session {
        Session {
            http,
            version: opts.version,
            creds,
            catalogue,
            prefix: opts.prefix,
            fixtures: Fixtures::default(),
            clock: opts.clock,
            services: opts.services,
            webform_completion: opts.webform_completion,
            created: Mutex::new(Vec::new()),
            counter: std::sync::atomic::AtomicU32::new(0),
            obtained: Mutex::new(Vec::new()),
            redactor: std::sync::OnceLock::new(),
            setting_up: std::sync::atomic::AtomicBool::new(false),
            setup_stop: Mutex::new(None),
        }
    }

    /// A session that sends nothing: placeholders stand in for tokens, users and ids, so a
    /// dry run can show every request a real run would send.
    pub fn offline(
        http: Http,
        creds: Credentials,
        catalogue: Catalogue,
        opts: SessionOptions,
    ) -> Session {
        let mut fixtures = Fixtures::default();
        for p in Principal::ALL
            .into_iter()
            .filter(|p| *p != Principal::NoToken)
        {
            fixtures.tokens.insert(p, format!("<token of {p}>"));
        }
        fixtures.user_a = Some(RunUser {
            id: format!("{}a0", opts.prefix),
            password: "<password of the run user>".into(),
        });
        fixtures.refresh_app = Some("<refresh token via app client 1>".into());
        fixtures.refresh_app2 = Some("<refresh token via app client 2>".into());
        fixtures.disposable_token = Some("<token of a disposable run user>".into());
        fixtures.scratch_token = Some("<token of a scratch run user>".into());
        for op in catalogue.operations(opts.version) {
            let kind = op
                .path
                .trim_start_matches('/')
                .split('/')
                .nth(2)
                .unwrap_or_default()
                .to_string();
            fixtures.resources.entry(kind).or_insert(0);
        }
        for kind in ["webForms", "tasks"] {
            fixtures
                .webform_ids
                .insert(kind.into(), format!("<{kind} id of the run user>"));
        }
        Session {
            fixtures,
            clock: None,
            webform_completion: WebFormCompletion::None,
            ..Session::new(http, creds, catalogue, opts)
        }
    }

    /// A redactor for every secret and token of this session: the client secrets, the
    /// principals' tokens, refresh tokens and the run users' passwords. Built on first use, so
    /// call it after [`Session::set_up`].
    pub fn redactor(&self) -> Redactor {
        self.redactor
            .get_or_init(|| {
                let fx = &self.fixtures;
                let mut secrets = self.creds.secrets();
                secrets.extend(fx.tokens.values().cloned());
                secrets.extend(
                    [
                        &fx.refresh_app,
                        &fx.refresh_app2,
                        &fx.disposable_token,
                        &fx.scratch_token,
                    ]
                    .into_iter()
                    .flatten()
                    .cloned(),
                );
                secrets.extend(self.created.lock().iter().map(|(_, u)| u.password.clone()));
                secrets.extend(self.obtained.lock().iter().map(|o| o.token.clone()));
                Redactor::new(secrets)
            })
            .clone()
    }

    /// The client tokens this run obtained, with their expiry times (for `--state`).
    pub fn obtained_tokens(&self) -> Vec<Obtained> {
        self.obtained.lock().clone()
    }

    /// Why a probe that needs one of user A's `kind` ids is skipped.
    pub fn no_data(&self, kind: &str) -> String {
        if kind == "webForms" && self.version == ApiVersion::V1 {
            return "the run's user has no webForms to address: a web form exists only when the \
                    target asks a person to enter bank credentials in it, which a run cannot do"
                .into();
        }
        match &self.fixtures.no_data_reason {
            Some(why) => format!("the run's user has no {kind} to address: {why}"),
            None => format!("the run's user has no {kind} to address"),
        }
    }

    /// Path of an operation of this session's version.
    pub fn path(&self, op_id: &str) -> String {
        self.catalogue
            .get(self.version, op_id)
            .map(|o| o.path.clone())
            .unwrap_or_default()
    }

    fn token_path(&self) -> String {
        self.path("getToken")
    }

    /// `client_credentials` token of a client.
    pub async fn client_token(&self, client: &ClientCredentials) -> HttpResponse {
        let req = HttpRequest::new(http::Method::POST, self.token_path()).form(&[
            ("grant_type", "client_credentials"),
            ("client_id", &client.id),
            ("client_secret", &client.secret),
        ]);
        self.send(&req).await
    }

    /// `password` grant through a client.
    pub async fn user_login(&self, client: &ClientCredentials, user: &RunUser) -> HttpResponse {
        let req = HttpRequest::new(http::Method::POST, self.token_path()).form(&[
            ("grant_type", "password"),
            ("client_id", &client.id),
            ("client_secret", &client.secret),
            ("username", &user.id),
            ("password", &user.password),
        ]);
        self.send(&req).await
    }

    /// A fresh id under the run prefix.
    pub fn fresh_user_id(&self, tag: &str) -> String {
        let n = self
            .counter
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        format!("{}{tag}{n}", self.prefix)
    }

    /// The client credentials a principal presents (users: the app client that logged them in).
    pub fn client_of(&self, principal: Principal) -> Option<&ClientCredentials> {
        match principal {
            Principal::SecondAppClient => self.creds.app2.as_ref(),
            Principal::AdminClient => self.creds.admin.as_ref(),
            Principal::OtherMandatorAppClient | Principal::OtherMandatorUser => {
                self.creds.other_app.as_ref()
            }
            _ => self.creds.app.as_ref(),
        }
    }

    /// Remember a user the run created (or tried to), for clean-up.
    pub fn remember(&self, client: &ClientCredentials, user: RunUser) {
        self.created.lock().push((client.clone(), user));
    }

    /// Create (and verify) a user through `client`; returns it.
    pub async fn create_user(
        &self,
        client: &ClientCredentials,
        client_token: &str,
        tag: &str,
        verify: bool,
    ) -> Result<RunUser, String> {
        let user = RunUser {
            id: self.fresh_user_id(tag),
            password: random_secret(20),
        };
        self.remember(client, user.clone());
        let req = HttpRequest::new(http::Method::POST, self.path("createUser"))
            .bearer(Some(client_token.to_string()))
            .json(json!({ "id": user.id, "password": user.password }));
        let resp = self.send(&req).await;
        if resp.status != 201 && resp.status != 200 {
            return Err(format!(
                "creating a user failed with status {}",
                resp.status
            ));
        }
        if verify {
            let path = self.path("verifyUser").replace("{userId}", &user.id);
            let resp = self
                .send(
                    &HttpRequest::new(http::Method::POST, path)
                        .bearer(Some(client_token.to_string())),
                )
                .await;
            // 422: already verified (the client auto-verifies).
            if !resp.is_success() && resp.status != 422 {
                return Err(format!(
                    "verifying a user failed with status {}",
                    resp.status
                ));
            }
        }
        Ok(user)
    }

    /// Send through the session's client. During set-up, the first answer the client withholds
    /// (a redirect, a body over the cap) stops set-up: nothing more is sent, and
    /// [`Session::set_up`] fails with one line naming it.
    pub(super) async fn send(&self, req: &HttpRequest) -> HttpResponse {
        let setting_up = self.setting_up.load(std::sync::atomic::Ordering::Relaxed);
        if setting_up {
            if let Some(why) = self.setup_stop.lock().clone() {
                return HttpResponse {
                    status: 0,
                    body: Vec::new(),
                    latency: Duration::ZERO,
                    error: Some(why),
                    withheld: None,
                };
            }
        }
        let resp = self.http.send(req).await;
        if let (true, Some(withheld)) = (setting_up, &resp.withheld) {
            let path = req.path.split('?').next().unwrap_or_default();
            let hint = match withheld {
                Withheld::Redirect { .. } => {
                    "; the runner never follows redirects: check --base-url"
                }
                _ => "",
            };
            self.setup_stop.lock().get_or_insert_with(|| {
                format!(
                    "set-up stopped: {} {path}: {}{hint}",
                    req.method,
                    withheld.describe()
                )
            });
        }
        resp
    }

    /// Revoke `token` with the client token `bearer`.
    pub async fn revoke(&self, bearer: &str, token: &str, hint: Option<&str>) -> HttpResponse {
        let mut pairs = vec![("token", token)];
        if let Some(h) = hint {
            pairs.push(("token_type_hint", h));
        }
        let path = self.path("revokeToken");
        let req = match self.version {
            ApiVersion::V1 => {
                let q = serde_urlencoded::to_string(&pairs).unwrap_or_default();
                HttpRequest::new(http::Method::POST, format!("{path}?{q}"))
            }
            ApiVersion::V2 => HttpRequest::new(http::Method::POST, path).form(&pairs),
        };
        self.send(&req.bearer(Some(bearer.to_string()))).await
    }

    /// The request path of `path`, a path of service `api`: on that service's base URL
    /// ([`Services::path`]); `Err` with the reason when the run does not check the service.
    pub fn service_path(&self, api: crate::model::Api, path: &str) -> Result<String, String> {
        self.services.path(api, path)
    }
}

/// `access_token` of a successful token response.
pub fn access_token(resp: &HttpResponse) -> Option<String> {
    if !resp.is_success() {
        return None;
    }
    resp.json()
        .get("access_token")
        .and_then(Value::as_str)
        .map(str::to_string)
}
