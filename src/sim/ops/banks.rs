//! Banks: the three read operations on the catalogue of test banks ([`crate::sim::banks`]):
//! search and page, one bank, several banks. They only filter, page and concatenate the
//! catalogue's serialized banks.

use serde_json::json;

use crate::sim::banks::shown;
use crate::sim::error::ApiError;
use crate::sim::form::{single, single_bool};
use crate::sim::message::{Handled, Reply};
use crate::sim::ops::ctx::{Caller, Ctx};
use crate::sim::ops::paging::paging;
use crate::sim::ops::resources::{parse_id, parse_ids};
use crate::sim::state::State;

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
    let test = single_bool(query, "isTestBank")?;
    let supported = single_bool(query, "isSupported")?;
    let location = single(query, "location")?.map(str::to_ascii_uppercase);
    let hits: Vec<&[u8]> = shown(ctx.op.version)
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
    shown(ctx.op.version)
        .iter()
        .find(|(b, _, _)| b.id == id)
        .map(|(_, _, bytes)| Reply::RawJson(200, bytes.clone()))
        .ok_or_else(|| ApiError::not_found("Bank"))
}

/// `GET /banks/{ids}` (V1): the known ones among the ids, in catalogue order.
pub fn get_multiple(ctx: &Ctx<'_>, _state: &mut State, _caller: &Caller) -> Handled {
    let ids = parse_ids(ctx.param("ids"))?;
    let found: Vec<&[u8]> = shown(ctx.op.version)
        .iter()
        .filter(|(b, _, _)| ids.contains(&b.id))
        .map(|(_, _, bytes)| bytes.as_slice())
        .collect();
    let mut out = b"{\"banks\":".to_vec();
    concat(&mut out, &found);
    out.push(b'}');
    Ok(Reply::RawJson(200, out))
}
