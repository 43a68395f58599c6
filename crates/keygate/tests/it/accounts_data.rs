//! The signed-in user's own data: sessions (list, end, last seen), personal access tokens limited
//! to their scopes, activity, export, erasure, and deactivation ending sessions.

use crate::common;

use std::time::Duration;

use common::accounts::{Api, Env, Kind, PASSWORD};
use keygate_core::accounts::Operator;
use serde_json::json;

backend_tests!(
    sessions_are_listed_with_ip_and_agent_and_can_be_ended,
    last_seen_is_written_at_most_once_a_minute,
    a_personal_access_token_is_limited_to_its_scopes,
    deactivation_ends_every_session_and_reactivation_allows_login,
    export_holds_the_account_data_and_erasure_removes_it,
    activity_lists_the_users_own_events,
);

async fn sessions_are_listed_with_ip_and_agent_and_can_be_ended(kind: Kind) {
    let Some(env) = Env::start(kind).await else { return };
    let this = env.logged_in("yan@example.com").await;
    let other = env.client();
    other.login("yan@example.com", PASSWORD).await;
    let list = this.get("/api/auth/sessions").await;
    assert_eq!(list.status, 200);
    let sessions = list.json["sessions"].as_array().unwrap().clone();
    assert_eq!(sessions.len(), 2);
    assert!(sessions.iter().all(|s| s["ip"] == "127.0.0.1"), "{sessions:?}");
    assert!(sessions.iter().all(|s| s["last_seen_at"].is_string()));
    let foreign = sessions.iter().find(|s| s["current"] == false).unwrap();
    let r = this
        .delete(&format!("/api/auth/sessions/{}", foreign["id"].as_str().unwrap()))
        .await;
    assert_eq!(r.status, 204);
    assert_eq!(other.get("/api/auth/me").await.status, 401);
    assert_eq!(this.get("/api/auth/me").await.status, 200);
    // Another user's session id is not found.
    let stranger = env.logged_in("zed@example.com").await;
    let mine = this.get("/api/auth/sessions").await.json["sessions"][0]["id"].clone();
    let r = stranger
        .delete(&format!("/api/auth/sessions/{}", mine.as_str().unwrap()))
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(this.get("/api/auth/me").await.status, 200);
}

async fn last_seen_is_written_at_most_once_a_minute(kind: Kind) {
    let Some(env) = Env::start(kind).await else { return };
    let api = env.logged_in("abe@example.com").await;
    let seen = |r: &common::accounts::Resp| r.json["sessions"][0]["last_seen_at"].as_str().unwrap().to_owned();
    let first = seen(&api.get("/api/auth/sessions").await);
    env.advance(Duration::from_secs(30));
    assert_eq!(seen(&api.get("/api/auth/sessions").await), first, "not within a minute");
    env.advance(Duration::from_secs(31));
    assert_ne!(seen(&api.get("/api/auth/sessions").await), first, "after a minute");
    // The idle timeout (24 h) ends an unused session.
    env.advance(Duration::from_secs(24 * 3600 + 1));
    assert_eq!(api.get("/api/auth/me").await.status, 401);
}

async fn a_personal_access_token_is_limited_to_its_scopes(kind: Kind) {
    let Some(env) = Env::start(kind).await else { return };
    let owner = env.logged_in("bea@example.com").await;
    let created = owner
        .post(
            "/api/auth/tokens",
            json!({ "name": "ci", "scopes": ["account:read"], "expires_in_days": 7 }),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let token = created.json["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("kgp_"));
    let pat = Api::with_bearer(&env.server.base, &token);
    assert_eq!(pat.get("/api/auth/me").await.status, 200);
    let sessions = pat.get("/api/auth/sessions").await;
    assert_eq!(sessions.status, 200);
    let id = sessions.json["sessions"][0]["id"].as_str().unwrap().to_owned();
    let r = pat.delete(&format!("/api/auth/sessions/{id}")).await;
    assert_eq!(r.status, 403, "account:write is not granted: {}", r.text);
    assert!(r.problem_type().ends_with("insufficient-scope"));
    let r = pat
        .post(
            "/api/auth/change-password",
            json!({ "current_password": PASSWORD, "new_password": "x-new-long-passphrase" }),
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.text);
    let r = pat
        .post(
            "/api/auth/tokens",
            json!({ "name": "more", "scopes": ["account:read"] }),
        )
        .await;
    assert_eq!(r.status, 403, "a token cannot mint tokens: {}", r.text);
    // Listed without the secret, with last use; then revoked, it stops working.
    let list = owner.get("/api/auth/tokens").await;
    assert!(!list.text.contains(&token));
    assert_eq!(list.json["tokens"][0]["name"], "ci");
    assert!(list.json["tokens"][0]["last_used_at"].is_string());
    let pat_id = created.json["id"].as_str().unwrap();
    assert_eq!(owner.delete(&format!("/api/auth/tokens/{pat_id}")).await.status, 204);
    assert_eq!(pat.get("/api/auth/me").await.status, 401);
    let bogus = Api::with_bearer(&env.server.base, "kgp_notatoken");
    assert_eq!(bogus.get("/api/auth/me").await.status, 401);
    let r = owner
        .post("/api/auth/tokens", json!({ "name": "x", "scopes": ["admin"] }))
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
}

async fn deactivation_ends_every_session_and_reactivation_allows_login(kind: Kind) {
    let Some(env) = Env::start(kind).await else { return };
    let api = env.logged_in("cal@example.com").await;
    let service = &env.server.state.accounts.service;
    let user = service.user_by_email("cal@example.com").await.unwrap();
    service
        .set_active(&user, false, &Operator::new("admin", Default::default()))
        .await
        .unwrap();
    assert_eq!(api.get("/api/auth/me").await.status, 401);
    let r = api.login("cal@example.com", PASSWORD).await;
    assert_eq!(r.status, 403, "{}", r.text);
    assert!(r.problem_type().ends_with("account-disabled"));
    service
        .set_active(&user, true, &Operator::new("admin", Default::default()))
        .await
        .unwrap();
    assert_eq!(api.login("cal@example.com", PASSWORD).await.status, 200);
}

async fn export_holds_the_account_data_and_erasure_removes_it(kind: Kind) {
    let Some(env) = Env::start(kind).await else { return };
    let api = env.logged_in("dee@example.com").await;
    api.post(
        "/api/auth/tokens",
        json!({ "name": "laptop", "scopes": ["account:read"] }),
    )
    .await;
    let export = api.get("/api/auth/export").await;
    assert_eq!(export.status, 200);
    assert_eq!(export.json["profile"]["email"], "dee@example.com");
    assert_eq!(export.json["sessions"].as_array().unwrap().len(), 1);
    assert_eq!(export.json["personal_access_tokens"][0]["name"], "laptop");
    assert!(export.text.contains("login_succeeded"));
    assert!(export.header("content-disposition").unwrap().contains("attachment"));

    let wrong = api
        .send(
            reqwest::Method::DELETE,
            "/api/auth/account",
            Some(json!({ "password": "nope-nope-nope" })),
        )
        .await;
    assert_eq!(wrong.status, 403);
    let r = api
        .send(
            reqwest::Method::DELETE,
            "/api/auth/account",
            Some(json!({ "password": PASSWORD })),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert!(api.cookie().is_none());
    let fresh = env.client();
    assert_eq!(fresh.login("dee@example.com", PASSWORD).await.status, 401);
    // The address is free again.
    assert_eq!(fresh.register("dee@example.com", PASSWORD).await.status, 201);
    // Audit rows stay, without IP or user agent.
    let stores = &env.server.state.stores;
    let filter = keygate_core::model::AuditFilter::default();
    let page = stores
        .audit
        .list_audit(&filter, &keygate_core::paging::PageRequest::first(500))
        .await
        .unwrap();
    let erased = page
        .items
        .iter()
        .find(|e| e.action == keygate_core::model::AuditAction::AccountErased)
        .expect("an erasure event");
    let theirs: Vec<_> = page.items.iter().filter(|e| e.user_id == erased.user_id).collect();
    assert!(theirs.len() > 2);
    assert!(theirs.iter().all(|e| e.ip.is_none() && e.user_agent.is_none()));
}

async fn activity_lists_the_users_own_events(kind: Kind) {
    let Some(env) = Env::start(kind).await else { return };
    let api = env.logged_in("eli@example.com").await;
    let _other = env.logged_in("fox@example.com").await;
    env.client().login("eli@example.com", "wrong-password-guess").await;
    let r = api.get("/api/auth/activity").await;
    assert_eq!(r.status, 200);
    let actions: Vec<&str> = r.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for expected in ["user_registered", "email_verified", "login_succeeded", "login_failed"] {
        assert!(actions.contains(&expected), "{expected} missing from {actions:?}");
    }
    assert_eq!(
        actions.iter().filter(|a| **a == "user_registered").count(),
        1,
        "only this user's events"
    );
    assert_eq!(r.json["items"][0]["action"], "login_failed", "newest first");
}
