//! `ClientStore` on SQL: registered OAuth clients; deleting one takes its grants with it.

use async_trait::async_trait;
use keygate_core::Timestamp;
use keygate_core::digest::TokenDigest;
use keygate_core::error::{StoreError, StoreResult};
use keygate_core::ids::ClientId;
use keygate_core::model::{AuditEvent, AuthMethod, Client, GrantType, SigningAlg, TokenFormat};
use keygate_core::paging::{Page, PageRequest};
use keygate_core::store::ClientStore;
use sqlx::AnyPool;
use sqlx::any::AnyRow;

use super::SqlStore;
use super::bounded::Bounded;
use super::error::{conflict_on, db_err};
use super::lookup::{AnyQuery, Lookup};
use super::rows::{RowExt, flag, opt_bytes, to_json};
use super::tx::{commit, finish_if_changed, insert_audit};
use super::users::page_by;
use crate::grouped::Grouped;
use crate::near::Table;

macro_rules! client_cols {
    () => {
        "id, secret_digest, name, auth_method, redirect_uris, post_logout_redirect_uris, grant_types, scope, \
         access_token_format, access_token_alg, id_token_alg, first_party, created_at, updated_at"
    };
}

/// Binds every column of `client_cols!()`, in that order, as `$1`…`$14` (insert and update share it).
fn bind_client<'q>(
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    client: &Client,
) -> StoreResult<sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>> {
    Ok(query
        .bind(client.id.0.clone())
        .bind(opt_bytes(client.secret_digest.as_ref()))
        .bind(client.name.clone())
        .bind(client.auth_method.as_str())
        .bind(to_json(&client.redirect_uris)?)
        .bind(to_json(&client.post_logout_redirect_uris)?)
        .bind(to_json(&grant_names(client))?)
        .bind(client.scope.to_string())
        .bind(client.access_token_format.as_str())
        .bind(client.access_token_alg.map(SigningAlg::as_str))
        .bind(client.id_token_alg.map(SigningAlg::as_str))
        .bind(flag(client.first_party))
        .bind(client.created_at.as_millis())
        .bind(client.updated_at.as_millis()))
}

fn client_from_row(row: &AnyRow) -> StoreResult<Client> {
    let grant_names: Vec<String> = row.json("grant_types")?;
    let grant_types = grant_names
        .iter()
        .map(|g| GrantType::parse(g).ok_or_else(|| StoreError::Corrupt(format!("column grant_types: {g:?}"))))
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(Client {
        id: ClientId(row.text("id")?),
        secret_digest: row.opt_digest("secret_digest")?,
        name: row.text("name")?,
        auth_method: row.named("auth_method", AuthMethod::parse)?,
        redirect_uris: row.json("redirect_uris")?,
        post_logout_redirect_uris: row.json("post_logout_redirect_uris")?,
        grant_types,
        scope: row.scopes("scope")?,
        access_token_format: row.named("access_token_format", TokenFormat::parse)?,
        access_token_alg: row.opt_named("access_token_alg", SigningAlg::parse)?,
        id_token_alg: row.opt_named("id_token_alg", SigningAlg::parse)?,
        first_party: row.flag("first_party")?,
        created_at: row.ts("created_at")?,
        updated_at: row.ts("updated_at")?,
    })
}

fn client_key(row: &AnyRow) -> StoreResult<ClientId> {
    Ok(ClientId(row.text("id")?))
}

fn bind_client_id<'q>(query: AnyQuery<'q>, id: &ClientId) -> AnyQuery<'q> {
    query.bind(id.0.clone())
}

static CLIENT_LOOKUP: Lookup<ClientId, Client> = Lookup {
    head: concat!("SELECT ", client_cols!(), " FROM clients WHERE id IN ("),
    bind: bind_client_id,
    key_of: client_key,
    parse: client_from_row,
};

/// Grouped `get_client`s: one SELECT … IN per group.
pub(super) fn grouped_client_lookups(pool: AnyPool) -> Grouped<ClientId, Option<Client>> {
    CLIENT_LOOKUP.grouped(pool)
}

fn grant_names(client: &Client) -> Vec<&'static str> {
    client.grant_types.iter().map(|g| g.as_str()).collect()
}

#[async_trait]
impl ClientStore for SqlStore {
    async fn create_client(&self, client: &Client, audit: &[AuditEvent]) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        bind_client(
            sqlx::query(concat!(
                "INSERT INTO clients (",
                client_cols!(),
                ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
            )),
            client,
        )?
        .execute(&mut *tx)
        .bounded()
        .await
        .map_err(conflict_on("client_id"))?;
        insert_audit(&mut tx, audit).await?;
        commit(tx).await
    }

    async fn get_client(&self, id: &ClientId) -> StoreResult<Option<Client>> {
        self.groups.clients.submit(id.clone()).await
    }

    async fn update_client(&self, client: &Client, audit: &[AuditEvent]) -> StoreResult<()> {
        self.forgetting(&[Table::Clients], async {
            let mut tx = self.begin().await?;
            let done = bind_client(
                sqlx::query(
                    "UPDATE clients SET secret_digest = $2, name = $3, auth_method = $4, redirect_uris = $5, \
                     post_logout_redirect_uris = $6, grant_types = $7, scope = $8, access_token_format = $9, \
                     access_token_alg = $10, id_token_alg = $11, first_party = $12, created_at = $13, updated_at = $14 \
                     WHERE id = $1",
                ),
                client,
            )?
            .execute(&mut *tx)
            .bounded()
            .await
            .map_err(db_err)?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound("client"));
            }
            insert_audit(&mut tx, audit).await?;
            commit(tx).await
        })
        .await
    }

    async fn set_client_secret(
        &self,
        id: &ClientId,
        digest: &TokenDigest,
        now: Timestamp,
        audit: &[AuditEvent],
    ) -> StoreResult<()> {
        self.forgetting(&[Table::Clients], async {
            let mut tx = self.begin().await?;
            let done = sqlx::query("UPDATE clients SET secret_digest = $2, updated_at = $3 WHERE id = $1")
                .bind(id.as_str())
                .bind(digest.as_bytes().to_vec())
                .bind(now.as_millis())
                .execute(&mut *tx)
                .bounded()
                .await
                .map_err(db_err)?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound("client"));
            }
            insert_audit(&mut tx, audit).await?;
            commit(tx).await
        })
        .await
    }

    async fn delete_client(&self, id: &ClientId, audit: &[AuditEvent]) -> StoreResult<bool> {
        self.forgetting(&[Table::Clients, Table::AccessTokens], async {
            // Dependents first, one statement per table (the foreign keys cascade too, but this does
            // not rely on SQLite's foreign_keys pragma being on).
            const STATEMENTS: [&str; 6] = [
                "DELETE FROM consents WHERE client_id = $1",
                "DELETE FROM authorization_codes WHERE client_id = $1",
                "DELETE FROM access_tokens WHERE client_id = $1",
                "DELETE FROM refresh_tokens WHERE client_id = $1",
                "DELETE FROM token_families WHERE client_id = $1",
                "DELETE FROM clients WHERE id = $1",
            ];
            let mut tx = self.begin().await?;
            let mut deleted = 0;
            for sql in STATEMENTS {
                let done = sqlx::query(sql)
                    .bind(id.as_str())
                    .execute(&mut *tx)
                    .bounded()
                    .await
                    .map_err(db_err)?;
                deleted = done.rows_affected();
            }
            finish_if_changed(tx, deleted > 0, audit).await
        })
        .await
    }

    async fn list_clients(&self, page: &PageRequest) -> StoreResult<Page<Client>> {
        let limit = i64::from(page.effective_limit());
        let rows = match &page.after {
            None => {
                sqlx::query(concat!("SELECT ", client_cols!(), " FROM clients ORDER BY id LIMIT $1")).bind(limit + 1)
            }
            Some(after) => sqlx::query(concat!(
                "SELECT ",
                client_cols!(),
                " FROM clients WHERE id > $2 ORDER BY id LIMIT $1"
            ))
            .bind(limit + 1)
            .bind(after.clone()),
        }
        .fetch_all(&self.pool)
        .bounded()
        .await
        .map_err(db_err)?;
        let clients = rows.iter().map(client_from_row).collect::<StoreResult<Vec<_>>>()?;
        Ok(page_by(clients, limit, |c| c.id.0.clone()))
    }
}
