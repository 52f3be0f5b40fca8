//! `--state FILE`: the client tokens a run obtained, kept between runs with their expiry
//! times, so that a later run against the same target can present one that has expired since
//! as the `expired-token` principal. A real target cannot be made to expire a token on
//! demand; waiting for one to expire by itself needs no mutation at all.
//!
//! Only tokens the run itself obtained are kept (never the configured secrets), the file is
//! written with owner-only permissions (0600), and its tokens are never printed: reports keep
//! a placeholder for every bearer token, and the CLI adds the file's tokens to its redactor.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::CheckConfig;

/// How long after its expiry time a token counts as expired (clock skew between the run's
/// machine and the target).
pub const EXPIRY_MARGIN_SECS: i64 = 60;

/// How many tokens the file keeps per target and API version (newest first).
pub const KEEP_PER_SCOPE: usize = 20;

/// A token the run obtained.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Obtained {
    /// The client the token was issued to (an id, not a secret).
    pub client_id: String,
    pub token: String,
    /// Unix seconds when the run received it.
    pub obtained_at: i64,
    /// Unix seconds when it expires; `None` when the target did not say (never used).
    pub expires_at: Option<i64>,
}

impl std::fmt::Debug for Obtained {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "token of {} (redacted), expires at {:?}",
            self.client_id, self.expires_at
        )
    }
}

impl Obtained {
    /// A token received at `now` (Unix seconds) that is valid for `expires_in` seconds.
    pub fn new(client_id: &str, token: String, expires_in: Option<u64>, now: i64) -> Obtained {
        Obtained {
            client_id: client_id.to_string(),
            token,
            obtained_at: now,
            expires_at: expires_in.map(|s| now.saturating_add(s.min(i64::MAX as u64) as i64)),
        }
    }

    /// True when the token's expiry time lies more than the margin before `now`.
    pub fn expired_at(&self, now: i64) -> bool {
        self.expires_at
            .is_some_and(|t| t.saturating_add(EXPIRY_MARGIN_SECS) < now)
    }
}

/// Which target and API version a token belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scope {
    /// The target as shown in reports (no credentials, no query string).
    pub target: String,
    pub api_version: String,
}

impl Scope {
    pub fn of(config: &CheckConfig) -> Scope {
        Scope {
            target: config.target.display(),
            api_version: config.version.label().to_string(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    #[serde(flatten)]
    scope: Scope,
    #[serde(flatten)]
    token: Obtained,
}

/// The contents of a state file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct State {
    #[serde(default)]
    tokens: Vec<Entry>,
}

impl State {
    /// Read a state file; a missing file is an empty state. The error never quotes the file.
    pub fn load(path: &Path) -> Result<State, String> {
        match std::fs::read_to_string(path) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| {
                format!(
                    "state file {} is not a state file of this tool (line {}, column {})",
                    path.display(),
                    e.line(),
                    e.column()
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(State::default()),
            Err(e) => Err(format!("cannot read state file {}: {e}", path.display())),
        }
    }

    /// An expired token of this target, if the file has one: the one that expired last (the
    /// likeliest to be still known to the target as expired rather than forgotten). Remote
    /// targets only: an in-process mock is new every run and knows no earlier token.
    pub fn expired_token(&self, scope: &Scope) -> Option<String> {
        self.expired_token_at(scope, chrono::Utc::now().timestamp())
    }

    pub fn expired_token_at(&self, scope: &Scope, now: i64) -> Option<String> {
        if scope.target == "in-process mock" {
            return None;
        }
        self.tokens
            .iter()
            .filter(|e| e.scope == *scope && e.token.expired_at(now))
            .max_by_key(|e| e.token.expires_at)
            .map(|e| e.token.token.clone())
    }

    /// Add the tokens a run obtained, dropping duplicates and the oldest beyond
    /// the newest 20 per scope. In-process runs keep nothing.
    pub fn record(&mut self, scope: &Scope, obtained: Vec<Obtained>) {
        if scope.target == "in-process mock" {
            return;
        }
        for token in obtained.into_iter().filter(|t| t.expires_at.is_some()) {
            if !self.tokens.iter().any(|e| e.token.token == token.token) {
                self.tokens.push(Entry {
                    scope: scope.clone(),
                    token,
                });
            }
        }
        self.tokens
            .sort_by_key(|e| std::cmp::Reverse(e.token.obtained_at));
        let mut per_scope: Vec<(Scope, usize)> = Vec::new();
        self.tokens.retain(|e| {
            match per_scope.iter_mut().find(|(s, _)| *s == e.scope) {
                Some((_, n)) => *n += 1,
                None => per_scope.push((e.scope.clone(), 1)),
            }
            per_scope
                .iter()
                .find(|(s, _)| *s == e.scope)
                .is_some_and(|(_, n)| *n <= KEEP_PER_SCOPE)
        });
    }

    /// How many tokens the file holds.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// Every token in the file, for the redactor.
    pub fn secrets(&self) -> Vec<String> {
        self.tokens.iter().map(|e| e.token.token.clone()).collect()
    }

    /// Write the file with owner-only permissions (through a temporary file and a rename, so
    /// a crash never leaves half a file).
    pub fn save(&self, path: &Path) -> Result<(), String> {
        let text = serde_json::to_string_pretty(self).unwrap_or_default() + "\n";
        let tmp = path.with_extension("tmp");
        let _ = std::fs::remove_file(&tmp);
        let write = || -> std::io::Result<()> {
            use std::io::Write;
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                options.mode(0o600);
            }
            let mut file = options.open(&tmp)?;
            file.write_all(text.as_bytes())?;
            file.sync_all()?;
            std::fs::rename(&tmp, path)
        };
        write().map_err(|e| format!("cannot write state file {}: {e}", path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope() -> Scope {
        Scope {
            target: "http://127.0.0.1:1".into(),
            api_version: "V2".into(),
        }
    }

    #[test]
    fn only_tokens_past_expiry_and_margin_are_expired() {
        let mut state = State::default();
        state.record(
            &scope(),
            vec![
                Obtained::new("app", "old-token".into(), Some(100), 1_000),
                Obtained::new("app", "fresh-token".into(), Some(3600), 1_000),
                Obtained::new("app", "no-expiry".into(), None, 1_000),
            ],
        );
        assert_eq!(state.len(), 2, "a token without an expiry time is not kept");
        assert_eq!(state.expired_token_at(&scope(), 1_100), None, "margin");
        assert_eq!(
            state.expired_token_at(&scope(), 1_200).as_deref(),
            Some("old-token")
        );
        assert_eq!(
            state.expired_token_at(&scope(), 10_000).as_deref(),
            Some("fresh-token"),
            "the one that expired last"
        );
        let other = Scope {
            api_version: "V1".into(),
            ..scope()
        };
        assert_eq!(state.expired_token_at(&other, 10_000), None);
    }

    #[test]
    fn in_process_runs_keep_nothing() {
        let mut state = State::default();
        let mock = Scope {
            target: "in-process mock".into(),
            api_version: "V2".into(),
        };
        state.record(&mock, vec![Obtained::new("app", "t".into(), Some(1), 0)]);
        assert!(state.is_empty());
    }

    #[test]
    fn keeps_a_bounded_number_per_target() {
        let mut state = State::default();
        let tokens = (0..KEEP_PER_SCOPE as i64 + 5)
            .map(|i| Obtained::new("app", format!("token-{i}"), Some(10), i))
            .collect();
        state.record(&scope(), tokens);
        assert_eq!(state.len(), KEEP_PER_SCOPE);
        assert!(
            !state.secrets().contains(&"token-0".to_string()),
            "oldest dropped"
        );
    }

    #[cfg(unix)]
    #[test]
    fn the_file_is_owner_only_and_debug_hides_tokens() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("fc-state-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("state.json");
        let mut state = State::default();
        state.record(
            &scope(),
            vec![Obtained::new("app", "secret-token-1".into(), Some(5), 0)],
        );
        state.save(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let back = State::load(&path).unwrap();
        assert_eq!(back.secrets(), vec!["secret-token-1".to_string()]);
        assert!(!format!("{back:?}").contains("secret-token-1"));
        std::fs::write(&path, "not json secret-token-2").unwrap();
        let err = State::load(&path).unwrap_err();
        assert!(!err.contains("secret-token-2"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
