//! Contract cases for email verification and password reset tokens.

use keygate_core::model::{AuditAction, EmailTokenKind};
use keygate_core::store::Stores;
use keygate_core::{Clock, ManualClock};

use super::fixtures::*;

pub async fn token_works_once(s: Stores, clock: ManualClock) {
    let u = new_user(&s, &clock).await;
    let t = email_token(u.id, EmailTokenKind::Verify, clock.now());
    s.email_tokens.issue_email_token(&t, &[]).await.unwrap();
    clock.advance(MINUTE);
    let now = clock.now();

    let wrong_kind = s
        .email_tokens
        .consume_email_token(&t.digest, EmailTokenKind::Reset, now, &[])
        .await;
    assert_eq!(wrong_kind.unwrap(), None, "a verify link is not a reset link");
    let ev = event(AuditAction::EmailVerified, now).user(u.id);
    let got = s
        .email_tokens
        .consume_email_token(&t.digest, EmailTokenKind::Verify, now, std::slice::from_ref(&ev))
        .await
        .unwrap()
        .expect("first use works");
    assert_eq!(
        (got.digest, got.user_id, got.kind),
        (t.digest, u.id, EmailTokenKind::Verify)
    );
    assert_eq!(got.expires_at, t.expires_at);
    assert!(audit_ids(&s).await.contains(&ev.id));

    let again = s
        .email_tokens
        .consume_email_token(&t.digest, EmailTokenKind::Verify, now, &[])
        .await;
    assert_eq!(again.unwrap(), None, "second use fails");
    let unknown = s
        .email_tokens
        .consume_email_token(&digest(), EmailTokenKind::Verify, now, &[])
        .await;
    assert_eq!(unknown.unwrap(), None);
}

pub async fn newer_token_invalidates_older_of_same_kind(s: Stores, clock: ManualClock) {
    let u = new_user(&s, &clock).await;
    let other = new_user(&s, &clock).await;
    let first = email_token(u.id, EmailTokenKind::Reset, clock.now());
    let verify = email_token(u.id, EmailTokenKind::Verify, clock.now());
    let theirs = email_token(other.id, EmailTokenKind::Reset, clock.now());
    for t in [&first, &verify, &theirs] {
        s.email_tokens.issue_email_token(t, &[]).await.unwrap();
    }
    clock.advance(MINUTE);
    let second = email_token(u.id, EmailTokenKind::Reset, clock.now());
    s.email_tokens.issue_email_token(&second, &[]).await.unwrap();

    let now = clock.now();
    let reset = EmailTokenKind::Reset;
    assert_eq!(
        s.email_tokens
            .consume_email_token(&first.digest, reset, now, &[])
            .await
            .unwrap(),
        None
    );
    assert!(
        s.email_tokens
            .consume_email_token(&second.digest, reset, now, &[])
            .await
            .unwrap()
            .is_some()
    );
    let v = s
        .email_tokens
        .consume_email_token(&verify.digest, EmailTokenKind::Verify, now, &[])
        .await;
    assert!(v.unwrap().is_some(), "another kind is untouched");
    let t = s
        .email_tokens
        .consume_email_token(&theirs.digest, reset, now, &[])
        .await;
    assert!(t.unwrap().is_some(), "another user's token is untouched");
}

pub async fn expired_token_is_refused(s: Stores, clock: ManualClock) {
    let u = new_user(&s, &clock).await;
    let t = email_token(u.id, EmailTokenKind::Reset, clock.now());
    let fresh = email_token(u.id, EmailTokenKind::Verify, clock.now());
    s.email_tokens.issue_email_token(&t, &[]).await.unwrap();
    s.email_tokens.issue_email_token(&fresh, &[]).await.unwrap();
    clock.advance(HOUR + MINUTE);
    let got = s
        .email_tokens
        .consume_email_token(&t.digest, EmailTokenKind::Reset, clock.now(), &[])
        .await;
    assert_eq!(got.unwrap(), None);
    // The same token an instant before its expiry works: the refusal is about time.
    let before = fresh.expires_at.minus(std::time::Duration::from_millis(1));
    let ok = s
        .email_tokens
        .consume_email_token(&fresh.digest, EmailTokenKind::Verify, before, &[])
        .await;
    assert!(ok.unwrap().is_some());
}

pub async fn concurrent_consume_has_one_winner(s: Stores, clock: ManualClock) {
    let u = new_user(&s, &clock).await;
    let t = email_token(u.id, EmailTokenKind::Reset, clock.now());
    s.email_tokens.issue_email_token(&t, &[]).await.unwrap();
    let now = clock.now();
    let digest = t.digest;
    let attempts: Vec<_> = (0..20)
        .map(|_| {
            let s = s.clone();
            tokio::spawn(async move {
                s.email_tokens
                    .consume_email_token(&digest, EmailTokenKind::Reset, now, &[])
                    .await
                    .unwrap()
            })
        })
        .collect();
    let winners = futures::future::join_all(attempts)
        .await
        .into_iter()
        .filter(|r| r.as_ref().unwrap().is_some())
        .count();
    assert_eq!(winners, 1, "one reset link, one password reset");
}

pub async fn password_change_voids_reset_links(s: Stores, clock: ManualClock) {
    let u = new_user(&s, &clock).await;
    let other = new_user(&s, &clock).await;
    let reset = email_token(u.id, EmailTokenKind::Reset, clock.now());
    let verify = email_token(u.id, EmailTokenKind::Verify, clock.now());
    let theirs = email_token(other.id, EmailTokenKind::Reset, clock.now());
    for t in [&reset, &verify, &theirs] {
        s.email_tokens.issue_email_token(t, &[]).await.unwrap();
    }
    clock.advance(MINUTE);
    let hash = keygate_core::model::PasswordHash("$argon2id$v=19$m=19456,t=2,p=1$bmV3$bmV3aGFzaA".into());
    s.users.set_password(u.id, &hash, None, clock.now(), &[]).await.unwrap();

    let now = clock.now();
    let consume = |digest, kind| {
        let s = s.clone();
        async move {
            s.email_tokens
                .consume_email_token(&digest, kind, now, &[])
                .await
                .unwrap()
        }
    };
    assert_eq!(
        consume(reset.digest, EmailTokenKind::Reset).await,
        None,
        "a reset link mailed before the change no longer works"
    );
    assert!(
        consume(verify.digest, EmailTokenKind::Verify).await.is_some(),
        "a verification link is not a password secret: it keeps working"
    );
    assert!(
        consume(theirs.digest, EmailTokenKind::Reset).await.is_some(),
        "another user's reset link is untouched"
    );
}
