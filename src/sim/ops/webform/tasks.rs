//! Background-update tasks: the test bank updates a connection at once, so a task is
//! `COMPLETED` when it is answered and its callback is queued.

use serde_json::{json, Value};

use crate::faults::Violation;
use crate::sim::dates::moment;
use crate::sim::message::{Handled, Reply};
use crate::sim::ops::ctx::{Caller, Ctx};
use crate::sim::ops::webform::callbacks;
use crate::sim::ops::webform::common::{
    has_connection, holder_of_connection, not_found, page, task_value, user_of,
};
use crate::sim::random::random_uuid;
use crate::sim::state::webforms::Task;
use crate::sim::state::{Owner, State};

/// `POST /api/tasks/backgroundUpdate`: the test bank updates at once, so the task is
/// `COMPLETED` when it is answered and its callback is on its way.
pub fn create_task(ctx: &Ctx<'_>, state: &mut State, caller: &Caller) -> Handled {
    let (m, user) = user_of(caller)?;
    let details = ctx.json()?.unwrap_or_default();
    let id = details
        .get("bankConnectionId")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    // The user whose connection it is: the caller's own, or, under the
    // `background-update-any-connection` break, any user's of the mandator.
    let holder = if has_connection(state, m, &user, id) {
        Some(user.clone())
    } else if ctx.faults.has(Violation::BackgroundUpdateAnyConnection) {
        holder_of_connection(state, m, id)
    } else {
        None
    };
    let Some(holder) = holder else {
        return Err(not_found("bank connection", &id.to_string()));
    };
    let at = moment(ctx.op.version, ctx.now);
    if let Some(r) = state
        .existing_collection_mut(&(Owner::User(m, holder), "bankConnections".to_string()))
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
        callbacks::queue(&mut state.webform, url, body);
    }
    let value = task_value(&task, &state.webform);
    state.webform.tasks.insert(task.id.clone(), task);
    Ok(Reply::Json(ctx.op.success, value))
}

pub fn list_tasks(ctx: &Ctx<'_>, state: &mut State, caller: &Caller) -> Handled {
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

pub fn get_task(ctx: &Ctx<'_>, state: &mut State, caller: &Caller) -> Handled {
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
