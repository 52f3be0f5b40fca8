//! The simulator's state: mandators, clients, users, tokens and user data.
//!
//! Everything lives behind one mutex in [`crate::sim::Simulator`]; each request runs its guard
//! and handler under that lock, so concurrent requests see a consistent state and nothing is
//! lost.

use std::collections::{BTreeMap, HashMap};
use std::ops::{Deref, DerefMut};
use std::sync::{Arc, OnceLock};

use chrono::{DateTime, Utc};
use rand::RngCore;
use serde_json::value::RawValue;
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

/// The state's hash maps: every request looks a token and a resource collection up in them,
/// and foldhash (seeded per process) does that in a fraction of SipHash's time.
pub type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// One collection of the generic store: id -> record. Shared between states until one of them
/// changes it ([`State::collection_mut`] copies it then), so a simulator starts from a built
/// world without copying its data.
pub type Collection = Arc<BTreeMap<u64, Record>>;

/// The key of a [`Collection`]: whose, and which kind of resource.
pub type CollectionKey = (Owner, String);

/// The simulator's whole state. Cloning it is cheap: the user data is shared copy-on-write.
#[derive(Debug, Default, Clone)]
pub struct State {
    pub mandators: Vec<Mandator>,
    pub clients: FastMap<String, Client>,
    /// Per mandator, by lower-cased id.
    pub users: Vec<BTreeMap<String, User>>,
    pub deleted_users: Vec<Vec<DeletedUser>>,
    pub tokens: FastMap<String, AccessToken>,
    pub refresh_tokens: FastMap<String, RefreshToken>,
    /// The token last issued to (client, user), for reuse while unexpired.
    pub current: FastMap<(String, Option<String>), String>,
    /// The refresh token of each password grant.
    pub grant_refresh: FastMap<u64, String>,
    /// The generic resource store: (owner, kind) -> id -> JSON object.
    pub resources: FastMap<CollectionKey, Collection>,
    /// Web Form 2.0: web forms, tasks, profiles and translations.
    pub webform: crate::sim::ops::webform::WebForms,
    next_grant: u64,
    next_id: u64,
}

/// A stored resource: its JSON object and, once an answer has shown it, its serialized bytes
/// (so list pages copy bytes instead of serializing the same records on every request) and its
/// [`Facts`] (so transaction lists do not look fields up on every request).
///
/// It reads as a [`Value`] (`Deref`); any mutable access (`DerefMut`) drops both first, so
/// they can never be stale. Serializing a `Record` writes the bytes, made on first use.
#[derive(Debug, Clone, Default)]
pub struct Record {
    value: Value,
    raw: OnceLock<Box<RawValue>>,
    facts: OnceLock<Facts>,
}

/// What transaction lists filter, sort and sum by, read from a record once: its `id`, the day
/// of its `bankBookingDate` and its `amount` (0 where absent).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Facts {
    pub id: u64,
    pub day: Option<chrono::NaiveDate>,
    pub amount: f64,
}

impl Record {
    /// The record's [`Facts`], read on first use and kept until it changes.
    pub fn facts(&self) -> Facts {
        *self.facts.get_or_init(|| Facts {
            id: self.value["id"].as_u64().unwrap_or(0),
            day: self.value["bankBookingDate"]
                .as_str()
                .and_then(crate::model::shapes::parse_ymd),
            amount: self.value["amount"].as_f64().unwrap_or(0.0),
        })
    }

    /// About how many bytes the record serializes to: exact once an answer has shown it, a
    /// kilobyte before. Lets a list answer allocate its body once.
    pub fn size_hint(&self) -> usize {
        self.raw.get().map_or(1024, |raw| raw.get().len())
    }

    /// The record's JSON, owned.
    pub fn to_value(&self) -> Value {
        self.value.clone()
    }

    /// The record's JSON, taking it out.
    pub fn into_value(self) -> Value {
        self.value
    }
}

impl From<Value> for Record {
    fn from(value: Value) -> Record {
        Record {
            value,
            raw: OnceLock::new(),
            facts: OnceLock::new(),
        }
    }
}

impl Deref for Record {
    type Target = Value;

    fn deref(&self) -> &Value {
        &self.value
    }
}

impl DerefMut for Record {
    fn deref_mut(&mut self) -> &mut Value {
        self.raw.take();
        self.facts.take();
        &mut self.value
    }
}

impl PartialEq for Record {
    fn eq(&self, other: &Record) -> bool {
        self.value == other.value
    }
}

impl serde::Serialize for Record {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if let Some(raw) = self.raw.get() {
            return raw.serialize(s);
        }
        match serde_json::value::to_raw_value(&self.value) {
            Ok(raw) => self.raw.get_or_init(|| raw).serialize(s),
            // A `Value` always serializes; should it not, write it the slow way.
            Err(_) => self.value.serialize(s),
        }
    }
}

/// Ids the simulator never hands out; probes use them to address nothing.
pub const UNKNOWN_ID: u64 = 9_000_000_000_000;

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

impl State {
    /// The state a simulator of `world` starts with at `now`: built once per process and world
    /// (see [`State::from_world`]) and cloned after that. Clones share the user data until one
    /// changes it, so simulators stay independent.
    pub fn for_world(world: &World, now: DateTime<Utc>) -> State {
        static TEMPLATES: parking_lot::Mutex<Vec<Template>> = parking_lot::Mutex::new(Vec::new());
        let fresh = |t: &Template| now >= t.built_at && now - t.built_at < TEMPLATE_FRESH_FOR;
        if let Some(t) = TEMPLATES
            .lock()
            .iter()
            .find(|t| fresh(t) && t.world == *world)
        {
            return t.state.clone();
        }
        let state = State::from_world(world, now);
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

    /// The collection `key` to change, created empty if missing; copied first if another
    /// state still shares it.
    pub fn collection_mut(&mut self, key: CollectionKey) -> &mut BTreeMap<u64, Record> {
        Arc::make_mut(self.resources.entry(key).or_default())
    }

    /// The collection `key` to change, if it exists; copied first if another state still
    /// shares it.
    pub fn existing_collection_mut(
        &mut self,
        key: &CollectionKey,
    ) -> Option<&mut BTreeMap<u64, Record>> {
        self.resources.get_mut(key).map(Arc::make_mut)
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
        self.collection_mut((owner, kind.to_string()))
            .insert(id, value.into());
        id
    }

    /// A test-bank import for a user: a connection with accounts, transactions and
    /// securities (see [`crate::sim::ops::demo`]). Returns the connection's id.
    pub fn import_test_bank(
        &mut self,
        mandator: MandatorIx,
        user: &str,
        bank: &crate::sim::banks::TestBank,
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_record_serializes_like_its_value_and_never_stale() {
        let mut r = Record::from(
            json!({ "id": 7, "amount": -12.5, "bankBookingDate": "2026-11-30", "purpose": "Miete \"Nov\"" }),
        );
        let first = serde_json::to_string(&r).unwrap();
        assert_eq!(first, serde_json::to_string(&r.to_value()).unwrap());
        // The second time the kept bytes are written: the same text.
        assert_eq!(serde_json::to_string(&r).unwrap(), first);
        assert_eq!(
            r.facts(),
            Facts {
                id: 7,
                day: chrono::NaiveDate::from_ymd_opt(2026, 11, 30),
                amount: -12.5
            }
        );
        // A change through `DerefMut` drops the kept bytes and facts.
        r["amount"] = json!(99);
        r["bankBookingDate"] = json!("2026-12-01");
        let changed = serde_json::to_string(&r).unwrap();
        assert!(changed.contains("\"amount\":99"), "{changed}");
        assert_eq!(r.facts().amount, 99.0);
        assert_eq!(r.facts().day, chrono::NaiveDate::from_ymd_opt(2026, 12, 1));
        // Inside another structure it is written as raw JSON, not as a string.
        let bytes = serde_json::to_vec(&[&r, &r]).unwrap();
        let back: Vec<Value> = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(back, vec![r.to_value(), r.to_value()]);
    }
}
