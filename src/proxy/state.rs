//! Everything the proxy has seen so far (tokens and their holders, users' logins, the cells of
//! its matrix, the refusals waiting for a control, the upstream's time), and the items its
//! report lists apart from the matrix.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use serde::Serialize;

use super::clock::UpstreamClock;
use super::controls::Pending;
use super::tokens::{Holder, OwnToken, UserLogins};
use super::upstream::Presence;
use crate::model::Principal;
use crate::runner::redact::Redactor;
use crate::runner::CheckResult;

/// An app's own misuse, separate from finAPI's verdicts.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// `admin-token-on-user-service`, `client-token-on-user-service`, `secret-in-query` or
    /// `forbidden-call`.
    pub kind: &'static str,
    pub operation: String,
    pub caller: String,
    pub calls: usize,
    /// The first such request, redacted.
    pub example: String,
    pub detail: String,
}

/// An answer that does not conform to the documented shape of its operation and status.
#[derive(Debug, Clone, Serialize)]
pub struct ShapeDifference {
    pub operation: String,
    pub status: u16,
    /// JSON path (`$` when the whole answer differs).
    pub path: String,
    pub problem: String,
    pub answers: usize,
}

/// Which operations were replayed, as whom, and which were not, and why.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ReplayNote {
    pub operation: String,
    pub replays: usize,
    pub principals: BTreeSet<Principal>,
    /// Why it (or some principal) was not replayed, or a replay gave no verdict; empty when
    /// every principal was replayed and judged.
    pub not_replayed: BTreeSet<String>,
}

/// A token grant of the app's that was refused for what the session cannot tell apart from
/// the user's (or the app's) own state: wrong or unknown credentials, an unverified or locked
/// user, an expired or unknown refresh token. Not one of finAPI's verdicts (`inconclusive`).
#[derive(Debug, Clone, Serialize)]
pub struct LoginFailure {
    /// `getToken.password`, `getToken.refresh_token` or `getToken.client_credentials`.
    pub operation: String,
    /// The client it went through.
    pub client: Principal,
    /// The user (password grants), else empty.
    pub user: String,
    pub status: u16,
    /// Why the refusal is not judged: what it is taken for, and the control that is missing.
    pub reason: String,
    pub calls: usize,
}

/// The key of a [`LoginFailure`]: operation, client, user, status.
pub(crate) type LoginKey = (String, Principal, String, u16);

/// Everything the proxy has seen so far.
#[derive(Default)]
pub(crate) struct State {
    pub tokens: HashMap<String, Holder>,
    pub redactor: Redactor,
    pub cells: BTreeMap<(String, Principal), (CheckResult, usize)>,
    pub findings: BTreeMap<(&'static str, String, String), Finding>,
    pub shapes: BTreeMap<(String, u16, String, String), ShapeDifference>,
    pub replay_notes: BTreeMap<String, ReplayNote>,
    pub replayed: BTreeSet<(String, String, Principal)>,
    pub replays: usize,
    /// Liveness controls sent (a read with a refused token, to see whether it still works).
    pub controls: usize,
    pub calls: usize,
    pub unknown_callers: usize,
    pub not_in_catalogue: usize,
    /// The client tokens the proxy obtained itself for replays.
    pub own_tokens: HashMap<Principal, OwnToken>,
    /// Secrets already given to the redactor (each once: it scrubs every line with all).
    pub seen_secrets: HashSet<String>,
    /// Each client's last client_credentials token (token reuse).
    pub client_tokens: HashMap<Principal, String>,
    /// Per user: the credentials last shown good, and what was seen since.
    pub logins: UserLogins,
    /// Secret changes seen, per client (the proxy's credentials of it may be stale since).
    pub secret_changes: HashSet<Principal>,
    /// The app's refused grants not judged, by key.
    pub login_failures: BTreeMap<LoginKey, LoginFailure>,
    /// Refusals of a token the proxy saw alive, waiting for the upstream to show the token
    /// alive (then they are violations), by token.
    pub pending: HashMap<String, Vec<Pending>>,
    /// Liveness controls asked for and not sent yet: (token, the principal it stands for).
    pub wanted_controls: Vec<(String, Principal)>,
    /// The upstream's own time.
    pub clock: UpstreamClock,
    /// Whether the Web Form 2.0 service answers at its upstream.
    pub webform: Presence,
    /// Web Form 2.0 calls seen, and how many of them got a role verdict.
    pub webform_calls: usize,
    pub webform_judged: usize,
}

impl State {
    /// Remember a secret for scrubbing (once).
    pub fn secret(&mut self, s: &str) {
        if s.len() >= 4 && !self.seen_secrets.contains(s) {
            self.seen_secrets.insert(s.to_string());
            self.redactor.add(s.to_string());
        }
    }
}
