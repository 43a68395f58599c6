//! Contract cases for OAuth clients and remembered consents.

use keygate_core::error::StoreError;
use keygate_core::ids::ClientId;
use keygate_core::model::{AuditAction, AuthMethod, CodeRedemption, GrantType, TokenFormat};
use keygate_core::paging::PageRequest;
use keygate_core::store::Stores;
use keygate_core::{Clock, ManualClock};

use super::fixtures::*;

pub async fn client_crud(s: Stores, clock: ManualClock) {
    let c = client("shop", clock.now());
    s.clients.create_client(&c, &[]).await.unwrap();
    assert_eq!(s.clients.get_client(&c.id).await.unwrap(), Some(c.clone()));
    assert_eq!(s.clients.get_client(&ClientId::from("nope")).await.unwrap(), None);

    // A public client with every optional field empty round-trips too.
    let mut public = client("spa", clock.now());
    public.secret_digest = None;
    public.auth_method = AuthMethod::None;
    public.post_logout_redirect_uris = vec![];
    public.grant_types = vec![GrantType::AuthorizationCode];
    public.access_token_format = TokenFormat::Jwt;
    public.access_token_alg = None;
    public.id_token_alg = None;
    public.first_party = true;
    s.clients.create_client(&public, &[]).await.unwrap();
    assert_eq!(s.clients.get_client(&public.id).await.unwrap(), Some(public.clone()));

    clock.advance(MINUTE);
    let mut changed = c.clone();
    changed.name = "Shop (renamed)".into();
    changed.redirect_uris = vec!["https://shop.example.net/callback".into()];
    changed.grant_types = vec![GrantType::ClientCredentials];
    changed.scope = scopes("api:read api:write");
    changed.updated_at = clock.now();
    s.clients.update_client(&changed, &[]).await.unwrap();
    assert_eq!(s.clients.get_client(&c.id).await.unwrap(), Some(changed.clone()));

    clock.advance(MINUTE);
    let secret = digest();
    let ev = event(AuditAction::ClientSecretRotated, clock.now()).client(c.id.clone());
    s.clients
        .set_client_secret(&c.id, &secret, clock.now(), std::slice::from_ref(&ev))
        .await
        .unwrap();
    let rotated = s.clients.get_client(&c.id).await.unwrap().unwrap();
    assert_eq!(rotated.secret_digest, Some(secret));
    assert_eq!(rotated.updated_at, clock.now());
    assert_eq!(rotated.name, changed.name);
    assert!(audit_ids(&s).await.contains(&ev.id));

    assert!(s.clients.delete_client(&c.id, &[]).await.unwrap());
    assert_eq!(s.clients.get_client(&c.id).await.unwrap(), None);
    assert!(!s.clients.delete_client(&c.id, &[]).await.unwrap());
    assert!(s.clients.get_client(&public.id).await.unwrap().is_some());
}

pub async fn duplicate_client_id_is_a_conflict(s: Stores, clock: ManualClock) {
    let c = client("dup", clock.now());
    s.clients.create_client(&c, &[]).await.unwrap();
    let mut again = client("dup", clock.now());
    again.name = "Impostor".into();
    let err = s.clients.create_client(&again, &[]).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict("client_id")), "got {err:?}");
    assert_eq!(s.clients.get_client(&c.id).await.unwrap(), Some(c));
}

pub async fn update_of_missing_client_is_not_found(s: Stores, clock: ManualClock) {
    let ghost = client("ghost", clock.now());
    let err = s.clients.update_client(&ghost, &[]).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound("client")), "got {err:?}");
    let err = s
        .clients
        .set_client_secret(&ghost.id, &digest(), clock.now(), &[])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound("client")), "got {err:?}");
    assert_eq!(s.clients.get_client(&ghost.id).await.unwrap(), None);
}

pub async fn list_pages_by_id(s: Stores, clock: ManualClock) {
    // Created out of order: the listing is by id, not by creation.
    for id in ["client-c", "client-a", "client-e", "client-b", "client-d"] {
        s.clients.create_client(&client(id, clock.now()), &[]).await.unwrap();
    }
    let mut sizes = Vec::new();
    let mut listed = Vec::new();
    let mut page = PageRequest::first(2);
    loop {
        let got = s.clients.list_clients(&page).await.unwrap();
        sizes.push(got.items.len());
        listed.extend(got.items.into_iter().map(|c| c.id.0));
        match got.next {
            Some(cursor) => page = PageRequest::after(cursor, 2),
            None => break,
        }
        assert!(sizes.len() < 10, "paging does not end");
    }
    assert_eq!(sizes, vec![2, 2, 1]);
    assert_eq!(listed, vec!["client-a", "client-b", "client-c", "client-d", "client-e"]);
}

pub async fn delete_removes_consents_codes_and_families(s: Stores, clock: ManualClock) {
    let u = new_user(&s, &clock).await;
    let doomed = new_client(&s, &clock).await;
    let kept = new_client(&s, &clock).await;
    let now = clock.now();
    s.consents
        .put_consent(&consent(u.id, &doomed.id, "openid", now), &[])
        .await
        .unwrap();
    s.consents
        .put_consent(&consent(u.id, &kept.id, "openid", now), &[])
        .await
        .unwrap();
    let code_doomed = code(&doomed.id, u.id, now);
    s.codes.create_code(&code_doomed).await.unwrap();
    let (fam, rt, at) = new_family(&s, &doomed.id, Some(u.id), now).await;
    let (kept_fam, kept_rt, _) = new_family(&s, &kept.id, Some(u.id), now).await;

    assert!(s.clients.delete_client(&doomed.id, &[]).await.unwrap());
    assert_eq!(s.consents.get_consent(u.id, &doomed.id).await.unwrap(), None);
    assert!(s.consents.get_consent(u.id, &kept.id).await.unwrap().is_some());
    let redemption = s.codes.redeem_code(&code_doomed.digest, fam.id, now).await.unwrap();
    assert_eq!(redemption, CodeRedemption::Unknown);
    assert_eq!(s.tokens.get_family(fam.id).await.unwrap(), None);
    assert_eq!(s.tokens.get_refresh_token(&rt.digest).await.unwrap(), None);
    assert_eq!(s.tokens.get_access_token(&at.digest).await.unwrap(), None);
    assert!(s.tokens.get_family(kept_fam.id).await.unwrap().is_some());
    assert!(s.tokens.get_refresh_token(&kept_rt.digest).await.unwrap().is_some());
}

pub async fn consent_crud(s: Stores, clock: ManualClock) {
    let u = new_user(&s, &clock).await;
    let other = new_user(&s, &clock).await;
    let c1 = new_client(&s, &clock).await;
    let c2 = new_client(&s, &clock).await;
    assert_eq!(s.consents.get_consent(u.id, &c1.id).await.unwrap(), None);

    let first = consent(u.id, &c1.id, "openid email", clock.now());
    s.consents.put_consent(&first, &[]).await.unwrap();
    assert_eq!(s.consents.get_consent(u.id, &c1.id).await.unwrap(), Some(first.clone()));

    clock.advance(MINUTE);
    let mut wider = first.clone();
    wider.scope = scopes("openid email profile");
    wider.updated_at = clock.now();
    s.consents.put_consent(&wider, &[]).await.unwrap();
    assert_eq!(
        s.consents.get_consent(u.id, &c1.id).await.unwrap(),
        Some(wider.clone()),
        "put replaces"
    );

    let second = consent(u.id, &c2.id, "openid", clock.now());
    s.consents.put_consent(&second, &[]).await.unwrap();
    s.consents
        .put_consent(&consent(other.id, &c1.id, "openid", clock.now()), &[])
        .await
        .unwrap();
    let mut mine = s.consents.list_consents_of_user(u.id).await.unwrap();
    mine.sort_by(|a, b| a.client_id.cmp(&b.client_id));
    let mut expected = vec![wider, second];
    expected.sort_by(|a, b| a.client_id.cmp(&b.client_id));
    assert_eq!(mine, expected);

    assert!(s.consents.delete_consent(u.id, &c1.id).await.unwrap());
    assert_eq!(s.consents.get_consent(u.id, &c1.id).await.unwrap(), None);
    assert!(!s.consents.delete_consent(u.id, &c1.id).await.unwrap());
    assert!(s.consents.get_consent(other.id, &c1.id).await.unwrap().is_some());
    assert_eq!(s.consents.list_consents_of_user(u.id).await.unwrap().len(), 1);
}

pub async fn a_consent_is_written_with_its_audit_event(s: Stores, clock: ManualClock) {
    let u = new_user(&s, &clock).await;
    let c = new_client(&s, &clock).await;
    let event = keygate_core::model::AuditEvent::new(
        AuditAction::ConsentGranted,
        format!("user:{}", u.id),
        keygate_core::model::Outcome::Success,
        clock.now(),
    )
    .user(u.id)
    .client(c.id.clone());
    s.consents
        .put_consent(
            &consent(u.id, &c.id, "openid", clock.now()),
            std::slice::from_ref(&event),
        )
        .await
        .unwrap();
    let filter = keygate_core::model::AuditFilter {
        action: Some(AuditAction::ConsentGranted),
        ..Default::default()
    };
    let listed = s
        .audit
        .list_audit(&filter, &PageRequest::first(10))
        .await
        .unwrap()
        .items;
    assert_eq!(listed, vec![event]);
    assert!(s.consents.get_consent(u.id, &c.id).await.unwrap().is_some());
}

/// Many client lookups at once (the SQL stores group them into shared statements): each gets its
/// own client, an unknown id gets none, and a client changed just before is read as changed.
pub async fn concurrent_lookups_are_answered_each_for_itself(s: Stores, clock: ManualClock) {
    let mut clients = Vec::new();
    for i in 0..6 {
        let c = client(&format!("grouped-{i}"), clock.now());
        s.clients.create_client(&c, &[]).await.unwrap();
        clients.push(c);
    }
    clients[2].name = "renamed".into();
    s.clients.update_client(&clients[2], &[]).await.unwrap();
    let asked: Vec<(ClientId, Option<keygate_core::model::Client>)> = (0..240)
        .map(|i| match i % 8 {
            6 | 7 => (ClientId(format!("grouped-missing-{i}")), None),
            k => (clients[k].id.clone(), Some(clients[k].clone())),
        })
        .collect();
    let lookups: Vec<_> = asked
        .iter()
        .map(|(id, _)| {
            let (s, id) = (s.clone(), id.clone());
            tokio::spawn(async move { s.clients.get_client(&id).await.unwrap() })
        })
        .collect();
    let found: Vec<_> = futures::future::join_all(lookups)
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    for ((id, expected), got) in asked.iter().zip(found) {
        assert_eq!(&got, expected, "lookup of {id:?}");
    }
}
