//! `AuditStore` on SQL: appending events and listing them newest first with filters and a cursor.

use async_trait::async_trait;
use keygate_core::error::StoreResult;
use keygate_core::ids::{AuditId, ClientId, UserId};
use keygate_core::model::{AuditAction, AuditEvent, AuditFilter, Outcome};
use keygate_core::paging::{Page, PageRequest};
use keygate_core::store::AuditStore;
use sqlx::AssertSqlSafe;
use sqlx::any::AnyRow;

use super::SqlStore;
use super::bounded::Bounded;
use super::error::db_err;
use super::rows::RowExt;
use super::tx::{commit, insert_audit};
use super::users::page_by;

fn audit_from_row(row: &AnyRow) -> StoreResult<AuditEvent> {
    Ok(AuditEvent {
        id: AuditId(row.uuid("id")?),
        at: row.ts("at")?,
        action: row.named("action", AuditAction::parse)?,
        actor: row.text("actor")?,
        user_id: row.opt_uuid("user_id")?.map(UserId),
        client_id: row.opt_text("client_id")?.map(ClientId),
        ip: row.opt_text("ip")?,
        user_agent: row.opt_text("user_agent")?,
        outcome: row.named("outcome", Outcome::parse)?,
        details: row.json("details")?,
    })
}

/// A value bound to one of the filter's placeholders.
enum Param {
    Text(String),
    Int(i64),
}

#[async_trait]
impl AuditStore for SqlStore {
    async fn append_audit(&self, events: &[AuditEvent]) -> StoreResult<()> {
        if events.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin().await?;
        insert_audit(&mut tx, events).await?;
        commit(tx).await
    }

    async fn list_audit(&self, filter: &AuditFilter, page: &PageRequest) -> StoreResult<Page<AuditEvent>> {
        // Only the conditions in use go into the SQL, so each filter can use its index.
        let mut conditions: Vec<String> = Vec::new();
        let mut params: Vec<Param> = Vec::new();
        let mut add = |column_test: &str, p: Param| {
            params.push(p);
            conditions.push(format!("{column_test} ${}", params.len()));
        };
        if let Some(u) = filter.user_id {
            add("user_id =", Param::Text(u.to_string()));
        }
        if let Some(c) = &filter.client_id {
            add("client_id =", Param::Text(c.0.clone()));
        }
        if let Some(a) = filter.action {
            add("action =", Param::Text(a.as_str().to_owned()));
        }
        if let Some(from) = filter.from {
            add("at >=", Param::Int(from.as_millis()));
        }
        if let Some(until) = filter.until {
            add("at <", Param::Int(until.as_millis()));
        }
        if let Some(after) = &page.after {
            add("id <", Param::Text(after.clone()));
        }
        let limit = i64::from(page.effective_limit());
        params.push(Param::Int(limit + 1));
        let where_clause = if conditions.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", conditions.join(" AND "))
        };
        let sql = format!(
            "SELECT id, at, action, actor, user_id, client_id, ip, user_agent, outcome, details FROM audit_events{} \
             ORDER BY id DESC LIMIT ${}",
            where_clause,
            params.len()
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for p in params {
            query = match p {
                Param::Text(s) => query.bind(s),
                Param::Int(i) => query.bind(i),
            };
        }
        let rows = query.fetch_all(&self.pool).bounded().await.map_err(db_err)?;
        let events = rows.iter().map(audit_from_row).collect::<StoreResult<Vec<_>>>()?;
        Ok(page_by(events, limit, |e| e.id.to_string()))
    }
}
