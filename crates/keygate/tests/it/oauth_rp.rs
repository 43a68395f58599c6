//! A real relying party: the `openidconnect` crate discovers Keygate, sends the user through the
//! real login and consent pages (a cookie-keeping browser stand-in posting the forms), exchanges
//! the code with PKCE, validates the ID token against the JWKS, calls userinfo, refreshes,
//! introspects and revokes; and RP-initiated logout. On every backend.

use crate::common;

use common::oauth::{OAuthServer, REDIRECT};
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IntrospectionUrl, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl, Scope, TokenIntrospectionResponse, TokenResponse,
};
use reqwest::StatusCode;
use reqwest::header::LOCATION;

use crate::oauth_support as support;
use support::{Browser, http_client, query_param};

const PASSWORD: &str = "correct horse battery staple";

async fn the_openidconnect_crate_completes_code_pkce_nonce_refresh_userinfo_introspect_revoke(server: &OAuthServer) {
    let (id, secret) = server.confidential_client().await;
    let user = server.user("rp@example.com", Some(PASSWORD)).await;
    let metadata = CoreProviderMetadata::discover_async(
        openidconnect::IssuerUrl::new(server.base.clone()).unwrap(),
        &http_client,
    )
    .await
    .unwrap();
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(id.clone()),
        Some(ClientSecret::new(secret.clone())),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT.to_owned()).unwrap())
    .set_introspection_url(IntrospectionUrl::new(server.url("/oauth2/introspect")).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("offline_access".into()))
        .set_pkce_challenge(challenge)
        .url();

    let browser = Browser::new(server);
    let callback = browser
        .sign_in_and_consent(url.as_str(), "rp@example.com", PASSWORD)
        .await;
    assert_eq!(query_param(&callback, "state").as_deref(), Some(csrf.secret().as_str()));
    assert_eq!(query_param(&callback, "iss").as_deref(), Some(server.base.as_str()));
    let code = query_param(&callback, "code").unwrap();

    let token = client
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http_client)
        .await
        .unwrap();
    let id_token = token.id_token().expect("an ID token");
    let verifier = client.id_token_verifier();
    let claims = id_token.claims(&verifier, &nonce).unwrap();
    assert_eq!(claims.subject().as_str(), user.id.to_string());
    assert_eq!(claims.email().map(|e| e.as_str()), Some("rp@example.com"));
    let expected_hash = AccessTokenHash::from_token(
        token.access_token(),
        id_token.signing_alg().unwrap(),
        id_token.signing_key(&verifier).unwrap(),
    )
    .unwrap();
    assert_eq!(claims.access_token_hash(), Some(&expected_hash));
    assert!(claims.auth_time().is_some());

    let info: openidconnect::core::CoreUserInfoClaims = client
        .user_info(token.access_token().clone(), None)
        .unwrap()
        .request_async(&http_client)
        .await
        .unwrap();
    assert_eq!(info.subject().as_str(), user.id.to_string());
    assert_eq!(info.email().map(|e| e.as_str()), Some("rp@example.com"));

    let refresh = token.refresh_token().expect("offline_access grants a refresh token");
    let refreshed = client
        .exchange_refresh_token(refresh)
        .unwrap()
        .request_async(&http_client)
        .await
        .unwrap();
    assert_ne!(refreshed.refresh_token().unwrap().secret(), refresh.secret());

    let answer = client
        .introspect(refreshed.access_token())
        .request_async(&http_client)
        .await
        .unwrap();
    assert!(answer.active());
    let response = server
        .post_form(
            "/oauth2/revoke",
            Some((&id, &secret)),
            &[("token", refreshed.refresh_token().unwrap().secret())],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let answer = client
        .introspect(refreshed.access_token())
        .request_async(&http_client)
        .await
        .unwrap();
    assert!(!answer.active(), "revoking the refresh token ends its access tokens");
}

async fn consent_is_remembered_and_first_party_clients_skip_it(server: &OAuthServer) {
    let (id, _) = server.confidential_client().await;
    server.user("ce@example.com", Some(PASSWORD)).await;
    let browser = Browser::new(server);
    let url = support::authorize_url(server, &id, "openid email", "s1");
    let callback = browser.sign_in_and_consent(&url, "ce@example.com", PASSWORD).await;
    assert!(query_param(&callback, "code").is_some());
    // Second time: signed in and consented, straight back with a code.
    let response = browser.get(&support::authorize_url(server, &id, "openid", "s2")).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let location = response.headers()[LOCATION].to_str().unwrap().to_owned();
    assert!(
        location.starts_with(REDIRECT) && query_param(&location, "code").is_some(),
        "{location}"
    );

    let (first, _) = server
        .client(serde_json::json!({"redirect_uris": [REDIRECT], "first_party": true}))
        .await;
    let response = browser
        .get(&support::authorize_url(server, &first, "openid", "s3"))
        .await;
    let location = response.headers()[LOCATION].to_str().unwrap().to_owned();
    assert!(location.starts_with(REDIRECT), "first-party skips consent: {location}");
}

async fn denying_consent_sends_access_denied_with_state_and_iss(server: &OAuthServer) {
    let (id, _) = server.confidential_client().await;
    server.user("de@example.com", Some(PASSWORD)).await;
    let browser = Browser::new(server);
    let location = browser
        .sign_in_and_decide(
            &support::authorize_url(server, &id, "openid", "st"),
            "de@example.com",
            PASSWORD,
            "deny",
        )
        .await;
    assert_eq!(query_param(&location, "error").as_deref(), Some("access_denied"));
    assert_eq!(query_param(&location, "state").as_deref(), Some("st"));
    assert_eq!(query_param(&location, "iss").as_deref(), Some(server.base.as_str()));
}

async fn rp_initiated_logout_ends_the_session_and_follows_only_registered_uris(server: &OAuthServer) {
    let (id, secret) = server
        .client(serde_json::json!({
            "redirect_uris": [REDIRECT], "post_logout_redirect_uris": ["https://app.example/bye"], "first_party": true
        }))
        .await;
    let secret = secret.unwrap();
    server.user("lo@example.com", Some(PASSWORD)).await;
    let browser = Browser::new(server);
    let callback = browser
        .sign_in_and_consent(
            &support::authorize_url(server, &id, "openid", "x"),
            "lo@example.com",
            PASSWORD,
        )
        .await;
    let code = query_param(&callback, "code").unwrap();
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", common::oauth::VERIFIER),
    ];
    let body: serde_json::Value = server
        .post_form("/oauth2/token", Some((&id, &secret)), &form)
        .await
        .json()
        .await
        .unwrap();
    let id_token = body["id_token"].as_str().unwrap();

    let bad = browser
        .get(&format!(
            "/oauth2/logout?id_token_hint={id_token}&post_logout_redirect_uri=https://evil.example/"
        ))
        .await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let response = browser
        .get(&format!(
            "/oauth2/logout?id_token_hint={id_token}&post_logout_redirect_uri=https://app.example/bye&state=z"
        ))
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[LOCATION], "https://app.example/bye?state=z");
    // Signed out: the next authorization request goes to the login page.
    let response = browser.get(&support::authorize_url(server, &id, "openid", "y")).await;
    assert!(response.headers()[LOCATION].to_str().unwrap().starts_with("/login"));
}

on_every_backend!(
    the_openidconnect_crate_completes_code_pkce_nonce_refresh_userinfo_introspect_revoke,
    consent_is_remembered_and_first_party_clients_skip_it,
    denying_consent_sends_access_denied_with_state_and_iss,
    rp_initiated_logout_ends_the_session_and_follows_only_registered_uris,
);
