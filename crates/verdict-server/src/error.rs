//! The server's error responses: a JSON body `{"error": {"code", "message"}}` whose `code` is stable, so
//! clients branch on it rather than on wording.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use verdict_ledger::LedgerError;

/// An error answered to the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The stable machine-readable code (see the OpenAPI document's `Error` schema).
    pub code: &'static str,
    /// What went wrong and what to do about it.
    pub message: String,
}

impl ApiError {
    /// An error with this status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError { status, code, message: message.into() }
    }

    /// 400 `invalid_request`: the request is well-formed but says something the ledger refuses.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }

    /// 404 `not_found`: what the request names does not exist.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }
}

impl From<LedgerError> for ApiError {
    fn from(error: LedgerError) -> Self {
        match &error {
            LedgerError::Invalid(_) | LedgerError::InvalidLocation { .. } => Self::invalid(error.to_string()),
            LedgerError::NotFound(_) => Self::not_found(error.to_string()),
            LedgerError::AccessDenied(_) => Self::new(StatusCode::FORBIDDEN, "forbidden", error.to_string()),
            LedgerError::Unavailable { .. } | LedgerError::Migration(_) => {
                tracing::error!("{error}");
                Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", error.to_string())
            }
            LedgerError::Corrupt { .. } => {
                tracing::error!("{error}");
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, "corrupt", error.to_string())
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"error": {"code": self.code, "message": self.message}});
        (self.status, Json(body)).into_response()
    }
}
