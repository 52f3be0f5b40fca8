//! Steps that read the role model: they pick operations from the catalogue, ask the oracle
//! (`model::expect`) what a principal must see, probe each pair with the runner
//! (`runner::check_one_judged`, with `check`'s evidence rules and, on a real target, its
//! calibration) and fail on any verdict other than pass. A step none of whose checks can run
//! on the target (no bank data to address, a service it does not serve) leaves its scenario
//! out with the reason. A new row in `fixtures/operations.csv` is covered by these steps
//! without editing a feature.

use cucumber::gherkin::Step;
use cucumber::then;
use futures::StreamExt as _;

use crate::model::{expect, Operation, Outcome, Principal, Verdict};
use crate::runner::{self, CheckResult};

use crate::gherkin::world::named_operation;
use crate::gherkin::{leave_out, principal, FinapiWorld};

/// What a scenario says a principal gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stated {
    Allowed,
    Denied,
    Forbidden,
    Unauthenticated,
    Hidden,
}

impl Stated {
    fn parse(word: &str) -> Stated {
        match word {
            "allowed" => Stated::Allowed,
            "denied" => Stated::Denied,
            "forbidden" => Stated::Forbidden,
            "unauthenticated" => Stated::Unauthenticated,
            "hidden" => Stated::Hidden,
            other => panic!("unknown expectation `{other}`"),
        }
    }

    /// Does the model's outcome say the same?
    fn matches(self, outcome: Outcome) -> bool {
        match self {
            Stated::Allowed => outcome == Outcome::Allowed,
            Stated::Denied => outcome.is_denial(),
            Stated::Forbidden => outcome == Outcome::Forbidden,
            Stated::Unauthenticated => outcome == Outcome::Unauthenticated,
            Stated::Hidden => outcome == Outcome::NotVisible,
        }
    }
}

/// Every check of the scenario's API version (routable operations and token grants), as owned
/// rows.
async fn all_checks(world: &mut FinapiWorld) -> Vec<Operation> {
    let version = world.api_version();
    let session = world.session().await;
    session.catalogue.checks(version).cloned().collect()
}

/// Probe every (operation, principal) pair and return the results that did not pass, plus how
/// many were skipped (with one reason) and how many ran.
async fn probe(
    world: &mut FinapiWorld,
    pairs: &[(Operation, Principal)],
) -> (Vec<CheckResult>, usize, Option<String>, usize) {
    let conn = world.prepared().await;
    let (config, session, judging) = (&conn.config, &conn.session, &*conn.judging);
    let results: Vec<CheckResult> = futures::stream::iter(pairs.iter())
        .map(|(op, p)| runner::check_one_judged(config, session, judging, op, *p))
        .buffer_unordered(8)
        .collect()
        .await;
    let mut skipped = 0;
    let mut skip_reason = None;
    let mut bad = Vec::new();
    for r in results {
        match r.verdict {
            Verdict::Pass => {}
            Verdict::Skipped => {
                skipped += 1;
                skip_reason.get_or_insert(r.reason.clone());
            }
            _ => bad.push(r),
        }
    }
    bad.sort_by(|a, b| (&a.operation, a.principal).cmp(&(&b.operation, b.principal)));
    (bad, skipped, skip_reason, pairs.len())
}

/// Check that the model agrees with what the scenario states, then probe, then fail with a
/// readable list of every pair that did not hold.
async fn check_stated(
    world: &mut FinapiWorld,
    what: &str,
    ops: Vec<Operation>,
    who: Principal,
    stated: Option<Stated>,
) {
    let pairs: Vec<(Operation, Principal)> = ops
        .into_iter()
        .filter(|op| expect(op, who).outcome != Outcome::NotApplicable)
        .map(|op| (op, who))
        .collect();
    assert!(
        !pairs.is_empty(),
        "{what}: the role model has no operation to check for {who} here"
    );
    if let Some(stated) = stated {
        let disagree: Vec<String> = pairs
            .iter()
            .filter(|(op, p)| !stated.matches(expect(op, *p).outcome))
            .map(|(op, p)| format!("{} ({})", op.id, expect(op, *p).outcome.name()))
            .collect();
        assert!(
            disagree.is_empty(),
            "{what}: the role model does not say {stated:?} for {who} on: {}",
            disagree.join(", ")
        );
    }
    let (bad, skipped, reason, total) = probe(world, &pairs).await;
    if !bad.is_empty() {
        let lines: Vec<String> = bad
            .iter()
            .map(|r| format!("  {}", r.failure_line()))
            .collect();
        panic!(
            "{what}: {} of {total} check(s) did not hold:\n{}",
            bad.len(),
            lines.join("\n")
        );
    }
    if skipped == total {
        // Not a boundary that failed: the target cannot meet what these checks need.
        leave_out(format!(
            "{what}: nothing could be checked ({})",
            reason.unwrap_or_default()
        ));
    }
    if skipped > 0 {
        println!(
            "note: {what}: {skipped} of {total} check(s) skipped ({})",
            reason.unwrap_or_default()
        );
    }
}

fn sections_exist(world_ops: &[Operation], section: &str) {
    assert!(
        world_ops.iter().any(|o| o.section == section),
        "there is no section \"{section}\" in the catalogue for this API version"
    );
}

#[then(
    regex = r#"^every operation of section "([^"]+)" is (allowed|denied|forbidden|unauthenticated|hidden) (?:to|from) (.+)$"#
)]
async fn section_is(world: &mut FinapiWorld, section: String, word: String, who: String) {
    let who = principal(&who);
    let all = all_checks(world).await;
    sections_exist(&all, &section);
    let ops = all.into_iter().filter(|o| o.section == section).collect();
    let what = format!("section \"{section}\" {word} to {who}");
    check_stated(world, &what, ops, who, Some(Stated::parse(&word))).await;
}

#[then(regex = r#"^every operation of section "([^"]+)" behaves for (.+) as the role model says$"#)]
async fn section_as_model(world: &mut FinapiWorld, section: String, who: String) {
    let who = principal(&who);
    let all = all_checks(world).await;
    sections_exist(&all, &section);
    let ops = all.into_iter().filter(|o| o.section == section).collect();
    let what = format!("section \"{section}\" for {who}");
    check_stated(world, &what, ops, who, None).await;
}

#[then(
    regex = r"^every operation (allowed|denied|forbidden|unauthenticated|hidden) (?:to|from) (.+) is (allowed|denied|forbidden|unauthenticated|hidden)$"
)]
async fn every_stated(world: &mut FinapiWorld, word: String, who: String, again: String) {
    assert_eq!(
        word, again,
        "\"every operation {word} to ... is {again}\" mixes two expectations"
    );
    let who = principal(&who);
    let stated = Stated::parse(&word);
    let ops: Vec<Operation> = all_checks(world)
        .await
        .into_iter()
        .filter(|op| stated.matches(expect(op, who).outcome))
        .collect();
    let what = format!("every operation {word} to {who}");
    check_stated(world, &what, ops, who, Some(stated)).await;
}

#[then(regex = r"^every operation outside these sections is (denied|forbidden) to (.+):$")]
async fn outside_sections(world: &mut FinapiWorld, word: String, who: String, step: &Step) {
    let who = principal(&who);
    let table = step
        .table
        .as_ref()
        .expect("this step needs a table of section names below it");
    let listed: Vec<String> = table
        .rows
        .iter()
        .filter_map(|r| r.first().map(|c| c.trim().to_string()))
        .filter(|c| !c.is_empty() && c != "section")
        .collect();
    let all = all_checks(world).await;
    // A list of sections to leave out may name one that only the other API version has
    // (Web Form 2.0's Profiles and Translations take V2 tokens); a name of no version at all
    // is a mistake in the file.
    let everywhere = crate::model::Catalogue::embedded().all();
    for s in &listed {
        assert!(
            everywhere.iter().any(|o| &o.section == s),
            "there is no section \"{s}\" in the catalogue"
        );
    }
    let ops = all
        .into_iter()
        .filter(|o| !listed.contains(&o.section))
        .collect();
    let what = format!("outside {} to {who}", listed.join(", "));
    check_stated(world, &what, ops, who, Some(Stated::parse(&word))).await;
}

#[then(
    regex = r#"^"([^"]+)" is (allowed|denied|forbidden|unauthenticated|hidden) (?:to|from) (.+)$"#
)]
async fn one_operation(world: &mut FinapiWorld, id: String, word: String, who: String) {
    let who = principal(&who);
    let version = world.api_version();
    let op = named_operation(&world.session().await.catalogue, version, &id);
    let what = format!("\"{id}\" {word} to {who}");
    check_stated(world, &what, vec![op], who, Some(Stated::parse(&word))).await;
}
