//! The API's way through the simulator: the profile's admission, the route, then the guard and
//! the handler under the state's lock, and the sweep of dead tokens. What comes out is an
//! [`Exchange`], which [`crate::sim::respond`] turns into the response.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use http::Method;
use parking_lot::Mutex;

use crate::faults::{Faults, Violation};
use crate::journal::Served;
use crate::model::{Catalogue, Readings};
use crate::sim::error::ApiError;
use crate::sim::guard;
use crate::sim::message::{Exchange, Hints, SimRequest};
use crate::sim::ops::ctx::Ctx;
use crate::sim::profile::{self, Admit, Profile};
use crate::sim::router::{RouteError, Router};
use crate::sim::state::State;

/// What a simulator answers the API with: the catalogue under its readings, the router over
/// it, and the profile's moving parts.
pub(crate) struct Pipeline {
    pub(crate) catalogue: Arc<Catalogue>,
    router: Arc<Router>,
    pub(crate) readings: Readings,
    /// `None`: the faithful mock.
    pub(crate) profile: Option<profile::Runtime>,
}

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

impl Pipeline {
    /// The pipeline of a simulator with `readings` and `profile` (a faithful profile is none),
    /// started at `now`.
    pub(crate) fn new(
        readings: Readings,
        profile: Option<Profile>,
        now: DateTime<Utc>,
    ) -> Pipeline {
        let (catalogue, router) = routes_for(&readings);
        let profile = profile
            .filter(|p| !p.is_faithful())
            .map(|p| profile::Runtime::new(p, now));
        Pipeline {
            catalogue,
            router,
            readings,
            profile,
        }
    }

    /// Whether error bodies take the documented alternative spelling (`alt-errors`).
    pub(crate) fn alt_errors(&self) -> bool {
        self.profile.as_ref().is_some_and(|r| r.profile.alt_errors)
    }

    /// Take one API request through: `refused` is an error found before (an unusable request
    /// id), which answers it once the profile has admitted or refused it.
    pub(crate) fn answer(
        &self,
        state: &Mutex<State>,
        req: &SimRequest<'_>,
        method: &Method,
        refused: Option<ApiError>,
        now: DateTime<Utc>,
        faults: &Faults,
    ) -> Exchange<'_> {
        let mut hints = Hints::default();
        let turned_away = match &self.profile {
            None => None,
            Some(rt) => match rt.admit(now) {
                Admit::Go(h) => {
                    hints = h;
                    None
                }
                Admit::Refuse(err, h) => {
                    hints = h;
                    Some(err)
                }
            },
        };
        let mut served = Served::default();
        let mut auth_context = None;
        let mut op = None;
        let mut callbacks = Vec::new();
        let result = match refused.or(turned_away) {
            Some(err) => Err(err),
            None => match self.router.route(&self.catalogue, method, req.path) {
                Err(RouteError::NotFound) => Err(ApiError::not_found("Resource")),
                Err(RouteError::MethodNotAllowed) => Err(ApiError::new(
                    405,
                    "METHOD_NOT_ALLOWED",
                    format!("{method} is not supported here"),
                )),
                Ok(routed) => {
                    served.operation = Some(Served::operation_id(routed.op));
                    served.allowed = routed.op.callers;
                    op = Some(routed.op);
                    let ctx = Ctx {
                        op: routed.op,
                        params: &routed.params,
                        req,
                        now,
                        faults,
                        readings: &self.readings,
                        catalogue: &self.catalogue,
                        profile: self.profile.as_ref().map(|r| &r.profile),
                        oauth: Default::default(),
                        query: Default::default(),
                    };
                    let mut state = state.lock();
                    let out = guard::run(&ctx, &mut state, &mut auth_context, &mut served);
                    let keep_dead = faults.has(Violation::RevokedTokenAccepted)
                        || faults.has(Violation::ExpiredTokenAccepted);
                    state.sweep(now, keep_dead);
                    callbacks = state.webform.take_outbox();
                    out
                }
            },
        };
        Exchange {
            result,
            op,
            auth_context,
            hints,
            served,
            callbacks,
        }
    }
}
