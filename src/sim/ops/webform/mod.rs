//! Web Form 2.0's API: web forms, background-update tasks, profiles and translations.
//!
//! Web forms and tasks belong to the user whose token created them; profiles and translations
//! to the mandator whose admin client created them. A web form starts `NOT_YET_OPENED`, is
//! `IN_PROGRESS` once its page is opened ([`crate::sim::pages`]), and ends `COMPLETED`,
//! `COMPLETED_WITH_ERROR`, `ABORTED` or `EXPIRED` (its lifetime, 20 minutes unless set, runs on
//! the simulator's clock) in [`completion::complete`], which queues its callback
//! ([`callbacks`]).

pub mod callbacks;
pub mod common;
pub mod completion;
pub mod customs;
pub mod forms;
pub mod tasks;

use crate::sim::error::ApiError;
use crate::sim::message::Handled;
use crate::sim::ops::ctx::{Caller, Ctx};
use crate::sim::ops::webform::completion::expire;
use crate::sim::ops::webform::customs::{
    create_custom, delete_custom, edit_profile, get_custom, list_custom,
};
use crate::sim::ops::webform::forms::{create, delete_form, form_kind, get_form, list_forms};
use crate::sim::ops::webform::tasks::{create_task, get_task, list_tasks};
use crate::sim::state::State;

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
