//! The transport-free finAPI simulator: a request in, a response out.
//!
//! Every request passes the same pipeline: route (`router.rs`), authenticate and authorize
//! (`guard.rs`, reading the caller rules from the catalogue), validate the request
//! (`validate.rs`), then the operation's handler (`ops/`, a file per API area). Both front doors ([`crate::mock`] on
//! wiremock and [`crate::serve`] on hyper) call [`Simulator::handle`].

pub(crate) mod banks;
pub mod clock;
pub(crate) mod conform;
pub(crate) mod dates;
pub(crate) mod error;
pub(crate) mod form;
pub(crate) mod guard;
pub mod message;
pub(crate) mod ops;
pub(crate) mod pages;
pub mod profile;
pub(crate) mod random;
pub(crate) mod router;
pub(crate) mod seed;
pub(crate) mod state;
pub(crate) mod validate;

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, Method};
use parking_lot::Mutex;
use serde_json::Value;

/// Moved to [`crate::model::paths`]; kept here for callers of its old path.
pub use crate::model::paths::version_of_path;
pub use clock::Clock;
pub use error::ApiError;
pub use message::{Callback, Handled, Hints, Reply, SimRequest, SimResponse};
pub use ops::webform::completion::CompleteError;
pub use profile::Profile;
pub use state::UNKNOWN_ID;

use crate::faults::{Faults, SwitchableFaults, Violation};
use crate::journal::Served;
use crate::model::{Api, ApiVersion, Catalogue, Operation, Readings};
use crate::world::World;
use error::ErrorContext;
use router::{RouteError, Router};
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
    catalogue: Arc<Catalogue>,
    router: Arc<Router>,
    state: Mutex<State>,
    clock: Clock,
    faults: SwitchableFaults,
    readings: Readings,
    profile: Option<profile::Runtime>,
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

/// Header carrying the request id.
pub const REQUEST_ID: &str = "x-request-id";

/// [`REQUEST_ID`] as a header name, for lookups and inserts that skip parsing the name.
pub const REQUEST_ID_HEADER: http::HeaderName = http::HeaderName::from_static(REQUEST_ID);

/// The header that turns a POST into a PATCH or DELETE.
const METHOD_OVERRIDE: http::HeaderName = http::HeaderName::from_static("x-http-method-override");

/// The catalogue under `readings` and its router, built once per process for each set of
/// readings and shared by every simulator that reads the rules that way.
fn routes_for(readings: &Readings) -> (Arc<Catalogue>, Arc<Router>) {
    type Built = Vec<(Readings, Arc<Catalogue>, Arc<Router>)>;
    static BUILT: Mutex<Built> = Mutex::new(Vec::new());
    let mut built = BUILT.lock();
    if let Some((_, c, r)) = built.iter().find(|(r, _, _)| r == readings) {
        return (c.clone(), r.clone());
    }
    let catalogue = Arc::new(Catalogue::embedded().with_readings(readings));
    let router = Arc::new(Router::new(&catalogue));
    // Readings are a handful of switches: few sets ever exist in one process.
    built.push((readings.clone(), catalogue.clone(), router.clone()));
    (catalogue, router)
}

impl Simulator {
    /// A simulator of `world` with the default readings, no faults and the system clock.
    pub fn new(world: &World) -> Simulator {
        Simulator::with_config(world, SimConfig::default())
    }

    pub fn with_config(world: &World, config: SimConfig) -> Simulator {
        let (catalogue, router) = routes_for(&config.readings);
        let state = seed::state_for(world, config.clock.now());
        let profile = config
            .profile
            .filter(|p| !p.is_faithful())
            .map(|p| profile::Runtime::new(p, config.clock.now()));
        Simulator {
            shared: Arc::new(Shared {
                catalogue,
                router,
                state: Mutex::new(state),
                clock: config.clock,
                faults: SwitchableFaults::new(config.faults),
                readings: config.readings,
                profile,
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
        &self.shared.catalogue
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
    /// `EXPIRED`), with the effects its page would have ([`ops::webform::completion::complete`]).
    /// Returns the form as `GET /api/webForms/{id}` shows it.
    pub fn complete_web_form(&self, id: &str, status: &str) -> Result<Value, CompleteError> {
        let _shared = self.shared.gate.read();
        let now = self.shared.clock.now();
        let mut state = self.shared.state.lock();
        ops::webform::completion::expire(&mut state, now);
        ops::webform::completion::complete(&mut state, id, status, now)
    }

    /// Every web form of every user, as `GET /api/webForms/{id}` shows each (expired ones
    /// marked so first).
    pub fn web_forms(&self) -> Vec<Value> {
        let now = self.shared.clock.now();
        let mut state = self.shared.state.lock();
        ops::webform::completion::expire(&mut state, now);
        state
            .webform
            .forms
            .values()
            .map(ops::webform::common::form_value)
            .collect()
    }

    pub fn readings(&self) -> &Readings {
        &self.shared.readings
    }

    /// The profile this simulator answers with (`None`: the faithful mock).
    pub fn profile(&self) -> Option<&Profile> {
        self.shared.profile.as_ref().map(|r| &r.profile)
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

    fn answer(&self, req: &SimRequest<'_>) -> SimResponse {
        let now = self.shared.clock.now();
        let faults = self.shared.faults.load();
        let mut served = Served::default();
        let (request_id, id_error) = request_id(req.headers);
        let method = effective_method(req);
        if method == Method::GET
            && (req.path == pages::script::SCRIPT_PATH
                || (req.path.starts_with(state::webforms::PAGE_PREFIX)
                    && req.path.ends_with(pages::status::STATUS_SUFFIX)))
        {
            // The embeddable script and the status its element polls (JavaScript).
            let (status, script) = if req.path == pages::script::SCRIPT_PATH {
                let host = req
                    .headers
                    .get(http::header::HOST)
                    .and_then(|h| h.to_str().ok())
                    .filter(|h| {
                        h.bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
                    })
                    .unwrap_or("localhost");
                pages::script::script_answer(req.query, &format!("http://{host}"))
            } else {
                let id = &req.path[state::webforms::PAGE_PREFIX.len()
                    ..req.path.len() - pages::status::STATUS_SUFFIX.len()];
                pages::status::status_answer(&mut self.shared.state.lock(), id, req.query, now)
            };
            return SimResponse {
                status,
                content_type: Some("application/javascript; charset=utf-8"),
                request_id,
                body: Bytes::from(script),
                hints: Hints::default(),
                served,
            };
        }
        if let Some(id) = req.path.strip_prefix(state::webforms::PAGE_PREFIX) {
            if method == Method::GET || method == Method::POST {
                // A web form's own page (HTML), outside the API and its guard.
                let (status, page) = pages::login::page_answer(
                    &mut self.shared.state.lock(),
                    &method,
                    id,
                    req.body,
                    now,
                );
                return SimResponse {
                    status,
                    content_type: Some("text/html; charset=utf-8"),
                    request_id,
                    body: Bytes::from(page),
                    hints: Hints::default(),
                    served,
                };
            }
        }
        let mut auth_context = None;
        let mut hints = Hints::default();
        let refused = match &self.shared.profile {
            None => None,
            Some(rt) => match rt.admit(now) {
                profile::Admit::Go(h) => {
                    hints = h;
                    None
                }
                profile::Admit::Refuse(err, h) => {
                    hints = h;
                    Some(err)
                }
            },
        };
        // The routed operation, whose documented shapes the body is completed to.
        let mut operation: Option<(ApiVersion, &str)> = None;
        let mut routed_op: Option<&Operation> = None;
        let result = match id_error.or(refused) {
            Some(e) => Err(e),
            None => match self
                .shared
                .router
                .route(&self.shared.catalogue, &method, req.path)
            {
                Err(RouteError::NotFound) => Err(ApiError::not_found("Resource")),
                Err(RouteError::MethodNotAllowed) => Err(ApiError::new(
                    405,
                    "METHOD_NOT_ALLOWED",
                    format!("{method} is not supported here"),
                )),
                Ok(routed) => {
                    served.operation = Some(Served::operation_id(routed.op));
                    served.allowed = routed.op.callers;
                    operation = Some((routed.op.version, routed.op.id.as_str()));
                    routed_op = Some(routed.op);
                    let mut state = self.shared.state.lock();
                    let ctx = ops::ctx::Ctx {
                        op: routed.op,
                        params: &routed.params,
                        req,
                        now,
                        faults: &faults,
                        readings: &self.shared.readings,
                        catalogue: &self.shared.catalogue,
                        profile: self.shared.profile.as_ref().map(|r| &r.profile),
                        oauth: Default::default(),
                        query: Default::default(),
                    };
                    let out = guard::run(&ctx, &mut state, &mut auth_context, &mut served);
                    state.sweep(
                        now,
                        faults.has(Violation::RevokedTokenAccepted)
                            || faults.has(Violation::ExpiredTokenAccepted),
                    );
                    out
                }
            },
        };
        match result {
            Ok(Reply::Json(status, value)) => {
                let outgoing = match operation {
                    Some((version, op_id)) => conform::response(version, op_id, status, value),
                    None => conform::Outgoing::Json(value),
                };
                let value = match outgoing {
                    conform::Outgoing::Json(v) => apply_shape_faults(&faults, v),
                    conform::Outgoing::NoBody => {
                        return SimResponse {
                            status,
                            content_type: None,
                            request_id,
                            body: Bytes::new(),
                            hints,
                            served,
                        }
                    }
                };
                SimResponse {
                    status,
                    content_type: Some("application/json"),
                    request_id,
                    body: Bytes::from(serde_json::to_vec(&value).unwrap_or_default()),
                    hints,
                    served,
                }
            }
            Ok(Reply::RawJson(status, body)) => SimResponse {
                status,
                content_type: Some("application/json"),
                request_id,
                body: Bytes::from(body),
                hints,
                served,
            },
            Ok(Reply::Empty(status)) => SimResponse {
                status,
                content_type: None,
                request_id,
                body: Bytes::new(),
                hints,
                served,
            },
            Err(err) => {
                // Only statuses finAPI documents for the operation (see `ApiError::as_documented`).
                let err = match routed_op {
                    Some(op) => err.as_documented(op),
                    None => err,
                };
                let err = self.apply_error_faults(&faults, err);
                if faults.has(Violation::PlainTextErrors) && err.status() == 403 {
                    return SimResponse {
                        status: 403,
                        content_type: Some("text/plain"),
                        request_id,
                        body: Bytes::from_static(b"Access is denied"),
                        hints,
                        served,
                    };
                }
                let endpoint = format!("{} {}", method, req.path);
                let ctx = ErrorContext {
                    version: version_of_path(req.path),
                    now,
                    request_id: &request_id,
                    endpoint: &endpoint,
                    auth_context: auth_context.as_deref(),
                };
                let status = match &err {
                    ApiError::Message { status, .. } => *status,
                    ApiError::Unauthenticated { .. } => 401,
                };
                let mut body = if Api::of_path(req.path) == Api::WebForm2 {
                    // Web Form 2.0's own error bodies: `ValidationError` for 400, else `Error`.
                    let value = err.webform_body(&endpoint, now);
                    let model = if status == 400 {
                        "ValidationError"
                    } else {
                        "Error"
                    };
                    conform::model(ApiVersion::V2, model, value)
                } else {
                    conform::error(
                        operation.map_or(ctx.version, |(v, _)| v),
                        operation.map(|(_, id)| id),
                        status,
                        err.body(&ctx),
                    )
                };
                if self
                    .shared
                    .profile
                    .as_ref()
                    .is_some_and(|r| r.profile.alt_errors)
                {
                    profile::alter_error_body(&mut body, now);
                }
                let body = apply_shape_faults(&faults, body);
                SimResponse {
                    status,
                    content_type: Some("application/json"),
                    body: Bytes::from(serde_json::to_vec(&body).unwrap_or_default()),
                    request_id,
                    hints,
                    served,
                }
            }
        }
    }

    fn apply_error_faults(&self, faults: &Faults, err: ApiError) -> ApiError {
        match err {
            ApiError::Message {
                status: 403,
                code: "UNAUTHORIZED_ACCESS",
                message,
                kind,
            } if faults.has(Violation::ForbiddenAs401) => ApiError::Message {
                status: 401,
                code: "UNAUTHORIZED_ACCESS",
                message,
                kind,
            },
            other => other,
        }
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

/// `X-HTTP-Method-Override: PATCH|DELETE` on a POST.
fn effective_method(req: &SimRequest<'_>) -> Method {
    if *req.method == Method::POST {
        if let Some(v) = req
            .headers
            .get(METHOD_OVERRIDE)
            .and_then(|v| v.to_str().ok())
        {
            match v.trim().to_ascii_uppercase().as_str() {
                "PATCH" => return Method::PATCH,
                "DELETE" => return Method::DELETE,
                _ => {}
            }
        }
    }
    req.method.clone()
}

/// The request id to echo, and an error if the presented one is unusable.
fn request_id(headers: &HeaderMap) -> (String, Option<ApiError>) {
    let fresh = fresh_request_id;
    match headers.get(REQUEST_ID_HEADER) {
        // An empty header is no request id: finAPI makes one up, as without the header.
        None => (fresh(), None),
        Some(v) if v.is_empty() => (fresh(), None),
        Some(v) => match v.to_str() {
            Ok(s) if !s.is_empty() && s.len() <= 255 => (s.to_string(), None),
            Ok(s) if s.len() > 255 => (
                fresh(),
                Some(ApiError::bad_request(
                    "X-Request-Id must not exceed 255 characters",
                )),
            ),
            _ => (
                fresh(),
                Some(ApiError::bad_request(
                    "X-Request-Id must be 1 to 255 visible ASCII characters",
                )),
            ),
        },
    }
}

/// A request id of our own: `selfgen-`, a random prefix drawn once per process, and a counter.
/// Unique within a process and unlikely to repeat across processes, without drawing random
/// bytes for every request.
pub fn fresh_request_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::OnceLock;
    static PREFIX: OnceLock<String> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let prefix = PREFIX.get_or_init(|| random::random_uuid()[..23].to_string());
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut id = String::with_capacity(8 + prefix.len() + 13);
    id.push_str("selfgen-");
    id.push_str(prefix);
    id.push('-');
    // The counter as 12 hex digits, by hand (`write!` was a tenth of a small request's time).
    for shift in (0..12).rev() {
        id.push(char::from(
            b"0123456789abcdef"[(n >> (shift * 4)) as usize & 0xf],
        ));
    }
    id
}

/// `shape-drift`: error bodies lose their required `authContext`.
fn apply_shape_faults(faults: &Faults, mut body: Value) -> Value {
    if faults.has(Violation::ShapeDrift) {
        if let Some(o) = body.as_object_mut() {
            if o.contains_key("errors") {
                o.remove("authContext");
            }
        }
    }
    body
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
}
