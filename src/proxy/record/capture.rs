//! What a recording keeps of the app's own calls, as they pass: the users the app used (their
//! ids, the password that worked, who created them), the bank connections, accounts and
//! transactions finAPI answered them with, the token validities the grants gave, and one
//! example value per shape difference. Replays are never kept: they are the proxy's calls.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::model::{ApiVersion, Grant, Principal, Shapes};

/// One call the app made, as the recorder sees it.
pub(crate) struct Seen<'a> {
    /// The catalogue's operation id (`getToken.password` for a grant), if it knows the call.
    pub op: Option<&'a str>,
    /// The caller, when the proxy knows it, and the user of a user token.
    pub caller: Option<(Principal, Option<&'a str>)>,
    /// The grant of a token request and the client that asked.
    pub grant: Option<(Grant, Principal)>,
    /// The request's path (no query).
    pub path: &'a str,
    /// Form or JSON parameters of the request (and its query's).
    pub params: &'a [(String, String)],
    pub status: u16,
    pub answer: &'a [u8],
    /// The whole answer was kept (not cut at the capture limit).
    pub complete: bool,
}

/// A user the app used.
#[derive(Debug, Clone, Default)]
pub(crate) struct UserSeen {
    /// The id as the app first spelled it.
    pub id: String,
    /// The password of the user's latest successful login (or of its creation).
    pub password: Option<String>,
    pub email: Option<String>,
    /// Created in the session unverified and never verified.
    pub unverified: bool,
    /// The client that created it in the session.
    pub created_by: Option<Principal>,
    /// The clients it logged in through.
    pub via: BTreeSet<Principal>,
    /// Deleted in the session (left out of the world).
    pub deleted: bool,
    /// By kind (`bankConnections`, `accounts`, `transactions`): id -> finAPI's latest answer.
    pub records: BTreeMap<&'static str, BTreeMap<u64, Value>>,
}

/// A client's token validities as its grants' answers gave them (`expires_in`).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Validity {
    pub client: Option<u64>,
    pub user: Option<u64>,
}

/// Everything a recording keeps.
#[derive(Debug, Default)]
pub(crate) struct Capture {
    /// By lower-cased id.
    pub users: BTreeMap<String, UserSeen>,
    /// By client principal.
    pub validity: BTreeMap<Principal, Validity>,
    /// Clients whose grants the app sent.
    pub clients: BTreeSet<Principal>,
    /// (operation, status, JSON path) -> the value found there in the first such answer.
    pub examples: BTreeMap<(String, u16, String), Value>,
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The kind of record an operation's answer carries, by its id.
fn kind_of(op: &str) -> Option<&'static str> {
    let op = op.to_ascii_lowercase();
    if op.contains("pending") || op.contains("webform") {
        None
    } else if op.contains("transaction") {
        Some("transactions")
    } else if op.contains("bankconnection") {
        Some("bankConnections")
    } else if op.contains("account") {
        Some("accounts")
    } else {
        None
    }
}

/// The records of an answer: the answer itself when it has an id, else the elements of its
/// arrays that have one.
fn records(answer: &Value) -> Vec<&Value> {
    if answer.get("id").and_then(Value::as_u64).is_some() {
        return vec![answer];
    }
    answer
        .as_object()
        .into_iter()
        .flat_map(|o| o.values())
        .filter_map(Value::as_array)
        .flatten()
        .filter(|r| r.get("id").and_then(Value::as_u64).is_some())
        .collect()
}

/// The last path segment as an id (`/api/v2/accounts/42` -> 42).
fn last_id(path: &str) -> Option<u64> {
    path.rsplit('/').next()?.parse().ok()
}

impl Capture {
    fn user(&mut self, id: &str) -> &mut UserSeen {
        let entry = self.users.entry(id.to_lowercase()).or_default();
        if entry.id.is_empty() {
            entry.id = id.to_string();
        }
        entry
    }

    /// Keep what one call of the app shows.
    pub fn observe(&mut self, version: ApiVersion, seen: &Seen<'_>) {
        let ok = (200..300).contains(&seen.status);
        let answer: Value = serde_json::from_slice(seen.answer).unwrap_or(Value::Null);
        if seen.complete && seen.status != 0 {
            self.examples_of(version, seen, &answer);
        }
        if let Some((grant, client)) = seen.grant {
            self.clients.insert(client);
            if !ok {
                return;
            }
            let expires = answer.get("expires_in").and_then(Value::as_u64);
            let v = self.validity.entry(client).or_default();
            match grant {
                Grant::ClientCredentials => v.client = v.client.or(expires),
                Grant::Password => {
                    v.user = v.user.or(expires);
                    if let (Some(u), Some(p)) = (
                        param(seen.params, "username"),
                        param(seen.params, "password"),
                    ) {
                        let user = self.user(u);
                        user.via.insert(client);
                        user.password = Some(p.to_string());
                        // It logged in: it is verified, whatever its creation said.
                        user.unverified = false;
                        user.deleted = false;
                    }
                }
                Grant::RefreshToken => v.user = v.user.or(expires),
            }
            return;
        }
        let (Some(op), Some((principal, user)), true) = (seen.op, seen.caller, ok) else {
            return;
        };
        match op {
            "createUser" => {
                let Some(id) = param(seen.params, "id") else {
                    return;
                };
                let password = param(seen.params, "password").map(str::to_string);
                let email = param(seen.params, "email").map(str::to_string);
                // finAPI's answer does not say; a later login or verification does.
                let verified = false;
                let u = self.user(id);
                u.password = password.or(u.password.take());
                u.email = email.or(u.email.take());
                u.created_by = Some(principal);
                u.unverified = !verified;
                u.deleted = false;
            }
            "verifyUser" => {
                if let Some(id) = seen.path.rsplit('/').next() {
                    self.user(id).unverified = false;
                }
            }
            "deleteAuthorizedUser" => {
                if let Some(u) = user {
                    let u = self.user(u);
                    u.deleted = true;
                    u.records.clear();
                }
            }
            "getAuthorizedUser" => {
                if let (Some(u), Some(email)) = (user, answer.get("email").and_then(Value::as_str))
                {
                    self.user(u).email = Some(email.to_string());
                }
            }
            _ => {
                let (Some(u), Some(kind), Principal::User) = (user, kind_of(op), principal) else {
                    return;
                };
                if op.starts_with("delete") {
                    if let Some(id) = last_id(seen.path) {
                        if let Some(r) = self.user(u).records.get_mut(kind) {
                            r.remove(&id);
                        }
                    }
                    return;
                }
                if !seen.complete {
                    return;
                }
                let found: Vec<(u64, Value)> = records(&answer)
                    .into_iter()
                    .filter_map(|r| Some((r.get("id")?.as_u64()?, r.clone())))
                    .collect();
                let store = self.user(u).records.entry(kind).or_default();
                for (id, r) in found {
                    store.insert(id, r);
                }
            }
        }
    }

    /// The value at each path where the answer differs from its documented shape (the first
    /// answer of each operation, status and path).
    fn examples_of(&mut self, version: ApiVersion, seen: &Seen<'_>, answer: &Value) {
        let Some(op) = seen.op else {
            return;
        };
        let id = op.split('.').next().unwrap_or(op);
        let shapes = Shapes::embedded(version);
        let Some(Some(schema)) = shapes.response_schema(id, seen.status) else {
            return;
        };
        if answer.is_null() {
            return;
        }
        for problem in shapes.validate(answer, schema) {
            let key = (id.to_string(), seen.status, problem.path.clone());
            self.examples.entry(key).or_insert_with(|| {
                at_path(answer, &problem.path)
                    .cloned()
                    .unwrap_or(Value::Null)
            });
        }
    }
}

/// The value at a JSON path such as `$.banks[0].blzs` (`None` when absent).
fn at_path<'v>(value: &'v Value, path: &str) -> Option<&'v Value> {
    let mut at = value;
    let rest = path.strip_prefix('$')?;
    for part in rest.split('.').filter(|p| !p.is_empty()) {
        let (name, indexes) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !name.is_empty() {
            at = at.get(name)?;
        }
        for index in indexes.split('[').filter(|s| !s.is_empty()) {
            let n: usize = index.trim_end_matches(']').parse().ok()?;
            at = at.get(n)?;
        }
    }
    Some(at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_find_their_values() {
        let v = json!({ "banks": [{ "blzs": ["1"] }], "a": { "b": 2 } });
        assert_eq!(at_path(&v, "$.banks[0].blzs"), Some(&json!(["1"])));
        assert_eq!(at_path(&v, "$.a.b"), Some(&json!(2)));
        assert_eq!(at_path(&v, "$"), Some(&v));
        assert_eq!(at_path(&v, "$.nothing"), None);
    }

    #[test]
    fn a_users_reads_become_its_records_and_deletes_remove_them() {
        let mut c = Capture::default();
        let params = vec![
            ("username".to_string(), "Anna".to_string()),
            ("password".to_string(), "anna-pw-1".to_string()),
        ];
        let grant = Seen {
            op: Some("getToken.password"),
            caller: None,
            grant: Some((Grant::Password, Principal::AppClient)),
            path: "/api/v2/oauth/token",
            params: &params,
            status: 200,
            answer: br#"{"access_token":"t","expires_in":600}"#,
            complete: true,
        };
        c.observe(ApiVersion::V2, &grant);
        let body = json!({ "accounts": [{ "id": 4, "bankConnectionId": 3 }, { "id": 5 }] });
        let bytes = serde_json::to_vec(&body).unwrap();
        let read = Seen {
            op: Some("getAndSearchAllAccounts"),
            caller: Some((Principal::User, Some("anna"))),
            grant: None,
            path: "/api/v2/accounts",
            params: &[],
            status: 200,
            answer: &bytes,
            complete: true,
        };
        c.observe(ApiVersion::V2, &read);
        let delete = Seen {
            op: Some("deleteAccount"),
            path: "/api/v2/accounts/5",
            answer: b"",
            ..read
        };
        c.observe(ApiVersion::V2, &delete);
        let anna = &c.users["anna"];
        assert_eq!(anna.id, "Anna");
        assert_eq!(anna.password.as_deref(), Some("anna-pw-1"));
        let ids: Vec<u64> = anna.records["accounts"].keys().copied().collect();
        assert_eq!(ids, [4]);
        assert_eq!(c.validity[&Principal::AppClient].user, Some(600));
    }
}
