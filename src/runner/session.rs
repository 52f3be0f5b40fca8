//! A session with a target: the tokens each principal uses, the users the run created (with a
//! recognisable prefix), the user data probes address, and the clean-up at the end.

use std::collections::HashMap;
use std::time::Duration;

use parking_lot::Mutex;
use rand::Rng;
use serde_json::{json, Value};

use super::credentials::{ClientCredentials, Credentials};
use super::http::{Http, HttpRequest, HttpResponse};
use super::redact::Redactor;
use super::state_file::Obtained;
use crate::model::{ApiVersion, CallerKind, Catalogue, Principal, Shapes};
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
    /// Base URL of the target's Web Form 2.0 host (`None`: the same address as Access).
    pub webform_url: Option<String>,
    /// How the run completes its own import web form.
    pub webform_completion: WebFormCompletion,
}

impl SessionOptions {
    pub fn new(version: ApiVersion) -> Self {
        SessionOptions {
            version,
            prefix: run_prefix(),
            clock: None,
            webform_url: None,
            webform_completion: WebFormCompletion::None,
        }
    }
}

/// `fc-<8 hex>-`: short enough for finAPI's 36-character user ids.
pub fn run_prefix() -> String {
    format!("fc-{:08x}-", rand::thread_rng().gen::<u32>())
}

fn random_secret(len: usize) -> String {
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::thread_rng();
    (0..len)
        .map(|_| CHARS[rng.gen_range(0..CHARS.len())] as char)
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
    /// Base URL of the Web Form 2.0 host, when it is not the Access host.
    pub webform_url: Option<String>,
    webform_completion: WebFormCompletion,
    /// Every user id the run created or may have created, with the client and password used.
    created: Mutex<Vec<(ClientCredentials, RunUser)>>,
    counter: std::sync::atomic::AtomicU32,
    /// Client tokens this run obtained, with their expiry (for `--state`).
    obtained: Mutex<Vec<Obtained>>,
    /// Scrubs the run's secrets and tokens (built on first use, after set-up).
    redactor: std::sync::OnceLock<Redactor>,
    /// True while [`Session::set_up`] runs.
    setting_up: std::sync::atomic::AtomicBool,
    /// Why set-up must stop: an answer the client withheld (a redirect, a body over the cap).
    setup_stop: Mutex<Option<String>>,
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
            webform_url: opts
                .webform_url
                .map(|u| u.trim_end_matches('/').to_string()),
            webform_completion: opts.webform_completion,
            created: Mutex::new(Vec::new()),
            counter: std::sync::atomic::AtomicU32::new(0),
            obtained: Mutex::new(Vec::new()),
            redactor: std::sync::OnceLock::new(),
            setting_up: std::sync::atomic::AtomicBool::new(false),
            setup_stop: Mutex::new(None),
        }
    }

    /// Authenticate the configured clients and create the run's users; when that fails, the
    /// users created so far are removed before the error is returned.
    pub async fn connect(
        http: Http,
        creds: Credentials,
        catalogue: Catalogue,
        opts: SessionOptions,
    ) -> Result<Session, SetupError> {
        let mut session = Session::new(http, creds, catalogue, opts);
        if let Err(e) = session.set_up().await {
            session.clean_up().await;
            return Err(e);
        }
        Ok(session)
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
            http,
            version: opts.version,
            creds,
            catalogue,
            prefix: opts.prefix,
            fixtures,
            clock: None,
            webform_url: None,
            webform_completion: WebFormCompletion::None,
            created: Mutex::new(Vec::new()),
            counter: std::sync::atomic::AtomicU32::new(0),
            obtained: Mutex::new(Vec::new()),
            redactor: std::sync::OnceLock::new(),
            setting_up: std::sync::atomic::AtomicBool::new(false),
            setup_stop: Mutex::new(None),
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
        if kind == "webForms" {
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

    async fn token_of(
        &self,
        label: &str,
        client: &ClientCredentials,
    ) -> Result<String, SetupError> {
        let resp = self.client_token(client).await;
        if let Some(token) = access_token(&resp) {
            let expires_in = resp.json().get("expires_in").and_then(Value::as_u64);
            self.obtained.lock().push(Obtained::new(
                &client.id,
                token,
                expires_in,
                chrono::Utc::now().timestamp(),
            ));
        }
        access_token(&resp).ok_or_else(|| {
            SetupError(format!(
                "cannot get a token for the {label} (status {}{})",
                resp.status,
                resp.error
                    .as_deref()
                    .map(|e| format!(", {e}"))
                    .unwrap_or_default()
            ))
        })
    }

    /// Log `user` in through `client` and keep the token as `principal`'s, or note why the
    /// principal's checks will be skipped.
    async fn log_in_as(
        &mut self,
        principal: Principal,
        client: &ClientCredentials,
        user: &RunUser,
        who: &str,
    ) {
        match access_token(&self.user_login(client, user).await) {
            Some(t) => {
                self.fixtures.tokens.insert(principal, t);
            }
            None => {
                self.fixtures
                    .unavailable
                    .insert(principal, format!("{who} cannot log in"));
            }
        }
    }

    /// Send through the session's client. During set-up, the first answer the client withholds
    /// (a redirect, a body over the cap) stops set-up: nothing more is sent, and
    /// [`Session::set_up`] fails with one line naming it.
    async fn send(&self, req: &HttpRequest) -> HttpResponse {
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
                super::http::Withheld::Redirect { .. } => {
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

    /// Authenticate the configured clients and create the run's users. Every user is
    /// remembered as soon as it is asked for, so [`Session::clean_up`] removes it even when
    /// set-up stops half-way (an error, or Ctrl-C dropping this future). A redirect or a body
    /// over the cap anywhere in set-up stops it with that as the error.
    pub async fn set_up(&mut self) -> Result<(), SetupError> {
        use std::sync::atomic::Ordering;
        self.setting_up.store(true, Ordering::Relaxed);
        let result = self.set_up_steps().await;
        self.setting_up.store(false, Ordering::Relaxed);
        match self.setup_stop.lock().take() {
            Some(why) => Err(SetupError(why)),
            None => result,
        }
    }

    async fn set_up_steps(&mut self) -> Result<(), SetupError> {
        let Some(app) = self.creds.app.clone() else {
            return Err(SetupError(
                "no app client credentials: set FINAPI_APP_CLIENT_ID and FINAPI_APP_CLIENT_SECRET"
                    .into(),
            ));
        };
        let mut app_token = self
            .token_of("app client (FINAPI_APP_CLIENT_ID)", &app)
            .await?;
        let mut expired = self.creds.expired_token.clone();
        if let Some(clock) = self.clock.clone() {
            // In-process mock: make a user token, then move the clock past every validity period.
            let config = self.get_json("getClientConfiguration", &app_token).await;
            let validity = [
                "userAccessTokensValidityPeriod",
                "clientAccessTokensValidityPeriod",
            ]
            .iter()
            .filter_map(|k| config.get(*k).and_then(Value::as_u64))
            .max()
            .unwrap_or(3600);
            if validity > 0 {
                let user = self
                    .create_user(&app, &app_token, "e", true)
                    .await
                    .map_err(SetupError)?;
                expired = access_token(&self.user_login(&app, &user).await);
                clock.advance(Duration::from_secs(validity + 1));
                app_token = self.token_of("app client", &app).await?;
            }
        }
        let fx = &mut self.fixtures;
        match expired {
            Some(t) => {
                fx.tokens.insert(Principal::ExpiredToken, t);
            }
            None => {
                fx.unavailable.insert(
                    Principal::ExpiredToken,
                    "a remote target cannot expire a token on demand; set FINAPI_EXPIRED_TOKEN to test it".into(),
                );
            }
        }
        fx.tokens.insert(Principal::AppClient, app_token.clone());
        fx.tokens.insert(
            Principal::MalformedToken,
            format!("not-a-token-{}", random_secret(12)),
        );
        let mut others = Vec::new();
        for (principal, creds, var) in [
            (
                Principal::SecondAppClient,
                self.creds.app2.clone(),
                "FINAPI_APP_CLIENT2_ID",
            ),
            (
                Principal::AdminClient,
                self.creds.admin.clone(),
                "FINAPI_ADMIN_CLIENT_ID",
            ),
            (
                Principal::OtherMandatorAppClient,
                self.creds.other_app.clone(),
                "FINAPI_OTHER_APP_CLIENT_ID",
            ),
        ] {
            match creds {
                Some(c) => others.push((principal, self.token_of(var, &c).await?)),
                None => {
                    self.fixtures
                        .unavailable
                        .insert(principal, format!("{var} and its secret are not set"));
                }
            }
        }
        self.fixtures.tokens.extend(others);
        self.fixtures.client_config = self.get_json("getClientConfiguration", &app_token).await;

        // User A (principal `user`, and the owner of the data others probe), user B.
        let a = self
            .create_user(&app, &app_token, "a", true)
            .await
            .map_err(SetupError)?;
        let login = self.user_login(&app, &a).await;
        let a_token = access_token(&login).ok_or_else(|| {
            SetupError(format!(
                "the run's user cannot log in (status {})",
                login.status
            ))
        })?;
        self.fixtures.refresh_app = login
            .json()
            .get("refresh_token")
            .and_then(Value::as_str)
            .map(str::to_string);
        if let Some(app2) = self.creds.app2.clone() {
            let login2 = self.user_login(&app2, &a).await;
            self.fixtures.refresh_app2 = login2
                .json()
                .get("refresh_token")
                .and_then(Value::as_str)
                .map(str::to_string);
        }
        self.fixtures
            .tokens
            .insert(Principal::User, a_token.clone());
        let b = self
            .create_user(&app, &app_token, "b", true)
            .await
            .map_err(SetupError)?;
        self.log_in_as(Principal::OtherUser, &app, &b, "the second run user")
            .await;
        // A user of another mandator.
        match (
            self.creds.other_app.clone(),
            self.fixtures
                .tokens
                .get(&Principal::OtherMandatorAppClient)
                .cloned(),
        ) {
            (Some(other), Some(other_token)) => {
                let x = self
                    .create_user(&other, &other_token, "x", true)
                    .await
                    .map_err(SetupError)?;
                self.log_in_as(
                    Principal::OtherMandatorUser,
                    &other,
                    &x,
                    "the other mandator's run user",
                )
                .await;
            }
            _ => {
                self.fixtures.unavailable.insert(
                    Principal::OtherMandatorUser,
                    "FINAPI_OTHER_APP_CLIENT_ID and its secret are not set".into(),
                );
            }
        }
        // A revoked token: a dedicated user's token, revoked with no hint.
        let r = self
            .create_user(&app, &app_token, "r", true)
            .await
            .map_err(SetupError)?;
        if let Some(t) = access_token(&self.user_login(&app, &r).await) {
            let revoked = self.revoke(&app_token, &t, None).await;
            if revoked.is_success() {
                self.fixtures.tokens.insert(Principal::RevokedToken, t);
            }
        }
        if !self.fixtures.tokens.contains_key(&Principal::RevokedToken) {
            self.fixtures.unavailable.insert(
                Principal::RevokedToken,
                "could not obtain and revoke a token".into(),
            );
        }
        // A disposable user for deleteAuthorizedUser.
        let d = self
            .create_user(&app, &app_token, "d", true)
            .await
            .map_err(SetupError)?;
        self.fixtures.disposable_token = access_token(&self.user_login(&app, &d).await);
        let w = self
            .create_user(&app, &app_token, "w", true)
            .await
            .map_err(SetupError)?;
        self.fixtures.scratch_token = access_token(&self.user_login(&app, &w).await);
        self.fixtures.user_a = Some(a);
        self.find_resources(&a_token).await;
        Ok(())
    }

    async fn get_json(&self, op_id: &str, token: &str) -> Value {
        let resp = self
            .send(
                &HttpRequest::new(http::Method::GET, self.path(op_id))
                    .bearer(Some(token.to_string())),
            )
            .await;
        if resp.is_success() {
            resp.json()
        } else {
            Value::Null
        }
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

    /// `given` completed to a body `op_id` accepts, from the request shapes of the run's
    /// version (unchanged when they describe no body).
    fn valid_body(&self, op_id: &str, given: Value) -> Value {
        Shapes::embedded(self.version)
            .request_body(op_id, given.clone())
            .unwrap_or(given)
    }

    /// Give user A data (a test-bank import where the target allows it), then note one id of
    /// every kind user A can list. When some kinds stay empty, `no_data_reason` says why.
    async fn find_resources(&mut self, a_token: &str) {
        let mut import_status = self.import_test_bank(a_token).await;
        if let Some(done) = self.import_through_web_form(a_token).await {
            if import_status.is_err() {
                import_status = done;
            }
        }
        // Data a user may create for itself with one request (gone with the user at clean-up).
        for (op, body) in [
            ("createLabel", json!({ "name": "fc-label" })),
            ("createCategory", json!({ "name": "fc-category" })),
            (
                "createNotificationRule",
                json!({ "triggerEvent": "NEW_TRANSACTIONS", "includeDetails": false }),
            ),
        ] {
            let path = self.path(op);
            if !path.is_empty() {
                let body = self.valid_body(op, body);
                let req = HttpRequest::new(http::Method::POST, path)
                    .bearer(Some(a_token.to_string()))
                    .json(body);
                let _ = self.send(&req).await;
            }
        }
        let kinds: Vec<(String, String)> = self
            .catalogue
            .operations(self.version)
            .filter(|o| o.callers.contains(CallerKind::User) && o.method == http::Method::GET)
            .filter_map(|o| {
                let segs: Vec<&str> = o.path.trim_start_matches('/').split('/').skip(2).collect();
                (segs.len() == 1).then(|| (segs[0].to_string(), o.path.clone()))
            })
            .collect();
        for (kind, path) in kinds {
            let resp = self
                .send(&HttpRequest::new(http::Method::GET, path).bearer(Some(a_token.to_string())))
                .await;
            // The list field is named after the kind, except where finAPI names it otherwise
            // (`GET /bankConnections` answers `connections`): then the body's one array.
            let body = resp.json();
            let list = body.get(&kind).and_then(Value::as_array).or_else(|| {
                body.as_object()
                    .and_then(|o| o.values().find_map(Value::as_array))
            });
            let first = list.and_then(|a| a.first().cloned());
            if let Some(id) = first
                .as_ref()
                .and_then(|v| v.get("id"))
                .and_then(Value::as_u64)
            {
                self.fixtures.resources.insert(kind, id);
            }
        }
        self.create_update_task(a_token).await;
        self.fixtures.no_data_reason = match (self.version, import_status) {
            (_, Ok(())) => None,
            (ApiVersion::V2, Err(status)) => Some(format!(
                "API V2 imports bank data only through finAPI's web form, where a person enters \
                 bank credentials, which a run cannot automate (the test-bank import answered {status})"
            )),
            (ApiVersion::V1, Err(status)) => Some(format!(
                "the V1 import of finAPI's test bank {TEST_BANK_ID} was not accepted ({status}); \
                 a client whose imports need the web form cannot give the run's users data"
            )),
        };
    }

    /// Import finAPI's test bank for user A (an owned request: it creates data only for the
    /// run's own user) and wait, within a bound, until the target has finished the import.
    /// `Err` describes the answer when no data came of it.
    async fn import_test_bank(&self, a_token: &str) -> Result<(), String> {
        let import = HttpRequest::new(http::Method::POST, self.path("importBankConnection"))
            .bearer(Some(a_token.to_string()))
            .json(self.valid_body("importBankConnection", import_params(self.version)));
        let resp = self.send(&import).await;
        if !resp.is_success() {
            return Err(if resp.status == 0 {
                "no response".into()
            } else {
                format!("status {}", resp.status)
            });
        }
        // An import may still be running when it is answered (V1: `updateStatus`); poll the
        // connection until it is ready, with a bounded number of tries.
        let body = resp.json();
        let (Some(id), Some(status)) = (
            body.get("id").and_then(Value::as_u64),
            body.get("updateStatus").and_then(Value::as_str),
        ) else {
            return Ok(());
        };
        if status == "READY" || self.path("getBankConnection").is_empty() {
            return Ok(());
        }
        let path = self
            .path("getBankConnection")
            .replace("{id}", &id.to_string());
        for attempt in 0..IMPORT_POLLS {
            tokio::time::sleep(Duration::from_millis(500 * (1 + attempt as u64).min(4))).await;
            let r = self
                .send(
                    &HttpRequest::new(http::Method::GET, path.clone())
                        .bearer(Some(a_token.to_string())),
                )
                .await;
            if r.json().get("updateStatus").and_then(Value::as_str) == Some("READY") {
                return Ok(());
            }
        }
        Err("an import that did not finish in time".into())
    }

    /// A request path for a Web Form 2.0 operation: absolute on the Web Form host when one is
    /// set (`--webform-url`), else the Access host's path.
    pub fn webform_path(&self, path: &str) -> String {
        match &self.webform_url {
            Some(base) => format!("{base}{path}"),
            None => path.to_string(),
        }
    }

    /// Web Form 2.0 (V2): create an import web form for user A and complete it as the target
    /// allows ([`WebFormCompletion`]); note its id, and a background-update task's, for the
    /// probes. `None` when the target has no Web Form 2.0; else whether data came of it.
    async fn import_through_web_form(&mut self, a_token: &str) -> Option<Result<(), String>> {
        let create = self
            .catalogue
            .get(self.version, "createForBankConnectionImport")?;
        let req = HttpRequest::new(http::Method::POST, self.webform_path(&create.path))
            .bearer(Some(a_token.to_string()))
            .json(json!({ "bankConnectionName": format!("{}web-form", self.prefix) }));
        let resp = self.http.send(&req).await;
        let form = resp.json();
        let Some(id) = form.get("id").and_then(Value::as_str).map(str::to_string) else {
            return Some(Err(format!(
                "the web form for the import was not created (status {})",
                resp.status
            )));
        };
        self.fixtures
            .webform_ids
            .insert("webForms".into(), id.clone());
        let url = form.get("url").and_then(Value::as_str).unwrap_or_default();
        let status = self.complete_web_form(a_token, &id, url).await;
        let done = match status.as_deref() {
            Some("COMPLETED") => Ok(()),
            Some(other) => Err(format!("the run's import web form ended {other}")),
            None => Err("nobody completed the run's import web form".into()),
        };
        if let Some(connection) = self
            .get_webform(a_token, &id)
            .await
            .and_then(|f| f["payload"]["bankConnectionId"].as_u64())
        {
            self.fixtures
                .resources
                .insert("webFormConnection".into(), connection);
        }
        Some(done)
    }

    /// A background-update task of one of user A's connections (the web form's, else any),
    /// so the task probes have an id to address.
    async fn create_update_task(&mut self, a_token: &str) {
        let Some(op) = self
            .catalogue
            .get(self.version, "createBankConnectionUpdateTask")
            .cloned()
        else {
            return;
        };
        let fx = &self.fixtures.resources;
        let Some(connection) = fx
            .get("webFormConnection")
            .or_else(|| fx.get("bankConnections"))
            .copied()
        else {
            return;
        };
        let req = HttpRequest::new(http::Method::POST, self.webform_path(&op.path))
            .bearer(Some(a_token.to_string()))
            .json(json!({ "bankConnectionId": connection }));
        if let Some(task) = self.http.send(&req).await.json()["id"].as_str() {
            self.fixtures
                .webform_ids
                .insert("tasks".into(), task.into());
        }
    }

    async fn get_webform(&self, token: &str, id: &str) -> Option<Value> {
        let path = self.webform_path(&self.path("getWebForm").replace("{id}", id));
        let resp = self
            .http
            .send(&HttpRequest::new(http::Method::GET, path).bearer(Some(token.to_string())))
            .await;
        resp.is_success().then(|| resp.json())
    }

    /// End the run's web form `id` with `COMPLETED` as the target allows; the final status
    /// it reached, if any.
    async fn complete_web_form(&self, token: &str, id: &str, url: &str) -> Option<String> {
        match &self.webform_completion {
            WebFormCompletion::None => None,
            WebFormCompletion::Simulator(sim) => sim
                .complete_web_form(id, "COMPLETED")
                .ok()
                .and_then(|f| f["status"].as_str().map(str::to_string)),
            WebFormCompletion::ControlApi => {
                // `serve --control-token`: the same token the operator gives the run.
                let control = std::env::var("FINAPI_CONTROL_TOKEN").ok();
                let req = HttpRequest::new(http::Method::POST, format!("/__finapi/webForms/{id}"))
                    .bearer(control.filter(|t| !t.is_empty()))
                    .json(json!({ "status": "COMPLETED" }));
                let resp = self.http.send(&req).await;
                resp.json()["status"].as_str().map(str::to_string)
            }
            WebFormCompletion::Interactive(bound) => {
                eprintln!(
                    "Open this web form and log in to the finAPI Test Bank (waiting up to {}s):\n  {url}",
                    bound.as_secs()
                );
                let started = std::time::Instant::now();
                let mut last = String::new();
                while started.elapsed() < *bound {
                    let status = self
                        .get_webform(token, id)
                        .await
                        .and_then(|f| f["status"].as_str().map(str::to_string))
                        .unwrap_or_default();
                    if ["COMPLETED", "COMPLETED_WITH_ERROR", "ABORTED", "EXPIRED"]
                        .contains(&status.as_str())
                    {
                        eprintln!("  the web form is {status}");
                        return Some(status);
                    }
                    if status != last {
                        eprintln!("  web form {status} ({}s)", started.elapsed().as_secs());
                        last = status;
                    }
                    tokio::time::sleep(Duration::from_secs(3)).await;
                }
                eprintln!("  gave up waiting for the web form");
                None
            }
        }
    }

    /// Delete every user the run created. Returns how many are still there afterwards.
    pub async fn clean_up(&self) -> usize {
        // A set-up dropped half-way (Ctrl-C) must not leave clean-up's requests held back.
        self.setting_up
            .store(false, std::sync::atomic::Ordering::Relaxed);
        let created: Vec<_> = self.created.lock().drain(..).collect();
        let mut remaining = Vec::new();
        for (client, user) in created {
            let login = self.user_login(&client, &user).await;
            if let Some(token) = access_token(&login) {
                let req = HttpRequest::new(http::Method::DELETE, self.path("deleteAuthorizedUser"))
                    .bearer(Some(token));
                if self.send(&req).await.is_success() {
                    continue;
                }
            }
            // Not verified, locked, never created or already gone: try the client's route.
            if let Some(token) = access_token(&self.client_token(&client).await) {
                let path = self
                    .path("deleteUnverifiedUser")
                    .replace("{userId}", &user.id);
                if self
                    .send(&HttpRequest::new(http::Method::DELETE, path).bearer(Some(token)))
                    .await
                    .is_success()
                {
                    continue;
                }
            }
            remaining.push((client, user));
        }
        // Last resort for the main mandator: the admin client deletes by id.
        if let (Some(admin), false) = (self.creds.admin.clone(), remaining.is_empty()) {
            if let Some(token) = access_token(&self.client_token(&admin).await) {
                let ids: Vec<&str> = remaining.iter().map(|(_, u)| u.id.as_str()).collect();
                let req = HttpRequest::new(http::Method::POST, self.path("deleteUsers"))
                    .bearer(Some(token))
                    .json(json!({ "userIds": ids }));
                self.send(&req).await;
            }
        }
        // Count only users that still exist (many of the remembered ids were never created:
        // denied probes).
        let mut leftover = 0;
        for (client, user) in remaining {
            // The admin client cannot read users: ask an app client of the same mandator.
            let other = self
                .creds
                .other_app
                .as_ref()
                .is_some_and(|o| o.id == client.id);
            let asker = match (&self.creds.app, other) {
                (Some(app), false) => app.clone(),
                _ => client,
            };
            let Some(token) = access_token(&self.client_token(&asker).await) else {
                leftover += 1;
                continue;
            };
            let q = serde_urlencoded::to_string([("userId", &user.id)]).unwrap_or_default();
            let path = format!("{}?{q}", self.path("getVerificationStatus"));
            let status = self
                .send(&HttpRequest::new(http::Method::GET, path).bearer(Some(token)))
                .await
                .status;
            if status != 404 {
                leftover += 1;
            }
        }
        leftover
    }
}

/// finAPI's test bank (sandboxes import it without real bank credentials).
pub const TEST_BANK_ID: u64 = 280001;

/// How often the import of the test bank is polled before the run gives up on its data.
const IMPORT_POLLS: u32 = 20;

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

/// What the run's test-bank import names: the bank, no securities; API V2 also requires the
/// banking interface, and finAPI's test bank offers FinTS.
fn import_params(version: ApiVersion) -> Value {
    let mut params = json!({ "bankId": TEST_BANK_ID, "skipPositionsDownload": true });
    if version == ApiVersion::V2 {
        params["bankingInterface"] = json!("FINTS_SERVER");
    }
    params
}
