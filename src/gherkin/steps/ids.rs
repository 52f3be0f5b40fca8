//! Steps for the ids a request carries outside its path (`fixtures/ids.csv`): one user names
//! another's resource in a list filter or a body field, through the runner's id probe
//! (`runner::check_id`, `runner::probe_id`) and the model's oracle (`model::judge_id`).

use cucumber::{given, then};
use futures::StreamExt as _;

use crate::gherkin::{principal, FinapiWorld};
use crate::model::{cell_name, expect_id, IdField, Operation, Outcome, Principal, Verdict};
use crate::runner::{self, CheckResult, Filters, Parties};

/// One line per id cell that did not hold.
fn lines(bad: &[CheckResult]) -> String {
    bad.iter()
        .map(|r| format!("  {}", r.failure_line()))
        .collect::<Vec<_>>()
        .join("\n")
}

#[then(regex = r"^every id in a query or a body is hidden from (.+)$")]
async fn every_id_hidden(world: &mut FinapiWorld, who: String) {
    let who = principal(&who);
    let version = world.api_version();
    let conn = world.prepared().await;
    let (config, session) = (&conn.config, &conn.session);
    let checks: Vec<_> =
        runner::planned_id_checks(&session.catalogue, version, &Filters::default())
            .into_iter()
            .filter(|c| c.principal == who)
            .collect();
    assert!(
        !checks.is_empty(),
        "the role model gives {who} no id cell: only another user and another mandator's user name the run user's ids"
    );
    // Lists at once; writes one at a time, so the owner's reads around a write see only it.
    let (filters, writes): (Vec<_>, Vec<_>) = checks.iter().partition(|c| c.is_filter());
    let mut results: Vec<CheckResult> = futures::stream::iter(filters)
        .map(|c| runner::check_id(config, session, c))
        .buffer_unordered(8)
        .collect()
        .await;
    for c in writes {
        results.push(runner::check_id(config, session, c).await);
    }
    let total = results.len();
    let mut bad: Vec<CheckResult> = results
        .iter()
        .filter(|r| !matches!(r.verdict, Verdict::Pass | Verdict::Skipped))
        .cloned()
        .collect();
    bad.sort_by(|a, b| a.operation.cmp(&b.operation));
    assert!(
        bad.is_empty(),
        "ids hidden from {who}: {} of {total} id cell(s) did not hold:\n{}",
        bad.len(),
        lines(&bad)
    );
    let skipped: Vec<&CheckResult> = results
        .iter()
        .filter(|r| r.verdict == Verdict::Skipped)
        .collect();
    assert!(
        skipped.len() < total,
        "ids hidden from {who}: nothing could be checked ({})",
        skipped.first().map_or("", |r| r.reason.as_str())
    );
    if let Some(first) = skipped.first() {
        println!(
            "note: ids hidden from {who}: {} of {total} id cell(s) skipped ({}: {})",
            skipped.len(),
            first.operation,
            first.reason
        );
    }
}

#[given(regex = r#"^"([^"]+)" has imported finAPI's test bank$"#)]
async fn has_imported(world: &mut FinapiWorld, name: String) {
    let token = world.held(&name, None).access;
    let session = world.session().await;
    if let Err(why) = session.import_test_bank(&token).await {
        panic!("\"{name}\" could not import finAPI's test bank: {why}");
    }
}

/// True when the scenario user `name` was created through another mandator's app client.
async fn of_other_mandator(world: &mut FinapiWorld, name: &str) -> bool {
    let creator = world.user(name).creator.id;
    let session = world.session().await;
    session
        .creds
        .other_app
        .as_ref()
        .is_some_and(|o| o.id == creator)
}

/// The id cell `cell` (`getAndSearchAllTransactions?accountIds`) of the scenario's version.
fn id_cell(ops: &[Operation], cell: &str) -> (Operation, IdField) {
    ops.iter()
        .find_map(|op| {
            op.ids
                .iter()
                .find(|f| cell_name(op, f) == cell)
                .map(|f| (op.clone(), f.clone()))
        })
        .unwrap_or_else(|| {
            panic!("no id cell \"{cell}\" in this API version (see fixtures/ids.csv)")
        })
}

/// `caller` names `owner`'s resource in the id cell `cell`; it must look absent.
async fn names_nothing_of(world: &mut FinapiWorld, caller: &str, owner: &str, cell: &str) {
    let version = world.api_version();
    let ops: Vec<Operation> = world
        .session()
        .await
        .catalogue
        .operations(version)
        .cloned()
        .collect();
    let (op, field) = id_cell(&ops, cell);
    let principal =
        if of_other_mandator(world, caller).await == of_other_mandator(world, owner).await {
            Principal::OtherUser
        } else {
            Principal::OtherMandatorUser
        };
    assert_ne!(
        expect_id(&op, principal).outcome,
        Outcome::NotApplicable,
        "the role model has no id cell {cell} for {principal}"
    );
    let caller_token = world.held(caller, None).access;
    let owner_token = world.held(owner, None).access;
    let mode = world.conn().await.config.mode;
    let session = world.session().await;
    let id = runner::owner_id(session, field.names, &owner_token)
        .await
        .unwrap_or_else(|| {
            panic!(
                "\"{owner}\" has no {} to name: give \"{owner}\" data first",
                field.names.words()
            )
        });
    let parties = Parties {
        caller: caller_token,
        owner: owner_token,
        id,
    };
    let r = runner::probe_id(session, mode, &op, &field, principal, &parties).await;
    match r.verdict {
        Verdict::Pass => {}
        Verdict::Skipped => panic!(
            "\"{caller}\" on \"{owner}\"'s data in {cell}: nothing could be checked ({})",
            r.reason
        ),
        verdict => panic!(
            "\"{caller}\" named \"{owner}\"'s {} in {cell}: {} (rule {}): {}",
            field.names.words(),
            verdict.name(),
            r.rule,
            r.reason
        ),
    }
}

#[then(regex = r#"^"([^"]+)" cannot update "([^"]+)"'s bank connection in the background$"#)]
async fn no_background_update(world: &mut FinapiWorld, caller: String, owner: String) {
    names_nothing_of(
        world,
        &caller,
        &owner,
        "createBankConnectionUpdateTask{bankConnectionId}",
    )
    .await;
}

#[then(regex = r#"^"([^"]+)" cannot pay from "([^"]+)"'s account through a web form$"#)]
async fn no_payment_form(world: &mut FinapiWorld, caller: String, owner: String) {
    names_nothing_of(
        world,
        &caller,
        &owner,
        "createForPaymentWithAccountId{sender.accountId}",
    )
    .await;
}

#[then(
    regex = r#"^"([^"]+)" finds none of "([^"]+)"'s transactions by naming (?:her|his|their) account$"#
)]
async fn no_transactions_by_account(world: &mut FinapiWorld, caller: String, owner: String) {
    names_nothing_of(
        world,
        &caller,
        &owner,
        "getAndSearchAllTransactions?accountIds",
    )
    .await;
}

#[then(regex = r#"^"([^"]+)" gets nothing of "([^"]+)"'s through "([^"]+)"$"#)]
async fn nothing_through(world: &mut FinapiWorld, caller: String, owner: String, cell: String) {
    names_nothing_of(world, &caller, &owner, &cell).await;
}
