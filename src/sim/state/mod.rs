//! The simulator's state: mandators, clients, users, tokens and user data.
//!
//! Everything lives behind one mutex in [`crate::sim::Simulator`]; each request runs its guard
//! and handler under that lock, so concurrent requests see a consistent state and nothing is
//! lost.

pub mod parties;
pub mod record;
pub mod tokens;
pub mod webforms;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::model::CallerKind;

pub use parties::{Client, DeletedUser, Mandator, MandatorIx, Owner, User};
pub use record::{Facts, Record};
pub use tokens::{AccessToken, RefreshToken};
pub use webforms::WebForms;

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
    pub webform: WebForms,
    next_grant: u64,
    next_id: u64,
    /// Ids the world gave its records: [`State::next_id`] skips them.
    reserved: Arc<std::collections::BTreeSet<u64>>,
}

/// Ids the simulator never hands out; probes use them to address nothing.
pub const UNKNOWN_ID: u64 = 9_000_000_000_000;

impl State {
    /// An empty state: no mandator, client or user yet; ids and grants count from 1.
    pub fn new() -> State {
        State {
            next_id: 1,
            next_grant: 1,
            ..State::default()
        }
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
        while self.reserved.contains(&self.next_id) {
            self.next_id += 1;
        }
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// Ids [`State::next_id`] never hands out (a world's own ids for its records).
    pub fn reserve_ids(&mut self, ids: impl IntoIterator<Item = u64>) {
        Arc::make_mut(&mut self.reserved).extend(ids);
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
    pub fn insert_resource(&mut self, owner: Owner, kind: &str, value: Value) -> u64 {
        self.insert_resource_as(owner, kind, value, None)
    }

    /// [`State::insert_resource`] with the id the world gives the record, if it gives one
    /// (reserved with [`State::reserve_ids`]).
    pub fn insert_resource_as(
        &mut self,
        owner: Owner,
        kind: &str,
        mut value: Value,
        id: Option<u64>,
    ) -> u64 {
        let id = id.unwrap_or_else(|| self.next_id());
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
