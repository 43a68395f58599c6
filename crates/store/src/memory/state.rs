//! The memory backend's tables and the multi-table operations several traits share.

use std::collections::{BTreeMap, HashMap};

use keygate_core::Timestamp;
use keygate_core::digest::TokenDigest;
use keygate_core::ids::{AuditId, ClientId, FamilyId, PatId, UserId};
use keygate_core::model::{
    AccessToken, AuditEvent, AuthorizationCode, Client, Consent, EmailToken, EmailTokenKind, PersonalAccessToken,
    RecoveryCode, RefreshToken, Session, SigningKey, TokenFamily, TotpCredential, User,
};
use keygate_core::paging::{Page, PageRequest};

/// A value kept by the ephemeral store: an opaque blob or a fixed-window counter.
#[derive(Clone, Debug)]
pub(super) enum Slot {
    Value(Vec<u8>),
    Counter(i64),
}

#[derive(Clone, Debug)]
pub(super) struct EphemeralEntry {
    pub slot: Slot,
    pub expires_at: Timestamp,
}

impl EphemeralEntry {
    pub fn is_live(&self, now: Timestamp) -> bool {
        now < self.expires_at
    }
}

#[derive(Default)]
pub(super) struct State {
    pub users: BTreeMap<UserId, User>,
    /// Normalised email -> the (non-erased) account holding it.
    pub emails: HashMap<String, UserId>,
    pub totp: HashMap<UserId, TotpCredential>,
    pub recovery_codes: HashMap<UserId, Vec<RecoveryCode>>,
    pub sessions: HashMap<TokenDigest, Session>,
    pub email_tokens: HashMap<TokenDigest, EmailToken>,
    pub clients: BTreeMap<ClientId, Client>,
    pub consents: BTreeMap<(UserId, ClientId), Consent>,
    pub codes: HashMap<TokenDigest, AuthorizationCode>,
    pub families: HashMap<FamilyId, TokenFamily>,
    pub refresh_tokens: HashMap<TokenDigest, RefreshToken>,
    pub access_tokens: HashMap<TokenDigest, AccessToken>,
    pub pats: BTreeMap<PatId, PersonalAccessToken>,
    pub keys: Vec<SigningKey>,
    pub audit: BTreeMap<AuditId, AuditEvent>,
    pub ephemeral: HashMap<String, EphemeralEntry>,
    /// Most audit events kept; older ones are dropped (set by `MemoryStore::with_audit_cap`).
    pub audit_cap: usize,
    /// Audit events dropped to stay under `audit_cap`.
    pub audit_dropped: u64,
}

impl State {
    pub fn record_audit(&mut self, events: &[AuditEvent]) {
        for e in events {
            self.audit.insert(e.id, e.clone());
        }
        // Ids are time-ordered (UUIDv7), so the first entries are the oldest.
        while self.audit.len() > self.audit_cap.max(1) {
            self.audit.pop_first();
            self.audit_dropped += 1;
        }
    }

    /// Ends the user's sessions except the one with digest `except`; returns how many ended.
    pub fn end_sessions_of_user(&mut self, user: UserId, except: Option<&TokenDigest>) -> u64 {
        let before = self.sessions.len();
        self.sessions
            .retain(|digest, s| s.user_id != user || except.is_some_and(|keep| keep == digest));
        (before - self.sessions.len()) as u64
    }

    /// Voids the user's unused password-reset links (a password change makes them stale).
    pub fn void_reset_links(&mut self, user: UserId, now: Timestamp) {
        for link in self
            .email_tokens
            .values_mut()
            .filter(|t| t.user_id == user && t.kind == EmailTokenKind::Reset && t.used_at.is_none())
        {
            link.used_at = Some(now);
        }
    }

    /// Revokes a family and every token in it. `None` if unknown, else whether it was live before.
    pub fn revoke_family(&mut self, id: FamilyId, now: Timestamp) -> Option<bool> {
        let family = self.families.get_mut(&id)?;
        let was_live = family.revoked_at.is_none();
        family.revoked_at.get_or_insert(now);
        for t in self.refresh_tokens.values_mut().filter(|t| t.family_id == id) {
            t.revoked_at.get_or_insert(now);
        }
        for t in self.access_tokens.values_mut().filter(|t| t.family_id == Some(id)) {
            t.revoked_at.get_or_insert(now);
        }
        Some(was_live)
    }

    /// Revokes the live families matching `pick`; returns how many.
    pub fn revoke_families_where(&mut self, now: Timestamp, pick: impl Fn(&TokenFamily) -> bool) -> u64 {
        let ids: Vec<FamilyId> = self
            .families
            .values()
            .filter(|f| f.revoked_at.is_none() && pick(f))
            .map(|f| f.id)
            .collect();
        ids.iter()
            .filter(|id| self.revoke_family(**id, now) == Some(true))
            .count() as u64
    }

    /// Deletes the families matching `pick` with their refresh and access tokens.
    pub fn delete_families_where(&mut self, pick: impl Fn(&TokenFamily) -> bool) {
        let doomed: Vec<FamilyId> = self.families.values().filter(|f| pick(f)).map(|f| f.id).collect();
        for id in &doomed {
            self.families.remove(id);
        }
        self.refresh_tokens.retain(|_, t| !doomed.contains(&t.family_id));
        self.access_tokens
            .retain(|_, t| !t.family_id.is_some_and(|f| doomed.contains(&f)));
    }
}

/// One page of an ordered listing: `items` are in listing order, each with its cursor key.
/// Takes at most `limit` items after the cursor; `next` is set only when more follow.
pub(super) fn page_of<T>(items: impl Iterator<Item = (String, T)>, page: &PageRequest) -> Page<T> {
    let limit = page.effective_limit() as usize;
    let mut out = Vec::with_capacity(limit);
    let mut last_key = None;
    let mut more = false;
    for (key, item) in items {
        if out.len() == limit {
            more = true;
            break;
        }
        last_key = Some(key);
        out.push(item);
    }
    Page {
        items: out,
        next: if more { last_key } else { None },
    }
}
