//! Operation handlers, one file per API area. Each handler runs after the guard and sees the
//! authenticated [`Caller`].
//!
//! To give an operation stateful behaviour, add a handler in the file of its area and a line to
//! [`dispatch`]; every operation without one is served by [`resources`], the generic
//! per-owner store.

pub mod accounts;
pub mod bank_connections;
pub mod banks;
pub mod client_config;
pub mod ctx;
pub mod mandator_admin;
pub mod oauth;
pub mod paging;
pub mod resources;
pub mod transactions;
pub mod users;
pub mod webform;

use crate::sim::message::Handled;
use crate::sim::ops::ctx::{Caller, Ctx};
use crate::sim::state::State;

/// Route an authorized and validated request to its handler.
pub fn dispatch(ctx: &Ctx<'_>, state: &mut State, caller: &Caller) -> Handled {
    if ctx.op.is_webform() {
        return webform::dispatch(ctx, state, caller);
    }
    match ctx.op.id.as_str() {
        "revokeToken" => oauth::revoke(ctx, state, caller),
        "createUser" => users::create(ctx, state, caller),
        "verifyUser" => users::verify(ctx, state, caller),
        "getVerificationStatus" => users::verification_status(ctx, state, caller),
        "deleteUnverifiedUser" => users::delete_unverified(ctx, state, caller),
        "requestPasswordChange" => users::request_password_change(ctx, state, caller),
        "executePasswordChange" => users::execute_password_change(ctx, state, caller),
        "getAuthorizedUser" => users::get_authorized(ctx, state, caller),
        "editAuthorizedUser" => users::edit_authorized(ctx, state, caller),
        "deleteAuthorizedUser" => users::delete_authorized(ctx, state, caller),
        "getClientConfiguration" => client_config::get(ctx, state, caller),
        "editClientConfiguration" => client_config::edit(ctx, state, caller),
        "getUserList" => mandator_admin::user_list(ctx, state, caller),
        "deleteUsers" => mandator_admin::delete_users(ctx, state, caller),
        "changeClientCredentials" => mandator_admin::change_client_credentials(ctx, state, caller),
        "switchApiVersion" => mandator_admin::switch_api_version(ctx, state, caller),
        "getIbanRuleList" | "getKeywordRuleList" => mandator_admin::list_rules(ctx, state, caller),
        "createIbanRules" | "createKeywordRules" => {
            mandator_admin::create_rules(ctx, state, caller)
        }
        "deleteIbanRules" | "deleteKeywordRules" => {
            mandator_admin::delete_rules(ctx, state, caller)
        }
        "getAndSearchAllBanks" => banks::list(ctx, state, caller),
        "getBank" => banks::get(ctx, state, caller),
        "getMultipleBanks" => banks::get_multiple(ctx, state, caller),
        "importBankConnection" => bank_connections::import(ctx, state, caller),
        "updateBankConnection" | "connectInterface" => {
            bank_connections::refresh(ctx, state, caller)
        }
        "removeInterface" => bank_connections::remove_interface(ctx, state, caller),
        "deleteBankConnection" => bank_connections::delete_one(ctx, state, caller),
        "deleteAllBankConnections" => bank_connections::delete_all(ctx, state, caller),
        "getAndSearchAllAccounts" => accounts::list(ctx, state, caller),
        "getDailyBalances" => accounts::daily_balances(ctx, state, caller),
        "deleteAccount" => accounts::delete_one(ctx, state, caller),
        "deleteAllAccounts" => accounts::delete_all(ctx, state, caller),
        "getAndSearchAllTransactions" => transactions::list(ctx, state, caller),
        "getCashFlows" => transactions::cash_flows(ctx, state, caller),
        "submitPayment" | "submitStandingOrder" => transactions::submit(ctx, state, caller),
        _ => resources::generic(ctx, state, caller),
    }
}
