//! /oauth2/authorize security cases on every backend: exact redirect URI matching (only a
//! loopback port may vary), error pages for untrusted redirects, `iss` on every authorization
//! response, PKCE rules, scope and response type errors, prompt=none.

mod common;

use common::oauth::{CHALLENGE, OAuthServer, REDIRECT};
use reqwest::StatusCode;
use reqwest::header::LOCATION;

mod oauth_support;
use oauth_support as support;
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
);
