//! Steps that act: create users, log in, ask for, refresh and revoke tokens, change passwords
//! and secrets, move the mock's clock, and call single operations. Each request goes through
//! the runner's session (its HTTP client, its own users, its inert probes); the answer is kept
//! for the `Then` steps in `answers.rs`.

use std::time::Duration;

use cucumber::{given, then, when};
use serde_json::{json, Value};

use crate::model::{expect, ApiVersion, Outcome, Principal, ProbeStyle};
use crate::runner::http::{HttpRequest, HttpResponse};
use crate::runner::probe;
use crate::runner::session::{access_token, RunUser};

use crate::gherkin::world::named_operation;
use crate::gherkin::{leave_out, principal, version, FinapiWorld, HeldToken, NamedUser};

fn field(resp: &HttpResponse, key: &str) -> Option<String> {
    resp.json()
        .get(key)
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// Assert that `what` was let through (`allowed`) or refused by the target. A missing answer
/// (status 0: timeout, connection error) never counts as a refusal.
fn assert_outcome(resp: &HttpResponse, allowed: bool, what: &str) {
    if allowed {
        assert!(
            resp.is_success(),
            "{what} was refused (status {})",
            resp.status
        );
    } else {
        assert!(
            !resp.is_success() && resp.status != 0,
            "{what} was let through (status {})",
            resp.status
        );
    }
}

fn bearer(req: HttpRequest, token: &str) -> HttpRequest {
    req.bearer(Some(token.to_string()))
}

/// A fresh client token of `who` (the same one while it is unexpired, as finAPI reuses it).
async fn client_token(world: &mut FinapiWorld, who: Principal) -> String {
    let client = world.client(who).await;
    let resp = world.session().await.client_token(&client).await;
    access_token(&resp)
        .unwrap_or_else(|| panic!("the {who} cannot get a token (status {})", resp.status))
}

async fn send(world: &mut FinapiWorld, req: HttpRequest) -> HttpResponse {
    world.session().await.http.send(&req).await
}

// ---- users -------------------------------------------------------------------------------

#[given(regex = r#"^an? (verified|unverified) user "([^"]+)" created through (.+)$"#)]
#[when(regex = r#"^an? (verified|unverified) user "([^"]+)" is created through (.+)$"#)]
async fn create_user(world: &mut FinapiWorld, state: String, name: String, who: String) {
    let who = principal(&who);
    let client = world.client(who).await;
    let token = client_token(world, who).await;
    let verify = state == "verified";
    // The scenario's name goes into the user id (after the run prefix): only characters finAPI
    // accepts in ids, and short enough for its 36-character limit.
    let tag: String = name
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(8)
        .collect::<String>()
        .to_ascii_lowercase();
    let user = world
        .session()
        .await
        .create_user(&client, &token, &tag, verify)
        .await
        .unwrap_or_else(|e| panic!("creating \"{name}\" through the {who}: {e}"));
    world.users.insert(
        name,
        NamedUser {
            user,
            creator: client,
        },
    );
}

#[when(regex = r#"^(.+) verifies "([^"]+)"$"#)]
async fn verify_user(world: &mut FinapiWorld, who: String, name: String) {
    call_on_user(world, &who, &name, http::Method::POST, "verifyUser").await;
}

#[when(regex = r#"^(.+) deletes the unverified user "([^"]+)"$"#)]
async fn delete_unverified(world: &mut FinapiWorld, who: String, name: String) {
    call_on_user(
        world,
        &who,
        &name,
        http::Method::DELETE,
        "deleteUnverifiedUser",
    )
    .await;
}

/// `who` calls `operation` (a path with `{userId}`) on the named user with its client token;
/// the answer becomes the scenario's last answer.
async fn call_on_user(
    world: &mut FinapiWorld,
    who: &str,
    name: &str,
    method: http::Method,
    operation: &str,
) {
    let who = principal(who);
    let user = world.user(name).user;
    let token = client_token(world, who).await;
    let path = world
        .session()
        .await
        .path(operation)
        .replace("{userId}", &user.id);
    let resp = send(world, bearer(HttpRequest::new(method, path), &token)).await;
    world.last = Some(resp);
}

#[when(regex = r#"^(.+) asks for the verification status of "([^"]+)"$"#)]
async fn verification_status(world: &mut FinapiWorld, who: String, name: String) {
    let who = principal(&who);
    let user = world.user(&name).user;
    let token = client_token(world, who).await;
    let q = serde_urlencoded::to_string([("userId", &user.id)]).unwrap_or_default();
    let path = format!(
        "{}?{q}",
        world.session().await.path("getVerificationStatus")
    );
    let resp = send(
        world,
        bearer(HttpRequest::new(http::Method::GET, path), &token),
    )
    .await;
    world.last = Some(resp);
}

// ---- user logins ---------------------------------------------------------------------------

async fn log_in(world: &mut FinapiWorld, name: &str, who: Principal) -> HttpResponse {
    let user = world.user(name).user;
    let client = world.client(who).await;
    let resp = world.session().await.user_login(&client, &user).await;
    if let Some(access) = access_token(&resp) {
        world.user_tokens.push(HeldToken {
            user: name.to_string(),
            via: who,
            access,
            refresh: field(&resp, "refresh_token"),
        });
    }
    resp
}

#[given(regex = r#"^"([^"]+)" has logged in through (.+)$"#)]
async fn has_logged_in(world: &mut FinapiWorld, name: String, who: String) {
    let who = principal(&who);
    let resp = log_in(world, &name, who).await;
    assert!(
        resp.is_success(),
        "\"{name}\" cannot log in through the {who} (status {})",
        resp.status
    );
}

#[when(regex = r#"^"([^"]+)" logs in through (.+)$"#)]
async fn logs_in(world: &mut FinapiWorld, name: String, who: String) {
    let who = principal(&who);
    let resp = log_in(world, &name, who).await;
    world.last = Some(resp);
}

#[then(regex = r#"^"([^"]+)" (can|cannot) log in through (.+)$"#)]
async fn can_log_in(world: &mut FinapiWorld, name: String, can: String, who: String) {
    let who = principal(&who);
    let resp = log_in(world, &name, who).await;
    assert_outcome(
        &resp,
        can == "can",
        &format!("\"{name}\" logging in through the {who}"),
    );
    world.last = Some(resp);
}

/// How many failed logins through `who` lock a user, from its client configuration; a client
/// configured without lockout leaves the scenario out.
async fn max_attempts(world: &mut FinapiWorld, who: Principal) -> u64 {
    read_config(world, who)
        .await
        .get("maxUserLoginAttempts")
        .and_then(Value::as_u64)
        .filter(|n| *n > 0)
        .unwrap_or_else(|| {
            leave_out(format!(
                "the client configuration of the {who} sets no maxUserLoginAttempts (lockout is off)"
            ))
        })
}

#[when(
    regex = r#"^"([^"]+)" fails to log in through (.+) as often as the client configuration allows$"#
)]
async fn fail_logins(world: &mut FinapiWorld, name: String, who: String) {
    let who = principal(&who);
    let n = max_attempts(world, who).await;
    let named = world.user(&name);
    let wrong = RunUser {
        id: named.user.id.clone(),
        password: format!("{}-wrong", named.user.password),
    };
    let client = world.client(who).await;
    for _ in 0..n {
        let resp = world.session().await.user_login(&client, &wrong).await;
        world.last = Some(resp);
    }
}

// ---- client tokens ---------------------------------------------------------------------------

#[given(regex = r"^(.+) has a token$")]
#[when(regex = r"^(.+) asks for a token$")]
async fn has_token(world: &mut FinapiWorld, who: String) {
    let who = principal(&who);
    let client = world.client(who).await;
    let resp = world.session().await.client_token(&client).await;
    if let Some(t) = access_token(&resp) {
        world.client_tokens.insert(who, t);
    }
    world.last = Some(resp);
}

#[then(regex = r"^(.+) gets the same token again$")]
async fn same_token(world: &mut FinapiWorld, who: String) {
    let who = principal(&who);
    let first = world
        .client_tokens
        .get(&who)
        .cloned()
        .unwrap_or_else(|| panic!("the {who} holds no token yet"));
    let again = client_token(world, who).await;
    assert!(
        first == again,
        "the {who} got a different token while its first one was unexpired"
    );
}

/// A GET the role model allows `who`, with an inert as-is probe: used to see whether a
/// client's token still works.
async fn allowed_read(world: &mut FinapiWorld, who: Principal) -> String {
    let version = world.api_version();
    let session = world.session().await;
    session
        .catalogue
        .operations(version)
        .find(|op| {
            op.method == http::Method::GET
                && op.probe == ProbeStyle::AsIs
                && op.path_params().next().is_none()
                && expect(op, who).outcome == Outcome::Allowed
        })
        .map(|op| op.path.clone())
        .unwrap_or_else(|| panic!("the role model allows the {who} no plain read"))
}

#[then(regex = r"^the token of (.+) (works|is rejected)$")]
async fn client_token_works(world: &mut FinapiWorld, who: String, state: String) {
    let who = principal(&who);
    let token = world
        .client_tokens
        .get(&who)
        .cloned()
        .unwrap_or_else(|| panic!("the {who} holds no token yet"));
    let path = allowed_read(world, who).await;
    let resp = send(
        world,
        bearer(HttpRequest::new(http::Method::GET, path), &token),
    )
    .await;
    if state == "works" {
        assert!(
            resp.is_success(),
            "the {who}'s token was refused ({})",
            resp.status
        );
    } else {
        assert!(
            world.refuses(resp.status, 401),
            "the {who}'s token should be dead (status {})",
            resp.status
        );
    }
    world.last = Some(resp);
}

// ---- user tokens -------------------------------------------------------------------------------

async fn user_token_status(world: &mut FinapiWorld, token: &str) -> HttpResponse {
    let path = world.session().await.path("getAuthorizedUser");
    send(
        world,
        bearer(HttpRequest::new(http::Method::GET, path), token),
    )
    .await
}

fn via(text: Option<String>) -> Option<Principal> {
    text.filter(|t| !t.is_empty()).map(|t| principal(&t))
}

#[then(regex = r#"^"([^"]+)"'s access token(?: from (.+?))? (works|is rejected)$"#)]
async fn access_token_works(world: &mut FinapiWorld, name: String, from: String, state: String) {
    let held = world.held(&name, via(Some(from)));
    let resp = user_token_status(world, &held.access).await;
    if state == "works" {
        assert!(
            resp.is_success(),
            "\"{name}\"'s token from the {} was refused ({})",
            held.via,
            resp.status
        );
    } else {
        assert!(
            world.refuses(resp.status, 401),
            "\"{name}\"'s token from the {} should be dead (status {})",
            held.via,
            resp.status
        );
    }
    world.last = Some(resp);
}

#[then(regex = r#"^every token of "([^"]+)" is rejected$"#)]
async fn every_token_rejected(world: &mut FinapiWorld, name: String) {
    let held: Vec<HeldToken> = world
        .user_tokens
        .iter()
        .filter(|t| t.user == name)
        .cloned()
        .collect();
    assert!(!held.is_empty(), "\"{name}\" holds no token");
    for t in held {
        let resp = user_token_status(world, &t.access).await;
        assert!(
            world.refuses(resp.status, 401),
            "\"{name}\"'s token from the {} survived (status {})",
            t.via,
            resp.status
        );
    }
}

async fn refresh(world: &mut FinapiWorld, name: &str, who: Principal) -> HttpResponse {
    let held = world.held(name, None);
    let rt = held
        .refresh
        .unwrap_or_else(|| panic!("\"{name}\"'s login returned no refresh_token"));
    let client = world.client(who).await;
    let req = HttpRequest::new(http::Method::POST, world.session().await.path("getToken")).form(&[
        ("grant_type", "refresh_token"),
        ("client_id", &client.id),
        ("client_secret", &client.secret),
        ("refresh_token", &rt),
    ]);
    let resp = send(world, req).await;
    if let Some(access) = access_token(&resp) {
        world.user_tokens.push(HeldToken {
            user: name.to_string(),
            via: who,
            access,
            refresh: field(&resp, "refresh_token").or(Some(rt)),
        });
    }
    resp
}

#[when(regex = r#"^(.+) refreshes "([^"]+)"'s token$"#)]
async fn refreshes(world: &mut FinapiWorld, who: String, name: String) {
    let who = principal(&who);
    let resp = refresh(world, &name, who).await;
    world.last = Some(resp);
}

#[then(regex = r#"^"([^"]+)"'s refresh token (works|is refused)$"#)]
async fn refresh_works(world: &mut FinapiWorld, name: String, state: String) {
    let resp = refresh(world, &name, Principal::AppClient).await;
    assert_outcome(
        &resp,
        state == "works",
        &format!("\"{name}\"'s refresh token"),
    );
    world.last = Some(resp);
}

#[when(
    regex = r#"^(.+) revokes "([^"]+)"'s (access|refresh) token (?:with hint "([^"]*)"|without a hint)$"#
)]
async fn revokes(world: &mut FinapiWorld, who: String, name: String, kind: String, hint: String) {
    let who = principal(&who);
    let held = world.held(&name, None);
    let token = if kind == "access" {
        held.access
    } else {
        held.refresh
            .unwrap_or_else(|| panic!("\"{name}\" holds no refresh token"))
    };
    let bearer_token = client_token(world, who).await;
    let hint = (!hint.is_empty()).then_some(hint);
    let resp = world
        .session()
        .await
        .revoke(&bearer_token, &token, hint.as_deref())
        .await;
    world.last = Some(resp);
}

// ---- passwords -----------------------------------------------------------------------------------

#[when(regex = r#"^(.+) changes the password of "([^"]+)"$"#)]
async fn change_password(world: &mut FinapiWorld, who: String, name: String) {
    let who = principal(&who);
    let named = world.user(&name);
    let token = client_token(world, who).await;
    let path = world.session().await.path("requestPasswordChange");
    let req = bearer(HttpRequest::new(http::Method::POST, path), &token)
        .json(json!({ "userId": named.user.id }));
    let resp = send(world, req).await;
    if !resp.is_success() {
        world.last = Some(resp);
        return;
    }
    let change = field(&resp, "passwordChangeToken").unwrap_or_default();
    assert!(
        change.len() == 36 && change.chars().all(|c| c.is_ascii_hexdigit() || c == '-'),
        "the target encrypts the password change token; this scenario needs a clear one (the mock)"
    );
    let new_password = format!("{}-new", named.user.password);
    let path = world.session().await.path("executePasswordChange");
    let req = bearer(HttpRequest::new(http::Method::POST, path), &token).json(json!({
        "userId": named.user.id,
        "password": new_password,
        "passwordChangeToken": change,
    }));
    let resp = send(world, req).await;
    if resp.is_success() {
        let user = RunUser {
            id: named.user.id.clone(),
            password: new_password,
        };
        world.session().await.remember(&named.creator, user.clone());
        world.users.insert(
            name,
            NamedUser {
                user,
                creator: named.creator,
            },
        );
    }
    world.last = Some(resp);
}

// ---- the mock's clock -----------------------------------------------------------------------------

#[when(regex = r"^the validity period of (user|client) tokens passes$")]
async fn time_passes(world: &mut FinapiWorld, kind: String) {
    let key = if kind == "user" {
        "userAccessTokensValidityPeriod"
    } else {
        "clientAccessTokensValidityPeriod"
    };
    let validity = read_config(world, Principal::AppClient)
        .await
        .get(key)
        .and_then(Value::as_u64)
        .unwrap_or_else(|| panic!("the client configuration has no {key}"));
    assert!(validity > 0, "{key} is 0: tokens never expire");
    let conn = world.conn().await;
    let mock = conn
        .mock
        .as_ref()
        .expect("moving the clock needs the in-process mock (tag the scenario @mock-only)");
    mock.clock().advance(Duration::from_secs(validity + 1));
}

// ---- client secrets ---------------------------------------------------------------------------------

fn rotation_secret() -> String {
    format!("fc-rotated-{}", "0".repeat(25))
}

async fn change_secret(
    world: &mut FinapiWorld,
    client_id: &str,
    old: &str,
    new: &str,
) -> HttpResponse {
    let admin = client_token(world, Principal::AdminClient).await;
    let path = world.session().await.path("changeClientCredentials");
    let req = bearer(HttpRequest::new(http::Method::POST, path), &admin).json(json!({
        "clientId": client_id,
        "oldClientSecret": old,
        "newClientSecret": new,
    }));
    send(world, req).await
}

/// Point the session's credentials of `who` at `secret`.
fn set_secret(world: &mut FinapiWorld, who: Principal, secret: &str) {
    let Some(conn) = world.conn.as_mut() else {
        return;
    };
    let creds = &mut conn.session.creds;
    let slot = match who {
        Principal::AppClient => &mut creds.app,
        Principal::SecondAppClient => &mut creds.app2,
        Principal::AdminClient => &mut creds.admin,
        Principal::OtherMandatorAppClient => &mut creds.other_app,
        _ => return,
    };
    if let Some(c) = slot {
        c.secret = secret.to_string();
    }
}

#[when(regex = r"^the admin client changes the secret of (.+?)( with a wrong old secret)?$")]
async fn rotate(world: &mut FinapiWorld, who: String, wrong: String) {
    let who = principal(&who);
    let client = world.client(who).await;
    let new = rotation_secret();
    let old = if wrong.is_empty() {
        client.secret.clone()
    } else if client.secret.starts_with('1') {
        "2".repeat(36)
    } else {
        "1".repeat(36)
    };
    let resp = change_secret(world, &client.id, &old, &new).await;
    if resp.is_success() {
        world.rotated.push((who, client.secret.clone()));
        set_secret(world, who, &new);
    }
    world.last = Some(resp);
}

/// Put back every secret the scenario changed (the after hook calls it).
pub(crate) async fn restore_secrets(world: &mut FinapiWorld) {
    while let Some((who, original)) = world.rotated.pop() {
        let client = world.client(who).await;
        let resp = change_secret(world, &client.id, &client.secret, &original).await;
        if resp.is_success() {
            set_secret(world, who, &original);
        } else {
            println!(
                "warning: the secret of the {who} could not be restored (status {})",
                resp.status
            );
        }
    }
}

#[then(regex = r"^(.+) gets a token with its new secret$")]
async fn token_with_new_secret(world: &mut FinapiWorld, who: String) {
    let who = principal(&who);
    let token = client_token(world, who).await;
    world.client_tokens.insert(who, token);
}

// ---- single operations -----------------------------------------------------------------------------

#[given(regex = r"^the mandator is bound to API (V1|V2|v1|v2)$")]
async fn bound_to(world: &mut FinapiWorld, v: String) {
    let v = version(&v);
    assert!(
        world.conn.is_none(),
        "the API version must be chosen before the first request"
    );
    if world.suite().is_remote() {
        assert_eq!(
            world.suite().version,
            v,
            "the target's mandator is bound to {} (FINAPI_API_VERSION)",
            world.suite().version.label()
        );
    }
    world.version = Some(v);
}

/// The other API version than the scenario's.
fn other(v: ApiVersion) -> ApiVersion {
    match v {
        ApiVersion::V1 => ApiVersion::V2,
        ApiVersion::V2 => ApiVersion::V1,
    }
}

#[when(
    regex = r#"^(.+) calls "([^"]+)"(?: of (API V1|API V2|the other API version|its own API version))?$"#
)]
async fn calls(world: &mut FinapiWorld, who: String, id: String, of: String) {
    let who = principal(&who);
    let own = world.api_version();
    let v = match of.as_str() {
        "" | "its own API version" => own,
        "the other API version" => other(own),
        text => version(text.trim_start_matches("API ")),
    };
    let session = &world.prepared().await.session;
    if v != own {
        // A target that does not serve the other version cannot show the binding.
        if let Err(why) = crate::runner::access_served(&session.http, &session.catalogue, v).await {
            leave_out(why);
        }
    }
    let op = named_operation(&session.catalogue, v, &id);
    let probe = probe::build(session, &op, who)
        .unwrap_or_else(|why| panic!("cannot call \"{id}\" as {who}: {why}"));
    let resp = session.http.send(&probe.request).await;
    world.last = Some(resp);
}

// ---- client configuration ------------------------------------------------------------------------

async fn read_config(world: &mut FinapiWorld, who: Principal) -> Value {
    let token = client_token(world, who).await;
    let path = world.session().await.path("getClientConfiguration");
    let resp = send(
        world,
        bearer(HttpRequest::new(http::Method::GET, path), &token),
    )
    .await;
    assert!(
        resp.is_success(),
        "the {who} cannot read its client configuration ({})",
        resp.status
    );
    resp.json()
}

async fn edit_config(world: &mut FinapiWorld, who: Principal, body: Value) -> HttpResponse {
    let token = client_token(world, who).await;
    let path = world.session().await.path("editClientConfiguration");
    send(
        world,
        bearer(HttpRequest::new(http::Method::PATCH, path), &token).json(body),
    )
    .await
}

#[when(regex = r#"^(.+) sets "([^"]+)" of its client configuration to "([^"]*)"$"#)]
async fn set_config(world: &mut FinapiWorld, who: String, key: String, value: String) {
    let who = principal(&who);
    let old = read_config(world, who).await.get(&key).cloned();
    let resp = edit_config(world, who, json!({ key.clone(): value })).await;
    if resp.is_success() {
        world
            .config_edits
            .push((who, key, old.unwrap_or(Value::Null)));
    }
    world.last = Some(resp);
}

#[then(
    regex = r#"^the client configuration of (.+) (has|does not have) "([^"]+)" set to "([^"]*)"$"#
)]
async fn config_has(world: &mut FinapiWorld, who: String, has: String, key: String, value: String) {
    let who = principal(&who);
    let config = read_config(world, who).await;
    let same = config.get(&key).and_then(Value::as_str) == Some(value.as_str());
    if has == "has" {
        assert!(
            same,
            "the {who}'s configuration does not have {key} = {value:?}"
        );
    } else {
        assert!(!same, "the {who}'s configuration has {key} = {value:?}");
    }
}

/// Put back every configuration field the scenario changed ("" clears a text field).
pub(crate) async fn restore_config(world: &mut FinapiWorld) {
    while let Some((who, key, old)) = world.config_edits.pop() {
        let old = if old.is_null() { json!("") } else { old };
        let resp = edit_config(world, who, json!({ key: old })).await;
        if !resp.is_success() {
            println!("warning: the {who}'s client configuration could not be restored");
        }
    }
}
