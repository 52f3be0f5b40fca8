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

/// In which order a target looks at a request: the role first, or the request's validity
/// first. Spring's bean validation runs before method security, so a V2-style target may
/// answer a wrong-role call that carries an invalid body with 400 instead of 403; the
/// faithful mock checks the role first. finAPI's own order is not documented.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CheckOrder {
    /// The role is checked before the request is validated (calibrated, or assumed by
    /// [`judge`]).
    RoleFirst,
    /// The request is validated before the role is checked (calibrated).
    ValidationFirst,
    /// The calibration could not tell.
    Unknown,
}

/// A second request that settles an unclear answer: the same caller, a valid body that
/// touches only ids that exist nowhere or belong to the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proof {
    /// What the valid request got.
    pub status: u16,
    /// What an allowed caller gets for it (for example 404 for an unknown id).
    pub allowed_statuses: Vec<u16>,
}

/// What the runner knows beyond the answer itself when a denied caller gets neither 401/403
/// nor a 2xx.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence {
    pub order: CheckOrder,
    /// The status an allowed caller gets for the very same request (`None`: not sent, because
    /// it could not be sent inertly or was not needed).
    pub control: Option<u16>,
    /// The same caller's answer to a valid, inert request.
    pub proof: Option<Proof>,
}

impl Evidence {
    /// The faithful mock's order and nothing else: every non-401/403 answer of a denied caller
    /// is past the role check.
    pub fn role_first() -> Evidence {
        Evidence {
            order: CheckOrder::RoleFirst,
            control: None,
            proof: None,
        }
    }
}

/// Statuses a target can give while validating a request, before it looks at the role.
pub fn is_validation_status(status: u16) -> bool {
    matches!(status, 400 | 413 | 415 | 422)
}

/// True when a denied caller's answer is unclear without more evidence: a denial was
/// expected and the answer is neither 401/403, nor a success, nor a status that says nothing
/// (5xx, 429, none), and the operation is not a grant row (the token endpoint does not
/// validate first: any refusal there is a refusal).
pub fn needs_evidence(op: &Operation, expectation: &Expectation, status: u16) -> bool {
    matches!(
        expectation.outcome,
        Outcome::Unauthenticated | Outcome::Forbidden
    ) && !op.is_grant_row()
        && (400..500).contains(&status)
        && !matches!(status, 401 | 403 | 429)
}

/// Compare an observed response with the expectation for `op`, assuming the target checks
/// the role before it looks at the request (as the faithful mock does). Against a target
/// whose order is not known, calibrate it and judge with the calibrated order (`judge_with`).
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
    judge_with(
        op,
        expectation,
        observed,
        mode,
        allowed_statuses,
        &Evidence::role_first(),
    )
}

/// [`judge`] with evidence: a denied caller's 4xx other than 401/403 counts as a violation
/// only when the evidence shows the request got past the role check; otherwise the verdict is
/// `inconclusive` and the reason says what is missing.
pub fn judge_with(
    op: &Operation,
    expectation: &Expectation,
    observed: Observed<'_>,
    mode: Mode,
    allowed_statuses: &[u16],
    evidence: &Evidence,
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
            let want = if op.is_grant_row() {
                400
            } else {
                op.not_found_status()
            };
            if mode == Mode::Strict {
                if status != want {
                    return Judgement::new(
                        Verdict::Violation,
                        format!("status {status}, strict mode expects {want}"),
                    );
                }
                let shape = if op.is_webform() {
                    webform_error_shape(observed.body, Some("NOT_FOUND"))
                } else {
                    error_message_shape(observed.body, None)
                };
                if let Err(why) = shape {
                    return Judgement::new(Verdict::Violation, why);
                }
            }
            Judgement::new(Verdict::Pass, format!("hidden ({status})"))
        }
        Outcome::Unauthenticated | Outcome::Forbidden => {
            if evidence.order != CheckOrder::RoleFirst && needs_evidence(op, expectation, status) {
                return unclear_denial(op, expectation, status, mode, evidence);
            }
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
                let want = refusal_status(op, expectation.outcome);
                if status != want {
                    return Judgement::new(
                        Verdict::Violation,
                        format!("status {status}, strict mode expects {want}"),
                    );
                }
                if let Err(why) = refusal_shape(op, want, observed.body) {
                    return Judgement::new(Verdict::Violation, why);
                }
            }
            Judgement::new(Verdict::Pass, format!("denied ({status})"))
        }
    }
}

/// The status strict mode expects for a refusal: what the operation documents for a dead
/// token or a wrong role ([`Operation::unauthenticated_status`],
/// [`Operation::forbidden_status`]); the mock answers the same.
pub fn refusal_status(op: &Operation, outcome: Outcome) -> u16 {
    if outcome == Outcome::Unauthenticated {
        op.unauthenticated_status()
    } else {
        op.forbidden_status()
    }
}

/// A denied caller got a 4xx other than 401/403 from a target that may validate before it
/// checks the role: decide on the evidence.
fn unclear_denial(
    op: &Operation,
    expectation: &Expectation,
    status: u16,
    mode: Mode,
    evidence: &Evidence,
) -> Judgement {
    let want = refusal_status(op, expectation.outcome);
    if let Some(proof) = &evidence.proof {
        let p = proof.status;
        if p == 401 || p == 403 {
            if mode == Mode::Strict && p != want {
                return Judgement::new(
                    Verdict::Violation,
                    format!("a valid request got {p}, strict mode expects {want}"),
                );
            }
            return Judgement::new(
                Verdict::Pass,
                format!("denied ({p}) once the request was valid; {status} came from validation"),
            );
        }
        if (200..300).contains(&p) {
            return Judgement::new(
                Verdict::Violation,
                format!(
                    "a valid, inert request was served ({p}), expected {}",
                    expectation.outcome.name()
                ),
            );
        }
        if proof.allowed_statuses.contains(&p) && !is_validation_status(p) {
            return Judgement::new(
                Verdict::Violation,
                format!(
                    "a valid request got {p}, what an allowed caller gets: it passed the role check"
                ),
            );
        }
    }
    if !is_validation_status(status) && evidence.control == Some(status) {
        return Judgement::new(
            Verdict::Violation,
            format!(
                "let through with {status} (no validation answer, and an allowed caller gets the same), expected {}",
                expectation.outcome.name()
            ),
        );
    }
    let order = match evidence.order {
        CheckOrder::ValidationFirst => {
            "this target validates requests before it checks the role (calibrated)"
        }
        _ => {
            "the calibration could not tell whether this target validates before it checks the role"
        }
    };
    let what = if is_validation_status(status) {
        format!("{status} may be a validation answer")
    } else {
        format!("{status} is neither a refusal nor a validation answer")
    };
    let control = match evidence.control {
        Some(c) if c == status => format!("an allowed caller gets the same {c}"),
        Some(c) => format!("an allowed caller gets {c}"),
        None => "no allowed caller could repeat the request inertly".to_string(),
    };
    let proof = match &evidence.proof {
        Some(p) => format!("a valid request got {}", p.status),
        None => "no valid request can be sent that touches only the run's own data".to_string(),
    };
    Judgement::new(
        Verdict::Inconclusive,
        format!("{what}: {order}; {control}; {proof}"),
    )
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

/// Check a 401 body: `{ "error": string, "error_description": string }`. The V1 components
/// example spells the second field `errorDescription`; the spec contradicts itself, so either
/// spelling passes.
pub fn bad_credentials_shape(body: &[u8]) -> Result<(), String> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|_| "401 body is not JSON".to_string())?;
    let is_str = |field: &str| value.get(field).is_some_and(|v| v.is_string());
    if !is_str("error") {
        return Err("401 body lacks string field `error`".to_string());
    }
    if !is_str("error_description") && !is_str("errorDescription") {
        return Err("401 body lacks string field `error_description`".to_string());
    }
    Ok(())
}

/// Check the body of a refusal with `status` (401 or 403) of `op`: Access's
/// `{error, error_description}` (401) or ErrorMessage coded `UNAUTHORIZED_ACCESS` (403); Web
/// Form 2.0's `Error` coded `UNAUTHORIZED` or `FORBIDDEN`.
pub fn refusal_shape(op: &Operation, status: u16, body: &[u8]) -> Result<(), String> {
    match (op.is_webform(), status) {
        (true, 401) => webform_error_shape(body, Some("UNAUTHORIZED")),
        (true, _) => webform_error_shape(body, Some("FORBIDDEN")),
        (false, 401) => bad_credentials_shape(body),
        (false, _) => error_message_shape(body, Some("UNAUTHORIZED_ACCESS")),
    }
}

/// Check a Web Form 2.0 `Error` body (`code`, `description`, `endpoint`, `timestamp`, all
/// strings), optionally that its code is `code`.
pub fn webform_error_shape(body: &[u8], code: Option<&str>) -> Result<(), String> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|_| "error body is not JSON".to_string())?;
    for field in ["code", "description", "endpoint", "timestamp"] {
        if !value.get(field).is_some_and(|v| v.is_string()) {
            return Err(format!("Web Form error body lacks string field `{field}`"));
        }
    }
    if let Some(code) = code {
        let got = value["code"].as_str().unwrap_or("");
        if got != code {
            return Err(format!("Web Form error code is `{got}`, expected `{code}`"));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ApiVersion, Catalogue};

    fn forbidden_case() -> (&'static Operation, Expectation) {
        let op = Catalogue::embedded()
            .get(ApiVersion::V2, "createIbanRules")
            .expect("in the catalogue");
        let e = expect(op, Principal::AppClient);
        assert_eq!(e.outcome, Outcome::Forbidden);
        (op, e)
    }

    fn verdict(status: u16, evidence: Evidence) -> Judgement {
        let (op, e) = forbidden_case();
        judge_with(
            op,
            &e,
            Observed { status, body: b"" },
            Mode::Boundary,
            &[],
            &evidence,
        )
    }

    fn ev(order: CheckOrder, control: Option<u16>, proof: Option<u16>) -> Evidence {
        Evidence {
            order,
            control,
            proof: proof.map(|status| Proof {
                status,
                allowed_statuses: vec![200, 404, 422],
            }),
        }
    }

    #[test]
    fn role_first_targets_keep_the_old_verdicts() {
        let j = verdict(400, Evidence::role_first());
        assert_eq!(j.verdict, Verdict::Violation);
        assert_eq!(j.reason, "let through with 400, expected forbidden");
    }

    #[test]
    fn a_validation_answer_needs_evidence() {
        use CheckOrder::*;
        // The allowed caller gets the same 400 and no proof exists: inconclusive, with why.
        let j = verdict(400, ev(ValidationFirst, Some(400), None));
        assert_eq!(j.verdict, Verdict::Inconclusive);
        assert!(
            j.reason.contains("an allowed caller gets the same 400"),
            "{}",
            j.reason
        );
        assert!(j.reason.contains("calibrated"), "{}", j.reason);
        // A valid request is refused: the 400 was validation.
        assert_eq!(
            verdict(400, ev(ValidationFirst, Some(400), Some(403))).verdict,
            Verdict::Pass
        );
        // A valid request gets what an allowed caller gets, or is served: let through.
        for p in [404, 200] {
            assert_eq!(
                verdict(400, ev(Unknown, Some(400), Some(p))).verdict,
                Verdict::Violation
            );
        }
        // The valid request is itself rejected: still unclear.
        assert_eq!(
            verdict(400, ev(Unknown, None, Some(400))).verdict,
            Verdict::Inconclusive
        );
    }

    #[test]
    fn a_non_validation_answer_counts_when_an_allowed_caller_gets_it_too() {
        use CheckOrder::*;
        assert_eq!(
            verdict(404, ev(ValidationFirst, Some(404), None)).verdict,
            Verdict::Violation
        );
        assert_eq!(
            verdict(404, ev(ValidationFirst, Some(200), None)).verdict,
            Verdict::Inconclusive
        );
        assert_eq!(
            verdict(404, ev(Unknown, None, None)).verdict,
            Verdict::Inconclusive
        );
        // Success and refusals need no evidence.
        assert_eq!(
            verdict(200, ev(ValidationFirst, None, None)).verdict,
            Verdict::Violation
        );
        assert_eq!(
            verdict(403, ev(ValidationFirst, None, None)).verdict,
            Verdict::Pass
        );
    }

    /// Strict mode expects the refusal status the operation documents: 401 for a wrong role
    /// on checkCategorization (no 403 documented), 403 for a missing token on revokeToken (no
    /// 401 documented); with `general_refusals` the general 403 and 401.
    #[test]
    fn strict_mode_expects_the_documented_refusal() {
        let catalogue = Catalogue::embedded();
        let bad_credentials: &[u8] = br#"{"error":"invalid_token","error_description":"x"}"#;
        let error_message: &[u8] = br#"{"errors":[{"message":"x","code":"UNAUTHORIZED_ACCESS","type":"TECHNICAL"}],"date":"d","endpoint":"e","authContext":"a"}"#;
        let cases = [
            ("checkCategorization", Principal::AppClient, 401, 403),
            ("revokeToken", Principal::NoToken, 403, 401),
        ];
        for (id, principal, documented, general) in cases {
            let mut op = catalogue.get(ApiVersion::V2, id).unwrap().clone();
            let e = expect(&op, principal);
            for (general_refusals, want, other) in
                [(false, documented, general), (true, general, documented)]
            {
                op.general_refusals = general_refusals;
                let body = |s: u16| {
                    if s == 401 {
                        bad_credentials
                    } else {
                        error_message
                    }
                };
                let j = |s: u16| {
                    judge(
                        &op,
                        &e,
                        Observed {
                            status: s,
                            body: body(s),
                        },
                        Mode::Strict,
                        &[],
                    )
                    .verdict
                };
                assert_eq!(j(want), Verdict::Pass, "{id} general={general_refusals}");
                assert_eq!(
                    j(other),
                    Verdict::Violation,
                    "{id} general={general_refusals}"
                );
            }
        }
        // Unknown entities: 422 where the operation files them there instead of a 404.
        for (v, id, want) in [
            (ApiVersion::V1, "deleteAccessData", 422),
            (ApiVersion::V2, "deleteConsent", 422),
            (ApiVersion::V2, "connectInterface", 422),
            (ApiVersion::V2, "getBank", 404),
        ] {
            assert_eq!(
                catalogue.get(v, id).unwrap().not_found_status(),
                want,
                "{id}"
            );
        }
        // Everywhere else the general statuses.
        let op = catalogue.get(ApiVersion::V2, "getUserList").unwrap();
        assert_eq!(
            (op.unauthenticated_status(), op.forbidden_status()),
            (401, 403)
        );
    }

    #[test]
    fn either_spelling_of_the_401_description_passes() {
        assert!(bad_credentials_shape(br#"{"error":"x","error_description":"y"}"#).is_ok());
        assert!(bad_credentials_shape(br#"{"error":"x","errorDescription":"y"}"#).is_ok());
        assert!(bad_credentials_shape(br#"{"error":"x"}"#).is_err());
    }
}
