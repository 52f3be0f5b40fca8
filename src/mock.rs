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
//! ```no_run
//! # async fn demo() {
//! use finapi_conformance::FinapiMock;
//! use finapi_conformance::world::demo;
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
//! # }
//! ```

use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::faults::{Faults, Violation};
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
}

/// Configures a [`FinapiMock`] before it starts.
#[derive(Debug, Clone, Default)]
pub struct FinapiMockBuilder {
    world: Option<World>,
    config: SimConfig,
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

    /// Answer like a busy real deployment (see [`crate::sim::profile`]): validation before
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

    /// Build the simulator without a server (for in-process use).
    pub fn simulator(self) -> Simulator {
        Simulator::with_config(&self.world.unwrap_or_default(), self.config)
    }

    /// Start a wiremock server answering through the simulator.
    pub async fn start(self) -> FinapiMock {
        let simulator = self.simulator();
        let server = MockServer::start().await;
        Mock::given(any())
            .respond_with(SimResponder(simulator.clone()))
            .with_priority(CATCH_ALL_PRIORITY)
            .named("finAPI simulator")
            .mount(&server)
            .await;
        FinapiMock {
            server: Some(server),
            simulator,
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

    /// wiremock's journal of every request received.
    pub async fn received_requests(&self) -> Option<Vec<Request>> {
        self.server().received_requests().await
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

/// A wiremock responder that asks the simulator.
#[derive(Clone)]
pub struct SimResponder(pub Simulator);

impl Respond for SimResponder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let sim_request = SimRequest {
            method: &request.method,
            path: request.url.path(),
            query: request.url.query(),
            headers: &request.headers,
            body: &request.body,
        };
        let response = self.0.handle(&sim_request);
        let mut template = ResponseTemplate::new(response.status);
        // Echoed ids are visible ASCII (the simulator checked); still, never panic on one.
        if let Ok(id) = http::HeaderValue::from_str(&response.request_id) {
            template =
                template.insert_header(http::HeaderName::from_static(crate::sim::REQUEST_ID), id);
        }
        if let Some(seconds) = response.hints.retry_after {
            template = template.insert_header(http::header::RETRY_AFTER, seconds.to_string());
        }
        // wiremock cannot drop a connection: a timed-out request is held for HANG, then 503.
        let delay = if response.hints.close {
            Some(crate::sim::profile::HANG)
        } else {
            response.hints.delay
        };
        if let Some(delay) = delay {
            if self.0.clock().is_fixed() {
                // A fixed clock's time passes at once (see `Clock::wait`).
                self.0.clock().advance(delay);
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
