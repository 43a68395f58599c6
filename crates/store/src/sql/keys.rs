//! `SigningKeyStore` on SQL: signing keys (private parts encrypted by the caller); a rotation is
//! one transaction.

use async_trait::async_trait;
use keygate_core::error::{StoreError, StoreResult};
use keygate_core::ids::KeyId;
use keygate_core::model::{AuditEvent, EncryptedBlob, KeyState, SigningAlg, SigningKey};
use keygate_core::store::SigningKeyStore;
use sqlx::AnyConnection;
use sqlx::any::AnyRow;

use super::bounded::Bounded;
use super::error::{conflict_on, db_err};
use super::rows::{RowExt, opt_ms, to_json};
use super::tx::{commit, insert_audit};
use super::{Dialect, SqlStore};

/// The advisory lock that serialises checked key changes (first keys, rotations) on PostgreSQL.
const KEYS_LOCK: i64 = 0x6B67_2D66_6972_7374;

fn key_from_row(row: &AnyRow) -> StoreResult<SigningKey> {
    Ok(SigningKey {
        kid: KeyId(row.text("kid")?),
        alg: row.named("alg", SigningAlg::parse)?,
        private_key: EncryptedBlob(row.bytes("private_key")?),
        public_jwk: row.json("public_jwk")?,
        state: row.named("state", KeyState::parse)?,
        created_at: row.ts("created_at")?,
        activated_at: row.opt_ts("activated_at")?,
        retired_at: row.opt_ts("retired_at")?,
        remove_after: row.opt_ts("remove_after")?,
    })
}

const SELECT_KEYS: &str = "SELECT kid, alg, private_key, public_jwk, state, created_at, activated_at, retired_at, \
     remove_after FROM signing_keys ORDER BY created_at, kid";

#[async_trait]
impl SigningKeyStore for SqlStore {
    async fn list_keys(&self) -> StoreResult<Vec<SigningKey>> {
        let rows = sqlx::query(SELECT_KEYS)
            .fetch_all(&self.pool)
            .bounded()
            .await
            .map_err(db_err)?;
        rows.iter().map(key_from_row).collect()
    }

    async fn save_keys(&self, insert: &[SigningKey], update: &[SigningKey], audit: &[AuditEvent]) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        apply_keys(&mut tx, insert, update).await?;
        insert_audit(&mut tx, audit).await?;
        commit(tx).await
    }

    async fn save_keys_if_unchanged(
        &self,
        seen: &[SigningKey],
        insert: &[SigningKey],
        update: &[SigningKey],
        audit: &[AuditEvent],
    ) -> StoreResult<bool> {
        // One writer at a time decides: SQLite's write transaction holds the database lock, and
        // PostgreSQL takes an advisory lock held until commit. The losers see the winner's keys.
        let mut tx = self.begin().await?;
        if self.dialect == Dialect::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(KEYS_LOCK)
                .execute(&mut *tx)
                .bounded()
                .await
                .map_err(db_err)?;
        }
        let rows = sqlx::query(SELECT_KEYS)
            .fetch_all(&mut *tx)
            .bounded()
            .await
            .map_err(db_err)?;
        let current = rows.iter().map(key_from_row).collect::<StoreResult<Vec<_>>>()?;
        if current != seen {
            tx.rollback().bounded().await.map_err(db_err)?;
            return Ok(false);
        }
        apply_keys(&mut tx, insert, update).await?;
        insert_audit(&mut tx, audit).await?;
        commit(tx).await?;
        Ok(true)
    }
}

/// Inserts the new keys and replaces the changed ones: `Conflict("kid")` if an inserted kid
/// exists, `NotFound("key")` if an updated one does not.
async fn apply_keys(conn: &mut AnyConnection, insert: &[SigningKey], update: &[SigningKey]) -> StoreResult<()> {
    insert_keys(conn, insert).await?;
    for k in update {
        let done = bind_key(
            sqlx::query(
                "UPDATE signing_keys SET alg = $2, private_key = $3, public_jwk = $4, state = $5, created_at = $6, \
                 activated_at = $7, retired_at = $8, remove_after = $9 WHERE kid = $1",
            ),
            k,
        )?
        .execute(&mut *conn)
        .bounded()
        .await
        .map_err(db_err)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("key"));
        }
    }
    Ok(())
}

/// Binds a key's columns as `$1` (kid) to `$9` (remove_after), for the INSERT and the UPDATE.
fn bind_key<'q>(
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    k: &'q SigningKey,
) -> StoreResult<sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>> {
    Ok(query
        .bind(k.kid.0.as_str())
        .bind(k.alg.as_str())
        .bind(k.private_key.0.clone())
        .bind(to_json(&k.public_jwk)?)
        .bind(k.state.as_str())
        .bind(k.created_at.as_millis())
        .bind(opt_ms(k.activated_at))
        .bind(opt_ms(k.retired_at))
        .bind(opt_ms(k.remove_after)))
}

/// Inserts new keys; `Conflict("kid")` if one exists.
async fn insert_keys(conn: &mut AnyConnection, keys: &[SigningKey]) -> StoreResult<()> {
    for k in keys {
        bind_key(
            sqlx::query(
                "INSERT INTO signing_keys (kid, alg, private_key, public_jwk, state, created_at, activated_at, \
                 retired_at, remove_after) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            ),
            k,
        )?
        .execute(&mut *conn)
        .bounded()
        .await
        .map_err(conflict_on("kid"))?;
    }
    Ok(())
}
