//! The recorded world (`world.toml`): the mandator and its API version, the clients that took
//! part by role (with fresh secrets), and the users the app used with the bank data finAPI
//! answered them with, ids kept, personal data scrubbed, passwords as salted hashes.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::capture::{Capture, UserSeen};
use super::scrub::Scrubber;
use crate::model::{ApiVersion, Principal};
use crate::runner::Credentials;
use crate::world::PasswordHash;
use crate::world::{
    AccountSpec, ClientSettings, ClientSpec, ConnectionSpec, MandatorSpec, TransactionSpec,
    UserSpec, World,
};

/// The mandators of a recording (finAPI does not tell a client its mandator's id).
pub(crate) const MANDATOR: &str = "recorded";
pub(crate) const OTHER_MANDATOR: &str = "recorded-other";

/// A client of the recorded world: the variables an app or `features` reads it from.
#[derive(Debug, Clone)]
pub(crate) struct ClientVar {
    pub principal: Principal,
    /// `FINAPI_APP_CLIENT` (then `_ID` and `_SECRET`).
    pub var: &'static str,
    pub id: String,
    pub secret: String,
    /// Made up: the session had no credentials for this role.
    pub stand_in: bool,
}

/// What the world leaves out, for the README.
#[derive(Debug, Default)]
pub(crate) struct LeftOut {
    /// Users deleted in the session, or whose password the session never showed.
    pub users: Vec<String>,
    pub dropped_transactions: usize,
}

/// A salt derived from what is not secret (a label and a user id): a world recorded twice
/// gets the same hash for the same password, and every user its own salt.
pub(crate) fn salt_for(label: &str, user: &str) -> [u8; 16] {
    use sha2::Digest as _;
    let mut h = sha2::Sha256::new();
    h.update(b"finapi-conformance password salt\0");
    h.update(label.as_bytes());
    h.update([0]);
    h.update(user.to_lowercase().as_bytes());
    let digest = h.finalize();
    let mut salt = [0u8; 16];
    salt.copy_from_slice(&digest[..16]);
    salt
}

/// A secret for the mock, made from the client id: it guards nothing but the recorded world,
/// and recording twice gives the same one. 36 characters, so the admin can rotate it.
pub(crate) fn fresh_secret(client_id: &str) -> String {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(
        format!("finapi-conformance recorded client secret\0{client_id}").as_bytes(),
    );
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("rec-{}", &hex[..32])
}

fn client(
    principal: Principal,
    var: &'static str,
    id: Option<&str>,
    stand_in: &str,
    validity: Option<&super::capture::Validity>,
) -> (ClientSpec, ClientVar) {
    let id = id.unwrap_or(stand_in).to_string();
    let secret = fresh_secret(&id);
    let mut config = ClientSettings::default();
    if let Some(v) = validity {
        // The validities the grants' answers gave (the world takes 0 or at least 60 s).
        let fits = |s: &u64| *s == 0 || *s >= 60;
        if let Some(s) = v.client.filter(fits) {
            config.client_access_token_validity = s;
        }
        if let Some(s) = v.user.filter(fits) {
            config.user_access_token_validity = s;
        }
    }
    let spec = ClientSpec {
        id: id.clone(),
        secret: secret.clone(),
        config,
    };
    let var = ClientVar {
        principal,
        var,
        stand_in: id == stand_in,
        id,
        secret,
    };
    (spec, var)
}

fn text<'v>(v: &'v Value, key: &str) -> Option<&'v str> {
    v.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// `YYYY-MM-DD` of a finAPI date (V2 `2026-11-02`, V1 `2026-11-02 00:00:00.000`).
fn day(v: &Value, key: &str) -> Option<String> {
    let t = text(v, key)?;
    let d = t.get(..10)?;
    chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()?;
    Some(d.to_string())
}

/// The recorded account of `record` (finAPI's answer), scrubbed.
fn account(s: &mut Scrubber, id: u64, record: Option<&Value>) -> AccountSpec {
    let null = Value::Null;
    let r = record.unwrap_or(&null);
    let kind = text(r, "accountType")
        .or_else(|| text(r, "accountTypeName"))
        .and_then(|k| {
            crate::world::ACCOUNT_TYPES
                .iter()
                .find(|t| t.eq_ignore_ascii_case(k))
        })
        .unwrap_or(&"Checking")
        .to_string();
    let (number, iban) = s.account(text(r, "accountNumber"), text(r, "iban"), id);
    AccountSpec {
        id: Some(id),
        name: s.account_name(text(r, "accountName").unwrap_or_default(), &kind),
        kind,
        number: Some(number),
        iban: Some(iban),
        balance: r.get("balance").and_then(Value::as_f64).unwrap_or(0.0),
        transactions: Vec::new(),
    }
}

fn transaction(s: &mut Scrubber, id: u64, r: &Value) -> Option<TransactionSpec> {
    let amount = r.get("amount").and_then(Value::as_f64)?;
    let date = day(r, "bankBookingDate").or_else(|| day(r, "valueDate"))?;
    let category = r.get("category").filter(|c| c.is_object());
    let category_name = category.and_then(|c| text(c, "name")).map(|n| {
        let custom = category
            .and_then(|c| c.get("isCustom"))
            .and_then(Value::as_bool);
        if custom == Some(true) {
            s.custom_category(n)
        } else {
            n.to_string()
        }
    });
    Some(TransactionSpec {
        id: Some(id),
        value_date: day(r, "valueDate").filter(|d| *d != date),
        date,
        amount,
        purpose: s.purpose(text(r, "purpose").unwrap_or_default()),
        counterpart: text(r, "counterpartName").map(|n| s.counterpart(n)),
        counterpart_iban: text(r, "counterpartIban").map(|i| s.iban(i)),
        kind: text(r, "type").map(str::to_string),
        category_id: category_name
            .as_ref()
            .and(category)
            .and_then(|c| c.get("id"))
            .and_then(Value::as_u64),
        category: category_name,
    })
}

/// The bank of a connection record (V1 `bankId`, V2 `bank.id`), if the mock has it as a test
/// bank; otherwise the finAPI Test Bank stands in.
fn bank_of(r: Option<&Value>) -> u64 {
    let id = r.and_then(|r| {
        r.get("bankId").and_then(Value::as_u64).or_else(|| {
            r.get("bank")
                .and_then(|b| b.get("id"))
                .and_then(Value::as_u64)
        })
    });
    id.filter(|id| crate::sim::banks::test_bank(*id).is_some())
        .unwrap_or(280001)
}

/// One user's spec: its connections with their accounts and transactions, by id.
fn user(s: &mut Scrubber, mandator: &str, u: &UserSeen, left: &mut LeftOut) -> Option<UserSpec> {
    let password = u.password.as_deref().filter(|_| !u.deleted);
    let Some(password) = password else {
        left.users.push(u.id.clone());
        return None;
    };
    let empty = BTreeMap::new();
    let of = |kind: &str| u.records.get(kind).unwrap_or(&empty);
    let (connections, accounts, transactions) =
        (of("bankConnections"), of("accounts"), of("transactions"));
    // Every account any record names, and the connection each belongs to.
    let mut account_ids: BTreeSet<u64> = accounts.keys().copied().collect();
    account_ids.extend(
        transactions
            .values()
            .filter_map(|t| t.get("accountId").and_then(Value::as_u64)),
    );
    for c in connections.values() {
        if let Some(ids) = c.get("accountIds").and_then(Value::as_array) {
            account_ids.extend(ids.iter().filter_map(Value::as_u64));
        }
    }
    let connection_of = |a: u64| -> Option<u64> {
        accounts
            .get(&a)
            .and_then(|r| r.get("bankConnectionId"))
            .and_then(Value::as_u64)
            .or_else(|| {
                connections.iter().find_map(|(cid, c)| {
                    let ids = c.get("accountIds")?.as_array()?;
                    ids.iter().any(|i| i.as_u64() == Some(a)).then_some(*cid)
                })
            })
    };
    let mut by_connection: BTreeMap<Option<u64>, Vec<AccountSpec>> = BTreeMap::new();
    for c in connections.keys() {
        by_connection.entry(Some(*c)).or_default();
    }
    for a in account_ids {
        let mut spec = account(s, a, accounts.get(&a));
        for (tid, t) in transactions {
            if t.get("accountId").and_then(Value::as_u64) != Some(a) {
                continue;
            }
            match transaction(s, *tid, t) {
                Some(t) if t.amount != 0.0 => spec.transactions.push(t),
                _ => left.dropped_transactions += 1,
            }
        }
        by_connection
            .entry(connection_of(a))
            .or_default()
            .push(spec);
    }
    let mut bank_connections = Vec::new();
    for (id, accounts) in by_connection {
        bank_connections.push(ConnectionSpec {
            id,
            bank_id: bank_of(id.and_then(|i| connections.get(&i))),
            accounts,
        });
    }
    let hash = PasswordHash::new(password, &salt_for(mandator, &u.id));
    Some(UserSpec {
        id: u.id.clone(),
        password: String::new(),
        password_hash: Some(hash.as_str().to_string()),
        email: u.email.as_deref().map(|e| s.email(e)),
        verified: !u.unverified,
        locked: false,
        sample_data: false,
        accounts: Vec::new(),
        bank_connections,
    })
}

/// The recorded world, the variables of its clients, and what it left out.
pub(crate) fn build(
    capture: &Capture,
    credentials: &Credentials,
    version: ApiVersion,
    took_part: &BTreeSet<Principal>,
) -> (World, Vec<ClientVar>, LeftOut) {
    let mut s = Scrubber::default();
    let mut left = LeftOut::default();
    let part = |p: Principal| took_part.contains(&p) || capture.clients.contains(&p);
    let id_of = |c: &Option<crate::runner::ClientCredentials>| c.as_ref().map(|c| c.id.clone());
    let mut vars = Vec::new();
    let mut app_clients = Vec::new();
    // The app client always (the first app client plays its role in the world); the second
    // when it took part.
    let (spec, var) = client(
        Principal::AppClient,
        "FINAPI_APP_CLIENT",
        id_of(&credentials.app).as_deref(),
        "recorded-app-1",
        capture.validity.get(&Principal::AppClient),
    );
    app_clients.push(spec);
    vars.push(var);
    if part(Principal::SecondAppClient) {
        let (spec, var) = client(
            Principal::SecondAppClient,
            "FINAPI_APP_CLIENT2",
            id_of(&credentials.app2).as_deref(),
            "recorded-app-2",
            capture.validity.get(&Principal::SecondAppClient),
        );
        app_clients.push(spec);
        vars.push(var);
    }
    let (admin, var) = client(
        Principal::AdminClient,
        "FINAPI_ADMIN_CLIENT",
        id_of(&credentials.admin)
            .filter(|_| part(Principal::AdminClient))
            .as_deref(),
        "recorded-admin",
        capture.validity.get(&Principal::AdminClient),
    );
    vars.push(var);
    let foreign = |u: &UserSeen| {
        u.created_by == Some(Principal::OtherMandatorAppClient)
            || (!u.via.is_empty() && u.via.iter().all(|p| p.is_foreign_mandator()))
    };
    let mut users = Vec::new();
    let mut other_users = Vec::new();
    for u in capture.users.values() {
        if foreign(u) {
            other_users.push(u);
        } else if let Some(spec) = user(&mut s, MANDATOR, u, &mut left) {
            users.push(spec);
        }
    }
    let mut mandators = vec![MandatorSpec {
        id: MANDATOR.into(),
        api_version: version,
        app_clients,
        admin_client: admin,
        users,
    }];
    let other_took_part = part(Principal::OtherMandatorAppClient)
        || took_part.contains(&Principal::OtherMandatorUser)
        || !other_users.is_empty();
    if other_took_part {
        let (app, var) = client(
            Principal::OtherMandatorAppClient,
            "FINAPI_OTHER_APP_CLIENT",
            id_of(&credentials.other_app).as_deref(),
            "recorded-other-app-1",
            capture.validity.get(&Principal::OtherMandatorAppClient),
        );
        vars.push(var);
        let (admin, _) = client(
            Principal::AdminClient,
            "",
            None,
            "recorded-other-admin",
            None,
        );
        let users = other_users
            .into_iter()
            .filter_map(|u| user(&mut s, OTHER_MANDATOR, u, &mut left))
            .collect();
        mandators.push(MandatorSpec {
            id: OTHER_MANDATOR.into(),
            api_version: version,
            app_clients: vec![app],
            admin_client: admin,
            users,
        });
    }
    (World { mandators }, vars, left)
}

/// `world.toml`: a header, then the world.
pub(crate) fn render(world: &World) -> Result<String, String> {
    let body = toml::to_string(world).map_err(|e| format!("cannot write the world: {e}"))?;
    Ok(format!(
        "# Recorded by `finapi-conformance proxy --record`: the mandator, the clients that took\n\
         # part (fresh secrets: see README.md), and the users the app used with the bank data\n\
         # finAPI answered them with. Ids, amounts, dates, types and categories are as recorded;\n\
         # names, IBANs, account numbers, purposes, counterparts and e-mail addresses are made up;\n\
         # passwords are salted hashes (PBKDF2-HMAC-SHA256): the users log in with their own.\n\
         # Load it with `serve --world`, `features --world`, POST /__finapi/world or\n\
         # `World::from_file`.\n\n{body}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_secrets_are_stable_distinct_and_rotatable() {
        let a = fresh_secret("acme-web");
        assert_eq!(a, fresh_secret("acme-web"));
        assert_ne!(a, fresh_secret("acme-mobile"));
        assert_eq!(a.len(), 36);
    }

    #[test]
    fn salts_are_per_user_and_stable() {
        let salt = salt_for("m", "Anna");
        assert_eq!(salt, salt_for("m", "anna"), "user ids are case-insensitive");
        assert_ne!(salt, salt_for("m", "bert"));
        assert_ne!(salt, salt_for("n", "anna"));
    }
}
