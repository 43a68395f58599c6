//! `UserStore` on SQL: accounts, and the multi-table effects of a password change, a
//! deactivation and an erasure, each in one transaction.

use async_trait::async_trait;
use keygate_core::Timestamp;
use keygate_core::digest::TokenDigest;
use keygate_core::email::Email;
use keygate_core::error::{StoreError, StoreResult};
use keygate_core::ids::UserId;
use keygate_core::model::{AuditEvent, PasswordHash, Roles, User};
use keygate_core::paging::{Page, PageRequest};
use keygate_core::store::{UserFilter, UserStore};
use sqlx::AnyConnection;
use sqlx::any::AnyRow;

use super::SqlStore;
use super::bounded::Bounded;
use super::email_tokens::void_reset_links;
use super::error::{conflict_on, db_err};
use super::rows::{RowExt, opt_ms};
use super::sessions::end_sessions_of_user;
use super::tokens::revoke_grants_of_user;
use super::tx::{commit, insert_audit};
use crate::near::Table;

macro_rules! user_cols {
    () => {
        "id, email, password_hash, email_verified_at, disabled_at, failed_logins, locked_until, \
         created_at, updated_at, deleted_at, roles"
    };
}

fn user_from_row(row: &AnyRow) -> StoreResult<User> {
    let email = row.text("email")?;
    Ok(User {
        id: UserId(row.uuid("id")?),
        email: Email::parse(&email).map_err(|_| StoreError::Corrupt(format!("column email: {email:?}")))?,
        password_hash: row.opt_text("password_hash")?.map(PasswordHash),
        email_verified_at: row.opt_ts("email_verified_at")?,
        disabled_at: row.opt_ts("disabled_at")?,
        failed_logins: u32::try_from(row.int("failed_logins")?).unwrap_or(u32::MAX),
        locked_until: row.opt_ts("locked_until")?,
        created_at: row.ts("created_at")?,
        updated_at: row.ts("updated_at")?,
        deleted_at: row.opt_ts("deleted_at")?,
        roles: Roles::parse(&row.text("roles")?).map_err(|e| StoreError::Corrupt(format!("column roles: {e}")))?,
    })
}

/// The address an erased account keeps: unique, valid, and pointing nowhere (RFC 2606).
fn erased_email(id: UserId) -> StoreResult<Email> {
    Email::parse(&format!("erased-{}@erased.invalid", id.0.simple())).map_err(|e| StoreError::Internal(Box::new(e)))
}

#[async_trait]
impl UserStore for SqlStore {
    async fn create_user(&self, user: &User, audit: &[AuditEvent]) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        sqlx::query(concat!(
            "INSERT INTO users (",
            user_cols!(),
            ", email_normalized) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        ))
        .bind(user.id.to_string())
        .bind(user.email.as_str())
        .bind(user.password_hash.as_ref().map(|h| h.0.as_str()))
        .bind(opt_ms(user.email_verified_at))
        .bind(opt_ms(user.disabled_at))
        .bind(i64::from(user.failed_logins))
        .bind(opt_ms(user.locked_until))
        .bind(user.created_at.as_millis())
        .bind(user.updated_at.as_millis())
        .bind(opt_ms(user.deleted_at))
        .bind(user.roles.to_stored())
        .bind(user.email.normalized())
        .execute(&mut *tx)
        .bounded()
        .await
        .map_err(conflict_on("email"))?;
        insert_audit(&mut tx, audit).await?;
        commit(tx).await
    }

    async fn get_user(&self, id: UserId) -> StoreResult<Option<User>> {
        let row = sqlx::query(concat!("SELECT ", user_cols!(), " FROM users WHERE id = $1"))
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .bounded()
            .await
            .map_err(db_err)?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn find_user_by_email(&self, email: &Email) -> StoreResult<Option<User>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            user_cols!(),
            " FROM users WHERE email_normalized = $1 AND deleted_at IS NULL"
        ))
        .bind(email.normalized())
        .fetch_optional(&self.pool)
        .bounded()
        .await
        .map_err(db_err)?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn update_user(&self, user: &User, audit: &[AuditEvent]) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        let done = sqlx::query(
            "UPDATE users SET email = $2, email_normalized = $3, password_hash = $4, email_verified_at = $5, \
             disabled_at = $6, failed_logins = $7, locked_until = $8, created_at = $9, updated_at = $10, \
             deleted_at = $11, roles = $12 WHERE id = $1",
        )
        .bind(user.id.to_string())
        .bind(user.email.as_str())
        .bind(user.email.normalized())
        .bind(user.password_hash.as_ref().map(|h| h.0.as_str()))
        .bind(opt_ms(user.email_verified_at))
        .bind(opt_ms(user.disabled_at))
        .bind(i64::from(user.failed_logins))
        .bind(opt_ms(user.locked_until))
        .bind(user.created_at.as_millis())
        .bind(user.updated_at.as_millis())
        .bind(opt_ms(user.deleted_at))
        .bind(user.roles.to_stored())
        .execute(&mut *tx)
        .bounded()
        .await
        .map_err(conflict_on("email"))?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("user"));
        }
        insert_audit(&mut tx, audit).await?;
        commit(tx).await
    }

    async fn set_password(
        &self,
        id: UserId,
        hash: &PasswordHash,
        keep_session: Option<&TokenDigest>,
        now: Timestamp,
        audit: &[AuditEvent],
    ) -> StoreResult<()> {
        self.forgetting(&[Table::AccessTokens], async {
            let mut tx = self.begin().await?;
            let done = sqlx::query("UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1")
                .bind(id.to_string())
                .bind(hash.0.as_str())
                .bind(now.as_millis())
                .execute(&mut *tx)
                .bounded()
                .await
                .map_err(db_err)?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound("user"));
            }
            end_sessions_of_user(&mut tx, id, keep_session).await?;
            revoke_grants_of_user(&mut tx, id, None, now).await?;
            void_reset_links(&mut tx, id, now).await?;
            insert_audit(&mut tx, audit).await?;
            commit(tx).await
        })
        .await
    }

    async fn set_user_active(&self, id: UserId, active: bool, now: Timestamp, audit: &[AuditEvent]) -> StoreResult<()> {
        self.forgetting(&[Table::AccessTokens], async {
            let mut tx = self.begin().await?;
            let sql = if active {
                "UPDATE users SET disabled_at = NULL, updated_at = $2 WHERE id = $1"
            } else {
                "UPDATE users SET disabled_at = COALESCE(disabled_at, $2), updated_at = $2 WHERE id = $1"
            };
            let done = sqlx::query(sql)
                .bind(id.to_string())
                .bind(now.as_millis())
                .execute(&mut *tx)
                .bounded()
                .await
                .map_err(db_err)?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound("user"));
            }
            if !active {
                end_sessions_of_user(&mut tx, id, None).await?;
                revoke_grants_of_user(&mut tx, id, None, now).await?;
            }
            insert_audit(&mut tx, audit).await?;
            commit(tx).await
        })
        .await
    }

    async fn erase_user(&self, id: UserId, now: Timestamp, audit: &[AuditEvent]) -> StoreResult<()> {
        self.forgetting(&[Table::AccessTokens], async {
            let mut tx = self.begin().await?;
            let email = erased_email(id)?;
            let done = sqlx::query(
                "UPDATE users SET email = $2, email_normalized = $3, password_hash = NULL, email_verified_at = NULL, \
                 failed_logins = 0, locked_until = NULL, roles = '', updated_at = $4, deleted_at = COALESCE(deleted_at, $4) \
                 WHERE id = $1",
            )
            .bind(id.to_string())
            .bind(email.as_str())
            .bind(email.normalized())
            .bind(now.as_millis())
            .execute(&mut *tx)
            .bounded()
            .await
            .map_err(db_err)?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound("user"));
            }
            erase_user_records(&mut tx, id).await?;
            insert_audit(&mut tx, audit).await?;
            // Scrubbed after the insert, so the erasure's own event keeps no address either.
            sqlx::query("UPDATE audit_events SET ip = NULL, user_agent = NULL WHERE user_id = $1")
                .bind(id.to_string())
                .execute(&mut *tx)
                .bounded()
                .await
                .map_err(db_err)?;
            commit(tx).await
        })
        .await
    }

    async fn list_users(&self, filter: &UserFilter, page: &PageRequest) -> StoreResult<Page<User>> {
        let limit = i64::from(page.effective_limit());
        let sql = list_users_sql(filter, page.after.is_some());
        // Built from fixed fragments only; every value is bound.
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(limit + 1);
        if let Some(prefix) = &filter.email_prefix {
            query = query.bind(prefix_pattern(prefix));
        }
        if let Some(after) = &page.after {
            query = query.bind(after.clone());
        }
        let rows = query.fetch_all(&self.pool).bounded().await.map_err(db_err)?;
        let users = rows.iter().map(user_from_row).collect::<StoreResult<Vec<_>>>()?;
        Ok(page_by(users, limit, |u| u.id.to_string()))
    }
}

/// The listing's SQL: `$1` the limit, then the prefix pattern (`$2`) and the cursor when set.
fn list_users_sql(filter: &UserFilter, after: bool) -> String {
    let mut sql = format!("SELECT {} FROM users WHERE deleted_at IS NULL", user_cols!());
    let mut next = 2;
    if filter.email_prefix.is_some() {
        sql.push_str(&format!(" AND email_normalized LIKE ${next} ESCAPE '\\'"));
        next += 1;
    }
    match filter.verified {
        Some(true) => sql.push_str(" AND email_verified_at IS NOT NULL"),
        Some(false) => sql.push_str(" AND email_verified_at IS NULL"),
        None => {}
    }
    match filter.active {
        Some(true) => sql.push_str(" AND disabled_at IS NULL"),
        Some(false) => sql.push_str(" AND disabled_at IS NOT NULL"),
        None => {}
    }
    if after {
        sql.push_str(&format!(" AND id > ${next}"));
    }
    sql.push_str(" ORDER BY id LIMIT $1");
    sql
}

/// A LIKE pattern matching addresses that start with `prefix` (its wildcards escaped).
fn prefix_pattern(prefix: &str) -> String {
    let mut pattern = String::with_capacity(prefix.len() + 1);
    for ch in prefix.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(ch);
    }
    pattern.push('%');
    pattern
}

/// Deletes everything personal the user owns besides the account row and audit log, in one
/// statement per table.
async fn erase_user_records(conn: &mut AnyConnection, id: UserId) -> StoreResult<()> {
    const STATEMENTS: [&str; 10] = [
        "DELETE FROM totp_credentials WHERE user_id = $1",
        "DELETE FROM recovery_codes WHERE user_id = $1",
        "DELETE FROM sessions WHERE user_id = $1",
        "DELETE FROM email_tokens WHERE user_id = $1",
        "DELETE FROM consents WHERE user_id = $1",
        "DELETE FROM authorization_codes WHERE user_id = $1",
        "DELETE FROM access_tokens WHERE user_id = $1",
        "DELETE FROM refresh_tokens WHERE user_id = $1",
        "DELETE FROM token_families WHERE user_id = $1",
        "DELETE FROM personal_access_tokens WHERE user_id = $1",
    ];
    let user = id.to_string();
    for sql in STATEMENTS {
        sqlx::query(sql)
            .bind(user.as_str())
            .execute(&mut *conn)
            .bounded()
            .await
            .map_err(db_err)?;
    }
    Ok(())
}

/// Cuts a `limit + 1` fetch down to a page whose cursor is the last item's key.
pub(crate) fn page_by<T>(mut items: Vec<T>, limit: i64, key: impl Fn(&T) -> String) -> Page<T> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let more = items.len() > limit;
    items.truncate(limit);
    let next = if more { items.last().map(key) } else { None };
    Page { items, next }
}
