//! The token endpoint (three grants) and token revocation.
//!
//! Which client kind may use which grant is read from the catalogue's grant rows
//! (`getToken.password` and friends); this file applies the lifecycle: reuse while unexpired,
//! validity from the client configuration, refresh tokens only for the password grant,
//! lockout, verification, and revocation by `token_type_hint`.

use base64::Engine;
use chrono::{DateTime, Utc};

use crate::faults::Violation;
use crate::model::{CallerKind, Grant};
use crate::sim::error::ApiError;
use crate::sim::form::{single, Pair};
use crate::sim::message::{Handled, Reply};
use crate::sim::ops::ctx::{Caller, Ctx};
use crate::sim::state::{AccessToken, Client, MandatorIx, RefreshToken, State};

/// `POST /oauth/token` (V1) and `POST /api/v2/oauth/token` (V2).
/// The parameters come from the form body, the URL query or both ([`Ctx::oauth_params`]).
pub fn token(ctx: &Ctx<'_>, state: &mut State) -> Handled {
    let form = ctx.oauth_params()?;
    let client = authenticate_client(ctx, state, form)?;
    let bound = state.mandators[client.mandator].api_version;
    if bound != ctx.op.version && !ctx.faults.has(Violation::ApiVersionUnenforced) {
        return Err(ApiError::forbidden(format!(
            "API version mismatch: this client is bound to API {}",
            bound.label()
        )));
    }
    let grant = match single(form, "grant_type")? {
        // The documented 400 of this endpoint (ErrorMessage, code BAD_REQUEST), naming the field.
        None | Some("") => return Err(ApiError::bad_request("grant_type is required")),
        Some(g) => {
            Grant::parse(g).ok_or_else(|| ApiError::bad_request("unsupported grant_type"))?
        }
    };
    let row = ctx.catalogue.grant(ctx.op.version, grant);
    let bent = match grant {
        Grant::Password => ctx.faults.has(Violation::AdminGetsUserToken),
        Grant::RefreshToken => ctx.faults.has(Violation::AdminRefreshesUserToken),
        Grant::ClientCredentials => false,
    };
    if !row.callers.contains(client.kind) && !bent {
        return Err(ApiError::forbidden(format!(
            "this client may not use the {} grant",
            grant.as_str()
        )));
    }
    // The client id and grant only; never a secret, password or token.
    tracing::debug!(client = %client.id, grant = grant.as_str(), "token requested");
    match grant {
        Grant::ClientCredentials => client_credentials(ctx, state, &client),
        Grant::Password => password(ctx, state, &client, form),
        Grant::RefreshToken => refresh(ctx, state, &client, form),
    }
}

/// Client credentials from HTTP Basic or from the `client_id` and `client_secret` parameters.
///
/// Both at once is allowed only when they agree: a `client_id` parameter must name the Basic
/// client, and a `client_secret` parameter must be that client's secret too (README,
/// Ambiguities). Partial or malformed credentials are bad client credentials (401
/// `invalid_client`); none at all is 401 `unauthorized`. Secrets are compared in constant time
/// and never logged.
fn authenticate_client(
    ctx: &Ctx<'_>,
    state: &State,
    form: &[Pair<'_>],
) -> Result<Client, ApiError> {
    let basic = basic_credentials(ctx)?;
    let id = single(form, "client_id")?;
    let secret = single(form, "client_secret")?;
    let client = match (basic, id, secret) {
        (Some(basic), id, secret) => {
            let client = basic
                .iter()
                .find_map(|(bid, bsecret)| {
                    state.clients.get(bid).filter(|c| c.secret_matches(bsecret))
                })
                .ok_or_else(ApiError::bad_client_credentials)?;
            if id.is_some_and(|id| id != client.id)
                || secret.is_some_and(|s| !client.secret_matches(s))
            {
                return Err(ApiError::bad_client_credentials());
            }
            client
        }
        (None, Some(id), Some(secret)) => state
            .clients
            .get(id)
            .filter(|c| c.secret_matches(secret))
            .ok_or_else(ApiError::bad_client_credentials)?,
        (None, None, None) => return Err(ApiError::missing_token()),
        (None, _, _) => return Err(ApiError::bad_client_credentials()),
    };
    Ok(client.clone())
}

/// The `Authorization: Basic` credentials, if that scheme is used: the decoded `id:secret`
/// as sent and, when it differs, URL-decoded (RFC 6749 asks clients to form-encode both before
/// Base64; many do not). `Ok(None)` for no header or another scheme; 401 `invalid_client`
/// for a Basic header that does not decode.
fn basic_credentials(ctx: &Ctx<'_>) -> Result<Option<Vec<(String, String)>>, ApiError> {
    let Some(value) = ctx.req.headers.get(http::header::AUTHORIZATION) else {
        return Ok(None);
    };
    let Some((scheme, encoded)) = value.to_str().ok().and_then(|v| v.trim().split_once(' ')) else {
        return Ok(None);
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Ok(None);
    }
    let text = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|d| String::from_utf8(d).ok())
        .ok_or_else(ApiError::bad_client_credentials)?;
    let (id, secret) = text
        .split_once(':')
        .ok_or_else(ApiError::bad_client_credentials)?;
    let mut candidates = vec![(id.to_string(), secret.to_string())];
    if let (Some(did), Some(dsecret)) = (percent_decode(id), percent_decode(secret)) {
        if (did.as_str(), dsecret.as_str()) != (id, secret) {
            candidates.push((did, dsecret));
        }
    }
    Ok(Some(candidates))
}

/// Form-style percent-decoding (`+` is a space); `None` when the result is not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let form = format!("v={s}");
    let pairs = crate::sim::form::parse_form(form.as_bytes())?;
    match pairs.as_slice() {
        [(_, v)] => Some(v.to_string()),
        _ => None,
    }
}

/// When a token issued at `now` with `validity` seconds expires (`None`: never). A validity
/// beyond the calendar's range (a client configuration may hold any `u64`) saturates at the
/// latest representable instant instead of overflowing.
fn expiry(now: DateTime<Utc>, validity: u64) -> Option<DateTime<Utc>> {
    if validity == 0 {
        return None;
    }
    let seconds = i64::try_from(validity).unwrap_or(i64::MAX);
    Some(
        chrono::Duration::try_seconds(seconds)
            .and_then(|d| now.checked_add_signed(d))
            .unwrap_or(DateTime::<Utc>::MAX_UTC),
    )
}

/// Whole seconds until `at` (rounded up, at least 1); 0 for a token that never expires.
fn expires_in(now: DateTime<Utc>, at: Option<DateTime<Utc>>) -> i64 {
    match at {
        None => 0,
        Some(at) => at
            .signed_duration_since(now)
            .num_milliseconds()
            .saturating_add(999)
            .div_euclid(1000)
            .max(1),
    }
}

/// The token answer (`AccessToken`), complete as it is: serialized straight, not completed per
/// request. `expires_in` is an int32 in the spec, so a longer validity shows as its maximum.
fn token_body(access: &str, refresh: Option<&str>, expires: i64) -> Reply {
    #[derive(serde::Serialize)]
    struct AccessToken<'a> {
        access_token: &'a str,
        expires_in: i32,
        #[serde(skip_serializing_if = "Option::is_none")]
        refresh_token: Option<&'a str>,
        scope: &'static str,
        token_type: &'static str,
    }
    let body = AccessToken {
        access_token: access,
        expires_in: i32::try_from(expires.max(0)).unwrap_or(i32::MAX),
        refresh_token: refresh,
        scope: "all",
        token_type: "bearer",
    };
    // Serializing strings and numbers cannot fail.
    Reply::RawJson(200, serde_json::to_vec(&body).unwrap_or_default())
}

/// The token last issued to (client, user), if it is still alive.
fn reusable(
    ctx: &Ctx<'_>,
    state: &State,
    client: &str,
    user: Option<&str>,
) -> Option<(String, Option<DateTime<Utc>>, u64)> {
    if ctx.faults.has(Violation::TokenNotReused) {
        return None;
    }
    let key = (client.to_string(), user.map(str::to_string));
    let token = state.current.get(&key)?;
    let record = state.tokens.get(token).filter(|t| t.is_alive(ctx.now))?;
    Some((token.clone(), record.expires_at, record.grant))
}

fn issue_access(
    state: &mut State,
    ctx: &Ctx<'_>,
    client: &str,
    mandator: MandatorIx,
    user: Option<String>,
    grant: u64,
    validity: u64,
) -> (String, Option<DateTime<Utc>>) {
    let token = crate::sim::profile::fresh_token(ctx.profile);
    let expires_at = expiry(ctx.now, validity);
    state.tokens.insert(
        token.clone(),
        AccessToken {
            client: client.to_string(),
            mandator,
            user: user.clone(),
            grant,
            expires_at,
            revoked: false,
        },
    );
    state
        .current
        .insert((client.to_string(), user), token.clone());
    (token, expires_at)
}

fn client_credentials(ctx: &Ctx<'_>, state: &mut State, client: &Client) -> Handled {
    if let Some((token, at, _)) = reusable(ctx, state, &client.id, None) {
        return Ok(token_body(&token, None, expires_in(ctx.now, at)));
    }
    let grant = state.next_grant();
    let validity = client.settings.client_access_token_validity;
    let (token, at) = issue_access(
        state,
        ctx,
        &client.id,
        client.mandator,
        None,
        grant,
        validity,
    );
    Ok(token_body(&token, None, expires_in(ctx.now, at)))
}

fn bad_user_credentials() -> ApiError {
    ApiError::bad_request("Bad user credentials")
}

fn password(ctx: &Ctx<'_>, state: &mut State, client: &Client, form: &[Pair<'_>]) -> Handled {
    let username = single(form, "username")?.ok_or_else(|| ApiError::missing_field("username"))?;
    let presented = single(form, "password")?.ok_or_else(|| ApiError::missing_field("password"))?;
    let mandator = client.mandator;
    let keep_dead = ctx.faults.has(Violation::RevokedTokenAccepted);
    let key = username.to_lowercase();
    let user = state
        .user(mandator, &key)
        .ok_or_else(bad_user_credentials)?;
    if ctx.faults.has(Violation::SecondAppClientIsolated)
        && client.kind == CallerKind::AppClient
        && user.created_by != client.id
    {
        return Err(bad_user_credentials());
    }
    if user.locked && !ctx.faults.has(Violation::LockedUserGetsToken) {
        return Err(ApiError::new(423, "LOCKED", "User is locked"));
    }
    if !user.password_matches(presented) {
        let max = client.settings.max_user_login_attempts;
        let count_failures = !ctx.faults.has(Violation::LockoutDisabled);
        let user = state
            .user_mut(mandator, &key)
            .expect("user looked up above");
        if count_failures {
            user.failed_logins += 1;
            if max > 0 && user.failed_logins >= max && !user.locked {
                user.locked = true;
                state.revoke_user(keep_dead, mandator, &key);
            }
        }
        return Err(bad_user_credentials());
    }
    let auto = client.settings.user_auto_verification;
    if !user.verified && !auto && !ctx.faults.has(Violation::UnverifiedUserGetsToken) {
        return Err(ApiError::new(
            403,
            "USER_NOT_VERIFIED",
            "The user is not verified",
        ));
    }
    {
        let user = state
            .user_mut(mandator, &key)
            .expect("user looked up above");
        user.verified |= auto;
        user.failed_logins = 0;
        user.last_active = Some(ctx.now);
    }
    if let Some((token, at, grant)) = reusable(ctx, state, &client.id, Some(&key)) {
        let refresh = state.grant_refresh.get(&grant).cloned();
        if let Some(refresh) = refresh.filter(|r| {
            state
                .refresh_tokens
                .get(r)
                .is_some_and(|t| t.is_alive(ctx.now))
        }) {
            return Ok(token_body(&token, Some(&refresh), expires_in(ctx.now, at)));
        }
    }
    let grant = state.next_grant();
    let validity = client.settings.user_access_token_validity;
    let (token, at) = issue_access(
        state,
        ctx,
        &client.id,
        mandator,
        Some(key.clone()),
        grant,
        validity,
    );
    let refresh = crate::sim::profile::fresh_token(ctx.profile);
    state.refresh_tokens.insert(
        refresh.clone(),
        RefreshToken {
            client: client.id.clone(),
            mandator,
            user: key,
            grant,
            expires_at: expiry(ctx.now, client.settings.refresh_token_validity),
            revoked: false,
        },
    );
    state.grant_refresh.insert(grant, refresh.clone());
    Ok(token_body(&token, Some(&refresh), expires_in(ctx.now, at)))
}

fn refresh(ctx: &Ctx<'_>, state: &mut State, client: &Client, form: &[Pair<'_>]) -> Handled {
    let presented =
        single(form, "refresh_token")?.ok_or_else(|| ApiError::missing_field("refresh_token"))?;
    let invalid = || ApiError::bad_request("Invalid refresh token");
    let record = state
        .refresh_tokens
        .get(presented)
        .filter(|t| t.is_alive(ctx.now))
        .cloned()
        .ok_or_else(invalid)?;
    let admin_bent = ctx.faults.has(Violation::AdminRefreshesUserToken)
        && client.kind == CallerKind::MandatorAdmin
        && record.mandator == client.mandator;
    if record.client != client.id && !admin_bent {
        return Err(invalid());
    }
    let user = state
        .user(record.mandator, &record.user)
        .ok_or_else(invalid)?;
    if user.locked && !ctx.faults.has(Violation::LockedUserGetsToken) {
        return Err(ApiError::new(423, "LOCKED", "User is locked"));
    }
    let validity = client.settings.user_access_token_validity;
    let (token, at) = issue_access(
        state,
        ctx,
        &client.id,
        record.mandator,
        Some(record.user.clone()),
        record.grant,
        validity,
    );
    Ok(token_body(&token, Some(presented), expires_in(ctx.now, at)))
}

/// `POST /oauth/revoke` (V1 documents query parameters) and `POST /api/v2/oauth/revoke` (V2
/// documents a form body). Both versions take both places, as the token endpoint does.
pub fn revoke(ctx: &Ctx<'_>, state: &mut State, caller: &Caller) -> Handled {
    let params = ctx.oauth_params()?;
    let token = single(params, "token")?
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::missing_field("token"))?;
    #[derive(PartialEq)]
    enum Hint {
        Access,
        Refresh,
        None,
    }
    let hint = match single(params, "token_type_hint")? {
        None | Some("") => Hint::None,
        Some("access_token") => Hint::Access,
        Some("refresh_token") => Hint::Refresh,
        Some(_) => {
            // The documented 400 (code BAD_REQUEST), naming the field.
            return Err(ApiError::bad_request(
                "The service does not support the revocation of this token type: field \
                 `token_type_hint` must be access_token or refresh_token",
            ));
        }
    };
    // What was presented, and whose it is. An unknown or dead token is a no-op (200).
    let (is_refresh, client, mandator, user, grant) =
        if let Some(t) = state.tokens.get(token).filter(|t| !t.revoked) {
            (false, t.client.clone(), t.mandator, t.user.clone(), t.grant)
        } else if let Some(t) = state.refresh_tokens.get(token).filter(|t| !t.revoked) {
            (
                true,
                t.client.clone(),
                t.mandator,
                Some(t.user.clone()),
                t.grant,
            )
        } else {
            return Ok(Reply::Empty(200));
        };
    if mandator != caller.mandator {
        return Ok(Reply::Empty(200));
    }
    match (&user, caller.kind) {
        (Some(_), CallerKind::MandatorAdmin)
            if !ctx.faults.has(Violation::AdminRevokesUserToken) =>
        {
            return Err(ApiError::forbidden(
                "the mandator admin client may not revoke user tokens",
            ));
        }
        (Some(_), CallerKind::AppClient)
            if client != caller.client && !ctx.readings.cross_client_user_token_revoke =>
        {
            return Ok(Reply::Empty(200));
        }
        (None, _) if client != caller.client => return Ok(Reply::Empty(200)),
        _ => {}
    }
    let keep = ctx.faults.has(Violation::RevokedTokenAccepted);
    let presented = token.to_string();
    if ctx.faults.has(Violation::RevokeIgnoresHint) {
        if !is_refresh {
            revoke_one_access(state, keep, &presented);
        }
        return Ok(Reply::Empty(200));
    }
    tracing::debug!(
        caller = %caller.client,
        refresh = is_refresh,
        grant,
        "token revoked"
    );
    if hint == Hint::Access && !is_refresh {
        revoke_one_access(state, keep, &presented);
    } else {
        // A refresh token (whatever the hint) or no hint: the whole grant goes.
        state.revoke_access(keep, |t| t.grant == grant);
        state.revoke_refresh(keep, |t| t.grant == grant);
    }
    Ok(Reply::Empty(200))
}

fn revoke_one_access(state: &mut State, keep: bool, token: &str) {
    if keep {
        if let Some(t) = state.tokens.get_mut(token) {
            t.revoked = true;
        }
    } else {
        state.tokens.remove(token);
    }
}

#[cfg(test)]
mod expiry_tests {
    use super::*;

    #[test]
    fn huge_validities_saturate_instead_of_overflowing() {
        let now = Utc::now();
        for validity in [u64::MAX, i64::MAX as u64, 1 << 40, 9_000_000_000_000] {
            let at = expiry(now, validity).expect("a positive validity expires");
            assert!(at > now);
            assert!(expires_in(now, Some(at)) > 0);
        }
        assert_eq!(expiry(now, 0), None);
        assert_eq!(expires_in(now, expiry(now, 60)), 60);
    }
}
