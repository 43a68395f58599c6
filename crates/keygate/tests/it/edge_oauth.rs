//! The edge of the OAuth endpoints and the admin API on memory, SQLite and PostgreSQL: parameter
//! length limits, control characters (NUL included) refused before any store sees them, the
//! `Authorization` scheme in any letter case, and form bodies only at token, introspect and revoke.

use crate::common;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::oauth::{ADMIN_TOKEN, OAuthServer, REDIRECT};
use reqwest::StatusCode;
use serde_json::Value;

async fn json(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

fn basic(scheme: &str, id: &str, secret: &str) -> String {
    format!("{scheme} {}", STANDARD.encode(format!("{id}:{secret}")))
}

/// POSTs `body` to `path` with an optional `Authorization` and `Content-Type`.
async fn post(
    server: &OAuthServer,
    path: &str,
    authorization: Option<&str>,
    content_type: Option<&str>,
    body: &str,
) -> (StatusCode, Value) {
    let mut request = common::client().post(server.url(path)).body(body.to_owned());
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    if let Some(value) = content_type {
        request = request.header("content-type", value);
    }
    json(request.send().await.unwrap()).await
}

const FORM: &str = "application/x-www-form-urlencoded";

fn authorize_query(client_id: &str, extra: &[(&str, &str)]) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    query
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("response_type", "code")
        .append_pair("scope", "openid");
    for (name, value) in extra {
        query.append_pair(name, value);
    }
    query.finish()
}

async fn authorize_refuses_an_oversized_state_or_nonce_on_a_page_never_a_redirect(server: &OAuthServer) {
    let (id, _) = server.confidential_client().await;
    let url = server.url("/oauth2/authorize");
    // At the limit: the anonymous user is sent to the login page as usual.
    let at_limit = authorize_query(&id, &[("state", &"s".repeat(512)), ("nonce", &"n".repeat(512))]);
    let response = common::client().get(format!("{url}?{at_limit}")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(response.headers()["location"].to_str().unwrap().starts_with("/login?"));
    // One byte over, in the query or a 900 KB state in a POST body: an error page, no Location.
    let over = authorize_query(&id, &[("state", &"s".repeat(513))]);
    let huge = authorize_query(&id, &[("state", &"s".repeat(900 * 1024))]);
    let nonce = authorize_query(&id, &[("nonce", &"n".repeat(600 * 1024))]);
    let responses = [
        common::client().get(format!("{url}?{over}")).send().await.unwrap(),
        common::client()
            .post(&url)
            .header("content-type", FORM)
            .body(huge)
            .send()
            .await
            .unwrap(),
        common::client()
            .post(&url)
            .header("content-type", FORM)
            .body(nonce)
            .send()
            .await
            .unwrap(),
    ];
    for response in responses {
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert!(response.headers().get("location").is_none());
        let page = response.text().await.unwrap();
        assert!(
            page.len() < 16 * 1024,
            "the page must not echo the value: {} bytes",
            page.len()
        );
        assert!(page.contains("longer than 512 bytes"), "{page}");
    }
}

async fn token_endpoint_refuses_oversized_parameters_with_invalid_request(server: &OAuthServer) {
    let (id, secret) = server.confidential_client().await;
    let auth = basic("Basic", &id, &secret);
    let long_verifier = format!(
        "grant_type=authorization_code&code=kgc_x&code_verifier={}",
        "v".repeat(129)
    );
    let long_scope = format!("grant_type=client_credentials&scope={}", "a".repeat(1025));
    let long_refresh = format!("grant_type=refresh_token&refresh_token={}", "r".repeat(257));
    for (body, name) in [
        (long_verifier, "code_verifier"),
        (long_scope, "scope"),
        (long_refresh, "refresh_token"),
    ] {
        let (status, answer) = post(server, "/oauth2/token", Some(&auth), Some(FORM), &body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
        assert_eq!(answer["error"], "invalid_request", "{answer}");
        assert!(
            answer["error_description"].as_str().unwrap().starts_with(name),
            "{answer}"
        );
    }
    // A verifier of 128 characters is within the limit (and then simply wrong for this code).
    let ok_len = format!(
        "grant_type=authorization_code&code=kgc_x&code_verifier={}",
        "v".repeat(128)
    );
    let (_, answer) = post(server, "/oauth2/token", Some(&auth), Some(FORM), &ok_len).await;
    assert_ne!(answer["error"], "invalid_request", "{answer}");
}

async fn nul_in_client_ids_and_basic_credentials_is_refused_never_a_5xx(server: &OAuthServer) {
    // `Basic ADoA` is "\0:\0".
    for path in ["/oauth2/token", "/oauth2/introspect", "/oauth2/revoke"] {
        let body = "grant_type=client_credentials&token=x";
        let (status, answer) = post(server, path, Some("Basic ADoA"), Some(FORM), body).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}: {answer}");
        assert_eq!(answer["error"], "invalid_client", "{path}");
        let body = "grant_type=client_credentials&token=x&client_id=%00";
        let (status, answer) = post(server, path, None, Some(FORM), body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {answer}");
        assert_eq!(answer["error"], "invalid_request", "{path}");
        assert!(
            answer["error_description"]
                .as_str()
                .unwrap()
                .contains("control character")
        );
    }
    let (status, _) = post(server, "/oauth2/userinfo", None, Some(FORM), "access_token=a%00b").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let url = |path: &str| server.url(path);
    let admin = format!("Bearer {ADMIN_TOKEN}");
    let gets = [
        url(&format!("/oauth2/authorize?{}", authorize_query("\0", &[]))),
        url("/oauth2/authorize?client_id=%00&redirect_uri=x&response_type=code"),
        url("/oauth2/logout?id_token_hint=x&client_id=%00"),
        url("/admin/clients/%00"),
        url("/admin/clients/a%00b/secret"),
        url("/admin/audit?client_id=%00"),
        url("/admin/clients?cursor=%00"),
        url("/api/auth/verify-email/%00"),
    ];
    for target in gets {
        let response = common::client()
            .get(&target)
            .header("authorization", &admin)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{target}");
    }
    let metadata = serde_json::json!({ "client_name": "evil\u{0}name", "redirect_uris": [REDIRECT] });
    let response = common::client()
        .post(url("/admin/clients"))
        .header("authorization", &admin)
        .json(&metadata)
        .send()
        .await
        .unwrap();
    let (status, answer) = json(response).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert!(
        answer["error_description"]
            .as_str()
            .unwrap()
            .contains("control character")
    );
    // A stranger learns nothing about the body rules: 401 before the body is looked at.
    let stranger = common::client()
        .post(url("/admin/clients"))
        .json(&metadata)
        .send()
        .await
        .unwrap();
    assert_eq!(stranger.status(), StatusCode::UNAUTHORIZED);
}

async fn authorization_schemes_are_case_insensitive_everywhere(server: &OAuthServer) {
    let (id, secret) = server.confidential_client().await;
    let body = "grant_type=client_credentials&scope=api:read";
    let mut access = String::new();
    for scheme in ["basic", "BASIC", "bAsIc"] {
        let (status, answer) = post(
            server,
            "/oauth2/token",
            Some(&basic(scheme, &id, &secret)),
            Some(FORM),
            body,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{scheme}: {answer}");
        access = answer["access_token"].as_str().unwrap().to_owned();
    }
    let introspect = format!("token={access}");
    let (status, answer) = post(
        server,
        "/oauth2/introspect",
        Some(&basic("BASIC", &id, &secret)),
        Some(FORM),
        &introspect,
    )
    .await;
    assert_eq!((status, &answer["active"]), (StatusCode::OK, &Value::Bool(true)));

    let user = server.user("case@example.com", None).await;
    let code = server.code(&user, &id, "openid email", None).await;
    let form = format!(
        "grant_type=authorization_code&code={code}&redirect_uri={}",
        form_urlencoded::byte_serialize(REDIRECT.as_bytes()).collect::<String>()
    );
    let (status, tokens) = post(
        server,
        "/oauth2/token",
        Some(&basic("basic", &id, &secret)),
        Some(FORM),
        &form,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let user_access = tokens["access_token"].as_str().unwrap();
    for scheme in ["bearer", "BEARER", "Bearer"] {
        let response = common::client()
            .get(server.url("/oauth2/userinfo"))
            .header("authorization", format!("{scheme} {user_access}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "userinfo with {scheme}");
        let response = common::client()
            .get(server.url("/admin/clients"))
            .header("authorization", format!("{scheme} {ADMIN_TOKEN}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "admin API with {scheme}");
    }
}

async fn token_introspect_revoke_and_userinfo_take_only_form_bodies(server: &OAuthServer) {
    let (id, secret) = server.confidential_client().await;
    let auth = basic("Basic", &id, &secret);
    let bodies = [
        ("/oauth2/token", "grant_type=client_credentials"),
        ("/oauth2/introspect", "token=kga_unknown"),
        ("/oauth2/revoke", "token=kga_unknown"),
    ];
    for (path, body) in bodies {
        for content_type in [Some("text/plain"), Some("application/json"), None] {
            let (status, answer) = post(server, path, Some(&auth), content_type, body).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{path} {content_type:?}: {answer}");
            assert_eq!(answer["error"], "invalid_request", "{path} {content_type:?}");
        }
        let with_charset = Some("application/x-www-form-urlencoded; charset=UTF-8");
        let (status, answer) = post(server, path, Some(&auth), with_charset, body).await;
        assert_eq!(status, StatusCode::OK, "{path}: {answer}");
    }
    // Userinfo takes a token in the body only from a form body (RFC 6750 §2.2).
    let (status, answer) = post(server, "/oauth2/userinfo", None, Some("text/plain"), "access_token=x").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert_eq!(answer["error"], "invalid_request");
}

async fn pkce_parameters_keep_their_rfc_bounds(server: &OAuthServer) {
    let (id, _) = server.confidential_client().await;
    let url = server.url("/oauth2/authorize");
    let challenge = authorize_query(
        &id,
        &[("code_challenge", &"c".repeat(129)), ("code_challenge_method", "S256")],
    );
    let response = common::client().get(format!("{url}?{challenge}")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.headers().get("location").is_none());
    // 128 characters is within the limit: the request goes on (to the login page here).
    let at_limit = authorize_query(
        &id,
        &[("code_challenge", &"c".repeat(128)), ("code_challenge_method", "S256")],
    );
    let response = common::client().get(format!("{url}?{at_limit}")).send().await.unwrap();
    assert_ne!(response.status(), StatusCode::BAD_REQUEST);
}

async fn a_signed_in_user_reaches_consent_only_with_bounded_parameters(server: &OAuthServer) {
    let (id, _) = server.confidential_client().await;
    let password = "violet-harbor-lantern-42";
    server.user("consent@example.com", Some(password)).await;
    let browser = reqwest::Client::builder()
        .no_proxy()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let login = browser
        .post(server.url("/api/auth/login"))
        .json(&serde_json::json!({ "email": "consent@example.com", "password": password }))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::OK);
    let url = server.url("/oauth2/authorize");
    let over = authorize_query(&id, &[("nonce", &"n".repeat(100 * 1024)), ("state", "s")]);
    let response = browser
        .post(&url)
        .header("content-type", FORM)
        .body(over)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::BAD_REQUEST,
        "nothing may be kept for consent"
    );
    assert!(response.headers().get("location").is_none());
    let at_limit = authorize_query(&id, &[("nonce", &"n".repeat(512)), ("state", &"s".repeat(512))]);
    let response = browser.get(format!("{url}?{at_limit}")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with("/consent?id="), "{location}");
}

on_every_backend!(
    a_signed_in_user_reaches_consent_only_with_bounded_parameters,
    authorize_refuses_an_oversized_state_or_nonce_on_a_page_never_a_redirect,
    token_endpoint_refuses_oversized_parameters_with_invalid_request,
    nul_in_client_ids_and_basic_credentials_is_refused_never_a_5xx,
    authorization_schemes_are_case_insensitive_everywhere,
    token_introspect_revoke_and_userinfo_take_only_form_bodies,
    pkce_parameters_keep_their_rfc_bounds,
);

#[tokio::test]
async fn metrics_needs_the_bearer_token_when_one_is_configured() {
    let token = "prometheus-scrape-token-0123";
    let server = OAuthServer::start_with(common::oauth::Backing::Memory, |config| {
        config.metrics_token = Some(token.to_owned().try_into().unwrap());
    })
    .await
    .unwrap();
    let url = server.url("/metrics");
    let anonymous = common::client().get(&url).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert!(
        anonymous.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer")
    );
    let wrong = common::client()
        .get(&url)
        .bearer_auth("prometheus-scrape-token-0124")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    for scheme in ["Bearer", "bearer"] {
        let right = common::client()
            .get(&url)
            .header("authorization", format!("{scheme} {token}"))
            .send()
            .await
            .unwrap();
        assert_eq!(right.status(), StatusCode::OK, "{scheme}");
        assert!(right.text().await.unwrap().contains("keygate_http_requests_total"));
    }
    server.stop().await;
}
