//! `PatStore` on SQL: personal access tokens, looked up by digest.

use async_trait::async_trait;
use keygate_core::Timestamp;
use keygate_core::digest::TokenDigest;
use keygate_core::error::StoreResult;
use keygate_core::ids::{PatId, UserId};
use keygate_core::model::{AuditEvent, PersonalAccessToken};
use keygate_core::store::PatStore;
use sqlx::any::AnyRow;

use super::SqlStore;
use super::bounded::Bounded;
use super::error::{conflict_on, db_err};
use super::rows::{RowExt, opt_ms};
use super::tx::{commit, finish_if_changed, insert_audit};

macro_rules! pat_cols {
    () => {
        "id, user_id, digest, display_prefix, name, scope, created_at, expires_at, last_used_at, revoked_at"
    };
}

fn pat_from_row(row: &AnyRow) -> StoreResult<PersonalAccessToken> {
    Ok(PersonalAccessToken {
        id: PatId(row.uuid("id")?),
        user_id: UserId(row.uuid("user_id")?),
        digest: row.digest("digest")?,
        display_prefix: row.text("display_prefix")?,
        name: row.text("name")?,
        scope: row.scopes("scope")?,
        created_at: row.ts("created_at")?,
        expires_at: row.opt_ts("expires_at")?,
        last_used_at: row.opt_ts("last_used_at")?,
        revoked_at: row.opt_ts("revoked_at")?,
    })
}

#[async_trait]
impl PatStore for SqlStore {
    async fn create_pat(&self, pat: &PersonalAccessToken, audit: &[AuditEvent]) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        sqlx::query(concat!(
            "INSERT INTO personal_access_tokens (",
            pat_cols!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        ))
        .bind(pat.id.to_string())
        .bind(pat.user_id.to_string())
        .bind(pat.digest.as_bytes().to_vec())
        .bind(pat.display_prefix.as_str())
        .bind(pat.name.as_str())
        .bind(pat.scope.to_string())
        .bind(pat.created_at.as_millis())
        .bind(opt_ms(pat.expires_at))
        .bind(opt_ms(pat.last_used_at))
        .bind(opt_ms(pat.revoked_at))
        .execute(&mut *tx)
        .bounded()
        .await
        .map_err(conflict_on("personal access token"))?;
        insert_audit(&mut tx, audit).await?;
        commit(tx).await
    }

    async fn get_pat_by_digest(&self, digest: &TokenDigest) -> StoreResult<Option<PersonalAccessToken>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            pat_cols!(),
            " FROM personal_access_tokens WHERE digest = $1"
        ))
        .bind(digest.as_bytes().to_vec())
        .fetch_optional(&self.pool)
        .bounded()
        .await
        .map_err(db_err)?;
        row.as_ref().map(pat_from_row).transpose()
    }

    async fn list_pats_of_user(&self, user: UserId) -> StoreResult<Vec<PersonalAccessToken>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            pat_cols!(),
            " FROM personal_access_tokens WHERE user_id = $1 AND revoked_at IS NULL ORDER BY created_at DESC, id DESC"
        ))
        .bind(user.to_string())
        .fetch_all(&self.pool)
        .bounded()
        .await
        .map_err(db_err)?;
        rows.iter().map(pat_from_row).collect()
    }

    async fn revoke_pat(&self, user: UserId, id: PatId, now: Timestamp, audit: &[AuditEvent]) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        let done = sqlx::query(
            "UPDATE personal_access_tokens SET revoked_at = $3 WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL",
        )
        .bind(id.to_string())
        .bind(user.to_string())
        .bind(now.as_millis())
        .execute(&mut *tx)
        .bounded()
        .await
        .map_err(db_err)?;
        finish_if_changed(tx, done.rows_affected() > 0, audit).await
    }

    async fn touch_pat(&self, id: PatId, now: Timestamp) -> StoreResult<()> {
        sqlx::query("UPDATE personal_access_tokens SET last_used_at = $2 WHERE id = $1")
            .bind(id.to_string())
            .bind(now.as_millis())
            .execute(&self.pool)
            .bounded()
            .await
            .map_err(db_err)?;
        Ok(())
    }
}
