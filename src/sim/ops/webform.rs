//! Web Form 2.0: web forms, background-update tasks, profiles and translations, the form's own
//! page (the finAPI Test Bank's login, no JavaScript needed), completion and callbacks.
//!
//! Web forms and tasks belong to the user whose token created them; profiles and translations
//! to the mandator whose admin client created them. A web form starts `NOT_YET_OPENED`, is
//! `IN_PROGRESS` once its page is opened, and ends `COMPLETED`, `COMPLETED_WITH_ERROR`,
//! `ABORTED` or `EXPIRED` (its lifetime, 20 minutes unless set, runs on the simulator's clock).
//! [`complete`] is the one place a form ends, whichever way it is asked to (its page, the
//! control API, [`crate::mock::FinapiMock::complete_web_form`]).

use std::collections::BTreeMap;
use std::io::Write;
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration as StdDuration;

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use crate::faults::Violation;
use crate::sim::dates::{moment, webform_moment};
use crate::sim::error::ApiError;
use crate::sim::form::{parse_form, single};
use crate::sim::message::Callback;
use crate::sim::message::{Handled, Reply};
use crate::sim::ops::ctx::{Caller, Ctx};
use crate::sim::ops::paging::page_of;
use crate::sim::random::random_uuid;
use crate::sim::state::webforms::{Custom, Form, Task, WebForms, FINAL_STATUSES};
use crate::sim::state::{MandatorIx, Owner, State};

/// The path under which a web form's page is served: `/webForm/{id}`.
pub const PAGE_PREFIX: &str = "/webForm/";

/// The finAPI Test Bank's PIN; any user id logs in with it.
pub const TEST_BANK_PIN: &str = "123456";

/// The web form type an operation creates.
fn form_kind(op_id: &str) -> Option<&'static str> {
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

/// Route a Web Form 2.0 operation to its handler.
pub fn dispatch(ctx: &Ctx<'_>, state: &mut State, caller: &Caller) -> Handled {
    expire(state, ctx.now);
    match ctx.op.id.as_str() {
        id if form_kind(id).is_some() => create(ctx, state, caller),
        "getWebForms" => list_forms(ctx, state, caller),
        "getWebForm" => get_form(ctx, state, caller),
        "deleteWebForm" => delete_form(ctx, state, caller),
        "createBankConnectionUpdateTask" => create_task(ctx, state, caller),
        "getTasks" => list_tasks(ctx, state, caller),
        "getTask" => get_task(ctx, state, caller),
        "getProfiles" | "getTranslations" => list_custom(ctx, state, caller),
        "createProfile" | "createTranslation" => create_custom(ctx, state, caller),
        "getProfile" | "getTranslation" => get_custom(ctx, state, caller),
        "editProfile" => edit_profile(ctx, state, caller),
        "deleteProfile" | "deleteTranslation" => delete_custom(ctx, state, caller),
        other => Err(ApiError::new(
            404,
            "NOT_FOUND",
            format!("{other} has no handler"),
        )),
    }
}

/// The user a web form or task call acts for.
fn user_of(caller: &Caller) -> Result<(MandatorIx, String), ApiError> {
    let user = caller
        .user
        .clone()
        .ok_or_else(|| ApiError::forbidden("a user's access token is required"))?;
    Ok((caller.mandator, user))
}

/// `page` and `perPage` as Web Form 2.0 reads them (1-based page; perPage 1..=500, 20 unless
/// given); a bad value is a 400 naming the field.
fn paging(ctx: &Ctx<'_>) -> Result<(usize, usize), ApiError> {
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

fn page(items: Vec<Value>, ctx: &Ctx<'_>) -> Handled {
    let (page, per_page) = paging(ctx)?;
    let (items, paging) = page_of(items, page, per_page);
    Ok(Reply::Json(
        200,
        json!({ "items": items, "paging": paging }),
    ))
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

fn task_value(task: &Task, forms: &WebForms) -> Value {
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

/// `http://host` of the request, for the form's URL (the front door's own address).
fn base_url(ctx: &Ctx<'_>) -> String {
    let host = ctx
        .req
        .headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        })
        .unwrap_or("localhost");
    format!("http://{host}")
}

/// The user's bank connection `id`, if it exists.
fn has_connection(state: &State, m: MandatorIx, user: &str, id: u64) -> bool {
    state
        .resources
        .get(&(
            Owner::User(m, user.to_string()),
            "bankConnections".to_string(),
        ))
        .is_some_and(|c| c.contains_key(&id))
}

/// `POST /api/webForms/{type}`: a new web form for the caller's user.
fn create(ctx: &Ctx<'_>, state: &mut State, caller: &Caller) -> Handled {
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

fn list_forms(ctx: &Ctx<'_>, state: &mut State, caller: &Caller) -> Handled {
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

fn not_found(what: &str, id: &str) -> ApiError {
    ApiError::new(404, "NOT_FOUND", format!("{what} {id} not found"))
}

fn get_form(ctx: &Ctx<'_>, state: &mut State, caller: &Caller) -> Handled {
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

fn delete_form(ctx: &Ctx<'_>, state: &mut State, caller: &Caller) -> Handled {
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

/// `POST /api/tasks/backgroundUpdate`: the test bank updates at once, so the task is
/// `COMPLETED` when it is answered and its callback is on its way.
fn create_task(ctx: &Ctx<'_>, state: &mut State, caller: &Caller) -> Handled {
    let (m, user) = user_of(caller)?;
    let details = ctx.json()?.unwrap_or_default();
    let id = details
        .get("bankConnectionId")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    if !has_connection(state, m, &user, id) {
        return Err(not_found("bank connection", &id.to_string()));
    }
    let at = moment(ctx.op.version, ctx.now);
    if let Some(r) = state
        .existing_collection_mut(&(Owner::User(m, user.clone()), "bankConnections".to_string()))
        .and_then(|c| c.get_mut(&id))
    {
        r["lastAutoUpdate"] = json!({ "result": "OK", "timestamp": at });
    }
    let task = Task {
        id: random_uuid(),
        mandator: m,
        user,
        status: "COMPLETED",
        created: ctx.now,
        bank_connection: id,
        callback: details
            .get("callbacks")
            .and_then(|c| c.get("finalised"))
            .and_then(Value::as_str)
            .map(str::to_string),
    };
    if let Some(url) = &task.callback {
        let body = json!({ "taskId": task.id, "status": task.status }).to_string();
        send_callback(&mut state.webform, url, body);
    }
    let value = task_value(&task, &state.webform);
    state.webform.tasks.insert(task.id.clone(), task);
    Ok(Reply::Json(ctx.op.success, value))
}

fn list_tasks(ctx: &Ctx<'_>, state: &mut State, caller: &Caller) -> Handled {
    let (m, user) = user_of(caller)?;
    let items = state
        .webform
        .tasks
        .values()
        .filter(|t| t.mandator == m && t.user == user)
        .map(|t| task_value(t, &state.webform))
        .collect();
    page(items, ctx)
}

fn get_task(ctx: &Ctx<'_>, state: &mut State, caller: &Caller) -> Handled {
    let (m, user) = user_of(caller)?;
    let id = ctx.param("id");
    let task = state
        .webform
        .tasks
        .get(id)
        .filter(|t| t.mandator == m && t.user == user)
        .ok_or_else(|| not_found("task", id))?;
    Ok(Reply::Json(200, task_value(task, &state.webform)))
}

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

fn list_custom(ctx: &Ctx<'_>, state: &mut State, caller: &Caller) -> Handled {
    let (store, _) = customs(&ctx.op.id, state);
    let items = store
        .values()
        .filter(|c| c.mandator == caller.mandator)
        .map(|c| c.value.clone())
        .collect();
    page(items, ctx)
}

fn create_custom(ctx: &Ctx<'_>, state: &mut State, caller: &Caller) -> Handled {
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

fn get_custom(ctx: &Ctx<'_>, state: &mut State, caller: &Caller) -> Handled {
    let id = ctx.param("id");
    let (store, what) = customs(&ctx.op.id, state);
    let found = store
        .get(id)
        .filter(|c| c.mandator == caller.mandator)
        .ok_or_else(|| not_found(what, id))?;
    Ok(Reply::Json(200, found.value.clone()))
}

fn edit_profile(ctx: &Ctx<'_>, state: &mut State, caller: &Caller) -> Handled {
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

fn delete_custom(ctx: &Ctx<'_>, state: &mut State, caller: &Caller) -> Handled {
    let id = ctx.param("id");
    let (store, what) = customs(&ctx.op.id, state);
    if store.get(id).is_none_or(|c| c.mandator != caller.mandator) {
        return Err(not_found(what, id));
    }
    store.remove(id);
    Ok(Reply::Empty(200))
}

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
        send_callback(&mut state.webform, &url, body);
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

/// An `http(s)://host[:port]/path?query` URL taken apart: host, port, path and query.
fn split_url(url: &str) -> Result<(String, u16, String), String> {
    let (scheme, rest) = url.split_once("://").ok_or("not an absolute URL")?;
    let default_port = match scheme.to_ascii_lowercase().as_str() {
        "http" => 80,
        "https" => 443,
        other => return Err(format!("unsupported scheme {other}")),
    };
    let (authority, path) = match rest.find(['/', '?']) {
        Some(at) => (&rest[..at], rest[at..].to_string()),
        None => (rest, "/".to_string()),
    };
    let path = if path.starts_with('?') {
        format!("/{path}")
    } else {
        path
    };
    let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (h, after) = v6.split_once(']').ok_or("bad IPv6 host")?;
        (h.to_string(), after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), Some(p)),
            None => (authority.to_string(), None),
        }
    };
    let port = match port {
        None => default_port,
        Some(p) => p.parse().map_err(|_| format!("bad port {p}"))?,
    };
    if host.is_empty() || path.contains(['\r', '\n', ' ']) {
        return Err("bad host or path".into());
    }
    Ok((host, port, path))
}

/// Whether a callback may go to `url`: loopback hosts always, others only when allowed.
pub fn callback_allowed(forms: &WebForms, url: &str) -> Result<SocketAddr, String> {
    let (host, port, _) = split_url(url)?;
    let host_bare = host.as_str();
    let loopback = host_bare
        .parse::<IpAddr>()
        .map(|ip| ip.is_loopback())
        .unwrap_or(host_bare.eq_ignore_ascii_case("localhost"));
    if !loopback
        && !forms
            .callback_hosts
            .iter()
            .any(|h| h.eq_ignore_ascii_case(&host))
    {
        return Err(format!(
            "callback host {host} is not loopback and not allowed (allow it explicitly)"
        ));
    }
    (host_bare, port)
        .to_socket_addrs()
        .map_err(|e| e.to_string())?
        .next()
        .ok_or_else(|| format!("{host} does not resolve"))
}

/// Send a callback in the background (the mock has no TLS: an `https` callback goes out as
/// plain HTTP/1.1 to the same host and port). Recorded in [`WebForms::callbacks`].
fn send_callback(forms: &mut WebForms, url: &str, body: String) {
    let callback = Callback {
        url: url.to_string(),
        body: body.clone(),
    };
    let target = callback_allowed(forms, url);
    let outcome = target.as_ref().map(|_| ()).map_err(Clone::clone);
    if let Err(reason) = &outcome {
        tracing::warn!(reason = %reason, "web form callback refused");
    }
    forms.callbacks.push((callback, outcome));
    let Ok(addr) = target else { return };
    let Ok((host, _, path)) = split_url(url) else {
        return;
    };
    std::thread::spawn(move || {
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let sent =
            TcpStream::connect_timeout(&addr, StdDuration::from_secs(5)).and_then(|mut s| {
                s.set_write_timeout(Some(StdDuration::from_secs(5)))?;
                s.set_read_timeout(Some(StdDuration::from_secs(5)))?;
                s.write_all(request.as_bytes())?;
                // Wait for the receiver's answer (or its close), so it sees the whole request.
                let mut buf = [0u8; 256];
                let _ = std::io::Read::read(&mut s, &mut buf);
                Ok(())
            });
        if let Err(e) = sent {
            tracing::warn!(error = %e, "web form callback could not be delivered");
        }
    });
}

/// A web form's page, `GET` or `POST /webForm/{id}`: the finAPI Test Bank's login. Opening it
/// moves the form to `IN_PROGRESS`; the right PIN completes it, the abort button aborts it, a
/// wrong PIN shows an error and leaves it open. Plain HTML forms, no JavaScript.
pub fn page_answer(
    state: &mut State,
    method: &http::Method,
    id: &str,
    body: &[u8],
    now: DateTime<Utc>,
) -> (u16, String) {
    expire(state, now);
    let Some(form) = state.webform.forms.get(id) else {
        return (
            404,
            html("Web form not found", "<p>There is no such web form.</p>"),
        );
    };
    if FINAL_STATUSES.contains(&form.status) {
        let text = format!(
            "<p id=\"status\" data-status=\"{0}\">This web form is {0}.</p>",
            form.status
        );
        return (200, html("Web form finished", &text));
    }
    let mut error = "";
    if method == http::Method::POST {
        let form_body = parse_form(body).unwrap_or_default();
        let field = |k: &str| {
            single(&form_body, k)
                .ok()
                .flatten()
                .unwrap_or("")
                .to_string()
        };
        if field("action") == "abort" {
            let _ = complete(state, id, "ABORTED", now);
            return page_answer(state, &http::Method::GET, id, b"", now);
        }
        if !field("username").trim().is_empty() && field("pin") == TEST_BANK_PIN {
            let _ = complete(state, id, "COMPLETED", now);
            return page_answer(state, &http::Method::GET, id, b"", now);
        }
        error = "<p id=\"error\" class=\"error\">Login failed: wrong user id or PIN.</p>";
    }
    let form = state.webform.forms.get_mut(id).expect("found above");
    form.status = "IN_PROGRESS";
    let body = format!(
        "<h1>finAPI Test Bank</h1>\n<p id=\"status\" data-status=\"IN_PROGRESS\">{kind}</p>\n{error}\n\
<form method=\"post\" action=\"{PAGE_PREFIX}{id}\">\n\
<label>User id <input name=\"username\" autocomplete=\"username\"></label>\n\
<label>PIN <input name=\"pin\" type=\"password\" autocomplete=\"current-password\"></label>\n\
<button name=\"action\" value=\"login\" type=\"submit\">Log in</button>\n\
<button name=\"action\" value=\"abort\" type=\"submit\">Abort</button>\n</form>\n\
<p class=\"hint\">Any user id and the PIN {TEST_BANK_PIN} log in.</p>",
        kind = form.kind,
    );
    (200, html("finAPI Web Form", &body))
}

fn html(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title></head>\n<body>\n{body}\n</body></html>\n"
    )
}

/// The Web Form 2.0 error body for `status`: `ValidationError` for 400 (naming the field the
/// message names between backticks), else `Error` with Web Form's codes.
pub fn error_body(status: u16, err: &ApiError, endpoint: &str, now: DateTime<Utc>) -> Value {
    let (code, message) = match err {
        ApiError::Unauthenticated { description, .. } => ("UNAUTHORIZED", description.clone()),
        ApiError::Message { code, message, .. } => (*code, message.clone()),
    };
    if status == 400 {
        let field = message
            .split('`')
            .nth(1)
            .filter(|f| !f.is_empty())
            .unwrap_or("body")
            .to_string();
        return json!({
            "errors": [{ "field": field, "message": message }],
            "endpoint": endpoint,
            "timestamp": webform_moment(now),
        });
    }
    const CODES: [&str; 13] = [
        "UNAUTHORIZED",
        "FORBIDDEN",
        "NOT_FOUND",
        "NOT_ALLOWED",
        "BANK_NOT_SUPPORTED",
        "BANK_NOT_UNIQUE",
        "ENTITY_EXISTS",
        "MANDATOR_MISCONFIGURATION",
        "NOT_SUPPORTED",
        "PAYMENT_NOT_SUPPORTED",
        "INVALID_REDIRECT_URL",
        "LOCKED",
        "INTERNAL_SERVER_ERROR",
    ];
    let code = if CODES.contains(&code) {
        code
    } else {
        match status {
            401 => "UNAUTHORIZED",
            403 => "FORBIDDEN",
            404 => "NOT_FOUND",
            423 => "LOCKED",
            415 => "NOT_SUPPORTED",
            s if s >= 500 => "INTERNAL_SERVER_ERROR",
            _ => "NOT_ALLOWED",
        }
    };
    json!({
        "code": code,
        "description": message,
        "endpoint": endpoint,
        "timestamp": webform_moment(now),
    })
}

/// The path of the embeddable script finAPI's loader (`@finapi/web-form`) fetches:
/// `/finapi-webform2.js?t=..&token=<web form id>&tagname=<custom element name>`.
pub const SCRIPT_PATH: &str = "/finapi-webform2.js";

/// `/webForm/{id}/status.js?callback=NAME`: the form's status as JSONP, so the embedded
/// element can follow it from any origin without CORS.
pub const STATUS_SUFFIX: &str = "/status.js";

/// A query parameter of the script request, if it is made of `allowed` characters only.
fn query_value(query: Option<&str>, key: &str, allowed: impl Fn(char) -> bool) -> Option<String> {
    let pairs = parse_form(query.unwrap_or("").as_bytes())?;
    let value = single(&pairs, key).ok().flatten()?;
    (!value.is_empty() && value.len() <= 100 && value.chars().all(allowed)).then(|| value.into())
}

/// The embeddable script: it defines the custom element `tagname`, which shows the web form's
/// page in an iframe, fires `loaded` once it is shown, and `complete`, `fail` (with the status
/// as detail) or `abort` once the form ends by any route (polled every half second).
/// `(status, body)`; 400 with a JavaScript comment when `tagname` or `token` is unusable.
pub fn script_answer(query: Option<&str>, base: &str) -> (u16, String) {
    let tag = query_value(query, "tagname", |c| {
        c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'
    })
    .filter(|t| t.contains('-') && t.starts_with(|c: char| c.is_ascii_lowercase()));
    let token = query_value(query, "token", |c| c.is_ascii_hexdigit() || c == '-');
    let (Some(tag), Some(token)) = (tag, token) else {
        return (
            400,
            "/* finapi-webform2.js needs `tagname` (a custom element name) and `token` (a web form id) */\n"
                .into(),
        );
    };
    let script = r#"(function () {
  var BASE = "__BASE__", TOKEN = "__TOKEN__", TAG = "__TAG__", seq = 0;
  function poll(el, id) {
    var name = "__finapiWebForm" + (++seq);
    var s = document.createElement("script");
    window[name] = function (answer) {
      delete window[name];
      s.remove();
      var st = answer && answer.status;
      if (st === "COMPLETED") { el.dispatchEvent(new CustomEvent("complete")); return; }
      if (st === "ABORTED") { el.dispatchEvent(new CustomEvent("abort")); return; }
      if (st === "COMPLETED_WITH_ERROR" || st === "EXPIRED") {
        el.dispatchEvent(new CustomEvent("fail", { detail: st })); return;
      }
      if (el.isConnected) { el._timer = setTimeout(function () { poll(el, id); }, 500); }
    };
    s.onerror = function () { if (el.isConnected) { el._timer = setTimeout(function () { poll(el, id); }, 500); } };
    s.src = BASE + "/webForm/" + encodeURIComponent(id) + "/status.js?callback=" + name;
    document.head.appendChild(s);
  }
  customElements.define(TAG, class extends HTMLElement {
    connectedCallback() {
      var el = this, id = (el.properties && el.properties.token) || el.token || TOKEN;
      var frame = document.createElement("iframe");
      frame.src = BASE + "/webForm/" + encodeURIComponent(id);
      frame.title = "finAPI Web Form";
      frame.style.width = "100%";
      frame.style.minHeight = "420px";
      frame.style.border = "0";
      frame.addEventListener("load", function once() {
        frame.removeEventListener("load", once);
        el.dispatchEvent(new CustomEvent("loaded"));
      });
      el.appendChild(frame);
      poll(el, id);
    }
    disconnectedCallback() { clearTimeout(this._timer); }
  });
})();
"#;
    (
        200,
        script
            .replace("__BASE__", base)
            .replace("__TOKEN__", &token)
            .replace("__TAG__", &tag),
    )
}

/// `/webForm/{id}/status.js?callback=NAME`: `NAME({"status": ...})` (`null` for an unknown
/// form). The id is the form's secret, as its URL is.
pub fn status_answer(
    state: &mut State,
    id: &str,
    query: Option<&str>,
    now: DateTime<Utc>,
) -> (u16, String) {
    expire(state, now);
    let Some(callback) = query_value(query, "callback", |c| {
        c.is_ascii_alphanumeric() || c == '_' || c == '$'
    }) else {
        return (
            400,
            "/* status.js needs `callback` (a JavaScript name) */\n".into(),
        );
    };
    let status = state
        .webform
        .forms
        .get(id)
        .map_or(Value::Null, |f| json!({ "status": f.status }));
    (200, format!("{callback}({status});\n"))
}
