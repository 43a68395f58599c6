//! Opening the pool: SQLite (file created if missing, WAL, busy timeout, foreign keys) or
//! PostgreSQL (bounded acquire timeout, so an outage is a fast error rather than a hang; and
//! `statement_timeout`, so a statement the client gave up on stops on the server too).

use std::sync::Once;
use std::time::Duration;

use keygate_core::error::{StoreError, StoreResult};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AssertSqlSafe, ConnectOptions, Connection};

use super::error::db_err;
use super::{Dialect, SqlOptions, SqlStore};

static DRIVERS: Once = Once::new();

/// A pooled connection idle this long is pinged before it is handed out.
const CHECK_IF_IDLE_FOR: Duration = Duration::from_secs(30);

pub(super) async fn open(url: &str, opts: &SqlOptions) -> StoreResult<SqlStore> {
    DRIVERS.call_once(sqlx::any::install_default_drivers);
    super::bounded::set_query_timeout(opts.query_timeout);
    let dialect = Dialect::from_url(url).ok_or_else(|| {
        StoreError::Internal(
            format!(
                "unsupported database URL scheme in {:?}; expected sqlite://PATH or postgres://…",
                scheme(url)
            )
            .into(),
        )
    })?;
    let pool_options = AnyPoolOptions::new()
        .max_connections(opts.max_connections.max(1))
        .min_connections(opts.min_connections.min(opts.max_connections.max(1)))
        .idle_timeout(opts.idle_timeout)
        .max_lifetime(opts.max_lifetime)
        .acquire_timeout(opts.acquire_timeout)
        // sqlx pings every connection on release already; pinging again on every acquire would
        // add a round trip to each query. Only a connection idle for a while (perhaps cut by a
        // database restart) is checked before use.
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for < CHECK_IF_IDLE_FOR {
                    return Ok(true);
                }
                conn.ping().await.map(|()| true)
            })
        });
    let pool = match dialect {
        Dialect::Sqlite => {
            let url = sqlite_url(url);
            prepare_sqlite_file(&url, opts).await?;
            let pragmas = sqlite_pragmas(opts);
            pool_options
                .after_connect(move |conn, _meta| {
                    let pragmas = pragmas.clone();
                    Box::pin(async move {
                        sqlx::raw_sql(AssertSqlSafe(pragmas)).execute(conn).await?;
                        Ok(())
                    })
                })
                .connect(&url)
                .await
        }
        Dialect::Postgres => {
            // The server gives up on a statement (and an abandoned transaction) after the same
            // limit the client waits, so a query the client stopped waiting for stops running.
            let limits = format!(
                "SET statement_timeout = {ms}; SET idle_in_transaction_session_timeout = {ms};",
                ms = opts.query_timeout.as_millis().max(1)
            );
            pool_options
                .after_connect(move |conn, _meta| {
                    let limits = limits.clone();
                    Box::pin(async move {
                        sqlx::raw_sql(AssertSqlSafe(limits)).execute(conn).await?;
                        Ok(())
                    })
                })
                .connect(url)
                .await
        }
    }
    .map_err(db_err)?;
    Ok(SqlStore {
        groups: super::Groups::start(&pool),
        pool,
        dialect,
        url: url.to_owned(),
        near: std::sync::OnceLock::new(),
    })
}

fn scheme(url: &str) -> &str {
    url.split_once(':').map_or(url, |(s, _)| s)
}

/// Adds `mode=rwc` (create the file if missing) unless the URL chose a mode itself.
fn sqlite_url(url: &str) -> String {
    if url.contains("mode=") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    }
}

/// Per-connection settings: the busy timeout (wait for another writer instead of failing),
/// foreign keys, and `synchronous = NORMAL`, which is durable enough under WAL.
fn sqlite_pragmas(opts: &SqlOptions) -> String {
    format!(
        "PRAGMA busy_timeout = {}; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;",
        opts.busy_timeout.as_millis()
    )
}

/// Creates the file and switches it to WAL once, on a single connection: the journal mode is
/// stored in the file, and switching needs no other connection to be open.
async fn prepare_sqlite_file(url: &str, opts: &SqlOptions) -> StoreResult<()> {
    let options: AnyConnectOptions = url.parse().map_err(db_err)?;
    let mut conn = options.connect().await.map_err(db_err)?;
    let setup = format!("{} PRAGMA journal_mode = WAL;", sqlite_pragmas(opts));
    let result = sqlx::raw_sql(AssertSqlSafe(setup)).execute(&mut conn).await;
    let _ = conn.close().await;
    result.map(|_| ()).map_err(db_err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_create_the_file_unless_told_otherwise() {
        assert_eq!(sqlite_url("sqlite://k.db"), "sqlite://k.db?mode=rwc");
        assert_eq!(
            sqlite_url("sqlite://k.db?cache=shared"),
            "sqlite://k.db?cache=shared&mode=rwc"
        );
        assert_eq!(sqlite_url("sqlite://k.db?mode=ro"), "sqlite://k.db?mode=ro");
    }
}
