//! The web form's own front pages, outside the API and its guard: the page a user logs in on
//! ([`login`]), the script that embeds it in another site ([`script`]), and the status that
//! script polls ([`status`]).

pub mod login;
pub mod script;
pub mod status;

use chrono::{DateTime, Utc};
use http::Method;
use parking_lot::Mutex;

use crate::sim::message::{Exchange, Reply, SimRequest};
use crate::sim::pages::script::SCRIPT_PATH;
use crate::sim::pages::status::STATUS_SUFFIX;
use crate::sim::state::webforms::PAGE_PREFIX;
use crate::sim::state::State;

const HTML: &str = "text/html; charset=utf-8";
const JAVASCRIPT: &str = "application/javascript; charset=utf-8";

/// A front page, with the web form it is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page<'p> {
    /// `GET` or `POST /webForm/{id}`.
    Login(&'p str),
    /// `GET /finapi-webform2.js`.
    Script,
    /// `GET /webForm/{id}/status.js`.
    Status(&'p str),
}

impl<'p> Page<'p> {
    /// The front page `method` and `path` ask for, if they ask for one.
    pub fn of(method: &Method, path: &'p str) -> Option<Page<'p>> {
        let get = method == Method::GET;
        if get && path == SCRIPT_PATH {
            return Some(Page::Script);
        }
        let id = path.strip_prefix(PAGE_PREFIX)?;
        match id.strip_suffix(STATUS_SUFFIX) {
            Some(id) if get => Some(Page::Status(id)),
            _ if get || method == Method::POST => Some(Page::Login(id)),
            _ => None,
        }
    }

    /// The page's answer, and the callbacks it queued (a form it ended, or one whose lifetime
    /// ran out). The state is locked only for the pages that read it.
    pub fn answer(
        self,
        state: &Mutex<State>,
        req: &SimRequest<'_>,
        method: &Method,
        now: DateTime<Utc>,
    ) -> Exchange<'static> {
        let ((status, content_type, text), callbacks) = match self {
            Page::Login(id) => {
                let mut state = state.lock();
                let (status, html) = login::page(&mut state, method, id, req.body, now);
                ((status, HTML, html), state.webform.take_outbox())
            }
            Page::Script => {
                let (status, js) = script::script(req.query, &base_url(req.headers));
                ((status, JAVASCRIPT, js), Vec::new())
            }
            Page::Status(id) => {
                let mut state = state.lock();
                let (status, js) = status::status(&mut state, id, req.query, now);
                ((status, JAVASCRIPT, js), state.webform.take_outbox())
            }
        };
        Exchange::page(Reply::Text(status, content_type, text), callbacks)
    }
}

use crate::sim::headers::base_url;
