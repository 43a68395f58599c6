//! Contract cases for personal access tokens.

use keygate_core::store::Stores;
use keygate_core::{Clock, ManualClock};

use super::fixtures::*;

pub async fn pat_crud(s: Stores, clock: ManualClock) {
    let u = new_user(&s, &clock).await;
    let other = new_user(&s, &clock).await;
    let older = pat(u.id, "laptop", clock.now());
    s.pats.create_pat(&older, &[]).await.unwrap();
    clock.advance(MINUTE);
    let mut newer = pat(u.id, "ci", clock.now());
    newer.expires_at = None;
    s.pats.create_pat(&newer, &[]).await.unwrap();
    s.pats
        .create_pat(&pat(other.id, "theirs", clock.now()), &[])
        .await
        .unwrap();

    assert_eq!(
        s.pats.get_pat_by_digest(&older.digest).await.unwrap(),
        Some(older.clone())
    );
    assert_eq!(s.pats.get_pat_by_digest(&digest()).await.unwrap(), None);
    let listed = s.pats.list_pats_of_user(u.id).await.unwrap();
    assert_eq!(
        listed,
        vec![newer.clone(), older.clone()],
        "newest first, only the user's"
    );

    clock.advance(MINUTE);
    s.pats.touch_pat(older.id, clock.now()).await.unwrap();
    let touched = s.pats.get_pat_by_digest(&older.digest).await.unwrap().unwrap();
    assert_eq!(touched.last_used_at, Some(clock.now()));

    assert!(
        !s.pats.revoke_pat(other.id, older.id, clock.now(), &[]).await.unwrap(),
        "not theirs"
    );
    assert!(s.pats.revoke_pat(u.id, older.id, clock.now(), &[]).await.unwrap());
    assert!(
        !s.pats.revoke_pat(u.id, older.id, clock.now(), &[]).await.unwrap(),
        "already revoked"
    );
    let revoked = s.pats.get_pat_by_digest(&older.digest).await.unwrap().unwrap();
    assert_eq!(revoked.revoked_at, Some(clock.now()));
    assert!(!revoked.is_usable(clock.now()));
    let listed = s.pats.list_pats_of_user(u.id).await.unwrap();
    assert_eq!(listed.iter().map(|p| p.id).collect::<Vec<_>>(), vec![newer.id]);

    // Expired tokens stay listed (only revoked ones go), so the user sees and can revoke them.
    let mut lapsed = pat(u.id, "lapsed", clock.now());
    lapsed.expires_at = Some(clock.now().plus(MINUTE));
    s.pats.create_pat(&lapsed, &[]).await.unwrap();
    clock.advance(HOUR);
    let listed = s.pats.list_pats_of_user(u.id).await.unwrap();
    assert_eq!(
        listed.iter().map(|p| p.id).collect::<Vec<_>>(),
        vec![lapsed.id, newer.id]
    );
    assert!(!listed[0].is_usable(clock.now()));
}
