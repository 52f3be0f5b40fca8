//! Mocks of the same world share its built data (copy on write) but never each other's
//! changes: what one mock's users do is seen by no other mock, started before or after.

use finapi_conformance::sim::SimResponse;
use finapi_conformance::world::demo;
use finapi_conformance::{ApiVersion::V2, Simulator, World};

use crate::common::{sim_token, Grant};
use serde_json::{json, Value};

fn call(
    sim: &Simulator,
    method: &str,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> SimResponse {
    let auth = format!("Bearer {token}");
    let mut headers = vec![("authorization", auth.as_str())];
    let bytes = match body {
        Some(b) => {
            headers.push(("content-type", "application/json"));
            serde_json::to_vec(&b).unwrap()
        }
        None => Vec::new(),
    };
    sim.call(method, path, &headers, &bytes)
}

fn user_token(sim: &Simulator, user: (&str, &str)) -> String {
    sim_token(sim, V2, Grant::Password(demo::APP_CLIENT, user))
}

/// The first account of alice in `sim`: (id, name).
fn first_account(sim: &Simulator) -> (u64, Value) {
    let token = user_token(sim, demo::USERS[0]);
    let list = call(sim, "GET", "/api/v2/accounts", &token, None);
    assert_eq!(list.status, 200);
    let first = list.json()["accounts"][0].clone();
    (
        first["id"].as_u64().expect("an account id"),
        first["accountName"].clone(),
    )
}

#[test]
fn a_change_in_one_mock_is_seen_by_no_other() {
    let world = World::demo();
    let before = Simulator::new(&world);
    let changed = Simulator::new(&world);
    let (id, name) = first_account(&changed);

    let token = user_token(&changed, demo::USERS[0]);
    let path = format!("/api/v2/accounts/{id}");
    let edit = call(
        &changed,
        "PATCH",
        &path,
        &token,
        Some(json!({"accountName": "renamed"})),
    );
    assert_eq!(edit.status, 200, "{}", edit.json());
    assert_eq!(
        call(&changed, "GET", &path, &token, None).json()["accountName"],
        "renamed"
    );
    // A second account is deleted outright.
    let list = call(&changed, "GET", "/api/v2/accounts", &token, None).json();
    let other = list["accounts"][1]["id"]
        .as_u64()
        .expect("a second account");
    let deleted = call(
        &changed,
        "DELETE",
        &format!("/api/v2/accounts/{other}"),
        &token,
        None,
    );
    assert_eq!(deleted.status, 200);

    let after = Simulator::new(&world);
    for (label, sim) in [("started before", &before), ("started after", &after)] {
        assert_eq!(
            first_account(sim),
            (id, name.clone()),
            "the mock {label} sees the rename"
        );
        let token = user_token(sim, demo::USERS[0]);
        let still = call(
            sim,
            "GET",
            &format!("/api/v2/accounts/{other}"),
            &token,
            None,
        );
        assert_eq!(
            still.status, 200,
            "the mock {label} lost the account deleted elsewhere"
        );
    }
}

#[test]
fn a_reset_goes_back_to_the_world_not_to_another_mocks_state() {
    let world = World::demo();
    let sim = Simulator::new(&world);
    let (id, name) = first_account(&sim);
    let token = user_token(&sim, demo::USERS[0]);
    let path = format!("/api/v2/accounts/{id}");
    assert_eq!(
        call(
            &sim,
            "PATCH",
            &path,
            &token,
            Some(json!({"accountName": "renamed"}))
        )
        .status,
        200
    );
    sim.reset();
    assert_eq!(first_account(&sim), (id, name));
}
