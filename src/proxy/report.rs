//! The proxy's report: the operations x principals the traffic and the replays covered, in
//! `check`'s formats, followed by the app's own findings, the shape differences and what was
//! (not) replayed.

use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;

use super::judge::{Finding, ReplayNote, ShapeDifference, State};
use crate::model::{ApiVersion, Mode};
use crate::report::{self, escape, Format};
use crate::runner::redact::Redactor;
use crate::runner::Report;

/// What a proxy run saw.
#[derive(Debug, Clone, Serialize)]
pub struct ProxyReport {
    /// One result per operation x principal (the worst verdict seen, with its evidence).
    pub report: Report,
    /// Calls the app sent through the proxy.
    pub calls: usize,
    /// Replays sent.
    pub replays: usize,
    /// Calls with a token the proxy never saw issued (judged by shapes only).
    pub unknown_callers: usize,
    /// Calls to paths the catalogue does not know (passed through, not judged).
    pub not_in_catalogue: usize,
    /// The app's own misuse (not finAPI's verdicts; they do not change the exit code).
    pub findings: Vec<Finding>,
    /// Answers that do not conform to the documented shape.
    pub shape_differences: Vec<ShapeDifference>,
    /// Per operation seen: how often and as whom it was replayed, and what was not, and why.
    pub replay: Vec<ReplayNote>,
    /// Every secret the proxy saw: scrubbed from whatever is rendered.
    #[serde(skip)]
    redactor: Redactor,
    /// With `--record DIR`: what the recording wrote, or why it could not.
    #[serde(skip)]
    pub recorded: Option<Result<super::Recorded, String>>,
}

pub(crate) fn build(
    state: &State,
    target: &str,
    version: ApiVersion,
    mode: Mode,
    elapsed: Duration,
) -> ProxyReport {
    let results = state
        .cells
        .values()
        .map(|(r, n)| {
            let mut r = r.clone();
            if *n > 1 {
                r.reason = format!("{} ({n} calls)", r.reason);
            }
            r
        })
        .collect();
    ProxyReport {
        report: Report {
            target: format!("proxy to {target}"),
            api_version: version,
            mode,
            duration_ms: elapsed.as_millis() as u64,
            results,
            leftover_users: 0,
            interrupted: false,
            unfinished: Vec::new(),
        },
        calls: state.calls,
        replays: state.replays,
        unknown_callers: state.unknown_callers,
        not_in_catalogue: state.not_in_catalogue,
        findings: state.findings.values().cloned().collect(),
        shape_differences: state.shapes.values().cloned().collect(),
        replay: state.replay_notes.values().cloned().collect(),
        redactor: state.redactor.clone(),
        recorded: None,
    }
}

impl ProxyReport {
    /// 0: no violation; 1: a violation (the app's findings do not count).
    pub fn exit_code(&self) -> i32 {
        self.report.exit_code()
    }

    /// One line: calls, replays, verdicts, findings.
    pub fn summary_line(&self) -> String {
        let line = format!(
            "{}; {} calls, {} replays, {} app findings, {} shape differences",
            report::summary_line(&self.report),
            self.calls,
            self.replays,
            self.findings.len(),
            self.shape_differences.len()
        );
        self.redactor.scrub(&line)
    }

    /// The extra sections as plain text (table and Markdown).
    fn sections(&self, markdown: bool) -> String {
        let mut out = String::new();
        let h = |out: &mut String, title: &str| {
            if markdown {
                let _ = writeln!(out, "\n## {title}\n");
            } else {
                let _ = writeln!(out, "\n{title}");
            }
        };
        let item = if markdown { "- " } else { "  " };
        h(&mut out, "Traffic");
        let _ = writeln!(
            out,
            "{item}{} calls, {} replays, {} by unknown tokens (not judged), {} not in the catalogue",
            self.calls, self.replays, self.unknown_callers, self.not_in_catalogue
        );
        h(&mut out, "The app's own findings (not finAPI's verdicts)");
        if self.findings.is_empty() {
            let _ = writeln!(out, "{item}none");
        }
        for f in &self.findings {
            let _ = writeln!(
                out,
                "{item}{}: {} by {} ({} calls): {}; e.g. {}",
                f.kind, f.operation, f.caller, f.calls, f.detail, f.example
            );
        }
        h(
            &mut out,
            "Shape differences (answers that differ from the documented shape)",
        );
        if self.shape_differences.is_empty() {
            let _ = writeln!(out, "{item}none");
        }
        for d in &self.shape_differences {
            let _ = writeln!(
                out,
                "{item}{} {}: {}: {} ({} answers)",
                d.operation, d.status, d.path, d.problem, d.answers
            );
        }
        h(&mut out, "Replay");
        if self.replay.is_empty() {
            let _ = writeln!(out, "{item}nothing replayed (--replay off)");
        }
        for n in &self.replay {
            let who: Vec<&str> = n.principals.iter().map(|p| p.name()).collect();
            let replayed = if n.replays == 0 {
                "not replayed".to_string()
            } else {
                format!("replayed {} times as {}", n.replays, who.join(", "))
            };
            let why: Vec<&str> = n.not_replayed.iter().map(String::as_str).collect();
            let why = if why.is_empty() {
                String::new()
            } else {
                format!("; not: {}", why.join("; "))
            };
            let _ = writeln!(out, "{item}{}: {replayed}{why}", n.operation);
        }
        out
    }

    /// Render in one of `check`'s formats.
    pub fn render(&self, format: Format, color: bool) -> String {
        self.redactor.scrub(&self.render_unscrubbed(format, color))
    }

    fn render_unscrubbed(&self, format: Format, color: bool) -> String {
        match format {
            Format::Json => serde_json::to_string_pretty(self).unwrap_or_default() + "\n",
            Format::Table => report::render(&self.report, format, color) + &self.sections(false),
            Format::Markdown => report::render(&self.report, format, false) + &self.sections(true),
            Format::Junit => {
                let base = report::render(&self.report, format, false);
                let mut suite = format!(
                    "<testsuite name=\"app findings\" tests=\"{}\" failures=\"{}\">\n",
                    self.findings.len(),
                    self.findings.len()
                );
                for f in &self.findings {
                    let _ = writeln!(
                        suite,
                        "<testcase classname=\"app\" name=\"{}\"><failure message=\"{}\">{}</failure></testcase>",
                        escape(&format!("{} {} by {}", f.kind, f.operation, f.caller)),
                        escape(&f.detail),
                        escape(&f.example)
                    );
                }
                suite.push_str("</testsuite>\n");
                match base.rfind("</testsuites>") {
                    Some(at) => format!("{}{suite}{}", &base[..at], &base[at..]),
                    None => base + &suite,
                }
            }
            Format::Html => {
                let base = report::render(&self.report, format, false);
                let section = format!(
                    "<section id=\"proxy\"><pre>{}</pre></section>\n",
                    escape(&self.sections(false))
                );
                match base.rfind("<script type=\"application/json\"") {
                    Some(at) => format!("{}{section}{}", &base[..at], &base[at..]),
                    None => base + &section,
                }
            }
        }
    }
}
