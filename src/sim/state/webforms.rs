//! Web Form 2.0's part of the state: web forms, background-update tasks, the mandators'
//! profiles and translations, the settings of the forms (lifetime, callback hosts) and the
//! callbacks decided so far.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value};

use crate::sim::message::Callback;
use crate::sim::state::parties::MandatorIx;

/// How long a web form can be used after it is created, unless set otherwise.
pub const DEFAULT_LIFETIME_MINUTES: i64 = 20;

/// The path under which a web form's page is served: `/webForm/{id}`.
pub const PAGE_PREFIX: &str = crate::model::WEBFORM_PAGE_PREFIX;

/// The statuses a web form can end in.
pub const FINAL_STATUSES: [&str; 4] = ["COMPLETED", "COMPLETED_WITH_ERROR", "ABORTED", "EXPIRED"];

/// One web form.
#[derive(Debug, Clone)]
pub struct Form {
    pub id: String,
    pub mandator: MandatorIx,
    /// Lower-cased user id.
    pub user: String,
    /// `BANK_CONNECTION_IMPORT`, `PAYMENT_WITH_ACCOUNT_ID`, ...
    pub kind: &'static str,
    pub status: &'static str,
    pub created: DateTime<Utc>,
    pub expires: DateTime<Utc>,
    pub url: String,
    /// The creating request's body.
    pub details: Map<String, Value>,
    pub payload: Map<String, Value>,
    /// `callbacks.finalised`.
    pub callback: Option<String>,
    /// The task that asked for this form, if any.
    pub task: Option<String>,
}

/// One background-update task.
#[derive(Debug, Clone)]
pub struct Task {
    pub id: String,
    pub mandator: MandatorIx,
    pub user: String,
    pub status: &'static str,
    pub created: DateTime<Utc>,
    pub bank_connection: u64,
    pub callback: Option<String>,
}

/// A profile or a translation set: a mandator's customisation.
#[derive(Debug, Clone)]
pub struct Custom {
    pub mandator: MandatorIx,
    pub value: Value,
}

/// Web Form 2.0's part of the simulator's state.
#[derive(Debug, Clone, Default)]
pub struct WebForms {
    pub forms: BTreeMap<String, Form>,
    pub tasks: BTreeMap<String, Task>,
    pub profiles: BTreeMap<String, Custom>,
    pub translations: BTreeMap<String, Custom>,
    /// A web form's lifetime; `None`: [`DEFAULT_LIFETIME_MINUTES`].
    pub lifetime: Option<Duration>,
    /// Hosts besides loopback that callbacks may go to.
    pub callback_hosts: Vec<String>,
    /// Every callback the simulator decided to send (handed to the front door, or refused with
    /// why), newest last.
    pub callbacks: Vec<(Callback, Result<(), String>)>,
    /// The allowed callbacks not yet handed to the front door: the simulator empties it into
    /// every answer ([`WebForms::take_outbox`]).
    pub outbox: Vec<Callback>,
}

impl WebForms {
    /// The callbacks queued since the last call, to send.
    pub fn take_outbox(&mut self) -> Vec<Callback> {
        std::mem::take(&mut self.outbox)
    }

    pub fn lifetime(&self) -> Duration {
        self.lifetime
            .unwrap_or_else(|| Duration::minutes(DEFAULT_LIFETIME_MINUTES))
    }
}
