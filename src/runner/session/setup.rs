//! Setting up a run's fixtures on the target, and removing them: the clients' tokens, the run's
//! own users and what each principal presents (expired, revoked, malformed tokens included),
//! then the users' data (`bank_data`); at the end, every user the run created is deleted.

use std::time::Duration;

use serde_json::{json, Value};

use super::base::{access_token, random_secret, RunUser, Session, SessionOptions, SetupError};
use crate::model::{Catalogue, Principal};
use crate::runner::credentials::{ClientCredentials, Credentials};
use crate::runner::http::{Http, HttpRequest};
use crate::runner::state_file::Obtained;

impl Session {
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
