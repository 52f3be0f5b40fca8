//! Long runs that can stop and go on: a [`Recorder`] keeps every check as it finishes (so an
//! interrupt or a checkpoint can write what is done and list what is not), and `--resume
//! REPORT.json` ([`Previous`]) re-runs only the checks a previous JSON report left failed,
//! inconclusive or unfinished, then merges its settled checks with the new results.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::evidence::Evidence;
use super::services::ServiceLine;
use super::{lifecycle, planned_checks, CheckConfig, CheckResult, Report};
use crate::model::{Catalogue, Principal, Rule, Verdict};

/// One check: an operation (or `lifecycle:<scenario>`) and a principal.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CheckKey {
    pub operation: String,
    pub principal: Principal,
}

/// Every check as it finishes, and where the run found the target's services, shared by the
/// run and whoever writes checkpoints.
#[derive(Debug, Clone, Default)]
pub struct Recorder {
    finished: Arc<Mutex<Vec<CheckResult>>>,
    services: Arc<Mutex<Vec<ServiceLine>>>,
}

impl Recorder {
    pub fn push(&self, result: &CheckResult) {
        self.finished.lock().push(result.clone());
    }
    /// The checks finished so far, in the order they finished.
    pub fn finished(&self) -> Vec<CheckResult> {
        self.finished.lock().clone()
    }
    pub fn len(&self) -> usize {
        self.finished.lock().len()
    }
    pub fn is_empty(&self) -> bool {
        self.finished.lock().is_empty()
    }
    /// Where the run found its services (once it has looked).
    pub fn set_services(&self, lines: Vec<ServiceLine>) {
        *self.services.lock() = lines;
    }
    pub fn services(&self) -> Vec<ServiceLine> {
        self.services.lock().clone()
    }
}

/// Every check a run plans, in report order: the matrix, the id cells, then the lifecycle
/// scenarios.
pub fn planned(config: &CheckConfig, catalogue: &Catalogue) -> Vec<CheckKey> {
    let mut out: Vec<CheckKey> = planned_checks(catalogue, config.version, &config.filters)
        .into_iter()
        .map(|(op, principal)| CheckKey {
            operation: op.id.clone(),
            principal,
        })
        .collect();
    out.extend(
        super::ids::planned_id_checks(catalogue, config.version, &config.filters)
            .into_iter()
            .map(|c| CheckKey {
                operation: c.name(),
                principal: c.principal,
            }),
    );
    if config.lifecycle {
        for sc in lifecycle::scenarios() {
            let name = format!("lifecycle:{}", sc.name);
            if config.filters.admits(&[
                &name,
                sc.name,
                "lifecycle",
                sc.principal.name(),
                sc.rule.id(),
            ]) {
                out.push(CheckKey {
                    operation: name,
                    principal: sc.principal,
                });
            }
        }
    }
    out
}

/// The planned checks that neither `results` nor a resumed report settled.
pub fn unfinished(
    config: &CheckConfig,
    catalogue: &Catalogue,
    results: &[CheckResult],
) -> Vec<CheckKey> {
    let done: HashSet<(&str, Principal)> = results
        .iter()
        .map(|r| (r.operation.as_str(), r.principal))
        .collect();
    planned(config, catalogue)
        .into_iter()
        .filter(|k| !done.contains(&(k.operation.as_str(), k.principal)))
        .filter(|k| {
            !config
                .resume
                .as_ref()
                .is_some_and(|p| p.settled(&k.operation, k.principal))
        })
        .collect()
}

/// Put results in the order the run plans them (finished order is arbitrary).
fn sort_planned(results: &mut [CheckResult], order: &[CheckKey]) {
    let index: HashMap<(&str, Principal), usize> = order
        .iter()
        .enumerate()
        .map(|(i, k)| ((k.operation.as_str(), k.principal), i))
        .collect();
    results.sort_by_key(|r| {
        index
            .get(&(r.operation.as_str(), r.principal))
            .copied()
            .unwrap_or(usize::MAX)
    });
}

/// A report of a run still going: what has finished (plus what a resumed report settled) and
/// what has not.
pub fn checkpoint(
    config: &CheckConfig,
    catalogue: &Catalogue,
    recorder: &Recorder,
    elapsed: Duration,
) -> Report {
    let mut results = recorder.finished();
    if let Some(previous) = &config.resume {
        results.extend(previous.kept.iter().cloned());
    }
    let order = planned(config, catalogue);
    sort_planned(&mut results, &order);
    let unfinished = unfinished(config, catalogue, &results);
    Report {
        target: config.target.display(),
        api_version: config.version,
        mode: config.mode,
        duration_ms: elapsed.as_millis() as u64,
        results,
        leftover_users: 0,
        interrupted: false,
        unfinished,
        services: recorder.services(),
    }
}

/// Write a checkpoint of the running `config` to `path` every `every`, until dropped. Each
/// file is written through `scrub` (the CLI's redactor) and replaced whole (a rename), so an
/// abrupt end leaves the last complete checkpoint. Run it beside [`super::run`] in a select.
pub async fn write_checkpoints(
    config: CheckConfig,
    path: std::path::PathBuf,
    every: Duration,
    scrub: impl Fn(&str) -> String,
) {
    let started = Instant::now();
    let catalogue = Catalogue::embedded().with_readings(&config.readings);
    let Some(recorder) = config.recorder.clone() else {
        return std::future::pending().await;
    };
    let mut ticks = tokio::time::interval(every);
    ticks.tick().await;
    loop {
        ticks.tick().await;
        let report = checkpoint(&config, &catalogue, &recorder, started.elapsed());
        let text = scrub(&report.to_json());
        let tmp = path.with_extension("partial");
        if std::fs::write(&tmp, text).is_ok() {
            let _ = std::fs::rename(&tmp, &path);
        }
    }
}

/// What a previous JSON report settled: its passes and skips are kept, everything else
/// (violations, inconclusive checks, unfinished checks) runs again.
#[derive(Debug, Clone, Default)]
pub struct Previous {
    kept: Vec<CheckResult>,
    settled: HashSet<(String, Principal)>,
    /// How many of the previous report's checks run again.
    pub rerun: usize,
}

fn verdict_named(name: &str) -> Option<Verdict> {
    [
        Verdict::Pass,
        Verdict::Violation,
        Verdict::Inconclusive,
        Verdict::Skipped,
    ]
    .into_iter()
    .find(|v| v.name() == name)
}

fn result_from_json(v: &Value, catalogue: &Catalogue, config: &CheckConfig) -> Option<CheckResult> {
    let text = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    let operation = text("operation")?;
    let section = if operation.starts_with("lifecycle:") {
        "Lifecycle".to_string()
    } else {
        catalogue.get(config.version, &operation)?.section.clone()
    };
    Some(CheckResult {
        section,
        method: text("method").unwrap_or_default(),
        path: text("path").unwrap_or_default(),
        principal: text("principal")?.parse().ok()?,
        expected: text("expected").unwrap_or_default(),
        observed_status: v
            .get("observed_status")
            .and_then(Value::as_u64)
            .and_then(|s| u16::try_from(s).ok()),
        verdict: verdict_named(&text("verdict")?)?,
        reason: text("reason").unwrap_or_default(),
        rule: {
            let id = text("rule")?;
            Rule::ALL.iter().copied().find(|r| r.id() == id)?
        },
        latency_ms: v.get("latency_ms").and_then(Value::as_u64).unwrap_or(0),
        evidence: v
            .get("evidence")
            .and_then(|e| serde_json::from_value::<Evidence>(e.clone()).ok()),
        operation,
    })
}

impl Previous {
    /// Read a JSON report (`--format json`, complete, interrupted or a checkpoint) of the
    /// same API version as `config`.
    pub fn load(path: &Path, config: &CheckConfig) -> Result<Previous, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read report {}: {e}", path.display()))?;
        Previous::from_json(&text, config)
            .map_err(|e| format!("cannot resume from {}: {e}", path.display()))
    }

    pub fn from_json(text: &str, config: &CheckConfig) -> Result<Previous, String> {
        let value: Value = serde_json::from_str(text)
            .map_err(|_| "not a JSON report of this tool (use --format json)".to_string())?;
        let results = value
            .get("results")
            .and_then(Value::as_array)
            .ok_or("not a JSON report of this tool: it has no results")?;
        let version = value.get("api_version").and_then(Value::as_str);
        if version != Some(config.version.label())
            && version != Some(&config.version.label().to_lowercase())
        {
            return Err(format!(
                "the report is of API {}, this run of API {}",
                version.unwrap_or("?"),
                config.version.label()
            ));
        }
        let catalogue = Catalogue::embedded().with_readings(&config.readings);
        let mut previous = Previous::default();
        for r in results {
            let parsed = result_from_json(r, &catalogue, config).ok_or(
                "a result of the report names an unknown operation, principal, rule or verdict",
            )?;
            if matches!(parsed.verdict, Verdict::Pass | Verdict::Skipped) {
                previous
                    .settled
                    .insert((parsed.operation.clone(), parsed.principal));
                previous.kept.push(parsed);
            } else {
                previous.rerun += 1;
            }
        }
        previous.rerun += value
            .get("unfinished")
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        Ok(previous)
    }

    /// True when the previous report settled this check (it is not run again).
    pub fn settled(&self, operation: &str, principal: Principal) -> bool {
        self.settled.contains(&(operation.to_string(), principal))
    }

    /// How many checks the previous report settled.
    pub fn kept(&self) -> usize {
        self.kept.len()
    }

    /// The new run's report with the previous report's settled checks merged in, in plan
    /// order. Settled checks outside this run's filters stay out.
    pub fn merge(&self, mut report: Report, catalogue: &Catalogue, config: &CheckConfig) -> Report {
        let order = planned(config, catalogue);
        let wanted: HashSet<(&str, Principal)> = order
            .iter()
            .map(|k| (k.operation.as_str(), k.principal))
            .collect();
        report.results.extend(
            self.kept
                .iter()
                .filter(|r| wanted.contains(&(r.operation.as_str(), r.principal)))
                .cloned(),
        );
        sort_planned(&mut report.results, &order);
        report
    }
}
