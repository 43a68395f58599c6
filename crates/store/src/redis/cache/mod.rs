//! A read-through cache in Redis for the hot lookups: clients, users (by id and by email),
//! sessions, opaque access tokens and personal access tokens.
//!
//! # Why it cannot serve a stale record
//!
//! Invalidation is by *version tokens*, not by deleting entries. Every fact a cached record depends
//! on has a version key (`v:user:<id>`, `v:client:<id>`, `v:session:<digest>`, `v:access:<digest>`,
//! `v:family:<id>`, `v:pat:<id>`, and `v:purge` for the janitor) holding a random token. An entry
//! stores its record together with the tokens of every version key it depends on (see
//! `records.rs`), and is served only while all of them are unchanged.
//!
//! - A read fetches the entry and the current tokens; on a miss it reads the tokens (creating
//!   missing ones) *before* it reads the durable store, and tags the entry it writes with them.
//! - A write changes the durable store first and then replaces the tokens of every version key it
//!   affects, directly or indirectly (the wrappers in `accounts.rs` and `grants.rs` list them:
//!   e.g. `set_password` bumps the user's version, which every session, access token and PAT of the
//!   user depends on; `delete_client` bumps the client's version, which its access tokens depend
//!   on).
//!
//! A reader that raced a writer therefore holds tokens from before the bump, and its entry is dead
//! on arrival; deleting entries instead would let such a reader put the old record back. Tokens are
//! random, so a version key that expired or was evicted never matches an old entry again; and an
//! entry is never tagged with "missing". Records read without knowing their dependencies (the first
//! read of a session learns its user only from the durable store) are stored as pointers that do
//! not match, and cached for real on the next read. Nothing absent is cached, so creating a record
//! needs no invalidation. Entries live `cache_ttl` (60 s) at most, as a backstop.
//!
//! Not cached, because their freshness is security state: refresh tokens, codes, email tokens,
//! second factors, consents, families (revocation checks), signing keys.
//!
//! # Failures, and other instances
//!
//! A Redis error on a read or fill falls back to the durable store; it is counted
//! (`keygate_cache_errors_total`, also [`CacheStats`]) and logged at most every 10 s, never
//! returned.
//!
//! Every key lives in a *generation* (`<prefix><generation>:v:…`, `<prefix><generation>:c:…`)
//! named by a token in the durable store (see `generation.rs`). An invalidation that cannot reach
//! Redis starts a new generation there, so no instance reads the old entries again: each instance
//! re-reads the token at least every 250 ms while it serves lookups and bypasses the cache when it
//! could not confirm it within 750 ms. A revocation, deactivation, password change or client
//! deletion acknowledged by an instance cut off from Redis is therefore visible on every instance
//! within a second; if the durable store cannot take the new generation either, the write answers
//! 503. Entries that may have missed an invalidation during a Redis outage belong to a retired
//! generation once Redis is back, so recovery needs no flush and no restart.

mod accounts;
mod engine;
mod generation;
mod grants;
mod mget;
mod records;
mod versions;

use std::sync::Arc;

use keygate_core::error::StoreResult;
use keygate_core::store::Stores;

use super::RedisHandle;
pub(crate) use engine::Counters;
use engine::Engine;

/// How often the cache answered from Redis, went to the durable store, or met a Redis error.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheStats {
    pub hits: u64,
    pub misses: u64,
    pub errors: u64,
}

/// The durable stores with the hot lookups cached in Redis; see the module docs.
#[derive(Clone)]
pub struct CachedStores {
    inner: Stores,
    cache: Arc<Engine>,
}

impl CachedStores {
    /// `inner.ephemeral` (the durable store's) holds the cache generation.
    pub fn new(inner: Stores, redis: RedisHandle) -> Self {
        let cache = Arc::new(Engine::new(redis, inner.ephemeral.clone()));
        CachedStores { inner, cache }
    }

    /// `Stores` whose users, sessions, clients, tokens, PATs and maintenance go through the cache
    /// (maintenance because a purge invalidates); the others are the inner ones unchanged.
    pub fn into_stores(self) -> Stores {
        let inner = self.inner.clone();
        let me = Arc::new(self);
        Stores {
            users: me.clone(),
            sessions: me.clone(),
            clients: me.clone(),
            tokens: me.clone(),
            pats: me.clone(),
            maintenance: me,
            ..inner
        }
    }
}

/// A write's outcome once its invalidation ran: the write's own error first, then an
/// invalidation that reached neither Redis nor the durable generation.
fn both<T>(result: StoreResult<T>, delivered: StoreResult<()>) -> StoreResult<T> {
    let value = result?;
    delivered.map(|()| value)
}
