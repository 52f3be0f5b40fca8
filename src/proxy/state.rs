//! Everything the proxy has seen so far (tokens and their holders, the credentials shown good,
//! the cells of its matrix and how a judged request goes into its cell, the refusals waiting
//! for a control, the upstream's time), and the items its report lists apart from the matrix.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use serde::Serialize;

use chrono::{DateTime, Utc};

use super::clock::UpstreamClock;
use super::deferred::Waiting;
use super::upstream::Presence;
use crate::model::{Expectation, Judgement, Operation, Principal, Verdict};
use crate::runner::http::{HttpRequest, HttpResponse};
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

/// How the callers of the app's calls were identified: from the token traffic the proxy saw,
/// by a probe with the token itself, or not at all (with why).
#[derive(Debug, Clone, Serialize)]
pub struct CallerNote {
    /// `user alice`, `app-client`, or `unknown`.
    pub caller: String,
    pub how: String,
    pub calls: usize,
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
    /// Tokens the proxy never saw issued and could not identify, with why.
    pub unknown_tokens: HashMap<String, String>,
    /// Identifying reads sent (with tokens the proxy never saw issued).
    pub identify_reads: usize,
    /// How each caller was identified, by (caller, how).
    pub callers: BTreeMap<(String, String), CallerNote>,
    /// Reads waiting for a principal the proxy holds no token for yet.
    pub waiting: Waiting,
}

impl State {
    /// One call of the app's with a bearer `token`: count it under its caller and how the
    /// caller was identified (`unknown`: why not, `unidentified` when no attempt says why).
    pub fn note_caller(&mut self, token: &str, unidentified: &str) {
        let (caller, how) = match self.tokens.get(token) {
            Some(h) => (
                match &h.user {
                    Some(u) => format!("{} {u}", h.principal),
                    None => h.principal.name().to_string(),
                },
                h.how.clone(),
            ),
            None => (
                "unknown".to_string(),
                self.unknown_tokens
                    .get(token)
                    .cloned()
                    .unwrap_or_else(|| unidentified.to_string()),
            ),
        };
        self.callers
            .entry((caller.clone(), how.clone()))
            .or_insert(CallerNote {
                caller,
                how,
                calls: 0,
            })
            .calls += 1;
    }

    /// Remember a secret for scrubbing (once).
    pub fn secret(&mut self, s: &str) {
        if s.len() >= 4 && !self.seen_secrets.contains(s) {
            self.seen_secrets.insert(s.to_string());
            self.redactor.add(s.to_string());
        }
    }
}

/// Who holds a token the proxy saw issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Holder {
    pub principal: Principal,
    /// The user (lower case), for user tokens.
    pub user: Option<String>,
    /// The client it was issued through; `None`: not known (a token identified by a probe).
    pub client: Option<Principal>,
    /// How the proxy knows whose it is: from the token traffic it saw, or a probe.
    pub how: String,
    /// A refresh token.
    pub refresh: bool,
    /// A revoke (or the user's deletion) ended it, as finAPI documents.
    pub revoked: bool,
    /// When the access token expires in the upstream's time (its answer's `Date` plus
    /// `expires_in`); `None`: not said.
    pub expires: Option<DateTime<Utc>>,
    /// Something seen since it was issued that may have ended it.
    pub ended_by: Option<String>,
}

/// A client token the proxy obtained itself, for replays.
#[derive(Debug, Clone)]
pub(crate) struct OwnToken {
    pub token: String,
    pub expires: Option<DateTime<Utc>>,
}

/// One user's password as the session last showed it good, and the first thing seen since
/// that may have changed it.
#[derive(Debug, Clone, Default)]
struct Login {
    good: Option<String>,
    since: Option<String>,
}

/// Credentials the session showed good: users' passwords (per mandator side and user) and
/// clients' secrets.
#[derive(Debug, Default)]
pub(crate) struct UserLogins {
    users: HashMap<(bool, String), Login>,
    secrets: HashMap<Principal, String>,
}

impl UserLogins {
    /// A password grant for `user` with `password` got a token.
    pub fn succeeded(&mut self, foreign: bool, user: &str, password: &str) {
        self.users.insert(
            (foreign, user.to_lowercase()),
            Login {
                good: Some(password.to_string()),
                since: None,
            },
        );
    }

    /// Something seen that may change whether `user`'s password works (either mandator side
    /// when `foreign` is not known).
    pub fn event(&mut self, foreign: Option<bool>, user: &str, what: &str) {
        let user = user.to_lowercase();
        for side in [false, true] {
            if foreign.is_some_and(|f| f != side) {
                continue;
            }
            if let Some(login) = self.users.get_mut(&(side, user.clone())) {
                login.since.get_or_insert_with(|| what.to_string());
            }
        }
    }

    /// Whether `password` is `user`'s, shown good with nothing seen since; else why not.
    pub fn password_shown_good(
        &self,
        foreign: bool,
        user: &str,
        password: &str,
    ) -> Result<(), String> {
        match self.users.get(&(foreign, user.to_lowercase())) {
            Some(Login {
                good: Some(good),
                since: None,
            }) if good == password => Ok(()),
            Some(Login {
                good: Some(good),
                since: Some(what),
            }) if good == password => {
                Err(format!("{what} since this user's last successful grant"))
            }
            Some(Login { good: Some(_), .. }) => {
                Err("another password than the one that got this user a token".into())
            }
            _ => {
                Err("no grant of this user with these credentials succeeded in the session".into())
            }
        }
    }

    /// A client_credentials grant with `secret` got `client` a token.
    pub fn client_succeeded(&mut self, client: Principal, secret: &str) {
        self.secrets.insert(client, secret.to_string());
    }

    /// Whether `secret` is `client`'s, shown good with no secret change seen since.
    pub fn secret_shown_good(&self, client: Principal, secret: Option<&str>) -> Result<(), String> {
        match (self.secrets.get(&client), secret) {
            (Some(good), Some(s)) if good == s => Ok(()),
            (Some(_), Some(_)) => Err(format!("another secret than the one that got {client} a token")),
            (Some(_), None) => Err("no client secret in the request".into()),
            (None, _) => Err(format!(
                "no grant with {client}'s credentials succeeded in the session (or its secret changed since)"
            )),
        }
    }

    /// A secret change of `client`: its credentials are no longer shown good.
    pub fn secret_changed(&mut self, client: Principal) {
        self.secrets.remove(&client);
    }
}

/// A refusal waiting for its control.
#[derive(Debug, Clone)]
pub(crate) struct Pending {
    /// The cell it becomes once the token is shown alive (a violation).
    pub result: CheckResult,
    /// The login failure it is listed as until then (refused grants).
    pub login: Option<LoginKey>,
}

pub(crate) fn rank(v: Verdict) -> u8 {
    match v {
        Verdict::Violation => 3,
        Verdict::Inconclusive => 2,
        Verdict::Pass => 1,
        Verdict::Skipped => 0,
    }
}

/// The result of one judged request, with its redacted evidence.
pub(crate) fn result_of(
    state: &State,
    op: &Operation,
    p: Principal,
    e: &Expectation,
    judgement: Judgement,
    request: &HttpRequest,
    response: &HttpResponse,
) -> CheckResult {
    let mut result = CheckResult::not_run(op.id.clone(), op, p, e);
    result.took_answer(request, p, response, &state.redactor);
    result.verdict = judgement.verdict;
    result.reason = judgement.reason;
    result
}

/// Keep one result per operation x principal, the worst verdict seen: merge `result` in,
/// counting `calls` more.
pub(crate) fn merge_cell(state: &mut State, result: CheckResult, calls: usize) {
    let key = (result.operation.clone(), result.principal);
    match state.cells.get_mut(&key) {
        Some(cell) => {
            cell.1 += calls;
            if rank(result.verdict) > rank(cell.0.verdict) {
                cell.0 = result;
            }
        }
        None => {
            state.cells.insert(key, (result, calls.max(1)));
        }
    }
}

/// Record one judged request in its cell (evidence captured only when the cell changes).
pub(crate) fn record_cell(
    state: &mut State,
    op: &Operation,
    p: Principal,
    e: &Expectation,
    judgement: Judgement,
    request: &HttpRequest,
    response: &HttpResponse,
) {
    let key = (op.id.clone(), p);
    if let Some(cell) = state.cells.get_mut(&key) {
        if rank(judgement.verdict) <= rank(cell.0.verdict) {
            cell.1 += 1;
            return;
        }
    }
    let result = result_of(state, op, p, e, judgement, request, response);
    merge_cell(state, result, 1);
}
