//! Short-lived values and counters, and the janitor's maintenance, in memory.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use keygate_core::Timestamp;
use keygate_core::error::StoreResult;
use keygate_core::store::{EphemeralStore, MaintenanceStore, PurgeReport, StoreStats};

use super::MemoryStore;
use super::state::{EphemeralEntry, Slot, State};

#[async_trait]
impl EphemeralStore for MemoryStore {
    async fn put(&self, key: &str, value: &[u8], now: Timestamp, ttl: Duration) -> StoreResult<()> {
        let entry = EphemeralEntry {
            slot: Slot::Value(value.to_vec()),
            expires_at: now.plus(ttl),
        };
        self.lock()?.ephemeral.insert(key.to_owned(), entry);
        Ok(())
    }

    async fn get(&self, key: &str, now: Timestamp) -> StoreResult<Option<Vec<u8>>> {
        let st = self.lock()?;
        Ok(match st.ephemeral.get(key) {
            Some(EphemeralEntry {
                slot: Slot::Value(v),
                expires_at,
            }) if now < *expires_at => Some(v.clone()),
            _ => None,
        })
    }

    async fn take(&self, key: &str, now: Timestamp) -> StoreResult<Option<Vec<u8>>> {
        let mut st = self.lock()?;
        let is_live_value = st
            .ephemeral
            .get(key)
            .is_some_and(|e| e.is_live(now) && matches!(e.slot, Slot::Value(_)));
        if !is_live_value {
            return Ok(None);
        }
        Ok(match st.ephemeral.remove(key) {
            Some(EphemeralEntry {
                slot: Slot::Value(v), ..
            }) => Some(v),
            _ => None,
        })
    }

    async fn incr(&self, key: &str, now: Timestamp, ttl: Duration) -> StoreResult<i64> {
        let mut st = self.lock()?;
        if let Some(entry) = st.ephemeral.get_mut(key)
            && entry.is_live(now)
            && let Slot::Counter(n) = &mut entry.slot
        {
            *n += 1;
            return Ok(*n);
        }
        let fresh = EphemeralEntry {
            slot: Slot::Counter(1),
            expires_at: now.plus(ttl),
        };
        st.ephemeral.insert(key.to_owned(), fresh);
        Ok(1)
    }

    async fn delete(&self, key: &str) -> StoreResult<()> {
        self.lock()?.ephemeral.remove(key);
        Ok(())
    }
}

/// Removes at most `batch` entries of `map` whose value `is_expired` says so; returns how many.
fn purge<K: Clone + Eq + std::hash::Hash, V>(
    map: &mut std::collections::HashMap<K, V>,
    batch: usize,
    is_expired: impl Fn(&V) -> bool,
) -> u64 {
    let doomed: Vec<K> = map
        .iter()
        .filter(|(_, v)| is_expired(v))
        .take(batch)
        .map(|(k, _)| k.clone())
        .collect();
    for k in &doomed {
        map.remove(k);
    }
    doomed.len() as u64
}

/// Records per kind, named like the SQL tables.
fn rows_per_kind(st: &State) -> BTreeMap<String, u64> {
    let counts = [
        ("users", st.users.len()),
        ("totp_credentials", st.totp.len()),
        ("recovery_codes", st.recovery_codes.values().map(Vec::len).sum()),
        ("sessions", st.sessions.len()),
        ("email_tokens", st.email_tokens.len()),
        ("clients", st.clients.len()),
        ("consents", st.consents.len()),
        ("authorization_codes", st.codes.len()),
        ("token_families", st.families.len()),
        ("refresh_tokens", st.refresh_tokens.len()),
        ("access_tokens", st.access_tokens.len()),
        ("personal_access_tokens", st.pats.len()),
        ("signing_keys", st.keys.len()),
        ("audit_events", st.audit.len()),
        ("ephemeral", st.ephemeral.len()),
    ];
    counts.into_iter().map(|(k, n)| (k.to_owned(), n as u64)).collect()
}

#[async_trait]
impl MaintenanceStore for MemoryStore {
    async fn ping(&self) -> StoreResult<()> {
        self.lock().map(|_| ())
    }

    async fn stats(&self, now: Timestamp) -> StoreResult<StoreStats> {
        let st = self.lock()?;
        Ok(StoreStats {
            users: st.users.values().filter(|u| u.deleted_at.is_none()).count() as u64,
            clients: st.clients.len() as u64,
            live_sessions: st.sessions.values().filter(|s| s.is_live(now)).count() as u64,
            live_refresh_tokens: st
                .refresh_tokens
                .values()
                .filter(|t| t.used_at.is_none() && t.revoked_at.is_none() && now < t.expires_at)
                .count() as u64,
            live_access_tokens: st
                .access_tokens
                .values()
                .filter(|t| t.revoked_at.is_none() && now < t.expires_at)
                .count() as u64,
            live_personal_access_tokens: st
                .pats
                .values()
                .filter(|p| p.revoked_at.is_none() && p.expires_at.is_none_or(|e| now < e))
                .count() as u64,
            rows: rows_per_kind(&st),
            database_bytes: None,
            audit_events_dropped: st.audit_dropped,
        })
    }

    // "Expired before `now`": a record expiring exactly at `now` goes in the next purge.
    async fn purge_expired(&self, now: Timestamp, audit_before: Timestamp, batch: u32) -> StoreResult<PurgeReport> {
        let batch = batch as usize;
        let mut st = self.lock()?;
        let old_audit: Vec<_> = st
            .audit
            .iter()
            .filter(|(_, e)| e.at < audit_before)
            .take(batch)
            .map(|(id, _)| *id)
            .collect();
        for id in &old_audit {
            st.audit.remove(id);
        }
        Ok(PurgeReport {
            codes: purge(&mut st.codes, batch, |c| c.expires_at < now),
            sessions: purge(&mut st.sessions, batch, |s| {
                s.idle_expires_at < now || s.absolute_expires_at < now
            }),
            email_tokens: purge(&mut st.email_tokens, batch, |t| t.expires_at < now),
            refresh_tokens: purge(&mut st.refresh_tokens, batch, |t| t.expires_at < now),
            access_tokens: purge(&mut st.access_tokens, batch, |t| t.expires_at < now),
            ephemeral: purge(&mut st.ephemeral, batch, |e| e.expires_at < now),
            audit_events: old_audit.len() as u64,
        })
    }
}
