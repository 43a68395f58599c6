//! Contract cases for token families, refresh tokens and opaque access tokens.

use keygate_core::digest::TokenDigest;
use keygate_core::error::StoreError;
use keygate_core::model::{AccessToken, AuditAction, RefreshRotation, TokenFamily};
use keygate_core::store::Stores;
use keygate_core::{Clock, ManualClock};

use super::fixtures::*;

pub async fn family_and_tokens_crud(s: Stores, clock: ManualClock) {
    let u = new_user(&s, &clock).await;
    let c = new_client(&s, &clock).await;
    let now = clock.now();
    let (fam, rt, at) = new_family(&s, &c.id, Some(u.id), now).await;
    assert_eq!(s.tokens.get_family(fam.id).await.unwrap(), Some(fam.clone()));
    assert_eq!(s.tokens.get_refresh_token(&rt.digest).await.unwrap(), Some(rt.clone()));
    assert_eq!(s.tokens.get_access_token(&at.digest).await.unwrap(), Some(at.clone()));
    assert_eq!(s.tokens.get_refresh_token(&digest()).await.unwrap(), None);
    assert_eq!(s.tokens.get_access_token(&digest()).await.unwrap(), None);

    // A client-credentials family: no user, no refresh token, its access token stored apart.
    let machine: TokenFamily = family(&c.id, None, now);
    s.tokens.create_family(&machine, None, None, &[]).await.unwrap();
    assert_eq!(s.tokens.get_family(machine.id).await.unwrap(), Some(machine.clone()));
    let mut standalone = access(&machine, now);
    standalone.family_id = None;
    s.tokens.create_access_token(&standalone).await.unwrap();
    assert_eq!(
        s.tokens.get_access_token(&standalone.digest).await.unwrap(),
        Some(standalone)
    );
    let in_family = access(&machine, now);
    s.tokens.create_access_token(&in_family).await.unwrap();
    assert_eq!(
        s.tokens.get_access_token(&in_family.digest).await.unwrap(),
        Some(in_family)
    );
}

pub async fn rotation_marks_old_used_and_stores_new(s: Stores, clock: ManualClock) {
    let u = new_user(&s, &clock).await;
    let c = new_client(&s, &clock).await;
    let (fam, old, _) = new_family(&s, &c.id, Some(u.id), clock.now()).await;

    clock.advance(HOUR);
    let now = clock.now();
    let new = refresh(&fam, Some(old.digest), now);
    let new_access = access(&fam, now);
    let ev = event(AuditAction::TokenRefreshed, now).client(c.id.clone()).user(u.id);
    let rotation = s
        .tokens
        .rotate_refresh_token(&old.digest, &new, Some(&new_access), now, std::slice::from_ref(&ev))
        .await
        .unwrap();
    assert_eq!(
        rotation,
        RefreshRotation::Rotated(old.clone()),
        "returns the old token as it was"
    );
    let old_after = s.tokens.get_refresh_token(&old.digest).await.unwrap().unwrap();
    assert_eq!(old_after.used_at, Some(now));
    assert_eq!(
        s.tokens.get_refresh_token(&new.digest).await.unwrap(),
        Some(new.clone())
    );
    assert_eq!(
        s.tokens.get_access_token(&new_access.digest).await.unwrap(),
        Some(new_access)
    );
    assert!(audit_ids(&s).await.contains(&ev.id));

    let again = refresh(&fam, Some(old.digest), now);
    let reuse = s
        .tokens
        .rotate_refresh_token(&old.digest, &again, None, now, &[])
        .await
        .unwrap();
    assert!(
        matches!(reuse, RefreshRotation::Reused(ref t) if t.digest == old.digest),
        "got {reuse:?}"
    );
    assert_eq!(
        s.tokens.get_refresh_token(&again.digest).await.unwrap(),
        None,
        "nothing stored on reuse"
    );

    let next = refresh(&fam, Some(new.digest), now);
    let second = s
        .tokens
        .rotate_refresh_token(&new.digest, &next, None, now, &[])
        .await
        .unwrap();
    assert_eq!(second, RefreshRotation::Rotated(new));

    let unknown = s
        .tokens
        .rotate_refresh_token(&digest(), &refresh(&fam, None, now), None, now, &[])
        .await;
    assert_eq!(unknown.unwrap(), RefreshRotation::Unknown);
}

pub async fn concurrent_rotation_has_one_winner(s: Stores, clock: ManualClock) {
    let u = new_user(&s, &clock).await;
    let c = new_client(&s, &clock).await;
    let (fam, old, _) = new_family(&s, &c.id, Some(u.id), clock.now()).await;
    let now = clock.now();
    let old_digest = old.digest;

    let attempts: Vec<_> = (0..20)
        .map(|_| {
            let s = s.clone();
            let new = refresh(&fam, Some(old_digest), now);
            tokio::spawn(async move {
                let r = s
                    .tokens
                    .rotate_refresh_token(&old_digest, &new, None, now, &[])
                    .await
                    .unwrap();
                (new.digest, r)
            })
        })
        .collect();
    let results: Vec<_> = futures::future::join_all(attempts)
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();

    let rotated: Vec<_> = results
        .iter()
        .filter(|(_, r)| matches!(r, RefreshRotation::Rotated(_)))
        .collect();
    assert_eq!(rotated.len(), 1, "exactly one rotation wins");
    let reused = results
        .iter()
        .filter(|(_, r)| matches!(r, RefreshRotation::Reused(_)))
        .count();
    assert_eq!(reused, 19);
    let mut stored = 0;
    for (digest, _) in &results {
        if s.tokens.get_refresh_token(digest).await.unwrap().is_some() {
            stored += 1;
            assert_eq!(*digest, rotated[0].0, "only the winner's new token is stored");
        }
    }
    assert_eq!(stored, 1);
}

pub async fn revoking_a_family_revokes_every_token_in_it(s: Stores, clock: ManualClock) {
    let u = new_user(&s, &clock).await;
    let c = new_client(&s, &clock).await;
    let now = clock.now();
    let (fam, rt1, at1) = new_family(&s, &c.id, Some(u.id), now).await;
    let rt2 = refresh(&fam, Some(rt1.digest), now);
    let at2 = access(&fam, now);
    let rotated = s
        .tokens
        .rotate_refresh_token(&rt1.digest, &rt2, Some(&at2), now, &[])
        .await
        .unwrap();
    assert!(matches!(rotated, RefreshRotation::Rotated(_)));
    let (other_fam, other_rt, other_at) = new_family(&s, &c.id, Some(u.id), now).await;

    clock.advance(MINUTE);
    let ev = event(AuditAction::TokenRevoked, clock.now()).client(c.id.clone());
    assert!(
        s.tokens
            .revoke_family(fam.id, clock.now(), std::slice::from_ref(&ev))
            .await
            .unwrap()
    );
    assert_eq!(
        s.tokens.get_family(fam.id).await.unwrap().unwrap().revoked_at,
        Some(clock.now())
    );
    for rt in [&rt1, &rt2] {
        let got = s.tokens.get_refresh_token(&rt.digest).await.unwrap().unwrap();
        assert!(got.revoked_at.is_some(), "refresh token {:?} is revoked", rt.digest);
    }
    for at in [&at1, &at2] {
        let got = s.tokens.get_access_token(&at.digest).await.unwrap().unwrap();
        assert!(got.revoked_at.is_some(), "access token {:?} is revoked", at.digest);
    }
    let rt3 = refresh(&fam, Some(rt2.digest), clock.now());
    let attempt = s
        .tokens
        .rotate_refresh_token(&rt2.digest, &rt3, None, clock.now(), &[])
        .await
        .unwrap();
    assert!(
        matches!(attempt, RefreshRotation::Revoked(ref t) if t.digest == rt2.digest),
        "got {attempt:?}"
    );
    assert_eq!(s.tokens.get_refresh_token(&rt3.digest).await.unwrap(), None);
    assert!(audit_ids(&s).await.contains(&ev.id));

    assert_eq!(
        s.tokens.get_family(other_fam.id).await.unwrap().unwrap().revoked_at,
        None
    );
    assert_eq!(
        s.tokens
            .get_refresh_token(&other_rt.digest)
            .await
            .unwrap()
            .unwrap()
            .revoked_at,
        None
    );
    assert_eq!(
        s.tokens
            .get_access_token(&other_at.digest)
            .await
            .unwrap()
            .unwrap()
            .revoked_at,
        None
    );
    assert!(
        !s.tokens
            .revoke_family(keygate_core::ids::FamilyId::new(), clock.now(), &[])
            .await
            .unwrap()
    );
}

pub async fn revoke_families_of_user_and_client(s: Stores, clock: ManualClock) {
    let u = new_user(&s, &clock).await;
    let v = new_user(&s, &clock).await;
    let w = new_user(&s, &clock).await;
    let a = new_client(&s, &clock).await;
    let b = new_client(&s, &clock).await;
    let now = clock.now();
    let (ua, ua_rt, _) = new_family(&s, &a.id, Some(u.id), now).await;
    let (ub, _, _) = new_family(&s, &b.id, Some(u.id), now).await;
    let (va, _, _) = new_family(&s, &a.id, Some(v.id), now).await;
    let (vb, vb_rt, _) = new_family(&s, &b.id, Some(v.id), now).await;
    let (wa, _, _) = new_family(&s, &a.id, Some(w.id), now).await;
    let (wb, _, _) = new_family(&s, &b.id, Some(w.id), now).await;
    let revoked = |f: TokenFamily| {
        let s = s.clone();
        async move { s.tokens.get_family(f.id).await.unwrap().unwrap().revoked_at.is_some() }
    };

    let n = s
        .tokens
        .revoke_families_of_user(u.id, Some(&a.id), now, &[])
        .await
        .unwrap();
    assert_eq!(n, 1);
    assert!(revoked(ua.clone()).await);
    assert!(
        s.tokens
            .get_refresh_token(&ua_rt.digest)
            .await
            .unwrap()
            .unwrap()
            .revoked_at
            .is_some()
    );
    assert!(!revoked(ub.clone()).await, "other client of the same user");
    assert!(!revoked(va.clone()).await, "same client, other user");

    let n = s.tokens.revoke_families_of_client(&b.id, now, &[]).await.unwrap();
    assert_eq!(n, 3);
    assert!(revoked(ub).await && revoked(vb).await && revoked(wb).await);
    assert!(
        s.tokens
            .get_refresh_token(&vb_rt.digest)
            .await
            .unwrap()
            .unwrap()
            .revoked_at
            .is_some()
    );
    assert!(!revoked(va.clone()).await);

    let n = s.tokens.revoke_families_of_user(v.id, None, now, &[]).await.unwrap();
    assert!(revoked(va).await);
    assert_eq!(n, 1, "counts the families it revoked, not those revoked before");
    assert!(!revoked(wa).await, "other users untouched");
}

pub async fn revoke_access_token(s: Stores, clock: ManualClock) {
    let u = new_user(&s, &clock).await;
    let c = new_client(&s, &clock).await;
    let (fam, rt, at) = new_family(&s, &c.id, Some(u.id), clock.now()).await;
    clock.advance(MINUTE);
    assert!(
        s.tokens
            .revoke_access_token(&at.digest, clock.now(), &[])
            .await
            .unwrap()
    );
    let got = s.tokens.get_access_token(&at.digest).await.unwrap().unwrap();
    assert_eq!(got.revoked_at, Some(clock.now()));
    assert_eq!(
        s.tokens.get_family(fam.id).await.unwrap().unwrap().revoked_at,
        None,
        "only the one token"
    );
    assert_eq!(
        s.tokens
            .get_refresh_token(&rt.digest)
            .await
            .unwrap()
            .unwrap()
            .revoked_at,
        None
    );
    assert!(!s.tokens.revoke_access_token(&digest(), clock.now(), &[]).await.unwrap());
}

/// Many token inserts at once (the SQL stores group them into shared statements): each is
/// answered for itself, one whose digest is taken is the only conflict, and the others are stored.
pub async fn concurrent_access_tokens_are_answered_each_for_itself(s: Stores, clock: ManualClock) {
    let c = new_client(&s, &clock).await;
    let now = clock.now();
    let (fam, _, existing) = new_family(&s, &c.id, None, now).await;
    let mut tokens: Vec<AccessToken> = (0..300).map(|_| access(&fam, now)).collect();
    let mut clash = access(&fam, now);
    clash.digest = existing.digest;
    tokens.insert(150, clash);
    let inserts: Vec<_> = tokens
        .iter()
        .cloned()
        .map(|t| {
            let s = s.clone();
            tokio::spawn(async move { s.tokens.create_access_token(&t).await })
        })
        .collect();
    let results: Vec<_> = futures::future::join_all(inserts)
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    for (i, result) in results.iter().enumerate() {
        if i == 150 {
            assert!(
                matches!(result, Err(StoreError::Conflict(_))),
                "the taken digest: {result:?}"
            );
        } else {
            assert!(result.is_ok(), "token {i}: {result:?}");
        }
    }

    // Lookups at once, with repeats and unknown digests mixed in: each gets its own answer.
    let mut asked: Vec<(TokenDigest, Option<AccessToken>)> = Vec::new();
    for (i, t) in tokens.iter().enumerate() {
        let expected = if i == 150 { existing.clone() } else { t.clone() };
        asked.push((t.digest, Some(expected.clone())));
        if i % 3 == 0 {
            asked.push((t.digest, Some(expected)));
            asked.push((digest(), None));
        }
    }
    let lookups: Vec<_> = asked
        .iter()
        .map(|(d, _)| {
            let (s, d) = (s.clone(), *d);
            tokio::spawn(async move { s.tokens.get_access_token(&d).await.unwrap() })
        })
        .collect();
    let found: Vec<_> = futures::future::join_all(lookups)
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    for ((d, expected), got) in asked.iter().zip(found) {
        assert_eq!(&got, expected, "lookup of {d:?}");
    }
}
