//! `README.md` of a recording: what each file holds, which variable gets which client id and
//! (made-up) secret, the users and what was left out, and the commands that use the files.

use std::fmt::Write as _;

use super::feature::Stated;
use super::world_file::{ClientVar, LeftOut};
use crate::world::World;

/// The README of a recording.
pub(crate) fn render(
    world: &World,
    vars: &[ClientVar],
    left: &LeftOut,
    stated: Stated,
    shapes: Option<usize>,
) -> String {
    let users: Vec<&crate::world::UserSpec> = world
        .mandators
        .iter()
        .flat_map(|m| m.users.iter())
        .collect();
    let connections: usize = users.iter().map(|u| u.bank_connections.len()).sum();
    let accounts: usize = users.iter().map(|u| u.all_accounts().count()).sum();
    let transactions: usize = users
        .iter()
        .flat_map(|u| u.all_accounts())
        .map(|a| a.transactions.len())
        .sum();
    let mut out = String::new();
    out.push_str("# A recorded finAPI session\n\n");
    out.push_str(
        "Recorded by `finapi-conformance proxy --record DIR` (DIR is this directory). No file \
         holds a secret of the session: the client secrets below are made up for the mock, the \
         users' passwords are salted hashes, and no token is kept. Personal data (names, \
         IBANs, account numbers, purposes, counterparts, e-mail addresses) is replaced; ids, \
         amounts, dates, types, categories and how records belong together are as recorded.\n\n",
    );
    out.push_str("## Files\n\n");
    let _ = writeln!(
        out,
        "- `world.toml`: the world for the mock: {} mandator(s), {} user(s), {connections} bank connection(s), {accounts} account(s), {transactions} transaction(s).",
        world.mandators.len(),
        users.len()
    );
    let _ = writeln!(
        out,
        "- `session.feature`: {} boundary fact(s) in {} scenario(s), {} of them stating a rule the session saw broken (`@session-violation`); {} verdict(s) not established are listed at its end.",
        stated.facts, stated.scenarios, stated.violations, stated.not_established
    );
    if let Some(n) = shapes {
        let _ = writeln!(
            out,
            "- `shapes.json`: {n} shape difference(s) the session saw (docs/shapes.md)."
        );
    }
    out.push_str(
        "\n## Clients\n\nThe recorded world's clients, as the commands below read them:\n\n",
    );
    out.push_str("| role | variables | id | secret |\n|------|-----------|----|--------|\n");
    for v in vars {
        let note = if v.stand_in {
            " (stand-in: the session had no credentials for it)"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "| {}{note} | `{}_ID`, `{}_SECRET` | `{}` | `{}` |",
            v.principal, v.var, v.var, v.id, v.secret
        );
    }
    out.push_str("\n## Users\n\nThey log in with the passwords they had in the session:\n\n");
    for m in &world.mandators {
        for u in &m.users {
            let _ = writeln!(out, "- `{}` (mandator `{}`)", u.id, m.id);
        }
    }
    if !left.users.is_empty() || left.dropped_transactions > 0 {
        out.push_str("\nLeft out:");
        if !left.users.is_empty() {
            let _ = write!(
                out,
                " user(s) deleted in the session or whose password it never showed: {};",
                left.users
                    .iter()
                    .map(|u| format!("`{u}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        if left.dropped_transactions > 0 {
            let _ = write!(
                out,
                " {} transaction(s) without a booking date or with amount 0;",
                left.dropped_transactions
            );
        }
        out.pop();
        out.push_str(".\n");
    }
    out.push_str(
        "\n## Use it\n\n```sh\n\
         # the mock with this world, for your app's CI (set the variables above)\n\
         finapi-conformance serve --world DIR/world.toml\n\
         # the session's boundary facts on that mock (in-process)\n\
         finapi-conformance features DIR --world DIR/world.toml\n\
         # the same facts against the recorded target, with its real credentials\n\
         finapi-conformance features DIR --base-url https://sandbox.finapi.io\n```\n",
    );
    out
}
