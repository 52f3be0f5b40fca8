//! Apps that behave like real ones, for the proxy's truth tests (`proxy_truth.rs`), in plain
//! HTTP against two finAPI base URLs (Access and Web Form 2.0, which may be one address):
//!
//! - [`isolation_app`] tests isolation itself: a user reads another user's account and web
//!   form and expects 404;
//! - [`failing_logins_app`]: its users mistype passwords, log in before they are verified, get
//!   locked out and refresh with a revoked and an unknown refresh token; its test moves the
//!   mock's clock past token expiry and carries on with fresh tokens; optionally with Web Form
//!   calls;
//! - [`config_first_app`] reads its client configuration before any user logs in.
//!
//! Each keeps going when a step fails, and returns every answer in order.

use finapi_conformance::model::Api;
use finapi_conformance::world::demo;
use finapi_conformance::ApiVersion;
use reqwest::Method;
use serde_json::{json, Value};

use super::first_id;
use crate::common::{token_path, Grant};

/// The app's two finAPI base URLs.
#[derive(Debug, Clone)]
pub struct Bases {
    pub access: String,
    pub webform: String,
}

impl Bases {
    /// Both services at one address (a mock, or the proxy in front of both).
    pub fn one(url: &str) -> Bases {
        Bases {
            access: url.to_string(),
            webform: url.to_string(),
        }
    }
}

/// One answer the app got.
#[derive(Debug, Clone)]
pub struct Answer {
    pub step: &'static str,
    pub status: u16,
    pub body: Value,
}

/// A tiny finAPI client that records every answer.
pub struct Client {
    bases: Bases,
    http: reqwest::Client,
    pub answers: Vec<Answer>,
}

impl Client {
    pub fn new(bases: Bases) -> Client {
        Client {
            bases,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            answers: Vec::new(),
        }
    }

    pub async fn send(
        &mut self,
        step: &'static str,
        method: Method,
        path: &str,
        token: Option<&str>,
        form: Option<&[(&str, &str)]>,
        body: Option<Value>,
    ) -> Answer {
        let base = match Api::of_path(path.split('?').next().unwrap_or(path)) {
            Api::Access => &self.bases.access,
            Api::WebForm2 => &self.bases.webform,
        };
        let mut req = self.http.request(method, format!("{base}{path}"));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(f) = form {
            req = req.form(f);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let answer = match req.send().await {
            Ok(r) => {
                let status = r.status().as_u16();
                let bytes = r.bytes().await.unwrap_or_default();
                Answer {
                    step,
                    status,
                    body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
                }
            }
            Err(_) => Answer {
                step,
                status: 0,
                body: Value::Null,
            },
        };
        self.answers.push(answer.clone());
        answer
    }

    pub async fn get(&mut self, step: &'static str, path: &str, token: Option<&str>) -> Answer {
        self.send(step, Method::GET, path, token, None, None).await
    }

    /// A token grant: (access token, refresh token).
    pub async fn grant(
        &mut self,
        step: &'static str,
        grant: Grant<'_>,
    ) -> (Option<String>, Option<String>) {
        let form = grant.pairs();
        let a = self
            .send(
                step,
                Method::POST,
                token_path(ApiVersion::V2),
                None,
                Some(&form),
                None,
            )
            .await;
        let s = |k: &str| a.body[k].as_str().map(str::to_string);
        (s("access_token"), s("refresh_token"))
    }

    /// A user created (and verified, if `verify`) by the app client.
    pub async fn sign_up(
        &mut self,
        step: &'static str,
        app: Option<&str>,
        user: (&str, &str),
        verify: bool,
    ) {
        let body =
            json!({ "id": user.0, "password": user.1, "email": format!("{}@example.org", user.0) });
        self.send(step, Method::POST, "/api/v2/users", app, None, Some(body))
            .await;
        if verify {
            self.send(
                step,
                Method::POST,
                &format!("/api/v2/users/verify/{}", user.0),
                app,
                None,
                None,
            )
            .await;
        }
    }

    /// A web form of the user's (a bank connection import of the test bank): its id.
    pub async fn web_form(&mut self, step: &'static str, token: Option<&str>) -> Option<String> {
        let body = json!({ "bank": { "id": 280001 } });
        let a = self
            .send(
                step,
                Method::POST,
                "/api/webForms/bankConnectionImport",
                token,
                None,
                Some(body),
            )
            .await;
        a.body["id"].as_str().map(str::to_string)
    }

    /// The statuses of every answer of `step`.
    pub fn statuses(&self, step: &str) -> Vec<u16> {
        self.answers
            .iter()
            .filter(|a| a.step == step)
            .map(|a| a.status)
            .collect()
    }
}

/// An app that tests isolation itself: alice creates a web form, bob reads alice's account and
/// web form and expects 404, then alice reads both, and each lists their own. Returns the
/// client (its answers).
pub async fn isolation_app(bases: Bases) -> Client {
    let mut c = Client::new(bases);
    let (alice, _) = c
        .grant(
            "alice logs in",
            Grant::Password(demo::APP_CLIENT, demo::USERS[0]),
        )
        .await;
    let (bob, _) = c
        .grant(
            "bob logs in",
            Grant::Password(demo::APP_CLIENT, demo::USERS[1]),
        )
        .await;
    let accounts = c
        .get(
            "alice lists her accounts",
            "/api/v2/accounts",
            alice.as_deref(),
        )
        .await;
    let account = first_id(&accounts.body).map(|id| format!("/api/v2/accounts/{id}"));
    let form = c
        .web_form("alice creates a web form", alice.as_deref())
        .await
        .map(|id| format!("/api/webForms/{id}"));
    // The app's own isolation test first, then the owner's reads.
    if let Some(path) = &account {
        c.get("bob reads alice's account", path, bob.as_deref())
            .await;
    }
    if let Some(path) = &form {
        c.get("bob reads alice's web form", path, bob.as_deref())
            .await;
    }
    if let Some(path) = &account {
        c.get("alice reads her account", path, alice.as_deref())
            .await;
    }
    if let Some(path) = &form {
        c.get("alice reads her web form", path, alice.as_deref())
            .await;
    }
    c.get("bob lists his web forms", "/api/webForms", bob.as_deref())
        .await;
    c.get("bob lists his accounts", "/api/v2/accounts", bob.as_deref())
        .await;
    c
}

/// The users of [`failing_logins_app`]: one who mistypes, one not yet verified, one who gets
/// locked out.
pub const TYPO: (&str, &str) = ("truth-typo", "truth-typo-password-1");
pub const LATE: (&str, &str) = ("truth-late", "truth-late-password-1");
pub const LOCKED: (&str, &str) = ("truth-locked", "truth-locked-password-1");

/// An app whose users fail to log in in every documented way and whose test moves the clock
/// past token expiry (through the control API of the mock behind `bases.access`), with Web
/// Form calls when `webform`. Returns the client (its answers).
pub async fn failing_logins_app(bases: Bases, webform: bool) -> Client {
    let mut c = Client::new(bases);
    let (app, _) = c.grant("app token", Grant::Client(demo::APP_CLIENT)).await;
    let (app2, _) = c
        .grant("app2 token", Grant::Client(demo::APP_CLIENT2))
        .await;
    c.sign_up("sign up", app.as_deref(), TYPO, true).await;
    c.sign_up("sign up", app.as_deref(), LATE, false).await;
    c.sign_up("sign up", app.as_deref(), LOCKED, true).await;
    // A typo, then the right password.
    c.grant(
        "typo login",
        Grant::Password(demo::APP_CLIENT, (TYPO.0, "truth-typo-passwrod-1")),
    )
    .await;
    let (user, refresh) = c
        .grant("user logs in", Grant::Password(demo::APP_CLIENT, TYPO))
        .await;
    // Logged in before verification, then verified and logged in.
    c.grant("unverified login", Grant::Password(demo::APP_CLIENT, LATE))
        .await;
    c.send(
        "verify late user",
        Method::POST,
        &format!("/api/v2/users/verify/{}", LATE.0),
        app.as_deref(),
        None,
        None,
    )
    .await;
    c.grant("late user logs in", Grant::Password(demo::APP_CLIENT, LATE))
        .await;
    // Three wrong passwords lock the user (the client's maxUserLoginAttempts is 3).
    for _ in 0..3 {
        c.grant(
            "wrong password",
            Grant::Password(demo::APP_CLIENT, (LOCKED.0, "not-the-password")),
        )
        .await;
    }
    c.grant("locked login", Grant::Password(demo::APP_CLIENT, LOCKED))
        .await;
    // A login through the second app client, whose refresh token the app then revokes.
    let (via2, refresh2) = c
        .grant(
            "user logs in via app2",
            Grant::Password(demo::APP_CLIENT2, TYPO),
        )
        .await;
    if let Some(r) = &refresh2 {
        c.send(
            "app2 revokes the refresh token",
            Method::POST,
            "/api/v2/oauth/revoke",
            app2.as_deref(),
            Some(&[("token", r), ("token_type_hint", "refresh_token")]),
            None,
        )
        .await;
        c.grant("stale refresh", Grant::Refresh(demo::APP_CLIENT2, r))
            .await;
    }
    c.get("revoked token reads", "/api/v2/users", via2.as_deref())
        .await;
    c.grant(
        "unknown refresh",
        Grant::Refresh(demo::APP_CLIENT, "no-such-refresh-token-0000"),
    )
    .await;
    c.get("user reads self", "/api/v2/users", user.as_deref())
        .await;
    c.get("user lists accounts", "/api/v2/accounts", user.as_deref())
        .await;
    c.get(
        "app reads its configuration",
        "/api/v2/clientConfiguration",
        app.as_deref(),
    )
    .await;
    let form = if webform {
        let id = c.web_form("user creates a web form", user.as_deref()).await;
        if let Some(id) = &id {
            c.get(
                "user reads the web form",
                &format!("/api/webForms/{id}"),
                user.as_deref(),
            )
            .await;
        }
        c.get("user lists web forms", "/api/webForms", user.as_deref())
            .await;
        id
    } else {
        None
    };
    // The test moves the mock's clock past every token's expiry (an hour).
    c.send(
        "the test moves the clock",
        Method::POST,
        "/__finapi/clock",
        None,
        None,
        Some(json!({ "advance_seconds": 3700 })),
    )
    .await;
    c.get(
        "user reads self after expiry",
        "/api/v2/users",
        user.as_deref(),
    )
    .await;
    c.get(
        "app reads its configuration after expiry",
        "/api/v2/clientConfiguration",
        app.as_deref(),
    )
    .await;
    if let Some(id) = &form {
        c.get(
            "user reads the web form after expiry",
            &format!("/api/webForms/{id}"),
            user.as_deref(),
        )
        .await;
    }
    // Fresh tokens, and the reads again.
    let (fresh, _) = match &refresh {
        Some(r) => {
            c.grant("user refreshes", Grant::Refresh(demo::APP_CLIENT, r))
                .await
        }
        None => (None, None),
    };
    let (app, _) = c
        .grant("app token again", Grant::Client(demo::APP_CLIENT))
        .await;
    c.get("user reads self again", "/api/v2/users", fresh.as_deref())
        .await;
    c.get(
        "app reads its configuration again",
        "/api/v2/clientConfiguration",
        app.as_deref(),
    )
    .await;
    if let Some(id) = form {
        c.get(
            "user reads the web form again",
            &format!("/api/webForms/{id}"),
            fresh.as_deref(),
        )
        .await;
    }
    c
}

/// The user of [`config_first_app`].
pub const FIRST: (&str, &str) = ("truth-first", "truth-first-password-1");

/// An app that reads its client configuration before any user logs in (as an app does at
/// start), then signs a user up, logs them in and reads as them. Returns the client.
pub async fn config_first_app(bases: Bases) -> Client {
    let mut c = Client::new(bases);
    let (app, _) = c.grant("app token", Grant::Client(demo::APP_CLIENT)).await;
    c.get(
        "app reads its configuration",
        "/api/v2/clientConfiguration",
        app.as_deref(),
    )
    .await;
    c.sign_up("sign up", app.as_deref(), FIRST, true).await;
    let (user, _) = c
        .grant("user logs in", Grant::Password(demo::APP_CLIENT, FIRST))
        .await;
    c.get("user reads self", "/api/v2/users", user.as_deref())
        .await;
    c.get("user lists banks", "/api/v2/banks", user.as_deref())
        .await;
    c
}
