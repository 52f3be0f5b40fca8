//! `--format json`: `{ summary, results }` plus run metadata.

use serde_json::json;

use crate::runner::Report;

pub fn render(report: &Report) -> String {
    let value = json!({
        "target": report.target,
        "api_version": report.api_version,
        "mode": report.mode,
        "duration_ms": report.duration_ms,
        "interrupted": report.interrupted,
        "leftover_users": report.leftover_users,
        "summary": report.summary(),
        "results": report.results,
    });
    serde_json::to_string_pretty(&value).unwrap_or_default() + "\n"
}
