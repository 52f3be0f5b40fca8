//! Who the state knows: mandators, their clients, their users (and the deleted ones), and the
//! owners that resources of the generic store belong to.

use chrono::{DateTime, Utc};
use subtle::ConstantTimeEq;

use crate::model::{ApiVersion, CallerKind};
use crate::world::ClientSettings;

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
    pub fn new(
        id: &str,
        secret: &str,
        mandator: MandatorIx,
        kind: CallerKind,
        settings: ClientSettings,
    ) -> Client {
        Client {
            id: id.to_string(),
            secret: secret.as_bytes().to_vec(),
            mandator,
            kind,
            settings,
        }
    }

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
    /// The password in clear, unless the world gave only its hash.
    pub password: String,
    /// The password as the world gave it, hashed (a password change drops it).
    pub password_hash: Option<std::sync::Arc<crate::world::password::PasswordHash>>,
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
        if let Some(hash) = &self.password_hash {
            return hash.verify(presented);
        }
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

/// Where a resource of the generic store belongs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Owner {
    /// A user of a mandator (lower-cased id).
    User(MandatorIx, String),
    /// The mandator itself (TPP certificates, credentials, rules).
    Mandator(MandatorIx),
}
