//! PostgreSQL's side of the in-memory cache (`near/`): one connection that LISTENs on the change
//! channel and hands every notification to the cache, and the heartbeats that tell the cache its
//! listener is current. Both tasks end when the cache is dropped or the pool is closed.

use std::str::FromStr;
use std::sync::{Arc, Weak};
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use sqlx::{AnyPool, AssertSqlSafe};

use crate::near::{BEAT_EVERY, CHANNEL, NearCache};

/// With no notification (not even a beat) for this long, the connection is presumed dead and
/// replaced.
const SILENT_FOR: Duration = Duration::from_secs(3);
/// Between attempts to listen again.
const RETRY_AFTER: Duration = Duration::from_millis(500);

/// Starts listening for `near` on the database of `url`; beats go through `pool`.
pub(super) fn start(near: &Arc<NearCache>, pool: AnyPool, url: String) {
    tokio::spawn(listen(Arc::downgrade(near), pool.clone(), url));
    tokio::spawn(beat(Arc::downgrade(near), pool));
}

async fn listen(near: Weak<NearCache>, pool: AnyPool, url: String) {
    let mut was_listening = true;
    loop {
        match near.upgrade() {
            Some(cache) => cache.stop_trusting(),
            None => return,
        }
        if pool.is_closed() {
            return;
        }
        match open_listener(&url).await {
            Ok(mut listener) => {
                match near.upgrade() {
                    Some(cache) => {
                        cache.start_listening();
                        // A first beat on the listening connection itself, so the cache is
                        // trusted without waiting for the next one through the pool.
                        let first = notify_beat(&cache);
                        let _ = sqlx::raw_sql(AssertSqlSafe(first)).execute(&mut listener).await;
                    }
                    None => return,
                }
                if !was_listening {
                    tracing::info!("listening for changes again; the in-memory cache is back in use");
                }
                was_listening = true;
                let why = match current_schema(&mut listener).await {
                    Ok(schema) => relay(&mut listener, &near, &schema).await,
                    Err(_) => "the connection failed",
                };
                tracing::warn!(
                    reason = why,
                    "lost the change notifications; the in-memory cache is bypassed until they are back"
                );
            }
            Err(err) => {
                if was_listening {
                    tracing::warn!(error = %err, "cannot listen for changes; the in-memory cache is bypassed");
                }
                was_listening = false;
            }
        }
        tokio::time::sleep(RETRY_AFTER).await;
    }
}

/// The schema the store's tables are in (the first of the URL's `search_path`).
async fn current_schema(listener: &mut PgListener) -> Result<String, sqlx::Error> {
    let (schema,): (String,) = sqlx::query_as("SELECT current_schema()::text")
        .fetch_one(listener)
        .await?;
    Ok(schema)
}

/// Hands notifications to the cache until the connection fails or falls silent: heartbeats, and
/// changed tables of `schema` (`schema.table`; other schemas' changes are not ours).
async fn relay(listener: &mut PgListener, near: &Weak<NearCache>, schema: &str) -> &'static str {
    loop {
        match tokio::time::timeout(SILENT_FOR, listener.try_recv()).await {
            Ok(Ok(Some(notification))) => {
                let Some(cache) = near.upgrade() else {
                    return "the cache was dropped";
                };
                let payload = notification.payload();
                match payload.rsplit_once('.') {
                    Some((of, table)) if of == schema => cache.heard(table),
                    Some(_) => {}
                    None => cache.heard(payload),
                }
            }
            Ok(Ok(None)) => return "the connection was closed",
            Ok(Err(_)) => return "the connection failed",
            Err(_) => return "no notification, not even a heartbeat, for 3 s",
        }
    }
}

async fn open_listener(url: &str) -> Result<PgListener, sqlx::Error> {
    let options = PgConnectOptions::from_str(url)?;
    // `keygate-changes`, or the operator's own name with ` changes` after it.
    let name = options
        .get_application_name()
        .map_or_else(|| "keygate-changes".to_owned(), |name| format!("{name} changes"));
    let options = options.application_name(&name);
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(options)
        .await?;
    let mut listener = PgListener::connect_with(&pool).await?;
    listener.eager_reconnect(false);
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

async fn beat(near: Weak<NearCache>, pool: AnyPool) {
    let mut every = tokio::time::interval(BEAT_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let Some(cache) = near.upgrade() else { return };
        if pool.is_closed() {
            return;
        }
        let notify = notify_beat(&cache);
        drop(cache);
        // A beat that fails or is late only lets trust lapse; the next one tries again.
        let _ = tokio::time::timeout(BEAT_EVERY * 4, sqlx::raw_sql(AssertSqlSafe(notify)).execute(&pool)).await;
    }
}

/// The statement that sends `cache`'s next beat. The payload is ours (letters, digits and
/// colons), so it can be a literal.
fn notify_beat(cache: &NearCache) -> String {
    format!("NOTIFY {CHANNEL}, '{}'", cache.beat())
}
