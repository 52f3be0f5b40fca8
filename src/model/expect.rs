//! The oracle: what finAPI must answer when a principal calls an operation, and the judge that
//! compares an observed response with it. The runner, the Gherkin steps and the property tests
//! all ask these two functions; nothing else decides whether a boundary held.

use serde::Serialize;

use super::catalogue::{CallerKind, Operation};
use super::principal::Principal;
use super::rules::Rule;

/// What the role model predicts for one operation x principal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// The caller passes the role boundary (2xx, or a business error about the request itself).
    Allowed,
    /// 401: no valid token.
    Unauthenticated,
    /// 403: a valid token of the wrong role (or, at the token endpoint, a grant the client may
    /// not use).
    Forbidden,
    /// The addressed resource belongs to another user or mandator: it must look absent.
    NotVisible,
    /// The pair makes no sense (for example a user presenting client credentials).
    NotApplicable,
}

impl Outcome {
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Allowed => "allowed",
            Outcome::Unauthenticated => "unauthenticated",
            Outcome::Forbidden => "forbidden",
            Outcome::NotVisible => "not-visible",
            Outcome::NotApplicable => "n/a",
        }
    }

    /// True for the outcomes in which the request must not get through.
    pub fn is_denial(self) -> bool {
        matches!(
            self,
            Outcome::Unauthenticated | Outcome::Forbidden | Outcome::NotVisible
        )
    }
}

/// A prediction with the rule it comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Expectation {
    pub outcome: Outcome,
    pub rule: Rule,
}

impl Expectation {
    fn new(outcome: Outcome, rule: Rule) -> Self {
        Expectation { outcome, rule }
    }
}

/// Predict the outcome of `principal` calling `op`.
pub fn expect(op: &Operation, principal: Principal) -> Expectation {
    use Outcome::*;
    if op.is_token_endpoint() {
        // The endpoint itself takes no bearer token; its grant rows carry the rules.
        return Expectation::new(NotApplicable, Rule::TokenRequired);
    }
    let kind = match principal.kind() {
        Some(kind) => kind,
        None if op.is_grant_row() => return Expectation::new(NotApplicable, Rule::TokenRequired),
        None if principal == Principal::ExpiredToken => {
            return Expectation::new(Unauthenticated, Rule::TokenExpiry)
        }
        None => return Expectation::new(Unauthenticated, Rule::TokenRequired),
    };
    if op.is_grant_row() {
        // Grant rows: the principal presents its own client credentials.
        if kind == CallerKind::User {
            return Expectation::new(NotApplicable, Rule::UserTokensViaAppClients);
        }
        let rule = if op.callers.contains(CallerKind::MandatorAdmin) {
            Rule::AdminSectionsOnly
        } else {
            Rule::UserTokensViaAppClients
        };
        if !op.callers.contains(kind) {
            return Expectation::new(Forbidden, rule);
        }
        if principal.is_foreign_mandator() && op.grant != Some(super::Grant::ClientCredentials) {
            // Another mandator's client presenting this mandator's user credentials.
            return Expectation::new(NotVisible, Rule::MandatorIsolation);
        }
        let rule = if principal == Principal::SecondAppClient {
            Rule::SharedUserBase
        } else {
            rule
        };
        return Expectation::new(Allowed, rule);
    }
    if !op.callers.contains(kind) {
        return Expectation::new(Forbidden, forbidden_rule(op, kind));
    }
    let addresses = op.addresses_resource();
    match principal {
        Principal::OtherUser | Principal::OtherMandatorUser if !addresses => {
            Expectation::new(NotApplicable, Rule::OwnDataOnly)
        }
        Principal::OtherUser => Expectation::new(NotVisible, Rule::OwnDataOnly),
        Principal::OtherMandatorUser => Expectation::new(NotVisible, Rule::MandatorIsolation),
        Principal::OtherMandatorAppClient if addresses => {
            Expectation::new(NotVisible, Rule::MandatorIsolation)
        }
        Principal::SecondAppClient if addresses => Expectation::new(Allowed, Rule::SharedUserBase),
        _ => Expectation::new(Allowed, allowed_rule(op, kind)),
    }
}

fn allowed_rule(op: &Operation, kind: CallerKind) -> Rule {
    match kind {
        CallerKind::AppClient => Rule::AppClientServices,
        CallerKind::MandatorAdmin if op.is_revoke() => Rule::AdminSectionsOnly,
        CallerKind::MandatorAdmin => Rule::AdminSectionsOnly,
        CallerKind::User => Rule::UserScope,
        CallerKind::None => Rule::TokenRequired,
    }
}

fn forbidden_rule(op: &Operation, kind: CallerKind) -> Rule {
    let admin_op = op.callers.contains(CallerKind::MandatorAdmin) && !op.is_revoke();
    match kind {
        CallerKind::AppClient if op.id == "getUserList" => Rule::IntruderAppClient,
        CallerKind::AppClient if admin_op => Rule::AppClientServices,
        CallerKind::MandatorAdmin if op.callers.contains(CallerKind::User) => Rule::IntruderAdmin,
        CallerKind::MandatorAdmin => Rule::AdminSectionsOnly,
        CallerKind::User if op.is_revoke() => Rule::UserTokensViaAppClients,
        _ => Rule::UserScope,
    }
}

/// How strictly a response is judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Any 401/403 counts as denied; a 2xx or any other 4xx counts as let through.
    #[default]
    Boundary,
    /// Exact documented status and error body shape.
    Strict,
}

/// A response as the judge sees it.
#[derive(Debug, Clone, Copy)]
pub struct Observed<'a> {
    pub status: u16,
    pub body: &'a [u8],
}

/// The judge's decision on one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    Violation,
    Inconclusive,
    Skipped,
}

impl Verdict {
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Violation => "violation",
            Verdict::Inconclusive => "inconclusive",
            Verdict::Skipped => "skipped",
        }
    }
}

/// A verdict with a one-line reason (never containing a secret: only statuses and codes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judgement {
    pub verdict: Verdict,
    pub reason: String,
}

impl Judgement {
    fn new(verdict: Verdict, reason: impl Into<String>) -> Self {
        Judgement {
            verdict,
            reason: reason.into(),
        }
    }
}

/// Compare an observed response with the expectation for `op`.
///
/// `allowed_statuses` is what the probe itself documents for a caller that passes the boundary
/// (for example 404 for a probe that names an unknown id); empty means "any 2xx". Only strict
/// mode looks at it.
pub fn judge(
    op: &Operation,
    expectation: &Expectation,
    observed: Observed<'_>,
    mode: Mode,
    allowed_statuses: &[u16],
) -> Judgement {
    let status = observed.status;
    if status >= 500 || status == 429 || status == 0 {
        return Judgement::new(
            Verdict::Inconclusive,
            format!("status {status} says nothing about the boundary"),
        );
    }
    let success = (200..300).contains(&status);
    // At the token endpoint any refusal is a refusal; elsewhere only 401/403 deny.
    let denied = if op.is_grant_row() {
        !success
    } else {
        status == 401 || status == 403
    };
    match expectation.outcome {
        Outcome::NotApplicable => Judgement::new(Verdict::Skipped, "not applicable"),
        Outcome::Allowed => {
            if denied {
                return Judgement::new(
                    Verdict::Violation,
                    format!("denied with {status}, expected to be let through"),
                );
            }
            if mode == Mode::Strict {
                let ok = if allowed_statuses.is_empty() {
                    success
                } else {
                    allowed_statuses.contains(&status)
                };
                if !ok {
                    return Judgement::new(
                        Verdict::Violation,
                        format!(
                            "status {status}, strict mode expects {}",
                            describe_statuses(allowed_statuses)
                        ),
                    );
                }
            }
            Judgement::new(Verdict::Pass, format!("let through ({status})"))
        }
        Outcome::NotVisible => {
            let multi = op.path_params().any(|p| p == "ids");
            if success && multi && lists_are_empty(observed.body) {
                // Multi-id reads answer 200 with only the ids the caller may see.
                return Judgement::new(Verdict::Pass, format!("hidden ({status}, empty list)"));
            }
            if success {
                return Judgement::new(
                    Verdict::Violation,
                    format!("{status}: a resource of another user or mandator is visible"),
                );
            }
            let want = if op.is_grant_row() { 400 } else { 404 };
            if mode == Mode::Strict {
                if status != want {
                    return Judgement::new(
                        Verdict::Violation,
                        format!("status {status}, strict mode expects {want}"),
                    );
                }
                if let Err(why) = error_message_shape(observed.body, None) {
                    return Judgement::new(Verdict::Violation, why);
                }
            }
            Judgement::new(Verdict::Pass, format!("hidden ({status})"))
        }
        Outcome::Unauthenticated | Outcome::Forbidden => {
            if !denied {
                return Judgement::new(
                    Verdict::Violation,
                    format!(
                        "let through with {status}, expected {}",
                        expectation.outcome.name()
                    ),
                );
            }
            if mode == Mode::Strict {
                let want = if expectation.outcome == Outcome::Unauthenticated {
                    401
                } else {
                    403
                };
                if status != want {
                    return Judgement::new(
                        Verdict::Violation,
                        format!("status {status}, strict mode expects {want}"),
                    );
                }
                let shape = if want == 401 {
                    bad_credentials_shape(observed.body)
                } else {
                    error_message_shape(observed.body, Some("UNAUTHORIZED_ACCESS"))
                };
                if let Err(why) = shape {
                    return Judgement::new(Verdict::Violation, why);
                }
            }
            Judgement::new(Verdict::Pass, format!("denied ({status})"))
        }
    }
}

/// True when the body is a JSON object whose arrays are all empty (`{"accounts": []}`).
fn lists_are_empty(body: &[u8]) -> bool {
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(serde_json::Value::Object(map)) => map
            .values()
            .all(|v| v.as_array().is_none_or(|a| a.is_empty())),
        _ => false,
    }
}

fn describe_statuses(statuses: &[u16]) -> String {
    if statuses.is_empty() {
        "a 2xx".to_string()
    } else {
        statuses
            .iter()
            .map(u16::to_string)
            .collect::<Vec<_>>()
            .join(" or ")
    }
}

/// Check a 401 body: `{ "error": string, "error_description": string }`.
pub fn bad_credentials_shape(body: &[u8]) -> Result<(), String> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|_| "401 body is not JSON".to_string())?;
    for field in ["error", "error_description"] {
        if !value.get(field).is_some_and(|v| v.is_string()) {
            return Err(format!("401 body lacks string field `{field}`"));
        }
    }
    Ok(())
}

/// Check an ErrorMessage body, optionally that its first error has `code`.
pub fn error_message_shape(body: &[u8], code: Option<&str>) -> Result<(), String> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|_| "error body is not JSON".to_string())?;
    let errors = value
        .get("errors")
        .and_then(|e| e.as_array())
        .filter(|e| !e.is_empty())
        .ok_or_else(|| "error body lacks a non-empty `errors` array".to_string())?;
    for field in ["date", "endpoint", "authContext"] {
        if value.get(field).is_none() {
            return Err(format!("error body lacks `{field}`"));
        }
    }
    let first = &errors[0];
    for field in ["message", "code", "type"] {
        if first.get(field).is_none() {
            return Err(format!("errors[0] lacks `{field}`"));
        }
    }
    if let Some(code) = code {
        let got = first.get("code").and_then(|c| c.as_str()).unwrap_or("");
        if got != code {
            return Err(format!("errors[0].code is `{got}`, expected `{code}`"));
        }
    }
    Ok(())
}
