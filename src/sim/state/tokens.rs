//! The tokens the state has issued: access tokens (of a client or of a user) and the refresh
//! tokens of password grants, each alive until it expires or is revoked.

use chrono::{DateTime, Utc};

use crate::sim::state::parties::MandatorIx;

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
