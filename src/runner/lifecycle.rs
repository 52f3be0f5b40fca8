//! Token lifecycle scenarios: rules that one request cannot show (reuse, revocation by hint,
//! password change, lockout, verification, secret rotation, masked ids, version binding).
//!
//! Each scenario uses users the run creates for it. The one that changes shared state (secret
//! rotation) runs against a real target only with `--allow-mutations`, and restores the
//! secret it changed.

use std::future::Future;
use std::pin::Pin;

use serde_json::{json, Value};

use super::credentials::ClientCredentials;
use super::http::{HttpRequest, HttpResponse};
use super::session::{access_token, RunUser, Session};
use crate::model::{ApiVersion, Principal, Rule, Verdict};

/// The outcome of one scenario.
#[derive(Debug, Clone)]
pub struct ScenarioOutcome {
    pub verdict: Verdict,
    pub reason: String,
    pub status: Option<u16>,
}

fn pass(reason: impl Into<String>) -> ScenarioOutcome {
    ScenarioOutcome {
        verdict: Verdict::Pass,
        reason: reason.into(),
        status: None,
    }
}
fn violation(reason: impl Into<String>, status: u16) -> ScenarioOutcome {
    ScenarioOutcome {
        verdict: Verdict::Violation,
        reason: reason.into(),
        status: Some(status),
    }
}
fn skipped(reason: impl Into<String>) -> ScenarioOutcome {
    ScenarioOutcome {
        verdict: Verdict::Skipped,
        reason: reason.into(),
        status: None,
    }
}
fn inconclusive(reason: impl Into<String>, status: u16) -> ScenarioOutcome {
    ScenarioOutcome {
        verdict: Verdict::Inconclusive,
        reason: reason.into(),
        status: Some(status),
    }
}

type Run = for<'a> fn(&'a Session) -> Pin<Box<dyn Future<Output = ScenarioOutcome> + Send + 'a>>;

/// A lifecycle scenario.
pub struct Scenario {
    pub name: &'static str,
    pub rule: Rule,
    pub principal: Principal,
    /// Changes state other people rely on: real targets need `--allow-mutations`.
    pub mutates_shared: bool,
    pub run: Run,
}

macro_rules! scenario {
    ($name:literal, $rule:ident, $principal:ident, $mutates:literal, $f:ident) => {
        Scenario {
            name: $name,
            rule: Rule::$rule,
            principal: Principal::$principal,
            mutates_shared: $mutates,
            run: |s| Box::pin($f(s)),
        }
    };
}

/// Every scenario, in the order they run (secret rotation last: it revokes client tokens).
pub fn scenarios() -> Vec<Scenario> {
    vec![
        scenario!("token-reuse", TokenReuse, AppClient, false, token_reuse),
        scenario!(
            "revoke-access-token-hint",
            RevokeSemantics,
            AppClient,
            false,
            revoke_access_hint
        ),
        scenario!(
            "revoke-refresh-token-hint",
            RevokeSemantics,
            AppClient,
            false,
            revoke_refresh_hint
        ),
        scenario!(
            "revoke-without-hint",
            RevokeSemantics,
            AppClient,
            false,
            revoke_no_hint
        ),
        scenario!(
            "admin-cannot-revoke-user-token",
            UserTokensViaAppClients,
            AdminClient,
            false,
            admin_revoke
        ),
        scenario!(
            "password-change-revokes-every-client",
            PasswordChangeRevokes,
            AppClient,
            false,
            password_change_revokes
        ),
        scenario!(
            "lockout-after-failed-logins",
            Lockout,
            AppClient,
            false,
            lockout
        ),
        scenario!(
            "password-change-unlocks",
            Lockout,
            AppClient,
            false,
            password_change_unlocks
        ),
        scenario!(
            "unverified-user-refused",
            Verification,
            AppClient,
            false,
            unverified_refused
        ),
        scenario!(
            "api-version-binding",
            ApiVersionBinding,
            AppClient,
            false,
            version_binding
        ),
        scenario!(
            "deleted-user-ids-masked",
            IntruderAdmin,
            AdminClient,
            false,
            deleted_ids_masked
        ),
        scenario!(
            "other-mandator-users-unlisted",
            MandatorIsolation,
            AdminClient,
            false,
            other_mandator_unlisted
        ),
        scenario!(
            "wrong-old-secret-refused",
            SecretRotation,
            AdminClient,
            false,
            wrong_old_secret
        ),
        scenario!(
            "secret-rotation-revokes-client-tokens-only",
            SecretRotation,
            AdminClient,
            true,
            secret_rotation
        ),
    ]
}

fn app(s: &Session) -> Option<ClientCredentials> {
    s.creds.app.clone()
}

async fn fresh_app_token(s: &Session, client: &ClientCredentials) -> Option<String> {
    access_token(&s.client_token(client).await)
}

/// A verified user created for one scenario, with its login response.
async fn user_with_login(
    s: &Session,
    tag: &str,
) -> Result<(ClientCredentials, String, RunUser, HttpResponse), ScenarioOutcome> {
    let client = app(s).ok_or_else(|| skipped("no app client"))?;
    let token = fresh_app_token(s, &client)
        .await
        .ok_or_else(|| skipped("the app client cannot get a token"))?;
    let user = s
        .create_user(&client, &token, tag, true)
        .await
        .map_err(skipped)?;
    let login = s.user_login(&client, &user).await;
    if !login.is_success() {
        return Err(inconclusive(
            "the scenario's user cannot log in",
            login.status,
        ));
    }
    Ok((client, token, user, login))
}

fn field(resp: &HttpResponse, key: &str) -> Option<String> {
    resp.json()
        .get(key)
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// Status of `GET /users` with a user token (200 alive, 401 dead).
async fn user_token_status(s: &Session, token: &str) -> u16 {
    s.http
        .send(
            &HttpRequest::new(http::Method::GET, s.path("getAuthorizedUser"))
                .bearer(Some(token.to_string())),
        )
        .await
        .status
}

async fn refresh(s: &Session, client: &ClientCredentials, refresh_token: &str) -> HttpResponse {
    let req = HttpRequest::new(http::Method::POST, s.path("getToken")).form(&[
        ("grant_type", "refresh_token"),
        ("client_id", &client.id),
        ("client_secret", &client.secret),
        ("refresh_token", refresh_token),
    ]);
    s.http.send(&req).await
}

async fn token_reuse(s: &Session) -> ScenarioOutcome {
    let Some(client) = app(s) else {
        return skipped("no app client");
    };
    let first = s.client_token(&client).await;
    let second = s.client_token(&client).await;
    match (access_token(&first), access_token(&second)) {
        (Some(a), Some(b)) if a == b => pass("the same token came back"),
        (Some(_), Some(_)) => violation(
            "a second request got a different token while the first was unexpired",
            second.status,
        ),
        _ => inconclusive("no token", second.status),
    }
}

/// A fresh run user logged in through the app client: (client, client token, access token,
/// refresh token), for the revocation scenarios.
async fn user_with_grant(
    s: &Session,
) -> Result<(ClientCredentials, String, String, String), ScenarioOutcome> {
    let (client, bearer, _, login) = user_with_login(s, "h").await?;
    match (
        field(&login, "access_token"),
        field(&login, "refresh_token"),
    ) {
        (Some(at), Some(rt)) => Ok((client, bearer, at, rt)),
        _ => Err(violation(
            "the password grant returned no refresh_token",
            login.status,
        )),
    }
}

/// One revocation of a user's fresh grant, and what it must end: the access token always; the
/// refresh token unless only the access token was named (`hint=access_token`).
struct Revocation {
    /// Revoke the refresh token (else the access token).
    refresh: bool,
    hint: Option<&'static str>,
    /// The access token still works afterwards.
    access_alive: &'static str,
    /// The refresh token's fate is not the documented one.
    refresh_wrong: &'static str,
    held: &'static str,
}

async fn revoke(s: &Session, case: Revocation) -> ScenarioOutcome {
    let (client, bearer, at, rt) = match user_with_grant(s).await {
        Ok(v) => v,
        Err(o) => return o,
    };
    let named = if case.refresh { &rt } else { &at };
    let r = s.revoke(&bearer, named, case.hint).await;
    if !r.is_success() {
        return inconclusive("revocation failed", r.status);
    }
    let status = user_token_status(s, &at).await;
    if status != 401 {
        return violation(case.access_alive, status);
    }
    let refresh_survives = case.hint == Some("access_token");
    let again = refresh(s, &client, &rt).await;
    if again.is_success() != refresh_survives {
        return violation(case.refresh_wrong, again.status);
    }
    pass(case.held)
}

async fn revoke_access_hint(s: &Session) -> ScenarioOutcome {
    revoke(
        s,
        Revocation {
            refresh: false,
            hint: Some("access_token"),
            access_alive: "the revoked access token still works",
            refresh_wrong: "hint access_token also killed the refresh token",
            held: "only the access token died",
        },
    )
    .await
}

async fn revoke_refresh_hint(s: &Session) -> ScenarioOutcome {
    revoke(
        s,
        Revocation {
            refresh: true,
            hint: Some("refresh_token"),
            access_alive: "the grant's access token survived revoking its refresh token",
            refresh_wrong: "the revoked refresh token still works",
            held: "refresh token and its access tokens died",
        },
    )
    .await
}

async fn revoke_no_hint(s: &Session) -> ScenarioOutcome {
    revoke(
        s,
        Revocation {
            refresh: false,
            hint: None,
            access_alive: "the revoked access token still works",
            refresh_wrong: "revoking without a hint left the refresh token alive",
            held: "the whole grant died",
        },
    )
    .await
}

async fn admin_revoke(s: &Session) -> ScenarioOutcome {
    let Some(admin) = s.creds.admin.clone() else {
        return skipped("FINAPI_ADMIN_CLIENT_ID and its secret are not set");
    };
    let (_, _, _, login) = match user_with_login(s, "v").await {
        Ok(v) => v,
        Err(o) => return o,
    };
    let Some(at) = field(&login, "access_token") else {
        return inconclusive("no user token", login.status);
    };
    let Some(admin_token) = fresh_app_token(s, &admin).await else {
        return skipped("the admin client cannot get a token");
    };
    let r = s.revoke(&admin_token, &at, None).await;
    let status = user_token_status(s, &at).await;
    if status == 401 {
        return violation("the admin client revoked a user token", r.status);
    }
    pass(format!(
        "refused ({}), the user token still works",
        r.status
    ))
}

/// Request and execute a password change through `client`; `None` when the target encrypts
/// the change token (a real finAPI: it needs the mandator's data decryption key).
async fn change_password(
    s: &Session,
    token: &str,
    user: &RunUser,
    new_password: &str,
) -> Result<u16, ScenarioOutcome> {
    let req = HttpRequest::new(http::Method::POST, s.path("requestPasswordChange"))
        .bearer(Some(token.to_string()))
        .json(json!({ "userId": user.id }));
    let resp = s.http.send(&req).await;
    if !resp.is_success() {
        return Err(inconclusive("requestPasswordChange failed", resp.status));
    }
    let change = field(&resp, "passwordChangeToken").unwrap_or_default();
    let plain = change.len() == 36 && change.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
    if !plain {
        return Err(skipped("the target encrypts password change tokens (decrypting needs the mandator's data decryption key)"));
    }
    let req = HttpRequest::new(http::Method::POST, s.path("executePasswordChange"))
        .bearer(Some(token.to_string()))
        .json(
            json!({ "userId": user.id, "password": new_password, "passwordChangeToken": change }),
        );
    Ok(s.http.send(&req).await.status)
}

async fn password_change_revokes(s: &Session) -> ScenarioOutcome {
    let (client, bearer, user, login) = match user_with_login(s, "p").await {
        Ok(v) => v,
        Err(o) => return o,
    };
    let t1 = field(&login, "access_token").unwrap_or_default();
    let mut tokens = vec![("app client 1", t1)];
    if let Some(app2) = s.creds.app2.clone() {
        if let Some(t2) = access_token(&s.user_login(&app2, &user).await) {
            tokens.push(("app client 2", t2));
        }
    }
    let new_password = format!("{}-new", user.password);
    match change_password(s, &bearer, &user, &new_password).await {
        Ok(status) if (200..300).contains(&status) => {}
        Ok(status) => return inconclusive("executePasswordChange failed", status),
        Err(o) => return o,
    }
    s.remember(
        &client,
        RunUser {
            id: user.id.clone(),
            password: new_password,
        },
    );
    for (via, token) in tokens {
        let status = user_token_status(s, &token).await;
        if status != 401 {
            return violation(
                format!("the user's token issued through {via} survived the password change"),
                status,
            );
        }
    }
    pass("every token of the user died")
}

async fn lock_user(
    s: &Session,
    client: &ClientCredentials,
    user: &RunUser,
) -> Result<u64, ScenarioOutcome> {
    let max = s
        .fixtures
        .client_config
        .get("maxUserLoginAttempts")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    if max == 0 {
        return Err(skipped(
            "maxUserLoginAttempts is 0 (no lockout) or unknown for this client",
        ));
    }
    let wrong = RunUser {
        id: user.id.clone(),
        password: format!("{}-wrong", user.password),
    };
    for _ in 0..max {
        s.user_login(client, &wrong).await;
    }
    Ok(max)
}

async fn lockout(s: &Session) -> ScenarioOutcome {
    let (client, _, user, login) = match user_with_login(s, "l").await {
        Ok(v) => v,
        Err(o) => return o,
    };
    let token = field(&login, "access_token").unwrap_or_default();
    let max = match lock_user(s, &client, &user).await {
        Ok(m) => m,
        Err(o) => return o,
    };
    let right = s.user_login(&client, &user).await;
    if right.is_success() {
        return violation(
            format!("after {max} failed logins the right password still gets a token"),
            right.status,
        );
    }
    let status = user_token_status(s, &token).await;
    if status != 401 {
        return violation("the locked user's token still works", status);
    }
    pass(format!("locked after {max} failures ({})", right.status))
}

async fn password_change_unlocks(s: &Session) -> ScenarioOutcome {
    let (client, bearer, user, _) = match user_with_login(s, "u").await {
        Ok(v) => v,
        Err(o) => return o,
    };
    if let Err(o) = lock_user(s, &client, &user).await {
        return o;
    }
    let new_password = format!("{}-new", user.password);
    match change_password(s, &bearer, &user, &new_password).await {
        Ok(status) if (200..300).contains(&status) => {}
        Ok(status) => return inconclusive("executePasswordChange failed", status),
        Err(o) => return o,
    }
    let user = RunUser {
        id: user.id,
        password: new_password,
    };
    s.remember(&client, user.clone());
    let login = s.user_login(&client, &user).await;
    if !login.is_success() {
        return violation("the password change did not unlock the user", login.status);
    }
    pass("unlocked")
}

async fn unverified_refused(s: &Session) -> ScenarioOutcome {
    if s.fixtures
        .client_config
        .get("isUserAutoVerificationEnabled")
        .and_then(Value::as_bool)
        != Some(false)
    {
        return skipped(
            "the app client verifies users automatically (or its configuration is unknown)",
        );
    }
    let Some(client) = app(s) else {
        return skipped("no app client");
    };
    let Some(token) = fresh_app_token(s, &client).await else {
        return skipped("no app token");
    };
    let user = match s.create_user(&client, &token, "n", false).await {
        Ok(u) => u,
        Err(e) => return skipped(e),
    };
    let login = s.user_login(&client, &user).await;
    if login.is_success() {
        return violation("an unverified user got a token", login.status);
    }
    pass(format!("refused ({})", login.status))
}

async fn version_binding(s: &Session) -> ScenarioOutcome {
    let Some(client) = app(s) else {
        return skipped("no app client");
    };
    let Some(token) = fresh_app_token(s, &client).await else {
        return skipped("no app token");
    };
    let other = match s.version {
        ApiVersion::V1 => ApiVersion::V2,
        ApiVersion::V2 => ApiVersion::V1,
    };
    // A target that does not serve the other version at all cannot show the binding.
    if let Err(why) = super::services::access_served(&s.http, &s.catalogue, other).await {
        return skipped(why);
    }
    let path = s
        .catalogue
        .get(other, "getAndSearchAllBanks")
        .map(|o| o.path.clone())
        .unwrap_or_default();
    let resp = s
        .http
        .send(&HttpRequest::new(http::Method::GET, path).bearer(Some(token)))
        .await;
    if resp.is_success() {
        return violation(
            format!(
                "a client bound to API {} was served by API {}",
                s.version.label(),
                other.label()
            ),
            resp.status,
        );
    }
    pass(format!("refused ({})", resp.status))
}

async fn admin_token(s: &Session) -> Result<String, ScenarioOutcome> {
    let admin = s
        .creds
        .admin
        .clone()
        .ok_or_else(|| skipped("FINAPI_ADMIN_CLIENT_ID and its secret are not set"))?;
    fresh_app_token(s, &admin)
        .await
        .ok_or_else(|| skipped("the admin client cannot get a token"))
}

async fn list_users(s: &Session, token: &str, query: &str) -> HttpResponse {
    let path = format!("{}?{query}", s.path("getUserList"));
    s.http
        .send(&HttpRequest::new(http::Method::GET, path).bearer(Some(token.to_string())))
        .await
}

async fn deleted_ids_masked(s: &Session) -> ScenarioOutcome {
    let admin = match admin_token(s).await {
        Ok(t) => t,
        Err(o) => return o,
    };
    let (_, _, user, _) = match user_with_login(s, "m").await {
        Ok(v) => v,
        Err(o) => return o,
    };
    let req = HttpRequest::new(http::Method::POST, s.path("deleteUsers"))
        .bearer(Some(admin.clone()))
        .json(json!({ "userIds": [user.id] }));
    let del = s.http.send(&req).await;
    if !del.is_success() {
        return inconclusive("deleteUsers failed", del.status);
    }
    for page in 1..=10 {
        let resp = list_users(
            s,
            &admin,
            &format!("isDeleted=true&perPage=500&page={page}"),
        )
        .await;
        if !resp.is_success() {
            return inconclusive("getUserList failed", resp.status);
        }
        let body = resp.json();
        let users = body
            .get("users")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if users
            .iter()
            .any(|u| u.get("userId").and_then(Value::as_str) == Some(user.id.as_str()))
        {
            return violation("a deleted user's id is listed in clear", resp.status);
        }
        if users.len() < 500 {
            break;
        }
    }
    pass("the deleted user's id is masked")
}

async fn other_mandator_unlisted(s: &Session) -> ScenarioOutcome {
    let admin = match admin_token(s).await {
        Ok(t) => t,
        Err(o) => return o,
    };
    let Some(other) = s.creds.other_app.clone() else {
        return skipped("FINAPI_OTHER_APP_CLIENT_ID and its secret are not set");
    };
    let Some(token) = fresh_app_token(s, &other).await else {
        return skipped("the other mandator's app client cannot get a token");
    };
    let user = match s.create_user(&other, &token, "y", true).await {
        Ok(u) => u,
        Err(e) => return skipped(e),
    };
    let resp = list_users(s, &admin, &format!("userId={}", user.id)).await;
    let listed = resp
        .json()
        .get("users")
        .and_then(Value::as_array)
        .is_some_and(|u| !u.is_empty());
    if resp.is_success() && listed {
        return violation(
            "another mandator's user is in this mandator's user list",
            resp.status,
        );
    }
    pass("not listed")
}

async fn change_secret(
    s: &Session,
    admin: &str,
    client: &str,
    old: &str,
    new: &str,
) -> HttpResponse {
    let req = HttpRequest::new(http::Method::POST, s.path("changeClientCredentials"))
        .bearer(Some(admin.to_string()))
        .json(json!({ "clientId": client, "oldClientSecret": old, "newClientSecret": new }));
    s.http.send(&req).await
}

fn rotation_secret() -> String {
    format!("fc-rotated-{}", "0".repeat(25))
}

/// The client whose secret the rotation scenarios use: app client 2 when given, else 1.
fn rotation_client(s: &Session) -> Option<ClientCredentials> {
    s.creds.app2.clone().or_else(|| s.creds.app.clone())
}

async fn wrong_old_secret(s: &Session) -> ScenarioOutcome {
    let admin = match admin_token(s).await {
        Ok(t) => t,
        Err(o) => return o,
    };
    let Some(client) = rotation_client(s) else {
        return skipped("no app client");
    };
    let wrong = if client.secret.starts_with('1') {
        "2".repeat(36)
    } else {
        "1".repeat(36)
    };
    let resp = change_secret(s, &admin, &client.id, &wrong, &rotation_secret()).await;
    if resp.is_success() {
        // Put the secret back at once.
        change_secret(s, &admin, &client.id, &rotation_secret(), &client.secret).await;
        return violation("a wrong old secret was accepted", resp.status);
    }
    pass(format!("refused ({})", resp.status))
}

async fn secret_rotation(s: &Session) -> ScenarioOutcome {
    let admin = match admin_token(s).await {
        Ok(t) => t,
        Err(o) => return o,
    };
    let Some(client) = rotation_client(s) else {
        return skipped("no app client");
    };
    if s.version == ApiVersion::V2 && client.secret.chars().count() != 36 {
        return skipped("the client's secret is not 36 characters, so it could not be restored");
    }
    let Some(client_token) = fresh_app_token(s, &client).await else {
        return skipped("no client token");
    };
    let user = match s.create_user(&client, &client_token, "s", true).await {
        Ok(u) => u,
        Err(e) => return skipped(e),
    };
    let Some(user_token) = access_token(&s.user_login(&client, &user).await) else {
        return skipped("no user token");
    };
    let rotated = rotation_secret();
    let resp = change_secret(s, &admin, &client.id, &client.secret, &rotated).await;
    if !resp.is_success() {
        return inconclusive("changeClientCredentials failed", resp.status);
    }
    let banks = s.path("getAndSearchAllBanks");
    let client_status = s
        .http
        .send(&HttpRequest::new(http::Method::GET, banks).bearer(Some(client_token)))
        .await
        .status;
    let user_status = user_token_status(s, &user_token).await;
    let restore = change_secret(s, &admin, &client.id, &rotated, &client.secret).await;
    if !restore.is_success() {
        return violation(
            "the secret could not be restored after rotation",
            restore.status,
        );
    }
    if client_status != 401 {
        return violation(
            "the client's token survived the secret change",
            client_status,
        );
    }
    if user_status == 401 {
        return violation(
            "a user token died with the client's secret change",
            user_status,
        );
    }
    pass("client token revoked, user token kept, secret restored")
}
