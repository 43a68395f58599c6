//! `EmailTokenStore` on SQL: verification and reset tokens, single use, newest link only.

use async_trait::async_trait;
use keygate_core::Timestamp;
use keygate_core::digest::TokenDigest;
use keygate_core::error::StoreResult;
use keygate_core::ids::UserId;
use keygate_core::model::{AuditEvent, EmailToken, EmailTokenKind};
use keygate_core::store::EmailTokenStore;
use sqlx::AnyConnection;
use sqlx::any::AnyRow;

use super::SqlStore;
use super::bounded::Bounded;
use super::error::{conflict_on, db_err};
use super::rows::{RowExt, opt_ms};
use super::tx::{commit, insert_audit};

fn email_token_from_row(row: &AnyRow) -> StoreResult<EmailToken> {
    Ok(EmailToken {
        digest: row.digest("digest")?,
        user_id: UserId(row.uuid("user_id")?),
        kind: row.named("kind", EmailTokenKind::parse)?,
        created_at: row.ts("created_at")?,
        expires_at: row.ts("expires_at")?,
        used_at: row.opt_ts("used_at")?,
    })
}

#[async_trait]
impl EmailTokenStore for SqlStore {
    async fn issue_email_token(&self, token: &EmailToken, audit: &[AuditEvent]) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        // Older unused links of this kind stop working: they count as used from now on.
        sqlx::query("UPDATE email_tokens SET used_at = $3 WHERE user_id = $1 AND kind = $2 AND used_at IS NULL")
            .bind(token.user_id.to_string())
            .bind(token.kind.as_str())
            .bind(token.created_at.as_millis())
            .execute(&mut *tx)
            .bounded()
            .await
            .map_err(db_err)?;
        sqlx::query(
            "INSERT INTO email_tokens (digest, user_id, kind, created_at, expires_at, used_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(token.digest.as_bytes().to_vec())
        .bind(token.user_id.to_string())
        .bind(token.kind.as_str())
        .bind(token.created_at.as_millis())
        .bind(token.expires_at.as_millis())
        .bind(opt_ms(token.used_at))
        .execute(&mut *tx)
        .bounded()
        .await
        .map_err(conflict_on("email token"))?;
        insert_audit(&mut tx, audit).await?;
        commit(tx).await
    }

    async fn consume_email_token(
        &self,
        digest: &TokenDigest,
        kind: EmailTokenKind,
        now: Timestamp,
        audit: &[AuditEvent],
    ) -> StoreResult<Option<EmailToken>> {
        let mut tx = self.begin().await?;
        let row = sqlx::query(
            "UPDATE email_tokens SET used_at = $3 \
             WHERE digest = $1 AND kind = $2 AND used_at IS NULL AND expires_at > $3 \
             RETURNING digest, user_id, kind, created_at, expires_at, used_at",
        )
        .bind(digest.as_bytes().to_vec())
        .bind(kind.as_str())
        .bind(now.as_millis())
        .fetch_optional(&mut *tx)
        .bounded()
        .await
        .map_err(db_err)?;
        let Some(row) = row else {
            tx.rollback().bounded().await.map_err(db_err)?;
            return Ok(None);
        };
        let token = email_token_from_row(&row)?;
        insert_audit(&mut tx, audit).await?;
        commit(tx).await?;
        Ok(Some(token))
    }
}

/// Voids the user's unused password-reset links (inside a password change's transaction): a link
/// mailed before the change must not set the password again afterwards.
pub(super) async fn void_reset_links(tx: &mut AnyConnection, user: UserId, now: Timestamp) -> StoreResult<()> {
    sqlx::query("UPDATE email_tokens SET used_at = $2 WHERE user_id = $1 AND kind = 'reset' AND used_at IS NULL")
        .bind(user.to_string())
        .bind(now.as_millis())
        .execute(&mut *tx)
        .bounded()
        .await
        .map_err(db_err)?;
    Ok(())
}
