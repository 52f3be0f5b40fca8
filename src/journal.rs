//! The role-aware journal: what each served request was, who sent it, and what the role guard
//! made of it, so that an integrator's test can ask "did my app create users with an app
//! client?" or "did an admin token ever reach a user service?".
//!
//! The simulator fills a small [`Served`] record while it answers (operation, authenticated
//! caller, refusing rule); both front doors ([`crate::mock::FinapiMock::journal`] and `serve`'s
//! `GET /__finapi/journal`) keep the most recent ones in a bounded [`Journal`]. An entry holds
//! the method, the path, the API version, the caller's ids and kind, the status and the rule:
//! never a header, a query string or a body, so never a secret or token.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! use finapi_conformance::CallerKind;
//! use finapi_conformance::world::demo;
//! use finapi_conformance::FinapiMock;
//!
//! let mock = FinapiMock::start().await;
//! let http = reqwest::Client::new();
//! // An app client's token, then a user created with it.
//! let token: serde_json::Value = http
//!     .post(format!("{}/api/v2/oauth/token", mock.uri()))
//!     .form(&[
//!         ("grant_type", "client_credentials"),
//!         ("client_id", demo::APP_CLIENT.0),
//!         ("client_secret", demo::APP_CLIENT.1),
//!     ])
//!     .send().await.unwrap()
//!     .json().await.unwrap();
//! let created = http
//!     .post(format!("{}/api/v2/users", mock.uri()))
//!     .bearer_auth(token["access_token"].as_str().unwrap())
//!     .json(&serde_json::json!({"id": "dora", "password": "dora-password-1"}))
//!     .send().await.unwrap();
//! assert_eq!(created.status(), 201);
//!
//! mock.assert_called_by("createUser", CallerKind::AppClient);
//! assert_eq!(mock.calls_to("createUser").by(CallerKind::MandatorAdmin).len(), 0);
//! mock.assert_no_denials();
//! mock.assert_no_admin_token_on_user_services();
//! # }
//! ```

use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;

use http::Method;
use parking_lot::Mutex;
use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};

use crate::model::paths::version_of_path;
use crate::model::{ApiVersion, Catalogue, Operation, Rule};
pub use crate::model::{CallerKind, Callers};

/// What the simulator learnt about one request besides its answer (see
/// [`crate::sim::SimResponse::served`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Served {
    /// finAPI's operationId; `None` when the path or method matched no operation.
    pub operation: Option<&'static str>,
    /// The caller kinds the operation admits (empty when no operation matched).
    pub allowed: Callers,
    /// Who called: the bearer token's owner, or for the token endpoint the authenticating
    /// client. `None` when nobody could be identified (no token, unknown token).
    pub caller: Option<CallerInfo>,
    /// The documented rule that refused the request, when the guard refused it.
    pub refused_by: Option<Rule>,
}

impl Served {
    /// The operation's id as the embedded catalogue spells it (a `&'static str`, so recording
    /// it costs nothing).
    pub fn operation_id(op: &Operation) -> &'static str {
        let embedded = Catalogue::embedded();
        match embedded.all().get(op.index) {
            Some(same) if same.id == op.id => same.id.as_str(),
            // A catalogue of its own (not the embedded one): look the id up by name.
            _ => embedded
                .all()
                .iter()
                .find(|o| o.id == op.id)
                .map_or("unknown-operation", |o| o.id.as_str()),
        }
    }
}

/// Who called, as the guard authenticated them (before any deliberate break bent the role).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CallerInfo {
    pub kind: CallerKind,
    pub client_id: String,
    /// The user of a user token (lower case), or the username of a password grant.
    pub user_id: Option<String>,
    pub mandator: String,
}

/// One served request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalEntry {
    /// Position of the request since the journal started (or was cleared), from 1.
    pub seq: u64,
    pub operation: Option<&'static str>,
    pub method: Method,
    /// The path without the query string.
    pub path: String,
    pub version: ApiVersion,
    pub caller: Option<CallerInfo>,
    pub status: u16,
    pub refused_by: Option<Rule>,
    /// The caller kinds the operation admits.
    pub allowed: Callers,
}

impl JournalEntry {
    /// The caller's kind; [`CallerKind::None`] when nobody was identified.
    pub fn caller_kind(&self) -> CallerKind {
        self.caller.as_ref().map_or(CallerKind::None, |c| c.kind)
    }

    /// 401 or 403: the request was turned away.
    pub fn is_denied(&self) -> bool {
        matches!(self.status, 401 | 403)
    }

    /// A user service is an operation a user's token may call and the admin client may not.
    pub fn is_user_service(&self) -> bool {
        self.allowed.contains(CallerKind::User) && !self.allowed.contains(CallerKind::MandatorAdmin)
    }
}

impl fmt::Display for JournalEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "#{} {} {} ({}) by ",
            self.seq,
            self.method,
            self.path,
            self.operation.unwrap_or("no operation")
        )?;
        match &self.caller {
            Some(c) => {
                write!(f, "{} {}", c.kind.as_str(), c.client_id)?;
                if let Some(u) = &c.user_id {
                    write!(f, " for user {u}")?;
                }
            }
            None => f.write_str("an unidentified caller")?,
        }
        write!(f, " -> {}", self.status)?;
        if let Some(rule) = self.refused_by {
            write!(f, " refused by rule {rule}")?;
        }
        Ok(())
    }
}

impl Serialize for JournalEntry {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let allowed: Vec<&str> = self.allowed.iter().map(CallerKind::as_str).collect();
        let mut st = s.serialize_struct("JournalEntry", 9)?;
        st.serialize_field("seq", &self.seq)?;
        st.serialize_field("operation", &self.operation)?;
        st.serialize_field("method", self.method.as_str())?;
        st.serialize_field("path", &self.path)?;
        st.serialize_field("version", &self.version)?;
        st.serialize_field("caller", &self.caller)?;
        st.serialize_field("status", &self.status)?;
        st.serialize_field("refused_by", &self.refused_by)?;
        st.serialize_field("allowed_callers", &allowed)?;
        st.end()
    }
}

#[derive(Debug, Default)]
struct Ring {
    entries: VecDeque<JournalEntry>,
    next_seq: u64,
}

/// A bounded journal of the most recent requests (a ring buffer). Cheap to clone; clones
/// share the entries.
#[derive(Debug, Clone)]
pub struct Journal {
    inner: Arc<Mutex<Ring>>,
    capacity: usize,
}

impl Default for Journal {
    fn default() -> Self {
        Journal::new(DEFAULT_CAPACITY)
    }
}

/// How many entries a journal keeps unless told otherwise (`serve --journal`).
pub const DEFAULT_CAPACITY: usize = 1000;

impl Journal {
    /// A journal that keeps the last `capacity` requests (0 keeps none).
    pub fn new(capacity: usize) -> Journal {
        Journal {
            inner: Arc::new(Mutex::new(Ring {
                entries: VecDeque::with_capacity(capacity.min(4096)),
                next_seq: 1,
            })),
            capacity,
        }
    }

    /// Record one answered request. `served` is moved in, so nothing is copied but the path
    /// (into the oldest entry's buffer once the ring is full).
    pub fn record(&self, method: &Method, path: &str, status: u16, served: Served) {
        if self.capacity == 0 {
            return;
        }
        let mut ring = self.inner.lock();
        let seq = ring.next_seq;
        ring.next_seq += 1;
        let recycled = if ring.entries.len() >= self.capacity {
            ring.entries.pop_front()
        } else {
            None
        };
        let mut entry = recycled.unwrap_or_else(|| JournalEntry {
            seq: 0,
            operation: None,
            method: Method::GET,
            path: String::new(),
            version: ApiVersion::V2,
            caller: None,
            status: 0,
            refused_by: None,
            allowed: Callers::default(),
        });
        entry.seq = seq;
        entry.operation = served.operation;
        entry.method.clone_from(method);
        entry.path.clear();
        entry.path.push_str(path);
        entry.version = version_of_path(path);
        entry.caller = served.caller;
        entry.status = status;
        entry.refused_by = served.refused_by;
        entry.allowed = served.allowed;
        ring.entries.push_back(entry);
    }

    /// The retained entries, oldest first.
    pub fn entries(&self) -> Vec<JournalEntry> {
        self.inner.lock().entries.iter().cloned().collect()
    }

    /// Every retained entry, as [`Calls`] to filter.
    pub fn calls(&self) -> Calls {
        Calls(self.entries())
    }

    /// The retained calls of one operation (finAPI's operationId, e.g. `createUser`).
    pub fn calls_to(&self, operation: &str) -> Calls {
        let ring = self.inner.lock();
        Calls(
            ring.entries
                .iter()
                .filter(|e| e.operation == Some(operation))
                .cloned()
                .collect(),
        )
    }

    /// Forget every entry; numbering starts again at 1.
    pub fn clear(&self) {
        let mut ring = self.inner.lock();
        ring.entries.clear();
        ring.next_seq = 1;
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// How many entries are retained.
    pub fn len(&self) -> usize {
        self.inner.lock().entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `Err` naming every request that was turned away (401 or 403).
    pub fn check_no_denials(&self) -> Result<(), JournalFinding> {
        JournalFinding::from_offenders(
            "requests were denied (401/403)",
            self.calls().denied().into_vec(),
        )
    }

    /// `Err` naming every request in which a mandator admin client's token reached a user
    /// service, whatever the answer (finAPI refuses it; your app should never send it).
    pub fn check_no_admin_token_on_user_services(&self) -> Result<(), JournalFinding> {
        JournalFinding::from_offenders(
            "an admin token reached a user service",
            self.calls()
                .into_iter()
                .filter(|e| e.is_user_service() && e.caller_kind() == CallerKind::MandatorAdmin)
                .collect(),
        )
    }

    /// `Err` unless `operation` was called at least once, and only ever, by `kind`.
    pub fn check_called_by(&self, operation: &str, kind: CallerKind) -> Result<(), JournalFinding> {
        let calls = self.calls_to(operation);
        if calls.is_empty() {
            return Err(JournalFinding {
                summary: format!(
                    "{operation} was never called (the journal keeps the last {} requests)",
                    self.capacity
                ),
                offenders: Vec::new(),
            });
        }
        JournalFinding::from_offenders(
            &format!(
                "{operation} was called by another caller than {}",
                kind.as_str()
            ),
            calls
                .into_iter()
                .filter(|e| e.caller_kind() != kind)
                .collect(),
        )
    }

    /// Panics with the denied requests unless there are none.
    #[track_caller]
    pub fn assert_no_denials(&self) {
        self.check_no_denials().unwrap_or_else(|f| panic!("{f}"));
    }

    /// Panics with the offending requests if an admin token ever reached a user service.
    #[track_caller]
    pub fn assert_no_admin_token_on_user_services(&self) {
        self.check_no_admin_token_on_user_services()
            .unwrap_or_else(|f| panic!("{f}"));
    }

    /// Panics unless `operation` was called, and only by `kind`.
    #[track_caller]
    pub fn assert_called_by(&self, operation: &str, kind: CallerKind) {
        self.check_called_by(operation, kind)
            .unwrap_or_else(|f| panic!("{f}"));
    }
}

/// A journal assertion that does not hold: what was expected, and the requests that broke it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalFinding {
    pub summary: String,
    pub offenders: Vec<JournalEntry>,
}

impl JournalFinding {
    fn from_offenders(summary: &str, offenders: Vec<JournalEntry>) -> Result<(), JournalFinding> {
        if offenders.is_empty() {
            Ok(())
        } else {
            Err(JournalFinding {
                summary: summary.to_string(),
                offenders,
            })
        }
    }
}

impl fmt::Display for JournalFinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.summary)?;
        for e in &self.offenders {
            write!(f, "\n  {e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for JournalFinding {}

/// A list of journal entries, narrowed step by step:
/// `mock.calls_to("createUser").by(CallerKind::AppClient).with_status(201)`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Calls(Vec<JournalEntry>);

impl Calls {
    /// Only the calls of this caller kind.
    pub fn by(self, kind: CallerKind) -> Calls {
        self.filter(|e| e.caller_kind() == kind)
    }
    /// Only the calls of this client id.
    pub fn by_client(self, client_id: &str) -> Calls {
        self.filter(|e| e.caller.as_ref().is_some_and(|c| c.client_id == client_id))
    }
    /// Only the calls answered with `status`.
    pub fn with_status(self, status: u16) -> Calls {
        self.filter(|e| e.status == status)
    }
    /// Only the calls answered 401 or 403.
    pub fn denied(self) -> Calls {
        self.filter(JournalEntry::is_denied)
    }
    /// Only the calls answered 2xx.
    pub fn succeeded(self) -> Calls {
        self.filter(|e| (200..300).contains(&e.status))
    }
    /// Only the calls matching `keep`.
    pub fn filter(mut self, keep: impl FnMut(&JournalEntry) -> bool) -> Calls {
        let mut keep = keep;
        self.0.retain(|e| keep(e));
        self
    }
    pub fn into_vec(self) -> Vec<JournalEntry> {
        self.0
    }
}

impl std::ops::Deref for Calls {
    type Target = [JournalEntry];
    fn deref(&self) -> &[JournalEntry] {
        &self.0
    }
}

impl IntoIterator for Calls {
    type Item = JournalEntry;
    type IntoIter = std::vec::IntoIter<JournalEntry>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

/// The filters of `GET /__finapi/journal`: `operation`, `caller_kind`, `status`; every one
/// given must match.
#[cfg(feature = "serve")]
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JournalFilter {
    pub operation: Option<String>,
    pub caller_kind: Option<CallerKind>,
    pub status: Option<u16>,
}

#[cfg(feature = "serve")]
impl JournalFilter {
    /// Parse a query string such as `operation=createUser&caller_kind=app_client&status=201`.
    pub fn parse(query: Option<&str>) -> Result<JournalFilter, String> {
        let mut filter = JournalFilter::default();
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query.unwrap_or(""))
            .map_err(|e| format!("the query string cannot be read: {e}"))?;
        for (key, value) in pairs {
            match key.as_str() {
                "operation" => filter.operation = Some(value),
                "caller_kind" => filter.caller_kind = Some(value.parse()?),
                "status" => {
                    filter.status = Some(value.parse().map_err(|_| {
                        format!("status must be an HTTP status code, not `{value}`")
                    })?)
                }
                other => {
                    return Err(format!(
                        "unknown filter `{other}` (filters: operation, caller_kind, status)"
                    ))
                }
            }
        }
        Ok(filter)
    }

    pub fn matches(&self, e: &JournalEntry) -> bool {
        self.operation
            .as_deref()
            .is_none_or(|op| e.operation == Some(op))
            && self.caller_kind.is_none_or(|k| e.caller_kind() == k)
            && self.status.is_none_or(|s| e.status == s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn served(op: &'static str, kind: CallerKind, allowed: Callers) -> Served {
        Served {
            operation: Some(op),
            allowed,
            caller: Some(CallerInfo {
                kind,
                client_id: format!("{}-client", kind.as_str()),
                user_id: None,
                mandator: "demo".into(),
            }),
            refused_by: None,
        }
    }

    #[test]
    fn the_ring_keeps_the_latest_entries_numbered() {
        let j = Journal::new(2);
        for status in [200, 201, 202] {
            j.record(&Method::GET, "/api/v2/banks", status, Served::default());
        }
        let e = j.entries();
        assert_eq!(
            e.iter().map(|e| (e.seq, e.status)).collect::<Vec<_>>(),
            [(2, 201), (3, 202)]
        );
        j.clear();
        assert!(j.is_empty());
        j.record(&Method::GET, "/x", 404, Served::default());
        assert_eq!(j.entries()[0].seq, 1);
    }

    #[test]
    fn admin_on_a_user_service_is_named_in_the_finding() {
        let j = Journal::new(10);
        let user_only = Callers::default().with(CallerKind::User);
        j.record(
            &Method::GET,
            "/api/v2/accounts",
            200,
            served("getAndSearchAllAccounts", CallerKind::User, user_only),
        );
        assert_eq!(j.check_no_admin_token_on_user_services(), Ok(()));
        j.record(
            &Method::GET,
            "/api/v2/accounts",
            403,
            served(
                "getAndSearchAllAccounts",
                CallerKind::MandatorAdmin,
                user_only,
            ),
        );
        let finding = j.check_no_admin_token_on_user_services().unwrap_err();
        assert_eq!(finding.offenders.len(), 1);
        let text = finding.to_string();
        for part in [
            "GET /api/v2/accounts",
            "getAndSearchAllAccounts",
            "mandator_admin mandator_admin-client",
            "403",
        ] {
            assert!(text.contains(part), "{part} missing in {text}");
        }
    }

    #[cfg(feature = "serve")]
    #[test]
    fn filters_parse_and_match() {
        let f = JournalFilter::parse(Some(
            "operation=createUser&caller_kind=app_client&status=201",
        ))
        .unwrap();
        let j = Journal::new(4);
        let app = Callers::default().with(CallerKind::AppClient);
        j.record(
            &Method::POST,
            "/api/v2/users",
            201,
            served("createUser", CallerKind::AppClient, app),
        );
        j.record(
            &Method::POST,
            "/api/v2/users",
            403,
            served("createUser", CallerKind::User, app),
        );
        let kept: Vec<_> = j.entries().into_iter().filter(|e| f.matches(e)).collect();
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].status, 201);
        assert!(JournalFilter::parse(Some("caller_kind=robot")).is_err());
        assert!(JournalFilter::parse(Some("status=abc")).is_err());
        assert!(JournalFilter::parse(Some("colour=red"))
            .unwrap_err()
            .contains("colour"));
        assert_eq!(JournalFilter::parse(None), Ok(JournalFilter::default()));
    }
}
