//! The app's refused token grants. A grant the role model allows and the upstream refused is
//! over-restriction only when the session shows these credentials good: the same user's grant
//! succeeded with the same password (and the client's secret got it a token), with no password
//! change, lock, failed login, revoke or deletion seen since. Any other refusal is the user's
//! (or the app's) own state as far as the session can tell (wrong or unknown credentials, an
//! unverified or a locked user, an expired or unknown refresh token): `inconclusive`, listed
//! apart as the app's login failures, not as finAPI's verdicts. A refused refresh becomes a
//! violation only if the upstream later accepts the same refresh token (a refresh token's
//! validity is in no answer).

use super::call::param;
use super::state::{LoginFailure, LoginKey, State};
use crate::model::{Grant, Principal};

/// What a refusal is taken for, as far as the session can tell.
fn taken_for(grant: Grant, status: u16) -> String {
    match (grant, status) {
        (Grant::Password, 400) => "a mistyped password or an unknown user (invalid_grant)".into(),
        (Grant::Password, 403) => "a user who is not verified".into(),
        (_, 423) => "a locked user".into(),
        (Grant::RefreshToken, 400) => "an expired, revoked or unknown refresh token".into(),
        (_, 401) => "client credentials that were refused".into(),
        (Grant::ClientCredentials, 400) => "an unknown client or a mistyped secret".into(),
        (_, s) => format!("a refusal ({s})"),
    }
}

/// Whether the session shows the credentials of a refused grant good (`Ok`: the refusal is a
/// violation), else why the refusal is not judged.
pub(crate) fn control(
    state: &State,
    grant: Grant,
    client: Principal,
    params: &[(String, String)],
    secret: Option<&str>,
    status: u16,
) -> Result<&'static str, String> {
    let missing = match grant {
        Grant::Password => {
            let user = param(params, "username").unwrap_or("");
            let password = param(params, "password").unwrap_or("");
            state
                .logins
                .password_shown_good(client.is_foreign_mandator(), user, password)
                .and_then(|()| state.logins.secret_shown_good(client, secret))
        }
        Grant::ClientCredentials => state.logins.secret_shown_good(client, secret),
        Grant::RefreshToken => Err(match param(params, "refresh_token")
            .and_then(|r| state.tokens.get(r))
        {
            None => "the proxy never saw this refresh token issued".to_string(),
            Some(h) if h.revoked => "a revoke or deletion seen earlier ended it".to_string(),
            Some(h) => match &h.ended_by {
                Some(what) => format!("{what} may have ended it"),
                None => "a refresh token's validity is in no answer; a violation only if the upstream accepts it again".to_string(),
            },
        }),
    };
    match missing {
        Ok(()) => Ok("the session showed these credentials good and saw nothing since that could change them"),
        Err(why) => Err(format!(
            "refused with {status}: taken for {} ({why})",
            taken_for(grant, status)
        )),
    }
}

/// List a refusal among the app's login failures; returns its key.
pub(crate) fn list(
    state: &mut State,
    operation: &str,
    client: Principal,
    params: &[(String, String)],
    status: u16,
    reason: &str,
) -> LoginKey {
    let user = param(params, "username").unwrap_or("").to_string();
    let key: LoginKey = (operation.to_string(), client, user.clone(), status);
    state
        .login_failures
        .entry(key.clone())
        .or_insert_with(|| LoginFailure {
            operation: operation.to_string(),
            client,
            user,
            status,
            reason: reason.to_string(),
            calls: 0,
        })
        .calls += 1;
    key
}
