//! finAPI-shaped errors: `ErrorMessage` for everything but 401, `{error, error_description}`
//! for 401. The simulator completes both to the documented shapes ([`crate::sim::conform`]).

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::model::{ApiVersion, Operation};
use crate::sim::dates::{moment, webform_moment};

/// `ErrorDetails.type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorType {
    Business,
    Technical,
}

/// An error a handler or the guard answers with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// 401 with a BadCredentialsError body.
    Unauthenticated {
        error: &'static str,
        description: String,
    },
    /// Any other status with an ErrorMessage body.
    Message {
        status: u16,
        code: &'static str,
        message: String,
        kind: ErrorType,
    },
}

impl ApiError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        ApiError::Message {
            status,
            code,
            message: message.into(),
            kind: ErrorType::Technical,
        }
    }
    pub fn business(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        ApiError::Message {
            status,
            code,
            message: message.into(),
            kind: ErrorType::Business,
        }
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::new(400, "BAD_REQUEST", message)
    }
    pub fn missing_field(field: &str) -> Self {
        ApiError::new(400, "MISSING_FIELD", format!("field `{field}` is required"))
    }
    pub fn illegal_field(message: impl Into<String>) -> Self {
        ApiError::new(400, "ILLEGAL_FIELD_VALUE", message)
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        ApiError::new(403, "UNAUTHORIZED_ACCESS", message)
    }
    pub fn not_found(what: &str) -> Self {
        ApiError::new(404, "UNKNOWN_ENTITY", format!("{what} not found"))
    }
    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::new(422, code, message)
    }
    pub fn invalid_token() -> Self {
        ApiError::Unauthenticated {
            error: "invalid_token",
            description: "Invalid, expired or revoked access token".into(),
        }
    }
    pub fn missing_token() -> Self {
        ApiError::Unauthenticated {
            error: "unauthorized",
            description: "Full authentication is required to access this resource".into(),
        }
    }
    pub fn bad_client_credentials() -> Self {
        ApiError::Unauthenticated {
            error: "invalid_client",
            description: "Bad client credentials".into(),
        }
    }

    /// This error with the status finAPI documents for `op`: a dead-token 401 becomes a 403
    /// ErrorMessage where `op` documents no 401 (revokeToken), a 403 becomes a 401
    /// BadCredentialsError where `op` documents no 403 (checkCategorization), and a 404 a 422
    /// where `op` files unknown entities under 422 (deleteAccessData, connectInterface). The
    /// statuses come from [`Operation::unauthenticated_status`] and friends, which the oracle
    /// reads too; everything else is left as it is.
    pub fn as_documented(self, op: &Operation) -> ApiError {
        match self {
            ApiError::Unauthenticated { description, .. } if op.unauthenticated_status() != 401 => {
                ApiError::new(
                    op.unauthenticated_status(),
                    "UNAUTHORIZED_ACCESS",
                    description,
                )
            }
            ApiError::Message {
                status: 403,
                message,
                ..
            } if op.forbidden_status() == 401 => ApiError::Unauthenticated {
                error: "invalid_token",
                description: message,
            },
            ApiError::Message {
                status: 404,
                code,
                message,
                kind,
            } if op.not_found_status() != 404 => ApiError::Message {
                status: op.not_found_status(),
                code,
                message,
                kind,
            },
            other => other,
        }
    }

    /// This error with another status (a `Message`; others are kept as they are).
    pub fn with_status(mut self, new: u16) -> ApiError {
        if let ApiError::Message { status, .. } = &mut self {
            *status = new;
        }
        self
    }

    /// This error with another code (a `Message`; others are kept as they are).
    pub fn with_code(mut self, new: &'static str) -> ApiError {
        if let ApiError::Message { code, .. } = &mut self {
            *code = new;
        }
        self
    }

    pub fn status(&self) -> u16 {
        match self {
            ApiError::Unauthenticated { .. } => 401,
            ApiError::Message { status, .. } => *status,
        }
    }

    /// The response body for this error.
    pub fn body(&self, ctx: &ErrorContext<'_>) -> Value {
        match self {
            ApiError::Unauthenticated { error, description } => {
                json!({ "error": error, "error_description": description })
            }
            ApiError::Message {
                code,
                message,
                kind,
                ..
            } => {
                let mut body = json!({
                    "errors": [{
                        "message": message,
                        "code": code,
                        "type": match kind { ErrorType::Business => "BUSINESS", ErrorType::Technical => "TECHNICAL" },
                        "multiStepAuthentication": null,
                    }],
                    "date": moment(ctx.version, ctx.now),
                    "requestId": ctx.request_id,
                    "endpoint": ctx.endpoint,
                    // finAPI's `client/user`; a request nobody authenticated has neither.
                    "authContext": ctx.auth_context.unwrap_or(NO_AUTH_CONTEXT),
                    "bank": null,
                });
                if ctx.version == ApiVersion::V2 {
                    // V2 makes `bank` optional and leaves it out when there is none.
                    body.as_object_mut().map(|o| o.remove("bank"));
                }
                body
            }
        }
    }

    /// The body of this error on a Web Form 2.0 path: `ValidationError` for 400 (naming the field
    /// the message names between backticks), else `Error` with Web Form's codes.
    pub fn webform_body(&self, endpoint: &str, now: DateTime<Utc>) -> Value {
        let status = self.status();
        let (code, message) = match self {
            ApiError::Unauthenticated { description, .. } => ("UNAUTHORIZED", description.clone()),
            ApiError::Message { code, message, .. } => (*code, message.clone()),
        };
        if status == 400 {
            let field = message
                .split('`')
                .nth(1)
                .filter(|f| !f.is_empty())
                .unwrap_or("body")
                .to_string();
            return json!({
                "errors": [{ "field": field, "message": message }],
                "endpoint": endpoint,
                "timestamp": webform_moment(now),
            });
        }
        const CODES: [&str; 13] = [
            "UNAUTHORIZED",
            "FORBIDDEN",
            "NOT_FOUND",
            "NOT_ALLOWED",
            "BANK_NOT_SUPPORTED",
            "BANK_NOT_UNIQUE",
            "ENTITY_EXISTS",
            "MANDATOR_MISCONFIGURATION",
            "NOT_SUPPORTED",
            "PAYMENT_NOT_SUPPORTED",
            "INVALID_REDIRECT_URL",
            "LOCKED",
            "INTERNAL_SERVER_ERROR",
        ];
        let code = if CODES.contains(&code) {
            code
        } else {
            match status {
                401 => "UNAUTHORIZED",
                403 => "FORBIDDEN",
                404 => "NOT_FOUND",
                423 => "LOCKED",
                415 => "NOT_SUPPORTED",
                s if s >= 500 => "INTERNAL_SERVER_ERROR",
                _ => "NOT_ALLOWED",
            }
        };
        json!({
            "code": code,
            "description": message,
            "endpoint": endpoint,
            "timestamp": webform_moment(now),
        })
    }
}

/// The `authContext` of an error answering a request without an authenticated caller: the
/// shape requires a string, and there is no client or user to name.
pub const NO_AUTH_CONTEXT: &str = "-/-";

/// What an error body says about the request it answers.
pub struct ErrorContext<'a> {
    pub version: ApiVersion,
    pub now: DateTime<Utc>,
    pub request_id: &'a str,
    pub endpoint: &'a str,
    pub auth_context: Option<&'a str>,
}
