//! Turns sqlx errors into `StoreError`, keeping the cause: an outage is `Unavailable`, never "not found".

use keygate_core::error::StoreError;
use sqlx::error::DatabaseError;
use sqlx::postgres::PgDatabaseError;
use sqlx::sqlite::SqliteError;

/// Maps an error from a statement that cannot break a uniqueness rule (or where the caller has
/// nothing better to name than "record").
pub(crate) fn db_err(e: sqlx::Error) -> StoreError {
    classify(e, "record")
}

/// Maps an error from an insert or update whose unique violation means `field` is taken.
pub(crate) fn conflict_on(field: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |e| classify(e, field)
}

/// Whether the error means the database could not be reached, timed out or is shutting down.
pub(crate) fn is_outage(e: &sqlx::Error) -> bool {
    use sqlx::Error as E;
    match e {
        E::PoolTimedOut | E::PoolClosed | E::Io(_) | E::Tls(_) | E::WorkerCrashed | E::BeginFailed => true,
        E::Protocol(_) => true,
        E::Database(db) => is_transient(db.as_ref()),
        _ => false,
    }
}

fn classify(e: sqlx::Error, conflict_field: &'static str) -> StoreError {
    use sqlx::Error as E;
    if matches!(e, E::PoolTimedOut) {
        // Every connection stayed busy (or none could be opened) for `acquire_timeout`.
        metrics::counter!(super::pool_metrics::POOL_TIMEOUTS).increment(1);
    }
    if is_outage(&e) {
        return StoreError::Unavailable(Box::new(e));
    }
    match e {
        E::Database(db) => {
            if db.is_unique_violation() {
                StoreError::Conflict(conflict_field)
            } else if db.is_foreign_key_violation() {
                StoreError::NotFound("referenced record")
            } else {
                StoreError::Internal(Box::new(E::Database(db)))
            }
        }
        E::ColumnDecode { .. } | E::Decode(_) | E::ColumnNotFound(_) | E::ColumnIndexOutOfBounds { .. } => {
            StoreError::Corrupt(e.to_string())
        }
        other => StoreError::Internal(Box::new(other)),
    }
}

/// Lock timeouts, connection loss and server shutdown: the request may succeed if retried.
fn is_transient(db: &dyn DatabaseError) -> bool {
    if let Some(pg) = db.try_downcast_ref::<PgDatabaseError>() {
        let code = pg.code();
        // 08: connection exception; 53: insufficient resources; 57P01-03: shutting down or
        // starting; 40001/40P01: serialization failure, deadlock; 55P03: lock not available.
        return code.starts_with("08")
            || code.starts_with("53")
            || matches!(code, "57P01" | "57P02" | "57P03" | "40001" | "40P01" | "55P03");
    }
    if db.try_downcast_ref::<SqliteError>().is_some() {
        // SQLITE_BUSY (5) and SQLITE_LOCKED (6), with their extended codes: the busy timeout ran out.
        let primary = db.code().and_then(|c| c.parse::<i32>().ok()).map(|c| c & 0xff);
        return matches!(primary, Some(5) | Some(6));
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_timeouts_are_outages_not_missing_records() {
        assert!(db_err(sqlx::Error::PoolTimedOut).is_unavailable());
        assert!(db_err(sqlx::Error::PoolClosed).is_unavailable());
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        assert!(db_err(sqlx::Error::Io(io)).is_unavailable());
    }

    #[test]
    fn decode_problems_are_corruption() {
        let e = db_err(sqlx::Error::ColumnNotFound("x".into()));
        assert!(matches!(e, StoreError::Corrupt(_)));
    }
}
