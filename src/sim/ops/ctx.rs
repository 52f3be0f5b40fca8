//! What a handler sees: the routed request ([`Ctx`]) and who is calling ([`Caller`]), with
//! the readers of its query, form and JSON body.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::faults::Faults;
use crate::model::{CallerKind, Catalogue, Operation, Readings};
use crate::sim::error::ApiError;
use crate::sim::form::{parse_form, Pair};
use crate::sim::message::SimRequest;
use crate::sim::profile::Profile;
use crate::sim::state::MandatorIx;

/// Who is calling, after authentication (and after any fault-induced impersonation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub mandator: MandatorIx,
    pub client: String,
    pub kind: CallerKind,
    /// Lower-cased user id for user tokens.
    pub user: Option<String>,
}

/// Everything a handler may read about the request.
pub struct Ctx<'a> {
    pub op: &'a Operation,
    pub params: &'a [(&'a str, String)],
    pub req: &'a SimRequest<'a>,
    pub now: DateTime<Utc>,
    pub faults: &'a Faults,
    pub readings: &'a Readings,
    pub catalogue: &'a Catalogue,
    /// The simulator's profile, when it has one (see [`crate::sim::profile`]).
    pub profile: Option<&'a Profile>,
    /// [`Ctx::oauth_params`], parsed once (the token handler and the journal both read them).
    pub oauth: std::cell::OnceCell<Vec<Pair<'a>>>,
    /// [`Ctx::query`], parsed once (handlers and their filters read it several times).
    pub query: std::cell::OnceCell<Vec<Pair<'a>>>,
}

impl<'a> Ctx<'a> {
    /// A path parameter by its documented name.
    pub fn param(&self, name: &str) -> &str {
        self.params
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }

    /// The query string as pairs; 400 when it is not valid form encoding.
    pub fn query(&self) -> Result<&[Pair<'a>], ApiError> {
        if let Some(pairs) = self.query.get() {
            return Ok(pairs);
        }
        let pairs = parse_form(self.req.query.unwrap_or("").as_bytes())
            .ok_or_else(|| ApiError::bad_request("the query string is not valid URL encoding"))?;
        Ok(self.query.get_or_init(|| pairs))
    }

    /// The form-encoded body as pairs. An empty body is an empty form whatever its
    /// `Content-Type` (clients that put everything in the query often still send one); a
    /// non-empty body must be `application/x-www-form-urlencoded` (parameters such as
    /// `charset=UTF-8` allowed) or come without a `Content-Type`.
    pub fn form(&self) -> Result<Vec<Pair<'a>>, ApiError> {
        if self.req.body.is_empty() {
            return Ok(Vec::new());
        }
        if let Some(media) = self.media_type()? {
            if media.essence != "application/x-www-form-urlencoded" {
                return Err(ApiError::new(
                    415,
                    "UNSUPPORTED_MEDIA_TYPE",
                    "expected application/x-www-form-urlencoded",
                ));
            }
        }
        parse_form(self.req.body)
            .ok_or_else(|| ApiError::bad_request("the body is not valid form encoding"))
    }

    /// The OAuth parameters: the URL query and the form body together, as finAPI takes them
    /// from either place. A parameter given in both places with the same value counts once;
    /// with different values it is given more than once, which [`single`](crate::sim::form::single) refuses.
    pub fn oauth_params(&self) -> Result<&[Pair<'a>], ApiError> {
        if let Some(pairs) = self.oauth.get() {
            return Ok(pairs);
        }
        let mut pairs = self.form()?;
        if self.req.query.is_some_and(|q| !q.is_empty()) {
            let from_body = pairs.len();
            for pair in self.query()? {
                if !pairs[..from_body].contains(pair) {
                    pairs.push(pair.clone());
                }
            }
        }
        Ok(self.oauth.get_or_init(|| pairs))
    }

    /// The request's media type, or `None` without a `Content-Type` header. 415 when the
    /// header cannot be read or names a charset other than UTF-8 (or its ASCII subset).
    pub fn media_type(&self) -> Result<Option<MediaType>, ApiError> {
        let Some(value) = self.req.headers.get(http::header::CONTENT_TYPE) else {
            return Ok(None);
        };
        let unsupported = |message: String| ApiError::new(415, "UNSUPPORTED_MEDIA_TYPE", message);
        let text = value
            .to_str()
            .map_err(|_| unsupported("the Content-Type header is not readable".into()))?;
        let media = MediaType::parse(text);
        if let Some(charset) = &media.charset {
            if !matches!(charset.as_str(), "utf-8" | "utf8" | "us-ascii") {
                return Err(unsupported(
                    "Content-Type: only the charset UTF-8 is supported".into(),
                ));
            }
        }
        Ok(Some(media))
    }

    /// The JSON body as an object; `None` when the body is empty. 400 for anything that is not
    /// a JSON object, 415 for a non-JSON content type (`application/json`, any `+json` type and
    /// a missing `Content-Type` are JSON). Unknown fields are kept; handlers ignore them.
    pub fn json(&self) -> Result<Option<Map<String, Value>>, ApiError> {
        if self.req.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        if let Some(media) = self.media_type()? {
            if !media.is_json() {
                return Err(ApiError::new(
                    415,
                    "UNSUPPORTED_MEDIA_TYPE",
                    "expected application/json",
                ));
            }
        }
        match serde_json::from_slice::<Value>(self.req.body) {
            Ok(Value::Object(map)) => Ok(Some(map)),
            Ok(_) => Err(ApiError::bad_request("the body must be a JSON object")),
            Err(_) => Err(ApiError::bad_request("the body is not valid JSON")),
        }
    }

    /// The JSON body, required to be a non-empty object.
    pub fn json_required(&self) -> Result<Map<String, Value>, ApiError> {
        match self.json()? {
            Some(map) if !map.is_empty() => Ok(map),
            _ => Err(ApiError::new(
                400,
                "MISSING_FIELD",
                "a request body is required",
            )),
        }
    }
}

/// A `Content-Type` value taken apart: `type/subtype` and the `charset` parameter, both
/// lower-cased; other parameters are ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaType {
    pub essence: String,
    pub charset: Option<String>,
}

impl MediaType {
    pub fn parse(value: &str) -> MediaType {
        let mut parts = value.split(';');
        let essence = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let charset = parts.find_map(|p| {
            let (name, value) = p.split_once('=')?;
            name.trim()
                .eq_ignore_ascii_case("charset")
                .then(|| value.trim().trim_matches('"').to_ascii_lowercase())
        });
        MediaType { essence, charset }
    }

    /// `application/json`, `text/json` or any `+json` type.
    pub fn is_json(&self) -> bool {
        let subtype = self.essence.split_once('/').map_or("", |(_, s)| s);
        subtype == "json" || subtype.ends_with("+json")
    }
}

/// An optional string field of a JSON body; 400 when present with another type.
pub fn str_field<'a>(body: &'a Map<String, Value>, key: &str) -> Result<Option<&'a str>, ApiError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(ApiError::illegal_field(format!("`{key}` must be a string"))),
    }
}

/// A required string field.
pub fn required_str<'a>(body: &'a Map<String, Value>, key: &str) -> Result<&'a str, ApiError> {
    str_field(body, key)?.ok_or_else(|| ApiError::missing_field(key))
}
