//! The terminal report: a matrix of operations x principals, one mark per cell.
//!
//! `.` pass, `X` violation, `?` inconclusive, `-` skipped, blank: not applicable.

use std::fmt::Write;

use crate::model::{expect, ApiVersion, Catalogue, Outcome, Principal, Verdict};
use crate::runner::Report;

const RED: &str = "\x1b[1;31m";
const YELLOW: &str = "\x1b[33m";
const DIM: &str = "\x1b[2m";
const RESET: &str = "\x1b[0m";

fn mark(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => ".",
        Verdict::Violation => "X",
        Verdict::Inconclusive => "?",
        Verdict::Skipped => "-",
    }
}

fn header(out: &mut String, width: usize) {
    let _ = write!(out, "{:width$}", "");
    for p in Principal::ALL {
        let _ = write!(out, " {:>4}", p.short());
    }
    out.push('\n');
}

/// Render a run as a matrix, then the violations and inconclusive checks in full.
pub fn render(report: &Report, color: bool) -> String {
    let paint = |text: &str, code: &str| {
        if color {
            format!("{code}{text}{RESET}")
        } else {
            text.to_string()
        }
    };
    let mut rows: Vec<(String, Vec<Option<Verdict>>)> = Vec::new();
    for r in &report.results {
        let label = r.operation.clone();
        let idx = Principal::ALL
            .iter()
            .position(|p| *p == r.principal)
            .unwrap_or(0);
        match rows.iter_mut().find(|(l, _)| *l == label) {
            Some((_, cells)) => cells[idx] = Some(r.verdict),
            None => {
                let mut cells = vec![None; Principal::ALL.len()];
                cells[idx] = Some(r.verdict);
                rows.push((label, cells));
            }
        }
    }
    let width = rows
        .iter()
        .map(|(l, _)| l.len())
        .max()
        .unwrap_or(10)
        .max(10);
    let mut out = String::new();
    header(&mut out, width);
    for (label, cells) in &rows {
        let bad = cells.contains(&Some(Verdict::Violation));
        let _ = write!(
            out,
            "{}",
            if bad {
                paint(&format!("{label:width$}"), RED)
            } else {
                format!("{label:width$}")
            }
        );
        for c in cells {
            let m = c.map(mark).unwrap_or(" ");
            let shown = match c {
                Some(Verdict::Violation) => paint(m, RED),
                Some(Verdict::Inconclusive) => paint(m, YELLOW),
                Some(Verdict::Skipped) => paint(m, DIM),
                _ => m.to_string(),
            };
            let _ = write!(out, "    {shown}");
        }
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "\nlegend: . pass   X violation   ? inconclusive   - skipped   (blank) not applicable"
    );
    for r in report
        .results
        .iter()
        .filter(|r| matches!(r.verdict, Verdict::Violation | Verdict::Inconclusive))
    {
        let tag = if r.verdict == Verdict::Violation {
            paint("VIOLATION", RED)
        } else {
            paint("inconclusive", YELLOW)
        };
        let observed = r.observed_status.map_or("-".to_string(), |s| s.to_string());
        let _ = writeln!(
            out,
            "{tag} {} as {}: expected {}, observed {observed} ({}) [rule {}]",
            r.operation, r.principal, r.expected, r.reason, r.rule
        );
    }
    let _ = writeln!(out, "\n{}", super::summary_line(report));
    out
}

/// The expected role matrix of one API version (`matrix` command): what the docs say.
pub fn expected_matrix(catalogue: &Catalogue, version: ApiVersion) -> String {
    let ops: Vec<_> = catalogue.checks(version).collect();
    let width = ops
        .iter()
        .map(|o| o.id.len())
        .chain(
            ops.iter()
                .flat_map(|o| o.ids.iter().map(|f| f.label().len() + 2)),
        )
        .max()
        .unwrap_or(10)
        + 2;
    let id_fields: usize = ops.iter().map(|o| o.ids.len()).sum();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Expected role matrix, API {} ({} operations, grant rows included; {id_fields} ids in queries and bodies)",
        version.label(),
        ops.len()
    );
    let _ = write!(out, "{:<24}", "section");
    header(&mut out, width);
    let mut section = "";
    for op in &ops {
        let shown = if op.section != section {
            op.section.as_str()
        } else {
            ""
        };
        section = &op.section;
        let _ = write!(out, "{shown:<24}{:width$}", op.id);
        for p in Principal::ALL {
            let outcome = expect(op, p).outcome;
            let refusal;
            let cell = match outcome {
                Outcome::Allowed => "ok",
                // The status the operation documents for the refusal (401 and 403 unless it
                // documents only one of them).
                Outcome::Unauthenticated | Outcome::Forbidden => {
                    refusal = crate::model::expect::refusal_status(op, outcome).to_string();
                    refusal.as_str()
                }
                Outcome::NotVisible => "hide",
                Outcome::NotApplicable => "",
            };
            let _ = write!(out, " {cell:>4}");
        }
        out.push('\n');
        // The operation's ids in its query (`?field`) or body (`{field}`).
        for field in &op.ids {
            let label = format!("  {}", field.label());
            let _ = write!(out, "{:<24}{label:width$}", "");
            for p in Principal::ALL {
                let cell = match crate::model::expect_id(op, p).outcome {
                    Outcome::NotApplicable => "",
                    _ => "hide",
                };
                let _ = write!(out, " {cell:>4}");
            }
            out.push('\n');
        }
    }
    let _ = writeln!(out, "\nok: let through   401: no valid token   403: wrong role   hide: must look absent (404)   blank: not applicable");
    let _ = writeln!(out, "indented: an id in the query (?field) or body ({{field}}) naming the user's resource (fixtures/ids.csv): absent for other users");
    let odd: Vec<String> = ops
        .iter()
        .filter_map(
            |op| match (op.unauthenticated_status(), op.forbidden_status()) {
                (401, 403) => None,
                (u, f) if u == f => Some(format!("{} {u}", op.id)),
                (u, f) => Some(format!("{} {u}/{f}", op.id)),
            },
        )
        .collect();
    if !odd.is_empty() {
        let _ = writeln!(
            out,
            "documenting only one of 401 and 403, these refuse with it: {}",
            odd.join(", ")
        );
    }
    let _ = writeln!(
        out,
        "columns: {}",
        Principal::ALL
            .iter()
            .map(|p| format!("{}={}", p.short(), p.name()))
            .collect::<Vec<_>>()
            .join(" ")
    );
    out
}
