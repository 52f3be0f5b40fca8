//! `--format junit`: one test case per check, grouped in one suite per section.

use std::fmt::Write;

use crate::model::Verdict;
use crate::runner::Report;

use super::escape;

pub fn render(report: &Report) -> String {
    let s = report.summary();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<!-- {}; {} unfinished -->",
        escape(&super::coverage(report)),
        report.unfinished.len()
    );
    let services = super::services_line(report);
    if !services.is_empty() {
        // `--` may not appear in an XML comment.
        let _ = writeln!(out, "<!-- {} -->", escape(&services).replace("--", "- -"));
    }
    let _ = writeln!(
        out,
        "<testsuites name=\"finapi-conformance {}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{:.3}\">",
        report.api_version.label(),
        s.total,
        s.violations,
        s.inconclusive,
        s.skipped,
        report.duration_ms as f64 / 1000.0
    );
    let mut sections: Vec<&str> = Vec::new();
    for r in &report.results {
        if !sections.contains(&r.section.as_str()) {
            sections.push(&r.section);
        }
    }
    for section in sections {
        let cases: Vec<_> = report
            .results
            .iter()
            .filter(|r| r.section == section)
            .collect();
        let count = |v: Verdict| cases.iter().filter(|r| r.verdict == v).count();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\">",
            escape(section),
            cases.len(),
            count(Verdict::Violation),
            count(Verdict::Inconclusive),
            count(Verdict::Skipped)
        );
        for r in cases {
            let name = format!("{} as {} [{}]", r.operation, r.principal, r.rule);
            let _ = write!(
                out,
                "    <testcase classname=\"{}\" name=\"{}\" time=\"{:.3}\"",
                escape(section),
                escape(&name),
                r.latency_ms as f64 / 1000.0
            );
            let status = r
                .observed_status
                .map_or("none".to_string(), |s| s.to_string());
            let detail = escape(&format!(
                "expected {}, observed {status}: {}",
                r.expected, r.reason
            ));
            match r.verdict {
                Verdict::Pass => out.push_str("/>\n"),
                Verdict::Violation => {
                    let _ = writeln!(out, ">\n      <failure message=\"{detail}\" type=\"violation\"/>\n    </testcase>");
                }
                Verdict::Inconclusive => {
                    let _ = writeln!(out, ">\n      <error message=\"{detail}\" type=\"inconclusive\"/>\n    </testcase>");
                }
                Verdict::Skipped => {
                    let _ = writeln!(
                        out,
                        ">\n      <skipped message=\"{}\"/>\n    </testcase>",
                        escape(&r.reason)
                    );
                }
            }
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}
