//! The two services the proxy fronts, finAPI Access and Web Form 2.0, each at its own upstream
//! and both on the proxy's one address, routed by path with the catalogue's [`Api`]; and
//! whether the Web Form service answers where the proxy sends its calls (the runner's
//! calibration rule, [`calibrate_webform`]).
//!
//! finAPI serves Web Form 2.0 on hosts of its own (`webform-sandbox.finapi.io`,
//! `webform-live.finapi.io`); a mock serves both services on one address. Without
//! `--webform-upstream` the Web Form host is derived from `--upstream`: finAPI's Access hosts
//! map to their Web Form hosts (the model's [`finapi_webform_url`]), any other upstream is
//! taken to serve both.

use crate::model::{finapi_webform_url, Api, Catalogue};
use crate::runner::http::{passthrough_client, Http, TargetUrl, Transport};
use crate::runner::redact::url_for_display;
use crate::runner::services::{calibrate_webform, WebFormCalibration};

/// The Web Form 2.0 address for an Access upstream, and how it was found: finAPI's Web Form
/// host for finAPI's Access hosts ([`finapi_webform_url`]), else the upstream itself (a mock
/// serves both).
fn webform_for(upstream: &str) -> (String, &'static str) {
    match finapi_webform_url(upstream) {
        Some(url) => (url, "derived from --upstream (finAPI's Web Form host)"),
        None => (
            upstream.trim().trim_end_matches('/').to_string(),
            "the upstream itself (a mock serves both; else set --webform-upstream)",
        ),
    }
}

/// Whether the Web Form service answers at its upstream.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Presence {
    /// Not asked yet, or no answer yet: asked again at the next Web Form call.
    #[default]
    Unknown,
    /// Its list call without a token got Web Form 2.0's own answer (the runner's rule).
    Serves,
    /// It does not: why, with the address and the flag to set. Web Form calls pass through
    /// unjudged.
    Absent(String),
}

/// One upstream: its base URL and the pass-through client for it.
pub(crate) struct Upstream {
    pub base: String,
    pub client: reqwest::Client,
}

/// Both upstreams.
pub(crate) struct Upstreams {
    pub access: Upstream,
    pub webform: Upstream,
    /// How the Web Form address was found (given, or derived and how).
    pub webform_source: &'static str,
}

impl Upstreams {
    /// Both upstreams under the transport rules (https except loopback, no redirects followed);
    /// errors are one line.
    pub fn new(
        access: &str,
        webform: Option<&str>,
        transport: &Transport,
        timeout: std::time::Duration,
    ) -> Result<Upstreams, String> {
        let access_url = TargetUrl::parse(access, transport)?;
        let (webform, source) = match webform {
            Some(w) => (w.trim().to_string(), "given (--webform-upstream)"),
            None => webform_for(access),
        };
        let webform_url = TargetUrl::parse(&webform, transport)
            .map_err(|e| format!("the Web Form 2.0 upstream: {e}"))?;
        Ok(Upstreams {
            access: Upstream {
                base: access_url.as_str().to_string(),
                client: passthrough_client(&access_url, transport, timeout)?,
            },
            webform: Upstream {
                base: webform_url.as_str().to_string(),
                client: passthrough_client(&webform_url, transport, timeout)?,
            },
            webform_source: source,
        })
    }

    /// The upstream a request path goes to: the host that serves it ([`Api::serving`]), so
    /// Web Form 2.0's front pages (the form's page, finAPI's loader script) go to the Web Form
    /// host too.
    pub fn for_path(&self, path: &str) -> &Upstream {
        match Api::serving(path) {
            Api::Access => &self.access,
            Api::WebForm2 => &self.webform,
        }
    }

    /// True when both services are at one address.
    pub fn one_address(&self) -> bool {
        self.access.base == self.webform.base
    }

    /// The URL a replay of a call to `path` goes to: relative for Access (the replayer's base),
    /// absolute for Web Form 2.0 on a host of its own.
    pub fn replay_path(&self, path_and_query: &str) -> String {
        let path = path_and_query.split('?').next().unwrap_or("");
        if Api::of_path(path) == Api::WebForm2 && !self.one_address() {
            format!("{}{path_and_query}", self.webform.base)
        } else {
            path_and_query.to_string()
        }
    }
}

/// Ask whether the Web Form service answers at its upstream, by the runner's rule
/// ([`calibrate_webform`]: its list call without a token must get Web Form 2.0's own answer),
/// sent by the proxy's own client (which may go to the Web Form origin). No answer at all:
/// [`Presence::Unknown`], asked again at the next Web Form call.
pub(crate) async fn calibrate(
    upstreams: &Upstreams,
    catalogue: &Catalogue,
    http: &Http,
) -> Presence {
    let shown = url_for_display(&upstreams.webform.base);
    let base = (!upstreams.one_address()).then_some(upstreams.webform.base.as_str());
    match calibrate_webform(http, catalogue, &shown, base, "--webform-upstream").await {
        WebFormCalibration::Answers(_) => Presence::Serves,
        WebFormCalibration::NoAnswer(_) => Presence::Unknown,
        WebFormCalibration::Elsewhere(why) => Presence::Absent(why),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finapi_hosts_map_to_their_web_form_hosts_and_others_serve_both() {
        assert_eq!(
            webform_for("https://sandbox.finapi.io").0,
            "https://webform-sandbox.finapi.io"
        );
        assert_eq!(
            webform_for("https://live.finapi.io/").0,
            "https://webform-live.finapi.io"
        );
        assert_eq!(
            webform_for("http://127.0.0.1:8080/").0,
            "http://127.0.0.1:8080"
        );
        assert_eq!(
            webform_for("https://staging.example.org").0,
            "https://staging.example.org"
        );
    }

    #[test]
    fn routing_follows_the_catalogues_services() {
        let up = Upstreams::new(
            "http://127.0.0.1:1",
            Some("http://127.0.0.1:2"),
            &Transport::default(),
            std::time::Duration::from_secs(1),
        )
        .unwrap();
        assert_eq!(up.for_path("/api/webForms/7").base, "http://127.0.0.1:2");
        assert_eq!(up.for_path("/api/tasks").base, "http://127.0.0.1:2");
        assert_eq!(up.for_path("/api/v2/accounts").base, "http://127.0.0.1:1");
        assert_eq!(up.for_path("/__finapi/clock").base, "http://127.0.0.1:1");
        assert_eq!(up.for_path("/webForm/abc").base, "http://127.0.0.1:2");
        assert_eq!(
            up.for_path("/finapi-webform2.js").base,
            "http://127.0.0.1:2"
        );
        assert_eq!(
            up.replay_path("/api/webForms/7?x=1"),
            "http://127.0.0.1:2/api/webForms/7?x=1"
        );
        assert_eq!(up.replay_path("/api/v2/users"), "/api/v2/users");
        assert!(Upstreams::new(
            "http://127.0.0.1:1",
            Some("http://example.com"),
            &Transport::default(),
            std::time::Duration::from_secs(1)
        )
        .is_err());
    }
}
