//! The transport-free finAPI simulator: a request in, a response out, with what the front door
//! does besides answering as data on the response (delays and timeouts in [`Hints`], Web Form
//! callbacks to send). Both front doors ([`crate::FinapiMock`] on wiremock and `serve` on hyper) call [`Simulator::handle`].
//!
//! Its rooms stand on floors; each imports only the floors below it (commands dispatch down,
//! the store never imports a command):
//!
//! - **this file**: [`Simulator`], which answers with the web form's pages or the API;
//! - **the door**: `pages/` (the form's page, its script, its status), `pipeline.rs` (profile
//!   admission, route, guard, sweep), `respond.rs` (the one place an outcome becomes a
//!   response);
//! - **the guard**: `guard.rs` authenticates and authorizes (the caller rules come from the
//!   catalogue), `validate.rs` checks the request, then `ops::dispatch`;
//! - **the handlers**: `ops/`, one file per API area (Web Form 2.0 in `ops/webform/`), reading
//!   `ops/ctx.rs` (`Ctx`, the request, and `Caller`, who sent it);
//! - **the seeder**: `seed/` builds the state from the world and imports test banks;
//! - **the store**: `state/`, beside `profile.rs`;
//! - **the ground**: `message.rs` (requests, responses, replies, callbacks), `headers.rs`
//!   (request id, method override, the front door's own address), `form.rs`, `banks.rs`,
//!   `error.rs`, `conform.rs`, `router.rs`, `dates.rs`, `clock.rs`, `random.rs`.

pub(crate) mod banks;
pub(crate) mod clock;
pub(crate) mod conform;
pub(crate) mod dates;
pub(crate) mod error;
pub(crate) mod form;
pub(crate) mod guard;
pub(crate) mod headers;
pub(crate) mod message;
pub(crate) mod ops;
pub(crate) mod pages;
pub(crate) mod pipeline;
pub(crate) mod profile;
pub(crate) mod random;
pub(crate) mod respond;
pub(crate) mod router;
pub(crate) mod seed;
pub(crate) mod state;
pub(crate) mod validate;

use std::sync::Arc;

use http::{HeaderMap, Method};
use parking_lot::Mutex;
use serde_json::Value;

pub use crate::journal::Served;
pub use clock::Clock;
pub use error::ApiError;
pub use headers::{fresh_request_id, http_date, REQUEST_ID, REQUEST_ID_HEADER};
pub use message::{
    Callback, CallbackTarget, Handled, Hints, Reply, SimRequest, SimResponse, WithCallbacks,
};
pub use ops::webform::completion::CompleteError;
pub use profile::{not_observable, Profile, RateLimit, KNOBS};
pub use state::UNKNOWN_ID;

use crate::faults::{Faults, SwitchableFaults, Violation};
use crate::model::{Catalogue, Readings};
use crate::world::World;
use pages::Page;
use pipeline::Pipeline;
use respond::{respond, Answering};
use state::State;

/// Settings of a simulator beyond its world.
#[derive(Debug, Clone, Default)]
pub struct SimConfig {
    pub readings: Readings,
    pub faults: Faults,
    pub clock: Clock,
    /// Answer like a busy real deployment ([`Profile`]); `None` is the faithful mock.
    pub profile: Option<Profile>,
}

struct Shared {
    pipeline: Pipeline,
    state: Mutex<State>,
    clock: Clock,
    faults: SwitchableFaults,
    /// The world [`Simulator::reset`] goes back to.
    world: Mutex<World>,
    /// Every answer holds this for reading, a reset or world load for writing: a request in
    /// flight sees the old world, clock and breaks or the new ones, never half of each.
    gate: parking_lot::RwLock<()>,
}

/// The simulator. Cheap to clone; clones share state.
#[derive(Clone)]
pub struct Simulator {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Simulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulator")
            .field("faults", &self.shared.faults.load())
            .finish_non_exhaustive()
    }
}

impl Simulator {
    /// A simulator of `world` with the default readings, no faults and the system clock.
    pub fn new(world: &World) -> Simulator {
        Simulator::with_config(world, SimConfig::default())
    }

    pub fn with_config(world: &World, config: SimConfig) -> Simulator {
        let now = config.clock.now();
        Simulator {
            shared: Arc::new(Shared {
                pipeline: Pipeline::new(config.readings, config.profile, now),
                state: Mutex::new(seed::state_for(world, now)),
                clock: config.clock,
                faults: SwitchableFaults::new(config.faults),
                world: Mutex::new(world.clone()),
                gate: parking_lot::RwLock::new(()),
            }),
        }
    }

    pub fn clock(&self) -> &Clock {
        &self.shared.clock
    }

    /// The catalogue this simulator serves (with its readings applied).
    pub fn catalogue(&self) -> &Catalogue {
        &self.shared.pipeline.catalogue
    }

    /// The breaks switched on right now.
    pub fn faults(&self) -> Faults {
        self.shared.faults.load()
    }

    /// Replace the breaks while the simulator serves (requests in flight keep the set they
    /// started with).
    pub fn set_faults(&self, faults: Faults) {
        self.shared.faults.store(faults);
    }

    /// Switch breaks on and off while the simulator serves; returns the new set.
    pub fn switch_faults(&self, on: &[Violation], off: &[Violation]) -> Faults {
        self.shared.faults.switch(on, off)
    }

    /// Start over from the world the simulator started with (or last loaded): every user,
    /// token and resource created since is forgotten. Breaks and clock stay as they are.
    /// Web Form 2.0's settings (lifetime, allowed callback hosts) survive.
    pub fn reset(&self) {
        let _exclusive = self.shared.gate.write();
        self.reset_state();
    }

    fn reset_state(&self) {
        let fresh = seed::state_for(&self.shared.world.lock(), self.shared.clock.now());
        let mut state = self.shared.state.lock();
        let settings = (
            state.webform.lifetime,
            std::mem::take(&mut state.webform.callback_hosts),
        );
        *state = fresh;
        (state.webform.lifetime, state.webform.callback_hosts) = settings;
    }

    /// Back to the start in one step: the clock reset, `faults` switched on (and no others),
    /// the state rebuilt from the world. No request is answered half before and half after.
    pub fn reset_all(&self, faults: Faults) {
        let _exclusive = self.shared.gate.write();
        self.shared.clock.reset();
        self.shared.faults.store(faults);
        self.reset_state();
    }

    /// Replace the world (checked with [`World::validate`] first) and start over from it, in
    /// one step as [`Simulator::reset_all`].
    pub fn load_world(&self, world: World) -> Result<(), crate::world::WorldError> {
        world.validate()?;
        let _exclusive = self.shared.gate.write();
        *self.shared.world.lock() = world;
        self.reset_state();
        Ok(())
    }

    /// End web form `id` with a final `status` (`COMPLETED`, `COMPLETED_WITH_ERROR`, `ABORTED`,
    /// `EXPIRED`), with the effects its page would have (`ops::webform::completion::complete`).
    /// Returns the form as `GET /api/webForms/{id}` shows it, with the callbacks to send (the
    /// form's own, and those of forms whose lifetime ran out). When it fails, those stay queued
    /// and go out with the next answer.
    pub fn complete_web_form(
        &self,
        id: &str,
        status: &str,
    ) -> Result<WithCallbacks<Value>, CompleteError> {
        let _shared = self.shared.gate.read();
        let now = self.shared.clock.now();
        let mut state = self.shared.state.lock();
        ops::webform::completion::expire(&mut state, now);
        let form = ops::webform::completion::complete(&mut state, id, status, now)?;
        Ok(WithCallbacks {
            value: form,
            callbacks: state.webform.take_outbox(),
        })
    }

    /// Every web form of every user, as `GET /api/webForms/{id}` shows each (expired ones
    /// marked so first), with the callbacks of those that expired now, to send.
    pub fn web_forms(&self) -> WithCallbacks<Vec<Value>> {
        let now = self.shared.clock.now();
        let mut state = self.shared.state.lock();
        ops::webform::completion::expire(&mut state, now);
        let forms = state
            .webform
            .forms
            .values()
            .map(ops::webform::common::form_value)
            .collect();
        WithCallbacks {
            value: forms,
            callbacks: state.webform.take_outbox(),
        }
    }

    pub fn readings(&self) -> &Readings {
        &self.shared.pipeline.readings
    }

    /// The profile this simulator answers with (`None`: the faithful mock).
    pub fn profile(&self) -> Option<&Profile> {
        self.shared.pipeline.profile.as_ref().map(|r| &r.profile)
    }

    /// Look at (or change) the state directly, for test set-up and invariant checks.
    pub fn with_state<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        f(&mut self.shared.state.lock())
    }

    /// Answer one request.
    pub fn handle(&self, req: &SimRequest<'_>) -> SimResponse {
        let response = {
            let _shared = self.shared.gate.read();
            self.answer(req)
        };
        // Method, path and status only: headers, query strings and bodies can carry secrets.
        tracing::debug!(
            method = %req.method,
            path = req.path,
            status = response.status,
            request_id = %response.request_id,
            "simulator answered"
        );
        response
    }

    /// The form's pages, or the API.
    fn answer(&self, req: &SimRequest<'_>) -> SimResponse {
        let shared = &*self.shared;
        let now = shared.clock.now();
        let faults = shared.faults.load();
        let (request_id, id_error) = headers::request_id(req.headers);
        let method = headers::effective_method(req);
        let exchange = match Page::of(&method, req.path) {
            Some(page) => page.answer(&shared.state, req, &method, now),
            None => shared
                .pipeline
                .answer(&shared.state, req, &method, id_error, now, &faults),
        };
        let answering = Answering {
            request_id,
            method: &method,
            path: req.path,
            now,
            faults: &faults,
            alt_errors: shared.pipeline.alt_errors(),
        };
        respond(exchange, answering)
    }

    /// Run a request given as parts; a convenience for tests and fuzzing.
    pub fn call(
        &self,
        method: &str,
        path_and_query: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> SimResponse {
        let method = Method::from_bytes(method.as_bytes()).unwrap_or(Method::GET);
        let (path, query) = match path_and_query.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (path_and_query, None),
        };
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            if let (Ok(k), Ok(v)) = (
                http::HeaderName::from_bytes(k.as_bytes()),
                http::HeaderValue::from_str(v),
            ) {
                map.append(k, v);
            }
        }
        self.handle(&SimRequest {
            method: &method,
            path,
            query,
            headers: &map,
            body,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// A reset waits for the requests in flight (each holds the gate's read side while it is
    /// answered), so none of them sees it half done; and it happens once they are through.
    #[test]
    fn a_reset_waits_for_requests_in_flight_and_happens_after_them() {
        let sim = Simulator::new(&World::demo());
        sim.set_faults(Faults::none().with(Violation::AdminReadsUserData));
        let in_flight = sim.shared.gate.read();
        let (done, finished) = std::sync::mpsc::channel();
        let resetter = {
            let sim = sim.clone();
            std::thread::spawn(move || {
                sim.reset_all(Faults::none());
                let _ = done.send(());
            })
        };
        assert!(
            finished.recv_timeout(Duration::from_millis(200)).is_err(),
            "the reset went ahead while a request was in flight"
        );
        assert!(sim.faults().has(Violation::AdminReadsUserData));
        drop(in_flight);
        finished
            .recv_timeout(Duration::from_secs(10))
            .expect("the reset happens once the request is through");
        resetter.join().unwrap();
        assert!(!sim.faults().has(Violation::AdminReadsUserData));
    }

    /// A user's token for a web form.
    fn user_token(sim: &Simulator) -> String {
        use crate::world::demo;
        let form = format!(
            "grant_type=password&client_id={}&client_secret={}&username={}&password={}",
            demo::APP_CLIENT.0,
            demo::APP_CLIENT.1,
            demo::USERS[0].0,
            demo::USERS[0].1
        );
        let r = sim.call("POST", "/api/v2/oauth/token", &[], form.as_bytes());
        format!("Bearer {}", r.json()["access_token"].as_str().unwrap())
    }

    /// A new import web form whose callback goes to `url`; its id.
    fn form_with_callback(sim: &Simulator, token: &str, url: &str) -> String {
        let body = serde_json::json!({ "callbacks": { "finalised": url } }).to_string();
        let r = sim.call(
            "POST",
            "/api/webForms/bankConnectionImport",
            &[("authorization", token)],
            body.as_bytes(),
        );
        assert_eq!(r.status, 201, "{}", r.json());
        assert!(r.callbacks.is_empty(), "nothing ended yet");
        r.json()["id"].as_str().unwrap().to_string()
    }

    /// The simulator sends nothing itself: the callbacks of the forms it ends come back as
    /// data, with the page's answer or with `complete_web_form`, once each; a refused one is
    /// only recorded.
    #[test]
    fn callbacks_come_back_as_data_and_refused_ones_are_only_recorded() {
        let sim = Simulator::new(&World::demo());
        let token = user_token(&sim);
        let id = form_with_callback(&sim, &token, "http://127.0.0.1:9/by-page");
        let page = sim.call(
            "POST",
            &format!("/webForm/{id}"),
            &[],
            b"username=me&pin=123456&action=login",
        );
        assert_eq!(page.status, 200);
        assert_eq!(page.callbacks.len(), 1);
        assert_eq!(page.callbacks[0].url, "http://127.0.0.1:9/by-page");
        assert!(page.callbacks[0].body.contains("\"COMPLETED\""));

        let id = form_with_callback(&sim, &token, "http://localhost:9/by-rust");
        let done = sim.complete_web_form(&id, "ABORTED").unwrap();
        assert_eq!(done["status"], "ABORTED");
        assert_eq!(done.callbacks.len(), 1);
        assert!(done.callbacks[0].body.contains("\"ABORTED\""));

        let id = form_with_callback(&sim, &token, "http://callbacks.example.org/x");
        let refused = sim.complete_web_form(&id, "ABORTED").unwrap();
        assert!(refused.callbacks.is_empty(), "not loopback, not allowed");
        let recorded = sim.with_state(|s| s.webform.callbacks.clone());
        assert_eq!(recorded.len(), 3);
        assert!(recorded[2]
            .1
            .as_ref()
            .is_err_and(|e| e.contains("not loopback")));
        // Each callback is handed out once.
        assert!(sim
            .call("GET", "/api/webForms", &[("authorization", &token)], b"")
            .callbacks
            .is_empty());
    }
}
