//! `TokenStore` on SQL: token families, refresh-token rotation with reuse detection, and opaque
//! access tokens. Revoking a family revokes its tokens with one UPDATE per table.

use std::sync::Arc;

use async_trait::async_trait;
use keygate_core::Timestamp;
use keygate_core::digest::TokenDigest;
use keygate_core::error::{StoreError, StoreResult};
use keygate_core::ids::{ClientId, FamilyId, TokenId, UserId};
use keygate_core::model::{AccessToken, AuditEvent, RefreshRotation, RefreshToken, TokenFamily};
use keygate_core::store::TokenStore;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AnyPool};
use sqlx::{AssertSqlSafe, Row};

use super::SqlStore;
use super::bounded::Bounded;
use super::error::{conflict_on, db_err};
use super::held::HeldConnection;
use super::lookup::{AnyQuery, Lookup};
use super::rows::{RowExt, opt_bytes, opt_ms};
use super::tx::{commit, finish_if_changed, insert_audit, values_rows};
use crate::grouped::{Grouped, RunGroup, fan_out};
use crate::near::Table;

macro_rules! refresh_cols {
    () => {
        "digest, family_id, parent, client_id, user_id, scope, issued_at, expires_at, used_at, revoked_at"
    };
}
macro_rules! access_cols {
    () => {
        "digest, jti, family_id, client_id, user_id, scope, issued_at, expires_at, revoked_at"
    };
}

fn refresh_from_row(row: &AnyRow) -> StoreResult<RefreshToken> {
    Ok(RefreshToken {
        digest: row.digest("digest")?,
        family_id: FamilyId(row.uuid("family_id")?),
        parent: row.opt_digest("parent")?,
        client_id: ClientId(row.text("client_id")?),
        user_id: row.opt_uuid("user_id")?.map(UserId),
        scope: row.scopes("scope")?,
        issued_at: row.ts("issued_at")?,
        expires_at: row.ts("expires_at")?,
        used_at: row.opt_ts("used_at")?,
        revoked_at: row.opt_ts("revoked_at")?,
    })
}

fn access_from_row(row: &AnyRow) -> StoreResult<AccessToken> {
    Ok(AccessToken {
        digest: row.digest("digest")?,
        jti: TokenId(row.uuid("jti")?),
        family_id: row.opt_uuid("family_id")?.map(FamilyId),
        client_id: ClientId(row.text("client_id")?),
        user_id: row.opt_uuid("user_id")?.map(UserId),
        scope: row.scopes("scope")?,
        issued_at: row.ts("issued_at")?,
        expires_at: row.ts("expires_at")?,
        revoked_at: row.opt_ts("revoked_at")?,
    })
}

async fn insert_refresh(conn: &mut AnyConnection, t: &RefreshToken) -> StoreResult<()> {
    sqlx::query(concat!(
        "INSERT INTO refresh_tokens (",
        refresh_cols!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
    ))
    .bind(t.digest.as_bytes().to_vec())
    .bind(t.family_id.to_string())
    .bind(opt_bytes(t.parent.as_ref()))
    .bind(t.client_id.as_str())
    .bind(t.user_id.map(|u| u.to_string()))
    .bind(t.scope.to_string())
    .bind(t.issued_at.as_millis())
    .bind(t.expires_at.as_millis())
    .bind(opt_ms(t.used_at))
    .bind(opt_ms(t.revoked_at))
    .execute(conn)
    .bounded()
    .await
    .map_err(conflict_on("refresh token"))?;
    Ok(())
}

/// Inserts access tokens with one statement (all or none).
async fn insert_access(conn: &mut AnyConnection, tokens: &[AccessToken]) -> StoreResult<()> {
    let sql = format!(
        concat!("INSERT INTO access_tokens (", access_cols!(), ") VALUES {}"),
        values_rows(tokens.len(), 9)
    );
    let mut query = sqlx::query(AssertSqlSafe(sql));
    for t in tokens {
        query = query
            .bind(t.digest.as_bytes().to_vec())
            .bind(t.jti.to_string())
            .bind(t.family_id.map(|f| f.to_string()))
            .bind(t.client_id.as_str().to_owned())
            .bind(t.user_id.map(|u| u.to_string()))
            .bind(t.scope.to_string())
            .bind(t.issued_at.as_millis())
            .bind(t.expires_at.as_millis())
            .bind(opt_ms(t.revoked_at));
    }
    query
        .execute(conn)
        .bounded()
        .await
        .map_err(conflict_on("access token"))?;
    Ok(())
}

/// Most access tokens one grouped INSERT carries (9 parameters each): few enough that the
/// statement fits one TLS record (see AUDIT_ROWS_PER_STATEMENT in `tx.rs`).
const ACCESS_TOKENS_PER_INSERT: usize = 64;

/// Grouped `create_access_token`s: one INSERT, one commit per group. One taken digest or jti
/// fails the statement for all, so then each is retried alone to find whose it was.
pub(super) fn grouped_access_inserts(pool: AnyPool) -> Grouped<AccessToken, ()> {
    let held = Arc::new(HeldConnection::new(pool));
    let idle = held.on_idle();
    let run: RunGroup<AccessToken, ()> = Arc::new(move |tokens: Vec<AccessToken>| {
        let held = held.clone();
        Box::pin(async move {
            let n = tokens.len();
            let mut lent = match held.take().await {
                Ok(lent) => lent,
                Err(e) => return fan_out(e, n),
            };
            match insert_access(&mut lent.conn, &tokens).await {
                Ok(()) => {
                    held.keep(lent);
                    (0..n).map(|_| Ok(())).collect()
                }
                Err(StoreError::Conflict(_)) if n > 1 => {
                    let mut results = Vec::with_capacity(n);
                    for t in &tokens {
                        results.push(insert_access(&mut lent.conn, std::slice::from_ref(t)).await);
                    }
                    results
                }
                Err(e) => fan_out(e, n),
            }
        })
    });
    Grouped::start(ACCESS_TOKENS_PER_INSERT, run, Some(idle))
}

fn digest_key(row: &AnyRow) -> StoreResult<TokenDigest> {
    row.digest("digest")
}

fn bind_digest<'q>(query: AnyQuery<'q>, digest: &TokenDigest) -> AnyQuery<'q> {
    query.bind(digest.as_bytes().to_vec())
}

static ACCESS_LOOKUP: Lookup<TokenDigest, AccessToken> = Lookup {
    head: concat!("SELECT ", access_cols!(), " FROM access_tokens WHERE digest IN ("),
    bind: bind_digest,
    key_of: digest_key,
    parse: access_from_row,
};

/// Grouped `get_access_token`s: one SELECT … IN per group.
pub(super) fn grouped_access_lookups(pool: AnyPool) -> Grouped<TokenDigest, Option<AccessToken>> {
    ACCESS_LOOKUP.grouped(pool)
}

/// Revokes the live families matching `families_where` (a condition on `token_families` using
/// `$1`, and `$3` if `client` is given) and every token in them; returns how many families.
async fn revoke_families_where(
    conn: &mut AnyConnection,
    families_where: &str,
    subject: &str,
    client: Option<&ClientId>,
    now: Timestamp,
) -> StoreResult<u64> {
    let in_families = format!("family_id IN (SELECT id FROM token_families WHERE {families_where})");
    let statements = [
        format!("UPDATE refresh_tokens SET revoked_at = $2 WHERE revoked_at IS NULL AND {in_families}"),
        format!("UPDATE access_tokens SET revoked_at = $2 WHERE revoked_at IS NULL AND {in_families}"),
        format!("UPDATE token_families SET revoked_at = $2 WHERE revoked_at IS NULL AND {families_where}"),
    ];
    let mut families = 0;
    for sql in statements {
        let mut q = sqlx::query(AssertSqlSafe(sql)).bind(subject).bind(now.as_millis());
        if let Some(c) = client {
            q = q.bind(c.as_str());
        }
        families = q.execute(&mut *conn).bounded().await.map_err(db_err)?.rows_affected();
    }
    Ok(families)
}

/// Revokes every family of the user (optionally of one client) with its tokens.
pub(crate) async fn revoke_grants_of_user(
    conn: &mut AnyConnection,
    user: UserId,
    client: Option<&ClientId>,
    now: Timestamp,
) -> StoreResult<u64> {
    let condition = if client.is_some() {
        "user_id = $1 AND client_id = $3"
    } else {
        "user_id = $1"
    };
    revoke_families_where(conn, condition, &user.to_string(), client, now).await
}

#[async_trait]
impl TokenStore for SqlStore {
    async fn create_family(
        &self,
        family: &TokenFamily,
        refresh: Option<&RefreshToken>,
        access: Option<&AccessToken>,
        audit: &[AuditEvent],
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO token_families (id, client_id, user_id, scope, auth_time, created_at, revoked_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(family.id.to_string())
        .bind(family.client_id.as_str())
        .bind(family.user_id.map(|u| u.to_string()))
        .bind(family.scope.to_string())
        .bind(opt_ms(family.auth_time))
        .bind(family.created_at.as_millis())
        .bind(opt_ms(family.revoked_at))
        .execute(&mut *tx)
        .bounded()
        .await
        .map_err(conflict_on("token family"))?;
        if let Some(r) = refresh {
            insert_refresh(&mut tx, r).await?;
        }
        if let Some(a) = access {
            insert_access(&mut tx, std::slice::from_ref(a)).await?;
        }
        insert_audit(&mut tx, audit).await?;
        commit(tx).await
    }

    async fn get_family(&self, id: FamilyId) -> StoreResult<Option<TokenFamily>> {
        let row = sqlx::query(
            "SELECT id, client_id, user_id, scope, auth_time, created_at, revoked_at FROM token_families WHERE id = $1",
        )
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .bounded()
        .await
        .map_err(db_err)?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(TokenFamily {
            id: FamilyId(row.uuid("id")?),
            client_id: ClientId(row.text("client_id")?),
            user_id: row.opt_uuid("user_id")?.map(UserId),
            scope: row.scopes("scope")?,
            auth_time: row.opt_ts("auth_time")?,
            created_at: row.ts("created_at")?,
            revoked_at: row.opt_ts("revoked_at")?,
        }))
    }

    async fn get_refresh_token(&self, digest: &TokenDigest) -> StoreResult<Option<RefreshToken>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            refresh_cols!(),
            " FROM refresh_tokens WHERE digest = $1"
        ))
        .bind(digest.as_bytes().to_vec())
        .fetch_optional(&self.pool)
        .bounded()
        .await
        .map_err(db_err)?;
        row.as_ref().map(refresh_from_row).transpose()
    }

    async fn rotate_refresh_token(
        &self,
        old: &TokenDigest,
        new: &RefreshToken,
        access: Option<&AccessToken>,
        now: Timestamp,
        audit: &[AuditEvent],
    ) -> StoreResult<RefreshRotation> {
        let mut tx = self.begin().await?;
        // Conditional on the token and its family being live: concurrent rotations serialise on
        // the row (PostgreSQL) or the write lock (SQLite), and only the first finds it unused.
        let rotated = sqlx::query(concat!(
            "UPDATE refresh_tokens SET used_at = $2 WHERE digest = $1 AND used_at IS NULL AND revoked_at IS NULL \
             AND NOT EXISTS (SELECT 1 FROM token_families f WHERE f.id = refresh_tokens.family_id \
             AND f.revoked_at IS NOT NULL) RETURNING ",
            refresh_cols!()
        ))
        .bind(old.as_bytes().to_vec())
        .bind(now.as_millis())
        .fetch_optional(&mut *tx)
        .bounded()
        .await
        .map_err(db_err)?;
        if let Some(row) = rotated {
            let mut previous = refresh_from_row(&row)?;
            previous.used_at = None;
            insert_refresh(&mut tx, new).await?;
            if let Some(a) = access {
                insert_access(&mut tx, std::slice::from_ref(a)).await?;
            }
            insert_audit(&mut tx, audit).await?;
            commit(tx).await?;
            return Ok(RefreshRotation::Rotated(previous));
        }
        let found = sqlx::query(concat!(
            "SELECT ",
            refresh_cols!(),
            ", (SELECT f.revoked_at FROM token_families f WHERE f.id = refresh_tokens.family_id) AS family_revoked_at \
             FROM refresh_tokens WHERE digest = $1"
        ))
        .bind(old.as_bytes().to_vec())
        .fetch_optional(&mut *tx)
        .bounded()
        .await
        .map_err(db_err)?;
        tx.rollback().bounded().await.map_err(db_err)?;
        let Some(row) = found else {
            return Ok(RefreshRotation::Unknown);
        };
        let token = refresh_from_row(&row)?;
        let family_revoked = row.opt_int("family_revoked_at")?.is_some();
        Ok(if token.revoked_at.is_some() || family_revoked {
            RefreshRotation::Revoked(token)
        } else {
            RefreshRotation::Reused(token)
        })
    }

    async fn revoke_family(&self, id: FamilyId, now: Timestamp, audit: &[AuditEvent]) -> StoreResult<bool> {
        self.forgetting(&[Table::AccessTokens], async {
            let mut tx = self.begin().await?;
            let exists = sqlx::query("SELECT COUNT(*) AS n FROM token_families WHERE id = $1")
                .bind(id.to_string())
                .fetch_one(&mut *tx)
                .bounded()
                .await
                .map_err(db_err)?
                .try_get::<i64, _>("n")
                .map_err(db_err)?
                > 0;
            if exists {
                revoke_families_where(&mut tx, "id = $1", &id.to_string(), None, now).await?;
            }
            finish_if_changed(tx, exists, audit).await
        })
        .await
    }

    async fn revoke_families_of_user(
        &self,
        user: UserId,
        client: Option<&ClientId>,
        now: Timestamp,
        audit: &[AuditEvent],
    ) -> StoreResult<u64> {
        self.forgetting(&[Table::AccessTokens], async {
            let mut tx = self.begin().await?;
            let n = revoke_grants_of_user(&mut tx, user, client, now).await?;
            insert_audit(&mut tx, audit).await?;
            commit(tx).await?;
            Ok(n)
        })
        .await
    }

    async fn revoke_families_of_client(
        &self,
        client: &ClientId,
        now: Timestamp,
        audit: &[AuditEvent],
    ) -> StoreResult<u64> {
        self.forgetting(&[Table::AccessTokens], async {
            let mut tx = self.begin().await?;
            let n = revoke_families_where(&mut tx, "client_id = $1", client.as_str(), None, now).await?;
            insert_audit(&mut tx, audit).await?;
            commit(tx).await?;
            Ok(n)
        })
        .await
    }

    async fn create_access_token(&self, token: &AccessToken) -> StoreResult<()> {
        self.groups.new_access_tokens.submit(token.clone()).await
    }

    async fn get_access_token(&self, digest: &TokenDigest) -> StoreResult<Option<AccessToken>> {
        self.groups.access_tokens.submit(*digest).await
    }

    async fn revoke_access_token(
        &self,
        digest: &TokenDigest,
        now: Timestamp,
        audit: &[AuditEvent],
    ) -> StoreResult<bool> {
        self.forgetting(&[Table::AccessTokens], async {
            let mut tx = self.begin().await?;
            let done = sqlx::query("UPDATE access_tokens SET revoked_at = $2 WHERE digest = $1 AND revoked_at IS NULL")
                .bind(digest.as_bytes().to_vec())
                .bind(now.as_millis())
                .execute(&mut *tx)
                .bounded()
                .await
                .map_err(db_err)?;
            finish_if_changed(tx, done.rows_affected() > 0, audit).await
        })
        .await
    }
}
