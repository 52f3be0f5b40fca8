//! `check --dry-run`: every request a run would send, with placeholders for tokens and
//! secrets, and nothing sent.

use super::http::{Body, Http, HttpRequest, Limits};
use super::services::{webform_calibration, Services};
use super::session::{Session, SessionOptions};
use super::{ids, lifecycle, planned_checks, probe, CheckConfig, Target};
use crate::model::{Catalogue, Principal};

/// Every request a run would send, with placeholders for tokens and secrets.
pub fn dry_run(config: &CheckConfig) -> Result<String, String> {
    use std::fmt::Write;
    let catalogue = Catalogue::embedded().with_readings(&config.readings);
    let base = match &config.target {
        Target::Remote { base_url } => base_url.clone(),
        Target::InProcess { .. } => "http://127.0.0.1:0".into(),
    };
    // Refused as a real run would be (plain http to a remote host, an unusable --ca-cert).
    let http = Http::with_transport(&base, Limits::local(), &config.transport)?;
    let mut opts = SessionOptions::new(config.version);
    // Where the configuration puts each service; a real run also asks a `serve` for its
    // health, and then looks for Web Form 2.0 on its own address.
    opts.services = Services::assumed(config.addresses());
    let session = Session::offline(
        http,
        config.credentials_or_default(),
        catalogue.clone(),
        opts,
    );
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Dry run against {} (API {}): nothing is sent.",
        config.target.display(),
        config.version.label()
    );
    let _ = writeln!(out, "Set-up: a client_credentials token per configured client; users {}a0, {}b1, ... created, verified and logged in; one token revoked; at the end every user of the run is deleted.", session.prefix, session.prefix);
    for line in session.services.lines() {
        let _ = writeln!(out, "SERVICE {}", line.describe());
    }
    if let (Some(op), Ok(path)) = (
        webform_calibration(&catalogue).filter(|_| config.target.is_remote()),
        session.service_path(crate::model::Api::WebForm2, ""),
    ) {
        let _ = writeln!(
            out,
            "{} {path}{}    # calibration: does Web Form 2.0 answer here (401 without a token)?",
            op.method, op.path
        );
    }
    // Calibration and evidence requests (src/runner/probe.rs): inert by construction.
    for (op, principal) in probe::calibration_pairs(&session) {
        let _ = writeln!(
            out,
            "{} {} bearer=<{principal}> json={{}}    # calibration: does the target validate before the role check?",
            op.method, op.path
        );
    }
    let proofs: Vec<&str> = catalogue
        .operations(config.version)
        .filter(|op| probe::proof_body(&session, op).is_some())
        .map(|op| op.id.as_str())
        .collect();
    let _ = writeln!(out, "EVIDENCE only when a denied caller gets a 4xx other than 401/403 and the target does not check the role first: the same request by an allowed caller (where that is inert), and a valid body naming only unknown ids for {}", proofs.join(", "));
    for (op, principal) in planned_checks(&catalogue, config.version, &config.filters) {
        if config.target.is_remote()
            && !config.allow_mutations
            && probe::harmful_if_broken(op, principal)
        {
            let _ = writeln!(
                out,
                "SKIP {} as {principal}: needs --allow-mutations",
                op.id
            );
            continue;
        }
        match probe::build(&session, op, principal) {
            Ok(probe) => {
                let _ = writeln!(out, "{}", line(&probe.request, principal, &op.id));
            }
            Err(why) => {
                let _ = writeln!(out, "SKIP {} as {principal}: {why}", op.id);
            }
        }
    }
    for check in ids::planned_id_checks(&catalogue, config.version, &config.filters) {
        let name = check.name();
        let principal = check.principal;
        match ids::dry_request(&session, &check) {
            Ok(request) => {
                let before = if check.is_filter() {
                    "after the run user's own same request"
                } else {
                    "between the run user's reads of it, and again naming an unknown id"
                };
                let _ = writeln!(out, "{}    ({before})", line(&request, principal, &name));
            }
            Err(why) => {
                let _ = writeln!(out, "SKIP {name} as {principal}: {why}");
            }
        }
    }
    if config.lifecycle {
        for sc in lifecycle::scenarios() {
            let _ = writeln!(
                out,
                "SCENARIO lifecycle:{} ({}): several requests on users created for it",
                sc.name, sc.rule
            );
        }
    }
    Ok(out)
}

/// One request as the dry run shows it: method, path, whose token, the body with its secrets
/// redacted, and the check it belongs to.
fn line(r: &HttpRequest, principal: Principal, check: &str) -> String {
    let body = match &r.body {
        Body::None => String::new(),
        Body::Json(v) => format!(" json={v}"),
        Body::Form(pairs) => {
            let shown: Vec<String> = pairs
                .iter()
                .map(|(k, v)| match k.as_str() {
                    "client_secret" | "password" | "refresh_token" => format!("{k}=<redacted>"),
                    _ => format!("{k}={v}"),
                })
                .collect();
            format!(" form={}", shown.join("&"))
        }
    };
    let auth = r
        .bearer
        .as_deref()
        .map(|_| format!(" bearer=<{principal}>"))
        .unwrap_or_default();
    format!(
        "{} {}{auth}{body}    # {check} as {principal}",
        r.method, r.path
    )
}
