//! Report formats for a run: the terminal matrix, JSON, JUnit and Markdown.

pub mod json;
pub mod junit;
pub mod markdown;
pub mod table;

use std::str::FromStr;

use crate::runner::Report;

/// Output format of `check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Table,
    Json,
    Junit,
    Markdown,
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "table" => Ok(Format::Table),
            "json" => Ok(Format::Json),
            "junit" => Ok(Format::Junit),
            "markdown" | "md" => Ok(Format::Markdown),
            other => Err(format!(
                "unknown format `{other}` (table, json, junit or markdown)"
            )),
        }
    }
}

/// Render a report. `color` only affects the table.
pub fn render(report: &Report, format: Format, color: bool) -> String {
    match format {
        Format::Table => table::render(report, color),
        Format::Json => json::render(report),
        Format::Junit => junit::render(report),
        Format::Markdown => markdown::render(report),
    }
}

/// One line: `V2 against in-process mock: 1003 checks, 1003 passed, 0 violations, ...`.
pub fn summary_line(report: &Report) -> String {
    let s = report.summary();
    format!(
        "{} against {} ({} mode): {} checks, {} passed, {} violations, {} inconclusive, {} skipped in {:.2}s{}",
        report.api_version.label(),
        report.target,
        match report.mode {
            crate::model::Mode::Boundary => "boundary",
            crate::model::Mode::Strict => "strict",
        },
        s.total,
        s.passed,
        s.violations,
        s.inconclusive,
        s.skipped,
        report.duration_ms as f64 / 1000.0,
        if report.interrupted { " (interrupted)" } else { "" },
    )
}
