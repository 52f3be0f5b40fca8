//! A mandator's customisations of its web forms: profiles (one of them the default) and
//! translation sets, made and read by its admin client.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::sim::dates::webform_moment;
use crate::sim::message::{Handled, Reply};
use crate::sim::ops::ctx::{Caller, Ctx};
use crate::sim::ops::webform::common::{not_found, page};
use crate::sim::random::random_uuid;
use crate::sim::state::webforms::Custom;
use crate::sim::state::{MandatorIx, State};

/// The profiles or the translations, as the operation addresses them.
fn customs<'s>(
    op_id: &str,
    state: &'s mut State,
) -> (&'s mut BTreeMap<String, Custom>, &'static str) {
    if op_id.contains("Profile") {
        (&mut state.webform.profiles, "profile")
    } else {
        (&mut state.webform.translations, "translation set")
    }
}

pub fn list_custom(ctx: &Ctx<'_>, state: &mut State, caller: &Caller) -> Handled {
    let (store, _) = customs(&ctx.op.id, state);
    let items = store
        .values()
        .filter(|c| c.mandator == caller.mandator)
        .map(|c| c.value.clone())
        .collect();
    page(items, ctx)
}

pub fn create_custom(ctx: &Ctx<'_>, state: &mut State, caller: &Caller) -> Handled {
    let mut value = ctx.json()?.unwrap_or_default();
    let id = random_uuid();
    value.insert("id".into(), Value::from(id.clone()));
    value.insert("createdAt".into(), Value::from(webform_moment(ctx.now)));
    let is_profile = ctx.op.id == "createProfile";
    if is_profile {
        let default = value
            .get("default")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        value.insert("default".into(), Value::from(default));
        if default {
            unset_default(state, caller.mandator);
        }
    }
    let (store, _) = customs(&ctx.op.id, state);
    let value = Value::Object(value);
    store.insert(
        id,
        Custom {
            mandator: caller.mandator,
            value: value.clone(),
        },
    );
    Ok(Reply::Json(ctx.op.success, value))
}

/// Only one profile of a mandator is its default.
fn unset_default(state: &mut State, m: MandatorIx) {
    for p in state.webform.profiles.values_mut() {
        if p.mandator == m {
            p.value["default"] = Value::from(false);
        }
    }
}

pub fn get_custom(ctx: &Ctx<'_>, state: &mut State, caller: &Caller) -> Handled {
    let id = ctx.param("id");
    let (store, what) = customs(&ctx.op.id, state);
    let found = store
        .get(id)
        .filter(|c| c.mandator == caller.mandator)
        .ok_or_else(|| not_found(what, id))?;
    Ok(Reply::Json(200, found.value.clone()))
}

pub fn edit_profile(ctx: &Ctx<'_>, state: &mut State, caller: &Caller) -> Handled {
    let id = ctx.param("id").to_string();
    let changes = ctx.json()?.unwrap_or_default();
    if state
        .webform
        .profiles
        .get(&id)
        .is_none_or(|p| p.mandator != caller.mandator)
    {
        return Err(not_found("profile", &id));
    }
    if changes.get("default").and_then(Value::as_bool) == Some(true) {
        unset_default(state, caller.mandator);
    }
    let profile = state.webform.profiles.get_mut(&id).expect("checked");
    for (k, v) in changes {
        if k != "id" && k != "createdAt" && !v.is_null() {
            profile.value[k.as_str()] = v;
        }
    }
    Ok(Reply::Json(ctx.op.success, profile.value.clone()))
}

pub fn delete_custom(ctx: &Ctx<'_>, state: &mut State, caller: &Caller) -> Handled {
    let id = ctx.param("id");
    let (store, what) = customs(&ctx.op.id, state);
    if store.get(id).is_none_or(|c| c.mandator != caller.mandator) {
        return Err(not_found(what, id));
    }
    store.remove(id);
    Ok(Reply::Empty(200))
}
