//! The simulator's state: mandators, clients, users, tokens and user data.
//!
//! Everything lives behind one mutex in [`crate::sim::Simulator`]; each request runs its guard
//! and handler under that lock, so concurrent requests see a consistent state and nothing is
//! lost.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use rand::RngCore;
use serde_json::Value;
use subtle::ConstantTimeEq;

use crate::model::{ApiVersion, CallerKind};
use crate::world::{ClientSettings, World};

pub type MandatorIx = usize;

#[derive(Debug, Clone)]
pub struct Mandator {
    pub id: String,
    pub api_version: ApiVersion,
    /// When the mandator last switched API version (switching back is allowed for 7 days).
    pub switched_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct Client {
    pub id: String,
    secret: Vec<u8>,
    pub mandator: MandatorIx,
    pub kind: CallerKind,
    pub settings: ClientSettings,
}

impl Client {
    /// Compare a presented secret in constant time (for equal lengths).
    pub fn secret_matches(&self, presented: &str) -> bool {
        self.secret.len() == presented.len()
            && bool::from(self.secret.as_slice().ct_eq(presented.as_bytes()))
    }
    pub fn set_secret(&mut self, secret: &str) {
        self.secret = secret.as_bytes().to_vec();
    }
}

#[derive(Debug, Clone)]
pub struct User {
    pub id: String,
    pub password: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub auto_update: bool,
    pub verified: bool,
    pub locked: bool,
    pub failed_logins: u32,
    pub registered: DateTime<Utc>,
    pub last_active: Option<DateTime<Utc>>,
    /// The app client that created the user.
    pub created_by: String,
    pub password_change_token: Option<String>,
}

impl User {
    pub fn password_matches(&self, presented: &str) -> bool {
        self.password.len() == presented.len()
            && bool::from(self.password.as_bytes().ct_eq(presented.as_bytes()))
    }
}

#[derive(Debug, Clone)]
pub struct DeletedUser {
    pub id: String,
    pub registered: DateTime<Utc>,
    pub deleted: DateTime<Utc>,
}

/// An access token, of a client (`user == None`) or of a user.
#[derive(Debug, Clone)]
pub struct AccessToken {
    pub client: String,
    pub mandator: MandatorIx,
    /// Lower-cased user id.
    pub user: Option<String>,
    /// Tokens from one password grant and its refreshes share a grant number.
    pub grant: u64,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked: bool,
}

#[derive(Debug, Clone)]
pub struct RefreshToken {
    pub client: String,
    pub mandator: MandatorIx,
    pub user: String,
    pub grant: u64,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked: bool,
}

fn alive(expires_at: Option<DateTime<Utc>>, revoked: bool, now: DateTime<Utc>) -> bool {
    !revoked && expires_at.is_none_or(|t| now < t)
}

impl AccessToken {
    pub fn is_alive(&self, now: DateTime<Utc>) -> bool {
        alive(self.expires_at, self.revoked, now)
    }
}

impl RefreshToken {
    pub fn is_alive(&self, now: DateTime<Utc>) -> bool {
        alive(self.expires_at, self.revoked, now)
    }
}

/// Where a resource of the generic store belongs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Owner {
    /// A user of a mandator (lower-cased id).
    User(MandatorIx, String),
    /// The mandator itself (TPP certificates, credentials, rules).
    Mandator(MandatorIx),
}

/// The simulator's whole state.
#[derive(Debug, Default)]
pub struct State {
    pub mandators: Vec<Mandator>,
    pub clients: HashMap<String, Client>,
    /// Per mandator, by lower-cased id.
    pub users: Vec<BTreeMap<String, User>>,
    pub deleted_users: Vec<Vec<DeletedUser>>,
    pub tokens: HashMap<String, AccessToken>,
    pub refresh_tokens: HashMap<String, RefreshToken>,
    /// The token last issued to (client, user), for reuse while unexpired.
    pub current: HashMap<(String, Option<String>), String>,
    /// The refresh token of each password grant.
    pub grant_refresh: HashMap<u64, String>,
    /// The generic resource store: (owner, kind) -> id -> JSON object.
    pub resources: HashMap<(Owner, String), BTreeMap<u64, Value>>,
    next_grant: u64,
    next_id: u64,
}

/// Ids the simulator never hands out; probes use them to address nothing.
pub const UNKNOWN_ID: u64 = 9_000_000_000_000;

impl State {
    pub fn from_world(world: &World, now: DateTime<Utc>) -> State {
        let mut state = State {
            next_id: 1,
            next_grant: 1,
            ..State::default()
        };
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
                    Client {
                        id: spec.id.clone(),
                        secret: spec.secret.as_bytes().to_vec(),
                        mandator: ix,
                        kind,
                        settings: spec.config.clone(),
                    },
                );
            }
            for u in &m.users {
                let user = User {
                    id: u.id.clone(),
                    password: u.password.clone(),
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
                crate::sim::ops::demo::populate_user(&mut state, ix, &key, u, now);
            }
        }
        state
    }

    pub fn next_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    pub fn next_grant(&mut self) -> u64 {
        let id = self.next_grant;
        self.next_grant += 1;
        id
    }

    pub fn user(&self, mandator: MandatorIx, id: &str) -> Option<&User> {
        self.users.get(mandator)?.get(user_key(id).as_ref())
    }

    pub fn user_mut(&mut self, mandator: MandatorIx, id: &str) -> Option<&mut User> {
        self.users.get_mut(mandator)?.get_mut(user_key(id).as_ref())
    }

    pub fn mandator_of_client(&self, client: &str) -> Option<MandatorIx> {
        self.clients.get(client).map(|c| c.mandator)
    }

    /// First app client of a mandator (by id order).
    pub fn first_app_client(&self, mandator: MandatorIx) -> Option<&Client> {
        self.clients
            .values()
            .filter(|c| c.mandator == mandator && c.kind == CallerKind::AppClient)
            .min_by(|a, b| a.id.cmp(&b.id))
    }

    pub fn admin_client(&self, mandator: MandatorIx) -> Option<&Client> {
        self.clients
            .values()
            .find(|c| c.mandator == mandator && c.kind == CallerKind::MandatorAdmin)
    }

    /// Insert a resource of `kind` for `owner`; returns its id. The record is completed to the
    /// model it is shown as in the owner's API version, once, so every answer that shows it
    /// (a list, a get, a create) shows the same values.
    pub fn insert_resource(&mut self, owner: Owner, kind: &str, mut value: Value) -> u64 {
        let id = self.next_id();
        if let Some(obj) = value.as_object_mut() {
            obj.insert("id".into(), Value::from(id));
        }
        let mandator = match &owner {
            Owner::User(m, _) | Owner::Mandator(m) => *m,
        };
        if let (Some(m), Some(model)) = (self.mandators.get(mandator), model_of(kind)) {
            value = crate::sim::conform::model(m.api_version, model, value);
        }
        self.resources
            .entry((owner, kind.to_string()))
            .or_default()
            .insert(id, value);
        id
    }

    /// A test-bank import for a user: a connection with accounts, transactions and
    /// securities (see [`crate::sim::ops::demo`]). Returns the connection's id.
    pub fn import_test_bank(
        &mut self,
        mandator: MandatorIx,
        user: &str,
        bank: &crate::sim::ops::banks::TestBank,
        now: DateTime<Utc>,
    ) -> u64 {
        let version = self.mandators[mandator].api_version;
        let holder = self
            .user(mandator, user)
            .map(|u| u.id.clone())
            .unwrap_or_else(|| user.to_string());
        let owner = Owner::User(mandator, user.to_string());
        crate::sim::ops::demo::import(self, &owner, version, bank, now, &holder, None)
    }

    /// Drop every resource a user owns.
    pub fn remove_user_data(&mut self, mandator: MandatorIx, user: &str) {
        self.resources
            .retain(|(owner, _), _| *owner != Owner::User(mandator, user.to_string()));
    }

    /// Revoke access tokens matching `pred`; with `keep` they are only flagged (so a
    /// "revoked token accepted" break can still find them), otherwise removed.
    pub fn revoke_access(&mut self, keep: bool, pred: impl Fn(&AccessToken) -> bool) {
        if keep {
            self.tokens
                .values_mut()
                .filter(|t| pred(t))
                .for_each(|t| t.revoked = true);
        } else {
            self.tokens.retain(|_, t| !pred(t));
        }
    }

    pub fn revoke_refresh(&mut self, keep: bool, pred: impl Fn(&RefreshToken) -> bool) {
        if keep {
            self.refresh_tokens
                .values_mut()
                .filter(|t| pred(t))
                .for_each(|t| t.revoked = true);
        } else {
            self.refresh_tokens.retain(|_, t| !pred(t));
        }
    }

    /// Every token (access and refresh) of one user, for every client.
    pub fn revoke_user(&mut self, keep: bool, mandator: MandatorIx, user: &str) {
        let user = user.to_lowercase();
        self.revoke_access(keep, |t| {
            t.mandator == mandator && t.user.as_deref() == Some(user.as_str())
        });
        self.revoke_refresh(keep, |t| t.mandator == mandator && t.user == user);
    }

    /// Drop expired tokens when the maps have grown, so long runs stay bounded.
    pub fn sweep(&mut self, now: DateTime<Utc>, keep_dead: bool) {
        if keep_dead || self.tokens.len() + self.refresh_tokens.len() < 50_000 {
            return;
        }
        self.tokens.retain(|_, t| t.is_alive(now));
        self.refresh_tokens.retain(|_, t| t.is_alive(now));
        let tokens = &self.tokens;
        self.current.retain(|_, t| tokens.contains_key(t));
        let refresh = &self.refresh_tokens;
        self.grant_refresh.retain(|_, t| refresh.contains_key(t));
    }
}

/// The model a stored resource of `kind` is shown as.
pub(crate) fn model_of(kind: &str) -> Option<&'static str> {
    Some(match kind {
        "accounts" => "Account",
        "transactions" => "Transaction",
        "pendingTransactions" => "PendingTransaction",
        "bankConnections" => "BankConnection",
        "categories" => "Category",
        "labels" => "Label",
        "notificationRules" => "NotificationRule",
        "payments" => "Payment",
        "standingOrders" => "StandingOrder",
        "securities" => "Security",
        "tppCertificates" => "TppCertificate",
        "tppCredentials" => "TppCredentials",
        "ibanRules" => "IbanRule",
        "keywordRules" => "KeywordRule",
        "webForms" => "WebForm",
        _ => return None,
    })
}

/// A fresh random token: 192 bits from the operating system's CSPRNG, hex-encoded.
pub fn random_token() -> String {
    let mut bytes = [0u8; 24];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex(&bytes)
}

/// A random value shaped like a UUID (`8-4-4-4-12` lowercase hex), 122 random bits.
pub fn random_uuid() -> String {
    let mut b = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex(&b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 15) as usize] as char);
    }
    out
}

/// The users map's key for an id: ids are case-insensitive, keys lower-case. Ids that are
/// already lower-case (every key, and what token records hold) are used as they are, so the
/// lookup on every authenticated request allocates nothing.
fn user_key(id: &str) -> std::borrow::Cow<'_, str> {
    if id.chars().any(char::is_uppercase) {
        std::borrow::Cow::Owned(id.to_lowercase())
    } else {
        std::borrow::Cow::Borrowed(id)
    }
}
