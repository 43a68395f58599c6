//! Discovery, JWKS, client credentials (through the `oauth2` crate), introspection, revocation,
//! userinfo and key rotation, on every backend.

use crate::common;

use std::time::Duration;

use common::oauth::{ADMIN_TOKEN, CHALLENGE, OAuthServer, REDIRECT, VERIFIER};
use oauth2::basic::BasicClient;
use oauth2::{AuthUrl, ClientId, ClientSecret, Scope, TokenResponse, TokenUrl};
use reqwest::StatusCode;
use serde_json::Value;

use crate::oauth_support as support;
use support::http_client;

async fn json(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    (status, response.json().await.unwrap())
}

async fn introspect(server: &OAuthServer, id: &str, secret: &str, token: &str) -> Value {
    let (status, body) = json(
        server
            .post_form("/oauth2/introspect", Some((id, secret)), &[("token", token)])
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

async fn discovery_is_complete_at_both_paths(server: &OAuthServer) {
    for path in [
        "/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server",
    ] {
        let (status, doc) = json(common::client().get(server.url(path)).send().await.unwrap()).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(doc["issuer"], server.base.as_str());
        assert_eq!(doc["token_endpoint"], server.url("/oauth2/token"));
        assert_eq!(doc["jwks_uri"], server.url("/oauth2/jwks"));
        assert_eq!(doc["end_session_endpoint"], server.url("/oauth2/logout"));
        assert_eq!(doc["response_types_supported"], serde_json::json!(["code"]));
        assert_eq!(doc["code_challenge_methods_supported"], serde_json::json!(["S256"]));
        assert_eq!(doc["authorization_response_iss_parameter_supported"], true);
        assert!(
            doc["id_token_signing_alg_values_supported"]
                .as_array()
                .unwrap()
                .contains(&"RS256".into())
        );
        for field in [
            "introspection_endpoint",
            "revocation_endpoint",
            "userinfo_endpoint",
            "claims_supported",
            "scopes_supported",
            "grant_types_supported",
            "token_endpoint_auth_methods_supported",
        ] {
            assert!(doc.get(field).is_some(), "{field} missing");
        }
    }
    let (_, jwks) = json(common::client().get(server.url("/oauth2/jwks")).send().await.unwrap()).await;
    let algs: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["alg"].as_str().unwrap())
        .collect();
    for alg in ["RS256", "ES256", "EdDSA"] {
        assert!(algs.contains(&alg), "{algs:?}");
    }
    assert!(jwks["keys"].as_array().unwrap().iter().all(|k| k.get("d").is_none()));
}

async fn client_credentials_through_the_oauth2_crate(server: &OAuthServer) {
    let (id, secret) = server.confidential_client().await;
    let client = BasicClient::new(ClientId::new(id.clone()))
        .set_client_secret(ClientSecret::new(secret.clone()))
        .set_auth_uri(AuthUrl::new(server.url("/oauth2/authorize")).unwrap())
        .set_token_uri(TokenUrl::new(server.url("/oauth2/token")).unwrap());
    let token = client
        .exchange_client_credentials()
        .add_scope(Scope::new("api:read".into()))
        .request_async(&http_client)
        .await
        .unwrap();
    let access = token.access_token().secret();
    assert!(token.refresh_token().is_none());
    let body = introspect(server, &id, &secret, access).await;
    assert_eq!(body["active"], true, "{body}");
    assert_eq!(body["scope"], "api:read");
    assert_eq!(body["client_id"], id.as_str());
    assert_eq!(body["sub"], id.as_str());
    for field in ["exp", "iat", "iss", "token_type", "jti"] {
        assert!(body.get(field).is_some(), "{field}: {body}");
    }
    let header: Value = serde_json::from_slice(
        &base64::Engine::decode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            access.split('.').next().unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(
        (header["typ"].as_str(), header["alg"].as_str()),
        (Some("at+jwt"), Some("ES256"))
    );
}

async fn opaque_access_tokens_are_stored_and_revocable(server: &OAuthServer) {
    let (id, secret) = server
        .client(serde_json::json!({"grant_types": ["client_credentials"], "access_token_format": "opaque", "scope": "api:read"}))
        .await;
    let secret = secret.unwrap();
    let (status, body) = json(
        server
            .post_form(
                "/oauth2/token",
                Some((&id, &secret)),
                &[("grant_type", "client_credentials")],
            )
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let token = body["access_token"].as_str().unwrap();
    assert!(token.starts_with("kga_"));
    assert_eq!(introspect(server, &id, &secret, token).await["active"], true);
    let response = server
        .post_form("/oauth2/revoke", Some((&id, &secret)), &[("token", token)])
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(introspect(server, &id, &secret, token).await["active"], false);
}

async fn introspection_shows_only_the_callers_own_tokens(server: &OAuthServer) {
    let (id, secret) = server.confidential_client().await;
    let (other, other_secret) = server.confidential_client().await;
    let form = [("grant_type", "client_credentials")];
    let (_, body) = json(server.post_form("/oauth2/token", Some((&id, &secret)), &form).await).await;
    let token = body["access_token"].as_str().unwrap();
    assert_eq!(
        introspect(server, &other, &other_secret, token).await,
        serde_json::json!({"active": false})
    );
    assert_eq!(
        introspect(server, &id, &secret, "garbage").await,
        serde_json::json!({"active": false})
    );
    let response = server.post_form("/oauth2/introspect", None, &[("token", token)]).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response.headers().contains_key("www-authenticate"));
    assert_eq!(response.json::<Value>().await.unwrap()["error"], "invalid_client");
    // Revoking another client's token has no effect.
    let response = server
        .post_form("/oauth2/revoke", Some((&other, &other_secret)), &[("token", token)])
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(introspect(server, &id, &secret, token).await["active"], true);
}

async fn revoking_a_refresh_token_revokes_its_family_and_jwt_access_tokens(server: &OAuthServer) {
    let (id, secret) = server.confidential_client().await;
    let user = server.user("ha@example.com", None).await;
    let code = server.code(&user, &id, "openid offline_access", Some(CHALLENGE)).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
    ];
    let (_, body) = json(server.post_form("/oauth2/token", Some((&id, &secret)), &form).await).await;
    let (access, refresh) = (
        body["access_token"].as_str().unwrap(),
        body["refresh_token"].as_str().unwrap(),
    );
    assert_eq!(
        introspect(server, &id, &secret, access).await["sub"],
        user.id.to_string()
    );
    let response = server
        .post_form(
            "/oauth2/revoke",
            Some((&id, &secret)),
            &[("token", refresh), ("token_type_hint", "refresh_token")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(introspect(server, &id, &secret, access).await["active"], false);
    assert_eq!(introspect(server, &id, &secret, refresh).await["active"], false);
}

async fn userinfo_takes_the_header_or_body_never_the_query(server: &OAuthServer) {
    let (id, secret) = server.confidential_client().await;
    let user = server.user("ivy@example.com", None).await;
    let code = server.code(&user, &id, "openid email", None).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
    ];
    let (_, body) = json(server.post_form("/oauth2/token", Some((&id, &secret)), &form).await).await;
    let access = body["access_token"].as_str().unwrap().to_owned();
    let url = server.url("/oauth2/userinfo");
    let (status, claims) = json(common::client().get(&url).bearer_auth(&access).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{claims}");
    assert_eq!(claims["sub"], user.id.to_string());
    assert_eq!(claims["email"], "ivy@example.com");
    assert_eq!(claims["email_verified"], true);
    let (status, _) = json(
        common::client()
            .post(&url)
            .form(&[("access_token", &access)])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    for response in [
        common::client()
            .get(format!("{url}?access_token={access}"))
            .send()
            .await
            .unwrap(),
        common::client().get(&url).send().await.unwrap(),
    ] {
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(
            response.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .starts_with("Bearer")
        );
    }
    let response = common::client()
        .get(&url)
        .bearer_auth("eyJnot.a.token")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(
        response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );
}

async fn tokens_signed_before_a_rotation_verify_until_they_expire(server: &OAuthServer) {
    let (id, secret) = server.confidential_client().await;
    let form = [("grant_type", "client_credentials")];
    let (_, body) = json(server.post_form("/oauth2/token", Some((&id, &secret)), &form).await).await;
    let old = body["access_token"].as_str().unwrap().to_owned();
    let (status, rotated) = json(
        common::client()
            .post(server.url("/admin/keys/rotate"))
            .bearer_auth(ADMIN_TOKEN)
            .json(&serde_json::json!({"immediately": true}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    assert_eq!(rotated["rotated"].as_array().unwrap().len(), 3);
    let (_, body) = json(server.post_form("/oauth2/token", Some((&id, &secret)), &form).await).await;
    let new = body["access_token"].as_str().unwrap().to_owned();
    let kid = |t: &str| -> Value {
        serde_json::from_slice::<Value>(
            &base64::Engine::decode(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                t.split('.').next().unwrap(),
            )
            .unwrap(),
        )
        .unwrap()["kid"]
            .clone()
    };
    assert_ne!(kid(&old), kid(&new), "the new token is signed by the new key");
    let (_, jwks) = json(common::client().get(server.url("/oauth2/jwks")).send().await.unwrap()).await;
    let kids: Vec<&Value> = jwks["keys"].as_array().unwrap().iter().map(|k| &k["kid"]).collect();
    assert!(kids.contains(&&kid(&old)) && kids.contains(&&kid(&new)));
    assert_eq!(introspect(server, &id, &secret, &old).await["active"], true);
    server.advance(Duration::from_secs(3601));
    server.state.oauth.keys.reload().await.unwrap();
    assert_eq!(introspect(server, &id, &secret, &old).await["active"], false);
    let (_, jwks) = json(common::client().get(server.url("/oauth2/jwks")).send().await.unwrap()).await;
    let kids: Vec<&Value> = jwks["keys"].as_array().unwrap().iter().map(|k| &k["kid"]).collect();
    assert!(
        !kids.contains(&&kid(&old)),
        "the retired key left the JWKS after its tokens expired"
    );
}

async fn token_events_are_audited_without_the_token(server: &OAuthServer) {
    let (id, secret) = server.confidential_client().await;
    let (_, body) = json(
        server
            .post_form(
                "/oauth2/token",
                Some((&id, &secret)),
                &[("grant_type", "client_credentials")],
            )
            .await,
    )
    .await;
    let token = body["access_token"].as_str().unwrap().to_owned();
    introspect(server, &id, &secret, &token).await;
    let mut seen = Value::Null;
    for _ in 0..50 {
        let (status, page) = json(
            common::client()
                .get(server.url(&format!("/admin/audit?client_id={id}")))
                .bearer_auth(ADMIN_TOKEN)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let actions: Vec<&str> = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        if actions.contains(&"token_issued") && actions.contains(&"token_introspected") {
            seen = page;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let text = seen.to_string();
    assert!(
        text.contains("client_credentials") && text.contains("127.0.0.1"),
        "{text}"
    );
    assert!(
        !text.contains(&token) && !text.contains(&secret),
        "a secret reached the audit log"
    );
}

on_every_backend!(
    discovery_is_complete_at_both_paths,
    client_credentials_through_the_oauth2_crate,
    opaque_access_tokens_are_stored_and_revocable,
    introspection_shows_only_the_callers_own_tokens,
    revoking_a_refresh_token_revokes_its_family_and_jwt_access_tokens,
    userinfo_takes_the_header_or_body_never_the_query,
    tokens_signed_before_a_rotation_verify_until_they_expire,
    token_events_are_audited_without_the_token,
);
