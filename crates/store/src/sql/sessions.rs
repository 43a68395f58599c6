//! `SessionStore` on SQL: login sessions, looked up by the digest of their cookie secret.

use async_trait::async_trait;
use keygate_core::Timestamp;
use keygate_core::digest::TokenDigest;
use keygate_core::error::StoreResult;
use keygate_core::ids::{SessionId, UserId};
use keygate_core::model::{AuditEvent, Session};
use keygate_core::store::SessionStore;
use sqlx::AnyConnection;
use sqlx::any::AnyRow;

use super::SqlStore;
use super::bounded::Bounded;
use super::error::{conflict_on, db_err};
use super::rows::{RowExt, to_json};
use super::tx::{commit, finish_if_changed, insert_audit};

macro_rules! session_cols {
    () => {
        "id, digest, user_id, ip, user_agent, amr, auth_time, created_at, last_seen_at, idle_expires_at, \
         absolute_expires_at"
    };
}

fn session_from_row(row: &AnyRow) -> StoreResult<Session> {
    Ok(Session {
        id: SessionId(row.uuid("id")?),
        digest: row.digest("digest")?,
        user_id: UserId(row.uuid("user_id")?),
        ip: row.opt_text("ip")?,
        user_agent: row.opt_text("user_agent")?,
        amr: row.json("amr")?,
        auth_time: row.ts("auth_time")?,
        created_at: row.ts("created_at")?,
        last_seen_at: row.ts("last_seen_at")?,
        idle_expires_at: row.ts("idle_expires_at")?,
        absolute_expires_at: row.ts("absolute_expires_at")?,
    })
}

/// Deletes the user's sessions except the one with digest `except`; returns how many.
pub(crate) async fn end_sessions_of_user(
    conn: &mut AnyConnection,
    user: UserId,
    except: Option<&TokenDigest>,
) -> StoreResult<u64> {
    let done = match except {
        None => sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(user.to_string()),
        Some(keep) => sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND digest <> $2")
            .bind(user.to_string())
            .bind(keep.as_bytes().to_vec()),
    }
    .execute(conn)
    .bounded()
    .await
    .map_err(db_err)?;
    Ok(done.rows_affected())
}

#[async_trait]
impl SessionStore for SqlStore {
    async fn create_session(&self, session: &Session, audit: &[AuditEvent]) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        sqlx::query(concat!(
            "INSERT INTO sessions (",
            session_cols!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        ))
        .bind(session.id.to_string())
        .bind(session.digest.as_bytes().to_vec())
        .bind(session.user_id.to_string())
        .bind(session.ip.clone())
        .bind(session.user_agent.clone())
        .bind(to_json(&session.amr)?)
        .bind(session.auth_time.as_millis())
        .bind(session.created_at.as_millis())
        .bind(session.last_seen_at.as_millis())
        .bind(session.idle_expires_at.as_millis())
        .bind(session.absolute_expires_at.as_millis())
        .execute(&mut *tx)
        .bounded()
        .await
        .map_err(conflict_on("session"))?;
        insert_audit(&mut tx, audit).await?;
        commit(tx).await
    }

    async fn get_session(&self, digest: &TokenDigest) -> StoreResult<Option<Session>> {
        let row = sqlx::query(concat!("SELECT ", session_cols!(), " FROM sessions WHERE digest = $1"))
            .bind(digest.as_bytes().to_vec())
            .fetch_optional(&self.pool)
            .bounded()
            .await
            .map_err(db_err)?;
        row.as_ref().map(session_from_row).transpose()
    }

    async fn touch_session(
        &self,
        digest: &TokenDigest,
        last_seen: Timestamp,
        idle_expires_at: Timestamp,
    ) -> StoreResult<()> {
        sqlx::query("UPDATE sessions SET last_seen_at = $2, idle_expires_at = $3 WHERE digest = $1")
            .bind(digest.as_bytes().to_vec())
            .bind(last_seen.as_millis())
            .bind(idle_expires_at.as_millis())
            .execute(&self.pool)
            .bounded()
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn rekey_session(&self, old: &TokenDigest, new: &TokenDigest, amr: &[String]) -> StoreResult<bool> {
        let done = sqlx::query("UPDATE sessions SET digest = $2, amr = $3 WHERE digest = $1")
            .bind(old.as_bytes().to_vec())
            .bind(new.as_bytes().to_vec())
            .bind(to_json(amr)?)
            .execute(&self.pool)
            .bounded()
            .await
            .map_err(conflict_on("session"))?;
        Ok(done.rows_affected() > 0)
    }

    async fn delete_session(&self, digest: &TokenDigest, audit: &[AuditEvent]) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        let done = sqlx::query("DELETE FROM sessions WHERE digest = $1")
            .bind(digest.as_bytes().to_vec())
            .execute(&mut *tx)
            .bounded()
            .await
            .map_err(db_err)?;
        finish_if_changed(tx, done.rows_affected() > 0, audit).await
    }

    async fn delete_user_session(&self, user: UserId, id: SessionId, audit: &[AuditEvent]) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        let done = sqlx::query("DELETE FROM sessions WHERE id = $1 AND user_id = $2")
            .bind(id.to_string())
            .bind(user.to_string())
            .execute(&mut *tx)
            .bounded()
            .await
            .map_err(db_err)?;
        finish_if_changed(tx, done.rows_affected() > 0, audit).await
    }

    async fn delete_sessions_of_user(
        &self,
        user: UserId,
        except: Option<&TokenDigest>,
        audit: &[AuditEvent],
    ) -> StoreResult<u64> {
        let mut tx = self.begin().await?;
        let n = end_sessions_of_user(&mut tx, user, except).await?;
        insert_audit(&mut tx, audit).await?;
        commit(tx).await?;
        Ok(n)
    }

    async fn list_sessions_of_user(&self, user: UserId, now: Timestamp) -> StoreResult<Vec<Session>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            session_cols!(),
            " FROM sessions WHERE user_id = $1 AND idle_expires_at > $2 AND absolute_expires_at > $2 \
             ORDER BY created_at DESC, id DESC"
        ))
        .bind(user.to_string())
        .bind(now.as_millis())
        .fetch_all(&self.pool)
        .bounded()
        .await
        .map_err(db_err)?;
        rows.iter().map(session_from_row).collect()
    }
}
