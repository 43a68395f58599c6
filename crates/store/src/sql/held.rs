//! The connection that a grouped statement's pump keeps between groups.
//!
//! sqlx pings every connection it takes back into its pool (a round trip that wakes the database
//! once more per statement); a pump that runs group after group keeps its connection instead. It
//! gives it back as soon as no request is waiting (so an idle pump never holds a connection other
//! work needs), after an error (the pool then tests or closes it), and after a while in any case,
//! so that the pool's lifetime limits and a database failover still reach it.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use keygate_core::error::StoreResult;
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyPool};

use super::error::db_err;
use crate::grouped::OnIdle;

/// A kept connection goes back to the pool after this long, however busy.
const HOLD_LIMIT: Duration = Duration::from_secs(60);
/// Pumps keep connections only in a pool at least this large: the three pumps then hold at most
/// half of it, and the other statements never wait for them.
const KEEP_IN_POOLS_OF: u32 = 6;

struct Kept {
    conn: PoolConnection<Any>,
    since: Instant,
}

pub(crate) struct HeldConnection {
    pool: AnyPool,
    kept: Mutex<Option<Kept>>,
    /// Whether the pool is large enough to keep a connection in (see `KEEP_IN_POOLS_OF`).
    may_keep: bool,
}

/// A connection lent by [`HeldConnection::take`]; hand it back with [`HeldConnection::keep`].
pub(crate) struct Lent {
    pub conn: PoolConnection<Any>,
    since: Instant,
}

impl HeldConnection {
    pub(crate) fn new(pool: AnyPool) -> Self {
        HeldConnection {
            may_keep: pool.options().get_max_connections() >= KEEP_IN_POOLS_OF,
            pool,
            kept: Mutex::new(None),
        }
    }

    /// The kept connection if it is still fit, else one from the pool.
    pub(crate) async fn take(&self) -> StoreResult<Lent> {
        let kept = self.kept.lock().ok().and_then(|mut k| k.take());
        if let Some(k) = kept {
            if k.since.elapsed() < HOLD_LIMIT {
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

    /// Gives the kept connection back to the pool (nothing is waiting for the pump).
    pub(crate) fn release(&self) {
        let kept = self.kept.lock().ok().and_then(|mut k| k.take());
        drop(kept);
    }

    /// The pump's idle hook: [`HeldConnection::release`].
    pub(crate) fn on_idle(self: &Arc<Self>) -> OnIdle {
        let held = self.clone();
        Arc::new(move || held.release())
    }

    /// Keeps a connection whose statement succeeded for the next group. (After a failure, drop the
    /// [`Lent`] instead: the pool decides whether the connection is still usable.)
    pub(crate) fn keep(&self, lent: Lent) {
        if !self.may_keep {
            return;
        }
        if let Ok(mut kept) = self.kept.lock() {
            *kept = Some(Kept {
                conn: lent.conn,
                since: lent.since,
            });
        }
    }
}
