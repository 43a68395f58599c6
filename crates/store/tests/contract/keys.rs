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

/// Instances started at once on an empty store: exactly one creates the first keys; the others
/// are told so and find the winner's keys, not a mix.
pub async fn concurrent_first_keys_have_one_winner(s: Stores, clock: ManualClock) {
    let now = clock.now();
    let attempts = (0..8).map(|i| {
        let s = s.clone();
        async move {
            let mine = vec![
                key(&format!("rs-{i}"), KeyState::Active, now),
                key(&format!("es-{i}"), KeyState::Active, now),
            ];
            let ev = event(AuditAction::KeyRotated, now);
            let won = s
                .keys
                .save_keys_if_unchanged(&[], &mine, &[], std::slice::from_ref(&ev))
                .await
                .unwrap();
            (won, mine, ev)
        }
    });
    let results = futures::future::join_all(attempts).await;
    let winners: Vec<_> = results.iter().filter(|(won, _, _)| *won).collect();
    assert_eq!(winners.len(), 1, "exactly one instance creates the first keys");
    let (_, keys, ev) = winners[0];
    let mut stored = s.keys.list_keys().await.unwrap();
    stored.sort_by(|a, b| a.kid.0.cmp(&b.kid.0));
    let mut expected = keys.clone();
    expected.sort_by(|a, b| a.kid.0.cmp(&b.kid.0));
    assert_eq!(stored, expected, "only the winner's keys are stored");
    assert!(audit_ids(&s).await.contains(&ev.id));

    // Once there are keys, nobody creates first keys again.
    let late = key("late", KeyState::Active, now);
    assert!(!s.keys.save_keys_if_unchanged(&[], &[late], &[], &[]).await.unwrap());
    assert_eq!(s.keys.list_keys().await.unwrap().len(), 2);
}

/// Two instances plan a rotation from the same keys: the first applies, the second's plan was
/// made from keys that changed and is refused without storing anything.
pub async fn a_plan_from_changed_keys_is_refused(s: Stores, clock: ManualClock) {
    let first = key("k1", KeyState::Active, clock.now());
    s.keys.save_keys(std::slice::from_ref(&first), &[], &[]).await.unwrap();
    let seen = s.keys.list_keys().await.unwrap();
    clock.advance(MINUTE);
    let mine = key("next-a", KeyState::Next, clock.now());
    let theirs = key("next-b", KeyState::Next, clock.now());
    let ev = event(AuditAction::KeyRotated, clock.now());
    assert!(
        s.keys
            .save_keys_if_unchanged(&seen, std::slice::from_ref(&mine), &[], &[])
            .await
            .unwrap()
    );
    assert!(
        !s.keys
            .save_keys_if_unchanged(&seen, std::slice::from_ref(&theirs), &[], std::slice::from_ref(&ev))
            .await
            .unwrap()
    );
    assert_eq!(s.keys.list_keys().await.unwrap(), vec![first, mine]);
    assert!(!audit_ids(&s).await.contains(&ev.id));
}
