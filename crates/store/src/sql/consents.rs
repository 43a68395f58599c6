//! `ConsentStore` on SQL: one remembered consent per user and client.

use async_trait::async_trait;
use keygate_core::error::StoreResult;
use keygate_core::ids::{ClientId, UserId};
use keygate_core::model::{AuditEvent, Consent};
use keygate_core::store::ConsentStore;
use sqlx::any::AnyRow;

use super::SqlStore;
use super::bounded::Bounded;
use super::error::db_err;
use super::rows::RowExt;
use super::tx::{commit, insert_audit};

fn consent_from_row(row: &AnyRow) -> StoreResult<Consent> {
    Ok(Consent {
        user_id: UserId(row.uuid("user_id")?),
        client_id: ClientId(row.text("client_id")?),
        scope: row.scopes("scope")?,
        granted_at: row.ts("granted_at")?,
        updated_at: row.ts("updated_at")?,
    })
}

#[async_trait]
impl ConsentStore for SqlStore {
    async fn get_consent(&self, user: UserId, client: &ClientId) -> StoreResult<Option<Consent>> {
        let row = sqlx::query(
            "SELECT user_id, client_id, scope, granted_at, updated_at FROM consents \
             WHERE user_id = $1 AND client_id = $2",
        )
        .bind(user.to_string())
        .bind(client.as_str())
        .fetch_optional(&self.pool)
        .bounded()
        .await
        .map_err(db_err)?;
        row.as_ref().map(consent_from_row).transpose()
    }

    async fn put_consent(&self, consent: &Consent, audit: &[AuditEvent]) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO consents (user_id, client_id, scope, granted_at, updated_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (user_id, client_id) DO UPDATE SET scope = excluded.scope, \
             granted_at = excluded.granted_at, updated_at = excluded.updated_at",
        )
        .bind(consent.user_id.to_string())
        .bind(consent.client_id.as_str())
        .bind(consent.scope.to_string())
        .bind(consent.granted_at.as_millis())
        .bind(consent.updated_at.as_millis())
        .execute(&mut *tx)
        .bounded()
        .await
        .map_err(db_err)?;
        insert_audit(&mut tx, audit).await?;
        commit(tx).await
    }

    async fn delete_consent(&self, user: UserId, client: &ClientId) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM consents WHERE user_id = $1 AND client_id = $2")
            .bind(user.to_string())
            .bind(client.as_str())
            .execute(&self.pool)
            .bounded()
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected() > 0)
    }

    async fn list_consents_of_user(&self, user: UserId) -> StoreResult<Vec<Consent>> {
        let rows = sqlx::query(
            "SELECT user_id, client_id, scope, granted_at, updated_at FROM consents \
             WHERE user_id = $1 ORDER BY client_id",
        )
        .bind(user.to_string())
        .fetch_all(&self.pool)
        .bounded()
        .await
        .map_err(db_err)?;
        rows.iter().map(consent_from_row).collect()
    }
}
