//! Bank connections: importing a test bank (the way a user gets accounts and transactions),
//! updating and re-connecting a connection, and deleting one with everything that hangs on it.

use serde_json::{json, Map, Value};

use crate::sim::banks;
use crate::sim::error::ApiError;
use crate::sim::message::{Handled, Reply};
use crate::sim::ops::ctx::{Caller, Ctx};
use crate::sim::ops::resources::{self, find, owner};
use crate::sim::state::{Owner, State};

const KIND: &str = "bankConnections";

fn user_owner(ctx: &Ctx<'_>, caller: &Caller) -> Result<(usize, String), ApiError> {
    match owner(ctx, caller) {
        Owner::User(m, u) => Ok((m, u)),
        Owner::Mandator(_) => Err(ApiError::forbidden("a user is required")),
    }
}

/// The bank a body names: `bankId` (V1 and V2) or `bank.id`.
fn bank_id(body: &Map<String, Value>) -> Result<u64, ApiError> {
    let raw = body
        .get("bankId")
        .or_else(|| body.get("bank").and_then(|b| b.get("id")))
        .ok_or_else(|| ApiError::missing_field("bankId"))?;
    raw.as_u64()
        .ok_or_else(|| ApiError::illegal_field("`bankId` must be a whole number"))
}

/// `POST /bankConnections/import`: the mock imports from a test bank at once: a connection, a
/// checking, a savings and a securities account, transactions and securities.
pub fn import(ctx: &Ctx<'_>, state: &mut State, caller: &Caller) -> Handled {
    let body = ctx.json_required()?;
    let bank = bank_id(&body)?;
    let bank = banks::test_bank(bank).ok_or_else(|| {
        ApiError::business(
            422,
            "UNSUPPORTED_BANK",
            format!("bank {bank} is not one of the mock's test banks"),
        )
    })?;
    let (m, user) = user_owner(ctx, caller)?;
    let id = crate::sim::seed::import_test_bank(state, m, &user, bank, ctx.now);
    let connection = state.resources[&(Owner::User(m, user), KIND.to_string())][&id].to_value();
    Ok(Reply::Json(ctx.op.success, connection))
}

/// The connection a body names by `bankConnectionId`, among those the caller can reach.
fn named(
    ctx: &Ctx<'_>,
    state: &State,
    caller: &Caller,
    body: &Map<String, Value>,
) -> Result<(Owner, u64), ApiError> {
    let id = body
        .get("bankConnectionId")
        .ok_or_else(|| ApiError::missing_field("bankConnectionId"))?;
    let id = id
        .as_u64()
        .or_else(|| id.as_str().and_then(|s| s.parse().ok()))
        .ok_or_else(|| ApiError::illegal_field("`bankConnectionId` must be a whole number"))?;
    let own = owner(ctx, caller);
    let o =
        find(ctx, state, &own, KIND, id).ok_or_else(|| ApiError::not_found("Bank connection"))?;
    Ok((o, id))
}

/// `POST /bankConnections/update` and `/connectInterface`: the test bank answers at once; the
/// connection's last update is now.
pub fn refresh(ctx: &Ctx<'_>, state: &mut State, caller: &Caller) -> Handled {
    let body = ctx.json_required()?;
    let (o, id) = named(ctx, state, caller, &body)?;
    let at = crate::sim::dates::moment(ctx.op.version, ctx.now);
    let record = state
        .existing_collection_mut(&(o, KIND.to_string()))
        .and_then(|r| r.get_mut(&id))
        .expect("found");
    record["lastManualUpdate"] = json!({ "result": "OK", "timestamp": at });
    record["updateStatus"] = Value::from("READY");
    Ok(Reply::Json(ctx.op.success, record.to_value()))
}

/// `POST /bankConnections/removeInterface`.
pub fn remove_interface(ctx: &Ctx<'_>, state: &mut State, caller: &Caller) -> Handled {
    let body = ctx.json_required()?;
    named(ctx, state, caller, &body)?;
    Ok(Reply::Empty(200))
}

/// Remove one connection and its accounts, their transactions and securities.
pub fn remove(state: &mut State, owner: &Owner, id: u64) -> bool {
    let key = (owner.clone(), KIND.to_string());
    let Some(conn) = state
        .existing_collection_mut(&key)
        .and_then(|r| r.remove(&id))
    else {
        return false;
    };
    let accounts: Vec<u64> = conn["accountIds"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_u64).collect())
        .unwrap_or_default();
    for a in accounts {
        crate::sim::ops::accounts::remove(state, owner, a);
    }
    true
}

/// `DELETE /bankConnections/{id}`.
pub fn delete_one(ctx: &Ctx<'_>, state: &mut State, caller: &Caller) -> Handled {
    resources::delete_one(ctx, state, caller, (KIND, "Bank connection", remove))
}

/// `DELETE /bankConnections`: every connection of the caller; answers the removed ids.
pub fn delete_all(ctx: &Ctx<'_>, state: &mut State, caller: &Caller) -> Handled {
    resources::delete_all(ctx, state, caller, KIND, remove)
}
