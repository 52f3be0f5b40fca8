//! The web forms of the API: creating one for the caller's user (its page's URL on the front
//! door's own address), listing, reading and deleting them.

use serde_json::{Map, Value};

use crate::faults::Violation;
use crate::sim::error::ApiError;
use crate::sim::message::{Handled, Reply};
use crate::sim::ops::ctx::{Caller, Ctx};
use crate::sim::ops::webform::common::{
    form_value, has_account, has_connection, not_found, page, user_of,
};
use crate::sim::random::random_uuid;
use crate::sim::state::webforms::{Form, PAGE_PREFIX};
use crate::sim::state::{MandatorIx, State};

/// The web form type an operation creates.
pub fn form_kind(op_id: &str) -> Option<&'static str> {
    Some(match op_id {
        "createForBankConnectionImport" => "BANK_CONNECTION_IMPORT",
        "createForBankConnectionUpdate" => "BANK_CONNECTION_UPDATE",
        "createForPaymentWithAccountId" => "PAYMENT_WITH_ACCOUNT_ID",
        "createForStandalonePayment" => "STANDALONE_PAYMENT",
        "createForStandingOrder" => "STANDING_ORDER",
        "createForDirectDebitWithAccountId" => "DIRECT_DEBIT_WITH_ACCOUNT_ID",
        _ => return None,
    })
}

/// `http://host` of the request, for the form's URL (the front door's own address).
fn base_url(ctx: &Ctx<'_>) -> String {
    crate::sim::headers::base_url(ctx.req.headers)
}

/// `POST /api/webForms/{type}`: a new web form for the caller's user.
pub fn create(ctx: &Ctx<'_>, state: &mut State, caller: &Caller) -> Handled {
    let (m, user) = user_of(caller)?;
    let kind = form_kind(&ctx.op.id).expect("routed to create");
    let details = ctx.json()?.unwrap_or_default();
    match kind {
        "BANK_CONNECTION_IMPORT" => {
            if let Some(id) = details
                .get("bank")
                .and_then(|b| b.get("id"))
                .and_then(Value::as_u64)
            {
                if crate::sim::banks::test_bank(id).is_none() {
                    return Err(ApiError::business(
                        422,
                        "BANK_NOT_SUPPORTED",
                        format!("bank {id} is not supported (the mock offers finAPI's test banks)"),
                    ));
                }
            }
        }
        "PAYMENT_WITH_ACCOUNT_ID" | "DIRECT_DEBIT_WITH_ACCOUNT_ID" => {
            // The account to pay from (or collect to) must be one of the user's own.
            let holder = if kind == "PAYMENT_WITH_ACCOUNT_ID" {
                "sender"
            } else {
                "receiver"
            };
            let id = details
                .get(holder)
                .and_then(|h| h.get("accountId"))
                .and_then(Value::as_u64)
                .unwrap_or(0);
            if !has_account(state, m, &user, id) {
                return Err(ApiError::new(
                    404,
                    "NOT_FOUND",
                    format!("account {id} not found"),
                ));
            }
        }
        "BANK_CONNECTION_UPDATE" => {
            let id = details
                .get("bank")
                .and_then(|b| b.get("bankConnectionId"))
                .and_then(Value::as_u64)
                .unwrap_or(0);
            if !has_connection(state, m, &user, id) {
                return Err(ApiError::new(
                    404,
                    "NOT_FOUND",
                    format!("bank connection {id} not found"),
                ));
            }
        }
        _ => {}
    }
    if let Some(profile) = details.get("profileId").and_then(Value::as_str) {
        if state
            .webform
            .profiles
            .get(profile)
            .is_none_or(|p| p.mandator != m)
        {
            return Err(ApiError::business(
                422,
                "NOT_FOUND",
                format!("profile {profile} not found"),
            ));
        }
    }
    let id = random_uuid();
    let callback = details
        .get("callbacks")
        .and_then(|c| c.get("finalised"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let form = Form {
        url: format!("{}{PAGE_PREFIX}{id}", base_url(ctx)),
        id: id.clone(),
        mandator: m,
        user,
        kind,
        status: "NOT_YET_OPENED",
        created: ctx.now,
        expires: ctx.now + state.webform.lifetime(),
        details,
        payload: Map::new(),
        callback,
        task: None,
    };
    let value = form_value(&form);
    state.webform.forms.insert(id, form);
    Ok(Reply::Json(ctx.op.success, value))
}

/// Whether the caller may see `form`: its own user's, or anyone's under the
/// `other-users-web-form-visible` break.
fn visible(ctx: &Ctx<'_>, form: &Form, m: MandatorIx, user: &str) -> bool {
    (form.mandator == m && form.user == user) || ctx.faults.has(Violation::OtherUsersWebFormVisible)
}

pub fn list_forms(ctx: &Ctx<'_>, state: &mut State, caller: &Caller) -> Handled {
    let (m, user) = user_of(caller)?;
    let items = state
        .webform
        .forms
        .values()
        .filter(|f| visible(ctx, f, m, &user))
        .map(form_value)
        .collect();
    page(items, ctx)
}

pub fn get_form(ctx: &Ctx<'_>, state: &mut State, caller: &Caller) -> Handled {
    let (m, user) = user_of(caller)?;
    let id = ctx.param("id");
    let form = state
        .webform
        .forms
        .get(id)
        .filter(|f| visible(ctx, f, m, &user))
        .ok_or_else(|| not_found("web form", id))?;
    Ok(Reply::Json(200, form_value(form)))
}

pub fn delete_form(ctx: &Ctx<'_>, state: &mut State, caller: &Caller) -> Handled {
    let (m, user) = user_of(caller)?;
    let id = ctx.param("id");
    let found = state
        .webform
        .forms
        .get(id)
        .is_some_and(|f| visible(ctx, f, m, &user));
    if !found {
        return Err(not_found("web form", id));
    }
    state.webform.forms.remove(id);
    Ok(Reply::Empty(200))
}
