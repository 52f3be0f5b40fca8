//! Users: creation and verification by app clients, password changes, and the authorized
//! user's own record.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::faults::Violation;
use crate::model::user_fields::{check_password, check_user_id};
use crate::model::ApiVersion;
use crate::sim::error::ApiError;
use crate::sim::form::single;
use crate::sim::message::{Handled, Reply};
use crate::sim::ops::ctx::{required_str, str_field, Caller, Ctx};
use crate::sim::random::{random_token, random_uuid};
use crate::sim::state::{DeletedUser, MandatorIx, State, User};

/// A user as finAPI shows it. Fields in alphabetical order, as `serde_json` writes a `Value`'s
/// keys, so the bytes are those a `json!` object would give. V1 requires `email` and `phone`
/// (null when unset); V2 leaves an unset one out (its shape does not admit null).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct UserOut<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<Option<&'a str>>,
    id: &'a str,
    is_auto_update_enabled: bool,
    password: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    phone: Option<Option<&'a str>>,
}

fn user_reply(version: ApiVersion, status: u16, user: &User, password: &str) -> Reply {
    fn shown(version: ApiVersion, v: &Option<String>) -> Option<Option<&str>> {
        match version {
            ApiVersion::V1 => Some(v.as_deref()),
            ApiVersion::V2 => v.as_deref().map(Some),
        }
    }
    let out = UserOut {
        email: shown(version, &user.email),
        id: &user.id,
        is_auto_update_enabled: user.auto_update,
        password,
        phone: shown(version, &user.phone),
    };
    Reply::RawJson(status, serde_json::to_vec(&out).unwrap_or_default())
}

/// Find a user the calling app client may see: its mandator's users (all app clients share
/// them). Returns the mandator and the lower-cased key.
pub fn locate(
    ctx: &Ctx<'_>,
    state: &State,
    caller: &Caller,
    id: &str,
) -> Option<(MandatorIx, String)> {
    let key = id.to_lowercase();
    let visible = |m: MandatorIx| -> bool {
        state.users[m].get(&key).is_some_and(|u| {
            !(ctx.faults.has(Violation::SecondAppClientIsolated) && u.created_by != caller.client)
        })
    };
    if visible(caller.mandator) {
        return Some((caller.mandator, key));
    }
    if ctx.faults.has(Violation::OtherMandatorVisible) {
        return (0..state.users.len())
            .find(|m| visible(*m))
            .map(|m| (m, key));
    }
    None
}

fn located(
    ctx: &Ctx<'_>,
    state: &State,
    caller: &Caller,
    id: &str,
) -> Result<(MandatorIx, String), ApiError> {
    locate(ctx, state, caller, id).ok_or_else(|| ApiError::not_found("User"))
}

/// Remove a user: keep a deletion record, end its tokens, drop its data.
pub fn delete_user(state: &mut State, mandator: MandatorIx, key: &str, now: DateTime<Utc>) {
    if let Some(user) = state.users[mandator].remove(key) {
        state.deleted_users[mandator].push(DeletedUser {
            id: user.id,
            registered: user.registered,
            deleted: now,
        });
        state.revoke_user(false, mandator, key);
        state.remove_user_data(mandator, key);
    }
}

pub fn create(ctx: &Ctx<'_>, state: &mut State, caller: &Caller) -> Handled {
    let body = ctx.json()?.unwrap_or_default();
    let id = match str_field(&body, "id")? {
        Some(id) => {
            check_user_id(id).map_err(ApiError::bad_request)?;
            id.to_string()
        }
        None => random_uuid(),
    };
    let password = match str_field(&body, "password")? {
        Some(pw) => {
            check_password(pw).map_err(ApiError::bad_request)?;
            pw.to_string()
        }
        None => random_token()[..24].to_string(),
    };
    let email = str_field(&body, "email")?.map(str::to_string);
    if email.as_ref().is_some_and(|e| e.chars().count() > 320) {
        return Err(ApiError::bad_request(
            "an email address has at most 320 characters",
        ));
    }
    let phone = str_field(&body, "phone")?.map(str::to_string);
    if phone.as_ref().is_some_and(|p| p.chars().count() > 50) {
        return Err(ApiError::bad_request(
            "a phone number has at most 50 characters",
        ));
    }
    let auto_update = bool_field(&body, "isAutoUpdateEnabled")?.unwrap_or(false);
    let key = id.to_lowercase();
    if state.users[caller.mandator].contains_key(&key) {
        return Err(ApiError::unprocessable(
            "ENTITY_EXISTS",
            "A user with this id exists already",
        ));
    }
    let verified = state
        .clients
        .get(&caller.client)
        .is_some_and(|c| c.settings.user_auto_verification);
    let user = User {
        id,
        password: password.clone(),
        password_hash: None,
        email,
        phone,
        auto_update,
        verified,
        locked: false,
        failed_logins: 0,
        registered: ctx.now,
        last_active: None,
        created_by: caller.client.clone(),
        password_change_token: None,
    };
    let reply = user_reply(ctx.op.version, 201, &user, &password);
    state.users[caller.mandator].insert(key, user);
    Ok(reply)
}

fn bool_field(body: &Map<String, Value>, key: &str) -> Result<Option<bool>, ApiError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(ApiError::illegal_field(format!(
            "`{key}` must be true or false"
        ))),
    }
}

pub fn verify(ctx: &Ctx<'_>, state: &mut State, caller: &Caller) -> Handled {
    let (m, key) = located(ctx, state, caller, ctx.param("userId"))?;
    let user = state.users[m].get_mut(&key).expect("located");
    if user.verified {
        return Err(ApiError::unprocessable(
            "USER_ALREADY_VERIFIED",
            "User already verified",
        ));
    }
    user.verified = true;
    Ok(Reply::Empty(200))
}

pub fn verification_status(ctx: &Ctx<'_>, state: &mut State, caller: &Caller) -> Handled {
    let query = ctx.query()?;
    let id = single(query, "userId")?.ok_or_else(|| ApiError::missing_field("userId"))?;
    let (m, key) = located(ctx, state, caller, id)?;
    let user = &state.users[m][&key];
    Ok(Reply::Json(
        200,
        json!({ "userId": user.id, "isUserVerified": user.verified }),
    ))
}

pub fn delete_unverified(ctx: &Ctx<'_>, state: &mut State, caller: &Caller) -> Handled {
    let (m, key) = located(ctx, state, caller, ctx.param("userId"))?;
    if state.users[m][&key].verified {
        return Err(ApiError::unprocessable(
            "ILLEGAL_ENTITY_STATE",
            "The user is already verified",
        ));
    }
    delete_user(state, m, &key, ctx.now);
    Ok(Reply::Empty(200))
}

pub fn request_password_change(ctx: &Ctx<'_>, state: &mut State, caller: &Caller) -> Handled {
    let body = ctx.json_required()?;
    let id = required_str(&body, "userId")?;
    let (m, key) = located(ctx, state, caller, id)?;
    let user = state.users[m].get_mut(&key).expect("located");
    if !user.verified {
        return Err(ApiError::unprocessable(
            "USER_NOT_VERIFIED",
            "User is not verified",
        ));
    }
    // finAPI encrypts these with the mandator's data decryption key; the mock has no such key
    // and returns them as they are (documented in docs/readings.md).
    let token = random_uuid();
    user.password_change_token = Some(token.clone());
    Ok(Reply::Json(
        200,
        json!({ "userId": user.id, "userEmail": user.email, "passwordChangeToken": token }),
    ))
}

pub fn execute_password_change(ctx: &Ctx<'_>, state: &mut State, caller: &Caller) -> Handled {
    let body = ctx.json_required()?;
    let id = required_str(&body, "userId")?;
    let password = required_str(&body, "password")?;
    let token = required_str(&body, "passwordChangeToken")?;
    check_password(password).map_err(ApiError::bad_request)?;
    let well_formed = token.len() == 36 && token.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
    if !well_formed {
        return Err(ApiError::bad_request(
            "passwordChangeToken has the wrong format",
        ));
    }
    let (m, key) = located(ctx, state, caller, id)?;
    let user = state.users[m].get_mut(&key).expect("located");
    if user.password_change_token.as_deref() != Some(token) {
        // The documented 400 (executePasswordChange documents no 422).
        return Err(ApiError::illegal_field(
            "passwordChangeToken is not valid for this user",
        ));
    }
    user.password = password.to_string();
    user.password_hash = None;
    user.password_change_token = None;
    tracing::debug!(user = %user.id, "password changed");
    user.locked = false;
    user.failed_logins = 0;
    if ctx.faults.has(Violation::PasswordChangeKeepsTokens) {
        return Ok(Reply::Empty(200));
    }
    if ctx
        .faults
        .has(Violation::PasswordChangeKeepsOtherClientTokens)
    {
        let client = caller.client.clone();
        state.revoke_access(false, |t| {
            t.mandator == m && t.user.as_deref() == Some(&key) && t.client == client
        });
        state.revoke_refresh(false, |t| {
            t.mandator == m && t.user == key && t.client == client
        });
    } else {
        let keep = ctx.faults.has(Violation::RevokedTokenAccepted);
        state.revoke_user(keep, m, &key);
    }
    Ok(Reply::Empty(200))
}

fn authorized<'s>(state: &'s mut State, caller: &Caller) -> Result<&'s mut User, ApiError> {
    let key = caller.user.as_deref().unwrap_or("");
    state
        .users
        .get_mut(caller.mandator)
        .and_then(|u| u.get_mut(key))
        .ok_or_else(ApiError::invalid_token)
}

pub fn get_authorized(ctx: &Ctx<'_>, state: &mut State, caller: &Caller) -> Handled {
    let user = authorized(state, caller)?;
    Ok(user_reply(ctx.op.version, 200, user, "XXXXX"))
}

pub fn edit_authorized(ctx: &Ctx<'_>, state: &mut State, caller: &Caller) -> Handled {
    let body = ctx.json()?.unwrap_or_default();
    let email = str_field(&body, "email")?.map(str::to_string);
    let phone = str_field(&body, "phone")?.map(str::to_string);
    let auto_update = bool_field(&body, "isAutoUpdateEnabled")?;
    if email.as_ref().is_some_and(|e| e.chars().count() > 320)
        || phone.as_ref().is_some_and(|p| p.chars().count() > 50)
    {
        return Err(ApiError::bad_request("email or phone is too long"));
    }
    let user = authorized(state, caller)?;
    // An empty string clears a field.
    if let Some(e) = email {
        user.email = (!e.is_empty()).then_some(e);
    }
    if let Some(p) = phone {
        user.phone = (!p.is_empty()).then_some(p);
    }
    if let Some(a) = auto_update {
        user.auto_update = a;
    }
    Ok(user_reply(ctx.op.version, 200, user, "XXXXX"))
}

pub fn delete_authorized(ctx: &Ctx<'_>, state: &mut State, caller: &Caller) -> Handled {
    let key = caller.user.clone().unwrap_or_default();
    authorized(state, caller)?;
    delete_user(state, caller.mandator, &key, ctx.now);
    Ok(Reply::Empty(200))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_bodies_are_byte_for_byte_what_json_gives() {
        let user = User {
            id: "Alice".into(),
            password: "pw".into(),
            password_hash: None,
            email: Some("a@example.org".into()),
            phone: None,
            auto_update: true,
            verified: true,
            locked: false,
            failed_logins: 0,
            registered: chrono::Utc::now(),
            last_active: None,
            created_by: "c".into(),
            password_change_token: None,
        };
        let Reply::RawJson(200, bytes) = user_reply(ApiVersion::V1, 200, &user, "XXXXX") else {
            panic!("not a raw JSON reply");
        };
        let expected = json!({
            "id": user.id,
            "password": "XXXXX",
            "email": user.email,
            "phone": user.phone,
            "isAutoUpdateEnabled": user.auto_update,
        });
        assert_eq!(bytes, serde_json::to_vec(&expected).unwrap());
        // V2 leaves the unset phone out.
        let Reply::RawJson(200, bytes) = user_reply(ApiVersion::V2, 200, &user, "XXXXX") else {
            panic!("not a raw JSON reply");
        };
        let mut expected = expected;
        expected.as_object_mut().unwrap().remove("phone");
        assert_eq!(bytes, serde_json::to_vec(&expected).unwrap());
    }
}
