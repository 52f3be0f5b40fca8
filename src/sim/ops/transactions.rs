//! Transactions: the searchable, paged list with its income, spending and balance totals, and
//! the cash flows per category computed from the same transactions.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::sim::error::ApiError;
use crate::sim::form::{single, Pair};
use crate::sim::message::{Handled, Reply};
use crate::sim::ops::accounts::{date_filter, round2};
use crate::sim::ops::ctx::{Caller, Ctx};
use crate::sim::ops::paging::{page_refs, paging, Paging};
use crate::sim::ops::resources::{collect_refs, id_filter, owner};
use crate::sim::state::{Facts, Record, State};

fn number(query: &[Pair<'_>], key: &str) -> Result<Option<f64>, ApiError> {
    single(query, key)?
        .map(|v| {
            v.parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .ok_or_else(|| ApiError::bad_request(format!("`{key}` must be a number")))
        })
        .transpose()
}

/// The caller's transactions that pass the query's filters: `accountIds`, `ids`,
/// `minBankBookingDate`/`maxBankBookingDate`, `minAmount`/`maxAmount`, `direction`
/// (`all`, `income`, `spending`), `search` (purpose or counterpart), `categoryIds`,
/// `labelIds`, `isNew`.
fn filtered<'s>(
    ctx: &Ctx<'_>,
    state: &'s State,
    caller: &Caller,
) -> Result<Vec<&'s Record>, ApiError> {
    let query = ctx.query()?;
    let accounts = id_filter(query, "accountIds")?;
    let ids = id_filter(query, "ids")?;
    let categories = id_filter(query, "categoryIds")?;
    let labels = id_filter(query, "labelIds")?;
    let min_date = date_filter(query, "minBankBookingDate")?;
    let max_date = date_filter(query, "maxBankBookingDate")?;
    let min_amount = number(query, "minAmount")?;
    let max_amount = number(query, "maxAmount")?;
    let direction = match single(query, "direction")? {
        None | Some("all") => None,
        Some("income") => Some(true),
        Some("spending") => Some(false),
        Some(_) => {
            return Err(ApiError::bad_request(
                "`direction` must be all, income or spending",
            ))
        }
    };
    let is_new = match single(query, "isNew")? {
        None => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(_) => return Err(ApiError::bad_request("`isNew` must be true or false")),
    };
    let search = single(query, "search")?.map(str::to_lowercase);
    let own = owner(ctx, caller);
    Ok(collect_refs(ctx, state, &own, "transactions")
        .into_iter()
        .filter(|t| {
            let Facts { id, day, amount } = t.facts();
            accounts
                .as_ref()
                .is_none_or(|a| a.contains(&t["accountId"].as_u64().unwrap_or(0)))
                && ids.as_ref().is_none_or(|i| i.contains(&id))
                && categories
                    .as_ref()
                    .is_none_or(|c| c.contains(&t["category"]["id"].as_u64().unwrap_or(0)))
                && labels.as_ref().is_none_or(|l| {
                    t["labels"].as_array().is_some_and(|ls| {
                        ls.iter()
                            .any(|x| l.contains(&x["id"].as_u64().unwrap_or(0)))
                    })
                })
                && min_date.is_none_or(|m| day.is_some_and(|d| d >= m))
                && max_date.is_none_or(|m| day.is_some_and(|d| d <= m))
                && min_amount.is_none_or(|m| amount >= m)
                && max_amount.is_none_or(|m| amount <= m)
                && direction.is_none_or(|income| (amount >= 0.0) == income)
                && is_new.is_none_or(|n| t["isNew"].as_bool() == Some(n))
                && search.as_ref().is_none_or(|s| {
                    ["purpose", "counterpartName", "counterpartIban"]
                        .iter()
                        .any(|f| {
                            t[*f]
                                .as_str()
                                .is_some_and(|v| v.to_lowercase().contains(s.as_str()))
                        })
                })
        })
        .collect())
}

/// Income and spending of transactions (spending negative) and their sum.
fn totals(items: &[&Record]) -> (f64, f64) {
    items
        .iter()
        .map(|t| t.facts().amount)
        .fold(
            (0.0, 0.0),
            |(i, s), a| {
                if a >= 0.0 {
                    (i + a, s)
                } else {
                    (i, s + a)
                }
            },
        )
}

/// `GET /transactions`: newest booking first (`order=bankBookingDate,asc` reverses), then
/// paged; `income`, `spending` and `balance` are over every matching transaction.
pub fn list(ctx: &Ctx<'_>, state: &mut State, caller: &Caller) -> Handled {
    let query = ctx.query()?;
    let (page, per_page) = paging(query)?;
    let mut items = filtered(ctx, state, caller)?;
    let ascending = match single(query, "order")? {
        None => false,
        Some(o) => o.ends_with(",asc") || !o.contains(','),
    };
    items.sort_by_key(|t| {
        let f = t.facts();
        (f.day, f.id)
    });
    if !ascending {
        items.reverse();
    }
    let (income, spending) = totals(&items);
    let (items, paging) = page_refs(&items, page, per_page);
    // Stored transactions are complete (completed when stored) and the totals and paging are
    // always set, so the page is serialized straight from the stored records. Keys in
    // alphabetical order, as a `Value` would write them.
    #[derive(serde::Serialize)]
    struct Page<'a> {
        balance: f64,
        income: f64,
        paging: Paging,
        spending: f64,
        transactions: &'a [&'a Record],
    }
    // One allocation instead of a dozen regrowths.
    let mut body = Vec::with_capacity(256 + items.iter().map(|t| t.size_hint() + 1).sum::<usize>());
    serde_json::to_writer(
        &mut body,
        &Page {
            balance: round2(income + spending),
            income: round2(income),
            paging,
            spending: round2(spending),
            transactions: items,
        },
    )
    .map_err(|e| ApiError::new(500, "UNEXPECTED_ERROR", e.to_string()))?;
    Ok(Reply::RawJson(200, body))
}

/// `GET /categories/cashFlows`: income and spending per category of the matching transactions.
pub fn cash_flows(ctx: &Ctx<'_>, state: &mut State, caller: &Caller) -> Handled {
    let items = filtered(ctx, state, caller)?;
    // Category id (0: none) -> (category, income, spending, n income, n spending).
    let mut flows: BTreeMap<u64, (Value, f64, f64, u32, u32)> = BTreeMap::new();
    for t in &items {
        let amount = t["amount"].as_f64().unwrap_or(0.0);
        let cat = t["category"].clone();
        let e = flows
            .entry(cat["id"].as_u64().unwrap_or(0))
            .or_insert((cat, 0.0, 0.0, 0, 0));
        if amount >= 0.0 {
            e.1 += amount;
            e.3 += 1;
        } else {
            e.2 += amount;
            e.4 += 1;
        }
    }
    let rows: Vec<Value> = flows
        .into_values()
        .map(|(cat, income, spending, ni, ns)| {
            let mut row = json!({
                "income": round2(income),
                "spending": round2(spending),
                "balance": round2(income + spending),
                "countIncomeTransactions": ni,
                "countSpendingTransactions": ns,
                "countAllTransactions": ni + ns,
            });
            if cat.is_object() {
                row["category"] = cat;
            }
            row
        })
        .collect();
    let (income, spending) = totals(&items);
    Ok(Reply::Json(
        200,
        json!({
            "cashFlows": rows,
            "totalIncome": round2(income),
            "totalSpending": round2(spending),
            "totalBalance": round2(income + spending),
        }),
    ))
}

/// `POST /payments/submit` and `/standingOrders/submit`: the order named in the body is
/// executed at once by the test bank.
pub fn submit(ctx: &Ctx<'_>, state: &mut State, caller: &Caller) -> Handled {
    let body = ctx.json_required()?;
    let (kind, field, what) = if ctx.op.id == "submitStandingOrder" {
        ("standingOrders", "standingOrderId", "Standing order")
    } else {
        ("payments", "paymentId", "Payment")
    };
    let id = body
        .get(field)
        .ok_or_else(|| ApiError::missing_field(field))?
        .as_u64()
        .ok_or_else(|| ApiError::illegal_field(format!("`{field}` must be a whole number")))?;
    let own = owner(ctx, caller);
    let o = crate::sim::ops::resources::find(ctx, state, &own, kind, id)
        .ok_or_else(|| ApiError::not_found(what))?;
    let at = crate::sim::dates::moment(ctx.op.version, ctx.now);
    let record = state
        .existing_collection_mut(&(o, kind.to_string()))
        .and_then(|r| r.get_mut(&id))
        .expect("found");
    if record["status"] != "OPEN" {
        return Err(ApiError::business(
            422,
            "ILLEGAL_ENTITY_STATE",
            format!("{what} {id} was submitted already"),
        ));
    }
    record["status"] = Value::from("SUCCESSFUL");
    record["bankMessage"] = Value::from("Auftrag ausgeführt");
    if kind == "payments" {
        record["executionDate"] = Value::from(at);
    } else {
        record["requestCompletionDate"] = Value::from(at);
    }
    Ok(Reply::Json(200, record.to_value()))
}
