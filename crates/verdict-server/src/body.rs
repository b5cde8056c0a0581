//! Request bodies: JSON decoded with the path of the offending field in the error, and size-limited by
//! the router's body limit, both answered as [`ApiError`]s with stable codes.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A JSON request body of type `T`.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

/// The raw bytes of a request body, within the size limit.
#[derive(Debug)]
pub struct RawBody(pub Bytes);

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

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = bytes(request, state).await?;
        decode(&bytes).map(JsonBody)
    }
}

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        bytes(request, state).await.map(RawBody)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Sample {
        name: String,
        count: u32,
    }

    #[test]
    fn errors_name_the_field() {
        let error = decode::<Sample>(br#"{"name": "x", "count": "many"}"#).unwrap_err();
        assert_eq!((error.status, error.code), (StatusCode::BAD_REQUEST, "invalid_request"));
        assert!(error.message.contains("at count"), "{}", error.message);
        let error = decode::<Sample>(b"{\"name\": ").unwrap_err();
        assert_eq!(error.code, "malformed_json");
        let error = decode::<Sample>(br#"{"name": "x"}"#).unwrap_err();
        assert!(error.message.contains("missing field `count`"), "{}", error.message);
    }
}
