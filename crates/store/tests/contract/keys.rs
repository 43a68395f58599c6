//! Contract cases for signing keys.

use keygate_core::error::StoreError;
use keygate_core::model::{AuditAction, KeyState};
use keygate_core::store::Stores;
use keygate_core::{Clock, ManualClock};

use super::fixtures::*;

pub async fn rotation_inserts_and_updates(s: Stores, clock: ManualClock) {
    assert!(s.keys.list_keys().await.unwrap().is_empty());
    let mut first = key("k1", KeyState::Active, clock.now());
    first.activated_at = Some(clock.now());
    s.keys.save_keys(std::slice::from_ref(&first), &[], &[]).await.unwrap();
    assert_eq!(s.keys.list_keys().await.unwrap(), vec![first.clone()]);

    clock.advance(HOUR);
    let now = clock.now();
    let second = key("k2", KeyState::Next, now);
    let mut retired = first.clone();
    retired.state = KeyState::Retired;
    retired.retired_at = Some(now);
    retired.remove_after = Some(now.plus(DAY));
    let ev = event(AuditAction::KeyRotated, now);
    s.keys
        .save_keys(
            std::slice::from_ref(&second),
            std::slice::from_ref(&retired),
            std::slice::from_ref(&ev),
        )
        .await
        .unwrap();
    assert_eq!(s.keys.list_keys().await.unwrap(), vec![retired, second], "oldest first");
    assert!(audit_ids(&s).await.contains(&ev.id));
}

pub async fn duplicate_kid_is_a_conflict_and_changes_nothing(s: Stores, clock: ManualClock) {
    let first = key("k1", KeyState::Active, clock.now());
    s.keys.save_keys(std::slice::from_ref(&first), &[], &[]).await.unwrap();
    clock.advance(MINUTE);
    let fresh = key("k-fresh", KeyState::Next, clock.now());
    let dup = key("k1", KeyState::Next, clock.now());
    let mut changed = first.clone();
    changed.state = KeyState::Retired;
    let ev = event(AuditAction::KeyRotated, clock.now());
    let err = s
        .keys
        .save_keys(&[fresh, dup], std::slice::from_ref(&changed), std::slice::from_ref(&ev))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict("kid")), "got {err:?}");
    assert_eq!(
        s.keys.list_keys().await.unwrap(),
        vec![first],
        "nothing of the rotation applied"
    );
    assert!(!audit_ids(&s).await.contains(&ev.id));
}

pub async fn update_of_missing_key_is_not_found_and_changes_nothing(s: Stores, clock: ManualClock) {
    let first = key("k1", KeyState::Active, clock.now());
    s.keys.save_keys(std::slice::from_ref(&first), &[], &[]).await.unwrap();
    clock.advance(MINUTE);
    let fresh = key("k2", KeyState::Next, clock.now());
    let ghost = key("k-ghost", KeyState::Retired, clock.now());
    let err = s
        .keys
        .save_keys(std::slice::from_ref(&fresh), std::slice::from_ref(&ghost), &[])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound("key")), "got {err:?}");
    assert_eq!(s.keys.list_keys().await.unwrap(), vec![first]);
}
