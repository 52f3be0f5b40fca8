//! The library front door: the simulator mounted on a [`wiremock::MockServer`].
//!
//! One catch-all mock at the lowest priority answers every request through the simulator, so
//! your own mocks (any priority above 255) override single endpoints, and wiremock's request
//! journal and `expect` verification keep working.
//!
//! wiremock keeps a copy of every matched request (about 4.6 KB each, even with request
//! recording disabled), so this front door is for tests, not soaks: use [`crate::serve`] for
//! long runs.
//!
//! Besides wiremock's raw requests, the mock keeps a role-aware [`Journal`]: which operation
//! each request called, with which kind of client, and which documented rule refused it. Its
//! assertions read like the documentation ([`FinapiMock::assert_no_admin_token_on_user_services`],
//! [`FinapiMock::assert_called_by`], [`FinapiMock::assert_no_denials`]); see [`crate::journal`].
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! use finapi_conformance::world::demo;
//! use finapi_conformance::{CallerKind, FinapiMock};
//!
//! let mock = FinapiMock::start().await;
//! let token: serde_json::Value = reqwest::Client::new()
//!     .post(format!("{}/api/v2/oauth/token", mock.uri()))
//!     .form(&[
//!         ("grant_type", "client_credentials"),
//!         ("client_id", demo::APP_CLIENT.0),
//!         ("client_secret", demo::APP_CLIENT.1),
//!     ])
//!     .send().await.unwrap()
//!     .json().await.unwrap();
//! assert_eq!(token["token_type"], "bearer");
//!
//! // The journal names the operation and the client, never the secret.
//! let calls = mock.calls_to("getToken").by(CallerKind::AppClient);
//! assert_eq!(calls.len(), 1);
//! assert_eq!(calls[0].caller.as_ref().unwrap().client_id, demo::APP_CLIENT.0);
//! assert!(!format!("{:?}", mock.journal().entries()).contains(demo::APP_CLIENT.1));
//! # }
//! ```

use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::callbacks;
use crate::faults::{Faults, Violation};
use crate::journal::{self, CallerKind, Calls, Journal, JournalFinding};
use crate::model::Readings;
use crate::sim::{Clock, SimConfig, SimRequest, Simulator};
use crate::world::World;

/// Priority of the catch-all mock: the lowest wiremock has, so every user mock wins.
pub const CATCH_ALL_PRIORITY: u8 = u8::MAX;

/// A running mock finAPI on a wiremock server.
///
/// Dropping it stops the server and verifies the expectations of your own mocks, as wiremock
/// does (a failed `expect` panics in the dropping thread).
pub struct FinapiMock {
    /// Always `Some` until [`Drop`] takes it.
    server: Option<MockServer>,
    simulator: Simulator,
    journal: Journal,
}

/// Configures a [`FinapiMock`] before it starts.
#[derive(Debug, Clone, Default)]
pub struct FinapiMockBuilder {
    world: Option<World>,
    config: SimConfig,
    journal_capacity: Option<usize>,
    /// `Some(false)`: wiremock keeps no copy of the requests.
    record_requests: Option<bool>,
}

impl FinapiMockBuilder {
    /// Start from this world instead of [`World::demo`].
    pub fn world(mut self, world: World) -> Self {
        self.world = Some(world);
        self
    }

    /// Switch on a deliberate boundary break (repeatable).
    pub fn violate(mut self, violation: Violation) -> Self {
        self.config.faults = std::mem::take(&mut self.config.faults).with(violation);
        self
    }

    /// Switch on a set of breaks.
    pub fn faults(mut self, faults: Faults) -> Self {
        self.config.faults = faults;
        self
    }

    /// Choose readings of the ambiguous rules.
    pub fn readings(mut self, readings: Readings) -> Self {
        self.config.readings = readings;
        self
    }

    /// Answer like a busy real deployment (see [`Profile`](crate::sim::Profile)): validation before
    /// the role check, rate limits, 503s, latency, long tokens, alternative error bodies.
    pub fn profile(mut self, profile: crate::sim::Profile) -> Self {
        self.config.profile = Some(profile);
        self
    }

    /// Use this clock (for example [`Clock::epoch`] for reproducible output).
    pub fn clock(mut self, clock: Clock) -> Self {
        self.config.clock = clock;
        self
    }

    /// How many recent requests the journal keeps (default
    /// 1000; 0 keeps none).
    pub fn journal_capacity(mut self, capacity: usize) -> Self {
        self.journal_capacity = Some(capacity);
        self
    }

    /// Whether wiremock keeps a copy of every request for [`FinapiMock::received_requests`]
    /// (default: yes, as wiremock does). Its copies are never dropped, so a mock serving
    /// hundreds of thousands of requests grows with them; switch it off for long runs. The
    /// role-aware [`FinapiMock::journal`] is bounded and stays on either way.
    pub fn record_requests(mut self, record: bool) -> Self {
        self.record_requests = Some(record);
        self
    }

    /// Build the simulator without a server (for in-process use).
    pub fn simulator(self) -> Simulator {
        Simulator::with_config(&self.world.unwrap_or_default(), self.config)
    }

    /// Start a wiremock server answering through the simulator.
    pub async fn start(self) -> FinapiMock {
        let journal = Journal::new(self.journal_capacity.unwrap_or(journal::DEFAULT_CAPACITY));
        let record = self.record_requests.unwrap_or(true);
        let simulator = self.simulator();
        let server = if record {
            MockServer::start().await
        } else {
            MockServer::builder()
                .disable_request_recording()
                .start()
                .await
        };
        Mock::given(any())
            .respond_with(SimResponder::new(simulator.clone()).with_journal(journal.clone()))
            .with_priority(CATCH_ALL_PRIORITY)
            .named("finAPI simulator")
            .mount(&server)
            .await;
        FinapiMock {
            server: Some(server),
            simulator,
            journal,
        }
    }
}

impl FinapiMock {
    /// A mock of the demo world with no breaks.
    pub async fn start() -> FinapiMock {
        FinapiMock::builder().start().await
    }

    pub fn builder() -> FinapiMockBuilder {
        FinapiMockBuilder::default()
    }

    /// Base URL, e.g. `http://127.0.0.1:43127`.
    pub fn uri(&self) -> String {
        self.server().uri()
    }

    /// The wiremock server: mount your own mocks on it to override single endpoints.
    pub fn server(&self) -> &MockServer {
        self.server
            .as_ref()
            .expect("the server is present until the mock is dropped")
    }

    pub fn simulator(&self) -> &Simulator {
        &self.simulator
    }

    /// The simulator's clock: advance it to expire tokens without waiting.
    pub fn clock(&self) -> &Clock {
        self.simulator.clock()
    }

    /// wiremock's journal of every request received (`None` when the mock was built with
    /// [`FinapiMockBuilder::record_requests`]`(false)`).
    pub async fn received_requests(&self) -> Option<Vec<Request>> {
        self.server().received_requests().await
    }

    /// The role-aware journal of the requests the simulator answered (requests your own
    /// higher-priority mocks answered are not in it).
    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    /// The calls of one operation (finAPI's operationId), to narrow with
    /// [`Calls::by`] and friends.
    pub fn calls_to(&self, operation: &str) -> Calls {
        self.journal.calls_to(operation)
    }

    /// End Web Form 2.0 web form `id` with a final status (`COMPLETED`,
    /// `COMPLETED_WITH_ERROR`, `ABORTED`, `EXPIRED`), as if its user had finished it: a
    /// completed bank-connection import creates the connection, its accounts and transactions
    /// for that user; the form's callback is sent (in the background). Returns the form as the
    /// API shows it.
    pub fn complete_web_form(
        &self,
        id: &str,
        status: &str,
    ) -> Result<serde_json::Value, crate::sim::CompleteError> {
        let done = self.simulator.complete_web_form(id, status)?;
        callbacks::deliver(done.callbacks, callbacks::runtime_beside_caller());
        Ok(done.value)
    }

    /// Every Web Form 2.0 web form of every user (the callbacks of those whose lifetime ran
    /// out are sent).
    pub fn web_forms(&self) -> Vec<serde_json::Value> {
        let forms = self.simulator.web_forms();
        callbacks::deliver(forms.callbacks, callbacks::runtime_beside_caller());
        forms.value
    }

    /// How long a new web form lives (20 minutes unless set).
    pub fn set_web_form_lifetime(&self, lifetime: std::time::Duration) {
        let lifetime = chrono::Duration::from_std(lifetime).unwrap_or(chrono::Duration::MAX);
        self.simulator
            .with_state(|s| s.webform.lifetime = Some(lifetime));
    }

    /// Let callbacks go to `host` besides loopback addresses.
    pub fn allow_callback_host(&self, host: &str) {
        self.simulator
            .with_state(|s| s.webform.callback_hosts.push(host.to_string()));
    }

    /// The callbacks sent (or refused, with why) so far, oldest first.
    pub fn web_form_callbacks(&self) -> Vec<(crate::sim::message::Callback, Result<(), String>)> {
        self.simulator.with_state(|s| s.webform.callbacks.clone())
    }

    /// Switch breaks on and off while the mock runs.
    pub fn switch_faults(&self, on: &[Violation], off: &[Violation]) -> Faults {
        self.simulator.switch_faults(on, off)
    }

    /// Panics, naming each one, if any request was denied (401/403).
    #[track_caller]
    pub fn assert_no_denials(&self) {
        self.journal.assert_no_denials();
    }

    /// Panics, naming each one, if a mandator admin token ever reached a user service.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use finapi_conformance::world::demo;
    /// use finapi_conformance::FinapiMock;
    ///
    /// let mock = FinapiMock::start().await;
    /// let http = reqwest::Client::new();
    /// let admin: serde_json::Value = http
    ///     .post(format!("{}/api/v2/oauth/token", mock.uri()))
    ///     .form(&[
    ///         ("grant_type", "client_credentials"),
    ///         ("client_id", demo::ADMIN_CLIENT.0),
    ///         ("client_secret", demo::ADMIN_CLIENT.1),
    ///     ])
    ///     .send().await.unwrap()
    ///     .json().await.unwrap();
    /// // A buggy app reads accounts with the admin token: finAPI refuses it with 403 ...
    /// let answer = http
    ///     .get(format!("{}/api/v2/accounts", mock.uri()))
    ///     .bearer_auth(admin["access_token"].as_str().unwrap())
    ///     .send().await.unwrap();
    /// assert_eq!(answer.status(), 403);
    /// // ... and the journal names the request.
    /// let finding = mock.check_no_admin_token_on_user_services().unwrap_err();
    /// assert!(finding.to_string().contains("GET /api/v2/accounts"));
    /// assert!(finding.to_string().contains("mandator_admin demo-admin"));
    /// # }
    /// ```
    #[track_caller]
    pub fn assert_no_admin_token_on_user_services(&self) {
        self.journal.assert_no_admin_token_on_user_services();
    }

    /// Panics unless `operation` was called, and only ever by `kind`.
    #[track_caller]
    pub fn assert_called_by(&self, operation: &str, kind: CallerKind) {
        self.journal.assert_called_by(operation, kind);
    }

    /// [`FinapiMock::assert_no_denials`] as a `Result`.
    pub fn check_no_denials(&self) -> Result<(), JournalFinding> {
        self.journal.check_no_denials()
    }

    /// [`FinapiMock::assert_no_admin_token_on_user_services`] as a `Result`.
    pub fn check_no_admin_token_on_user_services(&self) -> Result<(), JournalFinding> {
        self.journal.check_no_admin_token_on_user_services()
    }

    /// [`FinapiMock::assert_called_by`] as a `Result`.
    pub fn check_called_by(&self, operation: &str, kind: CallerKind) -> Result<(), JournalFinding> {
        self.journal.check_called_by(operation, kind)
    }
}

impl Drop for FinapiMock {
    /// wiremock's own drop blocks on an async lock with `futures::executor::block_on`. On a
    /// tokio worker whose cooperative budget is already spent, tokio's lock keeps answering
    /// "not yet" and that loop never ends. So inside a runtime the server is dropped on a
    /// short-lived thread of its own (no budget there), and this thread waits for it; a panic
    /// from a failed expectation is passed on to the caller, as without the hop.
    fn drop(&mut self) {
        let Some(server) = self.server.take() else {
            return;
        };
        if tokio::runtime::Handle::try_current().is_err() {
            return drop(server);
        }
        let outcome = std::thread::scope(|scope| scope.spawn(move || drop(server)).join());
        if let Err(panic) = outcome {
            if !std::thread::panicking() {
                std::panic::resume_unwind(panic);
            }
        }
    }
}

/// A wiremock responder that asks the simulator (and records each answer in a journal, if it
/// has one).
#[derive(Clone)]
pub struct SimResponder {
    simulator: Simulator,
    journal: Option<Journal>,
}

impl SimResponder {
    pub fn new(simulator: Simulator) -> SimResponder {
        SimResponder {
            simulator,
            journal: None,
        }
    }

    /// Record every answer in `journal`.
    pub fn with_journal(mut self, journal: Journal) -> SimResponder {
        self.journal = Some(journal);
        self
    }
}

impl Respond for SimResponder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let sim_request = SimRequest {
            method: &request.method,
            path: request.url.path(),
            query: request.url.query(),
            headers: &request.headers,
            body: &request.body,
        };
        let mut response = self.simulator.handle(&sim_request);
        // Sent on the runtime wiremock answers on, without holding up the answer.
        callbacks::deliver(
            std::mem::take(&mut response.callbacks),
            tokio::runtime::Handle::try_current().ok(),
        );
        if let Some(journal) = &self.journal {
            journal.record(
                &request.method,
                request.url.path(),
                response.status,
                std::mem::take(&mut response.served),
            );
        }
        let mut template = ResponseTemplate::new(response.status);
        // Echoed ids are visible ASCII (the simulator checked); still, never panic on one.
        if let Ok(id) = http::HeaderValue::from_str(&response.request_id) {
            template = template.insert_header(crate::sim::REQUEST_ID_HEADER, id);
        }
        if let Some(seconds) = response.hints.retry_after {
            template = template.insert_header(http::header::RETRY_AFTER, seconds.to_string());
        }
        // The simulator's time, moved clock included (the server would stamp its own).
        template = template.insert_header(
            http::header::DATE,
            crate::sim::http_date(self.simulator.clock().now()),
        );
        // wiremock cannot drop a connection: a timed-out request is held for HANG, then 503.
        let delay = if response.hints.close {
            Some(crate::sim::profile::HANG)
        } else {
            response.hints.delay
        };
        if let Some(delay) = delay {
            if self.simulator.clock().is_fixed() {
                // A fixed clock's time passes at once (see `Clock::wait`).
                self.simulator.clock().advance(delay);
            } else {
                template = template.set_delay(delay);
            }
        }
        match response.content_type {
            Some(ct) => template.set_body_raw(Vec::from(response.body), ct),
            None => template,
        }
    }
}
