//! The connection that a grouped statement's pump keeps between groups.
//!
//! sqlx pings every connection it takes back into its pool (a round trip that wakes the database
//! once more per statement); a pump that runs group after group keeps its connection instead. It
//! gives it back after an error (the pool then tests or closes it), when it has been idle long
//! enough for the database to have gone away meanwhile, and after a while in any case, so that the
//! pool's lifetime limits and a database failover still reach it.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use keygate_core::error::StoreResult;
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyPool};

use super::error::db_err;

/// A kept connection idle longer than this goes back to the pool, which tests it before reuse.
const IDLE_LIMIT: Duration = Duration::from_secs(5);
/// A kept connection goes back to the pool after this long, however busy.
const HOLD_LIMIT: Duration = Duration::from_secs(60);

struct Kept {
    conn: PoolConnection<Any>,
    since: Instant,
    used: Instant,
}

pub(crate) struct HeldConnection {
    pool: AnyPool,
    kept: Mutex<Option<Kept>>,
}

/// A connection lent by [`HeldConnection::take`]; hand it back with [`HeldConnection::keep`].
pub(crate) struct Lent {
    pub conn: PoolConnection<Any>,
    since: Instant,
}

impl HeldConnection {
    pub(crate) fn new(pool: AnyPool) -> Self {
        HeldConnection {
            pool,
            kept: Mutex::new(None),
        }
    }

    /// The kept connection if it is still fit, else one from the pool.
    pub(crate) async fn take(&self) -> StoreResult<Lent> {
        let kept = self.kept.lock().ok().and_then(|mut k| k.take());
        if let Some(k) = kept {
            if k.used.elapsed() < IDLE_LIMIT && k.since.elapsed() < HOLD_LIMIT {
                return Ok(Lent {
                    conn: k.conn,
                    since: k.since,
                });
            }
            drop(k.conn);
        }
        let conn = self.pool.acquire().await.map_err(db_err)?;
        Ok(Lent {
            conn,
            since: Instant::now(),
        })
    }

    /// Keeps a connection whose statement succeeded for the next group. (After a failure, drop the
    /// [`Lent`] instead: the pool decides whether the connection is still usable.)
    pub(crate) fn keep(&self, lent: Lent) {
        if let Ok(mut kept) = self.kept.lock() {
            *kept = Some(Kept {
                conn: lent.conn,
                since: lent.since,
                used: Instant::now(),
            });
        }
    }
}
