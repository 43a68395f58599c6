//! The in-memory cache of clients and opaque access tokens (PostgreSQL): the two lookups behind
//! every token and introspection request, answered without a round trip.
//!
//! # Why it cannot serve a changed record for long
//!
//! - Every statement that changes or removes rows of `clients` or `access_tokens` (or truncates
//!   them) notifies channel `keygate_changes` with `schema.table` when it commits: triggers do it
//!   (migration 0003), so it holds for any writer, an older Keygate, a copy or an operator's own
//!   SQL. Each instance listens on a dedicated connection (`sql/changes.rs`) and clears that
//!   table's shelf when the schema is its own.
//! - This instance's own writes clear the shelf as soon as they return (the SQL store calls
//!   [`NearCache::forget`]), so a request never reads around its own instance's write.
//! - A lookup that missed fills only if no clear happened since it started (`shelf.rs`), so a
//!   record read just before a change cannot outlive the change's notification.
//! - The cache is trusted only while the listener hears its own heartbeat: every 250 ms an
//!   instance notifies the channel with the time it sent the beat, and PostgreSQL delivers a
//!   connection's notifications in commit order, so hearing a beat proves every change committed
//!   before it was sent has been heard. Lookups bypass the cache when the newest beat heard was
//!   sent over a second ago (the listener is cut off, slow or reconnecting); a new listening
//!   connection clears everything first, as notifications sent while none listened are lost.
//!
//! Another instance's write is therefore seen within the time its notification takes to arrive
//! (about a millisecond), and within a second at worst. Absent records are never kept, so a new
//! client or token needs no notification. Records live 60 s at most, as a backstop.
//!
//! SQLite has no notifications and needs no such cache (a lookup there is a local read); the
//! memory backend is its own cache.

mod shelf;
mod stores;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use keygate_core::digest::TokenDigest;
use keygate_core::ids::ClientId;
use keygate_core::model::{AccessToken, Client};

use shelf::Shelf;
pub use stores::layer_near;

/// The channel the triggers of migration 0003 and the heartbeats notify.
pub(crate) const CHANNEL: &str = "keygate_changes";
/// How often an instance sends itself a heartbeat through the channel.
pub(crate) const BEAT_EVERY: Duration = Duration::from_millis(250);
/// The cache is bypassed once the newest beat heard was sent longer ago than this.
const TRUST_MS: u64 = 1_000;
/// A record is refetched after this long even if nothing said it changed.
const MAX_AGE: Duration = Duration::from_secs(60);
const MAX_CLIENTS: usize = 10_000;
const MAX_ACCESS_TOKENS: usize = 100_000;

/// A table whose rows the cache keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Table {
    Clients,
    AccessTokens,
}

impl Table {
    fn from_name(name: &str) -> Option<Table> {
        match name {
            "clients" => Some(Table::Clients),
            "access_tokens" => Some(Table::AccessTokens),
            _ => None,
        }
    }
}

/// How one lookup went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    Hit,
    Miss,
    /// The cache was not trusted (its change notifications were not current).
    Bypassed,
}

/// How often the cache answered, missed, or was bypassed because it could not be trusted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NearStats {
    pub hits: u64,
    pub misses: u64,
    pub bypassed: u64,
}

/// One instance's cache of clients and access tokens; see the module docs.
pub struct NearCache {
    clients: Shelf<ClientId, Client>,
    access_tokens: Shelf<TokenDigest, AccessToken>,
    /// Names this instance's heartbeats among those of the fleet.
    instance: String,
    born: Instant,
    /// When the newest beat heard was sent (ms since `born`, +1); 0 while not listening.
    heard: AtomicU64,
    hits: AtomicU64,
    misses: AtomicU64,
    bypassed: AtomicU64,
    /// Tests only: table notifications are ignored, to show what the store's own clears do.
    deaf: std::sync::atomic::AtomicBool,
}

impl NearCache {
    pub(crate) fn new() -> Self {
        NearCache {
            clients: Shelf::new(MAX_CLIENTS, MAX_AGE),
            access_tokens: Shelf::new(MAX_ACCESS_TOKENS, MAX_AGE),
            instance: uuid::Uuid::new_v4().simple().to_string(),
            born: Instant::now(),
            heard: AtomicU64::new(0),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            bypassed: AtomicU64::new(0),
            deaf: std::sync::atomic::AtomicBool::new(false),
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.born.elapsed().as_millis()).unwrap_or(u64::MAX) + 1
    }

    /// Whether a beat sent within the last second has been heard.
    pub fn trusted(&self) -> bool {
        let heard = self.heard.load(Ordering::Acquire);
        heard != 0 && self.now_ms().saturating_sub(heard) <= TRUST_MS
    }

    pub fn stats(&self) -> NearStats {
        NearStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            bypassed: self.bypassed.load(Ordering::Relaxed),
        }
    }

    /// For tests: ignore (or heed again) the database's notifications of changed tables, so that
    /// only this instance's own clears empty the cache.
    #[doc(hidden)]
    pub fn ignore_table_notifications(&self, ignore: bool) {
        self.deaf.store(ignore, Ordering::Relaxed);
    }

    /// After this instance wrote to `table` (whatever the outcome).
    pub(crate) fn forget(&self, table: Table) {
        match table {
            Table::Clients => self.clients.clear(),
            Table::AccessTokens => self.access_tokens.clear(),
        }
    }

    /// A listening connection was lost: nothing is trusted until beats are heard again.
    pub(crate) fn stop_trusting(&self) {
        self.heard.store(0, Ordering::Release);
    }

    /// A new listening connection: changes sent while none listened are unknown.
    pub(crate) fn start_listening(&self) {
        self.clients.clear();
        self.access_tokens.clear();
    }

    /// The payload of this instance's next heartbeat (ASCII letters, digits and colons).
    pub(crate) fn beat(&self) -> String {
        format!("beat:{}:{}", self.instance, self.now_ms())
    }

    /// A notification heard on [`CHANNEL`]: a changed table, or a heartbeat.
    pub(crate) fn heard(&self, payload: &str) {
        if let Some(table) = Table::from_name(payload) {
            if !self.deaf.load(Ordering::Relaxed) {
                self.forget(table);
            }
        } else if let Some(rest) = payload.strip_prefix("beat:")
            && let Some((instance, sent)) = rest.split_once(':')
            && instance == self.instance
            && let Ok(sent) = sent.parse::<u64>()
        {
            self.heard.fetch_max(sent, Ordering::AcqRel);
        }
    }

    fn count(&self, kind: &'static str, outcome: Outcome) {
        let (counter, result) = match outcome {
            Outcome::Hit => (&self.hits, "hit"),
            Outcome::Miss => (&self.misses, "miss"),
            Outcome::Bypassed => (&self.bypassed, "bypassed"),
        };
        counter.fetch_add(1, Ordering::Relaxed);
        metrics::counter!(crate::telemetry::NEAR_CACHE_REQUESTS, "kind" => kind, "result" => result).increment(1);
    }
}

impl std::fmt::Debug for NearCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NearCache")
            .field("trusted", &self.trusted())
            .field("clients", &self.clients.len())
            .field("access_tokens", &self.access_tokens.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_its_own_recent_beats_make_an_instance_trust_its_cache() {
        let near = NearCache::new();
        assert!(!near.trusted());
        near.heard("beat:someoneelse:5");
        assert!(!near.trusted());
        near.heard(&near.beat());
        assert!(near.trusted());
        near.stop_trusting();
        assert!(!near.trusted());
        near.heard(&near.beat());
        assert!(near.trusted());
    }
}
