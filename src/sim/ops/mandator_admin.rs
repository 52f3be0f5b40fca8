//! Mandator Administration: the user list, bulk user deletion, client secret rotation, the
//! API version switch, and the mandator-wide IBAN and keyword rules.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use serde_json::{json, Value};

use crate::faults::Violation;
use crate::model::ApiVersion;
use crate::sim::error::ApiError;
use crate::sim::form::{single, single_bool, Pair};
use crate::sim::message::{Handled, Reply};
use crate::sim::ops::ctx::{required_str, Caller, Ctx};
use crate::sim::ops::paging::{page_of, page_refs, paging, Paging};
use crate::sim::ops::users;
use crate::sim::state::{MandatorIx, Owner, Record, State};

/// How a deleted user's id appears in the user list: first and last character kept, the rest
/// replaced by `X` (`user` becomes `uXXr`).
pub fn mask_user_id(id: &str) -> String {
    let chars: Vec<char> = id.chars().collect();
    if chars.len() <= 2 {
        return "X".repeat(chars.len());
    }
    let mut out = String::new();
    out.push(chars[0]);
    out.extend(std::iter::repeat_n('X', chars.len() - 2));
    out.push(chars[chars.len() - 1]);
    out
}

fn mandators_in_view(ctx: &Ctx<'_>, state: &State, caller: &Caller) -> Vec<MandatorIx> {
    if ctx.faults.has(Violation::OtherMandatorVisible) {
        (0..state.mandators.len()).collect()
    } else {
        vec![caller.mandator]
    }
}

fn date_filter(query: &[Pair<'_>], key: &str) -> Result<Option<NaiveDate>, ApiError> {
    single(query, key)?
        .map(|v| {
            NaiveDate::parse_from_str(v, "%Y-%m-%d")
                .map_err(|_| ApiError::bad_request(format!("`{key}` must be a date YYYY-MM-DD")))
        })
        .transpose()
}

pub fn user_list(ctx: &Ctx<'_>, state: &mut State, caller: &Caller) -> Handled {
    let query = ctx.query()?;
    let (page, per_page) = paging(query)?;
    let user_id = single(query, "userId")?.map(str::to_lowercase);
    let is_deleted = single_bool(query, "isDeleted")?;
    let is_locked = single_bool(query, "isLocked")?;
    let min_reg = date_filter(query, "minRegistrationDate")?;
    let max_reg = date_filter(query, "maxRegistrationDate")?;
    for key in [
        "minDeletionDate",
        "maxDeletionDate",
        "minLastActiveDate",
        "maxLastActiveDate",
    ] {
        date_filter(query, key)?;
    }
    single_bool(query, "includeMonthlyStats")?;
    let descending = match single(query, "order")? {
        None | Some("userId") | Some("userId,asc") => false,
        Some("userId,desc") => true,
        Some(_) => {
            return Err(ApiError::bad_request(
                "`order` must be userId,asc or userId,desc",
            ))
        }
    };
    let version = ctx.op.version;
    let date = |d: chrono::DateTime<chrono::Utc>| crate::model::shapes::format_ymd(d.date_naive());
    let in_range = |d: chrono::DateTime<chrono::Utc>| {
        let d = d.date_naive();
        min_reg.is_none_or(|m| d >= m) && max_reg.is_none_or(|m| d <= m)
    };
    let mut rows: Vec<(String, UserRow)> = Vec::new();
    for m in mandators_in_view(ctx, state, caller) {
        if is_deleted != Some(true) {
            for (key, u) in &state.users[m] {
                if user_id.as_ref().is_some_and(|id| id != key)
                    || is_locked.is_some_and(|l| l != u.locked)
                    || !in_range(u.registered)
                {
                    continue;
                }
                let connections = state
                    .resources
                    .get(&(Owner::User(m, key.clone()), "bankConnections".to_string()))
                    .map_or(0, |r| r.len());
                rows.push((
                    key.clone(),
                    UserRow::new(
                        version,
                        u.id.clone(),
                        date(u.registered),
                        None,
                        u.last_active.map(date),
                        connections,
                        u.locked,
                    ),
                ));
            }
        }
        if is_deleted != Some(false) && is_locked != Some(true) {
            for d in &state.deleted_users[m] {
                if user_id
                    .as_ref()
                    .is_some_and(|id| *id != d.id.to_lowercase())
                    || !in_range(d.registered)
                {
                    continue;
                }
                let shown = if ctx.faults.has(Violation::DeletedUserIdsUnmasked) {
                    d.id.clone()
                } else {
                    mask_user_id(&d.id)
                };
                rows.push((
                    d.id.to_lowercase(),
                    UserRow::new(
                        version,
                        shown,
                        date(d.registered),
                        Some(date(d.deleted)),
                        None,
                        0,
                        false,
                    ),
                ));
            }
        }
    }
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    if descending {
        rows.reverse();
    }
    let rows: Vec<&UserRow> = rows.iter().map(|(_, v)| v).collect();
    let (users, paging) = page_refs(&rows, page, per_page);
    // Rows are complete (`UserRow`), so the page is serialized as it is.
    #[derive(serde::Serialize)]
    struct Page<'a> {
        paging: Paging,
        users: &'a [&'a UserRow],
    }
    // About 250 bytes a row: one allocation instead of a series of regrowths.
    let mut body = Vec::with_capacity(128 + users.len() * 256);
    serde_json::to_writer(&mut body, &Page { paging, users })
        .map_err(|e| ApiError::new(500, "UNEXPECTED_ERROR", e.to_string()))?;
    Ok(Reply::RawJson(200, body))
}

/// One row of the user list (`UserInfo`), complete in its version's shape: V1 requires every
/// field and shows what is unknown as `null`; V2 has no `null` there and leaves such fields
/// out. `tests/conformance.rs` validates the rows against both versions' `UserInfo`.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct UserRow {
    bank_connection_count: usize,
    #[serde(skip_serializing_if = "Unknown::left_out")]
    deletion_date: Unknown<String>,
    is_locked: bool,
    #[serde(skip_serializing_if = "Unknown::left_out")]
    last_active_date: Unknown<String>,
    #[serde(skip_serializing_if = "Unknown::left_out")]
    latest_bank_connection_deletion_date: Unknown<String>,
    #[serde(skip_serializing_if = "Unknown::left_out")]
    latest_bank_connection_import_date: Unknown<String>,
    #[serde(skip_serializing_if = "Unknown::left_out")]
    monthly_stats: Unknown<[u8; 0]>,
    registration_date: String,
    user_id: String,
}

impl UserRow {
    fn new(
        version: ApiVersion,
        user_id: String,
        registered: String,
        deleted: Option<String>,
        last_active: Option<String>,
        bank_connection_count: usize,
        is_locked: bool,
    ) -> UserRow {
        let v1 = version == ApiVersion::V1;
        UserRow {
            bank_connection_count,
            deletion_date: Unknown(deleted, v1),
            is_locked,
            last_active_date: Unknown(last_active, v1),
            latest_bank_connection_deletion_date: Unknown(None, v1),
            latest_bank_connection_import_date: Unknown(None, v1),
            monthly_stats: Unknown(None, v1),
            registration_date: registered,
            user_id,
        }
    }
}

/// A value the mock may not know, and whether it is shown as `null` then (V1) or left out
/// (V2).
struct Unknown<T>(Option<T>, bool);

impl<T> Unknown<T> {
    fn left_out(&self) -> bool {
        self.0.is_none() && !self.1
    }
}

impl<T: serde::Serialize> serde::Serialize for Unknown<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

pub fn delete_users(ctx: &Ctx<'_>, state: &mut State, caller: &Caller) -> Handled {
    let body = ctx.json_required()?;
    let ids = body
        .get("userIds")
        .and_then(Value::as_array)
        .ok_or_else(|| ApiError::missing_field("userIds"))?;
    let mut deleted = BTreeSet::new();
    for id in ids {
        let id = id
            .as_str()
            .ok_or_else(|| ApiError::illegal_field("`userIds` must hold strings"))?;
        let key = id.to_lowercase();
        let owner = mandators_in_view(ctx, state, caller)
            .into_iter()
            .find(|m| state.users[*m].contains_key(&key));
        // Unknown ids (and other mandators' users) land in neither list.
        if let Some(m) = owner {
            let shown = state.users[m][&key].id.clone();
            users::delete_user(state, m, &key, ctx.now);
            deleted.insert(shown);
        }
    }
    // No simulated internal process ever holds a user, so nothing is left undeleted.
    Ok(Reply::Json(
        200,
        json!({ "deletedUsers": deleted, "nonDeletedUsers": [] }),
    ))
}

pub fn change_client_credentials(ctx: &Ctx<'_>, state: &mut State, caller: &Caller) -> Handled {
    let body = ctx.json_required()?;
    let client_id = required_str(&body, "clientId")?;
    let old = required_str(&body, "oldClientSecret")?;
    let new = required_str(&body, "newClientSecret")?;
    if ctx.op.version == ApiVersion::V2 {
        if client_id.is_empty() || client_id.chars().count() > 45 {
            return Err(ApiError::bad_request("`clientId` has 1 to 45 characters"));
        }
        if old.chars().count() != 36 || new.chars().count() != 36 {
            return Err(ApiError::bad_request(
                "client secrets have exactly 36 characters",
            ));
        }
        if !new.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(ApiError::bad_request(
                "`newClientSecret` may contain only letters, digits and -",
            ));
        }
    } else if new.is_empty() {
        return Err(ApiError::bad_request("`newClientSecret` must not be empty"));
    }
    let unknown = || {
        ApiError::unprocessable(
            "ILLEGAL_FIELD_VALUE",
            "The clientId is unknown or the oldClientSecret is incorrect",
        )
    };
    let client = state
        .clients
        .get_mut(client_id)
        .filter(|c| c.mandator == caller.mandator)
        .ok_or_else(unknown)?;
    if !client.secret_matches(old) && !ctx.faults.has(Violation::WrongOldSecretAccepted) {
        return Err(unknown());
    }
    client.set_secret(new);
    let id = client_id.to_string();
    tracing::debug!(client = %id, "client secret rotated");
    if !ctx.faults.has(Violation::SecretRotationKeepsTokens) {
        let keep = ctx.faults.has(Violation::RevokedTokenAccepted);
        state.revoke_access(keep, |t| t.client == id && t.user.is_none());
    }
    if ctx.faults.has(Violation::SecretRotationRevokesUserTokens) {
        state.revoke_access(false, |t| t.client == id && t.user.is_some());
        state.revoke_refresh(false, |t| t.client == id);
    }
    Ok(Reply::Empty(200))
}

/// Days within which a mandator that moved to V2 may move back to V1.
pub const SWITCH_BACK_DAYS: i64 = 7;

pub fn switch_api_version(ctx: &Ctx<'_>, state: &mut State, caller: &Caller) -> Handled {
    let body = ctx.json_required()?;
    let target = match required_str(&body, "apiVersion")? {
        "V1" => ApiVersion::V1,
        "V2" => ApiVersion::V2,
        _ => return Err(ApiError::bad_request("`apiVersion` must be V1 or V2")),
    };
    let mandator = &mut state.mandators[caller.mandator];
    if mandator.api_version == target {
        return Err(ApiError::unprocessable(
            "ILLEGAL_ENTITY_STATE",
            format!("the mandator already uses API {}", target.label()),
        ));
    }
    if target == ApiVersion::V1 {
        let recent = mandator
            .switched_at
            .is_some_and(|t| ctx.now - t <= chrono::Duration::days(SWITCH_BACK_DAYS));
        if !recent {
            return Err(ApiError::unprocessable(
                "ILLEGAL_ENTITY_STATE",
                format!("switching back to V1 is possible only within {SWITCH_BACK_DAYS} days of the switch to V2"),
            ));
        }
    }
    mandator.api_version = target;
    mandator.switched_at = Some(ctx.now);
    Ok(Reply::Empty(200))
}

/// `ibanRules` or `keywordRules`, from the operation's path.
fn rule_kind(ctx: &Ctx<'_>) -> &'static str {
    if ctx.op.path.contains("ibanRules") {
        "ibanRules"
    } else {
        "keywordRules"
    }
}

pub fn list_rules(ctx: &Ctx<'_>, state: &mut State, caller: &Caller) -> Handled {
    let kind = rule_kind(ctx);
    let query = ctx.query()?;
    let (page, per_page) = paging(query)?;
    let items: Vec<Value> = state
        .resources
        .get(&(Owner::Mandator(caller.mandator), kind.to_string()))
        .map(|r| r.values().map(Record::to_value).collect())
        .unwrap_or_default();
    let (items, paging) = page_of(items, page, per_page);
    Ok(Reply::Json(200, json!({ kind: items, "paging": paging })))
}

pub fn create_rules(ctx: &Ctx<'_>, state: &mut State, caller: &Caller) -> Handled {
    let kind = rule_kind(ctx);
    let body = ctx.json_required()?;
    let rules = body
        .get(kind)
        .and_then(Value::as_array)
        .filter(|r| !r.is_empty())
        .ok_or_else(|| ApiError::missing_field(kind))?;
    if !rules.iter().all(|r| {
        r.as_object()
            .is_some_and(|o| o.contains_key("categoryId") && o.contains_key("direction"))
    }) {
        return Err(ApiError::missing_field("categoryId / direction"));
    }
    let created: Vec<Value> = rules
        .iter()
        .map(|rule| {
            let id = state.insert_resource(
                Owner::Mandator(caller.mandator),
                kind,
                rule_record(ctx, rule),
            );
            state.resources[&(Owner::Mandator(caller.mandator), kind.to_string())][&id].to_value()
        })
        .collect();
    Ok(Reply::Json(ctx.op.success, json!({ kind: created })))
}

/// A rule as finAPI shows it: the category it names (by `categoryId`) as an object, and the
/// moment it was created.
fn rule_record(ctx: &Ctx<'_>, rule: &Value) -> Value {
    let mut record = rule.as_object().cloned().unwrap_or_default();
    if let Some(id) = record.remove("categoryId") {
        let name = format!("Category {id}");
        record.insert(
            "category".into(),
            json!({ "id": id, "name": name, "isCustom": false }),
        );
    }
    record.insert(
        "creationDate".into(),
        Value::from(crate::sim::dates::moment(ctx.op.version, ctx.now)),
    );
    Value::Object(record)
}

pub fn delete_rules(ctx: &Ctx<'_>, state: &mut State, caller: &Caller) -> Handled {
    let kind = rule_kind(ctx);
    let body = ctx.json_required()?;
    let ids = body
        .get("ids")
        .and_then(Value::as_array)
        .filter(|i| !i.is_empty())
        .ok_or_else(|| ApiError::missing_field("ids"))?;
    let store = state.collection_mut((Owner::Mandator(caller.mandator), kind.to_string()));
    let mut removed = Vec::new();
    for id in ids {
        let id = id
            .as_u64()
            .ok_or_else(|| ApiError::illegal_field("`ids` must hold whole numbers"))?;
        if store.remove(&id).is_some() {
            removed.push(id);
        }
    }
    Ok(Reply::Json(200, json!({ "identifiers": removed })))
}

#[cfg(test)]
mod tests {
    use super::mask_user_id;

    #[test]
    fn masking_keeps_the_ends() {
        assert_eq!(mask_user_id("user"), "uXXr");
        assert_eq!(mask_user_id("ab"), "XX");
        assert_eq!(mask_user_id("alice"), "aXXXe");
    }
}
