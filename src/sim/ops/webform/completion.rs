//! How a web form ends, whichever way it is asked to (its page, the control API,
//! [`crate::mock::FinapiMock::complete_web_form`], its lifetime running out): [`complete`] is
//! the one place, with the effects of the ending in Access (a connection with its accounts and
//! transactions, a payment, a standing order) and the form's callback.

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use crate::sim::dates::moment;
use crate::sim::ops::webform::callbacks;
use crate::sim::ops::webform::common::form_value;
use crate::sim::state::webforms::{Form, FINAL_STATUSES};
use crate::sim::state::{Owner, State};

/// End every form whose lifetime is over: `EXPIRED`, nothing created, the callback sent.
pub fn expire(state: &mut State, now: DateTime<Utc>) {
    let due: Vec<String> = state
        .webform
        .forms
        .values()
        .filter(|f| !FINAL_STATUSES.contains(&f.status) && now >= f.expires)
        .map(|f| f.id.clone())
        .collect();
    for id in due {
        let _ = complete(state, &id, "EXPIRED", now);
    }
}

/// Why a web form could not be completed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompleteError {
    #[error("web form {0} not found")]
    NotFound(String),
    #[error("`{0}` is not a final status (COMPLETED, COMPLETED_WITH_ERROR, ABORTED or EXPIRED)")]
    BadStatus(String),
    #[error("web form {id} is {status} already")]
    Final { id: String, status: &'static str },
}

/// End web form `id` with `status`, with the effects of that ending: a completed
/// bank-connection import creates the connection (accounts, transactions) for the form's user
/// and names it in `payload.bankConnectionId`; a completed payment or standing order form
/// creates its order; any other ending creates nothing. The form's callback is sent. Returns
/// the form as the API shows it.
pub fn complete(
    state: &mut State,
    id: &str,
    status: &str,
    now: DateTime<Utc>,
) -> Result<Value, CompleteError> {
    let status = FINAL_STATUSES
        .into_iter()
        .find(|s| *s == status)
        .ok_or_else(|| CompleteError::BadStatus(status.to_string()))?;
    let form = state
        .webform
        .forms
        .get(id)
        .cloned()
        .ok_or_else(|| CompleteError::NotFound(id.to_string()))?;
    if FINAL_STATUSES.contains(&form.status) {
        return Err(CompleteError::Final {
            id: id.to_string(),
            status: form.status,
        });
    }
    let mut payload = Map::new();
    match status {
        "COMPLETED" => effects(state, &form, now, &mut payload),
        "COMPLETED_WITH_ERROR" => {
            payload.insert("errorCode".into(), Value::from("BANK_SERVER_REJECTION"));
        }
        _ => {}
    }
    let stored = state.webform.forms.get_mut(id).expect("found above");
    stored.status = status;
    stored.payload = payload;
    let value = form_value(stored);
    if let Some(url) = stored.callback.clone() {
        let body = json!({ "webFormId": id, "status": status }).to_string();
        callbacks::queue(&mut state.webform, &url, body);
    }
    Ok(value)
}

/// What a completed form creates, by type.
fn effects(state: &mut State, form: &Form, now: DateTime<Utc>, payload: &mut Map<String, Value>) {
    let (m, user) = (form.mandator, form.user.clone());
    let owner = Owner::User(m, user.clone());
    let version = state.mandators[m].api_version;
    match form.kind {
        "BANK_CONNECTION_IMPORT" => {
            let bank = form
                .details
                .get("bank")
                .and_then(|b| b.get("id"))
                .and_then(Value::as_u64)
                .and_then(crate::sim::banks::test_bank)
                .unwrap_or(&crate::sim::banks::TEST_BANKS[0]);
            let id = crate::sim::seed::import_test_bank(state, m, &user, bank, now);
            if let Some(name) = form
                .details
                .get("bankConnectionName")
                .and_then(Value::as_str)
            {
                if let Some(r) = state
                    .existing_collection_mut(&(owner, "bankConnections".to_string()))
                    .and_then(|c| c.get_mut(&id))
                {
                    r["name"] = Value::from(name);
                }
            }
            payload.insert("bankConnectionId".into(), Value::from(id));
        }
        "BANK_CONNECTION_UPDATE" => {
            let id = form
                .details
                .get("bank")
                .and_then(|b| b.get("bankConnectionId"))
                .and_then(Value::as_u64)
                .unwrap_or(0);
            let at = moment(version, now);
            if let Some(r) = state
                .existing_collection_mut(&(owner, "bankConnections".to_string()))
                .and_then(|c| c.get_mut(&id))
            {
                r["lastManualUpdate"] = json!({ "result": "OK", "timestamp": at });
            }
            payload.insert("bankConnectionId".into(), Value::from(id));
        }
        "STANDING_ORDER" => {
            let amount = form
                .details
                .get("amount")
                .and_then(|a| a.get("value"))
                .cloned()
                .unwrap_or(Value::from(0));
            let id = state.insert_resource(
                owner,
                "standingOrders",
                json!({ "amount": amount, "status": "SUCCESSFUL", "currency": "EUR" }),
            );
            payload.insert("standingOrderId".into(), Value::from(id));
        }
        _ => {
            let orders = form
                .details
                .get("orders")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let total: f64 = orders
                .iter()
                .filter_map(|o| o.get("amount")?.get("value")?.as_f64())
                .sum();
            let mut record = json!({
                "amount": (total * 100.0).round() / 100.0,
                "orderCount": orders.len(),
                "status": "SUCCESSFUL",
                "type": if form.kind == "DIRECT_DEBIT_WITH_ACCOUNT_ID" { "DIRECT_DEBIT" } else { "MONEY_TRANSFER" },
                "executionDate": moment(version, now),
            });
            if let Some(account) = form
                .details
                .get("sender")
                .or_else(|| form.details.get("receiver"))
                .and_then(|s| s.get("accountId"))
            {
                record["accountId"] = account.clone();
            }
            let id = state.insert_resource(owner, "payments", record);
            payload.insert("paymentId".into(), Value::from(id));
        }
    }
}
