//! Request bodies, read only after the caller was authorised: JSON decoded with the path of the offending
//! field in the error, and size-limited by the router's body limit, both answered as [`ApiError`]s with
//! stable codes.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A request body not read yet: handlers check the caller's org and role first and only then read it,
/// so a caller without access never makes the server read or parse up to the body limit.
#[derive(Debug)]
pub struct PendingBody(Request);

impl PendingBody {
    /// Reads the body and decodes it as `T`, naming the field at fault.
    pub async fn json<T: DeserializeOwned>(self) -> Result<T, ApiError> {
        decode(&bytes(self.0, &()).await?)
    }

    /// Reads the raw bytes, within the size limit.
    pub async fn bytes(self) -> Result<Bytes, ApiError> {
        bytes(self.0, &()).await
    }
}

impl<S: Send + Sync> FromRequest<S> for PendingBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(PendingBody(request))
    }
}

async fn bytes<S: Send + Sync>(request: Request, state: &S) -> Result<Bytes, ApiError> {
    Bytes::from_request(request, state).await.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "the request body is larger than the server accepts (see `verdict server --max-body-bytes`)",
            )
        } else {
            ApiError::new(rejection.status(), "unreadable_body", rejection.body_text())
        }
    })
}

/// Decodes `bytes` as `T`, naming the field at fault.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        let at = if path == "." { String::new() } else { format!(" at {path}") };
        let code = if inner.is_data() { "invalid_request" } else { "malformed_json" };
        ApiError::new(StatusCode::BAD_REQUEST, code, format!("request body{at}: {inner}"))
    })
}
