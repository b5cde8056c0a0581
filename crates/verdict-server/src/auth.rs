//! Bearer-token authentication. A token is bound to one org and one role; every handler states the org
//! it touches and the role it needs, and [`Caller::allow`] refuses anything else before any work is done.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use verdict_ledger::{Role, TokenGrant};

use crate::error::ApiError;
use crate::state::AppState;

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Caller(pub TokenGrant);

impl Caller {
    /// Allows the request when the token belongs to `org` and has at least `role`.
    pub fn allow(&self, org: &str, role: Role) -> Result<(), ApiError> {
        let grant = &self.0;
        if grant.is_server_admin() {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "wrong_org",
                format!(
                    "a server administrator's token cannot access an org's evidence (org {org:?}): use a token of {org:?}"
                ),
            ));
        }
        if grant.org != org {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "wrong_org",
                format!(
                    "this API token belongs to org {:?} and cannot access org {org:?}: use a token of {org:?} or set --org {}",
                    grant.org, grant.org
                ),
            ));
        }
        if grant.role < role {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "insufficient_role",
                format!("this API token has role {} and this needs role {role}", grant.role),
            ));
        }
        Ok(())
    }
}

fn unauthenticated(code: &'static str, message: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, code, message)
}

impl FromRequestParts<Arc<AppState>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> Result<Self, Self::Rejection> {
        let Some(header) = parts.headers.get(AUTHORIZATION) else {
            return Err(unauthenticated(
                "unauthenticated",
                "no API token: send `Authorization: Bearer TOKEN` (verdict --api-token / VERDICT_API_TOKEN)",
            ));
        };
        let token = header
            .to_str()
            .ok()
            .and_then(|value| value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer ")))
            .map(str::trim)
            .filter(|token| !token.is_empty())
            .ok_or_else(|| {
                unauthenticated("unauthenticated", "the Authorization header must be `Bearer TOKEN`")
            })?;
        match state.ledger.authenticate(token).await? {
            Some(grant) => {
                tracing::Span::current().record("token", grant.id.as_str());
                Ok(Caller(grant))
            }
            None => Err(unauthenticated(
                "invalid_token",
                "the API token is unknown or revoked: create one with `verdict server token create`",
            )),
        }
    }
}
