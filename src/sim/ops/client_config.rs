//! Client configuration: each app client reads and edits its own.
//!
//! Auto-verification and the login-attempt limit are set by finAPI, not through the API; in the
//! mock they come from the world (and `FinapiMock::configure_client`).

use serde_json::{json, Value};

use crate::model::CallerKind;
use crate::sim::error::ApiError;
use crate::sim::message::{Handled, Reply};
use crate::sim::ops::ctx::{Caller, Ctx};
use crate::sim::state::State;
use crate::world::ClientSettings;

fn render(settings: &ClientSettings, is_admin: bool) -> Value {
    json!({
        "isMandatorAdmin": is_admin,
        "userAccessTokensValidityPeriod": settings.user_access_token_validity,
        "clientAccessTokensValidityPeriod": settings.client_access_token_validity,
        "refreshTokensValidityPeriod": settings.refresh_token_validity,
        "isUserAutoVerificationEnabled": settings.user_auto_verification,
        "maxUserLoginAttempts": settings.max_user_login_attempts,
        "pfmServicesEnabled": settings.pfm_services_enabled,
        "paymentsEnabled": settings.payments_enabled,
        "isDevelopmentModeEnabled": settings.development_mode,
        "applicationName": settings.application_name,
        "userNotificationCallbackUrl": settings.user_notification_callback_url,
        "userSynchronizationCallbackUrl": settings.user_synchronization_callback_url,
    })
}

pub fn get(_ctx: &Ctx<'_>, state: &mut State, caller: &Caller) -> Handled {
    let client = state
        .clients
        .get(&caller.client)
        .ok_or_else(ApiError::invalid_token)?;
    Ok(Reply::Json(
        200,
        render(&client.settings, client.kind == CallerKind::MandatorAdmin),
    ))
}

/// Fields finAPI documents as editable but the simulator does not act on; accepted, ignored.
const ACCEPTED: [&str; 7] = [
    "isPinStorageAvailableInWebForm",
    "storeSecretsAvailableInWebForm",
    "finTSProductRegistrationNumber",
    "supportSubjectDefault",
    "supportEmail",
    "betaBanksEnabled",
    "corsAllowedOrigins",
];

pub fn edit(ctx: &Ctx<'_>, state: &mut State, caller: &Caller) -> Handled {
    let body = ctx.json()?.unwrap_or_default();
    let mut next = state
        .clients
        .get(&caller.client)
        .ok_or_else(ApiError::invalid_token)?
        .settings
        .clone();
    for (key, value) in &body {
        match key.as_str() {
            "userAccessTokensValidityPeriod" => {
                next.user_access_token_validity = period(key, value)?
            }
            "clientAccessTokensValidityPeriod" => {
                next.client_access_token_validity = period(key, value)?
            }
            "refreshTokensValidityPeriod" => next.refresh_token_validity = period(key, value)?,
            "applicationName" => next.application_name = text(key, value)?,
            "userNotificationCallbackUrl" => {
                next.user_notification_callback_url = text(key, value)?
            }
            "userSynchronizationCallbackUrl" => {
                next.user_synchronization_callback_url = text(key, value)?
            }
            k if ACCEPTED.contains(&k) => {}
            other => {
                return Err(ApiError::bad_request(format!(
                    "`{other}` cannot be changed"
                )))
            }
        }
    }
    let client = state
        .clients
        .get_mut(&caller.client)
        .ok_or_else(ApiError::invalid_token)?;
    client.settings = next;
    Ok(Reply::Json(
        200,
        render(&client.settings, client.kind == CallerKind::MandatorAdmin),
    ))
}

/// A validity period: 0 (never expires) or at least 60 seconds. Anything else is the
/// documented 400 (editClientConfiguration documents no 422), code `ILLEGAL_FIELD_VALUE`.
fn period(key: &str, value: &Value) -> Result<u64, ApiError> {
    match value.as_u64() {
        Some(0) => Ok(0),
        Some(v) if v >= 60 => Ok(v),
        _ => Err(ApiError::illegal_field(format!(
            "`{key}` must be 0 or at least 60"
        ))),
    }
}

/// A nullable string; "" clears it.
fn text(key: &str, value: &Value) -> Result<Option<String>, ApiError> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) if s.is_empty() => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        _ => Err(ApiError::illegal_field(format!("`{key}` must be a string"))),
    }
}
