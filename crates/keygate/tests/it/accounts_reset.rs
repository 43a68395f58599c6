//! Password reset and change: single-use, expiring, newest-only reset links; a reset ends every
//! session; a change ends the others and keeps this one under a new id.

use crate::common;

use std::time::Duration;

use common::accounts::{Env, Kind, PASSWORD};
use serde_json::json;

const NEW_PASSWORD: &str = "copper-meadow-whistle-77";

backend_tests!(
    a_reset_token_works_only_once,
    a_reset_token_expires_after_thirty_minutes,
    a_newer_reset_token_invalidates_the_older,
    a_reset_ends_every_session,
    change_password_ends_other_sessions_and_keeps_this_one_under_a_new_id,
    change_password_with_a_wrong_current_password_is_refused_with_403,
    a_password_change_voids_a_reset_link_mailed_before_it,
);

/// Asks for a reset of `email` and returns the token of reset email number `count` (counting
/// the verification email too).
async fn request_reset(env: &Env, email: &str, count: usize) -> String {
    let r = env
        .client()
        .post("/api/auth/forgot-password", json!({ "email": email }))
        .await;
    assert_eq!(r.status, 202);
    env.mailed_token(email, count, "/reset-password?token=").await
}

async fn reset(env: &Env, token: &str, password: &str) -> common::accounts::Resp {
    env.client()
        .post(
            "/api/auth/reset-password",
            json!({ "token": token, "password": password }),
        )
        .await
}

async fn a_reset_token_works_only_once(kind: Kind) {
    let Some(env) = Env::start(kind).await else { return };
    env.verified_user("pam@example.com").await;
    let token = request_reset(&env, "pam@example.com", 2).await;
    assert!(token.starts_with("kgx_"));
    let r = reset(&env, &token, NEW_PASSWORD).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let again = reset(&env, &token, "yet-another-fine-passphrase").await;
    assert_eq!(again.status, 400);
    assert!(again.problem_type().ends_with("invalid-token"));
    let api = env.client();
    assert_eq!(api.login("pam@example.com", PASSWORD).await.status, 401);
    assert_eq!(api.login("pam@example.com", NEW_PASSWORD).await.status, 200);
}

async fn a_reset_token_expires_after_thirty_minutes(kind: Kind) {
    let Some(env) = Env::start(kind).await else { return };
    env.verified_user("quinn@example.com").await;
    let token = request_reset(&env, "quinn@example.com", 2).await;
    env.advance(Duration::from_secs(30 * 60 + 1));
    let r = reset(&env, &token, NEW_PASSWORD).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(r.problem_type().ends_with("invalid-token"));
    assert_eq!(env.client().login("quinn@example.com", PASSWORD).await.status, 200);
    // Just inside the lifetime a fresh one works.
    let token = request_reset(&env, "quinn@example.com", 3).await;
    env.advance(Duration::from_secs(29 * 60));
    assert_eq!(reset(&env, &token, NEW_PASSWORD).await.status, 200);
}

async fn a_newer_reset_token_invalidates_the_older(kind: Kind) {
    let Some(env) = Env::start(kind).await else { return };
    env.verified_user("ray@example.com").await;
    let older = request_reset(&env, "ray@example.com", 2).await;
    let newer = request_reset(&env, "ray@example.com", 3).await;
    assert_ne!(older, newer);
    let r = reset(&env, &older, NEW_PASSWORD).await;
    assert_eq!(r.status, 400, "the older link must be dead: {}", r.text);
    assert_eq!(reset(&env, &newer, NEW_PASSWORD).await.status, 200);
}

async fn a_reset_ends_every_session(kind: Kind) {
    let Some(env) = Env::start(kind).await else { return };
    let first = env.logged_in("sam@example.com").await;
    let second = env.client();
    assert_eq!(second.login("sam@example.com", PASSWORD).await.status, 200);
    let token = request_reset(&env, "sam@example.com", 2).await;
    assert_eq!(reset(&env, &token, NEW_PASSWORD).await.status, 200);
    assert_eq!(first.get("/api/auth/me").await.status, 401);
    assert_eq!(second.get("/api/auth/me").await.status, 401);
}

async fn change_password_ends_other_sessions_and_keeps_this_one_under_a_new_id(kind: Kind) {
    let Some(env) = Env::start(kind).await else { return };
    let this = env.logged_in("tia@example.com").await;
    let other = env.client();
    assert_eq!(other.login("tia@example.com", PASSWORD).await.status, 200);
    let before = this.cookie().unwrap();
    let session_id_before = this.get("/api/auth/sessions").await.json["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["current"] == true)
        .unwrap()["id"]
        .clone();
    let r = this
        .post(
            "/api/auth/change-password",
            json!({ "current_password": PASSWORD, "new_password": NEW_PASSWORD }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let after = this.cookie().unwrap();
    assert_ne!(before, after, "the session gets a new secret");
    assert_eq!(this.get("/api/auth/me").await.status, 200, "this session stays");
    assert_eq!(other.get("/api/auth/me").await.status, 401, "other sessions end");
    let stale = env.client();
    stale.set_cookie(Some(before));
    assert_eq!(stale.get("/api/auth/me").await.status, 401, "the old secret is dead");
    let sessions = this.get("/api/auth/sessions").await.json["sessions"].clone();
    assert_eq!(sessions.as_array().unwrap().len(), 1);
    assert_eq!(sessions[0]["id"], session_id_before);
    assert_eq!(env.client().login("tia@example.com", NEW_PASSWORD).await.status, 200);
}

async fn change_password_with_a_wrong_current_password_is_refused_with_403(kind: Kind) {
    let Some(env) = Env::start(kind).await else { return };
    let api = env.logged_in("uma@example.com").await;
    let r = api
        .post(
            "/api/auth/change-password",
            json!({ "current_password": "not-my-password", "new_password": NEW_PASSWORD }),
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.text);
    assert!(r.problem_type().ends_with("wrong-password"));
    assert_eq!(env.client().login("uma@example.com", PASSWORD).await.status, 200);
}

async fn a_password_change_voids_a_reset_link_mailed_before_it(kind: Kind) {
    let Some(env) = Env::start(kind).await else { return };
    let api = env.logged_in("ria@example.com").await;
    // A link someone (perhaps an attacker reading the mailbox) holds from before the change.
    let token = request_reset(&env, "ria@example.com", 2).await;
    let changed = api
        .post(
            "/api/auth/change-password",
            json!({ "current_password": PASSWORD, "new_password": NEW_PASSWORD }),
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    let r = reset(&env, &token, "attacker-chosen-passphrase-1").await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(r.problem_type().ends_with("invalid-token"));
    assert_eq!(env.client().login("ria@example.com", NEW_PASSWORD).await.status, 200);
}
