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
use crate::sim::form::Pair;
use crate::sim::message::{Handled, Reply};
use crate::sim::ops::ctx::{Caller, Ctx};
use crate::sim::ops::paging::{page_of, paging};
use crate::sim::state::{Owner, Record, State};

/// Segments after `/api/vN/`.
fn segments(path: &str) -> Vec<&str> {
    path.trim_start_matches('/').split('/').skip(2).collect()
}

fn is_param(seg: &str) -> bool {
    seg.starts_with('{')
}

pub fn owner(ctx: &Ctx<'_>, caller: &Caller) -> Owner {
    match (&caller.user, ctx.op.callers.contains(CallerKind::User)) {
        (Some(user), true) => Owner::User(caller.mandator, user.clone()),
        _ => Owner::Mandator(caller.mandator),
    }
}

/// Owners whose resources the caller can reach: normally just its own.
pub fn reachable(ctx: &Ctx<'_>, state: &State, own: &Owner) -> Vec<Owner> {
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
        } else if ctx.faults.has(Violation::IdFiltersCrossUsers) && names_ids_in_query(ctx) {
            for (o, _) in state.resources.keys() {
                if matches!(o, Owner::User(om, _) if om == m) && !out.contains(o) {
                    out.push(o.clone());
                }
            }
        }
    }
    out
}

/// True when the request's query gives a value to one of the operation's id filters
/// (`fixtures/ids.csv`): what the `id-filters-cross-users` break looks at.
fn names_ids_in_query(ctx: &Ctx<'_>) -> bool {
    let Ok(query) = ctx.query() else {
        return false;
    };
    ctx.op
        .ids
        .iter()
        .filter(|f| f.place == crate::model::IdPlace::Query)
        .any(|f| query.iter().any(|(k, v)| *k == f.field && !v.is_empty()))
}

/// The items of a generic list that pass the operation's id filters: `ids` selects by `id`,
/// any other `...Ids` by the item's field of the same name in the singular (`accountIds` by
/// `accountId`). Filters of other kinds are not applied.
fn id_filtered(ctx: &Ctx<'_>, items: Vec<Value>) -> Result<Vec<Value>, ApiError> {
    let query = ctx.query()?;
    let mut items = items;
    for field in ctx
        .op
        .ids
        .iter()
        .filter(|f| f.place == crate::model::IdPlace::Query)
    {
        let Some(wanted) = id_filter(query, &field.field)? else {
            continue;
        };
        let key = match field.field.as_str() {
            "ids" => "id".to_string(),
            other => other.trim_end_matches('s').to_string(),
        };
        items.retain(|item| {
            item.get(&key)
                .and_then(Value::as_u64)
                .is_some_and(|v| wanted.contains(&v))
        });
    }
    Ok(items)
}

pub fn parse_id(raw: &str) -> Result<u64, ApiError> {
    raw.trim()
        .parse::<u64>()
        .map_err(|_| ApiError::bad_request(format!("`{raw}` is not a valid id")))
}

pub fn parse_ids(raw: &str) -> Result<Vec<u64>, ApiError> {
    let ids: Vec<u64> = raw.split(',').map(parse_id).collect::<Result<_, _>>()?;
    if ids.len() > 1000 {
        return Err(ApiError::bad_request("at most 1000 ids").with_code("TOO_MANY_IDS"));
    }
    Ok(ids)
}

/// Comma-separated ids of query key `key` (repeatable); `None` when absent.
pub fn id_filter(query: &[Pair<'_>], key: &str) -> Result<Option<Vec<u64>>, ApiError> {
    let raw: Vec<&str> = query
        .iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v.as_ref())
        .filter(|v| !v.is_empty())
        .collect();
    if raw.is_empty() {
        return Ok(None);
    }
    let parsed: Vec<Vec<u64>> = raw.into_iter().map(parse_ids).collect::<Result<_, _>>()?;
    Ok(Some(parsed.concat()))
}

/// Find resource `id` of `kind` among the owners the caller can reach.
pub fn find(ctx: &Ctx<'_>, state: &State, own: &Owner, kind: &str, id: u64) -> Option<Owner> {
    reachable(ctx, state, own).into_iter().find(|o| {
        state
            .resources
            .get(&(o.clone(), kind.to_string()))
            .is_some_and(|r| r.contains_key(&id))
    })
}

pub fn not_found(kind: &str) -> ApiError {
    ApiError::not_found(kind.trim_end_matches('s'))
}

/// How a kind's resource is removed with what hangs on it (an account's transactions, a
/// connection's accounts); `false` when there was none.
pub type Remover = fn(&mut State, &Owner, u64) -> bool;

/// `DELETE /{kind}/{id}`: the caller's resource of `kind` (404 as `label` when it has none).
pub fn delete_one(
    ctx: &Ctx<'_>,
    state: &mut State,
    caller: &Caller,
    (kind, label, remove): (&str, &str, Remover),
) -> Handled {
    let id = parse_id(ctx.param("id"))?;
    let own = owner(ctx, caller);
    let o = find(ctx, state, &own, kind, id).ok_or_else(|| ApiError::not_found(label))?;
    remove(state, &o, id);
    Ok(Reply::Empty(200))
}

/// `DELETE /{kind}`: every resource of `kind` the caller has; answers the removed ids.
pub fn delete_all(
    ctx: &Ctx<'_>,
    state: &mut State,
    caller: &Caller,
    kind: &str,
    remove: Remover,
) -> Handled {
    let own = owner(ctx, caller);
    let ids: Vec<u64> = state
        .resources
        .get(&(own.clone(), kind.to_string()))
        .map(|r| r.keys().copied().collect())
        .unwrap_or_default();
    for id in &ids {
        remove(state, &own, *id);
    }
    Ok(Reply::Json(200, json!({ "identifiers": ids })))
}

/// Apply a PATCH body: only fields the record has or its kind may take are changed, so
/// credentials sent along (secrets, keys, PINs) are never stored or echoed.
/// The record is completed to its model again afterwards, so stored records keep their shape
/// (list handlers answer them without completing them per request).
fn merge(ctx: &Ctx<'_>, kind: &str, target: &mut Value, patch: Map<String, Value>) {
    let allowed = writable(kind);
    if let Some(obj) = target.as_object_mut() {
        for (k, v) in patch {
            if k != "id" && (obj.contains_key(&k) || allowed.contains(&k.as_str())) {
                obj.insert(k, v);
            }
        }
    }
    if let Some(model) = crate::sim::state::model_of(kind) {
        *target = crate::sim::conform::model(ctx.op.version, model, std::mem::take(target));
    }
}

/// An edit of a transaction names its category and labels by id (`categoryId`, `labelIds`);
/// the transaction shows them as objects (`category`, `labels`), taken from the owner's own
/// categories and labels. 404 for one the owner does not have.
fn transaction_refs(
    state: &State,
    owner: &Owner,
    mut patch: Map<String, Value>,
) -> Result<Map<String, Value>, ApiError> {
    let lookup = |kind: &str, id: &Value| -> Result<Value, ApiError> {
        id.as_u64()
            .and_then(|id| {
                state
                    .resources
                    .get(&(owner.clone(), kind.to_string()))?
                    .get(&id)
                    .map(Record::to_value)
            })
            .ok_or_else(|| not_found(kind))
    };
    if let Some(id) = patch.remove("categoryId") {
        let category = lookup("categories", &id)?;
        patch.insert("category".into(), category);
    }
    if let Some(ids) = patch.remove("labelIds") {
        let labels = ids
            .as_array()
            .ok_or_else(|| ApiError::illegal_field("`labelIds` must be an array"))?
            .iter()
            .map(|id| lookup("labels", id).map(|l| json!({ "id": l["id"], "name": l["name"] })))
            .collect::<Result<Vec<_>, _>>()?;
        patch.insert("labels".into(), Value::Array(labels));
    }
    Ok(patch)
}

/// Fields a client may set on a resource of `kind`; `None` for kinds without such a list,
/// whose bodies are kept minus anything that looks like a credential.
fn writable(kind: &str) -> &'static [&'static str] {
    match kind {
        "categories" => &["name", "parentId"],
        "labels" => &["name"],
        "notificationRules" => &["triggerEvent", "params", "callbackHandle", "includeDetails"],
        "tppCertificates" => &["label", "validFrom", "validUntil"],
        "tppCredentials" => &[
            "label",
            "tppAuthenticationGroupId",
            "validFrom",
            "validUntil",
        ],
        "accounts" => &[
            "accountName",
            "accountTypeId",
            "accountTypeName",
            "accountType",
        ],
        "bankConnections" => &["name"],
        "transactions" => &["isNew", "isPotentialDuplicate", "category", "labels"],
        _ => &[],
    }
}

fn is_credential(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    ["secret", "key", "pin", "password", "passphrase", "token"]
        .iter()
        .any(|w| k.contains(w))
}

/// The list field of a collection answer (`GET /bankConnections` answers `connections`).
pub fn list_key(kind: &str) -> &str {
    match kind {
        "bankConnections" => "connections",
        other => other,
    }
}

/// Every resource of `kind` the caller can reach, in id order per owner.
pub fn collect(ctx: &Ctx<'_>, state: &State, own: &Owner, kind: &str) -> Vec<Value> {
    collect_refs(ctx, state, own, kind)
        .into_iter()
        .map(Record::to_value)
        .collect()
}

/// [`collect`] without copying: list handlers filter and sort these, then clone one page.
pub fn collect_refs<'s>(
    ctx: &Ctx<'_>,
    state: &'s State,
    own: &Owner,
    kind: &str,
) -> Vec<&'s Record> {
    let key_kind = kind.to_string();
    let mut out = Vec::new();
    for o in reachable(ctx, state, own) {
        if let Some(r) = state.resources.get(&(o, key_kind.clone())) {
            out.extend(r.values());
        }
    }
    out
}

/// The id of the bank behind `account`: its bank connection's bank.
fn bank_of_account(state: &State, own: &Owner, account: &Value) -> Option<Value> {
    let connection = account["bankConnectionId"].as_u64()?;
    let record = state
        .resources
        .get(&(own.clone(), "bankConnections".to_string()))?
        .get(&connection)?;
    record
        .get("bankId")
        .or_else(|| record.get("bank").and_then(|b| b.get("id")))
        .cloned()
}

/// The record a create operation stores: the request's documented fields, shaped as finAPI
/// answers them; 404 when it names a parent or account the caller does not have.
fn new_record(
    ctx: &Ctx<'_>,
    state: &State,
    own: &Owner,
    kind: &str,
    body: Map<String, Value>,
) -> Result<Value, ApiError> {
    let version = ctx.op.version;
    let now = crate::sim::dates::moment(version, ctx.now);
    let pick = |keys: &[&str]| -> Map<String, Value> {
        body.iter()
            .filter(|(k, _)| keys.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    let account = |id: Option<&Value>| -> Result<Option<Value>, ApiError> {
        match id.and_then(Value::as_u64) {
            None => Ok(None),
            Some(id) => find(ctx, state, own, "accounts", id)
                .and_then(|o| {
                    state
                        .resources
                        .get(&(o, "accounts".to_string()))?
                        .get(&id)
                        .map(Record::to_value)
                })
                .map(Some)
                .ok_or_else(|| ApiError::not_found("Account")),
        }
    };
    let record = match kind {
        "categories" => {
            let mut r = pick(writable(kind));
            r.insert("isCustom".into(), Value::Bool(true));
            r.insert("children".into(), json!([]));
            if let Some(pid) = body.get("parentId").and_then(Value::as_u64) {
                let parent = find(ctx, state, own, kind, pid)
                    .and_then(|o| {
                        state
                            .resources
                            .get(&(o, kind.to_string()))?
                            .get(&pid)
                            .map(Record::to_value)
                    })
                    .ok_or_else(|| ApiError::not_found("Category"))?;
                r.insert("parentName".into(), parent["name"].clone());
            }
            Value::Object(r)
        }
        "payments" => {
            let acc = account(body.get("accountId"))?;
            let orders = ["moneyTransfers", "directDebits"]
                .iter()
                .find_map(|k| body.get(*k).and_then(Value::as_array))
                .cloned()
                .unwrap_or_default();
            let amount: f64 = orders
                .iter()
                .filter_map(|o| o.get("amount").and_then(Value::as_f64))
                .sum();
            let kind = if ctx.op.id == "createDirectDebit" {
                "DIRECT_DEBIT"
            } else {
                "MONEY_TRANSFER"
            };
            let mut r = json!({
                "type": kind,
                "amount": (amount * 100.0).round() / 100.0,
                "orderCount": orders.len().max(1),
                "status": "OPEN",
                "requestDate": now,
            });
            if let Some(a) = acc {
                r["accountId"] = a["id"].clone();
                r["iban"] = a["iban"].clone();
                if let Some(bank) = bank_of_account(state, own, &a) {
                    r["bankId"] = bank;
                }
            } else if let Some(iban) = body.get("iban").filter(|v| v.is_string()) {
                r["iban"] = iban.clone();
            }
            if let Some(d) = body.get("executionDate").filter(|v| v.is_string()) {
                r["instructedExecutionDate"] = d.clone();
            }
            r
        }
        "standingOrders" => {
            let acc = account(body.get("accountId"))?;
            let mut r = Value::Object(pick(&[
                "amount",
                "currency",
                "startDate",
                "endDate",
                "frequency",
            ]));
            r["status"] = Value::from("OPEN");
            r["requestDate"] = Value::from(now);
            if let Some(a) = acc {
                r["accountId"] = a["id"].clone();
                r["iban"] = a["iban"].clone();
                if let Some(bank) = bank_of_account(state, own, &a) {
                    r["bankId"] = bank;
                }
            }
            r
        }
        "tppCertificates" => {
            let mut r = pick(writable(kind));
            if let Some(t) = body.get("type") {
                r.insert("certificateType".into(), t.clone());
            }
            Value::Object(r)
        }
        k if !writable(k).is_empty() => Value::Object(pick(writable(k))),
        _ => Value::Object(
            body.into_iter()
                .filter(|(k, _)| !is_credential(k))
                .collect(),
        ),
    };
    Ok(record)
}

pub fn generic(ctx: &Ctx<'_>, state: &mut State, caller: &Caller) -> Handled {
    let segs = segments(&ctx.op.path);
    let kind = segs.first().copied().unwrap_or_default();
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
            let (page, per_page) = paging(query)?;
            let items = id_filtered(ctx, collect(ctx, state, &own, kind))?;
            let (items, paging) = page_of(items, page, per_page);
            Ok(Reply::Json(
                200,
                json!({ list_key(kind): items, "paging": paging }),
            ))
        }
        ("POST", _, None) if ctx.op.id.starts_with("create") => {
            let body = ctx.json_required()?;
            let record = new_record(ctx, state, &own, kind, body)?;
            let id = state.insert_resource(own.clone(), kind, record);
            let created = state.resources[&(own, kind.to_string())][&id].to_value();
            Ok(Reply::Json(ctx.op.success, created))
        }
        ("DELETE", 1, None) => {
            let removed: Vec<u64> = state
                .resources
                .remove(&(own, kind.to_string()))
                .map(|r| r.keys().copied().collect())
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
                    let key = (o, kind.to_string());
                    let Some(p) = &patch else {
                        // A read leaves the collection shared.
                        found.push(state.resources[&key][&id].clone());
                        continue;
                    };
                    let item = state
                        .existing_collection_mut(&key)
                        .and_then(|r| r.get_mut(&id))
                        .expect("found");
                    merge(ctx, kind, item, p.clone());
                    found.push(item.clone());
                }
            }
            if method == "PATCH" {
                let ids: Vec<Value> = found.iter().filter_map(|v| v.get("id").cloned()).collect();
                return Ok(Reply::Json(200, json!({ "identifiers": ids })));
            }
            Ok(Reply::Json(200, json!({ list_key(kind): found })))
        }
        (_, 2, Some(_)) => {
            let id = parse_id(ctx.param(id_param.unwrap_or("id")))?;
            let patch = if method == "PATCH" {
                Some(ctx.json()?.unwrap_or_default())
            } else {
                None
            };
            let o = find(ctx, state, &own, kind, id).ok_or_else(|| not_found(kind))?;
            let key = (o, kind.to_string());
            if !matches!(method, "DELETE" | "PATCH") {
                // A read leaves the collection shared.
                return Ok(Reply::Json(200, state.resources[&key][&id].to_value()));
            }
            if method == "DELETE" {
                let store = state.existing_collection_mut(&key).expect("found");
                store.remove(&id);
                return Ok(Reply::Empty(200));
            }
            let mut patch = patch.unwrap_or_default();
            if kind == "transactions" {
                let owner = key.0.clone();
                patch = transaction_refs(state, &owner, patch)?;
            }
            let store = state.existing_collection_mut(&key).expect("found");
            let item = store.get_mut(&id).expect("found");
            merge(ctx, kind, item, patch);
            Ok(Reply::Json(200, item.to_value()))
        }
        // Sub-resource or action of one resource: /kind/{id}/action
        (_, 3, Some(p)) => {
            let id = parse_id(ctx.param(p))?;
            let o = find(ctx, state, &own, kind, id).ok_or_else(|| not_found(kind))?;
            if method == "POST" {
                ctx.json()?;
            }
            match (method, last) {
                // Consent removal answers what happened locally and at the bank.
                ("DELETE", "aisConsent") => Ok(Reply::Json(
                    200,
                    json!({ "local": "DELETED", "remote": "DELETED" }),
                )),
                ("DELETE", _) => Ok(Reply::Empty(200)),
                // restore, split: the transaction as it is now.
                _ => Ok(Reply::Json(
                    ctx.op.success,
                    state.resources[&(o, kind.to_string())][&id].to_value(),
                )),
            }
        }
        // Reports and searches: GET /kind/something
        ("GET", _, None) => {
            let query = ctx.query()?;
            let (page, per_page) = paging(query)?;
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
