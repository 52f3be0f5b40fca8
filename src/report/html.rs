//! `--format html`: one self-contained page (inline CSS and JavaScript, a Content Security
//! Policy that forbids every outside request) with the role matrix as a coloured grid of
//! operations x principals. Each cell opens the check's redacted request and response and the
//! rule it tests with the rule's documentation source; filters by section, rule and verdict
//! work in the page, without a server.
//!
//! The page holds only what the report holds: evidence is redacted when it is captured (see
//! `runner::evidence`), and the CLI scrubs the rendered page with its redactor as well.

use std::fmt::Write;

use serde_json::json;

use crate::model::{Principal, Verdict};
use crate::runner::{CheckResult, Report};

use super::escape;

/// JSON that is safe inside a `<script>` element: no `<`, `>` or `&` survive outside escapes.
fn script_json(value: &serde_json::Value) -> String {
    serde_json::to_string_pretty(value)
        .unwrap_or_else(|_| "[]".into())
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

/// The CSS class and the mark of a verdict.
fn verdict_class(v: Verdict) -> (&'static str, &'static str) {
    match v {
        Verdict::Pass => ("v-pass", "\u{2713}"),
        Verdict::Violation => ("v-violation", "\u{2717}"),
        Verdict::Inconclusive => ("v-inconclusive", "?"),
        Verdict::Skipped => ("v-skipped", "\u{2013}"),
    }
}

const STYLE: &str = r#"
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#1d2330;background:#fafbfc}
h1{font-size:1.4em;margin:0 0 .3em}
.meta{color:#4a5262;margin:.2em 0}
ul.services{padding-left:1.2em}
.totals span{display:inline-block;margin-right:1em}
.filters{margin:1em 0;display:flex;gap:1em;flex-wrap:wrap;align-items:center}
.legend span{display:inline-block;padding:0 .5em;margin-right:.4em;border-radius:3px}
.layout{display:flex;gap:1.5em;align-items:flex-start}
table.grid{border-collapse:collapse;font-size:13px}
.grid th,.grid td{border:1px solid #d7dbe2;padding:2px 6px}
.grid thead th{position:sticky;top:0;background:#eef1f5;font-weight:600}
.grid th.op{text-align:left;font-family:ui-monospace,monospace;font-weight:normal;white-space:nowrap}
.grid tr.section th{background:#e3e8ef;text-align:left}
td.cell{text-align:center;min-width:1.6em;cursor:pointer}
td.cell:focus{outline:2px solid #1d4ed8}
td.na{background:#fff}
.v-pass{background:#d9f2dd;color:#1b5e20}
.v-violation{background:#c62828;color:#fff;font-weight:700}
.v-inconclusive{background:#ffe08a;color:#6d4c00}
.v-skipped{background:#eceff1;color:#78838f}
td.cell.filtered{visibility:hidden}
tr.filtered{display:none}
#detail{position:sticky;top:1em;max-width:48em;background:#fff;border:1px solid #c9ced8;border-radius:6px;padding:1em}
#detail pre{background:#f3f5f8;padding:.5em;overflow:auto;max-height:18em;white-space:pre-wrap;word-break:break-all}
#detail h2{font-size:1.1em;margin:0 0 .4em}
#detail dt{font-weight:600}
#detail dd{margin:0 0 .4em}
.badge{padding:0 .4em;border-radius:3px}
"#;

const SCRIPT: &str = r#"
(function(){
  var data = JSON.parse(document.getElementById('report-data').textContent);
  function set(id, text){ document.getElementById(id).textContent = text; }
  function show(i){
    var d = data[i];
    var box = document.getElementById('detail');
    box.hidden = false;
    box.dataset.check = i;
    set('d-title', d.operation + ' as ' + d.principal);
    var badge = document.getElementById('d-verdict');
    badge.textContent = d.verdict;
    badge.className = 'badge v-' + d.verdict;
    set('d-expected', d.expected);
    set('d-observed', d.observed);
    set('d-reason', d.reason);
    set('d-rule', d.rule + ': ' + d.statement);
    set('d-source', d.source);
    set('d-request', d.request || '(no single request: ' + (d.section === 'Lifecycle' ? 'a lifecycle scenario of several requests' : 'not sent') + ')');
    set('d-auth', d.authorization || '(no bearer token)');
    set('d-request-body', d.request_body || '(no body)');
    set('d-response', d.response_body || '(no body)');
  }
  var cells = document.querySelectorAll('td.cell[data-idx]');
  cells.forEach(function(td){
    td.addEventListener('click', function(){ show(td.dataset.idx); });
    td.addEventListener('keydown', function(e){ if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); show(td.dataset.idx); } });
  });
  function apply(){
    var s = document.getElementById('f-section').value;
    var r = document.getElementById('f-rule').value;
    var v = document.getElementById('f-verdict').value;
    var shown = 0;
    cells.forEach(function(td){
      var ok = (!s || td.dataset.section === s) && (!r || td.dataset.rule === r) && (!v || td.dataset.verdict === v);
      td.classList.toggle('filtered', !ok);
      if (ok) shown++;
    });
    document.querySelectorAll('tr.op').forEach(function(tr){
      tr.classList.toggle('filtered', !tr.querySelector('td.cell[data-idx]:not(.filtered)'));
    });
    document.querySelectorAll('tr.section').forEach(function(tr){
      tr.classList.toggle('filtered', !document.querySelector('tr.op[data-section="' + CSS.escape(tr.dataset.section) + '"]:not(.filtered)'));
    });
    set('shown', shown + ' of ' + cells.length + ' checks shown');
  }
  ['f-section','f-rule','f-verdict'].forEach(function(id){ document.getElementById(id).addEventListener('change', apply); });
  apply();
})();
"#;

fn options(out: &mut String, id: &str, label: &str, values: &[String]) {
    let _ = write!(
        out,
        "<label>{label} <select id=\"{id}\"><option value=\"\">all</option>"
    );
    for v in values {
        let _ = write!(out, "<option value=\"{0}\">{0}</option>", escape(v));
    }
    out.push_str("</select></label>");
}

fn detail_of(r: &CheckResult) -> serde_json::Value {
    let e = r.evidence.clone().unwrap_or_default();
    json!({
        "operation": r.operation,
        "principal": r.principal.name(),
        "section": r.section,
        "expected": r.expected,
        "observed": r.observed_status.map_or("no status".to_string(), |s| s.to_string()),
        "verdict": r.verdict.name(),
        "reason": r.reason,
        "rule": r.rule.id(),
        "statement": r.rule.statement(),
        "source": r.rule.source(),
        "request": e.request,
        "authorization": e.authorization,
        "request_body": e.request_body,
        "response_body": e.response_body,
    })
}

/// Render the report as one HTML page.
pub fn render(report: &Report) -> String {
    let s = report.summary();
    let title = format!(
        "finAPI role boundaries: API {} against {}",
        report.api_version.label(),
        report.target
    );
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        escape(&title)
    );
    let verdict_line = if s.violations == 0 {
        "all boundaries held"
    } else {
        "BOUNDARY VIOLATIONS"
    };
    let _ = writeln!(
        out,
        "<h1 id=\"verdict\">{} — {verdict_line}</h1>",
        escape(&title)
    );
    let _ = writeln!(
        out,
        "<p class=\"meta\">{:?} mode · {:.1}s · {}{}</p>",
        report.mode,
        report.duration_ms as f64 / 1000.0,
        escape(&super::coverage(report)),
        if report.interrupted {
            " · interrupted"
        } else {
            ""
        }
    );
    if !report.services.is_empty() {
        out.push_str("<ul class=\"meta services\" id=\"services\">");
        for line in &report.services {
            let at = line
                .address
                .as_deref()
                .map_or(String::new(), |a| format!(" at <code>{}</code>", escape(a)));
            if line.checked {
                let _ = write!(
                    out,
                    "<li>{}{at}: checked ({})</li>",
                    escape(&line.service),
                    escape(&line.note)
                );
            } else {
                let _ = write!(
                    out,
                    "<li>{}: <strong>not checked</strong>: {}</li>",
                    escape(&line.service),
                    escape(&line.note)
                );
            }
        }
        out.push_str("</ul>\n");
    }
    let _ = writeln!(
        out,
        "<p class=\"totals\" id=\"totals\"><span>{} checks</span><span class=\"v-pass badge\">{} passed</span>\
         <span class=\"v-violation badge\">{} violations</span><span class=\"v-inconclusive badge\">{} inconclusive</span>\
         <span class=\"v-skipped badge\">{} skipped</span><span>{} unfinished</span></p>",
        s.total,
        s.passed,
        s.violations,
        s.inconclusive,
        s.skipped,
        report.unfinished.len()
    );

    // Rows: operations in report order, grouped by section.
    let mut sections: Vec<String> = Vec::new();
    let mut rows: Vec<(String, String)> = Vec::new();
    for r in &report.results {
        if !sections.contains(&r.section) {
            sections.push(r.section.clone());
        }
        if !rows.iter().any(|(_, op)| *op == r.operation) {
            rows.push((r.section.clone(), r.operation.clone()));
        }
    }
    let mut rules: Vec<String> = report
        .results
        .iter()
        .map(|r| r.rule.id().to_string())
        .collect();
    rules.sort();
    rules.dedup();
    let verdicts: Vec<String> = ["pass", "violation", "inconclusive", "skipped"]
        .iter()
        .map(|v| v.to_string())
        .collect();

    out.push_str("<div class=\"filters\">");
    options(&mut out, "f-section", "Section", &sections);
    options(&mut out, "f-rule", "Rule", &rules);
    options(&mut out, "f-verdict", "Verdict", &verdicts);
    out.push_str("<span id=\"shown\"></span></div>\n");
    out.push_str(
        "<p class=\"legend\"><span class=\"v-pass\">\u{2713} pass</span><span class=\"v-violation\">\u{2717} violation</span>\
         <span class=\"v-inconclusive\">? inconclusive</span><span class=\"v-skipped\">\u{2013} skipped</span>\
         <span>blank: not applicable</span> · click a cell for its request, response and rule</p>\n",
    );

    out.push_str(
        "<div class=\"layout\">\n<table class=\"grid\" id=\"grid\">\n<thead><tr><th>operation</th>",
    );
    for p in Principal::ALL {
        let _ = write!(
            out,
            "<th title=\"{}\">{}</th>",
            escape(p.name()),
            escape(p.short())
        );
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    let width = Principal::ALL.len() + 1;
    for section in &sections {
        let _ = writeln!(
            out,
            "<tr class=\"section\" data-section=\"{0}\"><th colspan=\"{width}\">{0}</th></tr>",
            escape(section)
        );
        for (_, op) in rows.iter().filter(|(s, _)| s == section) {
            let _ = write!(
                out,
                "<tr class=\"op\" data-section=\"{}\"><th class=\"op\">{}</th>",
                escape(section),
                escape(op)
            );
            for p in Principal::ALL {
                match report
                    .results
                    .iter()
                    .position(|r| r.operation == *op && r.principal == p)
                {
                    Some(i) => {
                        let r = &report.results[i];
                        let (class, mark) = verdict_class(r.verdict);
                        let _ = write!(
                            out,
                            "<td class=\"cell {class}\" id=\"c-{i}\" tabindex=\"0\" data-idx=\"{i}\" data-section=\"{}\" data-rule=\"{}\" data-verdict=\"{}\" title=\"{} as {}: {}\">{mark}</td>",
                            escape(&r.section),
                            escape(r.rule.id()),
                            r.verdict.name(),
                            escape(op),
                            escape(p.name()),
                            r.verdict.name()
                        );
                    }
                    None => out.push_str("<td class=\"na\"></td>"),
                }
            }
            out.push_str("</tr>\n");
        }
    }
    out.push_str("</tbody>\n</table>\n");
    out.push_str(
        "<aside id=\"detail\" hidden>\n<h2 id=\"d-title\"></h2>\n<p><span id=\"d-verdict\" class=\"badge\"></span></p>\n<dl>\
         <dt>expected</dt><dd id=\"d-expected\"></dd><dt>observed status</dt><dd id=\"d-observed\"></dd>\
         <dt>why</dt><dd id=\"d-reason\"></dd><dt>rule</dt><dd id=\"d-rule\"></dd>\
         <dt>documentation source</dt><dd id=\"d-source\"></dd></dl>\n\
         <h3>request (redacted)</h3><pre id=\"d-request\"></pre><pre id=\"d-auth\"></pre><pre id=\"d-request-body\"></pre>\n\
         <h3>response (redacted)</h3><pre id=\"d-response\"></pre>\n</aside>\n</div>\n",
    );
    if !report.unfinished.is_empty() {
        let _ = writeln!(
            out,
            "<h2>Unfinished checks ({})</h2>\n<p>Run them with <code>--resume</code> on this run's JSON report.</p>\n<ul id=\"unfinished\">",
            report.unfinished.len()
        );
        for k in &report.unfinished {
            let _ = writeln!(
                out,
                "<li>{} as {}</li>",
                escape(&k.operation),
                escape(k.principal.name())
            );
        }
        out.push_str("</ul>\n");
    }
    let data: Vec<serde_json::Value> = report.results.iter().map(detail_of).collect();
    let _ = write!(
        out,
        "<script type=\"application/json\" id=\"report-data\">{}</script>\n<script>{SCRIPT}</script>\n</body>\n</html>\n",
        script_json(&serde_json::Value::Array(data))
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_json_cannot_close_the_script_element() {
        let v = json!({ "body": "</script><script>alert(1)</script> & more" });
        let text = script_json(&v);
        assert!(!text.contains('<') && !text.contains('>') && !text.contains('&'));
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
