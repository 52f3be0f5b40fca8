//! Who is calling: the principals a boundary check can take the part of.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::catalogue::CallerKind;

/// A caller in a boundary check, including the broken token states.
///
/// The three user principals all hold a valid user token; they differ in whose resource the
/// probe addresses: the user's own, another user's of the same mandator, or a resource of the
/// first mandator's user addressed by a user of another mandator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Principal {
    /// No `Authorization` header.
    NoToken,
    /// A bearer value that is no token finAPI ever issued.
    MalformedToken,
    /// A token that was valid and has expired.
    ExpiredToken,
    /// A token that was valid and has been revoked.
    RevokedToken,
    /// App client 1 of the mandator under test.
    AppClient,
    /// App client 2 of the same mandator (shares the user base).
    SecondAppClient,
    /// An app client of another mandator.
    OtherMandatorAppClient,
    /// The mandator admin client.
    AdminClient,
    /// A user of the mandator, addressing their own data.
    User,
    /// A user of the mandator, addressing another user's data.
    OtherUser,
    /// A user of another mandator, addressing this mandator's user's data.
    OtherMandatorUser,
}

impl Principal {
    pub const ALL: [Principal; 11] = [
        Principal::NoToken,
        Principal::MalformedToken,
        Principal::ExpiredToken,
        Principal::RevokedToken,
        Principal::AppClient,
        Principal::SecondAppClient,
        Principal::OtherMandatorAppClient,
        Principal::AdminClient,
        Principal::User,
        Principal::OtherUser,
        Principal::OtherMandatorUser,
    ];

    /// The caller kind whose rights this principal holds, or `None` for a broken token.
    pub fn kind(self) -> Option<CallerKind> {
        match self {
            Principal::NoToken
            | Principal::MalformedToken
            | Principal::ExpiredToken
            | Principal::RevokedToken => None,
            Principal::AppClient
            | Principal::SecondAppClient
            | Principal::OtherMandatorAppClient => Some(CallerKind::AppClient),
            Principal::AdminClient => Some(CallerKind::MandatorAdmin),
            Principal::User | Principal::OtherUser | Principal::OtherMandatorUser => {
                Some(CallerKind::User)
            }
        }
    }

    /// True for the principals that present no valid token.
    pub fn is_broken_token(self) -> bool {
        self.kind().is_none()
    }

    /// True when the principal belongs to another mandator than the one under test.
    pub fn is_foreign_mandator(self) -> bool {
        matches!(
            self,
            Principal::OtherMandatorAppClient | Principal::OtherMandatorUser
        )
    }

    /// Kebab-case name used on the command line, in features and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Principal::NoToken => "no-token",
            Principal::MalformedToken => "malformed-token",
            Principal::ExpiredToken => "expired-token",
            Principal::RevokedToken => "revoked-token",
            Principal::AppClient => "app-client",
            Principal::SecondAppClient => "second-app-client",
            Principal::OtherMandatorAppClient => "other-mandator-app-client",
            Principal::AdminClient => "admin-client",
            Principal::User => "user",
            Principal::OtherUser => "other-user",
            Principal::OtherMandatorUser => "other-mandator-user",
        }
    }

    /// Short column heading for the terminal matrix.
    pub fn short(self) -> &'static str {
        match self {
            Principal::NoToken => "none",
            Principal::MalformedToken => "malf",
            Principal::ExpiredToken => "expd",
            Principal::RevokedToken => "revk",
            Principal::AppClient => "app",
            Principal::SecondAppClient => "app2",
            Principal::OtherMandatorAppClient => "xapp",
            Principal::AdminClient => "admn",
            Principal::User => "user",
            Principal::OtherUser => "ousr",
            Principal::OtherMandatorUser => "xusr",
        }
    }
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Principal {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let norm = s.trim().to_ascii_lowercase().replace([' ', '_'], "-");
        Principal::ALL
            .into_iter()
            .find(|p| p.name() == norm || p.short() == norm)
            .ok_or_else(|| {
                let names: Vec<_> = Principal::ALL.iter().map(|p| p.name()).collect();
                format!("unknown principal `{s}` (one of: {})", names.join(", "))
            })
    }
}
