//! Account API: registration and verification through the emailed link, login and logout,
//! session fixation, the JSON CSRF rule, cookie flags and oversized passwords.

use crate::common;

use std::time::{Duration, Instant};

use common::accounts::{Api, Env, Kind, PASSWORD};
use keygate::config::{Config, Issuer};
use serde_json::json;

backend_tests!(
    registration_mails_a_link_that_verifies_the_email,
    login_is_refused_with_403_until_the_email_is_verified,
    login_sets_a_session_that_logout_ends_on_the_server,
    login_issues_a_new_session_id_even_when_a_cookie_is_planted,
    a_foreign_origin_is_refused_with_403,
    a_body_that_is_not_json_is_refused_with_415,
    the_cookie_is_httponly_lax_path_root_and_not_secure_over_http,
    the_cookie_is_host_prefixed_and_secure_under_an_https_issuer,
    a_one_megabyte_password_is_refused_fast_without_hashing,
    a_weak_password_is_refused_at_registration,
);

async fn registration_mails_a_link_that_verifies_the_email(kind: Kind) {
    let Some(env) = Env::start(kind).await else { return };
    let api = env.client();
    let r = api.register("ann@example.com", PASSWORD).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert!(r.json.get("id").is_none() && !r.text.contains("user"), "{}", r.text);
    let token = env.mailed_token("ann@example.com", 1, "/verify-email?token=").await;
    assert!(token.starts_with("kgv_"));
    let r = api.post("/api/auth/verify-email", json!({ "token": token })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    // The link works once.
    let r = api.get(&format!("/api/auth/verify-email/{token}")).await;
    assert_eq!(r.status, 400);
    assert!(r.problem_type().ends_with("invalid-token"));
    let r = api.login("ann@example.com", PASSWORD).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let me = api.get("/api/auth/me").await;
    assert_eq!(me.json["email"], "ann@example.com");
    assert_eq!(me.json["email_verified"], true);
}

async fn login_is_refused_with_403_until_the_email_is_verified(kind: Kind) {
    let Some(env) = Env::start(kind).await else { return };
    let api = env.client();
    assert_eq!(api.register("bob@example.com", PASSWORD).await.status, 201);
    let r = api.login("bob@example.com", PASSWORD).await;
    assert_eq!(r.status, 403, "{}", r.text);
    assert!(r.problem_type().ends_with("email-not-verified"));
    assert_eq!(r.header("content-type").as_deref(), Some("application/problem+json"));
    assert!(api.cookie().is_none());
    // A resend mails a second, working link.
    let r = api
        .post("/api/auth/resend-verification", json!({ "email": "bob@example.com" }))
        .await;
    assert_eq!(r.status, 202);
    let token = env.mailed_token("bob@example.com", 2, "/verify-email?token=").await;
    assert_eq!(api.get(&format!("/api/auth/verify-email/{token}")).await.status, 200);
    assert_eq!(api.login("bob@example.com", PASSWORD).await.status, 200);
}

async fn login_sets_a_session_that_logout_ends_on_the_server(kind: Kind) {
    let Some(env) = Env::start(kind).await else { return };
    let api = env.logged_in("cat@example.com").await;
    let cookie = api.cookie().expect("a session cookie");
    assert_eq!(api.get("/api/auth/me").await.status, 200);
    let r = api.post("/api/auth/logout", json!({})).await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert!(api.cookie().is_none(), "logout clears the cookie");
    // Replaying the old cookie finds no session: it was deleted server-side.
    let replay = env.client();
    replay.set_cookie(Some(cookie));
    let r = replay.get("/api/auth/me").await;
    assert_eq!(r.status, 401);
    assert!(r.problem_type().ends_with("unauthenticated"));
}

async fn login_issues_a_new_session_id_even_when_a_cookie_is_planted(kind: Kind) {
    let Some(env) = Env::start(kind).await else { return };
    env.verified_user("dan@example.com").await;
    let attacker = env.client();
    assert_eq!(attacker.login("dan@example.com", PASSWORD).await.status, 200);
    let planted = attacker.cookie().unwrap();
    let victim = env.client();
    victim.set_cookie(Some(planted.clone()));
    assert_eq!(victim.login("dan@example.com", PASSWORD).await.status, 200);
    let fresh = victim.cookie().unwrap();
    assert_ne!(fresh, planted, "login must not keep a cookie it was given");
    // The planted session is gone; the new one works.
    assert_eq!(attacker.get("/api/auth/me").await.status, 401);
    assert_eq!(victim.get("/api/auth/me").await.status, 200);
    // Two logins, two distinct sessions.
    let other = env.client();
    other.login("dan@example.com", PASSWORD).await;
    assert_ne!(other.cookie(), victim.cookie());
}

async fn a_foreign_origin_is_refused_with_403(kind: Kind) {
    let Some(env) = Env::start(kind).await else { return };
    env.verified_user("eve@example.com").await;
    let api = env.client();
    let body = json!({ "email": "eve@example.com", "password": PASSWORD }).to_string();
    let login = |origin: &'static str| {
        api.raw(reqwest::Method::POST, "/api/auth/login")
            .header("content-type", "application/json")
            .header("origin", origin)
            .body(body.clone())
    };
    let r = api.finish(login("https://evil.example")).await;
    assert_eq!(r.status, 403, "{}", r.text);
    assert!(r.problem_type().ends_with("cross-origin-request"));
    assert!(api.cookie().is_none());
    let r = api.finish(login("http://127.0.0.1:8080")).await;
    assert_eq!(r.status, 200, "the issuer's own origin is fine: {}", r.text);
    // A logged-in browser tricked into a cross-site logout keeps its session.
    let r = api
        .finish(
            api.raw(reqwest::Method::POST, "/api/auth/logout")
                .header("origin", "null"),
        )
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(api.get("/api/auth/me").await.status, 200);
}

async fn a_body_that_is_not_json_is_refused_with_415(kind: Kind) {
    let Some(env) = Env::start(kind).await else { return };
    env.verified_user("fay@example.com").await;
    let api = env.client();
    for content_type in [
        "application/x-www-form-urlencoded",
        "text/plain",
        "multipart/form-data; boundary=x",
    ] {
        let r = api
            .finish(
                api.raw(reqwest::Method::POST, "/api/auth/login")
                    .header("content-type", content_type)
                    .body(format!("email=fay%40example.com&password={PASSWORD}")),
            )
            .await;
        assert_eq!(r.status, 415, "{content_type}: {}", r.text);
        assert!(r.problem_type().ends_with("unsupported-media-type"));
    }
    let r = api
        .finish(api.raw(reqwest::Method::POST, "/api/auth/login").body("{}"))
        .await;
    assert_eq!(r.status, 415, "a body without a content type");
    assert!(api.cookie().is_none());
}

async fn the_cookie_is_httponly_lax_path_root_and_not_secure_over_http(kind: Kind) {
    let Some(env) = Env::start(kind).await else { return };
    env.verified_user("gil@example.com").await;
    let r = env.client().login("gil@example.com", PASSWORD).await;
    let cookie = r.header("set-cookie").unwrap();
    assert!(cookie.starts_with("keygate_session=kgw_"), "{cookie}");
    for flag in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.split("; ").any(|a| a == flag), "{flag} missing: {cookie}");
    }
    assert!(!cookie.contains("Secure"), "{cookie}");
    assert!(!cookie.contains("Domain"), "{cookie}");
}

async fn the_cookie_is_host_prefixed_and_secure_under_an_https_issuer(kind: Kind) {
    let config = Config {
        issuer: Issuer::try_from("https://id.example.com".to_owned()).unwrap(),
        ..Config::default()
    };
    let Some(env) = Env::start_with(kind, config).await else {
        return;
    };
    let api = env.client();
    api.register("hal@example.com", PASSWORD).await;
    let messages = env.server.mailbox.wait_for("hal@example.com", 1).await;
    let text = &messages[0].text;
    let start = text
        .find("https://id.example.com/verify-email?token=")
        .expect("link from the issuer");
    let token: String = text[start..]
        .split_once("token=")
        .unwrap()
        .1
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    assert_eq!(api.get(&format!("/api/auth/verify-email/{token}")).await.status, 200);
    // Through the https issuer's origin.
    let r = api
        .finish(
            api.raw(reqwest::Method::POST, "/api/auth/login")
                .header("content-type", "application/json")
                .header("origin", "https://id.example.com")
                .body(json!({ "email": "hal@example.com", "password": PASSWORD }).to_string()),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let cookie = r.header("set-cookie").unwrap();
    assert!(cookie.starts_with("__Host-keygate_session=kgw_"), "{cookie}");
    for flag in ["HttpOnly", "SameSite=Lax", "Path=/", "Secure"] {
        assert!(cookie.split("; ").any(|a| a == flag), "{flag} missing: {cookie}");
    }
    assert!(!cookie.contains("Domain"), "{cookie}");
}

async fn a_one_megabyte_password_is_refused_fast_without_hashing(kind: Kind) {
    let Some(env) = Env::start(kind).await else { return };
    let api = env.client();
    let huge = "a".repeat(1024 * 1024);
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    for path in ["/api/auth/register", "/api/auth/login"] {
        let body = json!({ "email": "ivy@example.com", "password": huge, "password_confirmation": huge });
        let started = Instant::now();
        let sent = http
            .post(format!("{}{path}", env.server.base))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await;
        let took = started.elapsed();
        match sent {
            Ok(r) => assert!(r.status() == 413 || r.status() == 400, "{path}: {}", r.status()),
            // The server answers 413 from the Content-Length alone and closes the connection; when
            // that happens before the client has written the whole megabyte, the client sees the
            // connection end instead of the answer. Either way the body was refused unread.
            Err(err) => assert!(err.is_request() || err.is_body(), "{path}: {err}"),
        }
        assert!(took < Duration::from_millis(500), "{path} took {took:?}");
    }
    // Nothing was registered: the address still gets a verification link, not an "already
    // registered" notice.
    assert_eq!(api.register("ivy@example.com", PASSWORD).await.status, 201);
    let token = env.mailed_token("ivy@example.com", 1, "/verify-email?token=").await;
    assert!(token.starts_with("kgv_"));
    // A password just over the policy maximum is refused by the policy, also without hashing.
    let long = "b".repeat(300);
    let r = api.register("ivy@example.com", &long).await;
    assert_eq!(r.status, 400);
    assert!(r.problem_type().ends_with("weak-password"), "{}", r.text);
}

async fn a_weak_password_is_refused_at_registration(kind: Kind) {
    let Some(env) = Env::start(kind).await else { return };
    let api = env.client();
    for weak in ["password", "12345678", "short"] {
        let r = api.register("jo@example.com", weak).await;
        assert_eq!(r.status, 400, "{weak}");
        assert!(r.problem_type().ends_with("weak-password"), "{}", r.text);
    }
    let r = api
        .post(
            "/api/auth/register",
            json!({ "email": "jo@example.com", "password": PASSWORD, "password_confirmation": "different-words-here" }),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json["field"], "password_confirmation");
    let _ = Api::new(&env.server.base);
}
