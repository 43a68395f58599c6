//! The janitor: expired sessions, codes, email links and old audit events go, live ones stay
//! (memory and SQLite, in-process with a manual clock); the background task purges on its
//! schedule and survives store errors; `keygate cleanup --json` reports what it deleted.

use crate::common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use common::binary::{keygate, run, stderr, stdout};
use keygate::janitor::{Janitor, JanitorPolicy, purge};
use keygate_core::accounts::RequestMeta;
use keygate_core::digest::TokenDigest;
use keygate_core::error::StoreResult;
use keygate_core::ids::SessionId;
use keygate_core::model::{
    AuditAction, AuditEvent, AuthorizationCode, CodeRedemption, EmailToken, EmailTokenKind, Outcome, Session, User,
};
use keygate_core::oauth::ClientMetadata;
use keygate_core::store::{MaintenanceStore, PurgeReport, StoreStats, Stores};
use keygate_core::{Clock, Email, ManualClock, Scopes, StoreError, SystemClock, Timestamp};
use keygate_store::{Backend, SqlOptions};

const MINUTE: Duration = Duration::from_secs(60);
const DAY: Duration = Duration::from_secs(86_400);

fn policy(batch_size: u32) -> JanitorPolicy {
    JanitorPolicy {
        interval: Duration::from_secs(300),
        batch_size,
        audit_retention: Duration::from_secs(90 * 86_400),
    }
}

fn digest() -> TokenDigest {
    TokenDigest::of(&uuid::Uuid::new_v4().to_string())
}

fn session(user: &User, now: Timestamp, lifetime: Duration) -> Session {
    Session {
        id: SessionId::new(),
        digest: digest(),
        user_id: user.id,
        ip: None,
        user_agent: None,
        amr: vec!["pwd".into()],
        auth_time: now,
        created_at: now,
        last_seen_at: now,
        idle_expires_at: now.plus(lifetime),
        absolute_expires_at: now.plus(lifetime),
    }
}

fn code(client: &keygate_core::ids::ClientId, user: &User, now: Timestamp, lifetime: Duration) -> AuthorizationCode {
    AuthorizationCode {
        digest: digest(),
        client_id: client.clone(),
        user_id: user.id,
        redirect_uri: "https://app.example.com/cb".into(),
        scope: Scopes::parse("openid").unwrap(),
        nonce: None,
        code_challenge: None,
        code_challenge_method: None,
        auth_time: now,
        amr: vec!["pwd".into()],
        created_at: now,
        expires_at: now.plus(lifetime),
        used_at: None,
        family_id: None,
    }
}

fn email_token(user: &User, kind: EmailTokenKind, now: Timestamp, lifetime: Duration) -> EmailToken {
    EmailToken {
        digest: digest(),
        user_id: user.id,
        kind,
        created_at: now,
        expires_at: now.plus(lifetime),
        used_at: None,
    }
}

async fn new_user(stores: &Stores, now: Timestamp) -> User {
    let address = format!("u-{}@example.com", uuid::Uuid::new_v4().simple());
    let user = User::new(Email::parse(&address).unwrap(), None, now);
    stores.users.create_user(&user, &[]).await.unwrap();
    user
}

/// Expired and live records of each kind the janitor looks after; what should go and what stay.
struct Seeded {
    expired_session: Session,
    live_session: Session,
    expired_code: AuthorizationCode,
    live_code: AuthorizationCode,
    live_token: EmailToken,
}

/// Seeds records at `t0`; two days later the short-lived ones have expired, and audit events
/// written 100 days before `t0 + 2 days` are past the 90-day retention.
async fn seed(stores: &Stores, t0: Timestamp) -> Seeded {
    let user = new_user(stores, t0).await;
    let metadata = ClientMetadata {
        redirect_uris: Some(vec!["https://app.example.com/cb".into()]),
        ..ClientMetadata::default()
    };
    let (client, _) =
        keygate_core::oauth::create_client(stores.clients.as_ref(), &metadata, "test", &RequestMeta::default(), t0)
            .await
            .unwrap();
    let expired_session = session(&user, t0, MINUTE);
    let live_session = session(&user, t0, 7 * DAY);
    for s in [&expired_session, &live_session] {
        stores.sessions.create_session(s, &[]).await.unwrap();
    }
    let expired_code = code(&client.id, &user, t0, MINUTE);
    let live_code = code(&client.id, &user, t0, 7 * DAY);
    for c in [&expired_code, &live_code] {
        stores.codes.create_code(c).await.unwrap();
    }
    let expired_token = email_token(&user, EmailTokenKind::Reset, t0, MINUTE);
    let live_token = email_token(&user, EmailTokenKind::Verify, t0, 7 * DAY);
    for t in [&expired_token, &live_token] {
        stores.email_tokens.issue_email_token(t, &[]).await.unwrap();
    }
    let old = |days: u32| AuditEvent::new(AuditAction::LoginFailed, "test", Outcome::Failure, t0.minus(DAY * days));
    stores.audit.append_audit(&[old(100), old(120), old(1)]).await.unwrap();
    Seeded {
        expired_session,
        live_session,
        expired_code,
        live_code,
        live_token,
    }
}

async fn audit_count(stores: &Stores) -> usize {
    let page = keygate_core::paging::PageRequest::first(100);
    let filter = keygate_core::model::AuditFilter::default();
    stores.audit.list_audit(&filter, &page).await.unwrap().items.len()
}

async fn expired_go_and_live_stay(backend: Backend) {
    let stores = backend.stores();
    let clock = ManualClock::new(SystemClock.now());
    let t0 = clock.now();
    let seeded = seed(&stores, t0).await;
    clock.advance(2 * DAY);
    let events_before = audit_count(&stores).await;

    // Batches of one: the janitor must keep going until a round deletes nothing.
    let report = purge(stores.maintenance.as_ref(), &clock, &policy(1)).await.unwrap();
    assert_eq!(report.sessions, 1, "{report:?}");
    assert_eq!(report.codes, 1, "{report:?}");
    assert_eq!(report.email_tokens, 1, "{report:?}");
    assert_eq!(
        report.audit_events, 2,
        "the events 102 and 122 days old are past 90 days: {report:?}"
    );

    assert!(
        stores
            .sessions
            .get_session(&seeded.expired_session.digest)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        stores
            .sessions
            .get_session(&seeded.live_session.digest)
            .await
            .unwrap()
            .is_some()
    );
    let fresh = keygate_core::ids::FamilyId::new();
    let now = clock.now();
    let old = stores
        .codes
        .redeem_code(&seeded.expired_code.digest, fresh, now)
        .await
        .unwrap();
    assert_eq!(old, CodeRedemption::Unknown);
    let live = stores
        .codes
        .redeem_code(&seeded.live_code.digest, fresh, now)
        .await
        .unwrap();
    assert!(matches!(live, CodeRedemption::Redeemed(_)));
    let kept = stores
        .email_tokens
        .consume_email_token(&seeded.live_token.digest, EmailTokenKind::Verify, now, &[])
        .await
        .unwrap();
    assert!(kept.is_some(), "the live verification link survives");
    assert_eq!(
        audit_count(&stores).await,
        events_before - 2,
        "recent audit events stay"
    );

    let again = purge(stores.maintenance.as_ref(), &clock, &policy(1000)).await.unwrap();
    assert_eq!(again.total(), 0, "a second purge finds nothing: {again:?}");
    backend.close().await;
}

#[tokio::test]
async fn purge_on_memory_deletes_expired_and_keeps_live() {
    expired_go_and_live_stay(common::memory_backend().await).await;
}

#[tokio::test]
async fn purge_on_sqlite_deletes_expired_and_keeps_live() {
    let dir = tempfile::tempdir().unwrap();
    expired_go_and_live_stay(common::sqlite_backend(&dir).await).await;
}

#[tokio::test]
async fn the_background_janitor_purges_on_its_schedule_and_stops() {
    let backend = common::memory_backend().await;
    let stores = backend.stores();
    let clock = ManualClock::new(SystemClock.now());
    let seeded = seed(&stores, clock.now()).await;
    clock.advance(2 * DAY);
    let mut quick = policy(10);
    quick.interval = Duration::from_millis(50);
    let janitor = Janitor::start(stores.maintenance.clone(), Arc::new(clock.clone()), quick);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while stores
        .sessions
        .get_session(&seeded.expired_session.digest)
        .await
        .unwrap()
        .is_some()
    {
        assert!(tokio::time::Instant::now() < deadline, "the janitor never ran");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::timeout(Duration::from_secs(5), janitor.stop())
        .await
        .expect("the janitor did not stop");
    assert!(
        stores
            .sessions
            .get_session(&seeded.live_session.digest)
            .await
            .unwrap()
            .is_some()
    );
}

/// Fails its first purges as if the database were down, then succeeds.
struct FlakyStore {
    calls: AtomicU32,
}

#[async_trait]
impl MaintenanceStore for FlakyStore {
    async fn ping(&self) -> StoreResult<()> {
        Ok(())
    }
    async fn stats(&self, _now: Timestamp) -> StoreResult<StoreStats> {
        Ok(StoreStats::default())
    }
    async fn purge_expired(&self, _now: Timestamp, _audit_before: Timestamp, _batch: u32) -> StoreResult<PurgeReport> {
        match self.calls.fetch_add(1, Ordering::SeqCst) {
            0 | 1 => Err(StoreError::Unavailable("connection refused".into())),
            _ => Ok(PurgeReport::default()),
        }
    }
}

#[tokio::test]
async fn a_store_error_is_retried_next_interval() {
    let store = Arc::new(FlakyStore {
        calls: AtomicU32::new(0),
    });
    let mut quick = policy(10);
    quick.interval = Duration::from_millis(20);
    let janitor = Janitor::start(store.clone(), Arc::new(SystemClock), quick);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while store.calls.load(Ordering::SeqCst) < 4 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the janitor gave up after an error"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    janitor.stop().await;
}

#[tokio::test]
async fn cleanup_reports_what_it_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("kg.db").display());
    {
        let backend = Backend::connect(&url, &SqlOptions::default()).await.unwrap();
        backend.migrate_up().await.unwrap();
        // Seeded two days ago, so the short-lived records have expired by now.
        seed(&backend.stores(), SystemClock.now().minus(2 * DAY)).await;
        backend.close().await;
    }

    let output = run(keygate(dir.path())
        .args(["cleanup", "--json"])
        .env("KEYGATE_DATABASE_URL", &url))
    .await;
    assert!(output.status.success(), "{}", stderr(&output));
    let report: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(report["sessions"], 1, "{report}");
    assert_eq!(report["codes"], 1, "{report}");
    assert_eq!(report["email_tokens"], 1, "{report}");
    assert_eq!(report["audit_events"], 2, "both events past 90 days: {report}");
    assert_eq!(report["total"], 5, "{report}");

    let output = run(keygate(dir.path()).arg("cleanup").env("KEYGATE_DATABASE_URL", &url)).await;
    assert!(output.status.success(), "{}", stderr(&output));
    let table = stdout(&output);
    assert!(table.starts_with("KIND"), "{table}");
    for row in ["codes", "sessions", "email tokens", "audit events", "total"] {
        let line = table
            .lines()
            .find(|l| l.starts_with(row))
            .unwrap_or_else(|| panic!("no {row} row: {table}"));
        assert!(line.ends_with(" 0"), "nothing left to delete: {table}");
    }
}

#[tokio::test]
async fn cleanup_on_an_unreachable_database_fails_with_one_sentence() {
    let dir = tempfile::tempdir().unwrap();
    let output = run(keygate(dir.path())
        .args(["cleanup", "--json"])
        .env("KEYGATE_DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")
        .env("KEYGATE_DATABASE__ACQUIRE_TIMEOUT_SECS", "1"))
    .await;
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    let text = stderr(&output);
    let last = text.lines().last().unwrap_or_default();
    assert!(last.starts_with("error: cannot "), "{text}");
    assert!(!text.contains("panicked"), "{text}");
}
