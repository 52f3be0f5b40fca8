//! `serve`'s control API: tests in any language drive the running mock over HTTP.
//!
//! Everything lives under [`PREFIX`] (`/__finapi/`), a path finAPI never uses:
//!
//! | request | does |
//! |---|---|
//! | `GET /__finapi/health` | `{"status":"ok"}`, for readiness checks |
//! | `GET /__finapi/journal?operation=&caller_kind=&status=` | the journal as a JSON list, filtered |
//! | `DELETE /__finapi/journal` | forget the journal |
//! | `POST /__finapi/reset` | back to the start: world, breaks, clock; journal emptied |
//! | `POST /__finapi/world` | load a world (JSON or TOML, as `--world`) and start over from it |
//! | `GET`/`POST /__finapi/faults` | the breaks switched on; `{"on":[..],"off":[..]}` switches |
//! | `GET`/`POST /__finapi/clock` | the simulator's time; `{"advance_seconds":N}` moves it |
//! | `GET /__finapi/webForms` | every Web Form 2.0 web form, of every user |
//! | `POST /__finapi/webForms` | `{"lifetime_seconds":N,"allow_callback_hosts":[..]}` settings |
//! | `POST /__finapi/webForms/{id}` | `{"status":"COMPLETED"}` (or `COMPLETED_WITH_ERROR`, `ABORTED`, `EXPIRED`) ends it |
//!
//! With a control token every endpoint but `health` needs it, as `Authorization: Bearer` or
//! `X-Finapi-Control-Token`; it is compared in constant time. Errors are JSON:
//! `{"error":"..."}`. Control requests are not journaled.

use std::time::Duration;

use bytes::Bytes;
use http::{header, HeaderValue, Method, Response, StatusCode};
use http_body_util::Full;
use serde::Deserialize;
use serde_json::{json, Value};
use subtle::ConstantTimeEq;
use tokio::runtime::Handle;

use super::{AppState, MAX_BODY};
use crate::callbacks;
use crate::faults::{Faults, Violation};
use crate::journal::JournalFilter;
use crate::sim::Simulator;
use crate::world::World;

/// The path prefix of the control API.
pub const PREFIX: &str = "/__finapi/";

/// Why an open control API may not listen beyond loopback.
pub const NEEDS_TOKEN: &str =
    "the control API on a non-loopback address needs a control token (or switch it off)";

/// What the control API remembers: the token and the breaks to reset to.
pub(super) struct ControlState {
    token: Option<String>,
    start_faults: Faults,
}

impl ControlState {
    pub(super) fn new(sim: &Simulator, token: Option<String>) -> ControlState {
        ControlState {
            token,
            start_faults: sim.faults(),
        }
    }

    fn authorized(&self, headers: &http::HeaderMap) -> bool {
        let Some(expected) = &self.token else {
            return true;
        };
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, t)| t.trim());
        let own = headers
            .get("x-finapi-control-token")
            .and_then(|v| v.to_str().ok())
            .map(str::trim);
        [bearer, own].into_iter().flatten().any(|presented| {
            presented.len() == expected.len()
                && bool::from(presented.as_bytes().ct_eq(expected.as_bytes()))
        })
    }
}

type Answer = Result<(StatusCode, Value), (StatusCode, String)>;

/// Answer one control request. `body` is the request body, or why it could not be read.
pub(super) fn handle(
    control: &ControlState,
    app: &AppState,
    parts: &http::request::Parts,
    body: Result<Bytes, Box<dyn std::error::Error + Send + Sync>>,
) -> Response<Full<Bytes>> {
    let endpoint = &parts.uri.path()[PREFIX.len()..];
    let answer = if endpoint != "health" && !control.authorized(&parts.headers) {
        Err((
            StatusCode::UNAUTHORIZED,
            "the control API needs the control token (Authorization: Bearer or X-Finapi-Control-Token)".into(),
        ))
    } else {
        match body {
            Err(e) if e.is::<http_body_util::LengthLimitError>() => Err((
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the request body exceeds {MAX_BODY} bytes"),
            )),
            Err(_) => Err((
                StatusCode::BAD_REQUEST,
                "the request body could not be read completely".into(),
            )),
            Ok(body) => route(control, app, parts, endpoint, &body),
        }
    };
    let (status, value) = match answer {
        Ok(ok) => ok,
        Err((status, message)) => (status, json!({ "error": message })),
    };
    let mut out = Response::new(Full::new(Bytes::from(
        serde_json::to_vec(&value).unwrap_or_default(),
    )));
    *out.status_mut() = status;
    out.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if status == StatusCode::METHOD_NOT_ALLOWED {
        if let Some(allow) = allowed_methods(endpoint) {
            out.headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static(allow));
        }
    }
    out
}

fn allowed_methods(endpoint: &str) -> Option<&'static str> {
    Some(match endpoint {
        "health" => "GET",
        "journal" => "GET, DELETE",
        "reset" | "world" => "POST",
        "faults" | "clock" | "webForms" => "GET, POST",
        e if e.starts_with("webForms/") => "POST",
        _ => return None,
    })
}

fn route(
    control: &ControlState,
    app: &AppState,
    parts: &http::request::Parts,
    endpoint: &str,
    body: &[u8],
) -> Answer {
    let sim = &app.sim;
    match (&parts.method, endpoint) {
        (&Method::GET, "health") => Ok((StatusCode::OK, json!({ "status": "ok" }))),
        (&Method::GET, "journal") => {
            let filter = JournalFilter::parse(parts.uri.query())
                .map_err(|m| (StatusCode::BAD_REQUEST, m))?;
            let entries: Vec<_> = app
                .journal
                .entries()
                .into_iter()
                .filter(|e| filter.matches(e))
                .collect();
            Ok((StatusCode::OK, json!(entries)))
        }
        (&Method::DELETE, "journal") => {
            app.journal.clear();
            Ok((StatusCode::OK, json!({ "journal": "cleared" })))
        }
        (&Method::POST, "reset") => {
            // Clock, breaks and state in one step (the clock first, so the fresh state is
            // dated at the start's time).
            sim.reset_all(control.start_faults.clone());
            app.journal.clear();
            Ok((StatusCode::OK, state_summary(sim)))
        }
        (&Method::POST, "world") => {
            let world = parse_world(parts, body).map_err(|m| (StatusCode::BAD_REQUEST, m))?;
            sim.load_world(world)
                .map_err(|e| (StatusCode::BAD_REQUEST, e.to_string()))?;
            app.journal.clear();
            Ok((StatusCode::OK, state_summary(sim)))
        }
        (&Method::GET, "faults") => Ok((StatusCode::OK, faults_json(sim.faults()))),
        (&Method::POST, "faults") => {
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields)]
            struct Switch {
                #[serde(default)]
                on: Vec<String>,
                #[serde(default)]
                off: Vec<String>,
            }
            let switch: Switch = json_body(body)?;
            let names = |list: &[String]| -> Result<Vec<Violation>, (StatusCode, String)> {
                list.iter()
                    .map(|n| n.parse().map_err(|m| (StatusCode::BAD_REQUEST, m)))
                    .collect()
            };
            let (on, off) = (names(&switch.on)?, names(&switch.off)?);
            Ok((StatusCode::OK, faults_json(sim.switch_faults(&on, &off))))
        }
        (&Method::GET, "clock") => Ok((StatusCode::OK, clock_json(sim))),
        (&Method::GET, "webForms") => {
            let forms = sim.web_forms();
            callbacks::deliver(forms.callbacks, Handle::try_current().ok());
            Ok((StatusCode::OK, json!(forms.value)))
        }
        (&Method::POST, "webForms") => {
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields)]
            struct Settings {
                lifetime_seconds: Option<u32>,
                allow_callback_hosts: Option<Vec<String>>,
            }
            let settings: Settings = json_body(body)?;
            let now = sim.with_state(|s| {
                if let Some(secs) = settings.lifetime_seconds {
                    s.webform.lifetime = Some(chrono::Duration::seconds(i64::from(secs)));
                }
                if let Some(hosts) = settings.allow_callback_hosts {
                    s.webform.callback_hosts = hosts;
                }
                json!({
                    "lifetime_seconds": s.webform.lifetime().num_seconds(),
                    "allow_callback_hosts": s.webform.callback_hosts,
                })
            });
            Ok((StatusCode::OK, now))
        }
        (&Method::POST, e) if e.starts_with("webForms/") => {
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields)]
            struct End {
                status: String,
            }
            let end: End = json_body(body)?;
            let id = &e["webForms/".len()..];
            use crate::sim::CompleteError;
            sim.complete_web_form(id, &end.status)
                .map(|done| {
                    callbacks::deliver(done.callbacks, Handle::try_current().ok());
                    (StatusCode::OK, done.value)
                })
                .map_err(|err| {
                    let status = match err {
                        CompleteError::NotFound(_) => StatusCode::NOT_FOUND,
                        CompleteError::BadStatus(_) => StatusCode::BAD_REQUEST,
                        CompleteError::Final { .. } => StatusCode::CONFLICT,
                    };
                    (status, err.to_string())
                })
        }
        (&Method::POST, "clock") => {
            let body: Value = json_body(body)?;
            let seconds = match body.as_object().map(|o| (o.len(), o.get("advance_seconds"))) {
                Some((1, Some(n))) => n.as_u64(),
                _ => None,
            }
            .ok_or_else(|| {
                (
                    StatusCode::BAD_REQUEST,
                    "expected {\"advance_seconds\": N} with N a whole number of seconds, 0 or more"
                        .to_string(),
                )
            })?;
            sim.clock().advance(Duration::from_secs(seconds));
            Ok((StatusCode::OK, clock_json(sim)))
        }
        (_, endpoint) if allowed_methods(endpoint).is_some() => Err((
            StatusCode::METHOD_NOT_ALLOWED,
            format!(
                "{} {PREFIX}{endpoint} is not supported (use {})",
                parts.method,
                allowed_methods(endpoint).unwrap_or_default()
            ),
        )),
        _ => Err((
            StatusCode::NOT_FOUND,
            format!(
                "no control endpoint {PREFIX}{endpoint} (endpoints: health, journal, reset, world, faults, clock, webForms)"
            ),
        )),
    }
}

/// A JSON body, or a 400 that says what is wrong with it.
fn json_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, (StatusCode, String)> {
    serde_json::from_slice(body).map_err(|e| {
        (
            StatusCode::BAD_REQUEST,
            format!("the body is not the JSON this endpoint expects: {e}"),
        )
    })
}

/// A world in JSON or TOML: by `Content-Type`, else by its first character.
fn parse_world(parts: &http::request::Parts, body: &[u8]) -> Result<World, String> {
    let text = std::str::from_utf8(body).map_err(|_| "the world is not UTF-8 text".to_string())?;
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let is_json = if content_type.contains("json") {
        true
    } else if content_type.contains("toml") {
        false
    } else {
        text.trim_start().starts_with('{')
    };
    if is_json {
        let world: World =
            serde_json::from_str(text).map_err(|e| format!("the world is not valid JSON: {e}"))?;
        world.validate().map_err(|e| e.to_string())?;
        Ok(world)
    } else {
        World::from_toml(text).map_err(|e| e.to_string())
    }
}

fn state_summary(sim: &Simulator) -> Value {
    let (mandators, users) = sim.with_state(|s| {
        (
            s.mandators.iter().map(|m| m.id.clone()).collect::<Vec<_>>(),
            s.users.iter().map(|u| u.len()).sum::<usize>(),
        )
    });
    json!({
        "mandators": mandators,
        "users": users,
        "faults": sim.faults().names(),
        "now": sim.clock().now().to_rfc3339(),
    })
}

fn faults_json(faults: Faults) -> Value {
    json!({ "faults": faults.names() })
}

fn clock_json(sim: &Simulator) -> Value {
    json!({
        "now": sim.clock().now().to_rfc3339(),
        "advanced_seconds": sim.clock().offset_ms() / 1000,
    })
}
