//! Account API abuse protection: lockout after repeated failures (right and wrong password alike,
//! known and unknown emails alike), and identical answers that do not reveal who has an account.

#[macro_use]
mod common;

use std::time::Duration;

use common::accounts::{Env, Kind, PASSWORD};
use serde_json::json;

backend_tests!(
    ten_failures_lock_the_account_with_429_and_retry_after_for_right_and_wrong_password,
    an_unknown_email_locks_the_same_way_as_a_known_one,
    login_answers_the_same_for_an_unknown_email_and_a_wrong_password,
    registration_answers_the_same_for_a_taken_email_and_tells_its_owner,
    forgot_password_and_resend_answer_the_same_for_any_email,
    reset_and_verification_emails_are_limited_to_five_an_hour,
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
