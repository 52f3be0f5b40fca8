//! The role guard every request passes: authenticate the bearer token, bind the API version,
//! check the caller kind against the catalogue row, check the client's feature gates; then
//! validate the request and hand it to its handler ([`crate::sim::ops::dispatch`]).
//!
//! The caller rules come from the catalogue (`Operation::callers`); this file only applies
//! them. The deliberate breaks of [`crate::faults`] that concern authentication and roles are
//! applied here too, each at the one place it bends.

use std::borrow::Cow;

use crate::faults::Violation;
use crate::journal::{CallerInfo, Served};
use crate::model::{CallerKind, Gate, Operation, Rule};
use crate::sim::error::ApiError;
use crate::sim::form::single;
use crate::sim::message::Handled;
use crate::sim::ops;
use crate::sim::ops::ctx::{Caller, Ctx};
use crate::sim::state::State;

/// Guard and handle one routed request. `served` learns who called and, when the guard
/// refuses, which rule refused.
pub fn run(
    ctx: &Ctx<'_>,
    state: &mut State,
    auth_context: &mut Option<String>,
    served: &mut Served,
) -> Handled {
    if ctx.op.is_token_endpoint() {
        let out = ops::oauth::token(ctx, state);
        token_caller(ctx, state, &out, served);
        return out;
    }
    let caller = match authenticate(ctx, state) {
        Ok(caller) => caller,
        Err(e) => {
            served.refused_by = Some(unauthenticated_rule(ctx, state));
            return Err(e);
        }
    };
    let out = guarded(ctx, state, &caller, &mut served.refused_by);
    // Only an error body shows the auth context, so only then is it built.
    if out.is_err() {
        *auth_context = Some(format!(
            "{}/{}",
            caller.client,
            caller.user.as_deref().unwrap_or("-")
        ));
    }
    // The journal records the authenticated caller (the strings move; only the mandator id
    // is copied), not the role a deliberate break may have bent it into.
    served.caller = Some(CallerInfo {
        kind: caller.kind,
        mandator: state
            .mandators
            .get(caller.mandator)
            .map(|m| m.id.clone())
            .unwrap_or_default(),
        client_id: caller.client,
        user_id: caller.user,
    });
    out
}

/// The checks after authentication, the request's validation ([`crate::sim::validate`]), and
/// the handler.
fn guarded(
    ctx: &Ctx<'_>,
    state: &mut State,
    caller: &Caller,
    refused_by: &mut Option<Rule>,
) -> Handled {
    let bound = state.mandators[caller.mandator].api_version;
    if ctx.op.version != bound && !ctx.faults.has(Violation::ApiVersionUnenforced) {
        *refused_by = Some(Rule::ApiVersionBinding);
        return Err(ApiError::forbidden(format!(
            "API version mismatch: this client is bound to API {}",
            bound.label()
        )));
    }
    if ctx.profile.is_some_and(|p| p.validate_first) {
        crate::sim::validate::check_before_role(ctx)?;
    }
    let caller = authorize(ctx, state, caller)
        .inspect_err(|_| *refused_by = Some(role_rule(ctx.op, caller.kind)))?;
    check_gate(ctx, state, &caller)?;
    crate::sim::validate::check_request(ctx)?;
    ops::dispatch(ctx, state, &caller)
}

/// The rule behind a 401: an expired token breaks the expiry rule, anything else (no token,
/// unknown, revoked, of a deleted user) the token requirement.
fn unauthenticated_rule(ctx: &Ctx<'_>, state: &State) -> Rule {
    let expired = ctx
        .req
        .headers
        .get(http::header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .and_then(|(_, t)| state.tokens.get(t.trim()))
        .is_some_and(|r| !r.revoked && r.expires_at.is_some_and(|t| ctx.now >= t));
    if expired {
        Rule::TokenExpiry
    } else {
        Rule::TokenRequired
    }
}

/// The rule a wrong caller kind breaks on `op`: the rule of the deliberate break that would
/// let it through (one source of truth with [`authorize`]), else the kind's own rule.
pub fn role_rule(op: &Operation, kind: CallerKind) -> Rule {
    let admin_op = op.callers.contains(CallerKind::MandatorAdmin) && !op.is_revoke();
    let app_op = op.callers.contains(CallerKind::AppClient);
    let user_op = op.callers.contains(CallerKind::User);
    let break_that_would_pass = match kind {
        CallerKind::AppClient if op.id == "getUserList" => Some(Violation::AppClientListsUsers),
        CallerKind::AppClient if op.id == "deleteUsers" => Some(Violation::AppClientDeletesUsers),
        CallerKind::AppClient if admin_op => Some(Violation::AppClientReachesAdminSections),
        CallerKind::AppClient if user_op => Some(Violation::ClientTokenReadsUserData),
        CallerKind::MandatorAdmin if user_op && op.is_webform() => {
            Some(Violation::AdminCreatesWebForms)
        }
        CallerKind::User if admin_op && op.is_webform() => Some(Violation::UserEditsProfiles),
        CallerKind::MandatorAdmin if app_op => Some(Violation::AdminReachesClientServices),
        CallerKind::MandatorAdmin if user_op => Some(Violation::AdminReadsUserData),
        CallerKind::User if app_op => Some(Violation::UserTokenReachesClientServices),
        CallerKind::User if admin_op => Some(Violation::UserTokenReachesAdmin),
        _ => None,
    };
    break_that_would_pass.map_or(
        match kind {
            CallerKind::AppClient => Rule::AppClientServices,
            CallerKind::MandatorAdmin => Rule::AdminSectionsOnly,
            CallerKind::User | CallerKind::None => Rule::UserScope,
        },
        Violation::rule,
    )
}

/// For the token endpoint: the authenticating client (and the username of a password grant)
/// as the caller, and the rule behind a refusal the handler made. Only on the token endpoint,
/// and only reading the form's ids, never a secret.
fn token_caller(ctx: &Ctx<'_>, state: &State, out: &Handled, served: &mut Served) {
    let Ok(form) = ctx.oauth_params() else {
        return;
    };
    let field = |k: &str| single(form, k).ok().flatten();
    let client = field("client_id").and_then(|id| state.clients.get(id));
    let grant = field("grant_type");
    if let Some(client) = client {
        served.caller = Some(CallerInfo {
            kind: client.kind,
            client_id: client.id.clone(),
            user_id: field("username")
                .filter(|_| grant == Some("password"))
                .map(str::to_ascii_lowercase),
            mandator: state
                .mandators
                .get(client.mandator)
                .map(|m| m.id.clone())
                .unwrap_or_default(),
        });
    }
    let Err(ApiError::Message {
        status,
        code,
        message,
        ..
    }) = out
    else {
        return;
    };
    served.refused_by = match (*status, *code) {
        (423, _) => Some(Rule::Lockout),
        (403, "USER_NOT_VERIFIED") => Some(Rule::Verification),
        (403, _) if message.starts_with("API version mismatch") => Some(Rule::ApiVersionBinding),
        (403, _) if grant != Some("client_credentials") => Some(Rule::UserTokensViaAppClients),
        _ => None,
    };
}

/// Resolve the bearer token to a caller, or 401.
pub fn authenticate(ctx: &Ctx<'_>, state: &State) -> Result<Caller, ApiError> {
    let header = match ctx.req.headers.get(http::header::AUTHORIZATION) {
        None => {
            return impersonate_first_app_client(ctx, state, Violation::NoTokenAccepted)
                .ok_or_else(ApiError::missing_token)
        }
        Some(h) => h,
    };
    let token = header
        .to_str()
        .ok()
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim())
        .filter(|t| !t.is_empty() && t.len() <= 8192);
    let Some(token) = token else {
        return Err(ApiError::invalid_token());
    };
    let Some(record) = state.tokens.get(token) else {
        return impersonate_first_app_client(ctx, state, Violation::UnknownTokenAccepted)
            .ok_or_else(ApiError::invalid_token);
    };
    if record.revoked && !ctx.faults.has(Violation::RevokedTokenAccepted) {
        return Err(ApiError::invalid_token());
    }
    let expired = record.expires_at.is_some_and(|t| ctx.now >= t);
    if expired && !ctx.faults.has(Violation::ExpiredTokenAccepted) {
        return Err(ApiError::invalid_token());
    }
    let client = state
        .clients
        .get(&record.client)
        .ok_or_else(ApiError::invalid_token)?;
    if let Some(user) = &record.user {
        // A deleted user's tokens die with the user.
        state
            .user(record.mandator, user)
            .ok_or_else(ApiError::invalid_token)?;
    }
    Ok(Caller {
        mandator: record.mandator,
        client: record.client.clone(),
        kind: if record.user.is_some() {
            CallerKind::User
        } else {
            client.kind
        },
        user: record.user.clone(),
    })
}

fn impersonate_first_app_client(ctx: &Ctx<'_>, state: &State, fault: Violation) -> Option<Caller> {
    if !ctx.faults.has(fault) {
        return None;
    }
    let mandator = state
        .mandators
        .iter()
        .position(|m| m.api_version == ctx.op.version)
        .unwrap_or(0);
    let client = state.first_app_client(mandator)?;
    Some(Caller {
        mandator,
        client: client.id.clone(),
        kind: CallerKind::AppClient,
        user: None,
    })
}

/// Check the caller kind against the catalogue row, or 403. The caller comes back unchanged
/// (borrowed) unless a deliberate break bends it into another.
pub fn authorize<'c>(
    ctx: &Ctx<'_>,
    state: &State,
    caller: &'c Caller,
) -> Result<Cow<'c, Caller>, ApiError> {
    let op = ctx.op;
    if op.callers.contains(caller.kind) {
        return Ok(Cow::Borrowed(caller));
    }
    let caller = caller.clone();
    let f = ctx.faults;
    let admin_op = op.callers.contains(CallerKind::MandatorAdmin) && !op.is_revoke();
    let app_op = op.callers.contains(CallerKind::AppClient);
    let user_op = op.callers.contains(CallerKind::User);
    let kind = caller.kind;
    let bent = match caller.kind {
        CallerKind::AppClient
            if op.id == "getUserList" && f.has(Violation::AppClientListsUsers) =>
        {
            Some(caller)
        }
        CallerKind::AppClient
            if op.id == "deleteUsers" && f.has(Violation::AppClientDeletesUsers) =>
        {
            Some(caller)
        }
        CallerKind::AppClient if admin_op && f.has(Violation::AppClientReachesAdminSections) => {
            Some(caller)
        }
        CallerKind::AppClient if user_op && f.has(Violation::ClientTokenReadsUserData) => {
            as_first_user(state, caller)
        }
        CallerKind::MandatorAdmin
            if user_op && op.is_webform() && f.has(Violation::AdminCreatesWebForms) =>
        {
            as_first_user(state, caller)
        }
        CallerKind::User if admin_op && op.is_webform() && f.has(Violation::UserEditsProfiles) => {
            Some(Caller {
                kind: CallerKind::MandatorAdmin,
                user: None,
                ..caller
            })
        }
        CallerKind::MandatorAdmin if app_op && f.has(Violation::AdminReachesClientServices) => {
            Some(caller)
        }
        CallerKind::MandatorAdmin
            if user_op && !op.is_webform() && f.has(Violation::AdminReadsUserData) =>
        {
            as_first_user(state, caller)
        }
        CallerKind::User if app_op && f.has(Violation::UserTokenReachesClientServices) => {
            Some(Caller {
                kind: CallerKind::AppClient,
                user: None,
                ..caller
            })
        }
        CallerKind::User
            if admin_op && !op.is_webform() && f.has(Violation::UserTokenReachesAdmin) =>
        {
            Some(Caller {
                kind: CallerKind::MandatorAdmin,
                user: None,
                ..caller
            })
        }
        _ => None,
    };
    bent.map(Cow::Owned).ok_or_else(|| {
        ApiError::forbidden(format!(
            "{} token may not call {}",
            caller_name(kind),
            op.id
        ))
    })
}

/// The caller kind with its indefinite article, as the 403 message names it.
fn caller_name(kind: CallerKind) -> &'static str {
    match kind {
        CallerKind::AppClient => "an app client",
        CallerKind::MandatorAdmin => "a mandator admin client",
        CallerKind::User => "a user",
        CallerKind::None => "a missing",
    }
}

fn as_first_user(state: &State, caller: Caller) -> Option<Caller> {
    let user = state.users.get(caller.mandator)?.keys().next()?.clone();
    Some(Caller {
        kind: CallerKind::User,
        user: Some(user),
        ..caller
    })
}

/// Feature gates of the client configuration (PFM, payments, development mode).
fn check_gate(ctx: &Ctx<'_>, state: &State, caller: &Caller) -> Result<(), ApiError> {
    let Some(gate) = ctx.op.gate else {
        return Ok(());
    };
    let Some(client) = state.clients.get(&caller.client) else {
        return Ok(());
    };
    let s = &client.settings;
    let (on, name) = match gate {
        Gate::Pfm => (s.pfm_services_enabled, "PFM services"),
        Gate::Pis => (s.payments_enabled, "payment services"),
        Gate::Dev => (s.development_mode, "development mode"),
    };
    if on {
        Ok(())
    } else {
        Err(ApiError::new(
            403,
            "FORBIDDEN",
            format!("{name} are not enabled for this client"),
        ))
    }
}
