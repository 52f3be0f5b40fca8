//! Report formats for a run: the terminal matrix, JSON, JUnit, Markdown and a self-contained
//! HTML page; the progress display of long runs.

pub(crate) mod html;
pub(crate) mod json;
pub(crate) mod junit;
pub(crate) mod markdown;
pub(crate) mod progress;
pub(crate) mod table;

use std::str::FromStr;

pub use progress::for_stderr as progress_for_stderr;
pub use table::expected_matrix;

/// Escape text for the markup formats (HTML and JUnit XML), in content and attribute values
/// alike. Control characters XML cannot carry (below U+0020 except tab, newline and carriage
/// return) are dropped.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\t' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

use crate::runner::Report;

/// Output format of `check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Table,
    Json,
    Junit,
    Markdown,
    Html,
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "table" => Ok(Format::Table),
            "json" => Ok(Format::Json),
            "junit" => Ok(Format::Junit),
            "markdown" | "md" => Ok(Format::Markdown),
            "html" => Ok(Format::Html),
            other => Err(format!(
                "unknown format `{other}` (table, json, junit, markdown or html)"
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
        Format::Html => html::render(report),
    }
}

/// The share of checks run: `checks run 772/947 (81.5%)` ([`Report::coverage`]).
pub fn coverage(report: &Report) -> String {
    report.coverage()
}

/// One line: `V2 against in-process mock: 1003 checks, 1003 passed, 0 violations, ...`.
pub fn summary_line(report: &Report) -> String {
    let s = report.summary();
    format!(
        "{} against {} ({} mode): {} checks, {} passed, {} violations, {} inconclusive, {} skipped, {} in {:.2}s{}",
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
        coverage(report),
        report.duration_ms as f64 / 1000.0,
        if report.interrupted {
            format!(" (interrupted, {} unfinished)", report.unfinished.len())
        } else {
            String::new()
        },
    )
}
