//! Contract cases for the audit log.

use keygate_core::error::StoreError;
use keygate_core::ids::AuditId;
use keygate_core::model::{AuditAction, AuditEvent, AuditFilter, EncryptedBlob, KeyState, Outcome, TotpCredential};
use keygate_core::paging::PageRequest;
use keygate_core::store::Stores;
use keygate_core::{Clock, ManualClock};

use super::fixtures::*;

async fn list(s: &Stores, filter: AuditFilter) -> Vec<AuditId> {
    let page = s.audit.list_audit(&filter, &PageRequest::first(100)).await.unwrap();
    assert_eq!(page.next, None);
    page.items.into_iter().map(|e| e.id).collect()
}

pub async fn event_round_trips(s: Stores, clock: ManualClock) {
    let u = new_user(&s, &clock).await;
    let c = new_client(&s, &clock).await;
    let full = AuditEvent::new(
        AuditAction::LoginFailed,
        format!("user:{}", u.id),
        Outcome::Failure,
        clock.now(),
    )
    .user(u.id)
    .client(c.id.clone())
    .from_request(
        Some("2001:db8::1".into()),
        Some("Mozilla/5.0 \"quoted\" ünïcode".into()),
    )
    .details(serde_json::json!({"reason": "bad_password", "attempt": 3, "nested": {"ok": false}}));
    clock.advance(MINUTE);
    let bare = event(AuditAction::TokenIntrospected, clock.now());
    s.audit.append_audit(&[full.clone(), bare.clone()]).await.unwrap();
    let items = s
        .audit
        .list_audit(&AuditFilter::default(), &PageRequest::first(10))
        .await
        .unwrap()
        .items;
    assert_eq!(items, vec![bare, full]);
}

pub async fn filters_by_user_client_action_and_time(s: Stores, clock: ManualClock) {
    let u = new_user(&s, &clock).await;
    let v = new_user(&s, &clock).await;
    let a = new_client(&s, &clock).await;
    let b = new_client(&s, &clock).await;
    let t0 = clock.now();
    let e1 = event(AuditAction::LoginSucceeded, t0).user(u.id).client(a.id.clone());
    let e2 = event(AuditAction::LoginFailed, t0.plus(HOUR)).user(u.id);
    let e3 = event(AuditAction::TokenIssued, t0.plus(2 * HOUR))
        .user(v.id)
        .client(a.id.clone());
    let e4 = event(AuditAction::TokenIntrospected, t0.plus(3 * HOUR)).client(b.id.clone());
    for e in [&e1, &e2, &e3, &e4] {
        s.audit.append_audit(std::slice::from_ref(e)).await.unwrap();
    }

    let by_user = AuditFilter {
        user_id: Some(u.id),
        ..Default::default()
    };
    assert_eq!(list(&s, by_user.clone()).await, vec![e2.id, e1.id]);
    let by_client = AuditFilter {
        client_id: Some(a.id.clone()),
        ..Default::default()
    };
    assert_eq!(list(&s, by_client).await, vec![e3.id, e1.id]);
    let by_action = AuditFilter {
        action: Some(AuditAction::LoginFailed),
        ..Default::default()
    };
    assert_eq!(list(&s, by_action).await, vec![e2.id]);
    let from = AuditFilter {
        from: Some(t0.plus(30 * MINUTE)),
        ..Default::default()
    };
    assert_eq!(list(&s, from).await, vec![e4.id, e3.id, e2.id]);
    let until = AuditFilter {
        until: Some(t0.plus(150 * MINUTE)),
        ..Default::default()
    };
    assert_eq!(list(&s, until).await, vec![e3.id, e2.id, e1.id]);
    let window = AuditFilter {
        from: Some(t0.plus(30 * MINUTE)),
        until: Some(t0.plus(150 * MINUTE)),
        ..Default::default()
    };
    assert_eq!(list(&s, window).await, vec![e3.id, e2.id]);
    let combined = AuditFilter {
        action: Some(AuditAction::LoginSucceeded),
        ..by_user
    };
    assert_eq!(list(&s, combined).await, vec![e1.id]);
    let nothing = AuditFilter {
        user_id: Some(v.id),
        client_id: Some(b.id.clone()),
        ..Default::default()
    };
    assert!(list(&s, nothing).await.is_empty());
}

pub async fn pages_newest_first(s: Stores, clock: ManualClock) {
    let mut appended = Vec::new();
    for _ in 0..7 {
        let e = event(AuditAction::TokenIntrospected, clock.now());
        s.audit.append_audit(std::slice::from_ref(&e)).await.unwrap();
        appended.push(e.id);
        clock.advance(MINUTE);
    }
    appended.reverse();
    let mut sizes = Vec::new();
    let mut listed = Vec::new();
    let mut page = PageRequest::first(3);
    loop {
        let got = s.audit.list_audit(&AuditFilter::default(), &page).await.unwrap();
        sizes.push(got.items.len());
        listed.extend(got.items.iter().map(|e| e.id));
        match got.next {
            Some(cursor) => page = PageRequest::after(cursor, 3),
            None => break,
        }
        assert!(sizes.len() < 10, "paging does not end");
    }
    assert_eq!(sizes, vec![3, 3, 1]);
    assert_eq!(listed, appended, "every event once, newest first");
}

pub async fn mutations_store_their_events(s: Stores, clock: ManualClock) {
    let now = clock.now();
    let mut expected = Vec::new();
    let mut ev = |action: AuditAction| {
        let e = event(action, now);
        expected.push(e.id);
        vec![e]
    };
    let u = user("audited@example.com", now);
    s.users.create_user(&u, &ev(AuditAction::UserRegistered)).await.unwrap();
    let c = client("audited", now);
    s.clients
        .create_client(&c, &ev(AuditAction::ClientCreated))
        .await
        .unwrap();
    s.clients
        .update_client(&c, &ev(AuditAction::ClientUpdated))
        .await
        .unwrap();
    let sess = session(u.id, now);
    s.sessions
        .create_session(&sess, &ev(AuditAction::LoginSucceeded))
        .await
        .unwrap();
    s.sessions
        .delete_session(&sess.digest, &ev(AuditAction::LoggedOut))
        .await
        .unwrap();
    let totp = TotpCredential {
        user_id: u.id,
        secret: EncryptedBlob(vec![1]),
        enabled_at: Some(now),
        last_used_step: None,
        created_at: now,
    };
    s.credentials
        .put_totp(&totp, &ev(AuditAction::TotpEnabled))
        .await
        .unwrap();
    s.credentials
        .delete_totp(u.id, &ev(AuditAction::TotpDisabled))
        .await
        .unwrap();
    let p = pat(u.id, "audited", now);
    s.pats.create_pat(&p, &ev(AuditAction::PatCreated)).await.unwrap();
    s.pats
        .revoke_pat(u.id, p.id, now, &ev(AuditAction::PatRevoked))
        .await
        .unwrap();
    let f = family(&c.id, Some(u.id), now);
    s.tokens
        .create_family(&f, None, None, &ev(AuditAction::TokenIssued))
        .await
        .unwrap();
    s.tokens
        .revoke_families_of_user(u.id, None, now, &ev(AuditAction::TokenRevoked))
        .await
        .unwrap();
    s.users
        .set_user_active(u.id, false, now, &ev(AuditAction::AccountDeactivated))
        .await
        .unwrap();
    let k = key("audited", KeyState::Next, now);
    s.keys.save_keys(&[k], &[], &ev(AuditAction::KeyRotated)).await.unwrap();
    s.clients
        .delete_client(&c.id, &ev(AuditAction::ClientDeleted))
        .await
        .unwrap();
    s.audit.append_audit(&ev(AuditAction::LoginFailed)).await.unwrap();

    let stored = audit_ids(&s).await;
    assert_eq!(stored.len(), expected.len());
    for id in &expected {
        assert!(stored.contains(id), "event {id} stored with its mutation");
    }
}

pub async fn failed_mutations_store_no_events(s: Stores, clock: ManualClock) {
    let now = clock.now();
    let existing = user("taken@example.com", now);
    s.users.create_user(&existing, &[]).await.unwrap();
    let c = client("taken", now);
    s.clients.create_client(&c, &[]).await.unwrap();
    let k = key("taken", KeyState::Active, now);
    s.keys.save_keys(std::slice::from_ref(&k), &[], &[]).await.unwrap();

    let mut attempted = Vec::new();
    let mut ev = |action: AuditAction| {
        let e = event(action, now);
        attempted.push(e.id);
        vec![e]
    };
    let dup = user("TAKEN@example.com", now);
    let err = s
        .users
        .create_user(&dup, &ev(AuditAction::UserRegistered))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict("email")));
    let ghost = user("ghost@example.com", now);
    let err = s
        .users
        .update_user(&ghost, &ev(AuditAction::EmailVerified))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound("user")));
    let err = s
        .clients
        .create_client(&c, &ev(AuditAction::ClientCreated))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict("client_id")));
    let ghost_client = client("ghost", now);
    let err = s
        .clients
        .update_client(&ghost_client, &ev(AuditAction::ClientUpdated))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound("client")));
    let err = s
        .clients
        .set_client_secret(&ghost_client.id, &digest(), now, &ev(AuditAction::ClientSecretRotated))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound("client")));
    let err = s
        .keys
        .save_keys(&[k], &[], &ev(AuditAction::KeyRotated))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict("kid")));

    assert!(
        audit_ids(&s).await.is_empty(),
        "no event of a failed mutation is stored"
    );
    assert_eq!(attempted.len(), 6);
}
