//! What the Web Form 2.0 handlers share: the user a call acts for, Web Form's own paging, its
//! not-found errors, and the JSON views of forms and tasks.

use serde_json::{json, Value};

use crate::sim::dates::webform_moment;
use crate::sim::error::ApiError;
use crate::sim::form::single;
use crate::sim::message::{Handled, Reply};
use crate::sim::ops::ctx::{Caller, Ctx};
use crate::sim::ops::paging::page_of;
use crate::sim::state::webforms::{Form, Task, WebForms};
use crate::sim::state::{MandatorIx, Owner, State};

/// The user a web form or task call acts for.
pub fn user_of(caller: &Caller) -> Result<(MandatorIx, String), ApiError> {
    let user = caller
        .user
        .clone()
        .ok_or_else(|| ApiError::forbidden("a user's access token is required"))?;
    Ok((caller.mandator, user))
}

/// `page` and `perPage` as Web Form 2.0 reads them (1-based page; perPage 1..=500, 20 unless
/// given); a bad value is a 400 naming the field.
pub fn paging(ctx: &Ctx<'_>) -> Result<(usize, usize), ApiError> {
    let query = ctx.query()?;
    let number = |name: &str, default: usize, max: usize| -> Result<usize, ApiError> {
        match single(query, name)? {
            None => Ok(default),
            Some(v) => v
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=max).contains(n))
                .ok_or_else(|| {
                    ApiError::illegal_field(format!(
                        "field `{name}` must be a whole number from 1 to {max}"
                    ))
                }),
        }
    };
    Ok((number("page", 1, usize::MAX)?, number("perPage", 20, 500)?))
}

pub fn page(items: Vec<Value>, ctx: &Ctx<'_>) -> Handled {
    let (page, per_page) = paging(ctx)?;
    let (items, paging) = page_of(items, page, per_page);
    Ok(Reply::Json(
        200,
        json!({ "items": items, "paging": paging }),
    ))
}

pub fn not_found(what: &str, id: &str) -> ApiError {
    ApiError::new(404, "NOT_FOUND", format!("{what} {id} not found"))
}

/// The JSON view of a web form.
pub fn form_value(form: &Form) -> Value {
    json!({
        "id": form.id,
        "url": form.url,
        "createdAt": webform_moment(form.created),
        "expiresAt": webform_moment(form.expires),
        "type": form.kind,
        "status": form.status,
        "payload": form.payload,
    })
}

pub fn task_value(task: &Task, forms: &WebForms) -> Value {
    let mut payload = json!({ "bankConnectionId": task.bank_connection });
    if let Some(form) = forms
        .forms
        .values()
        .find(|f| f.task.as_deref() == Some(&task.id))
    {
        payload["webForm"] = json!({ "id": form.id, "status": form.status, "url": form.url });
    }
    json!({
        "id": task.id,
        "createdAt": webform_moment(task.created),
        "type": "BANK_CONNECTION_UPDATE",
        "status": task.status,
        "payload": payload,
    })
}

/// The user's bank connection `id`, if it exists.
pub fn has_connection(state: &State, m: MandatorIx, user: &str, id: u64) -> bool {
    state
        .resources
        .get(&(
            Owner::User(m, user.to_string()),
            "bankConnections".to_string(),
        ))
        .is_some_and(|c| c.contains_key(&id))
}

/// The user of mandator `m` who has bank connection `id`, if any.
pub fn holder_of_connection(state: &State, m: MandatorIx, id: u64) -> Option<String> {
    state
        .resources
        .iter()
        .find_map(|((owner, kind), records)| match owner {
            Owner::User(om, user)
                if *om == m && kind == "bankConnections" && records.contains_key(&id) =>
            {
                Some(user.clone())
            }
            _ => None,
        })
}

/// The user's account `id`, if it exists.
pub fn has_account(state: &State, m: MandatorIx, user: &str, id: u64) -> bool {
    state
        .resources
        .get(&(Owner::User(m, user.to_string()), "accounts".to_string()))
        .is_some_and(|c| c.contains_key(&id))
}
