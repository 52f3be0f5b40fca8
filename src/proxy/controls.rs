//! The controls behind verdicts on tokens. A refusal of a token the proxy saw alive (a 401
//! where the role model lets its holder through, a different client token while the first was
//! alive, a refused refresh) shows over-restriction only once the upstream shows the token
//! alive: a 2xx with it later, or a liveness control (with `--replay reads`: an inert read the
//! role model allows its holder, sent with the same token). Until then the refusal is
//! `inconclusive`; a control refused too says the token ended for a reason the proxy did not
//! see. Tokens do not come back to life, so a later 2xx proves the token was alive at the
//! refusal.

use super::state::{merge_cell, Pending, State};
use crate::model::{expect, ApiVersion, Catalogue, Operation, Outcome, Principal, Safety, Verdict};

/// Keep `pending` until `token` is shown alive or dead; with `control`, ask for a liveness
/// control as that principal (once per token).
pub(crate) fn defer(state: &mut State, token: &str, pending: Pending, control: Option<Principal>) {
    state
        .pending
        .entry(token.to_string())
        .or_default()
        .push(pending);
    if let Some(p) = control {
        if !state.wanted_controls.iter().any(|(t, _)| t == token) {
            state.wanted_controls.push((token.to_string(), p));
        }
    }
}

/// The upstream accepted `token` (`how`): the refusals of it that waited for this are
/// violations.
pub(crate) fn shown_alive(state: &mut State, token: &str, how: &str) {
    let Some(list) = state.pending.remove(token) else {
        return;
    };
    for p in list {
        let mut result = p.result;
        result.reason = format!(
            "{}; the upstream accepted the same token {how}, so it was alive",
            result.reason
        );
        merge_cell(state, result, 0);
        if let Some(key) = p.login {
            if let Some(f) = state.login_failures.get_mut(&key) {
                f.calls = f.calls.saturating_sub(1);
                if f.calls == 0 {
                    state.login_failures.remove(&key);
                }
            }
        }
    }
}

/// A liveness control with `token` got `status` (a 401): the refusals of it stay
/// inconclusive, and say why.
pub(crate) fn shown_dead(state: &mut State, token: &str, control: &str, status: u16) {
    let Some(list) = state.pending.remove(token) else {
        return;
    };
    let why = format!(
        "; a control read ({control}) with the same token got {status} too: the token ended for a reason the proxy did not see (a password change, a secret change, a lock, a revoke elsewhere)"
    );
    for p in list {
        let key = (p.result.operation.clone(), p.result.principal);
        if let Some(cell) = state.cells.get_mut(&key) {
            if cell.0.verdict == Verdict::Inconclusive && !cell.0.reason.contains(&why) {
                cell.0.reason.push_str(&why);
            }
        }
    }
}

/// The liveness control for a principal's token: an inert Access read without path
/// parameters that the role model lets it through (the shortest path, then the id). A user of
/// another mandator holds a user's rights in its own mandator.
pub(crate) fn control_op(
    catalogue: &Catalogue,
    version: ApiVersion,
    p: Principal,
) -> Option<&Operation> {
    let p = match p {
        Principal::OtherMandatorUser | Principal::OtherUser => Principal::User,
        p => p,
    };
    shortest_inert_read(catalogue, version, |o| {
        expect(o, p).outcome == Outcome::Allowed
    })
}

/// The shortest inert Access read without path parameters (then the first by id) that `keep`
/// accepts: what a control or an identifying read sends, so it names no resource and changes
/// nothing.
pub(crate) fn shortest_inert_read(
    catalogue: &Catalogue,
    version: ApiVersion,
    keep: impl Fn(&Operation) -> bool,
) -> Option<&Operation> {
    catalogue
        .operations(version)
        .filter(|o| {
            !o.is_webform()
                && !o.is_token_endpoint()
                && o.method == http::Method::GET
                && o.safety == Safety::Read
                && o.path_params().next().is_none()
                && keep(o)
        })
        .min_by(|a, b| a.path.len().cmp(&b.path.len()).then(a.id.cmp(&b.id)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_token_holder_has_a_control_read() {
        let catalogue = Catalogue::embedded();
        for p in [
            Principal::User,
            Principal::AppClient,
            Principal::SecondAppClient,
            Principal::AdminClient,
            Principal::OtherMandatorAppClient,
            Principal::OtherMandatorUser,
        ] {
            let op = control_op(catalogue, ApiVersion::V2, p)
                .unwrap_or_else(|| panic!("no control for {p}"));
            assert!(
                !op.is_webform() && op.safety == Safety::Read,
                "{p}: {}",
                op.id
            );
        }
    }
}
