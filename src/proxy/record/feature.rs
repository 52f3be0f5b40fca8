//! `session.feature`: the boundary facts a session established, in the step library's own
//! vocabulary, one scenario per operation and rule, tagged with the rule. A fact is a verdict
//! of the proxy's report (the app's calls and the replays): what passed is stated as it held;
//! what was a violation is stated as the documented rule, fails until the target holds it, and
//! names the report's evidence. What stayed inconclusive is listed, not stated.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use crate::model::expect::refusal_status;
use crate::model::{expect, ApiVersion, Catalogue, Grant, Outcome, Principal, Rule, Verdict};
use crate::runner::CheckResult;

/// How a feature writes a principal (`features/README.md`, "Principals").
fn phrase(p: Principal) -> &'static str {
    match p {
        Principal::AppClient => "the app client",
        Principal::SecondAppClient => "the second app client",
        Principal::AdminClient => "the admin client",
        Principal::OtherMandatorAppClient => "another mandator's app client",
        Principal::User => "the user",
        Principal::OtherUser => "another user",
        Principal::OtherMandatorUser => "another mandator's user",
        Principal::NoToken => "no-token",
        Principal::MalformedToken => "malformed-token",
        Principal::ExpiredToken => "expired-token",
        Principal::RevokedToken => "revoked-token",
    }
}

fn word(o: Outcome) -> Option<&'static str> {
    Some(match o {
        Outcome::Allowed => "allowed",
        Outcome::Forbidden => "forbidden",
        Outcome::Unauthenticated => "unauthenticated",
        Outcome::NotVisible => "hidden",
        Outcome::NotApplicable => return None,
    })
}

/// One scenario being written: its Given steps and Then steps, its comments.
#[derive(Default)]
struct Scenario {
    givens: Vec<String>,
    thens: Vec<String>,
    comments: Vec<String>,
}

/// Which scenario a fact goes to: operation, rule, whether the session saw a violation there,
/// and whether it needs the mock.
type Key = (String, Rule, bool, bool);

/// The fact a result states, as steps (Given, Then), or why it states none.
fn steps(
    catalogue: &Catalogue,
    version: ApiVersion,
    r: &CheckResult,
    user: &str,
) -> Result<(Vec<String>, String), String> {
    let p = r.principal;
    if r.operation == "lifecycle:token-reuse" {
        return Ok((
            vec![format!("{} has a token", phrase(p))],
            format!("{} gets the same token again", phrase(p)),
        ));
    }
    if r.operation.starts_with("lifecycle:") {
        return Err("a lifecycle scenario the feature vocabulary does not state".into());
    }
    if crate::model::operation_of_cell(&r.operation) != r.operation {
        return Err(
            "an id cell (an id in a query): features/ids.feature states these between named users"
                .into(),
        );
    }
    let op = catalogue
        .get(version, &r.operation)
        .ok_or_else(|| format!("not in the {version} catalogue"))?;
    let outcome = expect(op, p).outcome;
    let word = word(outcome).ok_or("not applicable")?;
    if op.grant == Some(Grant::Password) && p.kind().is_some() {
        let can = if outcome == Outcome::Allowed {
            "can"
        } else {
            "cannot"
        };
        return Ok((
            vec![format!(
                "a verified user \"{user}\" created through the app client"
            )],
            format!("\"{user}\" {can} log in through {}", phrase(p)),
        ));
    }
    Ok((
        Vec::new(),
        format!("\"{}\" is {word} to {}", op.id, phrase(p)),
    ))
}

/// Counts of what the file states.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Stated {
    pub scenarios: usize,
    pub facts: usize,
    pub violations: usize,
    pub not_established: usize,
}

/// The refusals whose status and body the session saw as documented (one for a wrong role,
/// one for a dead token): `(principal, operation, "a wrong role" | "a dead token")`.
fn refusals(
    catalogue: &Catalogue,
    version: ApiVersion,
    results: &[&CheckResult],
    differ: &BTreeSet<(String, u16)>,
) -> Vec<(Principal, String, &'static str)> {
    let mut out = Vec::new();
    for (outcome, what) in [
        (Outcome::Forbidden, "a wrong role"),
        (Outcome::Unauthenticated, "a dead token"),
    ] {
        let found = results.iter().find_map(|r| {
            let op = catalogue.get(version, &r.operation)?;
            let status = r.observed_status?;
            let base = op.id.split('.').next().unwrap_or(&op.id).to_string();
            let documented = r.verdict == Verdict::Pass
                && op.grant.is_none()
                && r.principal != Principal::ExpiredToken
                && expect(op, r.principal).outcome == outcome
                && status == refusal_status(op, outcome)
                && !differ.contains(&(base, status));
            documented.then(|| (r.principal, op.id.clone(), what))
        });
        out.extend(found);
    }
    out
}

/// The feature file of a session's results. `user` names the user the login facts create (a
/// recorded user's id, or `user`); `differ` are the (operation, status) pairs whose answers
/// differed from their documented shape.
pub(crate) fn render(
    results: &[CheckResult],
    version: ApiVersion,
    user: &str,
    differ: &BTreeSet<(String, u16)>,
) -> (String, Stated) {
    let catalogue = Catalogue::embedded();
    let mut scenarios: BTreeMap<Key, Scenario> = BTreeMap::new();
    let mut not_established = Vec::new();
    let mut stated = Stated::default();
    let mut sorted: Vec<&CheckResult> = results.iter().collect();
    sorted.sort_by(|a, b| (&a.operation, a.principal).cmp(&(&b.operation, b.principal)));
    let refusals = refusals(catalogue, version, &sorted, differ);
    for r in sorted {
        if !matches!(r.verdict, Verdict::Pass | Verdict::Violation) {
            not_established.push(format!(
                "{} as {} [{}]: {} ({})",
                r.operation,
                r.principal,
                r.rule.id(),
                r.verdict.name(),
                r.reason
            ));
            continue;
        }
        let (givens, then) = match steps(catalogue, version, r, user) {
            Ok(s) => s,
            Err(why) => {
                not_established.push(format!(
                    "{} as {} [{}]: {why}",
                    r.operation,
                    r.principal,
                    r.rule.id()
                ));
                continue;
            }
        };
        let violation = r.verdict == Verdict::Violation;
        // An expired token is one only the mock can make on demand (its clock).
        let mock_only = r.principal == Principal::ExpiredToken;
        let key = (r.operation.clone(), r.rule, violation, mock_only);
        let s = scenarios.entry(key).or_default();
        for g in givens {
            if !s.givens.contains(&g) {
                s.givens.push(g);
            }
        }
        s.thens.push(then);
        stated.facts += 1;
        if violation {
            stated.violations += 1;
            let status = r
                .observed_status
                .map_or("no answer".to_string(), |s| s.to_string());
            s.comments.push(format!(
                "The session saw a violation: {} {} as {} got {status} ({}). Evidence: the proxy report's cell {} x {}.",
                r.method, r.path, r.principal, r.reason, r.operation, r.principal
            ));
        }
    }
    let mut out = String::new();
    out.push_str(
        "# Recorded by `finapi-conformance proxy --record`: the role boundaries this session's\n\
         # traffic and replays established, one scenario per operation and rule. Run it on the\n\
         # recorded world: `finapi-conformance features DIR --world DIR/world.toml`; against\n\
         # the recorded target (a regression check): `finapi-conformance features DIR --base-url URL`.\n\
         # Scenarios tagged @session-violation state a rule the session saw broken: they fail\n\
         # until the target holds it.\n",
    );
    let _ = writeln!(
        out,
        "Feature: The boundaries the recorded session showed ({version})"
    );
    for ((op, rule, violation, mock_only), s) in &scenarios {
        stated.scenarios += 1;
        out.push('\n');
        for c in &s.comments {
            let _ = writeln!(out, "  # {c}");
        }
        let mut tags = vec![format!("@rule-{}", rule.id())];
        if *mock_only {
            tags.push("@mock-only".into());
        }
        if *violation {
            tags.push("@session-violation".into());
        }
        let _ = writeln!(out, "  {}", tags.join(" "));
        let what = if *violation {
            "the rule the session saw broken"
        } else if *mock_only {
            "as the session showed (an expired token: mock only)"
        } else {
            "as the session showed"
        };
        let _ = writeln!(out, "  Scenario: {op}, {}: {what}", rule.id());
        let mut first = true;
        for g in &s.givens {
            let _ = writeln!(out, "    {} {g}", if first { "Given" } else { "And" });
            first = false;
        }
        first = true;
        for t in &s.thens {
            let _ = writeln!(out, "    {} {t}", if first { "Then" } else { "And" });
            first = false;
        }
    }
    if !refusals.is_empty() {
        stated.scenarios += 1;
        stated.facts += refusals.len();
        let _ = writeln!(out, "\n  @rule-{}", Rule::ErrorShape.id());
        let _ = writeln!(
            out,
            "  Scenario: refusals, {}: their status and body as documented, as the session showed",
            Rule::ErrorShape.id()
        );
        for (p, op, what) in &refusals {
            let _ = writeln!(out, "    When {} calls \"{op}\"", phrase(*p));
            let _ = writeln!(
                out,
                "    Then the answer is the refusal \"{op}\" documents for {what}"
            );
        }
    }
    stated.not_established = not_established.len();
    if !not_established.is_empty() {
        out.push_str("\n# Not established by the session (not stated above):\n");
        for n in &not_established {
            let _ = writeln!(out, "#   {n}");
        }
    }
    (out, stated)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(op: &str, p: Principal, verdict: Verdict, status: u16) -> CheckResult {
        let catalogue = Catalogue::embedded();
        let o = catalogue.get(ApiVersion::V2, op).unwrap();
        let e = expect(o, p);
        CheckResult {
            operation: op.into(),
            section: o.section.clone(),
            method: o.method.to_string(),
            path: o.path.clone(),
            principal: p,
            expected: e.outcome.name().into(),
            observed_status: Some(status),
            verdict,
            reason: "as judged".into(),
            rule: e.rule,
            latency_ms: 0,
            evidence: None,
        }
    }

    #[test]
    fn passes_are_facts_violations_state_the_rule_and_the_rest_is_listed() {
        let results = vec![
            result("getAccount", Principal::AdminClient, Verdict::Pass, 403),
            result("getAccount", Principal::OtherUser, Verdict::Violation, 200),
            result("getAccount", Principal::ExpiredToken, Verdict::Pass, 401),
            result("getAccount", Principal::NoToken, Verdict::Inconclusive, 400),
            result(
                "getToken.password",
                Principal::AdminClient,
                Verdict::Pass,
                403,
            ),
        ];
        let (text, stated) = render(&results, ApiVersion::V2, "anna", &BTreeSet::new());
        assert!(
            text.contains("Then \"getAccount\" is forbidden to the admin client"),
            "{text}"
        );
        assert!(
            text.contains("@rule-own-data-only @session-violation"),
            "{text}"
        );
        assert!(
            text.contains(
                "# The session saw a violation: GET /api/v2/accounts/{id} as other-user got 200"
            ),
            "{text}"
        );
        assert!(text.contains("@mock-only"), "{text}");
        assert!(text.contains("Given a verified user \"anna\" created through the app client"));
        assert!(text.contains("Then \"anna\" cannot log in through the admin client"));
        assert!(text.contains("When the admin client calls \"getAccount\"\n    Then the answer is the refusal \"getAccount\" documents for a wrong role"), "{text}");
        assert!(
            text.contains("#   getAccount as no-token [token-required]: inconclusive"),
            "{text}"
        );
        assert_eq!((stated.violations, stated.not_established), (1, 1));
        // A refusal whose shape differed is no fact of its shape.
        let differ = BTreeSet::from([("getAccount".to_string(), 403)]);
        let (text, _) = render(&results, ApiVersion::V2, "anna", &differ);
        assert!(!text.contains("documents for a wrong role"), "{text}");
    }
}
