//! Paged lists: `page` and `perPage` as Access reads them, one page of a list, and the
//! `paging` object that describes it.

use serde_json::Value;

use crate::sim::error::ApiError;
use crate::sim::form::{single, Pair};

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
