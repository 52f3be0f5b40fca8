//! Banks: the mock's catalogue of finAPI test banks, the same for every client and user, and the
//! three read operations on it (search and page, one bank, several banks).
//!
//! The catalogue is built once per API version and kept serialized, because the bank list is
//! one of the hot paths of a realistic load: a request only filters, pages and concatenates.

use std::sync::OnceLock;

use serde_json::{json, Value};

use crate::model::ApiVersion;
use crate::sim::error::ApiError;
use crate::sim::form::single;
use crate::sim::message::{Handled, Reply};
use crate::sim::ops::ctx::{Caller, Ctx};
use crate::sim::ops::paging::paging;
use crate::sim::ops::resources::{parse_id, parse_ids};
use crate::sim::state::State;

/// One test bank of the catalogue.
#[derive(Debug, Clone, Copy)]
pub struct TestBank {
    pub id: u64,
    pub name: &'static str,
    pub blz: &'static str,
    pub bic: &'static str,
    pub city: &'static str,
    /// The access interfaces the bank offers.
    pub interfaces: &'static [&'static str],
    /// `REDIRECT_APPROACH`, `DECOUPLED_APPROACH`, ... of its XS2A interface.
    pub properties: &'static [&'static str],
    pub popularity: u32,
    pub login_hint: &'static str,
}

/// finAPI's test banks as the mock offers them. Any login works; the PIN is not checked.
pub const TEST_BANKS: &[TestBank] = &[
    TestBank {
        id: 280001,
        name: "finAPI Test Bank",
        blz: "00000000",
        bic: "TESTDEM1XXX",
        city: "München",
        interfaces: &["FINTS_SERVER", "WEB_SCRAPER", "XS2A"],
        properties: &[],
        popularity: 90,
        login_hint: "Any user id and the PIN 123456 log in.",
    },
    TestBank {
        id: 280002,
        name: "finAPI Test Redirect Bank",
        blz: "00000001",
        bic: "TESTDEM2XXX",
        city: "München",
        interfaces: &["XS2A"],
        properties: &["REDIRECT_APPROACH"],
        popularity: 70,
        login_hint: "The login is confirmed on the bank's own page.",
    },
    TestBank {
        id: 280003,
        name: "finAPI Test Decoupled Bank",
        blz: "00000002",
        bic: "TESTDEM3XXX",
        city: "München",
        interfaces: &["XS2A"],
        properties: &["DECOUPLED_APPROACH"],
        popularity: 60,
        login_hint: "The login is confirmed in the bank's app.",
    },
    TestBank {
        id: 280004,
        name: "finAPI Test Embedded Bank",
        blz: "00000003",
        bic: "TESTDEM4XXX",
        city: "München",
        interfaces: &["XS2A"],
        properties: &["DETAILED_CONSENT"],
        popularity: 50,
        login_hint: "Any user id and PIN; the TAN is 123456.",
    },
    TestBank {
        id: 280005,
        name: "finAPI Test Savings Bank",
        blz: "00000004",
        bic: "TESTDEM5XXX",
        city: "Berlin",
        interfaces: &["FINTS_SERVER"],
        properties: &[],
        popularity: 40,
        login_hint: "Any user id and the PIN 123456 log in.",
    },
    TestBank {
        id: 280006,
        name: "finAPI Test Web Scraper Bank",
        blz: "00000005",
        bic: "TESTDEM6XXX",
        city: "Hamburg",
        interfaces: &["WEB_SCRAPER"],
        properties: &[],
        popularity: 30,
        login_hint: "Any user id and the PIN 123456 log in.",
    },
];

/// The test bank with `id`.
pub fn test_bank(id: u64) -> Option<&'static TestBank> {
    TEST_BANKS.iter().find(|b| b.id == id)
}

/// When the catalogue last talked to its banks: a fixed moment, so bodies are stable.
const LAST_CONTACT: &str = "2026-01-05T08:30:00";

fn timestamp(version: ApiVersion) -> String {
    let t = chrono::NaiveDateTime::parse_from_str(LAST_CONTACT, "%Y-%m-%dT%H:%M:%S")
        .expect("constant timestamp")
        .and_utc();
    crate::sim::error::format_date(version, t)
}

/// A bank as the API shows it (before the shapes fill what the mock has no opinion on).
pub fn bank_json(bank: &TestBank, version: ApiVersion) -> Value {
    let at = timestamp(version);
    let interfaces: Vec<Value> = bank
        .interfaces
        .iter()
        .map(|i| {
            let xs2a = *i == "XS2A";
            let credentials = if bank.properties.contains(&"REDIRECT_APPROACH") {
                vec![json!({ "label": "Onlinebanking-ID", "isSecret": false, "isVolatile": false })]
            } else {
                vec![
                    json!({ "label": "Onlinebanking-ID", "isSecret": false, "isVolatile": false }),
                    json!({ "label": "PIN", "isSecret": true, "isVolatile": false }),
                ]
            };
            json!({
                crate::sim::ops::demo::interface_key(version): i,
                "tppAuthenticationGroup": null,
                "loginCredentials": credentials,
                "properties": if xs2a { bank.properties.to_vec() } else { Vec::new() },
                "loginHint": bank.login_hint,
                "health": 100,
                "lastCommunicationAttempt": at,
                "lastSuccessfulCommunication": at,
                "isMoneyTransferSupported": true,
                "isAisSupported": true,
                "paymentCapabilities": {
                    "sepaMoneyTransfer": true,
                    "sepaInstantMoneyTransfer": xs2a,
                    "sepaCollectiveMoneyTransfer": true,
                    "sepaFutureDatedMoneyTransfer": true,
                    "sepaStandingOrder": true,
                },
                "aisAccountTypes": ["Checking", "Savings", "CreditCard", "Security"],
            })
        })
        .collect();
    let sources: Vec<&str> = bank
        .interfaces
        .iter()
        .copied()
        .filter(|i| *i != "XS2A")
        .collect();
    let pin_field = (!bank.properties.contains(&"REDIRECT_APPROACH")).then_some("PIN");
    json!({
        "id": bank.id,
        "name": bank.name,
        "loginHint": bank.login_hint,
        "bic": bank.bic,
        "blzs": [bank.blz],
        "blz": bank.blz,
        "location": "DE",
        "city": bank.city,
        "isSupported": true,
        "isTestBank": true,
        "popularity": bank.popularity,
        "health": 100,
        "loginFieldUserId": "Onlinebanking-ID",
        "loginFieldCustomerId": null,
        "loginFieldPin": pin_field,
        "pinsAreVolatile": false,
        "isCustomerIdPassword": false,
        "supportedDataSources": sources,
        "interfaces": interfaces,
        "bankGroup": null,
        "lastCommunicationAttempt": at,
        "lastSuccessfulCommunication": at,
        "isBeta": false,
    })
}

/// The catalogue of one version, each bank conformed to the version's Bank shape and serialized.
struct Catalogue {
    banks: Vec<(&'static TestBank, Value, Vec<u8>)>,
}

fn catalogue(version: ApiVersion) -> &'static Catalogue {
    static V1: OnceLock<Catalogue> = OnceLock::new();
    static V2: OnceLock<Catalogue> = OnceLock::new();
    let cell = match version {
        ApiVersion::V1 => &V1,
        ApiVersion::V2 => &V2,
    };
    cell.get_or_init(|| Catalogue {
        banks: TEST_BANKS
            .iter()
            .map(|b| {
                let value = crate::sim::conform::model(version, "Bank", bank_json(b, version));
                let bytes = serde_json::to_vec(&value).unwrap_or_default();
                (b, value, bytes)
            })
            .collect(),
    })
}

/// A bank as the API shows it, complete.
pub fn bank(version: ApiVersion, id: u64) -> Option<Value> {
    catalogue(version)
        .banks
        .iter()
        .find(|(b, _, _)| b.id == id)
        .map(|(_, v, _)| v.clone())
}

fn concat(out: &mut Vec<u8>, items: &[&[u8]]) {
    out.push(b'[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(item);
    }
    out.push(b']');
}

/// `GET /banks`: filter by `ids`, `search` (name, BLZ or BIC), `isTestBank`, `isSupported`,
/// `location`; then page.
pub fn list(ctx: &Ctx<'_>, _state: &mut State, _caller: &Caller) -> Handled {
    let query = ctx.query()?;
    let (page, per_page) = paging(query)?;
    // `ids` may be repeated (`ids=1&ids=2`) or comma-separated.
    let raw_ids: Vec<&str> = query
        .iter()
        .filter(|(k, _)| k == "ids")
        .map(|(_, v)| v.as_ref())
        .collect();
    let ids = if raw_ids.is_empty() {
        None
    } else {
        let parsed: Vec<Vec<u64>> = raw_ids
            .into_iter()
            .map(parse_ids)
            .collect::<Result<_, _>>()?;
        Some(parsed.concat())
    };
    let search = single(query, "search")?.map(str::to_lowercase);
    let flag = |key: &str| -> Result<Option<bool>, ApiError> {
        match single(query, key)? {
            None => Ok(None),
            Some("true") => Ok(Some(true)),
            Some("false") => Ok(Some(false)),
            Some(_) => Err(ApiError::bad_request(format!(
                "`{key}` must be true or false"
            ))),
        }
    };
    let test = flag("isTestBank")?;
    let supported = flag("isSupported")?;
    let location = single(query, "location")?.map(str::to_ascii_uppercase);
    let cat = catalogue(ctx.op.version);
    let hits: Vec<&[u8]> = cat
        .banks
        .iter()
        .filter(|(b, _, _)| {
            ids.as_ref().is_none_or(|ids| ids.contains(&b.id))
                && search.as_ref().is_none_or(|s| {
                    b.name.to_lowercase().contains(s.as_str())
                        || b.blz.contains(s.as_str())
                        || b.bic.to_lowercase().contains(s.as_str())
                })
                && test.is_none_or(|t| t)
                && supported.is_none_or(|s| s)
                && location
                    .as_deref()
                    .is_none_or(|l| l.split(',').any(|l| l.trim() == "DE"))
        })
        .map(|(_, _, bytes)| bytes.as_slice())
        .collect();
    let total = hits.len();
    let page_count = total.div_ceil(per_page).max(1);
    let shown: Vec<&[u8]> = hits
        .into_iter()
        .skip((page - 1).saturating_mul(per_page))
        .take(per_page)
        .collect();
    let mut out = Vec::with_capacity(64 + shown.iter().map(|b| b.len() + 1).sum::<usize>());
    out.extend_from_slice(b"{\"banks\":");
    concat(&mut out, &shown);
    let paging =
        json!({ "page": page, "perPage": per_page, "pageCount": page_count, "totalCount": total });
    out.extend_from_slice(b",\"paging\":");
    out.extend_from_slice(&serde_json::to_vec(&paging).unwrap_or_default());
    out.push(b'}');
    Ok(Reply::RawJson(200, out))
}

/// `GET /banks/{id}`.
pub fn get(ctx: &Ctx<'_>, _state: &mut State, _caller: &Caller) -> Handled {
    let id = parse_id(ctx.param("id"))?;
    catalogue(ctx.op.version)
        .banks
        .iter()
        .find(|(b, _, _)| b.id == id)
        .map(|(_, _, bytes)| Reply::RawJson(200, bytes.clone()))
        .ok_or_else(|| ApiError::not_found("Bank"))
}

/// `GET /banks/{ids}` (V1): the known ones among the ids, in catalogue order.
pub fn get_multiple(ctx: &Ctx<'_>, _state: &mut State, _caller: &Caller) -> Handled {
    let ids = parse_ids(ctx.param("ids"))?;
    let found: Vec<&[u8]> = catalogue(ctx.op.version)
        .banks
        .iter()
        .filter(|(b, _, _)| ids.contains(&b.id))
        .map(|(_, _, bytes)| bytes.as_slice())
        .collect();
    let mut out = b"{\"banks\":".to_vec();
    concat(&mut out, &found);
    out.push(b'}');
    Ok(Reply::RawJson(200, out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_banks_have_unique_ids_and_codes() {
        let mut ids: Vec<u64> = TEST_BANKS.iter().map(|b| b.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), TEST_BANKS.len());
        let mut blzs: Vec<&str> = TEST_BANKS.iter().map(|b| b.blz).collect();
        blzs.sort_unstable();
        blzs.dedup();
        assert_eq!(blzs.len(), TEST_BANKS.len());
        assert!(TEST_BANKS.iter().all(|b| b.bic.len() == 11));
    }
}
