//! Seeding: the state a simulator starts with, built from its world (mandators, clients,
//! users, and each user's demo data), and the test-bank imports that make the same data later.
//!
//! [`crate::sim::Simulator`] runs it when it starts or resets; the bank-connection and web
//! form operations run [`import_test_bank`]. The state itself knows nothing of seeding.

pub mod demo;
pub mod tables;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::model::CallerKind;
use crate::sim::banks::TestBank;
use crate::sim::seed::demo::Demo;
use crate::sim::state::{Client, Mandator, MandatorIx, State, User};
use crate::world::World;

/// How long a state built from a world serves later simulators of the same world: their
/// demo data was made this much earlier at most (dates relative to "now" shift by no more).
const TEMPLATE_FRESH_FOR: chrono::TimeDelta = chrono::TimeDelta::seconds(60);

/// States built from worlds, kept so that the next simulator of the same world (at about the
/// same time) starts from a cheap clone instead of building the demo data again.
struct Template {
    world: World,
    built_at: DateTime<Utc>,
    state: State,
}

/// The state a simulator of `world` starts with at `now`: built once per process and world
/// (see [`build`]) and cloned after that. Clones share the user data until one changes it, so
/// simulators stay independent.
pub fn state_for(world: &World, now: DateTime<Utc>) -> State {
    static TEMPLATES: parking_lot::Mutex<Vec<Template>> = parking_lot::Mutex::new(Vec::new());
    let fresh = |t: &Template| now >= t.built_at && now - t.built_at < TEMPLATE_FRESH_FOR;
    if let Some(t) = TEMPLATES
        .lock()
        .iter()
        .find(|t| fresh(t) && t.world == *world)
    {
        return t.state.clone();
    }
    let state = build(world, now);
    let mut templates = TEMPLATES.lock();
    templates.retain(|t| fresh(t));
    if templates.len() >= 8 {
        templates.remove(0);
    }
    templates.push(Template {
        world: world.clone(),
        built_at: now,
        state: state.clone(),
    });
    state
}

/// The state of `world` at `now`, built from scratch.
pub fn build(world: &World, now: DateTime<Utc>) -> State {
    let mut state = State::new();
    // Ids the world gives its records are never handed out to others (a world that was not
    // validated gives none here: its records get fresh ids).
    state.reserve_ids(world.given_ids().unwrap_or_default());
    for (ix, m) in world.mandators.iter().enumerate() {
        state.mandators.push(Mandator {
            id: m.id.clone(),
            api_version: m.api_version,
            switched_at: None,
        });
        state.users.push(BTreeMap::new());
        state.deleted_users.push(Vec::new());
        let clients = m
            .app_clients
            .iter()
            .map(|c| (c, CallerKind::AppClient))
            .chain(std::iter::once((
                &m.admin_client,
                CallerKind::MandatorAdmin,
            )));
        for (spec, kind) in clients {
            state.clients.insert(
                spec.id.clone(),
                Client::new(&spec.id, &spec.secret, ix, kind, spec.config.clone()),
            );
        }
        for u in &m.users {
            let user = User {
                id: u.id.clone(),
                password: u.password.clone(),
                password_hash: u.password_hash.as_deref().and_then(|h| {
                    crate::world::password::PasswordHash::parse(h)
                        .ok()
                        .map(std::sync::Arc::new)
                }),
                email: u.email.clone(),
                phone: None,
                auto_update: false,
                verified: u.verified,
                locked: u.locked,
                failed_logins: 0,
                registered: now,
                last_active: None,
                created_by: m.app_clients[0].id.clone(),
                password_change_token: None,
            };
            let key = u.id.to_lowercase();
            state.users[ix].insert(key.clone(), user);
            Demo::for_user(&mut state, ix, &key, now).populate(u);
        }
    }
    state
}

/// A test-bank import for user `user` (its lower-cased key) of `mandator`: a connection with
/// accounts, transactions and securities, as [`Demo::import`] makes them. Returns the
/// connection's id.
pub fn import_test_bank(
    state: &mut State,
    mandator: MandatorIx,
    user: &str,
    bank: &TestBank,
    now: DateTime<Utc>,
) -> u64 {
    Demo::for_user(state, mandator, user, now).import(bank, None)
}

/// The seeded demo data holds together: every user has data of every kind, and every id
/// refers to a record of the same user.
#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::sim::seed::tables::iban;
    use crate::sim::state::{Owner, Record};

    fn ids(state: &State, owner: &Owner, kind: &str) -> BTreeSet<u64> {
        state
            .resources
            .get(&(owner.clone(), kind.to_string()))
            .map(|r| r.keys().copied().collect())
            .unwrap_or_default()
    }

    #[test]
    fn demo_users_have_consistent_data_of_every_kind() {
        let state = build(&World::demo(), Utc::now());
        for (m, users) in state.users.iter().enumerate() {
            for key in users.keys() {
                let owner = Owner::User(m, key.clone());
                let accounts = ids(&state, &owner, "accounts");
                let connections = ids(&state, &owner, "bankConnections");
                for kind in [
                    "bankConnections",
                    "accounts",
                    "transactions",
                    "securities",
                    "categories",
                    "labels",
                    "notificationRules",
                    "payments",
                    "standingOrders",
                ] {
                    assert!(!ids(&state, &owner, kind).is_empty(), "{key} has no {kind}");
                }
                let store = |kind: &str| &state.resources[&(owner.clone(), kind.to_string())];
                for t in store("transactions").values() {
                    assert!(
                        accounts.contains(&t["accountId"].as_u64().unwrap()),
                        "{}",
                        **t
                    );
                    let cat = t["category"]["id"].as_u64();
                    assert!(cat.is_none_or(|c| ids(&state, &owner, "categories").contains(&c)));
                }
                for a in store("accounts").values() {
                    assert!(connections.contains(&a["bankConnectionId"].as_u64().unwrap()));
                }
                for c in store("bankConnections").values() {
                    for a in c["accountIds"].as_array().unwrap() {
                        assert!(accounts.contains(&a.as_u64().unwrap()));
                    }
                }
                for kind in ["securities", "payments", "standingOrders"] {
                    for r in store(kind).values() {
                        assert!(accounts.contains(&r["accountId"].as_u64().unwrap()));
                    }
                }
                assert!(store("transactions").len() >= 20, "{key}: few transactions");
            }
        }
    }

    #[test]
    fn given_ids_are_kept_and_never_handed_out_again() {
        use crate::world::{AccountSpec, ConnectionSpec, TransactionSpec, UserSpec};
        let mut world = World::demo();
        let mut u = UserSpec::new("rec", "x");
        u.password = String::new();
        u.password_hash = Some(
            crate::world::password::PasswordHash::with_rounds("rec-password", &[3; 16], 1000)
                .as_str()
                .to_string(),
        );
        u.sample_data = false;
        let t = |id, category: &str, category_id| TransactionSpec {
            id: Some(id),
            date: "2026-11-02".into(),
            value_date: Some("2026-11-01".into()),
            amount: -5.0,
            purpose: "p".into(),
            counterpart: None,
            counterpart_iban: None,
            kind: Some("Lastschrift".into()),
            category: Some(category.into()),
            category_id: Some(category_id),
        };
        u.bank_connections.push(ConnectionSpec {
            id: Some(3),
            bank_id: 280001,
            accounts: vec![AccountSpec {
                id: Some(4),
                name: "Checking 1".into(),
                kind: "Checking".into(),
                number: Some("123".into()),
                iban: Some("DE02120300000000202051".into()),
                balance: 10.0,
                transactions: vec![t(5, "Lebensmittel", 6), t(8, "Mine", 9)],
            }],
        });
        world.mandators[0].users.push(u);
        world.validate().unwrap();
        let state = build(&world, Utc::now());
        let owner = Owner::User(0, "rec".into());
        let store = |kind: &str| &state.resources[&(owner.clone(), kind.to_string())];
        assert_eq!(
            store("bankConnections")[&3]["accountIds"],
            serde_json::json!([4])
        );
        let account = &store("accounts")[&4];
        assert_eq!(account["bankConnectionId"], 3);
        assert_eq!(account["iban"], "DE02120300000000202051");
        let t5 = &store("transactions")[&5];
        assert_eq!(
            (t5["accountId"].as_u64(), t5["category"]["id"].as_u64()),
            (Some(4), Some(6))
        );
        assert_eq!(
            (t5["type"].as_str(), t5["valueDate"].as_str()),
            (Some("Lastschrift"), Some("2026-11-01"))
        );
        assert_eq!(store("transactions")[&8]["category"]["isCustom"], true);
        assert_eq!(store("categories")[&9]["name"], "Mine");
        // No other record of any user got a given id.
        for ((o, kind), records) in &state.resources {
            for id in records.keys() {
                if [3, 4, 5, 6, 8, 9].contains(id) {
                    assert_eq!(o, &owner, "{kind} {id}");
                }
            }
        }
        let user = state.user(0, "rec").unwrap();
        assert!(user.password_matches("rec-password"));
        assert!(!user.password_matches("x"));
    }

    #[test]
    fn declared_accounts_and_transactions_land_on_their_own_connection() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/world.example.toml");
        let world = World::from_file(path).unwrap();
        let state = build(&world, Utc::now());
        let owner = Owner::User(0, "jane".into());
        let accounts = &state.resources[&(owner.clone(), "accounts".to_string())];
        let household = accounts
            .values()
            .find(|a| a["accountName"] == "Household")
            .expect("the declared account");
        assert_eq!(household["balance"], 1250.75);
        assert_eq!(household["iban"], iban("00000000", "4711"));
        let id = household["id"].as_u64().unwrap();
        let mine: Vec<&Record> = state.resources[&(owner.clone(), "transactions".to_string())]
            .values()
            .filter(|t| t["accountId"] == id)
            .collect();
        assert_eq!(mine.len(), 2);
        assert!(mine.iter().any(|t| t["category"]["name"] == "Gehalt"));
        // `sample_data = false`: nothing at all.
        let locked = Owner::User(0, "locked-out".into());
        assert!(state.resources.keys().all(|(o, _)| *o != locked));
    }
}
