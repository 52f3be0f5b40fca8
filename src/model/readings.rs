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
}

impl Default for Readings {
    fn default() -> Self {
        Readings {
            admin_reads_banks: false,
            admin_reads_client_configuration: false,
            cross_client_user_token_revoke: true,
        }
    }
}

impl Readings {
    /// Adjust one catalogue row to these readings.
    pub fn apply(&self, op: &mut Operation) {
        if self.admin_reads_banks && op.section == "Banks" {
            op.callers = op.callers.with(CallerKind::MandatorAdmin);
        }
        if self.admin_reads_client_configuration && op.id == "getClientConfiguration" {
            op.callers = op.callers.with(CallerKind::MandatorAdmin);
        }
    }
}
