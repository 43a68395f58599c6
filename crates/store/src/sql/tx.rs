//! Write transactions, and the audit rows every mutation writes inside its own transaction.

use keygate_core::error::StoreResult;
use keygate_core::model::AuditEvent;
use sqlx::AnyConnection;
use sqlx::{Any, AssertSqlSafe, Transaction};

use super::SqlStore;
use super::bounded::Bounded;
use super::error::db_err;
use super::rows::to_json;

pub(crate) type Tx = Transaction<'static, Any>;

/// Audit events per INSERT statement: 10 parameters each, well under both databases' limits,
/// and few enough that a statement fits one TLS record (16 KiB). sqlx does not set TCP_NODELAY,
/// so a statement sent in two records waits for the server's delayed ACK (40 ms) in between:
/// with 100 rows a statement, a full audit batch took 0.4 s.
const AUDIT_ROWS_PER_STATEMENT: usize = 32;

impl SqlStore {
    /// Starts a transaction that will write (on SQLite it takes the write lock at once).
    pub(crate) async fn begin(&self) -> StoreResult<Tx> {
        match self.dialect.begin_write() {
            Some(begin) => self.pool.begin_with(begin).bounded().await,
            None => self.pool.begin().bounded().await,
        }
        .map_err(db_err)
    }
}

pub(crate) async fn commit(tx: Tx) -> StoreResult<()> {
    tx.commit().bounded().await.map_err(db_err)
}

/// Inserts the events with one multi-row INSERT per hundred.
pub(crate) async fn insert_audit(conn: &mut AnyConnection, events: &[AuditEvent]) -> StoreResult<()> {
    for chunk in events.chunks(AUDIT_ROWS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO audit_events (id, at, action, actor, user_id, client_id, ip, user_agent, outcome, details) VALUES {}",
            values_rows(chunk.len(), 10)
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for e in chunk {
            query = query
                .bind(e.id.to_string())
                .bind(e.at.as_millis())
                .bind(e.action.as_str())
                .bind(e.actor.clone())
                .bind(e.user_id.map(|u| u.to_string()))
                .bind(e.client_id.as_ref().map(|c| c.0.clone()))
                .bind(e.ip.clone())
                .bind(e.user_agent.clone())
                .bind(e.outcome.as_str())
                .bind(to_json(&e.details)?);
        }
        query.execute(&mut *conn).bounded().await.map_err(db_err)?;
    }
    Ok(())
}

/// `$from+1, …, $from+n`: placeholders for a list.
pub(crate) fn placeholders(from: usize, n: usize) -> String {
    let mut out = String::with_capacity(n * 5);
    for k in from + 1..=from + n {
        if k > from + 1 {
            out.push_str(", ");
        }
        out.push('$');
        out.push_str(&k.to_string());
    }
    out
}

/// `($1, …, $cols), ($cols+1, …), …`: the VALUES of a multi-row INSERT.
pub(crate) fn values_rows(rows: usize, cols: usize) -> String {
    (0..rows)
        .map(|r| format!("({})", placeholders(r * cols, cols)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Commits with the audit events when the change happened; otherwise rolls back (nothing to record).
pub(crate) async fn finish_if_changed(mut tx: Tx, changed: bool, audit: &[AuditEvent]) -> StoreResult<bool> {
    if changed {
        insert_audit(&mut tx, audit).await?;
        commit(tx).await?;
    } else {
        tx.rollback().bounded().await.map_err(db_err)?;
    }
    Ok(changed)
}
