//! Contract cases for login sessions.

use keygate_core::store::Stores;
use keygate_core::{Clock, ManualClock};

use super::fixtures::*;

pub async fn session_crud(s: Stores, clock: ManualClock) {
    let u = new_user(&s, &clock).await;
    let sess = session(u.id, clock.now());
    s.sessions.create_session(&sess, &[]).await.unwrap();
    assert_eq!(s.sessions.get_session(&sess.digest).await.unwrap(), Some(sess.clone()));
    assert_eq!(s.sessions.get_session(&digest()).await.unwrap(), None);

    clock.advance(5 * MINUTE);
    let seen = clock.now();
    s.sessions
        .touch_session(&sess.digest, seen, seen.plus(30 * MINUTE))
        .await
        .unwrap();
    let touched = s.sessions.get_session(&sess.digest).await.unwrap().unwrap();
    assert_eq!(touched.last_seen_at, seen);
    assert_eq!(touched.idle_expires_at, seen.plus(30 * MINUTE));
    assert_eq!(touched.created_at, sess.created_at);

    let new_digest = digest();
    let amr = vec!["pwd".to_owned(), "otp".to_owned(), "mfa".to_owned()];
    assert!(s.sessions.rekey_session(&sess.digest, &new_digest, &amr).await.unwrap());
    assert_eq!(
        s.sessions.get_session(&sess.digest).await.unwrap(),
        None,
        "old secret is dead"
    );
    let rekeyed = s.sessions.get_session(&new_digest).await.unwrap().unwrap();
    assert_eq!(rekeyed.id, sess.id, "same session");
    assert_eq!(rekeyed.digest, new_digest);
    assert_eq!(rekeyed.amr, amr);
    assert_eq!(rekeyed.last_seen_at, seen);
    assert!(
        !s.sessions.rekey_session(&sess.digest, &digest(), &amr).await.unwrap(),
        "unknown"
    );

    assert!(s.sessions.delete_session(&new_digest, &[]).await.unwrap());
    assert_eq!(s.sessions.get_session(&new_digest).await.unwrap(), None);
    assert!(!s.sessions.delete_session(&new_digest, &[]).await.unwrap());
}

pub async fn delete_user_session_checks_the_owner(s: Stores, clock: ManualClock) {
    let owner = new_user(&s, &clock).await;
    let stranger = new_user(&s, &clock).await;
    let sess = session(owner.id, clock.now());
    s.sessions.create_session(&sess, &[]).await.unwrap();
    assert!(!s.sessions.delete_user_session(stranger.id, sess.id, &[]).await.unwrap());
    assert!(s.sessions.get_session(&sess.digest).await.unwrap().is_some());
    assert!(s.sessions.delete_user_session(owner.id, sess.id, &[]).await.unwrap());
    assert_eq!(s.sessions.get_session(&sess.digest).await.unwrap(), None);
    assert!(!s.sessions.delete_user_session(owner.id, sess.id, &[]).await.unwrap());
}

pub async fn delete_sessions_of_user_keeps_the_exception(s: Stores, clock: ManualClock) {
    let u = new_user(&s, &clock).await;
    let other = new_user(&s, &clock).await;
    let now = clock.now();
    let sessions: Vec<_> = (0..3).map(|_| session(u.id, now)).collect();
    for sess in &sessions {
        s.sessions.create_session(sess, &[]).await.unwrap();
    }
    let theirs = session(other.id, now);
    s.sessions.create_session(&theirs, &[]).await.unwrap();

    let ended = s
        .sessions
        .delete_sessions_of_user(u.id, Some(&sessions[0].digest), &[])
        .await
        .unwrap();
    assert_eq!(ended, 2);
    assert!(s.sessions.get_session(&sessions[0].digest).await.unwrap().is_some());
    assert_eq!(s.sessions.get_session(&sessions[1].digest).await.unwrap(), None);
    assert_eq!(s.sessions.get_session(&sessions[2].digest).await.unwrap(), None);
    assert!(s.sessions.get_session(&theirs.digest).await.unwrap().is_some());

    assert_eq!(s.sessions.delete_sessions_of_user(u.id, None, &[]).await.unwrap(), 1);
    assert_eq!(s.sessions.get_session(&sessions[0].digest).await.unwrap(), None);
}

pub async fn list_sessions_excludes_expired_newest_first(s: Stores, clock: ManualClock) {
    let u = new_user(&s, &clock).await;
    let other = new_user(&s, &clock).await;
    let t0 = clock.now();
    let oldest = session(u.id, t0);
    let mut idle_gone = session(u.id, t0.plus(MINUTE));
    idle_gone.idle_expires_at = t0.plus(2 * MINUTE);
    let mut absolute_gone = session(u.id, t0.plus(2 * MINUTE));
    absolute_gone.absolute_expires_at = t0.plus(3 * MINUTE);
    let newest = session(u.id, t0.plus(4 * MINUTE));
    for sess in [&oldest, &idle_gone, &absolute_gone, &newest, &session(other.id, t0)] {
        s.sessions.create_session(sess, &[]).await.unwrap();
    }

    clock.set(t0.plus(5 * MINUTE));
    let live = s.sessions.list_sessions_of_user(u.id, clock.now()).await.unwrap();
    let ids: Vec<_> = live.iter().map(|x| x.id).collect();
    assert_eq!(ids, vec![newest.id, oldest.id], "live ones only, newest first");
    assert_eq!(live[0], newest);

    // Once the idle expiry of the oldest passes, it drops out too.
    clock.set(t0.plus(31 * MINUTE));
    let live = s.sessions.list_sessions_of_user(u.id, clock.now()).await.unwrap();
    assert_eq!(live.iter().map(|x| x.id).collect::<Vec<_>>(), vec![newest.id]);
    // A lookup by digest still finds an expired session: the caller checks expiry.
    let expired = s.sessions.get_session(&oldest.digest).await.unwrap().unwrap();
    assert!(!expired.is_live(clock.now()));
}
