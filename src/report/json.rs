//! `--format json`: `{ summary, results, unfinished }` plus run metadata. `unfinished` lists
//! the checks an interrupted run (or a checkpoint of a running one) has not finished, so
//! `--resume` can run them.

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
        "coverage": super::coverage(report),
        "complete": report.unfinished.is_empty() && !report.interrupted,
        "results": report.results,
        "unfinished": report.unfinished,
    });
    serde_json::to_string_pretty(&value).unwrap_or_default() + "\n"
}
