//! `CredentialStore` on SQL: the TOTP credential (secret encrypted by the caller) and recovery codes.

use async_trait::async_trait;
use keygate_core::Timestamp;
use keygate_core::digest::TokenDigest;
use keygate_core::error::StoreResult;
use keygate_core::ids::UserId;
use keygate_core::model::{AuditEvent, EncryptedBlob, TotpCredential};
use keygate_core::store::CredentialStore;
use sqlx::{AssertSqlSafe, Row};

use super::SqlStore;
use super::bounded::Bounded;
use super::error::db_err;
use super::rows::{RowExt, opt_ms};
use super::tx::{commit, insert_audit};

#[async_trait]
impl CredentialStore for SqlStore {
    async fn get_totp(&self, user: UserId) -> StoreResult<Option<TotpCredential>> {
        let row = sqlx::query(
            "SELECT user_id, secret, enabled_at, last_used_step, created_at FROM totp_credentials WHERE user_id = $1",
        )
        .bind(user.to_string())
        .fetch_optional(&self.pool)
        .bounded()
        .await
        .map_err(db_err)?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(TotpCredential {
            user_id: UserId(row.uuid("user_id")?),
            secret: EncryptedBlob(row.bytes("secret")?),
            enabled_at: row.opt_ts("enabled_at")?,
            last_used_step: row.opt_int("last_used_step")?,
            created_at: row.ts("created_at")?,
        }))
    }

    async fn put_totp(&self, cred: &TotpCredential, audit: &[AuditEvent]) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO totp_credentials (user_id, secret, enabled_at, last_used_step, created_at) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, enabled_at = excluded.enabled_at, \
             last_used_step = excluded.last_used_step, created_at = excluded.created_at",
        )
        .bind(cred.user_id.to_string())
        .bind(cred.secret.0.clone())
        .bind(opt_ms(cred.enabled_at))
        .bind(cred.last_used_step)
        .bind(cred.created_at.as_millis())
        .execute(&mut *tx)
        .bounded()
        .await
        .map_err(db_err)?;
        insert_audit(&mut tx, audit).await?;
        commit(tx).await
    }

    async fn delete_totp(&self, user: UserId, audit: &[AuditEvent]) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        let done = sqlx::query("DELETE FROM totp_credentials WHERE user_id = $1")
            .bind(user.to_string())
            .execute(&mut *tx)
            .bounded()
            .await
            .map_err(db_err)?;
        sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
            .bind(user.to_string())
            .execute(&mut *tx)
            .bounded()
            .await
            .map_err(db_err)?;
        let existed = done.rows_affected() > 0;
        if existed {
            insert_audit(&mut tx, audit).await?;
        }
        commit(tx).await?;
        Ok(existed)
    }

    async fn use_totp_step(&self, user: UserId, step: i64) -> StoreResult<bool> {
        // One conditional UPDATE: of two concurrent uses of one step, only one moves it forward.
        let done = sqlx::query(
            "UPDATE totp_credentials SET last_used_step = $2 \
             WHERE user_id = $1 AND (last_used_step IS NULL OR last_used_step < $2)",
        )
        .bind(user.to_string())
        .bind(step)
        .execute(&self.pool)
        .bounded()
        .await
        .map_err(db_err)?;
        Ok(done.rows_affected() > 0)
    }

    async fn replace_recovery_codes(
        &self,
        user: UserId,
        digests: &[TokenDigest],
        now: Timestamp,
        audit: &[AuditEvent],
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
            .bind(user.to_string())
            .execute(&mut *tx)
            .bounded()
            .await
            .map_err(db_err)?;
        // One multi-row INSERT: $1 is the user, $2 the time, then one digest per row.
        let mut unique: Vec<&TokenDigest> = Vec::with_capacity(digests.len());
        for d in digests {
            if !unique.contains(&d) {
                unique.push(d);
            }
        }
        for chunk in unique.chunks(500) {
            let values: Vec<String> = (0..chunk.len()).map(|i| format!("($1, ${}, $2)", i + 3)).collect();
            let sql = format!(
                "INSERT INTO recovery_codes (user_id, digest, created_at) VALUES {}",
                values.join(", ")
            );
            let mut q = sqlx::query(AssertSqlSafe(sql))
                .bind(user.to_string())
                .bind(now.as_millis());
            for d in chunk {
                q = q.bind(d.as_bytes().to_vec());
            }
            q.execute(&mut *tx).bounded().await.map_err(db_err)?;
        }
        insert_audit(&mut tx, audit).await?;
        commit(tx).await
    }

    async fn use_recovery_code(&self, user: UserId, digest: &TokenDigest, now: Timestamp) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE recovery_codes SET used_at = $3 WHERE user_id = $1 AND digest = $2 AND used_at IS NULL",
        )
        .bind(user.to_string())
        .bind(digest.as_bytes().to_vec())
        .bind(now.as_millis())
        .execute(&self.pool)
        .bounded()
        .await
        .map_err(db_err)?;
        Ok(done.rows_affected() > 0)
    }

    async fn count_unused_recovery_codes(&self, user: UserId) -> StoreResult<u32> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL")
            .bind(user.to_string())
            .fetch_one(&self.pool)
            .bounded()
            .await
            .map_err(db_err)?;
        let n: i64 = row.try_get("n").map_err(db_err)?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }
}
