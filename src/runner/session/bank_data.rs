//! Bank data for the run's main user: finAPI's test bank imported where the target allows it
//! (or through a Web Form 2.0 import form), the data a user may create for itself, a
//! background-update task, one of its transactions labelled and categorized, and one id of
//! every kind the probes address.

use std::time::Duration;

use serde_json::{json, Value};

use super::base::{Session, WebFormCompletion};
use crate::model::{Api, ApiVersion, CallerKind, Shapes};
use crate::runner::http::HttpRequest;

/// finAPI's test bank (sandboxes import it without real bank credentials).
pub const TEST_BANK_ID: u64 = 280001;

/// How often the import of the test bank is polled before the run gives up on its data.
const IMPORT_POLLS: u32 = 20;

impl Session {
    /// `given` completed to a body `op_id` accepts, from the request shapes of the run's
    /// version (unchanged when they describe no body).
    fn valid_body(&self, op_id: &str, given: Value) -> Value {
        Shapes::embedded(self.version)
            .request_body(op_id, given.clone())
            .unwrap_or(given)
    }

    /// Give user A data (a test-bank import where the target allows it), then note one id of
    /// every kind user A can list. When some kinds stay empty, `no_data_reason` says why.
    pub(super) async fn find_resources(&mut self, a_token: &str) {
        let mut import_status = self.import_test_bank(a_token).await;
        if let Some(done) = self.import_through_web_form(a_token).await {
            if let (Err(test_bank), Err(web_form)) = (&import_status, &done) {
                import_status = Err(format!(
                    "{web_form}; the test-bank import answered {test_bank}"
                ));
            } else if done.is_ok() {
                import_status = Ok(());
            }
        }
        // Data a user may create for itself with one request (gone with the user at clean-up).
        for (op, body) in [
            ("createLabel", json!({ "name": "fc-label" })),
            ("createCategory", json!({ "name": "fc-category" })),
            (
                "createNotificationRule",
                json!({ "triggerEvent": "NEW_TRANSACTIONS", "includeDetails": false }),
            ),
        ] {
            let path = self.path(op);
            if !path.is_empty() {
                let body = self.valid_body(op, body);
                let req = HttpRequest::new(http::Method::POST, path)
                    .bearer(Some(a_token.to_string()))
                    .json(body);
                let _ = self.send(&req).await;
            }
        }
        let kinds: Vec<(String, String)> = self
            .catalogue
            .operations(self.version)
            .filter(|o| o.callers.contains(CallerKind::User) && o.method == http::Method::GET)
            .filter_map(|o| {
                let segs: Vec<&str> = o.path.trim_start_matches('/').split('/').skip(2).collect();
                (segs.len() == 1).then(|| (segs[0].to_string(), o.path.clone()))
            })
            .collect();
        for (kind, path) in kinds {
            let resp = self
                .send(&HttpRequest::new(http::Method::GET, path).bearer(Some(a_token.to_string())))
                .await;
            if let Some(id) = first_own_id(&resp.json(), &kind) {
                self.fixtures.resources.insert(kind, id);
            }
        }
        self.label_a_transaction(a_token).await;
        self.create_update_task(a_token).await;
        self.fixtures.no_data_reason = match (self.version, import_status) {
            (_, Ok(())) => None,
            (ApiVersion::V2, Err(why)) => Some(format!(
                "API V2 imports bank data only through a Web Form 2.0 web form, where a person \
                 logs in to the bank: {why}"
            )),
            (ApiVersion::V1, Err(status)) => Some(format!(
                "the V1 import of finAPI's test bank {TEST_BANK_ID} was not accepted ({status}); \
                 a client whose imports need the web form cannot give the run's users data"
            )),
        };
    }

    /// Import finAPI's test bank for the user whose token is `a_token` (an owned request: it
    /// creates data only for that user) and wait, within a bound, until the target has
    /// finished the import. `Err` describes the answer when no data came of it.
    pub async fn import_test_bank(&self, a_token: &str) -> Result<(), String> {
        let import = HttpRequest::new(http::Method::POST, self.path("importBankConnection"))
            .bearer(Some(a_token.to_string()))
            .json(self.valid_body("importBankConnection", import_params(self.version)));
        let resp = self.send(&import).await;
        if !resp.is_success() {
            return Err(if resp.status == 0 {
                "no response".into()
            } else {
                format!("status {}", resp.status)
            });
        }
        // An import may still be running when it is answered (V1: `updateStatus`); poll the
        // connection until it is ready, with a bounded number of tries.
        let body = resp.json();
        let (Some(id), Some(status)) = (
            body.get("id").and_then(Value::as_u64),
            body.get("updateStatus").and_then(Value::as_str),
        ) else {
            return Ok(());
        };
        if status == "READY" || self.path("getBankConnection").is_empty() {
            return Ok(());
        }
        let path = self
            .path("getBankConnection")
            .replace("{id}", &id.to_string());
        for attempt in 0..IMPORT_POLLS {
            tokio::time::sleep(Duration::from_millis(500 * (1 + attempt as u64).min(4))).await;
            let r = self
                .send(
                    &HttpRequest::new(http::Method::GET, path.clone())
                        .bearer(Some(a_token.to_string())),
                )
                .await;
            if r.json().get("updateStatus").and_then(Value::as_str) == Some("READY") {
                return Ok(());
            }
        }
        Err("an import that did not finish in time".into())
    }

    /// Web Form 2.0 (V2): create an import web form for user A and complete it as the target
    /// allows ([`WebFormCompletion`]); note its id, and a background-update task's, for the
    /// probes. `None` in API V1 (no Web Form 2.0); else whether data came of it, or why not.
    async fn import_through_web_form(&mut self, a_token: &str) -> Option<Result<(), String>> {
        let create = self
            .catalogue
            .get(self.version, "createForBankConnectionImport")?;
        let path = match self.service_path(Api::WebForm2, &create.path) {
            Ok(path) => path,
            Err(why) => return Some(Err(why)),
        };
        let req = HttpRequest::new(http::Method::POST, path)
            .bearer(Some(a_token.to_string()))
            .json(json!({ "bankConnectionName": format!("{}web-form", self.prefix) }));
        let resp = self.http.send(&req).await;
        let form = resp.json();
        let Some(id) = form.get("id").and_then(Value::as_str).map(str::to_string) else {
            return Some(Err(format!(
                "the web form for the import was not created (status {})",
                resp.status
            )));
        };
        self.fixtures
            .webform_ids
            .insert("webForms".into(), id.clone());
        let url = form.get("url").and_then(Value::as_str).unwrap_or_default();
        let status = self.complete_web_form(a_token, &id, url).await;
        let done = match (status.as_deref(), &self.webform_completion) {
            (Some("COMPLETED"), _) => Ok(()),
            (Some(other), _) => Err(format!("the run's import web form ended {other}")),
            (None, WebFormCompletion::None) => Err(
                "nobody completed the run's import web form (--webform-interactive SECONDS \
                 prints it for you to complete)"
                    .into(),
            ),
            (None, _) => Err("nobody completed the run's import web form".into()),
        };
        if let Some(connection) = self
            .get_webform(a_token, &id)
            .await
            .and_then(|f| f["payload"]["bankConnectionId"].as_u64())
        {
            self.fixtures
                .resources
                .insert("webFormConnection".into(), connection);
        }
        Some(done)
    }

    /// Give one of user A's transactions user A's label and category (an edit of its own
    /// data), so that lists filtered by them (`?labelIds=`, `?categoryIds=`) have an item a
    /// leak would show.
    async fn label_a_transaction(&self, a_token: &str) {
        let fx = &self.fixtures.resources;
        let (Some(tx), Some(label), Some(category)) = (
            fx.get("transactions"),
            fx.get("labels"),
            fx.get("categories"),
        ) else {
            return;
        };
        let path = self.path("editTransaction");
        if path.is_empty() {
            return;
        }
        let req = HttpRequest::new(http::Method::PATCH, path.replace("{id}", &tx.to_string()))
            .bearer(Some(a_token.to_string()))
            .json(json!({ "labelIds": [label], "categoryId": category }));
        let _ = self.send(&req).await;
    }

    /// A background-update task of one of user A's connections (the web form's, else any),
    /// so the task probes have an id to address.
    async fn create_update_task(&mut self, a_token: &str) {
        let Some(op) = self
            .catalogue
            .get(self.version, "createBankConnectionUpdateTask")
            .cloned()
        else {
            return;
        };
        let fx = &self.fixtures.resources;
        let Some(connection) = fx
            .get("webFormConnection")
            .or_else(|| fx.get("bankConnections"))
            .copied()
        else {
            return;
        };
        let Ok(path) = self.service_path(Api::WebForm2, &op.path) else {
            return;
        };
        let req = HttpRequest::new(http::Method::POST, path)
            .bearer(Some(a_token.to_string()))
            .json(json!({ "bankConnectionId": connection }));
        if let Some(task) = self.http.send(&req).await.json()["id"].as_str() {
            self.fixtures
                .webform_ids
                .insert("tasks".into(), task.into());
        }
    }

    async fn get_webform(&self, token: &str, id: &str) -> Option<Value> {
        let path = self
            .service_path(Api::WebForm2, &self.path("getWebForm").replace("{id}", id))
            .ok()?;
        let resp = self
            .http
            .send(&HttpRequest::new(http::Method::GET, path).bearer(Some(token.to_string())))
            .await;
        resp.is_success().then(|| resp.json())
    }

    /// End the run's web form `id` with `COMPLETED` as the target allows; the final status
    /// it reached, if any.
    async fn complete_web_form(&self, token: &str, id: &str, url: &str) -> Option<String> {
        match &self.webform_completion {
            WebFormCompletion::None => None,
            WebFormCompletion::Simulator(sim) => sim
                .complete_web_form(id, "COMPLETED")
                .ok()
                .and_then(|f| f["status"].as_str().map(str::to_string)),
            WebFormCompletion::ControlApi => {
                // `serve --control-token`: the same token the operator gives the run.
                let control = std::env::var("FINAPI_CONTROL_TOKEN").ok();
                let req = HttpRequest::new(http::Method::POST, format!("/__finapi/webForms/{id}"))
                    .bearer(control.filter(|t| !t.is_empty()))
                    .json(json!({ "status": "COMPLETED" }));
                let resp = self.http.send(&req).await;
                resp.json()["status"].as_str().map(str::to_string)
            }
            WebFormCompletion::Interactive(bound) => {
                eprintln!(
                    "Open this web form and log in to the finAPI Test Bank (waiting up to {}s):\n  {url}",
                    bound.as_secs()
                );
                let started = std::time::Instant::now();
                let mut last = String::new();
                while started.elapsed() < *bound {
                    let status = self
                        .get_webform(token, id)
                        .await
                        .and_then(|f| f["status"].as_str().map(str::to_string))
                        .unwrap_or_default();
                    if ["COMPLETED", "COMPLETED_WITH_ERROR", "ABORTED", "EXPIRED"]
                        .contains(&status.as_str())
                    {
                        eprintln!("  the web form is {status}");
                        return Some(status);
                    }
                    if status != last {
                        eprintln!("  web form {status} ({}s)", started.elapsed().as_secs());
                        last = status;
                    }
                    tokio::time::sleep(Duration::from_secs(3)).await;
                }
                eprintln!("  gave up waiting for the web form");
                None
            }
        }
    }
}

/// What the run's test-bank import names: the bank, no securities; API V2 also requires the
/// banking interface, and finAPI's test bank offers FinTS.
fn import_params(version: ApiVersion) -> Value {
    let mut params = json!({ "bankId": TEST_BANK_ID, "skipPositionsDownload": true });
    if version == ApiVersion::V2 {
        params["bankingInterface"] = json!("FINTS_SERVER");
    }
    params
}

/// The id of the first resource of a list answer of `kind` that is its user's own: the list
/// field is named after the kind, except where finAPI names it otherwise (`GET
/// /bankConnections` answers `connections`: then the body's one array); a custom category is
/// preferred, and finAPI's own categories (`isCustom: false`), which are everyone's, are never
/// taken (naming one shows nothing about another user's data).
pub fn first_own_id(body: &Value, kind: &str) -> Option<u64> {
    let list = body.get(kind).and_then(Value::as_array).or_else(|| {
        body.as_object()
            .and_then(|o| o.values().find_map(Value::as_array))
    })?;
    let own = |i: &&Value| i.get("isCustom") != Some(&Value::Bool(false));
    let custom = |i: &&Value| i.get("isCustom") == Some(&Value::Bool(true));
    list.iter()
        .find(custom)
        .or_else(|| list.iter().find(own))?
        .get("id")?
        .as_u64()
}
