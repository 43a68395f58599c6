//! `MaintenanceStore` on SQL: the health probe, statistics (counts, rows per table, size), and the janitor's
//! batched purge of expired records.

use async_trait::async_trait;
use keygate_core::Timestamp;
use keygate_core::error::StoreResult;
use keygate_core::store::{MaintenanceStore, PurgeReport, StoreStats};
use std::collections::BTreeMap;

use sqlx::{AssertSqlSafe, Row};

use super::bounded::Bounded;
use super::error::db_err;
use super::{Dialect, SqlStore};
use crate::near::Table;
use crate::transfer::TABLES;

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

impl SqlStore {
    /// Every table of the transfer catalog with its row count, in one round trip.
    async fn rows_per_table(&self) -> StoreResult<BTreeMap<String, u64>> {
        let parts: Vec<String> = TABLES
            .iter()
            .map(|t| format!("(SELECT COUNT(*) FROM {0}) AS {0}", t.name))
            .collect();
        let row = sqlx::query(AssertSqlSafe(format!("SELECT {}", parts.join(", "))))
            .fetch_one(&self.pool)
            .await
            .map_err(db_err)?;
        TABLES
            .iter()
            .map(|t| {
                let n: i64 = row.try_get(t.name).map_err(db_err)?;
                Ok((t.name.to_owned(), u64::try_from(n).unwrap_or(0)))
            })
            .collect()
    }

    /// The SQLite file's pages (WAL not included), or the PostgreSQL schema's tables and indexes.
    async fn database_bytes(&self) -> StoreResult<Option<u64>> {
        let sql = match self.dialect {
            Dialect::Sqlite => "SELECT page_count * page_size AS n FROM pragma_page_count(), pragma_page_size()",
            Dialect::Postgres => {
                "SELECT CAST(COALESCE(SUM(pg_total_relation_size(c.oid)), 0) AS BIGINT) AS n \
                 FROM pg_class c JOIN pg_namespace ns ON ns.oid = c.relnamespace \
                 WHERE ns.nspname = current_schema() AND c.relkind = 'r'"
            }
        };
        let row = sqlx::query(sql).fetch_one(&self.pool).await.map_err(db_err)?;
        let n: i64 = row.try_get("n").map_err(db_err)?;
        Ok(u64::try_from(n).ok())
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
                  WHERE used_at IS NULL AND revoked_at IS NULL AND expires_at > $1) AS refresh_tokens, \
               (SELECT COUNT(*) FROM access_tokens WHERE revoked_at IS NULL AND expires_at > $1) AS access_tokens, \
               (SELECT COUNT(*) FROM personal_access_tokens \
                  WHERE revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $1)) AS pats",
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
            live_access_tokens: count("access_tokens")?,
            live_personal_access_tokens: count("pats")?,
            rows: self.rows_per_table().await?,
            database_bytes: self.database_bytes().await?,
            audit_events_dropped: 0,
        })
    }

    async fn purge_expired(&self, now: Timestamp, audit_before: Timestamp, batch: u32) -> StoreResult<PurgeReport> {
        self.forgetting(&[Table::AccessTokens], async {
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
        })
        .await
    }
}
