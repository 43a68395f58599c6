//! Key rotation as a pure plan over the stored keys: which keys to insert and which to change,
//! handed to `SigningKeyStore::save_keys(insert, update, audit)` in one transaction.
//!
//! Life of a key: `next` (published, not signing) → `active` (signing) → `retired` (published
//! until `remove_after`, when every token it signed has expired) → gone from the JWKS. A `next`
//! key may become active once it has been published for `publish_lead`, so relying parties that
//! cache the JWKS already know it when the first token signed by it reaches them.

use std::time::Duration;

use super::JoseError;
use super::keys::new_signing_key;
use crate::clock::Timestamp;
use crate::crypto::SecretBox;
use crate::model::signing_key::{KeyState, SigningAlg, SigningKey};

/// Every algorithm Keygate keeps a key for.
pub const ALGS: [SigningAlg; 3] = [SigningAlg::RS256, SigningAlg::ES256, SigningAlg::EdDSA];

/// How keys rotate (from configuration).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RotationPolicy {
    /// How long a new key is published before it signs (longer than relying parties cache the JWKS).
    pub publish_lead: Duration,
    /// The longest lifetime of any JWT Keygate signs (access and ID tokens): how long a retired
    /// key stays published.
    pub max_token_lifetime: Duration,
    /// Automatic rotation: an active key older than this is replaced once its successor is
    /// ready. `None`: only by hand.
    pub rotate_every: Option<Duration>,
}

impl Default for RotationPolicy {
    fn default() -> Self {
        RotationPolicy {
            publish_lead: Duration::from_secs(24 * 3600),
            max_token_lifetime: Duration::from_secs(3600),
            rotate_every: Some(Duration::from_secs(90 * 24 * 3600)),
        }
    }
}

/// How a requested rotation treats a successor that has not been published for the lead time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RotateMode {
    /// Rotate only algorithms whose next key is ready; the others get a next key (if they lack
    /// one) and are listed in [`KeyChanges::waiting`].
    WhenReady,
    /// Rotate every algorithm now (e.g. a private key leaked): relying parties that cached the
    /// JWKS must refetch it when they meet the new `kid`.
    Immediately,
}

/// The changes a plan makes. Empty when nothing is due.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct KeyChanges {
    pub insert: Vec<SigningKey>,
    pub update: Vec<SigningKey>,
    /// Algorithms whose active key changed (for the `key_rotated` audit event).
    pub rotated: Vec<SigningAlg>,
    /// Algorithms a `WhenReady` rotation could not rotate yet, and when their next key is ready.
    pub waiting: Vec<(SigningAlg, Timestamp)>,
}

impl KeyChanges {
    pub fn is_empty(&self) -> bool {
        self.insert.is_empty() && self.update.is_empty()
    }
}

/// First start: one active key per algorithm (RS256, ES256, Ed25519).
pub fn initial_keys(now: Timestamp, secret_box: &SecretBox) -> Result<Vec<SigningKey>, JoseError> {
    ALGS.iter()
        .map(|&alg| new_signing_key(alg, KeyState::Active, now, secret_box))
        .collect()
}

/// The periodic check: every algorithm gets an active and a next key, and an active key older
/// than `rotate_every` is replaced by its successor once that one is ready.
pub fn plan_maintenance(
    keys: &[SigningKey],
    now: Timestamp,
    policy: &RotationPolicy,
    secret_box: &SecretBox,
) -> Result<KeyChanges, JoseError> {
    let mut changes = KeyChanges::default();
    for alg in ALGS {
        let current = Current::of(keys, alg);
        match (current.active.is_empty(), current.next) {
            (true, Some(next)) => rotate(&mut changes, &current.active, Some(next), alg, now, policy, secret_box)?,
            (true, None) => {
                changes
                    .insert
                    .push(new_signing_key(alg, KeyState::Active, now, secret_box)?);
                changes
                    .insert
                    .push(new_signing_key(alg, KeyState::Next, now, secret_box)?);
                changes.rotated.push(alg);
            }
            (false, None) => changes
                .insert
                .push(new_signing_key(alg, KeyState::Next, now, secret_box)?),
            (false, Some(next)) => {
                let activated = current.newest_activation();
                let due = policy.rotate_every.is_some_and(|every| activated.plus(every) <= now);
                if due && is_ready(next, now, policy) {
                    rotate(&mut changes, &current.active, Some(next), alg, now, policy, secret_box)?;
                }
            }
        }
    }
    Ok(changes)
}

/// A requested rotation (`keygate keys rotate`, `POST /admin/keys/rotate`).
pub fn plan_rotation(
    keys: &[SigningKey],
    now: Timestamp,
    policy: &RotationPolicy,
    mode: RotateMode,
    secret_box: &SecretBox,
) -> Result<KeyChanges, JoseError> {
    let mut changes = KeyChanges::default();
    for alg in ALGS {
        let current = Current::of(keys, alg);
        match (mode, current.next) {
            (RotateMode::Immediately, next) => {
                rotate(&mut changes, &current.active, next, alg, now, policy, secret_box)?;
            }
            (RotateMode::WhenReady, Some(next)) if is_ready(next, now, policy) => {
                rotate(&mut changes, &current.active, Some(next), alg, now, policy, secret_box)?;
            }
            (RotateMode::WhenReady, Some(next)) => {
                changes.waiting.push((alg, next.created_at.plus(policy.publish_lead)));
            }
            (RotateMode::WhenReady, None) => {
                let next = new_signing_key(alg, KeyState::Next, now, secret_box)?;
                changes.waiting.push((alg, now.plus(policy.publish_lead)));
                changes.insert.push(next);
            }
        }
    }
    Ok(changes)
}

/// The keys of one algorithm that matter to a plan.
struct Current<'a> {
    active: Vec<&'a SigningKey>,
    /// The oldest next key: the one published longest.
    next: Option<&'a SigningKey>,
}

impl<'a> Current<'a> {
    fn of(keys: &'a [SigningKey], alg: SigningAlg) -> Self {
        let of_alg = || keys.iter().filter(move |k| k.alg == alg);
        Current {
            active: of_alg().filter(|k| k.state == KeyState::Active).collect(),
            next: of_alg()
                .filter(|k| k.state == KeyState::Next)
                .min_by_key(|k| k.created_at),
        }
    }

    fn newest_activation(&self) -> Timestamp {
        self.active
            .iter()
            .map(|k| k.activated_at.unwrap_or(k.created_at))
            .max()
            .unwrap_or(Timestamp::EPOCH)
    }
}

fn is_ready(next: &SigningKey, now: Timestamp, policy: &RotationPolicy) -> bool {
    next.created_at.plus(policy.publish_lead) <= now
}

/// Retires the active keys of `alg`, promotes `next` (or makes a new active key when there is
/// none) and publishes a new next key.
fn rotate(
    changes: &mut KeyChanges,
    active: &[&SigningKey],
    next: Option<&SigningKey>,
    alg: SigningAlg,
    now: Timestamp,
    policy: &RotationPolicy,
    secret_box: &SecretBox,
) -> Result<(), JoseError> {
    for old in active {
        changes.update.push(SigningKey {
            state: KeyState::Retired,
            retired_at: Some(now),
            remove_after: Some(now.plus(policy.max_token_lifetime)),
            ..(*old).clone()
        });
    }
    match next {
        Some(next) => changes.update.push(SigningKey {
            state: KeyState::Active,
            activated_at: Some(now),
            ..next.clone()
        }),
        None => changes
            .insert
            .push(new_signing_key(alg, KeyState::Active, now, secret_box)?),
    }
    changes
        .insert
        .push(new_signing_key(alg, KeyState::Next, now, secret_box)?);
    changes.rotated.push(alg);
    Ok(())
}
