//! `check --dry-run`: every request a run would send, with placeholders for tokens and
//! secrets, and nothing sent.

use super::http::{Body, Http, Limits};
use super::session::{Session, SessionOptions};
use super::{lifecycle, planned_checks, probe, CheckConfig, Target};
use crate::model::Catalogue;

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
    let session = Session::offline(
        http,
        config.credentials_or_default(),
        catalogue.clone(),
        SessionOptions::new(config.version),
    );
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Dry run against {} (API {}): nothing is sent.",
        config.target.display(),
        config.version.label()
    );
    let _ = writeln!(out, "Set-up: a client_credentials token per configured client; users {}a0, {}b1, ... created, verified and logged in; one token revoked; at the end every user of the run is deleted.", session.prefix, session.prefix);
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
                let r = &probe.request;
                let body = match &r.body {
                    Body::None => String::new(),
                    Body::Json(v) => format!(" json={v}"),
                    Body::Form(pairs) => {
                        let shown: Vec<String> = pairs
                            .iter()
                            .map(|(k, v)| match k.as_str() {
                                "client_secret" | "password" | "refresh_token" => {
                                    format!("{k}=<redacted>")
                                }
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
                let _ = writeln!(
                    out,
                    "{} {}{auth}{body}    # {} as {principal}",
                    r.method, r.path, op.id
                );
            }
            Err(why) => {
                let _ = writeln!(out, "SKIP {} as {principal}: {why}", op.id);
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
