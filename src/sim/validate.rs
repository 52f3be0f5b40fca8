//! Request validation: the step after authentication and authorization, before the handler.
//!
//! finAPI checks who is calling before it looks at what was sent, so a caller of the wrong kind
//! gets 403 whatever its body looks like, and only an allowed caller learns that a field is
//! missing (`MISSING_FIELD`) or has the wrong type or an unknown enum value
//! (`ILLEGAL_FIELD_VALUE`). The status is the one the operation documents for a bad request:
//! 400 (every operation with a JSON body documents it in both saved specs; one that documented
//! only 422 would get 422, see [`body_problem_status`]). Every message names the field, nested
//! ones as a path (`moneyTransfers[0].amount`). Unknown fields are ignored. Under the
//! `validate-first` profile ([`crate::sim::profile`]) the same check runs before the role.
//!
//! The rules are data: the request body shapes of `fixtures/shapes/` ([`Shapes`]), the same
//! shapes the conformance checks read. They apply to every operation whose shapes describe a
//! JSON body: the stateful handlers' and the generic store's alike (labels, categories,
//! payments, standing orders, notification rules, TPP certificates and credentials, every
//! PATCH edit, ...). Formats, lengths and patterns are not checked here (finAPI's answers to
//! those differ by field); presence, type, `null` and enum values are. The small table below
//! stands in where the shapes do not describe the body (V1 `switchApiVersion` is not in the
//! saved V1 spec). Whoever sends bodies (the runner, the Gherkin steps, the tests) makes valid
//! ones with [`Shapes::request_body`].

use serde_json::{Map, Value};

use crate::model::shapes::OperationShape;
use crate::model::{FieldProblem, ProbeStyle, Problem, Shapes};
use crate::sim::error::ApiError;
use crate::sim::ops::ctx::Ctx;

/// The type a body field must have.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Str,
    /// A string out of a fixed set.
    Enum(&'static [&'static str]),
    /// An array of strings.
    StrArray,
    /// A non-empty array of objects.
    ObjArray,
    /// A non-empty array of integers.
    IntArray,
}

/// (field, required, kind) for the operations whose body the handlers read, used only when the
/// shapes have no entry for the operation.
fn body_rules(op_id: &str) -> Option<&'static [(&'static str, bool, Kind)]> {
    use Kind::*;
    Some(match op_id {
        "createUser" => &[
            ("id", false, Str),
            ("password", false, Str),
            ("email", false, Str),
            ("phone", false, Str),
        ],
        "editAuthorizedUser" => &[("email", false, Str), ("phone", false, Str)],
        "requestPasswordChange" => &[("userId", true, Str)],
        "executePasswordChange" => &[
            ("userId", true, Str),
            ("password", true, Str),
            ("passwordChangeToken", true, Str),
        ],
        "changeClientCredentials" => &[
            ("clientId", true, Str),
            ("oldClientSecret", true, Str),
            ("newClientSecret", true, Str),
        ],
        "switchApiVersion" => &[("apiVersion", true, Enum(&["V1", "V2"]))],
        "deleteUsers" => &[("userIds", true, StrArray)],
        "createIbanRules" => &[("ibanRules", true, ObjArray)],
        "createKeywordRules" => &[("keywordRules", true, ObjArray)],
        "deleteIbanRules" | "deleteKeywordRules" => &[("ids", true, IntArray)],
        _ => return None,
    })
}

/// Validate the request of an authorized caller. `Ok` means the handler may run.
pub fn check_request(ctx: &Ctx<'_>) -> Result<(), ApiError> {
    let op = ctx.op;
    if op.is_token_endpoint() || op.is_revoke() {
        // Form-encoded; the OAuth handlers check their own parameters.
        return Ok(());
    }
    let takes_body = matches!(op.method.as_str(), "POST" | "PUT" | "PATCH");
    if !takes_body {
        return Ok(());
    }
    let shapes = Shapes::embedded(op.version);
    let shape = shapes.operation(&op.id);
    if shape
        .and_then(|s| s.body.as_ref())
        .is_some_and(|b| b.is_form())
    {
        return Ok(());
    }
    // Parses (415 for a non-JSON type, 400 for a non-object) whatever the rules say.
    let body = ctx.json()?;
    if shape.is_some_and(|s| s.body.is_some()) {
        // Every operation whose shapes describe a JSON body: no body is an empty object, so
        // the message then names the first required field.
        let value = Value::Object(body.unwrap_or_default());
        return shapes
            .check_request_body(&op.id, &value)
            .map_err(|p| field_error(&p).with_status(body_problem_status(shape)));
    }
    // Where the shapes say nothing about the body, the table stands in.
    let Some(rules) = body_rules(&op.id) else {
        return Ok(());
    };
    let empty = Map::new();
    let body = body.as_ref().unwrap_or(&empty);
    for (field, required, kind) in rules {
        match body.get(*field) {
            None | Some(Value::Null) if *required => return Err(ApiError::missing_field(field)),
            None | Some(Value::Null) => {}
            Some(v) => check_kind(field, *kind, v)?,
        }
    }
    Ok(())
}

/// `validate-first` ([`crate::sim::profile`]): the request check that runs before the role check. Only the parts
/// that need no state: [`check_request`] (required fields and their
/// types, for the bodies it knows), then for every other operation the catalogue marks as
/// taking required fields (`invalid-body` probes), a missing or empty body.
pub fn check_before_role(ctx: &Ctx<'_>) -> Result<(), ApiError> {
    check_request(ctx)?;
    // Form bodies (revoke) are checked by their handler; JSON bodies here.
    let is_form = ctx
        .req
        .headers
        .get(http::header::CONTENT_TYPE)
        .is_some_and(|v| {
            v.as_bytes()
                .starts_with(b"application/x-www-form-urlencoded")
        });
    if is_form {
        return Ok(());
    }
    if ctx.op.probe == ProbeStyle::InvalidBody {
        // The catalogue's `invalid-body` operations are the ones whose body has required
        // fields: an empty or missing body cannot be valid.
        ctx.json_required()?;
    } else {
        ctx.json()?;
    }
    Ok(())
}

/// The status an operation documents for a malformed body: 400 where it lists 400 (every
/// operation of both saved specs does), else 422 where it lists 422, else 400.
pub fn body_problem_status(shape: Option<&OperationShape>) -> u16 {
    let documents = |status: &str| shape.is_some_and(|s| s.responses.contains_key(status));
    if !documents("400") && documents("422") {
        422
    } else {
        400
    }
}

/// The finAPI error for a body problem: 400 `MISSING_FIELD` for a missing required field (or
/// body), 400 `ILLEGAL_FIELD_VALUE` for a wrong type, a `null` where none is allowed, or an
/// unknown enum value. The message names the field.
pub fn field_error(p: &FieldProblem) -> ApiError {
    if p.field.is_empty() {
        return match p.problem {
            Problem::MissingRequired => {
                ApiError::new(400, "MISSING_FIELD", "a request body is required")
            }
            ref other => ApiError::illegal_field(format!("request body: {other}")),
        };
    }
    match p.problem {
        Problem::MissingRequired => ApiError::missing_field(&p.field),
        ref other => ApiError::illegal_field(format!("field `{}`: {other}", p.field)),
    }
}

fn check_kind(field: &str, kind: Kind, v: &Value) -> Result<(), ApiError> {
    let ok = match kind {
        Kind::Str => v.is_string(),
        Kind::Enum(values) => {
            let Some(s) = v.as_str() else {
                return Err(ApiError::illegal_field(format!(
                    "field `{field}` must be a string"
                )));
            };
            if !values.contains(&s) {
                return Err(ApiError::illegal_field(format!(
                    "field `{field}` must be one of {}",
                    values.join(", ")
                )));
            }
            true
        }
        Kind::StrArray => v.as_array().is_some_and(|a| a.iter().all(Value::is_string)),
        Kind::ObjArray => v
            .as_array()
            .is_some_and(|a| !a.is_empty() && a.iter().all(Value::is_object)),
        Kind::IntArray => v
            .as_array()
            .is_some_and(|a| !a.is_empty() && a.iter().all(|i| i.is_u64() || i.is_i64())),
    };
    if ok {
        return Ok(());
    }
    let expected = match kind {
        Kind::Str | Kind::Enum(_) => "a string",
        Kind::StrArray => "an array of strings",
        Kind::ObjArray => "a non-empty array of objects",
        Kind::IntArray => "a non-empty array of integers",
    };
    Err(ApiError::illegal_field(format!(
        "field `{field}` must be {expected}"
    )))
}
