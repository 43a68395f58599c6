//! Contract cases for health, statistics and the purge of expired records.

use keygate_core::model::{AuditAction, CodeRedemption, EmailTokenKind};
use keygate_core::store::{PurgeReport, Stores};
use keygate_core::{Clock, ManualClock};

use super::fixtures::*;

pub async fn ping_answers(s: Stores, _clock: ManualClock) {
    s.maintenance.ping().await.unwrap();
}

pub async fn stats_count_live_records(s: Stores, clock: ManualClock) {
    let empty = s.maintenance.stats(clock.now()).await.unwrap();
    assert_eq!(
        (
            empty.users,
            empty.clients,
            empty.live_sessions,
            empty.live_refresh_tokens
        ),
        (0, 0, 0, 0)
    );

    let u = new_user(&s, &clock).await;
    let _v = new_user(&s, &clock).await;
    let c = new_client(&s, &clock).await;
    let t0 = clock.now();
    let live = session(u.id, t0);
    let mut short = session(u.id, t0);
    short.idle_expires_at = t0.plus(MINUTE);
    s.sessions.create_session(&live, &[]).await.unwrap();
    s.sessions.create_session(&short, &[]).await.unwrap();

    let (fam, used, _) = new_family(&s, &c.id, Some(u.id), t0).await;
    let current = refresh(&fam, Some(used.digest), t0);
    s.tokens
        .rotate_refresh_token(&used.digest, &current, None, t0, &[])
        .await
        .unwrap();
    let expiring = family(&c.id, Some(u.id), t0);
    let mut soon = refresh(&expiring, None, t0);
    soon.expires_at = t0.plus(MINUTE);
    s.tokens.create_family(&expiring, Some(&soon), None, &[]).await.unwrap();
    let (revoked, _, _) = new_family(&s, &c.id, Some(u.id), t0).await;
    s.tokens.revoke_family(revoked.id, t0, &[]).await.unwrap();

    clock.advance(2 * MINUTE);
    let stats = s.maintenance.stats(clock.now()).await.unwrap();
    assert_eq!(stats.users, 2);
    assert_eq!(stats.clients, 1);
    assert_eq!(stats.live_sessions, 1, "the idle-expired session is not live");
    assert_eq!(
        stats.live_refresh_tokens, 1,
        "used, expired and revoked tokens are not live"
    );
    // Rows per table count every record, live or not, under the same names on every backend.
    assert_eq!(stats.rows.get("users"), Some(&2), "{:?}", stats.rows);
    assert_eq!(stats.rows.get("sessions"), Some(&2), "{:?}", stats.rows);
    assert_eq!(stats.rows.get("token_families"), Some(&3), "{:?}", stats.rows);
    assert_eq!(stats.rows.get("refresh_tokens"), Some(&4), "{:?}", stats.rows);
    assert_eq!(stats.rows.get("access_tokens"), Some(&2), "{:?}", stats.rows);
    for table in keygate_store::transfer::TABLES {
        assert!(stats.rows.contains_key(table.name), "no row count for {}", table.name);
    }
    assert_eq!(
        stats.live_access_tokens, 1,
        "the revoked family's access token is not live"
    );
}

pub async fn purge_deletes_expired_and_keeps_live(s: Stores, clock: ManualClock) {
    let u = new_user(&s, &clock).await;
    let c = new_client(&s, &clock).await;
    let t0 = clock.now();

    let code_old = code(&c.id, u.id, t0);
    let mut code_live = code(&c.id, u.id, t0);
    code_live.expires_at = t0.plus(3 * DAY);
    s.codes.create_code(&code_old).await.unwrap();
    s.codes.create_code(&code_live).await.unwrap();

    let sess_old = session(u.id, t0);
    let mut sess_live = session(u.id, t0);
    sess_live.idle_expires_at = t0.plus(3 * DAY);
    sess_live.absolute_expires_at = t0.plus(4 * DAY);
    s.sessions.create_session(&sess_old, &[]).await.unwrap();
    s.sessions.create_session(&sess_live, &[]).await.unwrap();

    let tok_old = email_token(u.id, EmailTokenKind::Reset, t0);
    let mut tok_live = email_token(u.id, EmailTokenKind::Verify, t0);
    tok_live.expires_at = t0.plus(3 * DAY);
    s.email_tokens.issue_email_token(&tok_old, &[]).await.unwrap();
    s.email_tokens.issue_email_token(&tok_live, &[]).await.unwrap();

    let fam = family(&c.id, Some(u.id), t0);
    let mut rt_old = refresh(&fam, None, t0);
    rt_old.expires_at = t0.plus(HOUR);
    let at_old = access(&fam, t0);
    s.tokens
        .create_family(&fam, Some(&rt_old), Some(&at_old), &[])
        .await
        .unwrap();
    let fam_live = family(&c.id, Some(u.id), t0);
    let rt_live = refresh(&fam_live, None, t0);
    let mut at_live = access(&fam_live, t0);
    at_live.expires_at = t0.plus(3 * DAY);
    s.tokens
        .create_family(&fam_live, Some(&rt_live), Some(&at_live), &[])
        .await
        .unwrap();

    s.ephemeral.put("old", b"x", t0, HOUR).await.unwrap();
    s.ephemeral.incr("old-counter", t0, HOUR).await.unwrap();
    s.ephemeral.put("live", b"y", t0, 3 * DAY).await.unwrap();

    let old_event = event(AuditAction::LoginFailed, t0);
    let new_event = event(AuditAction::LoginFailed, t0.plus(2 * DAY));
    s.audit
        .append_audit(&[old_event.clone(), new_event.clone()])
        .await
        .unwrap();

    clock.set(t0.plus(2 * DAY));
    let now = clock.now();
    let mut total = PurgeReport::default();
    for _ in 0..20 {
        let r = s.maintenance.purge_expired(now, t0.plus(DAY), 100).await.unwrap();
        if r.total() == 0 {
            break;
        }
        total.codes += r.codes;
        total.sessions += r.sessions;
        total.email_tokens += r.email_tokens;
        total.refresh_tokens += r.refresh_tokens;
        total.access_tokens += r.access_tokens;
        total.ephemeral += r.ephemeral;
        total.audit_events += r.audit_events;
    }
    let expected = PurgeReport {
        codes: 1,
        sessions: 1,
        email_tokens: 1,
        refresh_tokens: 1,
        access_tokens: 1,
        ephemeral: 2,
        audit_events: 1,
    };
    assert_eq!(total, expected);

    assert_eq!(s.sessions.get_session(&sess_old.digest).await.unwrap(), None);
    assert!(s.sessions.get_session(&sess_live.digest).await.unwrap().is_some());
    assert_eq!(s.tokens.get_refresh_token(&rt_old.digest).await.unwrap(), None);
    assert!(s.tokens.get_refresh_token(&rt_live.digest).await.unwrap().is_some());
    assert_eq!(s.tokens.get_access_token(&at_old.digest).await.unwrap(), None);
    assert!(s.tokens.get_access_token(&at_live.digest).await.unwrap().is_some());
    assert_eq!(s.ephemeral.get("live", now).await.unwrap(), Some(b"y".to_vec()));
    let fresh = keygate_core::ids::FamilyId::new();
    let old = s.codes.redeem_code(&code_old.digest, fresh, now).await.unwrap();
    assert_eq!(old, CodeRedemption::Unknown);
    let live = s.codes.redeem_code(&code_live.digest, fresh, now).await.unwrap();
    assert!(matches!(live, CodeRedemption::Redeemed(_)));
    let consumed = s
        .email_tokens
        .consume_email_token(&tok_live.digest, EmailTokenKind::Verify, now, &[])
        .await;
    assert!(consumed.unwrap().is_some());
    let ids = audit_ids(&s).await;
    assert_eq!(ids, vec![new_event.id]);
}

pub async fn purge_respects_the_batch_size(s: Stores, clock: ManualClock) {
    let t0 = clock.now();
    for k in ["a", "b", "c"] {
        s.ephemeral.put(k, b"x", t0, MINUTE).await.unwrap();
    }
    s.ephemeral.put("live", b"y", t0, DAY).await.unwrap();
    clock.advance(HOUR);
    let now = clock.now();
    let first = s.maintenance.purge_expired(now, t0, 2).await.unwrap();
    assert_eq!((first.ephemeral, first.total()), (2, 2));
    let second = s.maintenance.purge_expired(now, t0, 2).await.unwrap();
    assert_eq!((second.ephemeral, second.total()), (1, 1));
    let third = s.maintenance.purge_expired(now, t0, 2).await.unwrap();
    assert_eq!(third.total(), 0);
    assert_eq!(s.ephemeral.get("live", now).await.unwrap(), Some(b"y".to_vec()));
}
