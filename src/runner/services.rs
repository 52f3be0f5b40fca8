//! Where the services a run checks are, and whether each answers there: Access at the target's
//! base URL, Web Form 2.0 ([`Service`]) at an address of its own or the same one. This is the
//! one place a request path is put on its service's base URL ([`Services::path`]); a service
//! that is not found gives no verdict: its checks are skipped with the reason, which names the
//! address tried and the flag to set.
//!
//! Web Form 2.0 is looked for ([`webform_address`]):
//! - at `--webform-url URL`, or on the target's own address with `--webform-url same`;
//! - on the in-process mock's own address (the mocks serve both services on one address);
//! - on finAPI's Web Form host for finAPI's Access hosts (`sandbox.finapi.io` ->
//!   `webform-sandbox.finapi.io`, `live.finapi.io` -> `webform-live.finapi.io`);
//! - on a `serve`'s own address: a target that answers `GET /__finapi/health` is a mock;
//!
//! and nowhere else. An address found on a remote target is calibrated ([`locate`], with
//! [`calibrate_webform`], the rule the proxy follows too): a list call without a token must get
//! Web Form 2.0's own answer (its error body, as `model::expect::webform_error_shape` reads it,
//! or a list), as finAPI's Web Form host gives (401); an Access host's 404 is not that answer.

use serde::{Deserialize, Serialize};

use super::http::{Http, HttpRequest, HttpResponse};
use super::redact::url_for_display;
use crate::model::expect::{bad_credentials_shape, webform_error_shape};
use crate::model::{finapi_webform_url, Api, ApiVersion, Catalogue, Service};

/// `--webform-url same`: Web Form 2.0 is served on the target's own address.
pub const SAME_ADDRESS: &str = "same";

/// One service of a run: where it is and whether its checks ran. Every report shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceLine {
    /// `Access V2`, `Web Form 2.0`.
    pub service: String,
    /// True when its checks ran; false when they were skipped ([`ServiceLine::note`] says why).
    pub checked: bool,
    /// Where its requests went, as shown in reports (no credentials, no query string);
    /// `None` when no address is known.
    pub address: Option<String>,
    /// How the address was found, or why the service's checks were skipped.
    pub note: String,
}

impl ServiceLine {
    /// `Access V2 at URL` or `Web Form 2.0 not checked: WHY`.
    pub fn describe(&self) -> String {
        match (&self.address, self.checked) {
            (Some(at), true) => format!("{} at {at}", self.service),
            (None, true) => self.service.clone(),
            (_, false) => format!("{} not checked: {}", self.service, self.note),
        }
    }
}

/// Where Web Form 2.0 is looked for, before anything is asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebFormAddress {
    /// On the target's own address; `how` says why.
    Same { how: String },
    /// At a base URL of its own.
    Url { url: String, how: String },
    /// Nowhere: its checks are skipped, for this reason.
    Unknown { why: String },
}

/// What a run's configuration says about where its target is
/// ([`CheckConfig::addresses`](super::CheckConfig::addresses)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Addresses<'a> {
    /// The target's base URL; `None`: the in-process mock.
    pub base_url: Option<&'a str>,
    /// The API version the run checks (Web Form 2.0 only with V2).
    pub version: ApiVersion,
    /// `--webform-url`: a base URL, or [`SAME_ADDRESS`].
    pub webform_url: Option<&'a str>,
}

/// Where the configuration alone puts Web Form 2.0: `--webform-url`, the in-process mock, or
/// finAPI's Web Form host for one of finAPI's Access hosts. `None` when only the target can
/// tell (a `serve` answers `GET /__finapi/health`; see [`locate`]).
pub fn webform_address(at: Addresses<'_>) -> Option<WebFormAddress> {
    let Some(base) = at.base_url else {
        // The in-process mock serves both; a `--webform-url` meant for the other target of a
        // `diff` does not apply to it.
        return Some(WebFormAddress::Same {
            how: "the in-process mock serves it beside Access".into(),
        });
    };
    match at.webform_url.map(str::trim) {
        Some(SAME_ADDRESS) => Some(WebFormAddress::Same {
            how: "--webform-url same".into(),
        }),
        Some(url) => Some(WebFormAddress::Url {
            url: url.trim_end_matches('/').to_string(),
            how: "--webform-url".into(),
        }),
        None => finapi_webform_url(base).map(|url| WebFormAddress::Url {
            url,
            how: format!(
                "finAPI's Web Form host for {}",
                url_for_display(base.trim_end_matches('/'))
            ),
        }),
    }
}

/// Why Web Form 2.0 is not looked for on `base`: neither finAPI's host nor a mock.
fn no_address(base: &str) -> String {
    format!(
        "no Web Form 2.0 address for {}, which is neither finAPI's Access host \
         (sandbox.finapi.io, live.finapi.io) nor a mock; set --webform-url URL \
         (--webform-url same if it serves Web Form 2.0 on the same address)",
        url_for_display(base)
    )
}

/// Where a run's services are, as the run found them.
#[derive(Debug, Clone)]
pub struct Services {
    /// Web Form 2.0: `Ok(None)` on the Access address, `Ok(Some(base))` at its own base URL,
    /// `Err(why)` not checked.
    webform: Result<Option<String>, String>,
    lines: Vec<ServiceLine>,
}

impl Default for Services {
    /// Both services on one address, nothing said about where: what a test's own session
    /// against a mock assumes.
    fn default() -> Services {
        Services {
            webform: Ok(None),
            lines: Vec::new(),
        }
    }
}

impl Services {
    /// The in-process mock: both services on its own address.
    pub fn in_process(version: ApiVersion) -> Services {
        let mut lines = vec![ServiceLine {
            service: Service::access(version).name(),
            checked: true,
            address: Some("in-process mock".into()),
            note: "the run's target".into(),
        }];
        if version == ApiVersion::V2 {
            lines.push(ServiceLine {
                service: Service::WEB_FORM_2.name(),
                checked: true,
                address: Some("in-process mock".into()),
                note: "the in-process mock serves it beside Access".into(),
            });
        }
        Services {
            webform: Ok(None),
            lines,
        }
    }

    /// What the configuration says without asking the target (the dry run): a `serve` is not
    /// recognised, so a target that is neither finAPI's nor given an address has none.
    pub fn assumed(at: Addresses<'_>) -> Services {
        let Some(base) = at.base_url else {
            return Services::in_process(at.version);
        };
        let address = webform_address(at).unwrap_or_else(|| WebFormAddress::Unknown {
            why: no_address(base),
        });
        Services::of(at.version, base, address, Ok(None))
    }

    /// The services of a remote target whose Web Form 2.0 was looked for at `address`, and
    /// answered there (`Ok`, with what it answered, if it was asked) or not (`Err(why)`).
    fn of(
        version: ApiVersion,
        base: &str,
        address: WebFormAddress,
        answered: Result<Option<String>, String>,
    ) -> Services {
        let shown = url_for_display(base.trim_end_matches('/'));
        let mut lines = vec![ServiceLine {
            service: Service::access(version).name(),
            checked: true,
            address: Some(shown.clone()),
            note: "the run's target (--base-url)".into(),
        }];
        if version == ApiVersion::V1 {
            return Services {
                webform: Ok(None),
                lines,
            };
        }
        let (webform, line) = match (address, answered) {
            (WebFormAddress::Unknown { why }, _) => (Err(why.clone()), (None, why)),
            (WebFormAddress::Same { .. }, Err(why)) | (WebFormAddress::Url { .. }, Err(why)) => {
                (Err(why.clone()), (None, why))
            }
            (WebFormAddress::Same { how }, Ok(asked)) => {
                (Ok(None), (Some(shown), with_answer(how, asked)))
            }
            (WebFormAddress::Url { url, how }, Ok(asked)) => {
                let at = url_for_display(&url);
                (Ok(Some(url)), (Some(at), with_answer(how, asked)))
            }
        };
        lines.push(ServiceLine {
            service: Service::WEB_FORM_2.name(),
            checked: webform.is_ok(),
            address: line.0,
            note: line.1,
        });
        Services { webform, lines }
    }

    /// One line per service of the run, for the reports.
    pub fn lines(&self) -> &[ServiceLine] {
        &self.lines
    }

    /// Whether the run checks `api`.
    pub fn checks(&self, api: Api) -> bool {
        api == Api::Access || self.webform.is_ok()
    }

    /// The request path of `path` (a path of service `api`, query included): an absolute URL
    /// on the service's own base URL, or `path` itself on the target's address; `Err` with the
    /// reason when the run does not check that service.
    pub fn path(&self, api: Api, path: &str) -> Result<String, String> {
        match (api, &self.webform) {
            (Api::Access, _) | (Api::WebForm2, Ok(None)) => Ok(path.to_string()),
            (Api::WebForm2, Ok(Some(base))) => Ok(format!("{base}{path}")),
            (Api::WebForm2, Err(why)) => Err(format!(
                "{} is not checked: {why}",
                Service::WEB_FORM_2.name()
            )),
        }
    }
}

/// What asking the target found: its services, and whether it has `serve`'s control API.
#[derive(Debug, Clone)]
pub struct Located {
    pub services: Services,
    /// `GET /__finapi/health` answered: a `serve` (whose control API can complete the run's
    /// own web form).
    pub control_api: bool,
}

/// Find the services of the target at `at` through `http` (its client): ask `serve`'s health
/// check where the configuration does not name a Web Form address, then calibrate the
/// address found. The in-process mock is not asked.
pub async fn locate(at: Addresses<'_>, http: &Http) -> Located {
    let Some(base) = at.base_url else {
        return Located {
            services: Services::in_process(at.version),
            control_api: false,
        };
    };
    let health = http
        .send(&HttpRequest::new(http::Method::GET, "/__finapi/health"))
        .await;
    let control_api = health.status == 200 && health.json()["status"] == "ok";
    if at.version == ApiVersion::V1 {
        let address = WebFormAddress::Same { how: String::new() };
        return Located {
            services: Services::of(at.version, base, address, Ok(None)),
            control_api,
        };
    }
    let address = webform_address(at).unwrap_or_else(|| {
        if control_api {
            WebFormAddress::Same {
                how: "a `serve` (it answers GET /__finapi/health) serves it beside Access".into(),
            }
        } else {
            WebFormAddress::Unknown {
                why: no_address(base),
            }
        }
    });
    let catalogue = Catalogue::embedded();
    let answered = match &address {
        WebFormAddress::Unknown { .. } => Ok(None),
        WebFormAddress::Same { .. } => {
            webform_answers(http, catalogue, &url_for_display(base), None).await
        }
        WebFormAddress::Url { url, .. } => {
            webform_answers(http, catalogue, &url_for_display(url), Some(url)).await
        }
    };
    Located {
        services: Services::of(at.version, base, address, answered),
        control_api,
    }
}

/// The calibration request of Web Form 2.0: its list of web forms, without a token.
pub fn webform_calibration(catalogue: &Catalogue) -> Option<&crate::model::Operation> {
    catalogue.operations(ApiVersion::V2).find(|o| {
        o.is_webform() && o.method == http::Method::GET && o.path_params().next().is_none()
    })
}

/// `how` an address was found, and what Web Form 2.0 answered there.
fn with_answer(how: String, asked: Option<String>) -> String {
    match asked {
        Some(asked) => format!("{how}; {asked}"),
        None => how,
    }
}

/// Whether Web Form 2.0 answers at `base` (`None`: the target's own address), shown as
/// `shown`. `Ok` says what it answered.
async fn webform_answers(
    http: &Http,
    catalogue: &Catalogue,
    shown: &str,
    base: Option<&str>,
) -> Result<Option<String>, String> {
    match calibrate_webform(http, catalogue, shown, base, "--webform-url").await {
        WebFormCalibration::Answers(asked) => Ok(asked),
        WebFormCalibration::NoAnswer(why) | WebFormCalibration::Elsewhere(why) => Err(why),
    }
}

/// What Web Form 2.0's calibration found at an address ([`calibrate_webform`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebFormCalibration {
    /// Web Form 2.0 answers there: what it answered (`None`: the catalogue has no calibration
    /// request, so nothing was asked).
    Answers(Option<String>),
    /// Nothing answered (no connection): why.
    NoAnswer(String),
    /// Something other than Web Form 2.0 answers there: why, with the flag to set.
    Elsewhere(String),
}

/// The one rule for whether Web Form 2.0 answers at `base` (`None`: `http`'s own address),
/// shown as `shown`, which `check`, `features` and the proxy all follow: its list call without
/// a token (`webform_calibration`), sent up to three times while no answer (or a 5xx)
/// comes, must get Web Form 2.0's own answer (its error body, as finAPI's Web Form host gives
/// with 401, or a list); an Access host's 404 is not that answer. A reason names the address
/// and `flag`, the flag that sets it.
pub async fn calibrate_webform(
    http: &Http,
    catalogue: &Catalogue,
    shown: &str,
    base: Option<&str>,
    flag: &str,
) -> WebFormCalibration {
    let Some(op) = webform_calibration(catalogue) else {
        return WebFormCalibration::Answers(None);
    };
    let path = format!("{}{}", base.unwrap_or_default(), op.path);
    let mut answer = http.send(&HttpRequest::new(op.method.clone(), &path)).await;
    for _ in 0..2 {
        if answer.status != 0 && answer.status < 500 {
            break;
        }
        answer = http.send(&HttpRequest::new(op.method.clone(), &path)).await;
    }
    let asked = format!("{} {} without a token", op.method, op.path);
    let set = format!("set {flag} to Web Form 2.0's base URL");
    if answer.status == 0 {
        let error = answer.error.unwrap_or_else(|| "no answer".into());
        return WebFormCalibration::NoAnswer(format!(
            "Web Form 2.0 did not answer at {shown} ({asked}: {error}); {set}"
        ));
    }
    if is_webform_answer(&answer) {
        return WebFormCalibration::Answers(Some(format!(
            "{asked} got {} from Web Form 2.0",
            answer.status
        )));
    }
    WebFormCalibration::Elsewhere(format!(
        "Web Form 2.0 does not answer at {shown}: {asked} got {}{}, where Web Form 2.0 answers \
         401 with its own error body; {set}",
        answer.status,
        if answer.status >= 500 {
            ""
        } else if crate::model::expect::error_message_shape(&answer.body, None).is_ok() {
            " with an Access ErrorMessage"
        } else {
            " without Web Form 2.0's error body"
        }
    ))
}

/// An answer only Web Form 2.0 gives to its list call: its own error body (any code: a target
/// with a broken boundary still answers as Web Form 2.0), or a list of items.
fn is_webform_answer(answer: &HttpResponse) -> bool {
    if webform_error_shape(&answer.body, None).is_ok() {
        return true;
    }
    answer.is_success() && answer.json().get("items").is_some_and(|i| i.is_array())
}

/// Whether the target serves Access in `version` at its address: a read of that version
/// without a token gets Access's answer (401 with `{error, error_description}`, or any answer
/// but 404), not a 404. `Err` says what came instead.
pub async fn access_served(
    http: &Http,
    catalogue: &Catalogue,
    version: ApiVersion,
) -> Result<(), String> {
    let Some(op) = catalogue.get(version, "getAndSearchAllBanks") else {
        return Ok(());
    };
    let answer = http
        .send(&HttpRequest::new(op.method.clone(), op.path.clone()))
        .await;
    let asked = format!("{} {} without a token", op.method, op.path);
    let name = Service::access(version).name();
    match answer.status {
        0 => Err(format!(
            "{name} did not answer ({asked}: {})",
            answer.error.unwrap_or_else(|| "no answer".into())
        )),
        404 if bad_credentials_shape(&answer.body).is_err() => Err(format!(
            "the target does not serve {name} at {}: {asked} got 404, where {name} answers 401",
            url_for_display(http.base())
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn remote<'a>(url: &'a str, webform: Option<&'a str>) -> Addresses<'a> {
        Addresses {
            base_url: Some(url),
            version: ApiVersion::V2,
            webform_url: webform,
        }
    }

    #[test]
    fn the_web_form_address_comes_from_the_flag_finapis_host_or_the_mock() {
        let given = webform_address(remote("https://x.example", Some("https://wf.example/")));
        assert!(
            matches!(&given, Some(WebFormAddress::Url { url, .. }) if url == "https://wf.example"),
            "{given:?}"
        );
        let same = webform_address(remote("https://x.example", Some("same")));
        assert!(
            matches!(same, Some(WebFormAddress::Same { .. })),
            "{same:?}"
        );
        let derived = webform_address(remote("https://sandbox.finapi.io", None));
        assert!(
            matches!(&derived, Some(WebFormAddress::Url { url, .. }) if url == "https://webform-sandbox.finapi.io"),
            "{derived:?}"
        );
        assert_eq!(webform_address(remote("https://x.example", None)), None);
        let mock = Addresses {
            base_url: None,
            ..remote("", Some("https://wf.example"))
        };
        assert!(matches!(
            webform_address(mock),
            Some(WebFormAddress::Same { .. })
        ));
    }

    #[test]
    fn a_service_not_found_skips_its_paths_with_the_reason_and_the_flag() {
        let services = Services::assumed(remote("https://x.example", None));
        assert_eq!(
            services.path(Api::Access, "/api/v2/users"),
            Ok("/api/v2/users".to_string())
        );
        let why = services.path(Api::WebForm2, "/api/webForms").unwrap_err();
        assert!(
            why.contains("--webform-url") && why.contains("https://x.example"),
            "{why}"
        );
        assert!(!services.checks(Api::WebForm2));
        let line = &services.lines()[1];
        assert!(!line.checked && line.address.is_none(), "{line:?}");

        let given = Services::assumed(remote("https://x.example", Some("https://wf.example")));
        assert_eq!(
            given.path(Api::WebForm2, "/api/webForms"),
            Ok("https://wf.example/api/webForms".to_string())
        );
        assert_eq!(
            given.lines()[1].describe(),
            "Web Form 2.0 at https://wf.example"
        );
    }
}
