//! finAPI's services and where finAPI serves them. Access (V1 and V2) and Web Form 2.0 are
//! separate services with separate base URLs: finAPI serves Access at `sandbox.finapi.io`
//! (live: `live.finapi.io`) and Web Form 2.0 at `webform-sandbox.finapi.io`
//! (`webform-live.finapi.io`). Which service an operation belongs to is the catalogue's
//! [`Api`] column; this module adds the service of a request path (front pages included),
//! each service's name, and the Web Form host that goes with one of finAPI's Access hosts.
//! The mocks serve both services on one address.

use serde::{Deserialize, Serialize};

use crate::model::catalogue::{Api, ApiVersion, Operation};

/// finAPI's own hosts, as (Access host, Web Form 2.0 host): the sandbox and live.
pub const FINAPI_HOSTS: [(&str, &str); 2] = [
    ("sandbox.finapi.io", "webform-sandbox.finapi.io"),
    ("live.finapi.io", "webform-live.finapi.io"),
];

/// The Web Form host's front pages outside its API: the form's page (and the status its
/// loader polls) under this prefix ...
pub const WEBFORM_PAGE_PREFIX: &str = "/webForm/";
/// ... and finAPI's loader script.
pub const WEBFORM_SCRIPT_PATH: &str = "/finapi-webform2.js";

impl Api {
    /// Both services.
    pub const ALL: [Api; 2] = [Api::Access, Api::WebForm2];

    /// The service's name as finAPI writes it: `Access`, `Web Form 2.0`.
    pub fn title(self) -> &'static str {
        match self {
            Api::Access => "Access",
            Api::WebForm2 => "Web Form 2.0",
        }
    }

    /// The service whose host serves a request path: Web Form 2.0 for its API
    /// ([`Api::of_path`]) and its front pages (the form's page, its status, finAPI's loader
    /// script), Access for everything else. The two hosts' paths do not overlap, so one
    /// address can serve both (the mocks, the proxy).
    pub fn serving(path: &str) -> Api {
        if path.starts_with(WEBFORM_PAGE_PREFIX) || path == WEBFORM_SCRIPT_PATH {
            Api::WebForm2
        } else {
            Api::of_path(path)
        }
    }
}

/// One service of a target as a run addresses it: Access in one API version, or Web Form 2.0
/// (which takes Access V2's tokens).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Service {
    pub api: Api,
    pub version: ApiVersion,
}

impl Service {
    /// Web Form 2.0.
    pub const WEB_FORM_2: Service = Service {
        api: Api::WebForm2,
        version: ApiVersion::V2,
    };

    /// Access in `version`.
    pub fn access(version: ApiVersion) -> Service {
        Service {
            api: Api::Access,
            version,
        }
    }

    /// The service an operation belongs to.
    pub fn of(op: &Operation) -> Service {
        Service {
            api: op.api,
            version: op.version,
        }
    }

    /// `Access V2`, `Web Form 2.0`.
    pub fn name(self) -> String {
        match self.api {
            Api::Access => format!("Access {}", self.version.label()),
            Api::WebForm2 => Api::WebForm2.title().to_string(),
        }
    }
}

impl std::fmt::Display for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name())
    }
}

/// The base URL of finAPI's Web Form 2.0 host that goes with `access_base_url` when that names
/// one of finAPI's own Access hosts ([`FINAPI_HOSTS`]): `https://sandbox.finapi.io` gives
/// `https://webform-sandbox.finapi.io`. The scheme and port are kept; a path, query or user
/// part is not. `None` for any other host.
pub fn finapi_webform_url(access_base_url: &str) -> Option<String> {
    let trimmed = access_base_url.trim();
    let (scheme, rest) = trimmed.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit('@').next().unwrap_or_default();
    let (host, port) = match host_port.rsplit_once(':') {
        Some((h, p)) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => (h, Some(p)),
        _ => (host_port, None),
    };
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let (_, webform) = FINAPI_HOSTS.iter().find(|(access, _)| *access == host)?;
    Some(match port {
        Some(p) => format!("{}://{webform}:{p}", scheme.to_ascii_lowercase()),
        None => format!("{}://{webform}", scheme.to_ascii_lowercase()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finapi_access_hosts_give_their_web_form_hosts_and_no_other_host_does() {
        for (access, webform) in [
            (
                "https://sandbox.finapi.io",
                "https://webform-sandbox.finapi.io",
            ),
            (
                "https://sandbox.finapi.io/",
                "https://webform-sandbox.finapi.io",
            ),
            ("https://LIVE.finapi.io.", "https://webform-live.finapi.io"),
            (
                "https://user:pw@live.finapi.io:443/api?x=1",
                "https://webform-live.finapi.io:443",
            ),
        ] {
            assert_eq!(
                finapi_webform_url(access).as_deref(),
                Some(webform),
                "{access}"
            );
        }
        for other in [
            "https://staging.example.com",
            "http://127.0.0.1:8080",
            "https://notsandbox.finapi.io",
            "https://sandbox.finapi.io.example.com",
            "sandbox.finapi.io",
        ] {
            assert_eq!(finapi_webform_url(other), None, "{other}");
        }
    }

    #[test]
    fn a_path_is_served_by_one_service_front_pages_by_web_form() {
        assert_eq!(Api::serving("/api/webForms/abc"), Api::WebForm2);
        assert_eq!(Api::serving("/api/translations"), Api::WebForm2);
        assert_eq!(Api::serving("/webForm/abc"), Api::WebForm2);
        assert_eq!(Api::serving("/webForm/abc/status.js"), Api::WebForm2);
        assert_eq!(Api::serving("/finapi-webform2.js"), Api::WebForm2);
        assert_eq!(Api::serving("/api/v2/accounts"), Api::Access);
        assert_eq!(Api::serving("/oauth/token"), Api::Access);
        assert_eq!(Api::serving("/api/webFormsX"), Api::Access);
        assert_eq!(Service::access(ApiVersion::V1).name(), "Access V1");
        assert_eq!(Service::WEB_FORM_2.name(), "Web Form 2.0");
    }
}
