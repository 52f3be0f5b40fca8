//! Client credentials for a run, from the environment or a `KEY=VALUE` file.
//!
//! Secrets never leave this type in clear: `Debug` redacts them, and [`Credentials::secrets`]
//! feeds the redactor that scrubs every line the runner prints or writes.

use std::fmt;
use std::path::Path;

use crate::world::{demo, World};

/// A client id and its secret.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientCredentials {
    pub id: String,
    pub secret: String,
}

impl ClientCredentials {
    pub fn new(id: impl Into<String>, secret: impl Into<String>) -> Self {
        ClientCredentials {
            id: id.into(),
            secret: secret.into(),
        }
    }
}

impl fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (secret redacted)", self.id)
    }
}

/// Everything a run may authenticate with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    pub app: Option<ClientCredentials>,
    pub app2: Option<ClientCredentials>,
    pub admin: Option<ClientCredentials>,
    pub other_app: Option<ClientCredentials>,
    /// A token known to have expired (real targets cannot be made to expire one quickly).
    pub expired_token: Option<String>,
}

/// Environment variable names.
pub const VARS: [(&str, &str); 4] = [
    ("FINAPI_APP_CLIENT_ID", "FINAPI_APP_CLIENT_SECRET"),
    ("FINAPI_APP_CLIENT2_ID", "FINAPI_APP_CLIENT2_SECRET"),
    ("FINAPI_ADMIN_CLIENT_ID", "FINAPI_ADMIN_CLIENT_SECRET"),
    (
        "FINAPI_OTHER_APP_CLIENT_ID",
        "FINAPI_OTHER_APP_CLIENT_SECRET",
    ),
];
pub const EXPIRED_TOKEN_VAR: &str = "FINAPI_EXPIRED_TOKEN";

impl Credentials {
    /// The demo world's clients (what the in-process mock and a default `serve` accept).
    pub fn demo() -> Credentials {
        let c = |(id, secret): (&str, &str)| Some(ClientCredentials::new(id, secret));
        Credentials {
            app: c(demo::APP_CLIENT),
            app2: c(demo::APP_CLIENT2),
            admin: c(demo::ADMIN_CLIENT),
            other_app: c(demo::OTHER_APP_CLIENT),
            expired_token: None,
        }
    }

    /// Credentials of a world: first mandator's first two app clients and admin, and the
    /// second mandator's first app client.
    pub fn of_world(world: &World) -> Credentials {
        let c = |spec: &crate::world::ClientSpec| ClientCredentials::new(&spec.id, &spec.secret);
        let first = world.mandators.first();
        Credentials {
            app: first.and_then(|m| m.app_clients.first()).map(c),
            app2: first.and_then(|m| m.app_clients.get(1)).map(c),
            admin: first.map(|m| c(&m.admin_client)),
            other_app: world
                .mandators
                .get(1)
                .and_then(|m| m.app_clients.first())
                .map(c),
            expired_token: None,
        }
    }

    /// Read from a lookup function (the environment, or a parsed file).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Credentials {
        let pair = |(id, secret): (&str, &str)| match (get(id), get(secret)) {
            (Some(i), Some(s)) if !i.is_empty() && !s.is_empty() => {
                Some(ClientCredentials::new(i, s))
            }
            _ => None,
        };
        Credentials {
            app: pair(VARS[0]),
            app2: pair(VARS[1]),
            admin: pair(VARS[2]),
            other_app: pair(VARS[3]),
            expired_token: get(EXPIRED_TOKEN_VAR).filter(|t| !t.is_empty()),
        }
    }

    pub fn from_env() -> Credentials {
        Credentials::from_lookup(|k| std::env::var(k).ok())
    }

    /// Read a `KEY=VALUE` file (blank lines and `#` comments allowed; values may be quoted).
    /// Variables set in the environment take precedence over the file.
    pub fn from_file(path: &Path) -> Result<Credentials, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read credentials file {}: {e}", path.display()))?;
        let mut pairs = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let line = line.strip_prefix("export ").unwrap_or(line);
            let (k, v) = line.split_once('=').ok_or_else(|| {
                format!(
                    "credentials file {} line {}: expected KEY=VALUE",
                    path.display(),
                    n + 1
                )
            })?;
            let v = v.trim().trim_matches('"').trim_matches('\'');
            pairs.push((k.trim().to_string(), v.to_string()));
        }
        Ok(Credentials::from_lookup(|k| {
            std::env::var(k)
                .ok()
                .or_else(|| pairs.iter().find(|(pk, _)| pk == k).map(|(_, v)| v.clone()))
        }))
    }

    /// Every secret value, for redaction.
    pub fn secrets(&self) -> Vec<String> {
        [&self.app, &self.app2, &self.admin, &self.other_app]
            .into_iter()
            .flatten()
            .map(|c| c.secret.clone())
            .chain(self.expired_token.clone())
            .collect()
    }
}
