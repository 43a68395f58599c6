//! /oauth2/authorize security cases on every backend: exact redirect URI matching (only a
//! loopback port may vary), error pages for untrusted redirects, `iss` on every authorization
//! response, PKCE rules, scope and response type errors, prompt=none, prompt=login and max_age
//! (no sign-out before the new sign-in), and the consent step's owner and registration checks and
//! its record (remembered, with a `consent_granted` audit event).

use crate::common;

use common::oauth::{CHALLENGE, OAuthServer, REDIRECT};
use reqwest::StatusCode;
use reqwest::header::LOCATION;

use crate::oauth_support as support;
use support::{Browser, query_param};

fn url(server: &OAuthServer, pairs: &[(&str, &str)]) -> String {
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    server.url(&format!("/oauth2/authorize?{query}"))
}

async fn get(server: &OAuthServer, pairs: &[(&str, &str)]) -> reqwest::Response {
    common::client().get(url(server, pairs)).send().await.unwrap()
}

async fn redirect_uri_variants_get_an_error_page_and_a_loopback_port_change_is_accepted(server: &OAuthServer) {
    let (id, _) = server.confidential_client().await;
    let base = [
        ("response_type", "code"),
        ("client_id", id.as_str()),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ];
    let refused = [
        "HTTPS://APP.EXAMPLE/cb",
        "https://app.example/CB",
        "https://app.example/cb/",
        "https://app.example/cb?x=1",
        "https://app.example/cb#frag",
        "https://app.example/cb/../evil",
        "https://app.example/cb%2F..%2Fevil",
        "https://app.example%2Fcb",
        "https://attacker@app.example/cb",
        "https://app.example@attacker.example/cb",
        "https://evil.app.example/cb",
        "http://app.example/cb",
        "https://app.example:8443/cb",
        "http://localhost/callback",
    ];
    for redirect in refused {
        let mut pairs = base.to_vec();
        pairs.push(("redirect_uri", redirect));
        let response = get(server, &pairs).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{redirect}");
        assert!(
            response.headers().get(LOCATION).is_none(),
            "{redirect} was redirected to"
        );
    }
    for redirect in ["http://127.0.0.1:49152/callback", "http://127.0.0.1/callback", REDIRECT] {
        let mut pairs = base.to_vec();
        pairs.push(("redirect_uri", redirect));
        let response = get(server, &pairs).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{redirect}");
        assert!(
            response.headers()[LOCATION].to_str().unwrap().starts_with("/login?"),
            "{redirect}"
        );
    }
    let response = get(
        server,
        &[
            ("response_type", "code"),
            ("client_id", "nobody"),
            ("redirect_uri", REDIRECT),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.headers().get(LOCATION).is_none());
}

async fn every_authorization_response_carries_iss_and_state(server: &OAuthServer) {
    let (id, _) = server.confidential_client().await;
    let (public, _) = server
        .client(serde_json::json!({"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none"}))
        .await;
    let common = |client: &'static str| -> Vec<(&'static str, &'static str)> {
        vec![("client_id", client), ("redirect_uri", REDIRECT), ("state", "abc")]
    };
    let id: &'static str = Box::leak(id.into_boxed_str());
    let public: &'static str = Box::leak(public.into_boxed_str());
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (
            [common(id), vec![("response_type", "token")]].concat(),
            "unsupported_response_type",
        ),
        (
            [
                common(id),
                vec![("response_type", "code"), ("response_mode", "fragment")],
            ]
            .concat(),
            "invalid_request",
        ),
        (
            [common(id), vec![("response_type", "code"), ("scope", "openid admin")]].concat(),
            "invalid_scope",
        ),
        (
            [
                common(id),
                vec![
                    ("response_type", "code"),
                    ("code_challenge", CHALLENGE),
                    ("code_challenge_method", "plain"),
                ],
            ]
            .concat(),
            "invalid_request",
        ),
        (
            [common(public), vec![("response_type", "code")]].concat(),
            "invalid_request",
        ),
        (
            [common(id), vec![("response_type", "code"), ("prompt", "none")]].concat(),
            "login_required",
        ),
    ];
    for (pairs, error) in cases {
        let response = get(server, &pairs).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{pairs:?}");
        let location = response.headers()[LOCATION].to_str().unwrap().to_owned();
        assert!(location.starts_with(REDIRECT), "{location}");
        assert_eq!(query_param(&location, "error").as_deref(), Some(error), "{pairs:?}");
        assert_eq!(query_param(&location, "iss").as_deref(), Some(server.base.as_str()));
        assert_eq!(query_param(&location, "state").as_deref(), Some("abc"));
    }
}

async fn a_signed_in_user_gets_a_code_with_iss_by_query_or_form_post(server: &OAuthServer) {
    let (id, _) = server
        .client(serde_json::json!({"redirect_uris": [REDIRECT], "first_party": true}))
        .await;
    server
        .user("fp@example.com", Some("correct horse battery staple"))
        .await;
    let browser = Browser::new(server);
    let callback = browser
        .sign_in_and_consent(
            &support::authorize_url(server, &id, "openid", "q"),
            "fp@example.com",
            "correct horse battery staple",
        )
        .await;
    assert_eq!(query_param(&callback, "iss").as_deref(), Some(server.base.as_str()));
    let mut form_post = support::authorize_url(server, &id, "openid", "f");
    form_post.push_str("&response_mode=form_post");
    let response = browser.get(&form_post).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("nonce-")
    );
    let page = response.text().await.unwrap();
    assert!(page.contains(&format!("action=\"{REDIRECT}\"")), "{page}");
    for field in ["code", "state", "iss"] {
        assert!(page.contains(&format!("name=\"{field}\"")), "{field} missing: {page}");
    }
}

on_every_backend!(
    redirect_uri_variants_get_an_error_page_and_a_loopback_port_change_is_accepted,
    every_authorization_response_carries_iss_and_state,
    a_signed_in_user_gets_a_code_with_iss_by_query_or_form_post,
    prompt_login_shows_the_form_again_and_keeps_the_session_until_a_new_sign_in,
    max_age_zero_asks_for_a_new_sign_in_within_the_same_second,
    another_users_post_leaves_a_pending_consent_to_its_owner,
    consent_is_checked_against_the_clients_current_registration,
    an_allowed_consent_is_remembered_with_its_audit_event,
);

const PASSWORD: &str = "correct horse battery staple";

async fn first_party_client(server: &OAuthServer) -> String {
    let (id, _) = server
        .client(serde_json::json!({"redirect_uris": [REDIRECT], "first_party": true}))
        .await;
    id
}

fn location(response: &reqwest::Response) -> String {
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "from {}", response.url());
    response.headers()[LOCATION].to_str().unwrap().to_owned()
}

async fn prompt_login_shows_the_form_again_and_keeps_the_session_until_a_new_sign_in(server: &OAuthServer) {
    let id = first_party_client(server).await;
    server.user("kai@example.com", Some(PASSWORD)).await;
    let browser = Browser::new(server);
    let plain = support::authorize_url(server, &id, "openid", "s1");
    let callback = browser.sign_in_and_consent(&plain, "kai@example.com", PASSWORD).await;
    assert!(query_param(&callback, "code").is_some(), "{callback}");

    // Any site can link here: the user must stay signed in.
    let again = format!("{plain}&prompt=login");
    let login = location(&browser.get(&again).await);
    assert!(login.starts_with("/login?"), "{login}");
    assert_eq!(query_param(&login, "prompt").as_deref(), Some("login"));
    assert_eq!(
        browser.get("/api/auth/me").await.status(),
        StatusCode::OK,
        "signed out by a link"
    );
    let page = browser.get(&login).await;
    assert_eq!(
        page.status(),
        StatusCode::OK,
        "the login form shows although a session exists"
    );
    // Skipping the sign-in gets no code: the resumed request asks again.
    let resumed = query_param(&login, "return_to").unwrap();
    let asked_again = location(&browser.get(&resumed).await);
    assert!(asked_again.starts_with("/login?"), "{asked_again}");
    // Signing in answers the request, under a new session.
    let callback = browser.sign_in_and_consent(&again, "kai@example.com", PASSWORD).await;
    assert!(callback.starts_with(REDIRECT), "{callback}");
    assert!(query_param(&callback, "code").is_some(), "{callback}");
    assert_eq!(query_param(&callback, "state").as_deref(), Some("s1"));
}

async fn max_age_zero_asks_for_a_new_sign_in_within_the_same_second(server: &OAuthServer) {
    let id = first_party_client(server).await;
    server.user("lou@example.com", Some(PASSWORD)).await;
    let browser = Browser::new(server);
    let plain = support::authorize_url(server, &id, "openid", "s2");
    browser.sign_in_and_consent(&plain, "lou@example.com", PASSWORD).await;
    // The clock has not moved since the sign-in.
    let fresh = format!("{plain}&max_age=0");
    let login = location(&browser.get(&fresh).await);
    assert!(login.starts_with("/login?"), "max_age=0 gave {login}");
    let within = format!("{plain}&max_age=3600");
    let callback = location(&browser.get(&within).await);
    assert!(
        callback.starts_with(REDIRECT),
        "a recent sign-in satisfies max_age=3600: {callback}"
    );
    let callback = browser.sign_in_and_consent(&fresh, "lou@example.com", PASSWORD).await;
    assert!(query_param(&callback, "code").is_some(), "{callback}");
}

/// Signs `email` in and starts an authorization request that needs consent; the consent page.
async fn pending_consent(server: &OAuthServer, browser: &Browser<'_>, client: &str, email: &str) -> String {
    let url = support::authorize_url(server, client, "openid email", "s3");
    let consent = browser.sign_in_and_consent_page(&url, email, PASSWORD).await;
    assert!(consent.starts_with("/consent?"), "{consent}");
    browser.get(&consent).await.text().await.unwrap()
}

async fn decide(browser: &Browser<'_>, page: &str, id: &str, action: &str) -> reqwest::Response {
    let csrf = support::hidden_value(page, "csrf_token");
    let form = [("csrf_token", csrf.as_str()), ("consent_id", id), ("action", action)];
    browser.post("/consent", &form).await
}

async fn another_users_post_leaves_a_pending_consent_to_its_owner(server: &OAuthServer) {
    let (id, _) = server.confidential_client().await;
    server.user("mia@example.com", Some(PASSWORD)).await;
    server.user("ned@example.com", Some(PASSWORD)).await;
    let owner = Browser::new(server);
    let page = pending_consent(server, &owner, &id, "mia@example.com").await;
    let consent_id = support::hidden_value(&page, "consent_id");

    let intruder = Browser::new(server);
    let intruder_page = pending_consent(server, &intruder, &id, "ned@example.com").await;
    let refused = decide(&intruder, &intruder_page, &consent_id, "deny").await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert!(refused.headers().get(LOCATION).is_none());

    let callback = location(&decide(&owner, &page, &consent_id, "allow").await);
    assert!(callback.starts_with(REDIRECT), "{callback}");
    assert!(
        query_param(&callback, "code").is_some(),
        "the owner's request was destroyed: {callback}"
    );
}

async fn consent_is_checked_against_the_clients_current_registration(server: &OAuthServer) {
    let (id, secret) = server.confidential_client().await;
    server.user("oli@example.com", Some(PASSWORD)).await;
    let browser = Browser::new(server);
    let admin = |change: serde_json::Value| {
        common::client()
            .patch(server.url(&format!("/admin/clients/{id}")))
            .bearer_auth(common::oauth::ADMIN_TOKEN)
            .json(&change)
            .send()
    };

    // The scope narrowed while the user decided: the code carries only what is left.
    let page = pending_consent(server, &browser, &id, "oli@example.com").await;
    let consent_id = support::hidden_value(&page, "consent_id");
    let narrowed = admin(serde_json::json!({"scope": "openid offline_access"}))
        .await
        .unwrap();
    assert_eq!(narrowed.status(), StatusCode::OK);
    let callback = location(&decide(&browser, &page, &consent_id, "allow").await);
    let code = query_param(&callback, "code").unwrap();
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", common::oauth::VERIFIER),
    ];
    let token = server.post_form("/oauth2/token", Some((&id, &secret)), &form).await;
    let body: serde_json::Value = token.json().await.unwrap();
    assert_eq!(body["scope"], "openid", "{body}");

    // The redirect URI was removed: an error page, never a redirect to it.
    let restored = admin(serde_json::json!({"scope": "openid email"})).await.unwrap();
    assert_eq!(restored.status(), StatusCode::OK);
    let page = pending_consent(server, &browser, &id, "oli@example.com").await;
    let consent_id = support::hidden_value(&page, "consent_id");
    let moved = admin(serde_json::json!({"redirect_uris": ["http://127.0.0.1/callback"]}))
        .await
        .unwrap();
    assert_eq!(moved.status(), StatusCode::OK);
    let refused = decide(&browser, &page, &consent_id, "allow").await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert!(refused.headers().get(LOCATION).is_none());
}

async fn an_allowed_consent_is_remembered_with_its_audit_event(server: &OAuthServer) {
    let (id, _) = server.confidential_client().await;
    let user = server.user("pat@example.com", Some(PASSWORD)).await;
    let browser = Browser::new(server);
    let url = support::authorize_url(server, &id, "openid email", "s5");
    let callback = browser.sign_in_and_consent(&url, "pat@example.com", PASSWORD).await;
    assert!(query_param(&callback, "code").is_some(), "{callback}");

    let filter = keygate_core::model::AuditFilter {
        action: Some(keygate_core::model::AuditAction::ConsentGranted),
        ..Default::default()
    };
    let page = keygate_core::paging::PageRequest::first(10);
    let events = server
        .state
        .stores
        .audit
        .list_audit(&filter, &page)
        .await
        .unwrap()
        .items;
    assert_eq!(events.len(), 1, "one consent_granted event: {events:?}");
    let event = &events[0];
    assert_eq!(event.user_id, Some(user.id));
    assert_eq!(event.client_id.as_ref().map(|c| c.0.as_str()), Some(id.as_str()));
    assert_eq!(event.actor, format!("user:{}", user.id));
    let scope = event.details["scope"].as_str().unwrap_or_default();
    assert!(scope.contains("openid") && scope.contains("email"), "{}", event.details);

    // Remembered: the same request now goes to the client without asking again.
    let again = location(&browser.get(&support::authorize_url(server, &id, "openid", "s6")).await);
    assert!(again.starts_with(REDIRECT), "{again}");
    assert!(query_param(&again, "code").is_some(), "{again}");
}
