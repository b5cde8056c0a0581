//! Attestation attachments: file contents stored once per org under their SHA-256.

use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::error::LedgerError;
use crate::sql::{SqlLedger, now_rfc3339};

/// The content address of `content`: lower-case hex SHA-256.
pub fn content_hash(content: &[u8]) -> String {
    hex::encode(Sha256::digest(content))
}

impl SqlLedger {
    /// Stores `content` for `org` (once: storing the same bytes again is a no-op) and returns its hash.
    pub async fn store_attachment(&self, org: &str, content: &[u8]) -> Result<String, LedgerError> {
        let sha256 = content_hash(content);
        let size = i64::try_from(content.len())
            .map_err(|_| LedgerError::Invalid("the attachment is too large".to_owned()))?;
        sqlx::query(
            "INSERT INTO attachments (org, sha256, size, content, stored_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (org, sha256) DO NOTHING",
        )
        .bind(org)
        .bind(&sha256)
        .bind(size)
        .bind(content.to_vec())
        .bind(now_rfc3339())
        .execute(self.pool())
        .await?;
        Ok(sha256)
    }

    /// The content stored for `org` under `sha256`, checked against its hash on the way out.
    pub async fn load_attachment(&self, org: &str, sha256: &str) -> Result<Option<Vec<u8>>, LedgerError> {
        let row = sqlx::query("SELECT content FROM attachments WHERE org = $1 AND sha256 = $2")
            .bind(org)
            .bind(sha256)
            .fetch_optional(self.pool())
            .await?;
        let Some(row) = row else { return Ok(None) };
        let content: Vec<u8> = row.try_get("content")?;
        if content_hash(&content) != sha256 {
            return Err(LedgerError::Corrupt {
                seq: 0,
                message: format!("attachment {sha256} no longer matches its hash"),
            });
        }
        Ok(Some(content))
    }

    /// Whether `org` has an attachment with this hash.
    pub async fn has_attachment(&self, org: &str, sha256: &str) -> Result<bool, LedgerError> {
        let row = sqlx::query("SELECT 1 AS present FROM attachments WHERE org = $1 AND sha256 = $2")
            .bind(org)
            .bind(sha256)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.is_some())
    }
}
