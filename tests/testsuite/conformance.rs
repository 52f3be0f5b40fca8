//! The mock speaks finAPI's published contract: every answer to every catalogue operation, as
//! every principal and on the documented error paths, is validated against the response shapes
//! (`fixtures/shapes/`, `Shapes::validate`). Prints "operations whose responses all conform:
//! V1 a/b, V2 c/d" and fails on any problem, and on any (operation, status) pair the shapes
//! do not document for the operation (short of [`ALLOWED_UNDOCUMENTED`], empty); then shows
//! that the same machinery reports a drifted mock (`shape-drift`), an undocumented status
//! (`forbidden-as-401`) and a shape the mock does not meet.

use crate::traffic;

use std::collections::{BTreeMap, BTreeSet};

use finapi_conformance::model::ApiVersion;
use finapi_conformance::model::Shapes;
use finapi_conformance::{Faults, Violation};
use traffic::Exchange;

/// (operation, status) pairs the mock may answer although the shapes do not document them for
/// the operation, each with the reason finAPI itself answers it. Empty: every status the mock
/// gives is one finAPI documents for the operation (refusals included: see
/// `Operation::unauthenticated_status` and the `general-refusal-statuses` reading).
const ALLOWED_UNDOCUMENTED: &[(&str, u16, &str)] = &[];

/// The undocumented pairs the allow-list does not excuse, as `operation status`.
fn unexcused(j: &Judgement) -> Vec<String> {
    j.undocumented
        .iter()
        .filter(|(op, status)| {
            !ALLOWED_UNDOCUMENTED
                .iter()
                .any(|(o, s, _)| o == op && s == status)
        })
        .map(|(op, status)| format!("{op} {status}"))
        .collect()
}

/// What the shapes say about a recording.
#[derive(Debug, Default)]
struct Judgement {
    /// Operations of the shapes that were sent, with their problems (empty: all conform).
    ops: BTreeMap<String, Vec<String>>,
    /// Catalogue operations the shapes do not have.
    unknown_ops: BTreeSet<String>,
    /// (operation, status) pairs the mock answered that the shapes do not document.
    undocumented: BTreeSet<(String, u16)>,
    /// Requests meant to succeed that got a 2xx.
    happy_ok: usize,
    happy_sent: usize,
    /// Requests meant to succeed that did not, as `operation status`.
    happy_refused: Vec<String>,
    /// Error-path requests (`edge`) sent, and those whose status was not the expected one
    /// (or, for a multi-get, whose list was not empty).
    edges_sent: usize,
    edges_off: Vec<String>,
}

impl Judgement {
    fn conforming(&self) -> usize {
        self.ops.values().filter(|p| p.is_empty()).count()
    }
    fn problems(&self) -> Vec<String> {
        self.ops
            .iter()
            .flat_map(|(op, ps)| ps.iter().map(move |p| format!("{op}: {p}")))
            .collect()
    }
}

fn judge(shapes: &Shapes, exchanges: &[Exchange]) -> Judgement {
    let mut j = Judgement::default();
    for e in exchanges {
        if e.by == "happy" {
            j.happy_sent += 1;
            if (200..300).contains(&e.status) {
                j.happy_ok += 1;
            } else {
                j.happy_refused.push(format!("{} {}", e.op_id, e.status));
            }
        }
        if let Some(want) = e.want {
            j.edges_sent += 1;
            let lists_empty = e.json().is_none_or(|b| {
                b.as_object().is_none_or(|o| {
                    o.values()
                        .all(|v| v.as_array().is_none_or(|a| a.is_empty()))
                })
            });
            if e.status != want || (want == 200 && !lists_empty) {
                j.edges_off.push(format!(
                    "{} {} -> {} (expected {want}{})",
                    e.method,
                    e.path,
                    e.status,
                    if want == 200 { ", an empty list" } else { "" }
                ));
            }
        }
        if shapes.operation(&e.op_id).is_none() {
            j.unknown_ops.insert(e.op_id.clone());
            continue;
        }
        let problems = j.ops.entry(e.op_id.clone()).or_default();
        let at = format!("{} {} as {} -> {}", e.method, e.path, e.by, e.status);
        match shapes.response_schema(&e.op_id, e.status) {
            None => {
                j.undocumented.insert((e.op_id.clone(), e.status));
                // Still an error body must be one of the error shapes.
                let model = if e.status == 401 {
                    "BadCredentialsError"
                } else {
                    "ErrorMessage"
                };
                if e.status >= 400 {
                    if let (Some(schema), Some(body)) = (shapes.model(model), e.json()) {
                        for p in shapes.validate(&body, schema) {
                            problems.push(format!("{at}: {p}"));
                        }
                    }
                }
            }
            Some(None) if !e.body.is_empty() => {
                problems.push(format!("{at}: documented without a body, but has one"))
            }
            Some(None) => {}
            Some(Some(schema)) => match e.json() {
                None => problems.push(format!("{at}: documented with a body, but has none")),
                Some(body) => {
                    for p in shapes.validate(&body, schema) {
                        problems.push(format!("{at}: {p}"));
                    }
                }
            },
        }
    }
    j
}

fn print(version: ApiVersion, j: &Judgement) {
    println!(
        "{version}: {} of {} requests meant to succeed got a 2xx",
        j.happy_ok, j.happy_sent
    );
    if !j.happy_refused.is_empty() {
        println!("{version}: refused: {}", j.happy_refused.join(", "));
    }
    if !j.unknown_ops.is_empty() {
        println!("{version}: not in the shapes: {:?}", j.unknown_ops);
    }
    println!(
        "{version}: {} error-path requests, {} with another status than documented",
        j.edges_sent,
        j.edges_off.len()
    );
    println!(
        "{version}: (operation, status) pairs the shapes do not document for the operation: {} ({} allowed by the list)",
        j.undocumented.len(),
        j.undocumented.len() - unexcused(j).len()
    );
    if !j.undocumented.is_empty() {
        println!("{version}: undocumented: {:?}", j.undocumented);
    }
}

#[tokio::test]
async fn every_answer_conforms_to_the_published_shapes() {
    let mut figures = Vec::new();
    let mut failures = Vec::new();
    for version in ApiVersion::ALL {
        let shapes = Shapes::embedded(version);
        let exchanges = traffic::record(version, Faults::none()).await;
        assert!(
            exchanges.len() > 500,
            "{version}: only {} exchanges",
            exchanges.len()
        );
        let j = judge(shapes, &exchanges);
        print(version, &j);
        figures.push(format!("{version} {}/{}", j.conforming(), j.ops.len()));
        failures.extend(j.problems().into_iter().map(|p| format!("{version} {p}")));
        failures.extend(
            unexcused(&j)
                .into_iter()
                .map(|p| format!("{version} {p}: a status the shapes do not document for it")),
        );
        failures.extend(
            j.edges_off
                .iter()
                .map(|p| format!("{version} error path {p}")),
        );
        assert!(
            j.edges_sent >= if version == ApiVersion::V1 { 11 } else { 4 },
            "{version}: only {} error-path requests",
            j.edges_sent
        );

        // The machinery sees a shape the mock does not meet: a copy of the shapes whose Bank
        // (or, without one, ErrorMessage) requires a field no answer has.
        let mut broken = shapes.clone();
        let model = ["Bank", "ErrorMessage"]
            .into_iter()
            .find(|m| broken.models.contains_key(*m));
        if let Some(model) = model {
            broken
                .models
                .get_mut(model)
                .expect("present")
                .required
                .push("fcNeverSent".into());
            let jb = judge(&broken, &exchanges);
            assert!(
                jb.problems().iter().any(|p| p.contains("fcNeverSent")),
                "{version}: a shape requiring `fcNeverSent` on {model} went unnoticed"
            );
            assert!(jb.conforming() < j.conforming().max(1));
        }
    }
    println!(
        "operations whose responses all conform: {}",
        figures.join(", ")
    );
    assert!(
        failures.is_empty(),
        "{} problems:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// `shape-drift` drops the required `authContext` from error bodies: the same judgement that
/// passes the faithful mock reports it on the operations whose errors were provoked.
#[tokio::test]
async fn a_drifted_mock_is_reported() {
    let version = ApiVersion::V1;
    let shapes = Shapes::embedded(version);
    if shapes.model("ErrorMessage").is_none() {
        println!("skipped: the {version} shapes have no ErrorMessage model yet");
        return;
    }
    let exchanges = traffic::record(version, Faults::none().with(Violation::ShapeDrift)).await;
    let j = judge(shapes, &exchanges);
    let problems = j.problems();
    assert!(
        problems.iter().any(|p| p.contains("authContext")),
        "the drift went unnoticed: {problems:#?}"
    );
    assert!(
        j.conforming() < j.ops.len() / 2,
        "{} of {} still conform",
        j.conforming(),
        j.ops.len()
    );
}

/// `forbidden-as-401` answers wrong roles with 401; `revokeToken` documents no 401, so the
/// judgement that passes the faithful mock names that pair and fails.
#[tokio::test]
async fn an_undocumented_status_fails_the_check() {
    let version = ApiVersion::V1;
    let shapes = Shapes::embedded(version);
    let exchanges = traffic::record(version, Faults::none().with(Violation::ForbiddenAs401)).await;
    let j = judge(shapes, &exchanges);
    let unexcused = unexcused(&j);
    assert!(
        unexcused.contains(&"revokeToken 401".to_string()),
        "the undocumented 401 went unnoticed: {unexcused:?}"
    );
}
