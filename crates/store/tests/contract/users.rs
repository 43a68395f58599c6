//! Contract cases for user accounts.

use keygate_core::error::StoreError;
use keygate_core::model::{
    AuditAction, Consent, EmailTokenKind, EncryptedBlob, PasswordHash, Role, Roles, TotpCredential,
};
use keygate_core::paging::PageRequest;
use keygate_core::store::{Stores, UserFilter};
use keygate_core::{Clock, ManualClock};

use super::fixtures::*;

pub async fn create_get_find(s: Stores, clock: ManualClock) {
    let now = clock.now();
    let mut u = user("Ann.Smith@Example.com", now);
    u.email_verified_at = Some(now.minus(HOUR));
    u.failed_logins = 2;
    u.locked_until = Some(now.plus(MINUTE));
    s.users.create_user(&u, &[]).await.unwrap();

    assert_eq!(s.users.get_user(u.id).await.unwrap(), Some(u.clone()));
    let found = s
        .users
        .find_user_by_email(&email("ann.smith@EXAMPLE.COM"))
        .await
        .unwrap();
    assert_eq!(found, Some(u.clone()), "lookup ignores letter case");
    assert_eq!(
        s.users.find_user_by_email(&email("ann@example.com")).await.unwrap(),
        None
    );
    assert_eq!(s.users.get_user(keygate_core::ids::UserId::new()).await.unwrap(), None);
}

pub async fn same_email_in_other_case_is_a_conflict(s: Stores, clock: ManualClock) {
    let first = user("Bob@Example.com", clock.now());
    s.users.create_user(&first, &[]).await.unwrap();
    let second = user("bob@EXAMPLE.com", clock.now());
    let err = s.users.create_user(&second, &[]).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict("email")), "got {err:?}");
    assert_eq!(s.users.get_user(second.id).await.unwrap(), None);
    let found = s
        .users
        .find_user_by_email(&email("BOB@example.com"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id, first.id);
    assert_eq!(found.email.as_str(), "Bob@Example.com", "the address is kept as typed");
}

pub async fn update_round_trips(s: Stores, clock: ManualClock) {
    let mut u = new_user(&s, &clock).await;
    let old_email = u.email.clone();
    clock.advance(MINUTE);
    let now = clock.now();
    u.email = email("Renamed@Example.org");
    u.email_verified_at = Some(now);
    u.disabled_at = Some(now);
    u.failed_logins = 5;
    u.locked_until = Some(now.plus(HOUR));
    u.password_hash = None;
    u.updated_at = now;
    s.users.update_user(&u, &[]).await.unwrap();

    assert_eq!(s.users.get_user(u.id).await.unwrap(), Some(u.clone()));
    assert_eq!(s.users.find_user_by_email(&old_email).await.unwrap(), None);
    let found = s.users.find_user_by_email(&email("renamed@example.org")).await.unwrap();
    assert_eq!(found.map(|f| f.id), Some(u.id));
    // The old address is free again.
    let other = user(old_email.as_str(), now);
    s.users.create_user(&other, &[]).await.unwrap();
}

pub async fn update_to_taken_email_is_a_conflict(s: Stores, clock: ManualClock) {
    let a = user("carol@example.com", clock.now());
    s.users.create_user(&a, &[]).await.unwrap();
    let b = new_user(&s, &clock).await;
    let mut changed = b.clone();
    changed.email = email("CAROL@example.com");
    let err = s.users.update_user(&changed, &[]).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict("email")), "got {err:?}");
    assert_eq!(s.users.get_user(b.id).await.unwrap(), Some(b));
    // Changing only the letter case of one's own address is not a conflict.
    let mut recased = a.clone();
    recased.email = email("Carol@Example.com");
    s.users.update_user(&recased, &[]).await.unwrap();
    assert_eq!(
        s.users.get_user(a.id).await.unwrap().unwrap().email.as_str(),
        "Carol@Example.com"
    );
}

pub async fn update_of_missing_user_is_not_found(s: Stores, clock: ManualClock) {
    let ghost = user("ghost@example.com", clock.now());
    let err = s.users.update_user(&ghost, &[]).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound("user")), "got {err:?}");
    assert_eq!(s.users.get_user(ghost.id).await.unwrap(), None);
}

pub async fn list_pages_in_creation_order(s: Stores, clock: ManualClock) {
    let mut created = Vec::new();
    for _ in 0..7 {
        created.push(new_user(&s, &clock).await.id);
        clock.advance(std::time::Duration::from_millis(5));
    }
    let mut sizes = Vec::new();
    let mut listed = Vec::new();
    let mut page = PageRequest::first(3);
    loop {
        let got = s.users.list_users(&UserFilter::default(), &page).await.unwrap();
        sizes.push(got.items.len());
        listed.extend(got.items.iter().map(|u| u.id));
        match got.next {
            Some(cursor) => page = PageRequest::after(cursor, 3),
            None => break,
        }
        assert!(sizes.len() < 10, "paging does not end");
    }
    assert_eq!(sizes, vec![3, 3, 1]);
    assert_eq!(listed, created, "every user once, in creation order");

    // Erased accounts are not listed.
    s.users.erase_user(created[3], clock.now(), &[]).await.unwrap();
    let all = s
        .users
        .list_users(&UserFilter::default(), &PageRequest::first(100))
        .await
        .unwrap();
    let ids: Vec<_> = all.items.iter().map(|u| u.id).collect();
    assert_eq!(ids.len(), 6);
    assert!(!ids.contains(&created[3]));
    assert_eq!(all.next, None);
}

pub async fn list_filters_by_prefix_verification_and_state(s: Stores, clock: ManualClock) {
    let now = clock.now();
    let make = |addr: &str, verified: bool, active: bool| {
        let mut u = user(addr, now);
        u.email_verified_at = verified.then_some(now);
        u.disabled_at = (!active).then_some(now);
        clock.advance(std::time::Duration::from_millis(2));
        u
    };
    let users = [
        make("ann@example.com", true, true),
        make("anna@example.com", false, true),
        make("a_b@example.com", true, false),
        make("axb@example.com", true, true),
        make("bob@example.com", true, true),
    ];
    for u in &users {
        s.users.create_user(u, &[]).await.unwrap();
    }
    let list = |filter: UserFilter| {
        let s = s.clone();
        async move {
            let page = s.users.list_users(&filter, &PageRequest::first(100)).await.unwrap();
            page.items.into_iter().map(|u| u.email.to_string()).collect::<Vec<_>>()
        }
    };
    let prefix = |p: &str| UserFilter {
        email_prefix: Some(p.to_owned()),
        ..UserFilter::default()
    };
    assert_eq!(list(prefix("ann")).await, ["ann@example.com", "anna@example.com"]);
    // LIKE's wildcards in a prefix are plain characters.
    assert_eq!(list(prefix("a_")).await, ["a_b@example.com"]);
    assert_eq!(list(prefix("%")).await, Vec::<String>::new());
    assert_eq!(list(prefix("zed")).await, Vec::<String>::new());
    let unverified = UserFilter {
        verified: Some(false),
        ..UserFilter::default()
    };
    assert_eq!(list(unverified).await, ["anna@example.com"]);
    let inactive = UserFilter {
        active: Some(false),
        ..UserFilter::default()
    };
    assert_eq!(list(inactive).await, ["a_b@example.com"]);
    let both = UserFilter {
        email_prefix: Some("a".into()),
        verified: Some(true),
        active: Some(true),
    };
    assert_eq!(list(both.clone()).await, ["ann@example.com", "axb@example.com"]);

    // Paging keeps the filter.
    let first = s.users.list_users(&both, &PageRequest::first(1)).await.unwrap();
    assert_eq!(first.items.len(), 1);
    let cursor = first.next.expect("a second page");
    let second = s.users.list_users(&both, &PageRequest::after(cursor, 1)).await.unwrap();
    assert_eq!(second.items[0].email.as_str(), "axb@example.com");
    assert_eq!(second.next, None);
}

pub async fn roles_round_trip_and_erasure_drops_them(s: Stores, clock: ManualClock) {
    let mut u = user("root@example.com", clock.now());
    u.roles = Roles::parse("admin").unwrap();
    s.users.create_user(&u, &[]).await.unwrap();
    let stored = s.users.get_user(u.id).await.unwrap().unwrap();
    assert!(stored.roles.is_admin());

    let mut changed = stored.clone();
    changed.roles.revoke(&Role::admin());
    changed.roles.grant(Role::parse("support").unwrap());
    s.users.update_user(&changed, &[]).await.unwrap();
    let stored = s.users.get_user(u.id).await.unwrap().unwrap();
    assert!(!stored.roles.is_admin());
    assert_eq!(stored.roles.to_stored(), "support");

    changed.roles.grant(Role::admin());
    s.users.update_user(&changed, &[]).await.unwrap();
    s.users.erase_user(u.id, clock.now(), &[]).await.unwrap();
    let erased = s.users.get_user(u.id).await.unwrap().unwrap();
    assert!(erased.roles.is_empty(), "an erased account keeps no role");
}

pub async fn set_password_ends_other_sessions_and_revokes_families(s: Stores, clock: ManualClock) {
    let u = new_user(&s, &clock).await;
    let bystander = new_user(&s, &clock).await;
    let c = new_client(&s, &clock).await;
    let now = clock.now();
    let keep = session(u.id, now);
    let other1 = session(u.id, now);
    let other2 = session(u.id, now);
    let theirs = session(bystander.id, now);
    for sess in [&keep, &other1, &other2, &theirs] {
        s.sessions.create_session(sess, &[]).await.unwrap();
    }
    let (fam, rt, at) = new_family(&s, &c.id, Some(u.id), now).await;
    let (their_fam, their_rt, _) = new_family(&s, &c.id, Some(bystander.id), now).await;
    let p = pat(u.id, "ci", now);
    s.pats.create_pat(&p, &[]).await.unwrap();

    clock.advance(MINUTE);
    let new_hash = PasswordHash("$argon2id$v=19$m=19456,t=2,p=1$bmV3$bmV3aGFzaA".into());
    let ev = event(AuditAction::PasswordChanged, clock.now()).user(u.id);
    s.users
        .set_password(
            u.id,
            &new_hash,
            Some(&keep.digest),
            clock.now(),
            std::slice::from_ref(&ev),
        )
        .await
        .unwrap();

    let stored = s.users.get_user(u.id).await.unwrap().unwrap();
    assert_eq!(stored.password_hash, Some(new_hash));
    assert!(
        s.sessions.get_session(&keep.digest).await.unwrap().is_some(),
        "kept session survives"
    );
    assert_eq!(s.sessions.get_session(&other1.digest).await.unwrap(), None);
    assert_eq!(s.sessions.get_session(&other2.digest).await.unwrap(), None);
    assert!(
        s.sessions.get_session(&theirs.digest).await.unwrap().is_some(),
        "other users untouched"
    );
    assert!(s.tokens.get_family(fam.id).await.unwrap().unwrap().revoked_at.is_some());
    assert!(
        s.tokens
            .get_refresh_token(&rt.digest)
            .await
            .unwrap()
            .unwrap()
            .revoked_at
            .is_some()
    );
    assert!(
        s.tokens
            .get_access_token(&at.digest)
            .await
            .unwrap()
            .unwrap()
            .revoked_at
            .is_some()
    );
    assert_eq!(
        s.tokens.get_family(their_fam.id).await.unwrap().unwrap().revoked_at,
        None
    );
    assert_eq!(
        s.tokens
            .get_refresh_token(&their_rt.digest)
            .await
            .unwrap()
            .unwrap()
            .revoked_at,
        None
    );
    let p_after = s.pats.get_pat_by_digest(&p.digest).await.unwrap().unwrap();
    assert_eq!(p_after.revoked_at, None, "personal access tokens stay");
    assert!(audit_ids(&s).await.contains(&ev.id));
}

pub async fn deactivation_ends_sessions_and_grants(s: Stores, clock: ManualClock) {
    let u = new_user(&s, &clock).await;
    let c = new_client(&s, &clock).await;
    let now = clock.now();
    let sess1 = session(u.id, now);
    let sess2 = session(u.id, now);
    s.sessions.create_session(&sess1, &[]).await.unwrap();
    s.sessions.create_session(&sess2, &[]).await.unwrap();
    let (fam, rt, at) = new_family(&s, &c.id, Some(u.id), now).await;

    clock.advance(MINUTE);
    s.users.set_user_active(u.id, false, clock.now(), &[]).await.unwrap();
    let stored = s.users.get_user(u.id).await.unwrap().unwrap();
    assert!(!stored.is_active());
    assert!(stored.disabled_at.is_some());
    assert_eq!(s.sessions.get_session(&sess1.digest).await.unwrap(), None);
    assert_eq!(s.sessions.get_session(&sess2.digest).await.unwrap(), None);
    assert!(s.tokens.get_family(fam.id).await.unwrap().unwrap().revoked_at.is_some());
    assert!(
        s.tokens
            .get_refresh_token(&rt.digest)
            .await
            .unwrap()
            .unwrap()
            .revoked_at
            .is_some()
    );
    assert!(
        s.tokens
            .get_access_token(&at.digest)
            .await
            .unwrap()
            .unwrap()
            .revoked_at
            .is_some()
    );

    s.users.set_user_active(u.id, true, clock.now(), &[]).await.unwrap();
    let again = s.users.get_user(u.id).await.unwrap().unwrap();
    assert!(again.is_active());
    assert_eq!(again.disabled_at, None);
}

pub async fn erase_removes_personal_data_and_anonymises_audit(s: Stores, clock: ManualClock) {
    let u = user("Erin@Example.com", clock.now());
    let earlier = event(AuditAction::UserRegistered, clock.now())
        .user(u.id)
        .from_request(Some("198.51.100.7".into()), Some("curl/8".into()));
    s.users.create_user(&u, std::slice::from_ref(&earlier)).await.unwrap();
    let c = new_client(&s, &clock).await;
    let now = clock.now();
    let sess = session(u.id, now);
    s.sessions.create_session(&sess, &[]).await.unwrap();
    let totp = TotpCredential {
        user_id: u.id,
        secret: EncryptedBlob(vec![1, 2, 3]),
        enabled_at: Some(now),
        last_used_step: None,
        created_at: now,
    };
    s.credentials.put_totp(&totp, &[]).await.unwrap();
    s.credentials
        .replace_recovery_codes(u.id, &[digest(), digest()], now, &[])
        .await
        .unwrap();
    s.consents
        .put_consent(&consent(u.id, &c.id, "openid", now), &[])
        .await
        .unwrap();
    let p = pat(u.id, "laptop", now);
    s.pats.create_pat(&p, &[]).await.unwrap();
    let (fam, rt, _) = new_family(&s, &c.id, Some(u.id), now).await;
    let reset = email_token(u.id, EmailTokenKind::Reset, now);
    s.email_tokens.issue_email_token(&reset, &[]).await.unwrap();

    clock.advance(MINUTE);
    let erased_ev = event(AuditAction::AccountErased, clock.now())
        .user(u.id)
        .from_request(Some("198.51.100.7".into()), Some("curl/8".into()));
    s.users
        .erase_user(u.id, clock.now(), std::slice::from_ref(&erased_ev))
        .await
        .unwrap();

    let row = s.users.get_user(u.id).await.unwrap().expect("the row stays");
    assert!(row.deleted_at.is_some());
    assert!(!row.is_active());
    assert_eq!(row.password_hash, None);
    assert_eq!(row.email_verified_at, None, "the replaced address was never verified");
    assert_ne!(row.email.normalized(), "erin@example.com", "the address is replaced");
    assert_eq!(
        s.users.find_user_by_email(&email("erin@example.com")).await.unwrap(),
        None
    );
    assert_eq!(s.sessions.get_session(&sess.digest).await.unwrap(), None);
    assert_eq!(s.credentials.get_totp(u.id).await.unwrap(), None);
    assert_eq!(s.credentials.count_unused_recovery_codes(u.id).await.unwrap(), 0);
    let consents: Vec<Consent> = s.consents.list_consents_of_user(u.id).await.unwrap();
    assert!(consents.is_empty());
    assert!(s.pats.list_pats_of_user(u.id).await.unwrap().is_empty());
    assert_eq!(s.pats.get_pat_by_digest(&p.digest).await.unwrap(), None);
    assert_eq!(s.tokens.get_refresh_token(&rt.digest).await.unwrap(), None);
    assert_eq!(s.tokens.get_family(fam.id).await.unwrap(), None);
    let consumed = s
        .email_tokens
        .consume_email_token(&reset.digest, EmailTokenKind::Reset, clock.now(), &[])
        .await
        .unwrap();
    assert_eq!(consumed, None);

    let filter = keygate_core::model::AuditFilter {
        user_id: Some(u.id),
        ..Default::default()
    };
    let rows = s
        .audit
        .list_audit(&filter, &PageRequest::first(10))
        .await
        .unwrap()
        .items;
    let kept = rows.iter().find(|e| e.id == earlier.id).expect("audit rows stay");
    assert_eq!(kept.ip, None);
    assert_eq!(kept.user_agent, None);
    assert_eq!(kept.action, AuditAction::UserRegistered);
    let own = rows
        .iter()
        .find(|e| e.id == erased_ev.id)
        .expect("the erasure is logged");
    assert_eq!(
        (own.ip.as_deref(), own.user_agent.as_deref()),
        (None, None),
        "it keeps no address either"
    );

    // The address can be used for a new account.
    s.users
        .create_user(&user("erin@example.com", clock.now()), &[])
        .await
        .unwrap();
}
