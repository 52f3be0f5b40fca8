//! Accounts: listing with filters, daily balances computed from the transactions, and deleting
//! an account with its transactions and securities.

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDate};
use serde_json::{json, Value};

use crate::sim::error::ApiError;
use crate::sim::form::{single, Pair};
use crate::sim::message::{Handled, Reply};
use crate::sim::ops::ctx::{Caller, Ctx};
use crate::sim::ops::paging::{page_of, page_refs, paging, Paging};
use crate::sim::ops::resources::{self, collect, collect_refs, id_filter, owner};
use crate::sim::state::{Owner, Record, State};

/// A date of the query (`YYYY-MM-DD`).
pub fn date_filter(query: &[Pair<'_>], key: &str) -> Result<Option<NaiveDate>, ApiError> {
    single(query, key)?
        .map(|v| {
            NaiveDate::parse_from_str(v, "%Y-%m-%d")
                .map_err(|_| ApiError::bad_request(format!("`{key}` must be a date YYYY-MM-DD")))
        })
        .transpose()
}

/// `GET /accounts`: filter by `accountIds`/`ids`, `bankConnectionIds`, `accountTypeIds`,
/// `accountTypes`, `search` (name or IBAN).
pub fn list(ctx: &Ctx<'_>, state: &mut State, caller: &Caller) -> Handled {
    let query = ctx.query()?;
    let (page, per_page) = paging(query)?;
    let ids = match id_filter(query, "ids")? {
        Some(i) => Some(i),
        None => id_filter(query, "accountIds")?,
    };
    let connections = id_filter(query, "bankConnectionIds")?;
    let type_ids = id_filter(query, "accountTypeIds")?;
    let types: Option<Vec<String>> = single(query, "accountTypes")?.map(|t| {
        t.split(',')
            .map(|s| s.trim().to_ascii_lowercase())
            .collect()
    });
    let search = single(query, "search")?.map(str::to_lowercase);
    let own = owner(ctx, caller);
    let items: Vec<&Record> = collect_refs(ctx, state, &own, "accounts")
        .into_iter()
        .filter(|a| {
            let id = a["id"].as_u64().unwrap_or(0);
            ids.as_ref().is_none_or(|i| i.contains(&id))
                && connections
                    .as_ref()
                    .is_none_or(|c| c.contains(&a["bankConnectionId"].as_u64().unwrap_or(0)))
                && type_ids
                    .as_ref()
                    .is_none_or(|t| t.contains(&a["accountTypeId"].as_u64().unwrap_or(0)))
                && types.as_ref().is_none_or(|t| {
                    t.contains(&a["accountType"].as_str().unwrap_or("").to_ascii_lowercase())
                })
                && search.as_ref().is_none_or(|s| {
                    ["accountName", "iban", "accountNumber"].iter().any(|f| {
                        a[*f]
                            .as_str()
                            .is_some_and(|v| v.to_lowercase().contains(s.as_str()))
                    })
                })
        })
        .collect();
    let (items, paging) = page_refs(&items, page, per_page);
    // Stored accounts are complete (completed when stored): serialized straight from them.
    #[derive(serde::Serialize)]
    struct Page<'a> {
        accounts: &'a [&'a Record],
        paging: Paging,
    }
    let mut body = Vec::with_capacity(128 + items.iter().map(|a| a.size_hint() + 1).sum::<usize>());
    serde_json::to_writer(
        &mut body,
        &Page {
            accounts: items,
            paging,
        },
    )
    .map_err(|e| ApiError::new(500, "UNEXPECTED_ERROR", e.to_string()))?;
    Ok(Reply::RawJson(200, body))
}

/// Remove one account and its transactions and securities; drop it from its connection.
pub fn remove(state: &mut State, owner: &Owner, id: u64) -> bool {
    let removed = state
        .existing_collection_mut(&(owner.clone(), "accounts".to_string()))
        .and_then(|r| r.remove(&id));
    let Some(account) = removed else {
        return false;
    };
    for kind in [
        "transactions",
        "pendingTransactions",
        "securities",
        "standingOrders",
    ] {
        if let Some(r) = state.existing_collection_mut(&(owner.clone(), kind.to_string())) {
            r.retain(|_, v| v["accountId"].as_u64() != Some(id));
        }
    }
    if let Some(conn) = account["bankConnectionId"].as_u64().and_then(|c| {
        state
            .existing_collection_mut(&(owner.clone(), "bankConnections".to_string()))?
            .get_mut(&c)
    }) {
        if let Some(ids) = conn["accountIds"].as_array_mut() {
            ids.retain(|a| a.as_u64() != Some(id));
        }
    }
    true
}

/// `DELETE /accounts/{id}`.
pub fn delete_one(ctx: &Ctx<'_>, state: &mut State, caller: &Caller) -> Handled {
    resources::delete_one(ctx, state, caller, ("accounts", "Account", remove))
}

/// `DELETE /accounts`: every account of the caller; answers the removed ids.
pub fn delete_all(ctx: &Ctx<'_>, state: &mut State, caller: &Caller) -> Handled {
    resources::delete_all(ctx, state, caller, "accounts", remove)
}

/// The date part of a stored day or moment (V1 `YYYY-MM-DD HH:..`, V2 `YYYY-MM-DD..`).
pub fn date_of(v: &Value) -> Option<NaiveDate> {
    crate::model::shapes::parse_ymd(v.as_str()?)
}

/// `GET /accounts/dailyBalances`: per day from `endDate` (default today) back to `startDate`
/// (default 30 days earlier), the summed balance of the chosen accounts at the end of the day,
/// and that day's income, spending and transaction ids. Newest day first.
pub fn daily_balances(ctx: &Ctx<'_>, state: &mut State, caller: &Caller) -> Handled {
    let query = ctx.query()?;
    let (page, per_page) = paging(query)?;
    let chosen = id_filter(query, "accountIds")?;
    let today = ctx.now.date_naive();
    let end = date_filter(query, "endDate")?.unwrap_or(today);
    let start = date_filter(query, "startDate")?.unwrap_or(end - Duration::days(30));
    if start > end {
        return Err(ApiError::unprocessable(
            "BAD_REQUEST",
            "`startDate` must not be after `endDate`",
        ));
    }
    let own = owner(ctx, caller);
    let accounts: Vec<Value> = collect(ctx, state, &own, "accounts")
        .into_iter()
        .filter(|a| {
            chosen
                .as_ref()
                .is_none_or(|c| c.contains(&a["id"].as_u64().unwrap_or(0)))
        })
        .collect();
    if let Some(c) = &chosen {
        if let Some(missing) = c
            .iter()
            .find(|id| !accounts.iter().any(|a| a["id"].as_u64() == Some(**id)))
        {
            return Err(ApiError::not_found(&format!("Account {missing}")));
        }
    }
    let ids: Vec<u64> = accounts.iter().filter_map(|a| a["id"].as_u64()).collect();
    let mut balance: f64 = accounts.iter().filter_map(|a| a["balance"].as_f64()).sum();
    // Day -> (income, spending, transaction ids).
    let mut per_day: BTreeMap<NaiveDate, (f64, f64, Vec<u64>)> = BTreeMap::new();
    for t in collect(ctx, state, &own, "transactions") {
        if !ids.contains(&t["accountId"].as_u64().unwrap_or(0)) {
            continue;
        }
        let (Some(d), Some(amount)) = (date_of(&t["bankBookingDate"]), t["amount"].as_f64()) else {
            continue;
        };
        let e = per_day.entry(d).or_default();
        if amount >= 0.0 {
            e.0 += amount;
        } else {
            e.1 += amount;
        }
        e.2.push(t["id"].as_u64().unwrap_or(0));
    }
    // Walk back from today: the balance at the end of a day is today's minus later bookings.
    let mut rows = Vec::new();
    let mut d = today.max(end);
    while d >= start {
        let (income, spending, txs) = per_day.get(&d).cloned().unwrap_or_default();
        if d <= end {
            rows.push(json!({
                "date": crate::sim::dates::day(ctx.op.version, d),
                "balance": round2(balance),
                "income": round2(income),
                "spending": round2(spending),
                "internalAdjustingEntries": 0.0,
                "transactions": txs,
            }));
        }
        balance -= income + spending;
        d -= Duration::days(1);
    }
    let latest = accounts
        .iter()
        .filter_map(|a| a["lastSuccessfulUpdate"].as_str())
        .min()
        .map(str::to_string);
    let (rows, paging) = page_of(rows, page, per_page);
    let mut body = json!({ "dailyBalances": rows, "paging": paging });
    if let Some(l) = latest {
        body["latestCommonBalanceTimestamp"] = Value::from(l);
    }
    Ok(Reply::Json(200, body))
}

pub fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}
