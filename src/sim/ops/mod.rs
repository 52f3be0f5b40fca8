//! Operation handlers, one file per API area. Each handler runs after the guard and sees the
//! authenticated [`Caller`].
//!
//! To give an operation stateful behaviour, add a handler in the file of its area and a line to
//! [`dispatch`]; every operation without one is served by [`resources`], the generic
//! per-owner store.

pub mod accounts;
pub mod bank_connections;
pub mod banks;
pub mod client_config;
pub mod demo;
pub mod mandator_admin;
pub mod oauth;
pub mod resources;
pub mod transactions;
pub mod users;
pub mod webform;

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::faults::Faults;
use crate::model::{Catalogue, Operation, Readings};
use crate::sim::error::ApiError;
use crate::sim::guard::Caller;
use crate::sim::state::State;
use crate::sim::{Handled, SimRequest};

/// One `name=value` of a query string or form body, borrowed from the request unless it had
/// to be decoded.
pub type Pair<'a> = (Cow<'a, str>, Cow<'a, str>);

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
    pub profile: Option<&'a crate::sim::Profile>,
    /// [`Ctx::oauth_params`], parsed once (the token handler and the journal both read them).
    pub oauth: std::cell::OnceCell<Vec<Pair<'a>>>,
    /// [`Ctx::query`], parsed once (handlers and their filters read it several times).
    pub query: std::cell::OnceCell<Vec<Pair<'a>>>,
}

/// Validate an authorized request ([`crate::sim::validate`]) and route it to its handler.
pub fn dispatch(ctx: &Ctx<'_>, state: &mut State, caller: &Caller) -> Handled {
    crate::sim::validate::check_request(ctx)?;
    if ctx.op.is_webform() {
        return webform::dispatch(ctx, state, caller);
    }
    match ctx.op.id.as_str() {
        "revokeToken" => oauth::revoke(ctx, state, caller),
        "createUser" => users::create(ctx, state, caller),
        "verifyUser" => users::verify(ctx, state, caller),
        "getVerificationStatus" => users::verification_status(ctx, state, caller),
        "deleteUnverifiedUser" => users::delete_unverified(ctx, state, caller),
        "requestPasswordChange" => users::request_password_change(ctx, state, caller),
        "executePasswordChange" => users::execute_password_change(ctx, state, caller),
        "getAuthorizedUser" => users::get_authorized(ctx, state, caller),
        "editAuthorizedUser" => users::edit_authorized(ctx, state, caller),
        "deleteAuthorizedUser" => users::delete_authorized(ctx, state, caller),
        "getClientConfiguration" => client_config::get(ctx, state, caller),
        "editClientConfiguration" => client_config::edit(ctx, state, caller),
        "getUserList" => mandator_admin::user_list(ctx, state, caller),
        "deleteUsers" => mandator_admin::delete_users(ctx, state, caller),
        "changeClientCredentials" => mandator_admin::change_client_credentials(ctx, state, caller),
        "switchApiVersion" => mandator_admin::switch_api_version(ctx, state, caller),
        "getIbanRuleList" | "getKeywordRuleList" => mandator_admin::list_rules(ctx, state, caller),
        "createIbanRules" | "createKeywordRules" => {
            mandator_admin::create_rules(ctx, state, caller)
        }
        "deleteIbanRules" | "deleteKeywordRules" => {
            mandator_admin::delete_rules(ctx, state, caller)
        }
        "getAndSearchAllBanks" => banks::list(ctx, state, caller),
        "getBank" => banks::get(ctx, state, caller),
        "getMultipleBanks" => banks::get_multiple(ctx, state, caller),
        "importBankConnection" => bank_connections::import(ctx, state, caller),
        "updateBankConnection" | "connectInterface" => {
            bank_connections::refresh(ctx, state, caller)
        }
        "removeInterface" => bank_connections::remove_interface(ctx, state, caller),
        "deleteBankConnection" => bank_connections::delete_one(ctx, state, caller),
        "deleteAllBankConnections" => bank_connections::delete_all(ctx, state, caller),
        "getAndSearchAllAccounts" => accounts::list(ctx, state, caller),
        "getDailyBalances" => accounts::daily_balances(ctx, state, caller),
        "deleteAccount" => accounts::delete_one(ctx, state, caller),
        "deleteAllAccounts" => accounts::delete_all(ctx, state, caller),
        "getAndSearchAllTransactions" => transactions::list(ctx, state, caller),
        "getCashFlows" => transactions::cash_flows(ctx, state, caller),
        "submitPayment" | "submitStandingOrder" => transactions::submit(ctx, state, caller),
        _ => resources::generic(ctx, state, caller),
    }
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
    /// with different values it is given more than once, which [`single`] refuses.
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

/// Parse `a=1&b=2`; duplicate keys are kept (callers decide). `None` when the bytes are not
/// UTF-8. Names and values without escapes borrow from `bytes`.
pub fn parse_form(bytes: &[u8]) -> Option<Vec<Pair<'_>>> {
    let text = std::str::from_utf8(bytes).ok()?;
    // One pass over the bytes, noting where each pair's `=` is and whether it has escapes
    // (every token grant and list request parses one; `str::split` was most of a grant).
    let mut pairs = Vec::new();
    let (mut start, mut eq, mut escaped) = (0, None, false);
    for (i, b) in bytes.iter().copied().chain([b'&']).enumerate() {
        match b {
            b'&' => {
                if i > start {
                    let (name, value) = match eq {
                        Some(at) => (&text[start..at], &text[at + 1..i]),
                        None => (&text[start..i], ""),
                    };
                    pairs.push(if escaped {
                        (form_decode(name), form_decode(value))
                    } else {
                        (Cow::Borrowed(name), Cow::Borrowed(value))
                    });
                }
                (start, eq, escaped) = (i + 1, None, false);
            }
            b'=' if eq.is_none() => eq = Some(i),
            b'%' | b'+' => escaped = true,
            _ => {}
        }
    }
    Some(pairs)
}

/// One form-encoded name or value: `+` is a space, `%XX` a byte; escapes that are not UTF-8
/// decode lossily. Borrowed when there is nothing to decode, as nearly always.
fn form_decode(text: &str) -> Cow<'_, str> {
    if !text.bytes().any(|b| matches!(b, b'%' | b'+')) {
        return Cow::Borrowed(text);
    }
    form_urlencoded::parse(format!("v={text}").as_bytes())
        .next()
        .map_or(Cow::Borrowed(""), |(_, v)| Cow::Owned(v.into_owned()))
}

/// The single value of `key`; 400 when it is given more than once.
pub fn single<'a>(pairs: &'a [Pair<'_>], key: &str) -> Result<Option<&'a str>, ApiError> {
    let mut found = pairs.iter().filter(|(k, _)| k == key);
    let first = found.next().map(|(_, v)| v.as_ref());
    if found.next().is_some() {
        return Err(ApiError::bad_request(format!(
            "parameter `{key}` is given more than once"
        )));
    }
    Ok(first)
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

/// `page` and `perPage` from the query (1-based page, perPage 1..=500, default 20).
pub fn paging(query: &[Pair<'_>]) -> Result<(usize, usize), ApiError> {
    let page =
        match single(query, "page")? {
            None => 1,
            Some(v) => v.parse::<usize>().ok().filter(|p| *p >= 1).ok_or_else(|| {
                ApiError::bad_request("`page` must be a whole number of at least 1")
            })?,
        };
    let per_page = match single(query, "perPage")? {
        None => 20,
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|p| (1..=500).contains(p))
            .ok_or_else(|| {
                ApiError::new(
                    400,
                    "ILLEGAL_PAGE_SIZE",
                    "`perPage` must be between 1 and 500",
                )
            })?,
    };
    Ok((page, per_page))
}

/// One page of `items` and the `paging` object that describes it.
pub fn page_of(items: Vec<Value>, page: usize, per_page: usize) -> (Vec<Value>, Paging) {
    let paging = Paging::new(items.len(), page, per_page);
    let slice: Vec<Value> = items
        .into_iter()
        .skip((page - 1).saturating_mul(per_page))
        .take(per_page)
        .collect();
    (slice, paging)
}

/// [`page_of`] for borrowed records: the page is a sub-slice, nothing is copied.
pub fn page_refs<'v, 'a, T>(
    items: &'v [&'a T],
    page: usize,
    per_page: usize,
) -> (&'v [&'a T], Paging) {
    let start = (page - 1).saturating_mul(per_page).min(items.len());
    let end = start.saturating_add(per_page).min(items.len());
    (&items[start..end], Paging::new(items.len(), page, per_page))
}

/// The `paging` object of a list answer. Typed rather than a `Value`: every list answer has
/// one, and building a map for four numbers was a tenth of a small list's time. Fields in
/// alphabetical order, as a `Value` writes its keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Paging {
    page: usize,
    page_count: usize,
    per_page: usize,
    total_count: usize,
}

impl Paging {
    fn new(total: usize, page: usize, per_page: usize) -> Paging {
        Paging {
            page,
            page_count: total.div_ceil(per_page).max(1),
            per_page,
            total_count: total,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_form;

    #[test]
    fn the_plain_fast_path_reads_forms_as_form_urlencoded_does() {
        for input in [
            "",
            "a=1&b=2",
            "a&b=&=c&&d=1=2&",
            "grant_type=password&username=alice&password=p-1.x_y~z",
            "a=%41&b=x+y",
            "a%3Db=c%26d&e=%zz&f=%C3%A9+%FF",
            "a=1&a=2",
        ] {
            let expected: Vec<(String, String)> = form_urlencoded::parse(input.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            let parsed: Option<Vec<(String, String)>> = parse_form(input.as_bytes()).map(|pairs| {
                pairs
                    .into_iter()
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect()
            });
            assert_eq!(parsed, Some(expected), "{input}");
        }
        assert_eq!(parse_form(b"a=\xff"), None);
    }
}
