//! A bounded soak of `serve` over real HTTP: 64 concurrent workers create users, get, refresh
//! and revoke tokens, change passwords and rotate a client secret. Afterwards the state's
//! invariants hold: every created user exists exactly once, no revoked token is accepted, and
//! every token is bound to the client that asked for it.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;

use finapi_conformance::serve::Server;
use finapi_conformance::sim::Simulator;
use finapi_conformance::world::demo;
use finapi_conformance::{ApiVersion::V2, World};
use serde_json::{json, Value};
use tokio::sync::Mutex;

use crate::common::{token_path, Grant};

const WORKERS: usize = 64;
/// Users each worker creates (and takes through the whole lifecycle).
const ROUNDS: usize = 5;
/// Workers that rotate the secret of `demo-app-2` instead.
const ROTATORS: usize = 4;

#[derive(Clone)]
struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    async fn send(&self, req: reqwest::RequestBuilder) -> (u16, Value) {
        let res = req.send().await.expect("serve answers");
        let status = res.status().as_u16();
        let text = res.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn grant(&self, grant: Grant<'_>) -> (u16, Value) {
        self.send(
            self.http
                .post(format!("{}{}", self.base, token_path(V2)))
                .form(&grant.pairs()),
        )
        .await
    }

    async fn client_token(&self, client: (&str, &str)) -> (u16, Value) {
        self.grant(Grant::Client(client)).await
    }

    async fn get(&self, path: &str, token: &str) -> (u16, Value) {
        self.send(
            self.http
                .get(format!("{}{path}", self.base))
                .bearer_auth(token),
        )
        .await
    }

    async fn post(&self, path: &str, token: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        self.send(req).await
    }

    async fn revoke(&self, client_token: &str, token: &str, hint: &str) -> u16 {
        self.send(
            self.http
                .post(format!("{}/api/v2/oauth/revoke", self.base))
                .bearer_auth(client_token)
                .form(&[("token", token), ("token_type_hint", hint)]),
        )
        .await
        .0
    }
}

fn access(v: &Value) -> String {
    v["access_token"]
        .as_str()
        .expect("access_token")
        .to_string()
}

/// What the workers saw: who each token was issued to, and which tokens they revoked.
#[derive(Default)]
struct Ledger {
    /// token -> (client, user or none)
    issued: HashMap<String, (String, Option<String>)>,
    revoked: Vec<String>,
    /// (mandator id, user id)
    users: Vec<(&'static str, String)>,
}

/// One worker: `ROUNDS` users, each through creation, login, refresh, cross-client refresh,
/// revocation and a password change.
async fn user_worker(api: Api, worker: usize, ledger: Arc<Mutex<Ledger>>) {
    let (client, other, mandator) = if worker % 2 == 0 {
        (demo::APP_CLIENT, demo::OTHER_APP_CLIENT, demo::MANDATOR)
    } else {
        (
            demo::OTHER_APP_CLIENT,
            demo::APP_CLIENT,
            demo::OTHER_MANDATOR,
        )
    };
    let mut mine = Ledger::default();
    let (status, body) = api.client_token(client).await;
    assert_eq!(status, 200, "{body}");
    let app = access(&body);
    mine.issued.insert(app.clone(), (client.0.into(), None));
    for round in 0..ROUNDS {
        let user = format!("soak-{worker}-{round}");
        let pw = format!("first-{worker}-{round}");
        let (status, body) = api
            .post(
                "/api/v2/users",
                &app,
                Some(json!({ "id": user, "password": pw })),
            )
            .await;
        assert_eq!(status, 201, "create {user}: {body}");
        mine.users.push((mandator, user.clone()));
        let (status, _) = api
            .post(&format!("/api/v2/users/verify/{user}"), &app, None)
            .await;
        assert_eq!(status, 200);
        let login = |password: String| {
            let api = api.clone();
            let user = user.clone();
            async move { api.grant(Grant::Password(client, (&user, &password))).await }
        };
        let (status, body) = login(pw.clone()).await;
        assert_eq!(status, 200, "login {user}: {body}");
        let a1 = access(&body);
        let r1 = body["refresh_token"].as_str().unwrap().to_string();
        mine.issued
            .insert(a1.clone(), (client.0.into(), Some(user.to_lowercase())));
        let (status, body) = api.get("/api/v2/users", &a1).await;
        assert_eq!((status, body["id"].as_str()), (200, Some(user.as_str())));
        // Refresh.
        let (status, body) = api.grant(Grant::Refresh(client, &r1)).await;
        assert_eq!(status, 200, "refresh: {body}");
        let a2 = access(&body);
        mine.issued
            .insert(a2.clone(), (client.0.into(), Some(user.to_lowercase())));
        // Another client may not use this refresh token.
        let (status, body) = api.grant(Grant::Refresh(other, &r1)).await;
        assert_eq!(status, 400, "refresh by another client: {body}");
        // Revoke the refreshed access token only.
        assert_eq!(api.revoke(&app, &a2, "access_token").await, 200);
        mine.revoked.push(a2.clone());
        assert_eq!(api.get("/api/v2/users", &a2).await.0, 401);
        assert_eq!(api.get("/api/v2/users", &a1).await.0, 200);
        // A password change ends every token of the user.
        let (status, body) = api
            .post(
                "/api/v2/users/requestPasswordChange",
                &app,
                Some(json!({ "userId": user })),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let change = body["passwordChangeToken"].as_str().unwrap().to_string();
        let pw2 = format!("second-{worker}-{round}");
        let (status, body) = api
            .post(
                "/api/v2/users/executePasswordChange",
                &app,
                Some(json!({ "userId": user, "password": pw2, "passwordChangeToken": change })),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        mine.revoked.push(a1.clone());
        assert_eq!(api.get("/api/v2/users", &a1).await.0, 401);
        assert_eq!(login(pw).await.0, 400, "the old password still works");
        let (status, body) = login(pw2).await;
        assert_eq!(status, 200, "{body}");
        let a3 = access(&body);
        mine.issued
            .insert(a3.clone(), (client.0.into(), Some(user.to_lowercase())));
        assert_eq!(api.get("/api/v2/users", &a3).await.0, 200);
    }
    let mut ledger = ledger.lock().await;
    ledger.issued.extend(mine.issued);
    ledger.revoked.extend(mine.revoked);
    ledger.users.extend(mine.users);
}

/// One rotator: rotate `demo-app-2`'s secret a few times; each rotation ends the client's
/// tokens and the old secret.
async fn rotator(api: Api, worker: usize, secret: Arc<Mutex<String>>, ledger: Arc<Mutex<Ledger>>) {
    let (status, body) = api.client_token(demo::ADMIN_CLIENT).await;
    assert_eq!(status, 200, "{body}");
    let admin = access(&body);
    let mut mine = Ledger::default();
    for round in 0..ROUNDS {
        let mut current = secret.lock().await;
        let (status, body) = api.client_token((demo::APP_CLIENT2.0, &current)).await;
        assert_eq!(status, 200, "{body}");
        let before = access(&body);
        mine.issued
            .insert(before.clone(), (demo::APP_CLIENT2.0.into(), None));
        let next = format!("rotated-{worker:02}-{round:02}-{}", "0".repeat(22));
        assert_eq!(next.len(), 36);
        let (status, body) = api
            .post(
                "/api/v2/mandatorAdmin/changeClientCredentials",
                &admin,
                Some(json!({ "clientId": demo::APP_CLIENT2.0, "oldClientSecret": *current, "newClientSecret": next })),
            )
            .await;
        assert_eq!(status, 200, "rotation: {body}");
        let old = std::mem::replace(&mut *current, next.clone());
        drop(current);
        mine.revoked.push(before.clone());
        assert_eq!(api.get("/api/v2/clientConfiguration", &before).await.0, 401);
        assert_eq!(api.client_token((demo::APP_CLIENT2.0, &old)).await.0, 401);
    }
    let mut ledger = ledger.lock().await;
    ledger.issued.extend(mine.issued);
    ledger.revoked.extend(mine.revoked);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_keeps_its_invariants_under_64_concurrent_workers() {
    let sim = Simulator::new(&World::demo());
    let users_before: Vec<usize> = sim.with_state(|s| s.users.iter().map(|u| u.len()).collect());
    let server = Server::start(sim.clone(), SocketAddr::from(([127, 0, 0, 1], 0)), 256)
        .await
        .unwrap();
    let api = Api {
        http: reqwest::Client::builder()
            .pool_max_idle_per_host(WORKERS)
            .build()
            .unwrap(),
        base: server.uri(),
    };
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let secret = Arc::new(Mutex::new(demo::APP_CLIENT2.1.to_string()));
    let mut tasks = tokio::task::JoinSet::new();
    for w in 0..WORKERS {
        let (api, ledger) = (api.clone(), ledger.clone());
        if w < ROTATORS {
            tasks.spawn(rotator(api, w, secret.clone(), ledger));
        } else {
            tasks.spawn(user_worker(api, w, ledger));
        }
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("a worker failed");
    }
    let ledger = ledger.lock().await;
    let created = (WORKERS - ROTATORS) * ROUNDS;
    assert_eq!(ledger.users.len(), created);

    // No lost or duplicated user: each exists once, in its own mandator, and the counts add up.
    let mandators: Vec<String> =
        sim.with_state(|s| s.mandators.iter().map(|m| m.id.clone()).collect());
    let mut per_mandator: BTreeMap<usize, usize> = BTreeMap::new();
    sim.with_state(|s| {
        for (mandator, user) in &ledger.users {
            let ix = mandators.iter().position(|m| m == mandator).unwrap();
            *per_mandator.entry(ix).or_default() += 1;
            let holders: Vec<usize> = (0..s.users.len())
                .filter(|m| s.users[*m].contains_key(&user.to_lowercase()))
                .collect();
            assert_eq!(holders, vec![ix], "user {user} is held by {holders:?}");
        }
        for (ix, before) in users_before.iter().enumerate() {
            assert_eq!(
                s.users[ix].len(),
                before + per_mandator.get(&ix).copied().unwrap_or(0),
                "user count of mandator {}",
                mandators[ix]
            );
        }
    });
    // The admin API agrees: every created user is listed exactly once.
    let (_, body) = api.client_token(demo::ADMIN_CLIENT).await;
    let admin = access(&body);
    let (status, list) = api
        .get("/api/v2/mandatorAdmin/getUserList?perPage=500", &admin)
        .await;
    assert_eq!(status, 200, "{list}");
    let listed: Vec<&str> = list["users"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|u| u["userId"].as_str())
        .collect();
    for (mandator, user) in &ledger.users {
        if *mandator == demo::MANDATOR {
            assert_eq!(listed.iter().filter(|u| **u == user).count(), 1, "{user}");
        }
    }

    // No revoked token is accepted, by the state or over HTTP.
    sim.with_state(|s| {
        for t in &ledger.revoked {
            assert!(
                s.tokens.get(t).is_none_or(|r| r.revoked),
                "a revoked token is alive in the state"
            );
        }
    });
    for t in &ledger.revoked {
        assert_eq!(api.get("/api/v2/clientConfiguration", t).await.0, 401);
    }
    // Every token still in the state is bound to the client (and user) that asked for it.
    sim.with_state(|s| {
        let mut checked = 0;
        for (token, (client, user)) in &ledger.issued {
            if let Some(record) = s.tokens.get(token) {
                assert_eq!(&record.client, client, "token issued to the wrong client");
                assert_eq!(&record.user, user, "token issued for the wrong user");
                assert_eq!(
                    s.clients[client].mandator, record.mandator,
                    "token bound to the wrong mandator"
                );
                checked += 1;
            }
        }
        assert!(checked >= created, "only {checked} live tokens to check");
    });
    server.shutdown().await.unwrap();
}
