//! The proxy's report: the operations x principals the traffic and the replays covered, in
//! `check`'s formats (with `check`'s `summary` object in JSON, and the services it fronted
//! where `check` shows a run's services), followed by the traffic counts, the app's own
//! findings, its login failures, the shape differences and what was (not) replayed: tables in
//! Markdown and HTML, lines in the terminal.

use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;

use super::deferred::DeferredNote;
pub use super::state::LoginFailure;
use super::state::{CallerNote, Finding, ReplayNote, ShapeDifference, State};
use super::upstream::{Presence, Upstreams};
use crate::model::{ApiVersion, Mode, Service};
use crate::report::{self, escape, Format};
use crate::runner::redact::{url_for_display, Redactor};
use crate::runner::{Report, ServiceLine, Summary};

/// Where the proxy sent each service's calls, as `check`'s reports show a run's services
/// (every format and the summary line print them): Access at `--upstream`, Web Form 2.0 at
/// `--webform-upstream` or the address derived from `--upstream`, judged only where the
/// calibration found it.
pub(crate) fn services(
    upstreams: &Upstreams,
    state: &State,
    version: ApiVersion,
) -> Vec<ServiceLine> {
    let access = ServiceLine {
        service: Service::access(version).name(),
        checked: true,
        address: Some(url_for_display(&upstreams.access.base)),
        note: "given (--upstream)".into(),
    };
    let (checked, note) = match &state.webform {
        Presence::Serves => (true, upstreams.webform_source.to_string()),
        Presence::Unknown => (
            false,
            format!(
                "{}, which has not answered the calibration (asked again at the next Web Form call)",
                upstreams.webform_source
            ),
        ),
        Presence::Absent(why) => (false, why.clone()),
    };
    let webform = ServiceLine {
        service: Service::WEB_FORM_2.name(),
        checked,
        address: Some(url_for_display(&upstreams.webform.base)),
        note,
    };
    vec![access, webform]
}

/// What a proxy run saw.
#[derive(Debug, Clone, Serialize)]
pub struct ProxyReport {
    /// Totals by verdict, as `check`'s JSON report has them.
    pub summary: Summary,
    /// One result per operation x principal (the worst verdict seen, with its evidence), and
    /// the services: where each service's calls went, and whether they were judged
    /// (`report.services`, as in `check`'s report).
    pub report: Report,
    /// Calls the app sent through the proxy.
    pub calls: usize,
    /// Web Form 2.0 calls among them, and how many got a role verdict.
    pub web_form_calls: usize,
    pub web_form_judged: usize,
    /// Replays sent (liveness controls included).
    pub replays: usize,
    /// Liveness controls sent: a read with a refused token, to see whether it still works.
    pub controls: usize,
    /// Calls with a token the proxy never saw issued (judged by shapes only).
    pub unknown_callers: usize,
    /// Calls to paths the catalogue does not know (passed through, not judged).
    pub not_in_catalogue: usize,
    /// The app's own misuse (not finAPI's verdicts; they do not change the exit code).
    pub findings: Vec<Finding>,
    /// The app's refused grants that the session cannot tell from the user's own state (not
    /// finAPI's verdicts; they do not change the exit code).
    pub login_failures: Vec<LoginFailure>,
    /// Answers that do not conform to the documented shape.
    pub shape_differences: Vec<ShapeDifference>,
    /// Per operation seen: how often and as whom it was replayed, and what was not, and why.
    pub replay: Vec<ReplayNote>,
    /// Replays that waited for a principal the proxy held no token for yet: how many were sent
    /// once one appeared, and which never were, and why.
    pub deferred: Vec<DeferredNote>,
    /// How each caller of the app's calls was identified (token traffic seen, probed, or
    /// unknown and why), with its calls.
    pub callers: Vec<CallerNote>,
    /// Identifying reads sent with tokens the proxy never saw issued.
    pub identify_reads: usize,
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
    services: Vec<ServiceLine>,
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
    let report = Report {
        target: format!("proxy to {target}"),
        api_version: version,
        mode,
        duration_ms: elapsed.as_millis() as u64,
        results,
        leftover_users: 0,
        interrupted: false,
        unfinished: Vec::new(),
        services,
    };
    ProxyReport {
        summary: report.summary(),
        report,
        calls: state.calls,
        web_form_calls: state.webform_calls,
        web_form_judged: state.webform_judged,
        replays: state.replays,
        controls: state.controls,
        unknown_callers: state.unknown_callers,
        not_in_catalogue: state.not_in_catalogue,
        findings: state.findings.values().cloned().collect(),
        login_failures: state.login_failures.values().cloned().collect(),
        shape_differences: state.shapes.values().cloned().collect(),
        replay: state.replay_notes.values().cloned().collect(),
        deferred: state.waiting.notes(),
        callers: state.callers.values().cloned().collect(),
        identify_reads: state.identify_reads,
        redactor: state.redactor.clone(),
        recorded: None,
    }
}

/// One section of the report after the matrix: a title, the table's header, its rows, and
/// what to say when it has none.
struct Section {
    id: &'static str,
    title: &'static str,
    header: &'static [&'static str],
    rows: Vec<Vec<String>>,
    empty: &'static str,
}

impl ProxyReport {
    /// 0: no violation; 1: a violation (the app's findings and login failures do not count).
    pub fn exit_code(&self) -> i32 {
        self.report.exit_code()
    }

    /// One line: verdicts, calls, replays, findings, login failures.
    pub fn summary_line(&self) -> String {
        let line = format!(
            "{}; {} calls ({} Web Form 2.0, {} judged), {} replays, {} app findings, {} login failures, {} shape differences",
            report::summary_line(&self.report),
            self.calls,
            self.web_form_calls,
            self.web_form_judged,
            self.replays,
            self.findings.len(),
            self.login_failures.len(),
            self.shape_differences.len()
        );
        self.redactor.scrub(&line)
    }

    /// The sections after the matrix, as rows of text.
    fn sections(&self) -> Vec<Section> {
        let traffic = vec![vec![
            self.calls.to_string(),
            self.web_form_calls.to_string(),
            self.web_form_judged.to_string(),
            self.replays.to_string(),
            self.controls.to_string(),
            self.identify_reads.to_string(),
            self.unknown_callers.to_string(),
            self.not_in_catalogue.to_string(),
        ]];
        let callers = self
            .callers
            .iter()
            .map(|c| vec![c.caller.clone(), c.how.clone(), c.calls.to_string()])
            .collect();
        let deferred = self
            .deferred
            .iter()
            .map(|d| {
                let never: Vec<String> = d
                    .never_sent
                    .iter()
                    .map(|(why, n)| format!("{n}: {why}"))
                    .collect();
                vec![
                    d.operation.clone(),
                    d.principal.name().to_string(),
                    d.waited_for.clone(),
                    d.deferred.to_string(),
                    d.sent.to_string(),
                    never.join("; "),
                ]
            })
            .collect();
        let findings = self
            .findings
            .iter()
            .map(|f| {
                vec![
                    f.kind.to_string(),
                    f.operation.clone(),
                    f.caller.clone(),
                    f.calls.to_string(),
                    f.detail.clone(),
                    f.example.clone(),
                ]
            })
            .collect();
        let logins = self
            .login_failures
            .iter()
            .map(|f| {
                vec![
                    f.operation.clone(),
                    f.client.name().to_string(),
                    f.user.clone(),
                    f.status.to_string(),
                    f.calls.to_string(),
                    f.reason.clone(),
                ]
            })
            .collect();
        let shapes = self
            .shape_differences
            .iter()
            .map(|d| {
                vec![
                    d.operation.clone(),
                    d.status.to_string(),
                    d.path.clone(),
                    d.problem.clone(),
                    d.answers.to_string(),
                ]
            })
            .collect();
        let replay = self
            .replay
            .iter()
            .map(|n| {
                let who: Vec<&str> = n.principals.iter().map(|p| p.name()).collect();
                let why: Vec<&str> = n.not_replayed.iter().map(String::as_str).collect();
                vec![
                    n.operation.clone(),
                    n.replays.to_string(),
                    who.join(", "),
                    why.join("; "),
                ]
            })
            .collect();
        vec![
            Section {
                id: "traffic",
                title: "Traffic",
                header: &[
                    "calls",
                    "Web Form 2.0 calls",
                    "judged",
                    "replays",
                    "liveness controls",
                    "identifying reads",
                    "by unknown tokens (not judged)",
                    "not in the catalogue",
                ],
                rows: traffic,
                empty: "",
            },
            Section {
                id: "callers",
                title: "Callers (how each was identified)",
                header: &["caller", "identified by", "calls"],
                rows: callers,
                empty: "no call carried a token",
            },
            Section {
                id: "findings",
                title: "The app's own findings (not finAPI's verdicts)",
                header: &[
                    "finding",
                    "operation",
                    "caller",
                    "calls",
                    "detail",
                    "example",
                ],
                rows: findings,
                empty: "none",
            },
            Section {
                id: "login-failures",
                title: "The app's login failures (not finAPI's verdicts)",
                header: &[
                    "grant",
                    "client",
                    "user",
                    "status",
                    "calls",
                    "why not judged",
                ],
                rows: logins,
                empty: "none",
            },
            Section {
                id: "shapes",
                title: "Shape differences (answers that differ from the documented shape)",
                header: &["operation", "status", "path", "difference", "answers"],
                rows: shapes,
                empty: "none",
            },
            Section {
                id: "replay",
                title: "Replay",
                header: &[
                    "operation",
                    "replays",
                    "as",
                    "not replayed, or no verdict, because",
                ],
                rows: replay,
                empty: "nothing replayed (--replay off)",
            },
            Section {
                id: "deferred",
                title: "Deferred replays (waited for a principal the proxy held no token for yet)",
                header: &[
                    "operation",
                    "as",
                    "waited for",
                    "deferred",
                    "sent",
                    "never sent, because",
                ],
                rows: deferred,
                empty: "none",
            },
        ]
    }

    /// The sections as terminal text.
    fn text_sections(&self) -> String {
        let mut out = String::new();
        for s in self.sections() {
            let _ = writeln!(out, "\n{}", s.title);
            if s.rows.is_empty() {
                let _ = writeln!(out, "  {}", s.empty);
            }
            for row in &s.rows {
                let cells: Vec<String> = s
                    .header
                    .iter()
                    .zip(row)
                    .filter(|(_, v)| !v.is_empty())
                    .map(|(h, v)| format!("{h}: {v}"))
                    .collect();
                let _ = writeln!(out, "  {}", cells.join(" | "));
            }
        }
        out
    }

    /// The sections as Markdown tables.
    fn markdown_sections(&self) -> String {
        let cell = |t: &str| t.replace('|', "\\|").replace('\n', " ");
        let mut out = String::new();
        for s in self.sections() {
            let _ = writeln!(out, "\n### {}\n", s.title);
            if s.rows.is_empty() {
                let _ = writeln!(out, "{}", s.empty);
                continue;
            }
            let _ = writeln!(out, "| {} |", s.header.join(" | "));
            let _ = writeln!(out, "|{}", "---|".repeat(s.header.len()));
            for row in &s.rows {
                let cells: Vec<String> = row.iter().map(|c| cell(c)).collect();
                let _ = writeln!(out, "| {} |", cells.join(" | "));
            }
        }
        out
    }

    /// The sections as HTML tables that wrap to the page's width.
    fn html_sections(&self) -> String {
        let mut out = String::from(
            "<section id=\"proxy\">\n<style>\
             #proxy table{border-collapse:collapse;width:100%;table-layout:auto;font-size:13px;margin:.3em 0 1.2em}\
             #proxy th,#proxy td{border:1px solid #d7dbe2;padding:3px 6px;text-align:left;vertical-align:top;overflow-wrap:break-word}\
             #proxy thead th{background:#eef1f5;font-weight:600}\
             #proxy td.num{text-align:right;white-space:nowrap}\
             #proxy code{font-family:ui-monospace,monospace;font-size:12px;overflow-wrap:anywhere;word-break:break-all}\
             #proxy h2{font-size:1.15em;margin:1.2em 0 .3em}\
             </style>\n",
        );
        for s in self.sections() {
            let _ = writeln!(out, "<h2 id=\"{}-title\">{}</h2>", s.id, escape(s.title));
            if s.rows.is_empty() {
                let _ = writeln!(out, "<p id=\"{}\">{}</p>", s.id, escape(s.empty));
                continue;
            }
            let _ = write!(out, "<table id=\"{}\"><thead><tr>", s.id);
            for h in s.header {
                let _ = write!(out, "<th>{}</th>", escape(h));
            }
            out.push_str("</tr></thead><tbody>\n");
            for row in &s.rows {
                out.push_str("<tr>");
                for v in row {
                    let numeric = !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit());
                    if numeric {
                        let _ = write!(out, "<td class=\"num\">{v}</td>");
                    } else if v.starts_with('/') || v.contains(" /") || v.starts_with('$') {
                        let _ = write!(out, "<td><code>{}</code></td>", escape(v));
                    } else {
                        let _ = write!(out, "<td>{}</td>", escape(v));
                    }
                }
                out.push_str("</tr>\n");
            }
            out.push_str("</tbody></table>\n");
        }
        out.push_str("</section>\n");
        out
    }

    /// Render in one of `check`'s formats.
    pub fn render(&self, format: Format, color: bool) -> String {
        self.redactor.scrub(&self.render_unscrubbed(format, color))
    }

    fn render_unscrubbed(&self, format: Format, color: bool) -> String {
        match format {
            Format::Json => serde_json::to_string_pretty(self).unwrap_or_default() + "\n",
            Format::Table => report::render(&self.report, format, color) + &self.text_sections(),
            Format::Markdown => {
                report::render(&self.report, format, false) + &self.markdown_sections()
            }
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
                let section = self.html_sections();
                match base.rfind("<script type=\"application/json\"") {
                    Some(at) => format!("{}{section}{}", &base[..at], &base[at..]),
                    None => base + &section,
                }
            }
        }
    }
}
