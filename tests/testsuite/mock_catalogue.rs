//! Every catalogue operation is served and guarded by the mock, over real HTTP, and the mock
//! serves nothing the catalogue does not list.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};

use common::*;
use finapi_conformance::model::{expect, Api, ApiVersion, Mode, Outcome, Verdict};
use finapi_conformance::runner::{self, CheckConfig, Target};
use finapi_conformance::world::demo;
use finapi_conformance::{Catalogue, Faults, FinapiMock, World};
use reqwest::Method;

/// Strict run of the whole matrix; then, per operation, the verdicts of the callers the model
/// lets through and of those it turns away.
#[tokio::test]
async fn every_operation_is_served_to_its_callers_and_denied_to_the_rest() {
    let catalogue = Catalogue::embedded();
    for version in ApiVersion::ALL {
        let mut config = CheckConfig::new(
            Target::InProcess {
                faults: Faults::none(),
            },
            version,
        );
        config.mode = Mode::Strict;
        config.lifecycle = false;
        let report = runner::run(&config).await.unwrap();
        let mut served: BTreeMap<&str, usize> = BTreeMap::new();
        let mut guarded: BTreeMap<&str, usize> = BTreeMap::new();
        let mut skipped = BTreeSet::new();
        for r in &report.results {
            assert!(
                matches!(r.verdict, Verdict::Pass | Verdict::Skipped),
                "{version} {} as {}: {:?} {}",
                r.operation,
                r.principal,
                r.verdict,
                r.reason
            );
            let Some(op) = catalogue.get(version, &r.operation) else {
                continue;
            };
            if r.verdict == Verdict::Skipped {
                skipped.insert(r.operation.clone());
                continue;
            }
            let outcome = expect(op, r.principal).outcome;
            let counter = if outcome == Outcome::Allowed {
                &mut served
            } else {
                &mut guarded
            };
            *counter.entry(op.id.as_str()).or_default() += 1;
        }
        for op in catalogue.checks(version) {
            if skipped.contains(&op.id) && !served.contains_key(op.id.as_str()) {
                // Only a probe without a resource to name may be skipped (V1 getWebForm has
                // no list operation to find an id with); it must stay a rare exception.
                assert!(
                    skipped.len() <= 3,
                    "{version}: too many skipped operations: {skipped:?}"
                );
                continue;
            }
            assert!(
                served.contains_key(op.id.as_str()),
                "{version} {}: no allowed caller was served",
                op.label()
            );
            // The token endpoint authenticates clients itself (tests/mock_oauth.rs covers its
            // grants); every other operation turns several principals away.
            let least = if op.is_token_endpoint() || op.is_grant_row() {
                0
            } else {
                3
            };
            assert!(
                guarded.get(op.id.as_str()).copied().unwrap_or(0) >= least,
                "{version} {} ({}): fewer than {least} denied callers were turned away",
                op.label(),
                op.id
            );
        }
    }
}

fn concrete(path: &str) -> String {
    path.split('/')
        .map(|seg| if seg.starts_with('{') { "1" } else { seg })
        .collect::<Vec<_>>()
        .join("/")
}

/// Does a concrete path fit a path template (`{param}` matches any one segment)?
fn template_matches(template: &str, path: &str) -> bool {
    let (t, p): (Vec<_>, Vec<_>) = (template.split('/').collect(), path.split('/').collect());
    t.len() == p.len() && t.iter().zip(&p).all(|(t, p)| t.starts_with('{') || t == p)
}

/// Methods the catalogue does not list for a path, path extensions and unknown paths are
/// refused with 404 or 405 in finAPI's error shape, whoever asks.
#[tokio::test]
async fn nothing_outside_the_catalogue_is_served() {
    let catalogue = Catalogue::embedded();
    for version in ApiVersion::ALL {
        let mock = FinapiMock::builder()
            .world(World::demo_for(version))
            .start()
            .await;
        let base = mock.uri();
        let token = client_token(&base, version, demo::APP_CLIENT).await;
        let mut listed: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for op in catalogue.operations(version) {
            listed
                .entry(concrete(&op.path))
                .or_default()
                .insert(op.method.to_string());
        }
        let methods = ["GET", "POST", "PUT", "PATCH", "DELETE"];
        let mut tried = 0;
        for (url, allowed) in &listed {
            for m in methods.iter().filter(|m| !allowed.contains(**m)) {
                let r = send(
                    http()
                        .request(
                            Method::from_bytes(m.as_bytes()).unwrap(),
                            base.clone() + url,
                        )
                        .bearer_auth(&token),
                )
                .await;
                assert!(
                    matches!(r.status, 404 | 405),
                    "{version} {m} {url}: {} {}",
                    r.status,
                    r.text
                );
                // Web Form 2.0's paths answer with its own `Error` body.
                let code = match Api::of_path(url) {
                    Api::WebForm2 => r.body["code"].as_str().unwrap_or(""),
                    Api::Access => r.code(),
                };
                assert!(!code.is_empty(), "{m} {url}: not an ErrorMessage");
                tried += 1;
            }
            let longer = format!("{url}/extra");
            if !catalogue
                .operations(version)
                .any(|op| template_matches(&op.path, &longer))
            {
                let r = send(http().get(base.clone() + &longer).bearer_auth(&token)).await;
                assert!(
                    matches!(r.status, 404 | 405),
                    "{version} GET {longer}: {}",
                    r.status
                );
                tried += 1;
            }
        }
        for stray in [
            "/",
            "/api",
            "/api/v2",
            "/api/v3/users",
            "/api/v2/userz",
            "/oauth",
            "/api/v2/mandatorAdmin",
            "/.env",
        ] {
            let r = send(http().get(base.clone() + stray).bearer_auth(&token)).await;
            assert_eq!(r.status, 404, "{version} GET {stray}: {}", r.text);
            assert!(!r.code().is_empty(), "{stray}: not an ErrorMessage");
            tried += 1;
        }
        assert!(tried > 250, "{version}: only {tried} stray requests tried");
    }
}
