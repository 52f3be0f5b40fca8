//! The documented rules every check refers to, with the documentation statement behind each.
//!
//! Each rule names where finAPI says it; the wording here is ours. The README lists the same
//! table (generated from [`Rule::ALL`] by `finapi-conformance matrix --rules`).

use std::fmt;

use serde::{Serialize, Serializer};

/// A documented role boundary or token rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rule {
    TokenRequired,
    AppClientServices,
    AdminSectionsOnly,
    UserScope,
    UserTokensViaAppClients,
    OwnDataOnly,
    SharedUserBase,
    MandatorIsolation,
    IntruderAdmin,
    IntruderAppClient,
    TokenReuse,
    TokenExpiry,
    RevokeSemantics,
    SecretRotation,
    PasswordChangeRevokes,
    Lockout,
    Verification,
    ApiVersionBinding,
    ErrorShape,
}

impl Rule {
    pub const ALL: [Rule; 19] = [
        Rule::TokenRequired,
        Rule::AppClientServices,
        Rule::AdminSectionsOnly,
        Rule::UserScope,
        Rule::UserTokensViaAppClients,
        Rule::OwnDataOnly,
        Rule::SharedUserBase,
        Rule::MandatorIsolation,
        Rule::IntruderAdmin,
        Rule::IntruderAppClient,
        Rule::TokenReuse,
        Rule::TokenExpiry,
        Rule::RevokeSemantics,
        Rule::SecretRotation,
        Rule::PasswordChangeRevokes,
        Rule::Lockout,
        Rule::Verification,
        Rule::ApiVersionBinding,
        Rule::ErrorShape,
    ];

    /// Stable kebab-case id, used as a Gherkin tag (`@rule:<id>`) and in reports.
    pub fn id(self) -> &'static str {
        match self {
            Rule::TokenRequired => "token-required",
            Rule::AppClientServices => "app-client-services",
            Rule::AdminSectionsOnly => "admin-sections-only",
            Rule::UserScope => "user-scope",
            Rule::UserTokensViaAppClients => "user-tokens-via-app-clients",
            Rule::OwnDataOnly => "own-data-only",
            Rule::SharedUserBase => "shared-user-base",
            Rule::MandatorIsolation => "mandator-isolation",
            Rule::IntruderAdmin => "intruder-admin",
            Rule::IntruderAppClient => "intruder-app-client",
            Rule::TokenReuse => "token-reuse",
            Rule::TokenExpiry => "token-expiry",
            Rule::RevokeSemantics => "revoke-semantics",
            Rule::SecretRotation => "secret-rotation",
            Rule::PasswordChangeRevokes => "password-change-revokes",
            Rule::Lockout => "lockout",
            Rule::Verification => "verification",
            Rule::ApiVersionBinding => "api-version-binding",
            Rule::ErrorShape => "error-shape",
        }
    }

    /// The rule in one sentence (our words).
    pub fn statement(self) -> &'static str {
        match self {
            Rule::TokenRequired => "Every service but the token endpoint needs a valid bearer token; a missing, unknown, expired or revoked one gets 401.",
            Rule::AppClientServices => "App clients may call every client service except Mandator Administration (and the TPP sections).",
            Rule::AdminSectionsOnly => "The mandator admin client may call only Mandator Administration, TPP Certificates and TPP Credentials, plus get or revoke its own token.",
            Rule::UserScope => "User services need a user's token; client tokens and user tokens do not stand in for each other.",
            Rule::UserTokensViaAppClients => "Only app clients may get, refresh or revoke user tokens; the admin client never acts for a user.",
            Rule::OwnDataOnly => "A user token reaches only that user's own data.",
            Rule::SharedUserBase => "All app clients of one mandator share one user base.",
            Rule::MandatorIsolation => "Users and data of one mandator are invisible to every other mandator.",
            Rule::IntruderAdmin => "Stolen admin credentials reveal user ids but no user data, token or password.",
            Rule::IntruderAppClient => "Stolen app-client credentials cannot list the mandator's users.",
            Rule::TokenReuse => "The same credentials get the same token back while it is unexpired.",
            Rule::TokenExpiry => "A token dies when its validity period (from the client configuration) ends.",
            Rule::RevokeSemantics => "Revocation follows token_type_hint: access_token revokes one token, refresh_token the refresh token and its access tokens, no hint the whole grant.",
            Rule::SecretRotation => "Changing a client's secret revokes that client's tokens and no user token.",
            Rule::PasswordChangeRevokes => "A password change revokes every token of that user for every client, and unlocks the user.",
            Rule::Lockout => "After maxUserLoginAttempts failed logins the user is locked (423) and its tokens die.",
            Rule::Verification => "A user created by a client without auto-verification cannot log in until verified.",
            Rule::ApiVersionBinding => "A mandator is bound to one API version; calls to the other version get 403.",
            Rule::ErrorShape => "401s carry {error, error_description}; other errors carry finAPI's ErrorMessage.",
        }
    }

    /// Where finAPI documents it.
    pub fn source(self) -> &'static str {
        match self {
            Rule::TokenRequired => "API reference: security scheme finapi_auth on every operation but getToken; 401 responses",
            Rule::AppClientServices | Rule::AdminSectionsOnly | Rule::SharedUserBase => {
                "Application management page: app clients vs the mandator admin client"
            }
            Rule::UserTokensViaAppClients => "Application management page; getToken and revokeToken descriptions",
            Rule::UserScope | Rule::OwnDataOnly => "Per-operation text: \"user's access_token\" / \"global (i.e. client) access_token\"",
            Rule::MandatorIsolation => "Application management page: each mandator has its own user base",
            Rule::IntruderAdmin | Rule::IntruderAppClient => "Application management page: the intruder reasoning for splitting the clients",
            Rule::TokenReuse | Rule::TokenExpiry => "getToken description; ClientConfiguration validity periods",
            Rule::RevokeSemantics => "revokeToken description",
            Rule::SecretRotation => "changeClientCredentials description",
            Rule::PasswordChangeRevokes => "executePasswordChange description",
            Rule::Lockout => "ClientConfiguration maxUserLoginAttempts; getToken 423",
            Rule::Verification => "verifyUser description; getToken 403",
            Rule::ApiVersionBinding => "Upgrading to a new API version / V2 migration guide",
            Rule::ErrorShape => "API reference: BadCredentialsError and ErrorMessage schemas",
        }
    }

    pub fn parse(s: &str) -> Option<Rule> {
        let s = s.trim().trim_start_matches("rule:");
        Rule::ALL.into_iter().find(|r| r.id() == s)
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

impl Serialize for Rule {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.id())
    }
}
