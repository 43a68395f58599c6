//! `EphemeralStore` on SQL: values and fixed-window counters with a time to live, in the
//! `ephemeral` table. Expired rows are invisible at once and deleted by the janitor.

use std::time::Duration;

use async_trait::async_trait;
use keygate_core::Timestamp;
use keygate_core::error::StoreResult;
use keygate_core::store::EphemeralStore;
use sqlx::Row;

use super::SqlStore;
use super::bounded::Bounded;
use super::error::db_err;
use super::rows::RowExt;

#[async_trait]
impl EphemeralStore for SqlStore {
    async fn put(&self, key: &str, value: &[u8], now: Timestamp, ttl: Duration) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO ephemeral (key, value, counter, expires_at) VALUES ($1, $2, 0, $3) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value, counter = 0, expires_at = excluded.expires_at",
        )
        .bind(key)
        .bind(value)
        .bind(now.plus(ttl).as_millis())
        .execute(&self.pool)
        .bounded()
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn get(&self, key: &str, now: Timestamp) -> StoreResult<Option<Vec<u8>>> {
        let row = sqlx::query("SELECT value FROM ephemeral WHERE key = $1 AND expires_at > $2 AND value IS NOT NULL")
            .bind(key)
            .bind(now.as_millis())
            .fetch_optional(&self.pool)
            .bounded()
            .await
            .map_err(db_err)?;
        row.map(|r| r.bytes("value")).transpose()
    }

    async fn take(&self, key: &str, now: Timestamp) -> StoreResult<Option<Vec<u8>>> {
        // A single DELETE … RETURNING: of concurrent takes, only the one that deletes the row gets it.
        // An expired row is deleted too, but yields nothing.
        let row = sqlx::query("DELETE FROM ephemeral WHERE key = $1 RETURNING value, expires_at")
            .bind(key)
            .fetch_optional(&self.pool)
            .bounded()
            .await
            .map_err(db_err)?;
        let Some(row) = row else { return Ok(None) };
        if row.ts("expires_at")? <= now {
            return Ok(None);
        }
        row.value::<Option<Vec<u8>>>("value")
    }

    async fn incr(&self, key: &str, now: Timestamp, ttl: Duration) -> StoreResult<i64> {
        // One upsert: a live counter goes up by one; a missing or expired one restarts at 1 with a
        // new window.
        let row = sqlx::query(
            "INSERT INTO ephemeral (key, value, counter, expires_at) VALUES ($1, NULL, 1, $3) \
             ON CONFLICT (key) DO UPDATE SET \
               counter = CASE WHEN ephemeral.expires_at > $2 THEN ephemeral.counter + 1 ELSE 1 END, \
               value = CASE WHEN ephemeral.expires_at > $2 THEN ephemeral.value ELSE NULL END, \
               expires_at = CASE WHEN ephemeral.expires_at > $2 THEN ephemeral.expires_at ELSE excluded.expires_at END \
             RETURNING counter",
        )
        .bind(key)
        .bind(now.as_millis())
        .bind(now.plus(ttl).as_millis())
        .fetch_one(&self.pool)
        .bounded()
        .await
        .map_err(db_err)?;
        row.try_get::<i64, _>("counter").map_err(db_err)
    }

    async fn delete(&self, key: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM ephemeral WHERE key = $1")
            .bind(key)
            .execute(&self.pool)
            .bounded()
            .await
            .map_err(db_err)?;
        Ok(())
    }
}
