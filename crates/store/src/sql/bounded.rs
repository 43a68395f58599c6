//! A client-side time limit on every statement, so that a database that stops answering (a black
//! hole: packets vanish, the connection stays open) fails a request with `Unavailable` after the
//! query timeout instead of holding it until the HTTP request timeout. PostgreSQL also gets the
//! same `statement_timeout`, which bounds slow queries on the server side.
//!
//! The limit is per process (the pools a process opens share it; Keygate opens one), so that
//! helpers without a store handle, such as the audit insert inside a transaction, are bounded too.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Milliseconds a statement may take; set when a pool is opened.
static QUERY_TIMEOUT_MS: AtomicU64 = AtomicU64::new(5_000);

pub(crate) fn set_query_timeout(limit: Duration) {
    let ms = u64::try_from(limit.as_millis()).unwrap_or(u64::MAX).max(1);
    QUERY_TIMEOUT_MS.store(ms, Ordering::Relaxed);
}

pub(crate) fn query_timeout() -> Duration {
    Duration::from_millis(QUERY_TIMEOUT_MS.load(Ordering::Relaxed))
}

/// `.bounded()` on a statement's future: its result, or an I/O timeout (an outage) past the limit.
/// Dropping the statement on timeout drops its connection too, so a half-answered connection is
/// never reused.
pub(crate) trait Bounded<T>: Future<Output = Result<T, sqlx::Error>> + Sized {
    fn bounded(self) -> impl Future<Output = Result<T, sqlx::Error>> {
        async move {
            let limit = query_timeout();
            match tokio::time::timeout(limit, self).await {
                Ok(result) => result,
                Err(_) => {
                    metrics::counter!(crate::telemetry::DB_TIMEOUTS).increment(1);
                    Err(sqlx::Error::Io(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        format!("the database did not answer within {} ms", limit.as_millis()),
                    )))
                }
            }
        }
    }
}

impl<T, F: Future<Output = Result<T, sqlx::Error>>> Bounded<T> for F {}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_statement_past_the_limit_is_an_outage() {
        set_query_timeout(Duration::from_millis(200));
        let hung = std::future::pending::<Result<(), sqlx::Error>>();
        let started = std::time::Instant::now();
        let err = tokio::time::timeout(Duration::from_secs(10), hung.bounded())
            .await
            .expect("bounded by the query timeout")
            .unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(2));
        assert!(super::super::error::db_err(err).is_unavailable());
    }
}
