//! `--format markdown`: a summary fit for a CI job summary, violations first.

use std::fmt::Write;

use crate::model::Verdict;
use crate::runner::Report;

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

pub fn render(report: &Report) -> String {
    let s = report.summary();
    let mut out = String::new();
    let verdict = if s.violations == 0 {
        "all boundaries held"
    } else {
        "BOUNDARY VIOLATIONS"
    };
    let _ = writeln!(out, "## finAPI role boundaries: {verdict}\n");
    let _ = writeln!(
        out,
        "Target: `{}`, API {}, {:?} mode.\n",
        report.target,
        report.api_version.label(),
        report.mode
    );
    if !report.services.is_empty() {
        let _ = writeln!(out, "Services:\n");
        for line in &report.services {
            let at = line
                .address
                .as_deref()
                .map_or(String::new(), |a| format!(" at `{a}`"));
            if line.checked {
                let _ = writeln!(
                    out,
                    "- {}{at}: checked ({})",
                    line.service,
                    cell(&line.note)
                );
            } else {
                let _ = writeln!(
                    out,
                    "- {}: **not checked**: {}",
                    line.service,
                    cell(&line.note)
                );
            }
        }
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "| checks | passed | violations | inconclusive | skipped | run / possible |"
    );
    let _ = writeln!(out, "|---:|---:|---:|---:|---:|---:|");
    let _ = writeln!(
        out,
        "| {} | {} | {} | {} | {} | {} / {} |\n",
        s.total, s.passed, s.violations, s.inconclusive, s.skipped, s.run, s.possible
    );
    let _ = writeln!(out, "{}.\n", cell(&super::coverage(report)));
    if !report.unfinished.is_empty() {
        let _ = writeln!(
            out,
            "{} checks did not finish (resume with `--resume` on the JSON report).\n",
            report.unfinished.len()
        );
    }
    for (title, v) in [
        ("Violations", Verdict::Violation),
        ("Inconclusive", Verdict::Inconclusive),
    ] {
        let rows: Vec<_> = report.results.iter().filter(|r| r.verdict == v).collect();
        if rows.is_empty() {
            continue;
        }
        let _ = writeln!(out, "### {title}\n");
        let _ = writeln!(
            out,
            "| operation | principal | expected | observed | rule | why |"
        );
        let _ = writeln!(out, "|---|---|---|---|---|---|");
        for r in rows {
            let observed = r.observed_status.map_or("-".to_string(), |s| s.to_string());
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} | {} | {} |",
                cell(&r.operation),
                r.principal,
                cell(&r.expected),
                observed,
                r.rule,
                cell(&r.reason)
            );
        }
        out.push('\n');
    }
    let skipped: Vec<_> = report
        .results
        .iter()
        .filter(|r| r.verdict == Verdict::Skipped)
        .collect();
    if !skipped.is_empty() {
        let mut reasons: Vec<(String, usize)> = Vec::new();
        for r in skipped {
            match reasons.iter_mut().find(|(why, _)| *why == r.reason) {
                Some((_, n)) => *n += 1,
                None => reasons.push((r.reason.clone(), 1)),
            }
        }
        let _ = writeln!(out, "<details><summary>Skipped checks</summary>\n");
        for (why, n) in reasons {
            let _ = writeln!(out, "- {n} x {}", cell(&why));
        }
        let _ = writeln!(out, "\n</details>");
    }
    out
}
