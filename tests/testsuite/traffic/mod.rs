//! The traffic the contract tests judge (`tests/conformance.rs`, `tests/openapi_v1.rs`): every
//! catalogue operation of one API version, sent
//!
//! - by the runner's probes as every principal (the documented error paths: 401 without or
//!   with a dead token, 403 for a wrong role, 404 for unknown ids, 400 for invalid bodies, 422
//!   for business rules such as verifying a verified user), and
//! - once more as an allowed caller with a request that should succeed (a fresh user with a
//!   test-bank import, real ids in paths and bodies, bodies sampled from the request shapes),
//!   creates first and deletes last.
//!
//! - and on the error paths the probes do not reach ([`edges`]): a multi-get of unknown ids,
//!   an out-of-range client configuration value, a wrong password-change token, a connection
//!   or consent that does not exist.
//!
//! It records what came back; the tests decide what conforms. Apps that behave like real ones,
//! for the proxy's truth tests, are in [`apps`].
#![allow(dead_code)]

pub mod apps;

use std::collections::BTreeMap;

use finapi_conformance::model::Shapes;
use finapi_conformance::model::{ApiVersion, CallerKind, Catalogue, Operation, Principal};
use finapi_conformance::runner::{
    self, access_token, CheckConfig, Http, HttpRequest, HttpResponse, RunUser, Session,
    SessionOptions, Target,
};
use finapi_conformance::Faults;
use serde_json::{json, Value};

/// One request and its answer.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// The operation id as the API reference names it (`getToken` for every grant row).
    pub op_id: String,
    /// Who sent it: a principal's name, `happy` for the request meant to succeed, or `edge`
    /// for an error path of [`edges`].
    pub by: String,
    /// For an `edge`: the status a careful integrator expects from the documentation.
    pub want: Option<u16>,
    pub method: String,
    pub path: String,
    pub status: u16,
    pub body: Vec<u8>,
}

impl Exchange {
    pub fn json(&self) -> Option<Value> {
        if self.body.is_empty() {
            None
        } else {
            Some(serde_json::from_slice(&self.body).unwrap_or(Value::String(
                String::from_utf8_lossy(&self.body).into_owned(),
            )))
        }
    }
}

fn op_id(op: &Operation) -> String {
    op.id.split('.').next().unwrap_or(&op.id).to_string()
}

/// Record the traffic against a fresh in-process mock of the demo world with `faults`.
pub async fn record(version: ApiVersion, faults: Faults) -> Vec<Exchange> {
    let config = CheckConfig::new(Target::InProcess { faults }, version);
    let connected = runner::connect(&config).await.expect("the mock starts");
    let catalogue = Catalogue::embedded().clone();
    let session = Session::connect(
        connected.http.clone(),
        connected.credentials.clone(),
        catalogue.clone(),
        SessionOptions::new(version),
    )
    .await
    .expect("the runner session sets up");
    let mut out = Vec::new();
    for op in catalogue.checks(version) {
        for principal in Principal::ALL {
            let Ok(p) = runner::build_probe(&session, op, principal) else {
                continue;
            };
            let resp = session.http.send(&p.request).await;
            out.push(exchange(op, principal.name(), &p.request, &resp));
        }
    }
    happy(&session, &catalogue, version, &mut out).await;
    out.extend(edges(&session, &catalogue, version).await);
    session.clean_up().await;
    out
}

fn exchange(op: &Operation, by: &str, req: &HttpRequest, resp: &HttpResponse) -> Exchange {
    Exchange {
        op_id: op_id(op),
        by: by.to_string(),
        method: req.method.to_string(),
        path: req.path.clone(),
        status: resp.status,
        body: resp.body.clone(),
        want: None,
    }
}

/// An id that exists nowhere.
const NO_SUCH_ID: u64 = 9_999_999_901;

/// The error paths the probes and the happy requests do not take, each with the status the
/// documentation leads an integrator to expect, sent as an allowed caller:
///
/// - V1 multi-gets `GET /{kind}/{ids}` of unknown ids: 200 with an empty list (the texts say
///   unknown ids are left out; no 404 is documented);
/// - `PATCH /clientConfiguration` with a validity period under 60: 400 (no 422 documented);
/// - `executePasswordChange` with a token that was never handed out: 400 (no 422 documented);
/// - `connectInterface` and `DELETE /bankConnections/{id}/aisConsent` on a connection that does
///   not exist: 422 `UNKNOWN_ENTITY` (where both file it; neither documents 404).
pub async fn edges(session: &Session, catalogue: &Catalogue, version: ApiVersion) -> Vec<Exchange> {
    let http: &Http = &session.http;
    let app = session.creds.app.clone().expect("an app client");
    let app_token = access_token(&session.client_token(&app).await).expect("app token");
    let user = session
        .create_user(&app, &app_token, "e", true)
        .await
        .expect("the edge user is created");
    let user_token = access_token(&session.user_login(&app, &user).await).expect("user token");
    let mut sent: Vec<(&Operation, HttpRequest, u16)> = Vec::new();
    let interface = match version {
        ApiVersion::V1 => "interface",
        ApiVersion::V2 => "bankingInterface",
    };
    for op in catalogue.operations(version) {
        let user_req = |path: String| {
            HttpRequest::new(op.method.clone(), path).bearer(Some(user_token.clone()))
        };
        let app_req = |path: String| {
            HttpRequest::new(op.method.clone(), path).bearer(Some(app_token.clone()))
        };
        match op.id.as_str() {
            _ if op.method == http::Method::GET && op.path.ends_with("/{ids}") => {
                let ids = format!("{NO_SUCH_ID},{}", NO_SUCH_ID + 1);
                sent.push((op, user_req(op.path.replace("{ids}", &ids)), 200));
            }
            "editClientConfiguration" => {
                let body = json!({ "userAccessTokensValidityPeriod": 59 });
                sent.push((op, app_req(op.path.clone()).json(body), 400));
            }
            "executePasswordChange" => {
                let body = json!({
                    "userId": user.id,
                    "password": "edge-new-password",
                    "passwordChangeToken": "00000000-0000-4000-8000-000000000000",
                });
                sent.push((op, app_req(op.path.clone()).json(body), 400));
            }
            "connectInterface" => {
                let body = json!({ "bankConnectionId": NO_SUCH_ID, interface: "XS2A" });
                sent.push((op, user_req(op.path.clone()).json(body), 422));
            }
            "deleteAccessData" | "deleteConsent" => {
                let path = op.path.replace("{id}", &NO_SUCH_ID.to_string());
                sent.push((op, user_req(format!("{path}?{interface}=XS2A")), 422));
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    for (op, req, want) in sent {
        let resp = http.send(&req).await;
        let mut e = exchange(op, "edge", &req, &resp);
        e.want = Some(want);
        out.push(e);
    }
    out
}

/// The first record of a list answer (the body's one array, whatever its name).
fn first_id(body: &Value) -> Option<u64> {
    body.as_object()?
        .values()
        .find_map(Value::as_array)?
        .first()?
        .get("id")?
        .as_u64()
}

/// Ids of the happy user's data, by kind, read from the list operations.
struct Ids {
    by_kind: BTreeMap<String, u64>,
    user: RunUser,
    /// The kind of the operation being sent (what a body's `ids` name).
    current: String,
}

impl Ids {
    fn of(&self, kind: &str) -> u64 {
        self.by_kind.get(kind).copied().unwrap_or(1)
    }
}

/// Put the user's real ids into a sampled body wherever a field names one.
fn with_ids(value: &mut Value, ids: &Ids) {
    match value {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                let id = match k.as_str() {
                    "accountId" => Some(ids.of("accounts")),
                    "bankConnectionId" => Some(ids.of("bankConnections")),
                    "paymentId" => Some(ids.of("payments")),
                    "standingOrderId" => Some(ids.of("standingOrders")),
                    "categoryId" => Some(ids.of("categories")),
                    "parentId" => Some(ids.of("categories")),
                    "transactionId" => Some(ids.of("transactions")),
                    "bankId" => Some(280001),
                    "tppAuthenticationGroupId" => Some(1),
                    _ => None,
                };
                match (id, k.as_str()) {
                    (Some(id), _) if v.is_string() => *v = Value::from(id.to_string()),
                    (Some(id), _) => *v = Value::from(id),
                    (None, "userId") => *v = Value::from(ids.user.id.clone()),
                    (None, "labelIds") => *v = json!([ids.of("labels")]),
                    (None, "accountIds") if v.is_array() => *v = json!([ids.of("accounts")]),
                    (None, "bankConnectionIds") if v.is_array() => {
                        *v = json!([ids.of("bankConnections")])
                    }
                    (None, "ids") if v.is_array() => *v = json!([ids.of(&ids.current)]),
                    (None, "transactionIds") if v.is_array() => {
                        *v = json!([ids.of("transactions")])
                    }
                    _ => with_ids(v, ids),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| with_ids(v, ids)),
        _ => {}
    }
}

/// The test-bank import, completed to a valid body of the version (V2 requires the banking
/// interface).
fn import_body(shapes: &Shapes) -> Value {
    let given = json!({ "bankId": 280001 });
    shapes
        .request_body("importBankConnection", given.clone())
        .unwrap_or(given)
}

/// The kind of data an operation is about (`ibanRules` for `/mandatorAdmin/ibanRules/delete`).
fn kind_key(op: &Operation) -> String {
    let segs: Vec<&str> = op.path.trim_start_matches('/').split('/').skip(2).collect();
    match segs.as_slice() {
        ["mandatorAdmin", k, ..] => k.to_string(),
        [k, ..] => k.to_string(),
        [] => String::new(),
    }
}

/// Sort key of the happy requests: [`phase`], then, among deletes of one, sub-resources
/// before their resource and transactions before accounts before connections (deleting a
/// connection removes its accounts and their transactions).
fn order(op: &Operation) -> (u8, u8, std::cmp::Reverse<usize>) {
    let kind_rank = match kind_key(op).as_str() {
        "accounts" => 1,
        "bankConnections" => 2,
        _ => 0,
    };
    (phase(op), kind_rank, std::cmp::Reverse(op.path.len()))
}

/// The order of the happy requests: creates, reads, other writes, deletes of one, deletes of
/// all, and the user's own deletion last.
fn phase(op: &Operation) -> u8 {
    let id = op.id.as_str();
    if id.starts_with("create") || id == "importBankConnection" {
        0
    } else if op.method == http::Method::GET {
        1
    } else if op.method != http::Method::DELETE {
        2
    } else if op.id == "deleteAuthorizedUser" {
        5
    } else if op.path_params().next().is_some() {
        3
    } else {
        4
    }
}

/// Operations a happy request is not sent to: the token endpoint and revocation (the probes
/// and `tests/mock_oauth.rs` cover them), the secret rotation and API switch (they change the
/// mandator for everyone), and password changes (`tests/mock_users.rs`).
const NOT_HAPPY: [&str; 5] = [
    "revokeToken",
    "changeClientCredentials",
    "switchApiVersion",
    "executePasswordChange",
    "deleteUsers",
];

async fn happy(
    session: &Session,
    catalogue: &Catalogue,
    version: ApiVersion,
    out: &mut Vec<Exchange>,
) {
    let http: &Http = &session.http;
    let app = session.creds.app.clone().expect("an app client");
    let admin = session.creds.admin.clone().expect("an admin client");
    let app_token = access_token(&session.client_token(&app).await).expect("app token");
    let admin_token = access_token(&session.client_token(&admin).await).expect("admin token");
    // A user of our own, verified, with a test-bank import.
    let user = session
        .create_user(&app, &app_token, "h", true)
        .await
        .expect("the happy user is created");
    let user_token = access_token(&session.user_login(&app, &user).await).expect("user token");
    let shapes = Shapes::embedded(version);
    let mut ids = Ids {
        by_kind: BTreeMap::new(),
        user: user.clone(),
        current: String::new(),
    };
    // Users that are still unverified, for verifyUser and deleteUnverifiedUser.
    let mut unverified = Vec::new();
    for tag in ["v", "w"] {
        let u = session
            .create_user(&app, &app_token, tag, false)
            .await
            .expect("an unverified user is created");
        unverified.push(u.id);
    }
    // The user's data: a test-bank import, then one id of every kind.
    let import = HttpRequest::new(http::Method::POST, session.path("importBankConnection"))
        .bearer(Some(user_token.clone()))
        .json(import_body(shapes));
    http.send(&import).await;
    let tokens = (&user_token, &admin_token, &app_token);
    note_ids(http, catalogue, version, tokens, &mut ids).await;
    let mut ops: Vec<&Operation> = catalogue
        .operations(version)
        .filter(|o| !o.is_token_endpoint() && !NOT_HAPPY.contains(&o.id.as_str()))
        .collect();
    ops.sort_by_key(|o| order(o));
    let mut last_phase = None;
    for op in ops {
        // Before the reads: note the ids again (the creates added some).
        if phase(op) == 1 && last_phase != Some(1) {
            note_ids(http, catalogue, version, tokens, &mut ids).await;
        }
        last_phase = Some(phase(op));
        ids.current = kind_key(op);
        let token = if op.callers.contains(CallerKind::User) {
            &user_token
        } else if op.callers.contains(CallerKind::AppClient) {
            &app_token
        } else {
            &admin_token
        };
        let kind = kind_key(op);
        let mut path = op.path.clone();
        for name in op.path_params().map(str::to_string).collect::<Vec<_>>() {
            let value = match name.as_str() {
                "userId" if op.id == "verifyUser" => unverified[0].clone(),
                "userId" if op.id == "deleteUnverifiedUser" => unverified[1].clone(),
                "userId" => user.id.clone(),
                "ids" => format!("{},{}", ids.of(&kind), ids.of(&kind)),
                _ => ids.of(&kind).to_string(),
            };
            path = path.replace(&format!("{{{name}}}"), &value);
        }
        if op.id == "getVerificationStatus" {
            path = format!("{path}?userId={}", user.id);
        }
        let mut req = HttpRequest::new(op.method.clone(), path).bearer(Some(token.clone()));
        let body = match op.id.as_str() {
            "createUser" => {
                Some(json!({ "id": session.fresh_user_id("k"), "password": "kept-password" }))
            }
            "importBankConnection" => Some(import_body(shapes)),
            "requestPasswordChange" => Some(json!({ "userId": user.id })),
            // Bodies whose fields are all optional: a sample has none of them.
            "editMultipleTransactions" => {
                Some(json!({ "ids": [ids.of("transactions")], "isNew": false }))
            }
            "triggerCategorization" => {
                Some(json!({ "bankConnectionIds": [ids.of("bankConnections")] }))
            }
            _ => shapes
                .operation(&op.id)
                .and_then(|s| s.body.as_ref())
                .map(|b| {
                    let mut v = shapes.sample(&b.schema, 7);
                    with_ids(&mut v, &ids);
                    v
                }),
        };
        if let Some(b) = body {
            let is_form = shapes
                .operation(&op.id)
                .and_then(|s| s.body.as_ref())
                .is_some_and(|b| b.is_form());
            if is_form {
                let pairs: Vec<(String, String)> = b
                    .as_object()
                    .cloned()
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(k, v)| {
                        (
                            k,
                            v.as_str()
                                .map(str::to_string)
                                .unwrap_or_else(|| v.to_string()),
                        )
                    })
                    .collect();
                let refs: Vec<(&str, &str)> = pairs
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                req = req.form(&refs);
            } else {
                req = req.json(b);
            }
        }
        let resp = http.send(&req).await;
        if phase(op) == 0 {
            let body = resp.json();
            if let Some(id) = body
                .get("id")
                .and_then(serde_json::Value::as_u64)
                .or_else(|| first_id(&body))
            {
                ids.by_kind.insert(kind, id);
            }
        }
        out.push(exchange(op, "happy", &req, &resp));
    }
}

/// Note the first id of every kind the happy callers can list.
async fn note_ids(
    http: &Http,
    catalogue: &Catalogue,
    version: ApiVersion,
    (user_token, admin_token, app_token): (&String, &String, &String),
    ids: &mut Ids,
) {
    for list in catalogue
        .operations(version)
        .filter(|o| o.method == http::Method::GET && o.path_params().next().is_none())
    {
        let token = if list.callers.contains(CallerKind::User) {
            user_token
        } else if list.callers.contains(CallerKind::MandatorAdmin) {
            admin_token
        } else {
            app_token
        };
        let resp = http
            .send(
                &HttpRequest::new(http::Method::GET, list.path.clone()).bearer(Some(token.clone())),
            )
            .await;
        if let Some(id) = first_id(&resp.json()) {
            ids.by_kind.insert(kind_key(list), id);
        }
    }
}
