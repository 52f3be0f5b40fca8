//! The world a simulator starts from: mandators, their clients and users.
//!
//! A world is built in code ([`World::demo`], [`World::mandator`]) or read from a TOML world
//! file (`serve --world FILE`; see `fixtures/world.example.toml` and docs/serve.md). A user's
//! password may be given as a salted hash ([`PasswordHash`]), and its bank data as it was recorded
//! (connections, accounts and transactions with their ids).

pub(crate) mod password;
pub(crate) mod test_banks;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::model::ApiVersion;
pub use password::PasswordHash;

/// Client configuration as finAPI keeps it per client (the parts the simulator acts on).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClientSettings {
    /// Seconds; 0 = never expires.
    pub user_access_token_validity: u64,
    /// Seconds; 0 = never expires.
    pub client_access_token_validity: u64,
    /// Seconds; 0 = never expires.
    pub refresh_token_validity: u64,
    /// Users created through this client are verified at once.
    pub user_auto_verification: bool,
    /// Failed logins in a row before a user is locked; 0 = no limit.
    pub max_user_login_attempts: u32,
    pub pfm_services_enabled: bool,
    pub payments_enabled: bool,
    pub development_mode: bool,
    pub application_name: Option<String>,
    pub user_notification_callback_url: Option<String>,
    pub user_synchronization_callback_url: Option<String>,
}

impl Default for ClientSettings {
    fn default() -> Self {
        ClientSettings {
            user_access_token_validity: 3600,
            client_access_token_validity: 3600,
            refresh_token_validity: 0,
            user_auto_verification: false,
            max_user_login_attempts: 3,
            pfm_services_enabled: true,
            payments_enabled: true,
            development_mode: true,
            application_name: None,
            user_notification_callback_url: None,
            user_synchronization_callback_url: None,
        }
    }
}

/// An app client or admin client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientSpec {
    pub id: String,
    pub secret: String,
    #[serde(default)]
    pub config: ClientSettings,
}

impl ClientSpec {
    pub fn new(id: impl Into<String>, secret: impl Into<String>) -> Self {
        ClientSpec {
            id: id.into(),
            secret: secret.into(),
            config: ClientSettings::default(),
        }
    }
}

/// A user that exists when the simulator starts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserSpec {
    pub id: String,
    /// The password in clear; empty when [`UserSpec::password_hash`] is given instead.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub password: String,
    /// The password as a salted hash ([`PasswordHash`], a PHC string
    /// `$pbkdf2-sha256$i=...`): the user logs in with the password, and the file holds no
    /// usable secret. Exactly one of `password` and `password_hash` is given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_hash: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub verified: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub locked: bool,
    /// Give the user realistic demo data: an import of the finAPI Test Bank (a connection with
    /// a checking, a savings and a securities account, two months of transactions, securities)
    /// plus categories, labels, notification rules, a payment and a standing order.
    #[serde(default = "yes")]
    pub sample_data: bool,
    /// Accounts of the user's own, on a connection to the finAPI Test Bank.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accounts: Vec<AccountSpec>,
    /// Bank connections of the user's own, each with its accounts (as a recording keeps what
    /// finAPI answered, ids included).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bank_connections: Vec<ConnectionSpec>,
}

/// A bank connection a world file declares for a user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectionSpec {
    /// The connection's id (default: the simulator picks one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
    /// A test bank of the mock's bank catalogue (default: the finAPI Test Bank, 280001).
    #[serde(default = "test_bank")]
    pub bank_id: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accounts: Vec<AccountSpec>,
}

fn test_bank() -> u64 {
    280001
}

/// An account a world file declares for a user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountSpec {
    /// The account's id (default: the simulator picks one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
    pub name: String,
    /// finAPI's account type: `Checking` (default), `Savings`, `CreditCard`, `Security`,
    /// `Loan`, `Pocket`, `Membership` or `Bausparen`.
    #[serde(default = "checking", rename = "type")]
    pub kind: String,
    /// The account number (up to 10 digits); the IBAN is derived from it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    /// The IBAN, when it is not to be derived from the number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iban: Option<String>,
    #[serde(default)]
    pub balance: f64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transactions: Vec<TransactionSpec>,
}

fn checking() -> String {
    "Checking".into()
}

/// A transaction a world file declares on an account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransactionSpec {
    /// The transaction's id (default: the simulator picks one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
    /// Booking date, `YYYY-MM-DD`.
    pub date: String,
    /// Value date, `YYYY-MM-DD` (default: the booking date).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_date: Option<String>,
    /// Negative for spending.
    pub amount: f64,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub purpose: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counterpart: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counterpart_iban: Option<String>,
    /// finAPI's transaction type, e.g. `Lastschrift` (default: `Überweisung` for spending,
    /// `Gutschrift` otherwise).
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// A category name; created as the user's category when it is not one of finAPI's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// The category's id (with `category`); the same name has the same id for one user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category_id: Option<u64>,
}

fn yes() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// The highest id a world may give a record: ids from here on address nothing (the runner's
/// probes use them).
pub const MAX_GIVEN_ID: u64 = 8_999_999_999_999;

impl UserSpec {
    pub fn new(id: impl Into<String>, password: impl Into<String>) -> Self {
        UserSpec {
            id: id.into(),
            password: password.into(),
            password_hash: None,
            email: None,
            verified: true,
            locked: false,
            sample_data: true,
            accounts: Vec::new(),
            bank_connections: Vec::new(),
        }
    }

    /// Every account of the user: its own (`accounts`) and those of its bank connections.
    pub fn all_accounts(&self) -> impl Iterator<Item = &AccountSpec> {
        self.accounts
            .iter()
            .chain(self.bank_connections.iter().flat_map(|c| c.accounts.iter()))
    }

    /// The password check the simulator runs: the clear password, or the hash.
    fn check_password(&self) -> Result<(), String> {
        match (&self.password_hash, self.password.is_empty()) {
            (Some(_), false) => Err("give either password or password_hash, not both".into()),
            (Some(h), true) => password::PasswordHash::parse(h).map(|_| ()),
            (None, _) => crate::model::user_fields::check_password(&self.password),
        }
    }

    /// Category ids the user's transactions give, by category name; two ids for one name (or
    /// one id for two names) is an error.
    pub fn category_ids(&self) -> Result<BTreeMap<String, u64>, String> {
        let mut by_name: BTreeMap<String, u64> = BTreeMap::new();
        let mut by_id: HashMap<u64, &str> = HashMap::new();
        for t in self.all_accounts().flat_map(|a| a.transactions.iter()) {
            let (Some(name), Some(id)) = (&t.category, t.category_id) else {
                continue;
            };
            if *by_name.entry(name.clone()).or_insert(id) != id {
                return Err(format!("category `{name}` has two ids"));
            }
            if *by_id.entry(id).or_insert(name) != name.as_str() {
                return Err(format!("category id {id} names two categories"));
            }
        }
        Ok(by_name)
    }
}

/// The account types finAPI knows (an account's `type`).
pub const ACCOUNT_TYPES: [&str; 8] = [
    "Checking",
    "Savings",
    "CreditCard",
    "Security",
    "Loan",
    "Pocket",
    "Membership",
    "Bausparen",
];

impl AccountSpec {
    fn check(&self) -> Result<(), String> {
        if self.name.trim().is_empty() {
            return Err("an account needs a name".into());
        }
        if !ACCOUNT_TYPES
            .iter()
            .any(|t| t.eq_ignore_ascii_case(&self.kind))
        {
            return Err(format!("type must be one of {}", ACCOUNT_TYPES.join(", ")));
        }
        if let Some(n) = &self.number {
            if n.is_empty() || n.len() > 10 || !n.chars().all(|c| c.is_ascii_digit()) {
                return Err("number has 1 to 10 digits".into());
            }
        }
        if let Some(iban) = &self.iban {
            let ok = (15..=34).contains(&iban.len())
                && iban.chars().take(2).all(|c| c.is_ascii_uppercase())
                && iban.chars().all(|c| c.is_ascii_alphanumeric());
            if !ok {
                return Err(format!("iban `{iban}` is not an IBAN"));
            }
        }
        if !self.balance.is_finite() {
            return Err("balance must be a number".into());
        }
        for t in &self.transactions {
            for date in std::iter::once(&t.date).chain(t.value_date.as_ref()) {
                if chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").is_err() {
                    return Err(format!("transaction date `{date}` is not YYYY-MM-DD"));
                }
            }
            if !t.amount.is_finite() || t.amount == 0.0 {
                return Err("a transaction amount is a non-zero number".into());
            }
        }
        Ok(())
    }
}

/// A customer of finAPI: one user base, several app clients, one admin client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MandatorSpec {
    pub id: String,
    #[serde(default = "v2")]
    pub api_version: ApiVersion,
    pub app_clients: Vec<ClientSpec>,
    pub admin_client: ClientSpec,
    #[serde(default)]
    pub users: Vec<UserSpec>,
}

fn v2() -> ApiVersion {
    ApiVersion::V2
}

/// Everything a simulator starts with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct World {
    pub mandators: Vec<MandatorSpec>,
}

/// A world file or world definition that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum WorldError {
    #[error("cannot read world file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("world file {path}: {message}")]
    Parse { path: String, message: String },
    #[error("world: {0}")]
    Invalid(String),
}

/// Secrets of the demo world. They guard nothing: the demo world exists on loopback only.
pub mod demo {
    pub const MANDATOR: &str = "demo";
    pub const APP_CLIENT: (&str, &str) = ("demo-app-1", "demo-app-1-secret-000000000000000000");
    pub const APP_CLIENT2: (&str, &str) = ("demo-app-2", "demo-app-2-secret-000000000000000000");
    pub const ADMIN_CLIENT: (&str, &str) = ("demo-admin", "demo-admin-secret-000000000000000000");
    pub const OTHER_MANDATOR: &str = "other";
    pub const OTHER_APP_CLIENT: (&str, &str) =
        ("other-app-1", "other-app-1-secret-00000000000000000");
    pub const OTHER_ADMIN_CLIENT: (&str, &str) =
        ("other-admin", "other-admin-secret-00000000000000000");
    pub const LEGACY_MANDATOR: &str = "legacy";
    pub const LEGACY_APP_CLIENT: (&str, &str) =
        ("legacy-app-1", "legacy-app-1-secret-0000000000000000");
    pub const LEGACY_ADMIN_CLIENT: (&str, &str) =
        ("legacy-admin", "legacy-admin-secret-0000000000000000");
    /// Users of the demo mandator: (id, password).
    pub const USERS: [(&str, &str); 2] = [("alice", "alice-password"), ("bob", "bob-password")];
    /// An unverified user of the demo mandator.
    pub const UNVERIFIED_USER: (&str, &str) = ("carol", "carol-password");
    pub const OTHER_USER: (&str, &str) = ("mallory", "mallory-password");
    pub const LEGACY_USER: (&str, &str) = ("victor", "victor-password");
}

impl World {
    /// An empty world, to be filled with [`World::mandator`].
    pub fn empty() -> World {
        World {
            mandators: Vec::new(),
        }
    }

    /// The default demo world (documented in docs/rust-tests.md):
    /// - mandator `demo` (V2): app clients `demo-app-1`, `demo-app-2`, admin `demo-admin`,
    ///   verified users `alice` and `bob`, unverified user `carol`;
    /// - mandator `other` (V2): app client `other-app-1`, admin `other-admin`, user `mallory`;
    /// - mandator `legacy` (V1): app client `legacy-app-1`, admin `legacy-admin`, user `victor`.
    pub fn demo() -> World {
        let user = |(id, pw): (&str, &str)| UserSpec::new(id, pw);
        let client = |(id, secret): (&str, &str)| ClientSpec::new(id, secret);
        let mut carol = user(demo::UNVERIFIED_USER);
        carol.verified = false;
        World {
            mandators: vec![
                MandatorSpec {
                    id: demo::MANDATOR.into(),
                    api_version: ApiVersion::V2,
                    app_clients: vec![client(demo::APP_CLIENT), client(demo::APP_CLIENT2)],
                    admin_client: client(demo::ADMIN_CLIENT),
                    users: vec![user(demo::USERS[0]), user(demo::USERS[1]), carol],
                },
                MandatorSpec {
                    id: demo::OTHER_MANDATOR.into(),
                    api_version: ApiVersion::V2,
                    app_clients: vec![client(demo::OTHER_APP_CLIENT)],
                    admin_client: client(demo::OTHER_ADMIN_CLIENT),
                    users: vec![user(demo::OTHER_USER)],
                },
                MandatorSpec {
                    id: demo::LEGACY_MANDATOR.into(),
                    api_version: ApiVersion::V1,
                    app_clients: vec![client(demo::LEGACY_APP_CLIENT)],
                    admin_client: client(demo::LEGACY_ADMIN_CLIENT),
                    users: vec![user(demo::LEGACY_USER)],
                },
            ],
        }
    }

    /// The demo world with every mandator bound to `version` (the runner's in-process target).
    pub fn demo_for(version: ApiVersion) -> World {
        let mut world = World::demo();
        for m in &mut world.mandators {
            m.api_version = version;
        }
        world
    }

    /// Add a mandator.
    pub fn mandator(mut self, mandator: MandatorSpec) -> World {
        self.mandators.push(mandator);
        self
    }

    /// Change the settings of one client (any mandator); unknown ids are ignored.
    pub fn configure_client(
        mut self,
        client_id: &str,
        f: impl FnOnce(&mut ClientSettings),
    ) -> World {
        if let Some(c) = self.clients_mut().find(|c| c.id == client_id) {
            f(&mut c.config);
        }
        self
    }

    /// Change the settings of every client.
    pub fn configure_all_clients(mut self, f: impl Fn(&mut ClientSettings)) -> World {
        self.clients_mut().for_each(|c| f(&mut c.config));
        self
    }

    fn clients_mut(&mut self) -> impl Iterator<Item = &mut ClientSpec> {
        self.mandators.iter_mut().flat_map(|m| {
            m.app_clients
                .iter_mut()
                .chain(std::iter::once(&mut m.admin_client))
        })
    }

    /// Read and validate a TOML world file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<World, WorldError> {
        let path = path.as_ref();
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| WorldError::Read {
            path: shown.clone(),
            source,
        })?;
        World::from_toml(&text).map_err(|e| match e {
            WorldError::Parse { message, .. } => WorldError::Parse {
                path: shown,
                message,
            },
            WorldError::Invalid(message) => WorldError::Parse {
                path: shown,
                message,
            },
            other => other,
        })
    }

    /// Parse and validate a world in TOML.
    pub fn from_toml(text: &str) -> Result<World, WorldError> {
        let world: World = toml::from_str(text).map_err(|e| WorldError::Parse {
            path: "<inline>".into(),
            message: e.message().replace('\n', " "),
        })?;
        world.validate()?;
        Ok(world)
    }

    /// Check the world can be simulated: unique ids, sane values.
    pub fn validate(&self) -> Result<(), WorldError> {
        let bad = |m: String| Err(WorldError::Invalid(m));
        if self.mandators.is_empty() {
            return bad("no mandator defined".into());
        }
        let mut mandators = HashSet::new();
        let mut clients = HashSet::new();
        for m in &self.mandators {
            if m.id.trim().is_empty() {
                return bad("a mandator has an empty id".into());
            }
            if !mandators.insert(m.id.as_str()) {
                return bad(format!("mandator `{}` is defined twice", m.id));
            }
            if m.app_clients.is_empty() {
                return bad(format!("mandator `{}` has no app client", m.id));
            }
            for c in m.app_clients.iter().chain(std::iter::once(&m.admin_client)) {
                if c.id.is_empty() || c.id.len() > 45 {
                    return bad(format!("client id `{}` must have 1 to 45 characters", c.id));
                }
                if c.secret.is_empty() {
                    return bad(format!("client `{}` has an empty secret", c.id));
                }
                if !clients.insert(c.id.as_str()) {
                    return bad(format!("client `{}` is defined twice", c.id));
                }
                for (name, v) in [
                    (
                        "user_access_token_validity",
                        c.config.user_access_token_validity,
                    ),
                    (
                        "client_access_token_validity",
                        c.config.client_access_token_validity,
                    ),
                    ("refresh_token_validity", c.config.refresh_token_validity),
                ] {
                    if v != 0 && v < 60 {
                        return bad(format!(
                            "client `{}`: {name} must be 0 or at least 60 seconds",
                            c.id
                        ));
                    }
                }
            }
            let mut users = HashSet::new();
            for u in &m.users {
                if let Err(why) = crate::model::user_fields::check_user_id(&u.id) {
                    return bad(format!("mandator `{}`: user `{}`: {why}", m.id, u.id));
                }
                if let Err(why) = u.check_password() {
                    return bad(format!("mandator `{}`: user `{}`: {why}", m.id, u.id));
                }
                for a in u.all_accounts() {
                    if let Err(why) = a.check() {
                        return bad(format!(
                            "mandator `{}`: user `{}`: account `{}`: {why}",
                            m.id, u.id, a.name
                        ));
                    }
                }
                for c in &u.bank_connections {
                    if test_banks::test_bank(c.bank_id).is_none() {
                        return bad(format!(
                            "mandator `{}`: user `{}`: bank {} is not a test bank of the mock",
                            m.id, u.id, c.bank_id
                        ));
                    }
                }
                if let Err(why) = u.category_ids() {
                    return bad(format!("mandator `{}`: user `{}`: {why}", m.id, u.id));
                }
                if !users.insert(u.id.to_lowercase()) {
                    return bad(format!(
                        "mandator `{}`: user `{}` is defined twice",
                        m.id, u.id
                    ));
                }
            }
        }
        self.given_ids().map(|_| ())
    }

    /// Every record id the world gives (connections, accounts, transactions, categories), so
    /// the simulator hands out no other record the same id. Connection, account and
    /// transaction ids are unique in the world, as finAPI's are; an id must be at most
    /// [`MAX_GIVEN_ID`].
    pub fn given_ids(&self) -> Result<Vec<u64>, WorldError> {
        let mut seen: HashMap<(&str, u64), &str> = HashMap::new();
        let mut out = Vec::new();
        for m in &self.mandators {
            for u in &m.users {
                let mut ids: Vec<(&str, u64)> = Vec::new();
                ids.extend(
                    u.bank_connections
                        .iter()
                        .filter_map(|c| c.id.map(|id| ("bank connection", id))),
                );
                for a in u.all_accounts() {
                    ids.extend(a.id.map(|id| ("account", id)));
                    ids.extend(
                        a.transactions
                            .iter()
                            .filter_map(|t| t.id.map(|id| ("transaction", id))),
                    );
                }
                for (kind, id) in ids {
                    if id == 0 || id > MAX_GIVEN_ID {
                        return Err(WorldError::Invalid(format!(
                            "user `{}`: {kind} id {id} must be from 1 to {MAX_GIVEN_ID}",
                            u.id
                        )));
                    }
                    if let Some(other) = seen.insert((kind, id), &u.id) {
                        return Err(WorldError::Invalid(format!(
                            "{kind} id {id} is given twice (users `{other}` and `{}`)",
                            u.id
                        )));
                    }
                    out.push(id);
                }
                let categories = u.category_ids().map_err(WorldError::Invalid)?;
                for (name, id) in categories {
                    if id == 0 || id > MAX_GIVEN_ID {
                        return Err(WorldError::Invalid(format!(
                            "user `{}`: category `{name}`: id {id} must be from 1 to {MAX_GIVEN_ID}",
                            u.id
                        )));
                    }
                    out.push(id);
                }
            }
        }
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }
}

impl Default for World {
    fn default() -> Self {
        World::demo()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[[mandators]]
id = "m"
api_version = "v1"
admin_client = { id = "m-admin", secret = "s" }
app_clients = [{ id = "m-app", secret = "s", config = { max_user_login_attempts = 5 } }]
users = [{ id = "u", password = "u-password", verified = false }]
"#;

    /// The error `from_toml` gives for `GOOD` with `from` replaced by `to`, as one line.
    fn error_for(from: &str, to: &str) -> String {
        assert!(GOOD.contains(from), "`{from}` is not in the good world");
        let text = GOOD.replacen(from, to, 1);
        let err = World::from_toml(&text).expect_err("world must be refused");
        let msg = err.to_string();
        assert!(!msg.contains('\n'), "not one line: {msg:?}");
        msg
    }

    #[test]
    fn a_good_world_parses_with_defaults() {
        let world = World::from_toml(GOOD).unwrap();
        let m = &world.mandators[0];
        assert_eq!(m.api_version, ApiVersion::V1);
        assert_eq!(m.app_clients[0].config.max_user_login_attempts, 5);
        assert_eq!(m.app_clients[0].config.user_access_token_validity, 3600);
        assert!(!m.users[0].verified);
        assert!(m.users[0].sample_data);
    }

    #[test]
    fn world_file_errors_are_one_line_and_name_the_problem() {
        let cases = [
            ("api_version = \"v1\"", "api_version = \"v3\"", "v3"),
            ("id = \"m\"\n", "id = \"m\"\ncolour = \"red\"\n", "colour"),
            (
                "admin_client = { id = \"m-admin\", secret = \"s\" }\n",
                "",
                "admin_client",
            ),
            ("secret = \"s\" }\n", "secret = \"\" }\n", "empty secret"),
            (
                "id = \"m-app\"",
                "id = \"m-admin\"",
                "`m-admin` is defined twice",
            ),
            (
                "max_user_login_attempts = 5",
                "user_access_token_validity = 30",
                "user_access_token_validity",
            ),
            ("id = \"u\"", "id = \"u s\"", "user `u s`"),
            (
                "password = \"u-password\"",
                "password = \"short\"",
                "6 to 128",
            ),
            ("app_clients = [", "app_clients = [ [", "world file"),
        ];
        for (from, to, needle) in cases {
            let msg = error_for(from, to);
            assert!(
                msg.contains(needle),
                "`{to}`: {msg:?} does not name {needle:?}"
            );
        }
        let msg = World::from_toml("mandators = []").unwrap_err().to_string();
        assert_eq!(msg, "world: no mandator defined");
        let twice = format!("{GOOD}\n{}", GOOD.replace("m-", "n-"));
        let msg = World::from_toml(&twice).unwrap_err().to_string();
        assert_eq!(msg, "world: mandator `m` is defined twice");
    }

    #[test]
    fn the_example_world_file_parses() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/world.example.toml");
        let world = World::from_file(path).unwrap();
        assert_eq!(world.mandators.len(), 2);
        let acme = &world.mandators[0];
        assert_eq!(acme.app_clients[1].config.max_user_login_attempts, 5);
        assert!(acme.users[2].locked && !acme.users[1].verified);
        assert_eq!(world.mandators[1].api_version, ApiVersion::V1);
        let jane = &acme.users[0];
        assert_eq!(jane.accounts.len(), 1);
        assert_eq!(jane.accounts[0].transactions.len(), 2);
        assert!(!acme.users[2].sample_data);
    }

    #[test]
    fn declared_accounts_are_checked() {
        let with = |account: &str| {
            GOOD.replacen(
                "verified = false }",
                &format!("verified = false, accounts = [{{ {account} }}] }}"),
                1,
            )
        };
        let ok = World::from_toml(&with("name = \"Giro\", balance = 10.5")).unwrap();
        assert_eq!(ok.mandators[0].users[0].accounts[0].kind, "Checking");
        for (account, needle) in [
            ("name = \"Giro\", type = \"Current\"", "type must be one of"),
            (
                "name = \"Giro\", number = \"12ab\"",
                "number has 1 to 10 digits",
            ),
            ("name = \"\"", "needs a name"),
            ("name = \"Giro\", colour = \"red\"", "colour"),
        ] {
            let msg = World::from_toml(&with(account)).unwrap_err().to_string();
            assert!(msg.contains(needle), "{account}: {msg}");
        }
    }

    /// `GOOD`'s user with a hashed password and a recorded bank connection.
    fn recorded(extra: &str) -> String {
        let hash = password::PasswordHash::with_rounds("u-password", &[1; 16], 1000);
        GOOD.replacen(
            "users = [{ id = \"u\", password = \"u-password\", verified = false }]",
            &format!(
                r#"[[mandators.users]]
id = "u"
password_hash = "{}"
sample_data = false
{extra}
[[mandators.users.bank_connections]]
id = 10
[[mandators.users.bank_connections.accounts]]
id = 11
name = "Checking 1"
iban = "DE02120300000000202051"
[[mandators.users.bank_connections.accounts.transactions]]
id = 12
date = "2026-11-02"
amount = -9.5
category = "Lebensmittel"
category_id = 7
"#,
                hash.as_str()
            ),
            1,
        )
    }

    #[test]
    fn a_recorded_user_has_a_hash_and_bank_data_with_ids() {
        let world = World::from_toml(&recorded("")).unwrap();
        let u = &world.mandators[0].users[0];
        assert!(u.password.is_empty() && u.password_hash.is_some());
        assert_eq!(world.given_ids().unwrap(), vec![7, 10, 11, 12]);
        // Written back, it reads the same.
        let text = toml::to_string(&world).unwrap();
        assert_eq!(World::from_toml(&text).unwrap(), world);
        for (extra, needle) in [
            ("password = \"u-password\"", "not both"),
            ("email = \"x\"\n[[mandators.users]]\nid = \"v\"\npassword_hash = \"$pbkdf2-sha256$i=5,l=32$AAAAAAAAAAA$AAAA\"", "rounds"),
        ] {
            let msg = World::from_toml(&recorded(extra)).unwrap_err().to_string();
            assert!(msg.contains(needle), "{extra}: {msg}");
        }
        let twice = recorded("")
            + "[[mandators.users.bank_connections.accounts.transactions]]\nid = 12\ndate = \"2026-11-03\"\namount = 1.0\n";
        let msg = World::from_toml(&twice).unwrap_err().to_string();
        assert!(
            msg.contains("given twice") || msg.contains("id 11"),
            "{msg}"
        );
        let big = recorded("").replace("id = 12", "id = 9000000000000");
        let msg = World::from_toml(&big).unwrap_err().to_string();
        assert!(msg.contains("must be from 1"), "{msg}");
        let bank = recorded("").replace("id = 10\n", "id = 10\nbank_id = 12345\n");
        let msg = World::from_toml(&bank).unwrap_err().to_string();
        assert!(msg.contains("not a test bank"), "{msg}");
    }

    #[test]
    fn demo_secrets_fit_the_v2_rotation_rules() {
        // V2 changeClientCredentials takes old and new secrets of exactly 36 characters.
        for (id, secret) in [
            demo::APP_CLIENT,
            demo::APP_CLIENT2,
            demo::ADMIN_CLIENT,
            demo::OTHER_APP_CLIENT,
            demo::OTHER_ADMIN_CLIENT,
            demo::LEGACY_APP_CLIENT,
            demo::LEGACY_ADMIN_CLIENT,
        ] {
            assert_eq!(secret.len(), 36, "secret of {id}");
        }
        World::demo().validate().unwrap();
    }
}
