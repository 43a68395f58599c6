//! `CodeStore` on SQL: authorization codes, redeemed at most once even under concurrent attempts.

use async_trait::async_trait;
use keygate_core::Timestamp;
use keygate_core::digest::TokenDigest;
use keygate_core::error::StoreResult;
use keygate_core::ids::{ClientId, FamilyId, UserId};
use keygate_core::model::{AuthorizationCode, CodeRedemption};
use keygate_core::store::CodeStore;
use sqlx::any::AnyRow;

use super::SqlStore;
use super::bounded::Bounded;
use super::error::{conflict_on, db_err};
use super::rows::{RowExt, opt_ms, to_json};

macro_rules! code_cols {
    () => {
        "digest, client_id, user_id, redirect_uri, scope, nonce, code_challenge, code_challenge_method, \
         auth_time, amr, created_at, expires_at, used_at, family_id"
    };
}

fn code_from_row(row: &AnyRow) -> StoreResult<AuthorizationCode> {
    Ok(AuthorizationCode {
        digest: row.digest("digest")?,
        client_id: ClientId(row.text("client_id")?),
        user_id: UserId(row.uuid("user_id")?),
        redirect_uri: row.text("redirect_uri")?,
        scope: row.scopes("scope")?,
        nonce: row.opt_text("nonce")?,
        code_challenge: row.opt_text("code_challenge")?,
        code_challenge_method: row.opt_text("code_challenge_method")?,
        auth_time: row.ts("auth_time")?,
        amr: row.json("amr")?,
        created_at: row.ts("created_at")?,
        expires_at: row.ts("expires_at")?,
        used_at: row.opt_ts("used_at")?,
        family_id: row.opt_uuid("family_id")?.map(FamilyId),
    })
}

#[async_trait]
impl CodeStore for SqlStore {
    async fn create_code(&self, code: &AuthorizationCode) -> StoreResult<()> {
        sqlx::query(concat!(
            "INSERT INTO authorization_codes (",
            code_cols!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
        ))
        .bind(code.digest.as_bytes().to_vec())
        .bind(code.client_id.as_str())
        .bind(code.user_id.to_string())
        .bind(code.redirect_uri.as_str())
        .bind(code.scope.to_string())
        .bind(code.nonce.clone())
        .bind(code.code_challenge.clone())
        .bind(code.code_challenge_method.clone())
        .bind(code.auth_time.as_millis())
        .bind(to_json(&code.amr)?)
        .bind(code.created_at.as_millis())
        .bind(code.expires_at.as_millis())
        .bind(opt_ms(code.used_at))
        .bind(code.family_id.map(|f| f.to_string()))
        .execute(&self.pool)
        .bounded()
        .await
        .map_err(conflict_on("code"))?;
        Ok(())
    }

    async fn redeem_code(&self, digest: &TokenDigest, family: FamilyId, now: Timestamp) -> StoreResult<CodeRedemption> {
        // The row lock (PostgreSQL) or the database write lock (SQLite) serialises concurrent
        // redemptions; each re-checks `used_at IS NULL`, so exactly one updates the row.
        let redeemed = sqlx::query(concat!(
            "UPDATE authorization_codes SET used_at = $2, family_id = $3 WHERE digest = $1 AND used_at IS NULL \
             RETURNING ",
            code_cols!()
        ))
        .bind(digest.as_bytes().to_vec())
        .bind(now.as_millis())
        .bind(family.to_string())
        .fetch_optional(&self.pool)
        .bounded()
        .await
        .map_err(db_err)?;
        if let Some(row) = redeemed {
            let mut code = code_from_row(&row)?;
            // Returned as it was before this redemption.
            code.used_at = None;
            code.family_id = None;
            return Ok(CodeRedemption::Redeemed(code));
        }
        Ok(match self.get_code(digest).await? {
            Some(code) => CodeRedemption::Replayed(code),
            None => CodeRedemption::Unknown,
        })
    }

    async fn get_code(&self, digest: &TokenDigest) -> StoreResult<Option<AuthorizationCode>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            code_cols!(),
            " FROM authorization_codes WHERE digest = $1"
        ))
        .bind(digest.as_bytes().to_vec())
        .fetch_optional(&self.pool)
        .bounded()
        .await
        .map_err(db_err)?;
        row.as_ref().map(code_from_row).transpose()
    }
}
