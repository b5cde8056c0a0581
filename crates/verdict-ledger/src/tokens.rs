//! API tokens for `verdict server`: each is bound to one org with one role. Only the SHA-256 of a token
//! is stored, so a copy of the database does not leak working credentials.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::error::LedgerError;
use crate::model::validate_name;
use crate::sql::{SqlLedger, now_rfc3339};

/// What a token may do. Each role includes the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Read the org's evidence.
    Read,
    /// Read and record evidence: flows, trails, artifacts, attestations, snapshots of what runs (CI's role).
    Write,
    /// Also change what is enforced: environments, policies and their attachments, allow-lists,
    /// recorded decisions and evaluations (a platform or security team's role, never CI's).
    Policy,
    /// Everything in the org. With org `*`, a server administrator: only server-wide operations (verifying
    /// the whole chain), no org's evidence.
    Admin,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Read => "read",
            Role::Write => "write",
            Role::Policy => "policy",
            Role::Admin => "admin",
        })
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "read" => Ok(Role::Read),
            "write" => Ok(Role::Write),
            "policy" => Ok(Role::Policy),
            "admin" => Ok(Role::Admin),
            other => Err(format!("unknown role {other:?}: use read, write, policy or admin")),
        }
    }
}

/// What a presented token grants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenGrant {
    /// The token's id (not secret).
    pub id: String,
    /// The one org it may act on.
    pub org: String,
    /// What it may do there.
    pub role: Role,
}

impl TokenGrant {
    /// Whether this is a server administrator's token (org [`SERVER_ADMIN_ORG`], role admin): the only
    /// one that may run server-wide operations such as verifying every org's entries.
    pub fn is_server_admin(&self) -> bool {
        self.org == SERVER_ADMIN_ORG && self.role == Role::Admin
    }
}

/// The org of server administrators' tokens. It is not a valid org name, so no org's evidence is ever
/// reachable with such a token.
pub const SERVER_ADMIN_ORG: &str = "*";

/// A stored token, as `server token list` shows it (never the secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenInfo {
    /// The token's id: the part of the token after `vdt_` and before the next `_`.
    pub id: String,
    /// Its org.
    pub org: String,
    /// Its role.
    pub role: Role,
    /// Free text given at creation.
    pub description: String,
    /// When it was created (RFC 3339).
    pub created_at: String,
    /// When it was revoked, if it was.
    pub revoked_at: Option<String>,
}

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn random_hex(bytes: usize) -> Result<String, LedgerError> {
    use aws_lc_rs::rand::{SecureRandom, SystemRandom};
    let mut buffer = vec![0u8; bytes];
    SystemRandom::new()
        .fill(&mut buffer)
        .map_err(|_| LedgerError::Invalid("the system random number generator failed".to_owned()))?;
    Ok(hex::encode(buffer))
}

fn info(row: &sqlx::any::AnyRow) -> Result<TokenInfo, LedgerError> {
    let role: String = row.try_get("role")?;
    Ok(TokenInfo {
        id: row.try_get("id")?,
        org: row.try_get("org")?,
        role: role.parse().map_err(LedgerError::Invalid)?,
        description: row.try_get("description")?,
        created_at: row.try_get("created_at")?,
        revoked_at: row.try_get("revoked_at")?,
    })
}

impl SqlLedger {
    /// Creates a token for `org` with `role`; returns its record and the token itself, which is shown
    /// once and never stored.
    pub async fn create_token(
        &self,
        org: &str,
        role: Role,
        description: &str,
    ) -> Result<(TokenInfo, String), LedgerError> {
        if org == SERVER_ADMIN_ORG {
            if role != Role::Admin {
                return Err(LedgerError::Invalid(format!(
                    "org {SERVER_ADMIN_ORG:?} is for server administrators: its tokens have role admin"
                )));
            }
        } else {
            validate_name("org", org).map_err(LedgerError::Invalid)?;
        }
        let id = random_hex(6)?;
        let token = format!("vdt_{id}_{}", random_hex(32)?);
        let created_at = now_rfc3339();
        sqlx::query(
            "INSERT INTO api_tokens (id, org, role, token_hash, description, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&id)
        .bind(org)
        .bind(role.to_string())
        .bind(token_hash(&token))
        .bind(description)
        .bind(&created_at)
        .execute(self.pool())
        .await?;
        let info = TokenInfo {
            id,
            org: org.to_owned(),
            role,
            description: description.to_owned(),
            created_at,
            revoked_at: None,
        };
        Ok((info, token))
    }

    /// What `token` grants, or `None` when it is unknown or revoked.
    pub async fn authenticate(&self, token: &str) -> Result<Option<TokenGrant>, LedgerError> {
        let row =
            sqlx::query("SELECT id, org, role FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL")
                .bind(token_hash(token))
                .fetch_optional(self.pool())
                .await?;
        let Some(row) = row else { return Ok(None) };
        let role: String = row.try_get("role")?;
        Ok(Some(TokenGrant {
            id: row.try_get("id")?,
            org: row.try_get("org")?,
            role: role.parse().map_err(LedgerError::Invalid)?,
        }))
    }

    /// Revokes a token by id; revoking twice is not an error, an unknown id is.
    pub async fn revoke_token(&self, id: &str) -> Result<TokenInfo, LedgerError> {
        sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(now_rfc3339())
            .bind(id)
            .execute(self.pool())
            .await?;
        self.tokens().await?.into_iter().find(|token| token.id == id).ok_or_else(|| {
            LedgerError::NotFound(format!("no token has id {id:?} (see `verdict server token list`)"))
        })
    }

    /// Every token, oldest first.
    pub async fn tokens(&self) -> Result<Vec<TokenInfo>, LedgerError> {
        let rows = sqlx::query(
            "SELECT id, org, role, description, created_at, revoked_at FROM api_tokens ORDER BY created_at, id",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(info).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_order_and_parse() {
        assert!(Role::Read < Role::Write && Role::Write < Role::Policy && Role::Policy < Role::Admin);
        for role in [Role::Read, Role::Write, Role::Policy, Role::Admin] {
            assert_eq!(role.to_string().parse::<Role>(), Ok(role));
        }
        assert!("owner".parse::<Role>().unwrap_err().contains("read, write, policy or admin"));
    }

    #[tokio::test]
    async fn tokens_authenticate_until_revoked() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = SqlLedger::open(&dir.path().join("l.db").display().to_string()).await.unwrap();
        let (info, token) = ledger.create_token("acme", Role::Write, "ci").await.unwrap();
        assert!(token.starts_with(&format!("vdt_{}_", info.id)));
        let grant = ledger.authenticate(&token).await.unwrap().unwrap();
        assert_eq!((grant.org.as_str(), grant.role), ("acme", Role::Write));
        assert_eq!(ledger.authenticate("vdt_nope").await.unwrap(), None);
        let revoked = ledger.revoke_token(&info.id).await.unwrap();
        assert!(revoked.revoked_at.is_some());
        assert_eq!(ledger.authenticate(&token).await.unwrap(), None);
        assert!(matches!(ledger.revoke_token("missing").await, Err(LedgerError::NotFound(_))));
        assert!(ledger.create_token("bad org", Role::Read, "").await.is_err());
        assert!(ledger.create_token("*", Role::Write, "").await.is_err(), "server tokens are admin tokens");
        let (_, server) = ledger.create_token("*", Role::Admin, "ops").await.unwrap();
        assert!(ledger.authenticate(&server).await.unwrap().unwrap().is_server_admin());
        assert!(!grant.is_server_admin());
        // Only the hash is stored: no row holds the token itself, one holds its SHA-256.
        let plain = ledger.execute_raw(&format!("DELETE FROM api_tokens WHERE token_hash = '{token}'")).await;
        assert_eq!(plain.unwrap(), 0);
        let hashed = ledger
            .execute_raw(&format!("DELETE FROM api_tokens WHERE token_hash = '{}'", token_hash(&token)))
            .await;
        assert_eq!(hashed.unwrap(), 1);
    }
}
