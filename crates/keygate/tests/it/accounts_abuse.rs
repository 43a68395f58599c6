//! Account API abuse protection: lockout after repeated failures (right and wrong password alike,
//! known and unknown emails alike), and identical answers that do not reveal who has an account.

use crate::common;

use std::time::Duration;

use common::accounts::{Env, Kind, PASSWORD, Resp};
use keygate_core::Clock;
use keygate_core::model::{AuditAction, AuditFilter};
use keygate_core::paging::PageRequest;
use keygate_core::store::Stores;
use keygate_core::totp::{self, TotpSecret};
use serde_json::json;

backend_tests!(
    ten_failures_lock_the_account_with_429_and_retry_after_for_right_and_wrong_password,
    an_unknown_email_locks_the_same_way_as_a_known_one,
    login_answers_the_same_for_an_unknown_email_and_a_wrong_password,
    registration_answers_the_same_for_a_taken_email_and_tells_its_owner,
    forgot_password_and_resend_answer_the_same_for_any_email,
    reset_and_verification_emails_are_limited_to_five_an_hour,
    thirty_nine_concurrent_wrong_guesses_evaluate_at_most_ten_and_the_right_password_after_them_is_locked_out,
    a_flood_of_150_concurrent_guesses_evaluates_at_most_ten,
    concurrent_totp_guesses_evaluate_at_most_ten,
    attempts_refused_during_a_lock_leave_the_next_window_a_full_budget,
);

async fn fail_ten_times(env: &Env, email: &str) -> common::accounts::Resp {
    let api = env.client();
    let mut last = None;
    for attempt in 1..=10 {
        let r = api.login(email, "wrong-password-guess").await;
        if attempt < 10 {
            assert_eq!(r.status, 401, "attempt {attempt}: {}", r.text);
        }
        last = Some(r);
    }
    last.unwrap()
}

async fn ten_failures_lock_the_account_with_429_and_retry_after_for_right_and_wrong_password(kind: Kind) {
    let Some(env) = Env::start(kind).await else { return };
    env.verified_user("kim@example.com").await;
    let tenth = fail_ten_times(&env, "kim@example.com").await;
    assert_eq!(tenth.status, 429, "{}", tenth.text);
    let api = env.client();
    for password in [PASSWORD, "wrong-password-guess"] {
        let r = api.login("kim@example.com", password).await;
        assert_eq!(r.status, 429, "{}", r.text);
        let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
        assert!((1..=900).contains(&retry), "{retry}");
        assert!(r.problem_type().ends_with("locked"));
        assert!(api.cookie().is_none());
    }
    // Same body for the right and the wrong password while locked.
    let right = api.login("kim@example.com", PASSWORD).await;
    let wrong = api.login("kim@example.com", "wrong-password-guess").await;
    assert_eq!(right.text, wrong.text);
    // The lock lifts after 15 minutes.
    env.advance(Duration::from_secs(15 * 60 + 1));
    assert_eq!(api.login("kim@example.com", PASSWORD).await.status, 200);
    // The lockout is in the audit log.
    let activity = api.get("/api/auth/activity").await;
    assert!(activity.text.contains("account_locked"), "{}", activity.text);
}

async fn an_unknown_email_locks_the_same_way_as_a_known_one(kind: Kind) {
    let Some(env) = Env::start(kind).await else { return };
    let tenth = fail_ten_times(&env, "nobody@example.com").await;
    assert_eq!(tenth.status, 429);
    let r = env.client().login("NoBody@Example.com", PASSWORD).await;
    assert_eq!(r.status, 429, "counters are keyed by the normalised email: {}", r.text);
    assert!(r.header("retry-after").is_some());
}

async fn login_answers_the_same_for_an_unknown_email_and_a_wrong_password(kind: Kind) {
    let Some(env) = Env::start(kind).await else { return };
    env.verified_user("lee@example.com").await;
    let api = env.client();
    let known = api.login("lee@example.com", "wrong-password-guess").await;
    let unknown = api.login("stranger@example.com", "wrong-password-guess").await;
    assert_eq!(known.status, 401);
    assert_eq!(known.status, unknown.status);
    assert_eq!(known.text, unknown.text);
    assert_eq!(known.header("content-type"), unknown.header("content-type"));
}

async fn registration_answers_the_same_for_a_taken_email_and_tells_its_owner(kind: Kind) {
    let Some(env) = Env::start(kind).await else { return };
    env.verified_user("max@example.com").await;
    let api = env.client();
    let taken = api.register("Max@Example.com", "another-long-passphrase").await;
    let fresh = api.register("new@example.com", "another-long-passphrase").await;
    assert_eq!(taken.status, 201);
    assert_eq!(taken.status, fresh.status);
    assert_eq!(taken.text, fresh.text);
    // The owner gets a notice, not a verification link; the password did not change.
    let messages = env.server.mailbox.wait_for("max@example.com", 2).await;
    assert!(
        messages[1].subject.contains("tried to register"),
        "{:?}",
        messages[1].subject
    );
    assert!(!messages[1].text.contains("token="));
    assert_eq!(api.login("max@example.com", PASSWORD).await.status, 200);
}

async fn forgot_password_and_resend_answer_the_same_for_any_email(kind: Kind) {
    let Some(env) = Env::start(kind).await else { return };
    env.verified_user("ned@example.com").await;
    let api = env.client();
    for path in ["/api/auth/forgot-password", "/api/auth/resend-verification"] {
        let known = api.post(path, json!({ "email": "ned@example.com" })).await;
        let unknown = api.post(path, json!({ "email": "ghost@example.com" })).await;
        let malformed = api.post(path, json!({ "email": "not-an-email" })).await;
        assert_eq!(known.status, 202, "{path}");
        assert_eq!((known.status, &known.text), (unknown.status, &unknown.text), "{path}");
        assert_eq!(
            (known.status, &known.text),
            (malformed.status, &malformed.text),
            "{path}"
        );
    }
    // Only the real, verified account got a (reset) email; nobody else got anything.
    env.server.mailbox.wait_for("ned@example.com", 2).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(env.server.mailbox.to("ghost@example.com").is_empty());
    let sent = env.server.mailbox.to("ned@example.com");
    assert_eq!(sent.len(), 2, "verification + reset, no resend for a verified address");
}

async fn reset_and_verification_emails_are_limited_to_five_an_hour(kind: Kind) {
    let Some(env) = Env::start(kind).await else { return };
    env.verified_user("ora@example.com").await;
    let api = env.client();
    for _ in 0..8 {
        let r = api
            .post("/api/auth/forgot-password", json!({ "email": "ora@example.com" }))
            .await;
        assert_eq!(r.status, 202);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    // One verification email, then four of the eight reset requests.
    assert_eq!(env.server.mailbox.to("ora@example.com").len(), 5);
    env.advance(Duration::from_secs(3601));
    api.post("/api/auth/forgot-password", json!({ "email": "ora@example.com" }))
        .await;
    env.server.mailbox.wait_for("ora@example.com", 6).await;
}

/// The reasons of the failed-login audit events: one per guess that was actually checked.
async fn evaluated_guesses(stores: &Stores, reason: &str) -> usize {
    let filter = AuditFilter {
        action: Some(AuditAction::LoginFailed),
        ..AuditFilter::default()
    };
    let page = stores
        .audit
        .list_audit(&filter, &PageRequest::first(500))
        .await
        .unwrap();
    page.items.iter().filter(|e| e.details["reason"] == reason).count()
}

/// Sends `n` logins for `email` with `password` at once; their answers in completion order.
async fn concurrent_logins(env: &Env, email: &str, password: &str, n: usize) -> Vec<Resp> {
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let api = env.client();
            let (email, password) = (email.to_owned(), password.to_owned());
            tokio::spawn(async move { api.login(&email, &password).await })
        })
        .collect();
    let mut answers = Vec::with_capacity(n);
    for task in tasks {
        answers.push(task.await.unwrap());
    }
    answers
}

fn count(answers: &[Resp], status: u16) -> usize {
    answers.iter().filter(|r| r.status == status).count()
}

async fn thirty_nine_concurrent_wrong_guesses_evaluate_at_most_ten_and_the_right_password_after_them_is_locked_out(
    kind: Kind,
) {
    let Some(env) = Env::start(kind).await else { return };
    env.verified_user("pia@example.com").await;
    let wrong = {
        let tasks: Vec<_> = (0..39)
            .map(|_| {
                let api = env.client();
                tokio::spawn(async move { api.login("pia@example.com", "wrong-password-guess").await })
            })
            .collect();
        tasks
    };
    // Once 29 were refused unchecked, all 39 have been counted: the right password comes next,
    // while the checked ones may still be running.
    let right = loop {
        let done = wrong.iter().filter(|t| t.is_finished()).count();
        if done >= 29 {
            break env.client().login("pia@example.com", PASSWORD).await;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let mut answers = Vec::new();
    for task in wrong {
        answers.push(task.await.unwrap());
    }
    assert_eq!(
        right.status, 429,
        "the right password after a spent budget: {}",
        right.text
    );
    assert_eq!(count(&answers, 401) + count(&answers, 429), 39);
    let evaluated = evaluated_guesses(&env.server.state.stores, "bad_credentials").await;
    assert!(evaluated <= 10, "{evaluated} wrong passwords were checked");
    assert!(count(&answers, 401) <= 9, "the tenth checked failure answers 429");
    let after = env.client().login("pia@example.com", PASSWORD).await;
    assert_eq!(after.status, 429, "locked: {}", after.text);
}

async fn a_flood_of_150_concurrent_guesses_evaluates_at_most_ten(kind: Kind) {
    let Some(env) = Env::start(kind).await else { return };
    env.verified_user("rae@example.com").await;
    let answers = concurrent_logins(&env, "rae@example.com", "wrong-password-guess", 150).await;
    assert_eq!(count(&answers, 401) + count(&answers, 429), 150);
    let evaluated = evaluated_guesses(&env.server.state.stores, "bad_credentials").await;
    assert!((1..=10).contains(&evaluated), "{evaluated} of 150 guesses were checked");
    assert_eq!(env.client().login("rae@example.com", PASSWORD).await.status, 429);
}

async fn concurrent_totp_guesses_evaluate_at_most_ten(kind: Kind) {
    let Some(env) = Env::start(kind).await else { return };
    let owner = env.logged_in("sol@example.com").await;
    let setup = owner.post("/api/auth/totp/setup", json!({})).await;
    let secret = TotpSecret::from_base32(setup.json["secret"].as_str().unwrap()).unwrap();
    let code = totp::code_at(&secret, env.clock.now());
    assert_eq!(
        owner
            .post("/api/auth/totp/enable", json!({ "code": code }))
            .await
            .status,
        200
    );
    // The attacker knows the password and guesses codes, 60 at once.
    let tasks: Vec<_> = (0..60)
        .map(|i| {
            let api = env.client();
            tokio::spawn(async move {
                let guess = format!("{:06}", 100_000 + i);
                let body = json!({ "email": "sol@example.com", "password": PASSWORD, "totp": guess });
                api.post("/api/auth/login", body).await
            })
        })
        .collect();
    for task in tasks {
        let r = task.await.unwrap();
        assert!(matches!(r.status, 401 | 429), "{}", r.text);
    }
    let evaluated = evaluated_guesses(&env.server.state.stores, "bad_second_factor").await;
    assert!(evaluated <= 10, "{evaluated} codes were checked");
    // Locked for the right code too.
    let code = totp::code_at(&secret, env.clock.now());
    let body = json!({ "email": "sol@example.com", "password": PASSWORD, "totp": code });
    assert_eq!(env.client().post("/api/auth/login", body).await.status, 429);
}

async fn attempts_refused_during_a_lock_leave_the_next_window_a_full_budget(kind: Kind) {
    let Some(env) = Env::start(kind).await else { return };
    env.verified_user("tam@example.com").await;
    assert_eq!(fail_ten_times(&env, "tam@example.com").await.status, 429);
    let during = concurrent_logins(&env, "tam@example.com", "wrong-password-guess", 30).await;
    assert_eq!(count(&during, 429), 30);
    env.advance(Duration::from_secs(15 * 60 + 1));
    // Ten fresh guesses: nine answered 401, the tenth locks again.
    assert_eq!(fail_ten_times(&env, "tam@example.com").await.status, 429);
    env.advance(Duration::from_secs(15 * 60 + 1));
    assert_eq!(env.client().login("tam@example.com", PASSWORD).await.status, 200);
}

/// Two instances on one SQLite file whose lockout counters live in one Redis: 60 concurrent
/// guesses spread over both are checked at most ten times in all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_guesses_over_two_instances_sharing_redis_evaluate_at_most_ten() {
    use keygate::config::Config;
    use keygate_store::testing;
    use keygate_store::{Backend, SqlOptions};

    let Some(redis_url) = testing::redis_test_url() else {
        return;
    };
    let prefix = testing::fresh_redis_prefix(&redis_url);
    let (db_url, _db) = testing::fresh_sqlite_url();
    let first = Backend::connect(&db_url, &testing::test_sql_options()).await.unwrap();
    first.migrate_up().await.unwrap();
    first.close().await;
    let secret_key = keygate_core::crypto::SecretBox::generate_key_base64().unwrap();
    let mut instances = Vec::new();
    for _ in 0..2 {
        let mut config = Config {
            redis_url: Some(redis_url.clone().try_into().unwrap()),
            secret_key: Some(secret_key.clone().try_into().unwrap()),
            ..Config::default()
        };
        config.redis.prefix = prefix.prefix().to_owned();
        config.accounts.require_verified_email = false;
        let backend = Backend::connect(&db_url, &SqlOptions::default()).await.unwrap();
        instances.push(common::TestServer::start_with(backend, config, |r| r).await);
    }
    let register = common::accounts::Api::new(&instances[0].base);
    assert_eq!(register.register("uma@example.com", PASSWORD).await.status, 201);

    let tasks: Vec<_> = (0..60)
        .map(|i| {
            let api = common::accounts::Api::new(&instances[i % 2].base);
            tokio::spawn(async move { api.login("uma@example.com", "wrong-password-guess").await })
        })
        .collect();
    for task in tasks {
        let r = task.await.unwrap();
        assert!(matches!(r.status, 401 | 429), "{}", r.text);
    }
    let evaluated = evaluated_guesses(&instances[0].state.stores, "bad_credentials").await;
    assert!((1..=10).contains(&evaluated), "{evaluated} of 60 guesses were checked");
    for server in &instances {
        let r = common::accounts::Api::new(&server.base)
            .login("uma@example.com", PASSWORD)
            .await;
        assert_eq!(r.status, 429, "locked on every instance: {}", r.text);
    }
    for server in instances {
        server.stop().await;
    }
}
