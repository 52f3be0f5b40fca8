//! Readings of the places where finAPI's documentation is ambiguous.
//!
//! Each reading is what a careful integrator would test by default; a team that knows its
//! contract better can flip it. The mock and the expectations both apply the same readings, so
//! they never disagree.

use serde::{Deserialize, Serialize};

use super::catalogue::{CallerKind, Operation};

/// Switches for the ambiguous rows of the role model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Readings {
    /// "Get banks" accepts "your client's access_token"; the Application management page says
    /// the admin client may call no other client service. Default: the admin client is *not* a
    /// client for Banks (403).
    pub admin_reads_banks: bool,
    /// ClientConfiguration has an `isMandatorAdmin` field, which hints that the admin client may
    /// read its own configuration; the docs say it may call no other client service.
    /// Default: it may not (403).
    pub admin_reads_client_configuration: bool,
    /// The docs do not say whether app client B may revoke a user token obtained through app
    /// client A of the same mandator. Default: yes, the user base (and its tokens) are shared.
    pub cross_client_user_token_revoke: bool,
    /// Two operations document only one of the two refusal statuses: `checkCategorization`
    /// lists no 403 and `revokeToken` no 401. finAPI's general rule (401 for a dead token, 403
    /// for a wrong role) may well hold there too, undocumented. Default: `false`, the refusal
    /// takes the status the operation documents (a wrong role on `checkCategorization` gets 401,
    /// a dead token on `revokeToken` 403); see [`Operation::forbidden_status`].
    pub general_refusal_statuses: bool,
}

impl Default for Readings {
    fn default() -> Self {
        Readings {
            admin_reads_banks: false,
            admin_reads_client_configuration: false,
            cross_client_user_token_revoke: true,
            general_refusal_statuses: false,
        }
    }
}

impl Readings {
    /// The names `--reading NAME=true|false` accepts, with what `true` means.
    pub const NAMES: [(&'static str, &'static str); 4] = [
        ("admin-reads-banks", "the admin client may call the Banks services"),
        (
            "admin-reads-client-configuration",
            "the admin client may read its own client configuration",
        ),
        (
            "cross-client-user-token-revoke",
            "an app client may revoke a user token issued through another app client of the mandator",
        ),
        (
            "general-refusal-statuses",
            "401 for a dead token and 403 for a wrong role even where the operation documents only the other",
        ),
    ];

    /// Apply `NAME=true|false` settings (the `--reading` flag) on top of these readings.
    pub fn with_settings<S: AsRef<str>>(mut self, settings: &[S]) -> Result<Readings, String> {
        for setting in settings {
            let setting = setting.as_ref();
            let (name, value) = setting.split_once('=').unwrap_or((setting, "true"));
            let value: bool = value
                .trim()
                .parse()
                .map_err(|_| format!("--reading {setting}: the value must be true or false"))?;
            let slot = match name.trim() {
                "admin-reads-banks" => &mut self.admin_reads_banks,
                "admin-reads-client-configuration" => &mut self.admin_reads_client_configuration,
                "cross-client-user-token-revoke" => &mut self.cross_client_user_token_revoke,
                "general-refusal-statuses" => &mut self.general_refusal_statuses,
                other => {
                    let known: Vec<&str> = Readings::NAMES.iter().map(|(n, _)| *n).collect();
                    return Err(format!(
                        "unknown reading `{other}` (known: {})",
                        known.join(", ")
                    ));
                }
            };
            *slot = value;
        }
        Ok(self)
    }

    /// Adjust one catalogue row to these readings.
    pub fn apply(&self, op: &mut Operation) {
        if self.admin_reads_banks && op.section == "Banks" {
            op.callers = op.callers.with(CallerKind::MandatorAdmin);
        }
        if self.admin_reads_client_configuration && op.id == "getClientConfiguration" {
            op.callers = op.callers.with(CallerKind::MandatorAdmin);
        }
        op.general_refusals = self.general_refusal_statuses;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_flip_readings_and_reject_unknown_names() {
        let r = Readings::default()
            .with_settings(&["admin-reads-banks", "cross-client-user-token-revoke=false"])
            .unwrap();
        assert!(r.admin_reads_banks && !r.cross_client_user_token_revoke);
        assert!(!r.admin_reads_client_configuration);
        let err = Readings::default()
            .with_settings(&["nope=true"])
            .unwrap_err();
        assert!(err.contains("unknown reading `nope`"), "{err}");
        let err = Readings::default()
            .with_settings(&["admin-reads-banks=maybe"])
            .unwrap_err();
        assert!(err.contains("true or false"), "{err}");
    }
}
