//! The signing keys a running server uses: created on first start, held as a [`KeySet`] behind
//! an atomically swappable pointer (requests never wait for a rebuild), rebuilt after every
//! rotation and on a maintenance timer so every instance sees keys another one rotated.

use std::sync::Arc;

use arc_swap::ArcSwap;
use serde_json::json;

use super::audit::RequestMeta;
use crate::clock::{Clock, Timestamp};
use crate::crypto::SecretBox;
use crate::error::StoreError;
use crate::jose::{
    JoseError, KeyChanges, KeySet, RotateMode, RotationPolicy, initial_keys, plan_maintenance, plan_rotation,
};
use crate::model::{AuditAction, AuditEvent, Outcome, SigningKey};
use crate::store::SigningKeyStore;

/// How often a requested rotation is planned again when another instance changed the keys first.
const ROTATE_ATTEMPTS: u32 = 3;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Jose(#[from] JoseError),
}

/// A key set with its JWKS already serialised (served as is, never re-encoded per request).
pub struct LoadedKeys {
    pub set: KeySet,
    pub jwks_json: String,
    pub built_at: Timestamp,
    /// The stored keys it was built from, to tell whether another instance changed them.
    source: Vec<SigningKey>,
}

/// The current keys; `current()` is one atomic load.
pub struct KeyRing(ArcSwap<LoadedKeys>);

impl KeyRing {
    pub fn current(&self) -> Arc<LoadedKeys> {
        self.0.load_full()
    }
}

/// Loads, creates and rotates the stored keys and keeps the [`KeyRing`] up to date.
pub struct KeyManager {
    store: Arc<dyn SigningKeyStore>,
    secret_box: Arc<SecretBox>,
    clock: Arc<dyn Clock>,
    policy: RotationPolicy,
    ring: Arc<KeyRing>,
}

impl KeyManager {
    /// Loads the stored keys, creating one RS256, one ES256 and one Ed25519 key on first start.
    pub async fn start(
        store: Arc<dyn SigningKeyStore>,
        secret_box: Arc<SecretBox>,
        clock: Arc<dyn Clock>,
        policy: RotationPolicy,
    ) -> Result<KeyManager, KeyError> {
        let now = clock.now();
        let mut keys = store.list_keys().await?;
        if keys.is_empty() {
            // Instances started at once on an empty store race here: one creates the keys, the
            // others load them, so every instance signs with and publishes the same set.
            let fresh = initial_keys(now, &secret_box)?;
            let audit = rotation_event(&fresh, "system", &RequestMeta::default(), now, "created");
            store.save_keys_if_unchanged(&[], &fresh, &[], &[audit]).await?;
            keys = store.list_keys().await?;
        }
        let loaded = load(&keys, &secret_box, now)?;
        Ok(KeyManager {
            store,
            secret_box,
            clock,
            policy,
            ring: Arc::new(KeyRing(ArcSwap::from_pointee(loaded))),
        })
    }

    pub fn ring(&self) -> Arc<KeyRing> {
        self.ring.clone()
    }

    pub fn policy(&self) -> &RotationPolicy {
        &self.policy
    }

    pub async fn list(&self) -> Result<Vec<SigningKey>, StoreError> {
        self.store.list_keys().await
    }

    /// Rebuilds the key set from the store (keys another instance rotated, retired keys whose
    /// time is up).
    pub async fn reload(&self) -> Result<(), KeyError> {
        let keys = self.store.list_keys().await?;
        let loaded = load(&keys, &self.secret_box, self.clock.now())?;
        self.ring.0.store(Arc::new(loaded));
        Ok(())
    }

    /// Rebuilds the key set only if the stored keys differ from those it was built from: one small
    /// query, cheap enough to run every second, so that every instance publishes and accepts keys
    /// another instance rotated within about a second. Returns whether anything changed.
    pub async fn pick_up_changes(&self) -> Result<bool, KeyError> {
        let keys = self.store.list_keys().await?;
        if self.ring.current().source == keys {
            return Ok(false);
        }
        let loaded = load(&keys, &self.secret_box, self.clock.now())?;
        self.ring.0.store(Arc::new(loaded));
        Ok(true)
    }

    /// A requested rotation (`keygate keys rotate`, `POST /admin/keys/rotate`). Planned from the
    /// stored keys and applied only if nobody changed them meanwhile; otherwise planned again.
    pub async fn rotate(&self, mode: RotateMode, actor: &str, meta: &RequestMeta) -> Result<KeyChanges, KeyError> {
        for _ in 0..ROTATE_ATTEMPTS {
            let now = self.clock.now();
            let keys = self.store.list_keys().await?;
            let changes = plan_rotation(&keys, now, &self.policy, mode, &self.secret_box)?;
            if self.apply(&keys, &changes, actor, meta, now).await? {
                return Ok(changes);
            }
        }
        Err(KeyError::Store(StoreError::Conflict("key")))
    }

    /// The periodic check: next keys published, due rotations done, then the set rebuilt. When
    /// several instances check at once, one applies its plan and the others load the result.
    pub async fn maintain(&self) -> Result<KeyChanges, KeyError> {
        let now = self.clock.now();
        let keys = self.store.list_keys().await?;
        let changes = plan_maintenance(&keys, now, &self.policy, &self.secret_box)?;
        let applied = self
            .apply(&keys, &changes, "system", &RequestMeta::default(), now)
            .await?;
        if changes.is_empty() || !applied {
            self.reload().await?;
        }
        Ok(if applied { changes } else { KeyChanges::default() })
    }

    /// Stores `changes` planned from `seen` unless the stored keys changed meanwhile (another
    /// instance rotated first); returns whether they were stored. Rebuilds the set when they were.
    async fn apply(
        &self,
        seen: &[SigningKey],
        changes: &KeyChanges,
        actor: &str,
        meta: &RequestMeta,
        now: Timestamp,
    ) -> Result<bool, KeyError> {
        if changes.is_empty() {
            return Ok(true);
        }
        let activated: Vec<SigningKey> = changes
            .insert
            .iter()
            .chain(&changes.update)
            .filter(|k| k.activated_at == Some(now))
            .cloned()
            .collect();
        let audit: Vec<AuditEvent> = if changes.rotated.is_empty() {
            Vec::new()
        } else {
            vec![rotation_event(&activated, actor, meta, now, "rotated")]
        };
        let stored = self
            .store
            .save_keys_if_unchanged(seen, &changes.insert, &changes.update, &audit)
            .await?;
        if stored {
            self.reload().await?;
        }
        Ok(stored)
    }
}

fn load(keys: &[SigningKey], secret_box: &SecretBox, now: Timestamp) -> Result<LoadedKeys, JoseError> {
    let set = KeySet::build(keys, secret_box, now)?;
    let jwks_json = set.jwks().to_string();
    Ok(LoadedKeys {
        set,
        jwks_json,
        built_at: now,
        source: keys.to_vec(),
    })
}

fn rotation_event(activated: &[SigningKey], actor: &str, meta: &RequestMeta, now: Timestamp, what: &str) -> AuditEvent {
    let kids: Vec<_> = activated
        .iter()
        .map(|k| json!({ "alg": k.alg.as_str(), "kid": k.kid.0 }))
        .collect();
    AuditEvent::new(AuditAction::KeyRotated, actor, Outcome::Success, now)
        .from_request(meta.ip.clone(), meta.user_agent.clone())
        .details(json!({ "change": what, "activated": kids }))
}
