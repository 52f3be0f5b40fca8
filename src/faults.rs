//! Deliberate boundary breaks, so that every check can be shown to fail.
//!
//! A [`Violation`] switched on in the simulator (`FinapiMock::builder().violate(..)`,
//! `serve --violate NAME`) breaks exactly one documented rule. The runner, the Gherkin suite and
//! the property tests must each report it; tests assert that they do, break by break.

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::model::Rule;

macro_rules! violations {
    ($( $variant:ident = $name:literal, $rule:ident, $what:literal; )*) => {
        /// One deliberate break of a documented rule.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Violation { $( $variant, )* }

        impl Violation {
            pub const ALL: &'static [Violation] = &[ $( Violation::$variant, )* ];

            /// Kebab-case name for `--violate`.
            pub fn name(self) -> &'static str {
                match self { $( Violation::$variant => $name, )* }
            }

            /// The rule this break violates.
            pub fn rule(self) -> Rule {
                match self { $( Violation::$variant => Rule::$rule, )* }
            }

            /// What the broken mock does.
            pub fn description(self) -> &'static str {
                match self { $( Violation::$variant => $what, )* }
            }
        }
    };
}

violations! {
    AdminGetsUserToken = "admin-gets-user-token", UserTokensViaAppClients,
        "the admin client may use the password grant and gets a user token";
    AdminRefreshesUserToken = "admin-refreshes-user-token", UserTokensViaAppClients,
        "the admin client may use the refresh_token grant on any refresh token of its mandator";
    AdminRevokesUserToken = "admin-revokes-user-token", UserTokensViaAppClients,
        "the admin client may revoke user tokens";
    AppClientListsUsers = "app-client-lists-users", IntruderAppClient,
        "app clients may call getUserList";
    AppClientDeletesUsers = "app-client-deletes-users", AppClientServices,
        "app clients may call deleteUsers";
    AppClientReachesAdminSections = "app-client-reaches-admin-sections", AppClientServices,
        "app clients may call every Mandator Administration and TPP operation";
    AdminReachesClientServices = "admin-reaches-client-services", AdminSectionsOnly,
        "the admin client may call app-client services (create users, banks, client configuration)";
    AdminReadsUserData = "admin-reads-user-data", IntruderAdmin,
        "the admin client's token is accepted by user services, as the mandator's first user";
    ClientTokenReadsUserData = "client-token-reads-user-data", UserScope,
        "an app client's token is accepted by user services, as the mandator's first user";
    UserTokenReachesClientServices = "user-token-reaches-client-services", UserScope,
        "a user token is accepted by app-client services";
    UserTokenReachesAdmin = "user-token-reaches-admin", UserScope,
        "a user token is accepted by Mandator Administration and TPP services";
    NoTokenAccepted = "no-token-accepted", TokenRequired,
        "a request without a token is served as the mandator's first app client";
    UnknownTokenAccepted = "unknown-token-accepted", TokenRequired,
        "a bearer value that was never issued is served as the first app client";
    ExpiredTokenAccepted = "expired-token-accepted", TokenExpiry,
        "expired tokens keep working";
    RevokedTokenAccepted = "revoked-token-accepted", TokenRequired,
        "revoked tokens keep working";
    OtherUserDataVisible = "other-user-data-visible", OwnDataOnly,
        "a user token reaches the data of every user of the same mandator";
    OtherMandatorVisible = "other-mandator-visible", MandatorIsolation,
        "users and their data are found across mandators";
    SecondAppClientIsolated = "second-app-client-isolated", SharedUserBase,
        "each app client sees only the users it created itself";
    SecretRotationKeepsTokens = "secret-rotation-keeps-tokens", SecretRotation,
        "changing a client's secret leaves that client's tokens alive";
    SecretRotationRevokesUserTokens = "secret-rotation-revokes-user-tokens", SecretRotation,
        "changing an app client's secret also revokes the user tokens it issued";
    WrongOldSecretAccepted = "wrong-old-secret-accepted", SecretRotation,
        "changeClientCredentials ignores the old secret";
    PasswordChangeKeepsTokens = "password-change-keeps-tokens", PasswordChangeRevokes,
        "a password change leaves the user's tokens alive";
    PasswordChangeKeepsOtherClientTokens = "password-change-keeps-other-client-tokens", PasswordChangeRevokes,
        "a password change revokes only the tokens issued through the calling client";
    LockoutDisabled = "lockout-disabled", Lockout,
        "failed logins never lock a user";
    LockedUserGetsToken = "locked-user-gets-token", Lockout,
        "a locked user still gets tokens with the right password";
    UnverifiedUserGetsToken = "unverified-user-gets-token", Verification,
        "unverified users get tokens";
    TokenNotReused = "token-not-reused", TokenReuse,
        "every token request gets a fresh token";
    RevokeIgnoresHint = "revoke-ignores-hint", RevokeSemantics,
        "revocation with hint access_token revokes only that token whatever the hint, refresh tokens survive";
    ApiVersionUnenforced = "api-version-unenforced", ApiVersionBinding,
        "calls to the other API version are served";
    DeletedUserIdsUnmasked = "deleted-user-ids-unmasked", IntruderAdmin,
        "getUserList shows deleted users' ids in clear";
    PlainTextErrors = "plain-text-errors", ErrorShape,
        "403 answers carry a plain-text body instead of ErrorMessage";
    ForbiddenAs401 = "forbidden-as-401", ErrorShape,
        "wrong-role answers are 401 with an ErrorMessage body instead of 403";
    AdminCreatesWebForms = "admin-creates-web-forms", IntruderAdmin,
        "the admin client's token is accepted by Web Form 2.0's web form and task operations, as the mandator's first user";
    UserEditsProfiles = "user-edits-profiles", UserScope,
        "a user token is accepted by Web Form 2.0's profile and translation operations";
    OtherUsersWebFormVisible = "other-users-web-form-visible", OwnDataOnly,
        "a user sees and deletes the web forms of every user";
    IdFiltersCrossUsers = "id-filters-cross-users", OwnDataOnly,
        "a list filtered by ids (`?ids=`, `?accountIds=`, `?labelIds=`, ...) finds the named items of every user of the mandator";
    BackgroundUpdateAnyConnection = "background-update-any-connection", OwnDataOnly,
        "a Web Form 2.0 background update may name the bank connection of any user of the mandator, and updates it";
    ShapeDrift = "shape-drift", ErrorShape,
        "ErrorMessage bodies lack their required `authContext` (the published shape drifts)";
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Violation {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Violation::ALL
            .iter()
            .copied()
            .find(|v| v.name() == s.trim())
            .ok_or_else(|| format!("unknown violation `{s}` (see `serve --list-violations`)"))
    }
}

/// The set of breaks switched on in one simulator.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Faults(u64);

impl Faults {
    pub fn none() -> Faults {
        Faults(0)
    }
    pub fn with(mut self, v: Violation) -> Faults {
        self.0 |= 1 << (v as u64);
        self
    }
    #[inline]
    pub fn has(&self, v: Violation) -> bool {
        self.0 & (1 << (v as u64)) != 0
    }
    pub fn is_empty(&self) -> bool {
        self.0 == 0
    }
    pub fn iter(&self) -> impl Iterator<Item = Violation> + '_ {
        Violation::ALL.iter().copied().filter(|v| self.has(*v))
    }
    /// This set without `v`.
    pub fn without(mut self, v: Violation) -> Faults {
        self.0 &= !(1 << (v as u64));
        self
    }
    /// The names of the breaks switched on, in declaration order.
    pub fn names(&self) -> Vec<&'static str> {
        self.iter().map(Violation::name).collect()
    }
}

/// The breaks of a running simulator, switchable while it serves.
///
/// One atomic word: a request reads it once ([`SwitchableFaults::load`], a relaxed load) and
/// works on that copy, so a switch never tears a request in half and costs the hot path nothing
/// but that load.
#[derive(Debug, Default)]
pub struct SwitchableFaults(AtomicU64);

impl SwitchableFaults {
    pub fn new(faults: Faults) -> SwitchableFaults {
        SwitchableFaults(AtomicU64::new(faults.0))
    }
    /// The breaks switched on right now.
    #[inline]
    pub fn load(&self) -> Faults {
        Faults(self.0.load(Ordering::Relaxed))
    }
    /// Replace the whole set.
    pub fn store(&self, faults: Faults) {
        self.0.store(faults.0, Ordering::Relaxed);
    }
    /// Switch `on` on and `off` off in one step (a break in both ends up off); returns the new set.
    pub fn switch(&self, on: &[Violation], off: &[Violation]) -> Faults {
        let on = on.iter().fold(0u64, |acc, v| acc | 1 << (*v as u64));
        let off = off.iter().fold(0u64, |acc, v| acc | 1 << (*v as u64));
        let old = self
            .0
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |f| {
                Some((f | on) & !off)
            })
            .unwrap_or_else(|f| f);
        Faults((old | on) & !off)
    }
}

impl FromIterator<Violation> for Faults {
    fn from_iter<I: IntoIterator<Item = Violation>>(iter: I) -> Self {
        iter.into_iter().fold(Faults::none(), Faults::with)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_parse_back() {
        assert!(Violation::ALL.len() >= 20);
        assert!(Violation::ALL.len() < 64, "Faults is a u64 bit set");
        for v in Violation::ALL {
            assert_eq!(v.name().parse::<Violation>(), Ok(*v));
        }
    }

    #[test]
    fn switching_turns_breaks_on_and_off() {
        let live = SwitchableFaults::new(Faults::none().with(Violation::LockoutDisabled));
        let now = live.switch(
            &[Violation::AppClientListsUsers, Violation::PlainTextErrors],
            &[Violation::LockoutDisabled, Violation::PlainTextErrors],
        );
        assert_eq!(now, live.load());
        assert_eq!(now.names(), ["app-client-lists-users"]);
        live.store(Faults::none());
        assert!(live.load().is_empty());
    }
}
