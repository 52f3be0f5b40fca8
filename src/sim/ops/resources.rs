//! The generic store behind every operation without a handler of its own.
//!
//! A resource kind is the first path segment after `/api/vN/` (`accounts`, `labels`,
//! `tppCertificates`, ...). Resources belong to the calling user for user services and to the
//! mandator for admin services; nobody else can see them. The operation's shape decides the
//! behaviour: list, create, get/edit/delete one, delete all, or an action.

use serde_json::{json, Map, Value};

use crate::faults::Violation;
use crate::model::CallerKind;
use crate::sim::error::ApiError;
use crate::sim::guard::Caller;
use crate::sim::ops::{page_of, paging, Ctx};
use crate::sim::state::{Owner, State};
use crate::sim::{Handled, Reply};

/// The bank catalogue is the same for everyone.
fn banks() -> Vec<Value> {
    [
        (280001, "finAPI Test Bank", "00000000"),
        (280002, "finAPI Test Redirect Bank", "00000001"),
        (280003, "finAPI Test Decoupled Bank", "00000002"),
    ]
    .into_iter()
    .map(|(id, name, blz)| json!({ "id": id, "name": name, "blz": blz, "isTestBank": true, "isSupported": true }))
    .collect()
}

/// Segments after `/api/vN/`.
fn segments(path: &str) -> Vec<&str> {
    path.trim_start_matches('/').split('/').skip(2).collect()
}

fn is_param(seg: &str) -> bool {
    seg.starts_with('{')
}

fn owner(ctx: &Ctx<'_>, caller: &Caller) -> Owner {
    match (&caller.user, ctx.op.callers.contains(CallerKind::User)) {
        (Some(user), true) => Owner::User(caller.mandator, user.clone()),
        _ => Owner::Mandator(caller.mandator),
    }
}

/// Owners whose resources the caller can reach: normally just its own.
fn reachable(ctx: &Ctx<'_>, state: &State, own: &Owner) -> Vec<Owner> {
    let mut out = vec![own.clone()];
    let every = state.resources.keys().map(|(o, _)| o);
    if let Owner::User(m, _) = own {
        if ctx.faults.has(Violation::OtherUserDataVisible) {
            out.extend(
                every
                    .clone()
                    .filter(|o| matches!(o, Owner::User(om, _) if om == m))
                    .cloned(),
            );
        }
        if ctx.faults.has(Violation::OtherMandatorVisible) {
            out.extend(every.filter(|o| matches!(o, Owner::User(..))).cloned());
        }
    }
    out
}

fn parse_id(raw: &str) -> Result<u64, ApiError> {
    raw.trim()
        .parse::<u64>()
        .map_err(|_| ApiError::bad_request(format!("`{raw}` is not a valid id")))
}

fn parse_ids(raw: &str) -> Result<Vec<u64>, ApiError> {
    let ids: Vec<u64> = raw.split(',').map(parse_id).collect::<Result<_, _>>()?;
    if ids.len() > 1000 {
        return Err(ApiError::bad_request("at most 1000 ids").with_code("TOO_MANY_IDS"));
    }
    Ok(ids)
}

impl ApiError {
    fn with_code(self, code: &'static str) -> ApiError {
        match self {
            ApiError::Message {
                status,
                message,
                kind,
                ..
            } => ApiError::Message {
                status,
                code,
                message,
                kind,
            },
            other => other,
        }
    }
}

/// Find resource `id` of `kind` among the owners the caller can reach.
fn find(ctx: &Ctx<'_>, state: &State, own: &Owner, kind: &str, id: u64) -> Option<Owner> {
    reachable(ctx, state, own).into_iter().find(|o| {
        state
            .resources
            .get(&(o.clone(), kind.to_string()))
            .is_some_and(|r| r.contains_key(&id))
    })
}

fn not_found(kind: &str) -> ApiError {
    ApiError::not_found(kind.trim_end_matches('s'))
}

fn merge(target: &mut Value, patch: Map<String, Value>) {
    if let Some(obj) = target.as_object_mut() {
        for (k, v) in patch {
            if k != "id" {
                obj.insert(k, v);
            }
        }
    }
}

pub fn generic(ctx: &Ctx<'_>, state: &mut State, caller: &Caller) -> Handled {
    let segs = segments(&ctx.op.path);
    let kind = segs.first().copied().unwrap_or_default();
    if kind == "banks" {
        return banks_op(ctx, &segs);
    }
    let own = owner(ctx, caller);
    let method = ctx.op.method.as_str();
    let last = segs.last().copied().unwrap_or_default();
    let id_param = segs
        .iter()
        .find(|s| is_param(s))
        .map(|s| s.trim_matches(|c| c == '{' || c == '}'));
    match (method, segs.len(), id_param) {
        // Collection: /kind
        ("GET", 1, None) => {
            let query = ctx.query()?;
            let (page, per_page) = paging(&query)?;
            let items: Vec<Value> = reachable(ctx, state, &own)
                .iter()
                .filter_map(|o| state.resources.get(&(o.clone(), kind.to_string())))
                .flat_map(|r| r.values().cloned())
                .collect();
            let (items, paging) = page_of(items, page, per_page);
            Ok(Reply::Json(200, json!({ kind: items, "paging": paging })))
        }
        ("POST", _, None) if ctx.op.id.starts_with("create") => {
            let body = ctx.json_required()?;
            let id = state.insert_resource(own.clone(), kind, Value::Object(body));
            let created = state.resources[&(own, kind.to_string())][&id].clone();
            Ok(Reply::Json(ctx.op.success, created))
        }
        ("DELETE", 1, None) => {
            let removed: Vec<u64> = state
                .resources
                .remove(&(own, kind.to_string()))
                .map(|r| r.into_keys().collect())
                .unwrap_or_default();
            Ok(Reply::Json(200, json!({ "identifiers": removed })))
        }
        ("PATCH", 1, None) => {
            ctx.json_required()?;
            Ok(Reply::Json(200, json!({ "identifiers": [] })))
        }
        // One or several resources: /kind/{id} or /kind/{ids}
        (_, 2, Some("ids")) => {
            let ids = parse_ids(ctx.param("ids"))?;
            let patch = if method == "PATCH" {
                Some(ctx.json()?.unwrap_or_default())
            } else {
                None
            };
            let mut found = Vec::new();
            for id in ids {
                if let Some(o) = find(ctx, state, &own, kind, id) {
                    let item = state
                        .resources
                        .get_mut(&(o, kind.to_string()))
                        .and_then(|r| r.get_mut(&id))
                        .expect("found");
                    if let Some(p) = &patch {
                        merge(item, p.clone());
                    }
                    found.push(item.clone());
                }
            }
            if method == "PATCH" {
                let ids: Vec<Value> = found.iter().filter_map(|v| v.get("id").cloned()).collect();
                return Ok(Reply::Json(200, json!({ "identifiers": ids })));
            }
            Ok(Reply::Json(200, json!({ kind: found })))
        }
        (_, 2, Some(_)) => {
            let id = parse_id(ctx.param(id_param.unwrap_or("id")))?;
            let patch = if method == "PATCH" {
                Some(ctx.json()?.unwrap_or_default())
            } else {
                None
            };
            let o = find(ctx, state, &own, kind, id).ok_or_else(|| not_found(kind))?;
            let store = state
                .resources
                .get_mut(&(o, kind.to_string()))
                .expect("found");
            match method {
                "DELETE" => {
                    store.remove(&id);
                    Ok(Reply::Empty(200))
                }
                "PATCH" => {
                    let item = store.get_mut(&id).expect("found");
                    merge(item, patch.unwrap_or_default());
                    Ok(Reply::Json(200, item.clone()))
                }
                _ => Ok(Reply::Json(200, store[&id].clone())),
            }
        }
        // Sub-resource or action of one resource: /kind/{id}/action
        (_, 3, Some(p)) => {
            let id = parse_id(ctx.param(p))?;
            find(ctx, state, &own, kind, id).ok_or_else(|| not_found(kind))?;
            if method == "POST" {
                ctx.json()?;
            }
            match method {
                "DELETE" => Ok(Reply::Empty(200)),
                _ => Ok(Reply::Json(ctx.op.success, json!({ "id": id }))),
            }
        }
        // Reports and searches: GET /kind/something
        ("GET", _, None) => {
            let query = ctx.query()?;
            let (page, per_page) = paging(&query)?;
            let (items, paging) = page_of(Vec::new(), page, per_page);
            Ok(Reply::Json(200, json!({ last: items, "paging": paging })))
        }
        // Actions: POST /kind/action
        _ => {
            ctx.json_required()?;
            Ok(Reply::Json(ctx.op.success, json!({})))
        }
    }
}

fn banks_op(ctx: &Ctx<'_>, segs: &[&str]) -> Handled {
    let all = banks();
    match segs.get(1) {
        None => {
            let query = ctx.query()?;
            let (page, per_page) = paging(&query)?;
            let (items, paging) = page_of(all, page, per_page);
            Ok(Reply::Json(
                200,
                json!({ "banks": items, "paging": paging }),
            ))
        }
        Some(p) if p.contains("ids") => {
            let ids = parse_ids(ctx.param("ids"))?;
            let found: Vec<Value> = all
                .into_iter()
                .filter(|b| ids.contains(&b["id"].as_u64().unwrap_or(0)))
                .collect();
            Ok(Reply::Json(200, json!({ "banks": found })))
        }
        Some(_) => {
            let id = parse_id(ctx.param("id"))?;
            all.into_iter()
                .find(|b| b["id"] == id)
                .map(|b| Reply::Json(200, b))
                .ok_or_else(|| ApiError::not_found("Bank"))
        }
    }
}

/// `POST /bankConnections/import`: the mock imports from a test bank at once, giving the user
/// one resource of every kind (an account, transactions, securities, ...).
pub fn import_bank_connection(ctx: &Ctx<'_>, state: &mut State, caller: &Caller) -> Handled {
    let body = ctx.json_required()?;
    let bank = body
        .get("bankId")
        .and_then(Value::as_u64)
        .ok_or_else(|| ApiError::missing_field("bankId"))?;
    if !banks().iter().any(|b| b["id"] == bank) {
        return Err(ApiError::not_found("Bank"));
    }
    let Owner::User(m, user) = owner(ctx, caller) else {
        return Err(ApiError::forbidden("a user is required"));
    };
    let id = state.add_sample_data(m, &user, ctx.now);
    let connection =
        state.resources[&(Owner::User(m, user), "bankConnections".to_string())][&id].clone();
    Ok(Reply::Json(ctx.op.success, connection))
}
