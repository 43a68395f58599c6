//! `MaintenanceStore` on SQL: the health probe, statistics in one round trip, and the janitor's
//! batched purge of expired records.

use async_trait::async_trait;
use keygate_core::Timestamp;
use keygate_core::error::StoreResult;
use keygate_core::store::{MaintenanceStore, PurgeReport, StoreStats};
use sqlx::Row;

use super::SqlStore;
use super::bounded::Bounded;
use super::error::db_err;

/// Deletes at most `$2` rows of one table whose expiry is before `$1`. Each statement selects the
/// doomed keys through the expiry index and deletes by primary key.
const PURGE_CODES: &str = "DELETE FROM authorization_codes WHERE digest IN \
     (SELECT digest FROM authorization_codes WHERE expires_at < $1 LIMIT $2)";
const PURGE_SESSIONS: &str = "DELETE FROM sessions WHERE id IN \
     (SELECT id FROM sessions WHERE idle_expires_at < $1 OR absolute_expires_at < $1 LIMIT $2)";
const PURGE_EMAIL_TOKENS: &str = "DELETE FROM email_tokens WHERE digest IN \
     (SELECT digest FROM email_tokens WHERE expires_at < $1 LIMIT $2)";
const PURGE_REFRESH_TOKENS: &str = "DELETE FROM refresh_tokens WHERE digest IN \
     (SELECT digest FROM refresh_tokens WHERE expires_at < $1 LIMIT $2)";
const PURGE_ACCESS_TOKENS: &str = "DELETE FROM access_tokens WHERE digest IN \
     (SELECT digest FROM access_tokens WHERE expires_at < $1 LIMIT $2)";
const PURGE_EPHEMERAL: &str = "DELETE FROM ephemeral WHERE key IN \
     (SELECT key FROM ephemeral WHERE expires_at < $1 LIMIT $2)";
const PURGE_AUDIT: &str = "DELETE FROM audit_events WHERE id IN \
     (SELECT id FROM audit_events WHERE at < $1 LIMIT $2)";

impl SqlStore {
    async fn purge(&self, sql: &'static str, before: Timestamp, batch: u32) -> StoreResult<u64> {
        let done = sqlx::query(sql)
            .bind(before.as_millis())
            .bind(i64::from(batch))
            .execute(&self.pool)
            .bounded()
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected())
    }
}

#[async_trait]
impl MaintenanceStore for SqlStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .bounded()
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn stats(&self, now: Timestamp) -> StoreResult<StoreStats> {
        let row = sqlx::query(
            "SELECT \
               (SELECT COUNT(*) FROM users WHERE deleted_at IS NULL) AS users, \
               (SELECT COUNT(*) FROM clients) AS clients, \
               (SELECT COUNT(*) FROM sessions WHERE idle_expires_at > $1 AND absolute_expires_at > $1) AS sessions, \
               (SELECT COUNT(*) FROM refresh_tokens \
                  WHERE used_at IS NULL AND revoked_at IS NULL AND expires_at > $1) AS refresh_tokens",
        )
        .bind(now.as_millis())
        .fetch_one(&self.pool)
        .bounded()
        .await
        .map_err(db_err)?;
        let count = |col: &str| -> StoreResult<u64> {
            let n: i64 = row.try_get(col).map_err(db_err)?;
            Ok(u64::try_from(n).unwrap_or(0))
        };
        Ok(StoreStats {
            users: count("users")?,
            clients: count("clients")?,
            live_sessions: count("sessions")?,
            live_refresh_tokens: count("refresh_tokens")?,
        })
    }

    async fn purge_expired(&self, now: Timestamp, audit_before: Timestamp, batch: u32) -> StoreResult<PurgeReport> {
        let batch = batch.max(1);
        Ok(PurgeReport {
            codes: self.purge(PURGE_CODES, now, batch).await?,
            sessions: self.purge(PURGE_SESSIONS, now, batch).await?,
            email_tokens: self.purge(PURGE_EMAIL_TOKENS, now, batch).await?,
            refresh_tokens: self.purge(PURGE_REFRESH_TOKENS, now, batch).await?,
            access_tokens: self.purge(PURGE_ACCESS_TOKENS, now, batch).await?,
            ephemeral: self.purge(PURGE_EPHEMERAL, now, batch).await?,
            audit_events: self.purge(PURGE_AUDIT, audit_before, batch).await?,
        })
    }
}
