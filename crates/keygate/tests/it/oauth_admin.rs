//! The admin API on every backend: bearer checks (configured token, admin PAT), client CRUD with
//! a secret shown once and rotatable, RFC 7591 errors, keys, stats and revocation by user.

use crate::common;

use common::oauth::{ADMIN_TOKEN, OAuthServer, REDIRECT};
use keygate_core::Clock;
use keygate_core::model::PersonalAccessToken;
use keygate_core::secret_token::{SecretKind, SecretToken};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn call(
    server: &OAuthServer,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = common::client().request(method, server.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn client_credentials_work(server: &OAuthServer, id: &str, secret: &str) -> bool {
    let response = server
        .post_form(
            "/oauth2/token",
            Some((id, secret)),
            &[("grant_type", "client_credentials")],
        )
        .await;
    response.status() == StatusCode::OK
}

async fn the_admin_api_needs_the_admin_token_or_an_admin_pat(server: &OAuthServer) {
    assert_eq!(
        call(server, Method::GET, "/admin/clients", None, None).await.0,
        StatusCode::UNAUTHORIZED
    );
    let wrong = "x".repeat(ADMIN_TOKEN.len());
    assert_eq!(
        call(server, Method::GET, "/admin/clients", Some(&wrong), None).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        call(server, Method::GET, "/admin/stats", Some(ADMIN_TOKEN), None)
            .await
            .0,
        StatusCode::OK
    );

    let user = server.user("root@example.com", None).await;
    let mut pats = Vec::new();
    for scope in ["admin", "account:read"] {
        let secret = SecretToken::generate(SecretKind::PersonalAccessToken);
        let pat = PersonalAccessToken {
            id: keygate_core::ids::PatId::new(),
            user_id: user.id,
            digest: secret.digest(),
            display_prefix: secret.display_prefix().to_owned(),
            name: scope.to_owned(),
            scope: keygate_core::Scopes::parse(scope).unwrap(),
            created_at: server.clock.now(),
            expires_at: None,
            last_used_at: None,
            revoked_at: None,
        };
        server.state.stores.pats.create_pat(&pat, &[]).await.unwrap();
        pats.push(secret.expose().to_owned());
    }
    assert_eq!(
        call(server, Method::GET, "/admin/keys", Some(&pats[0]), None).await.0,
        StatusCode::OK
    );
    assert_eq!(
        call(server, Method::GET, "/admin/keys", Some(&pats[1]), None).await.0,
        StatusCode::FORBIDDEN,
        "a valid token without the admin scope is authenticated, not allowed"
    );
}

async fn clients_are_created_shown_updated_rotated_and_deleted(server: &OAuthServer) {
    let admin = Some(ADMIN_TOKEN);
    let metadata = json!({
        "client_name": "Shop", "redirect_uris": [REDIRECT],
        "grant_types": ["authorization_code", "refresh_token", "client_credentials"],
        "scope": "openid email", "id_token_signed_response_alg": "ES256"
    });
    let (status, created) = call(server, Method::POST, "/admin/clients", admin, Some(metadata)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["client_id"].as_str().unwrap().to_owned();
    let secret = created["client_secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("kgs_"));
    assert!(client_credentials_work(server, &id, &secret).await);

    let (status, shown) = call(server, Method::GET, &format!("/admin/clients/{id}"), admin, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(shown.get("client_secret").is_none(), "the secret is shown once only");
    assert_eq!(shown["client_name"], "Shop");
    let (_, listed) = call(server, Method::GET, "/admin/clients", admin, None).await;
    assert!(
        listed["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["client_id"] == id.as_str())
    );

    let (status, updated) = call(
        server,
        Method::PATCH,
        &format!("/admin/clients/{id}"),
        admin,
        Some(json!({"first_party": true})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(
        (updated["first_party"].as_bool(), updated["client_name"].as_str()),
        (Some(true), Some("Shop"))
    );

    let (status, rotated) = call(
        server,
        Method::POST,
        &format!("/admin/clients/{id}/secret"),
        admin,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let new_secret = rotated["client_secret"].as_str().unwrap();
    assert!(
        !client_credentials_work(server, &id, &secret).await,
        "the old secret still works"
    );
    assert!(client_credentials_work(server, &id, new_secret).await);

    assert_eq!(
        call(server, Method::DELETE, &format!("/admin/clients/{id}"), admin, None)
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        call(server, Method::GET, &format!("/admin/clients/{id}"), admin, None)
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    assert!(!client_credentials_work(server, &id, new_secret).await);
}

async fn bad_metadata_gets_rfc7591_errors(server: &OAuthServer) {
    for (metadata, error) in [
        (
            json!({"redirect_uris": ["http://app.example/cb"]}),
            "invalid_redirect_uri",
        ),
        (
            json!({"redirect_uris": ["https://app.example/cb#x"]}),
            "invalid_redirect_uri",
        ),
        (
            json!({"redirect_uris": ["javascript:alert(1)"]}),
            "invalid_redirect_uri",
        ),
        (
            json!({"redirect_uris": [REDIRECT], "grant_types": ["implicit"]}),
            "invalid_client_metadata",
        ),
    ] {
        let (status, body) = call(
            server,
            Method::POST,
            "/admin/clients",
            Some(ADMIN_TOKEN),
            Some(metadata.clone()),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{metadata}");
        assert_eq!(body["error"], error, "{metadata}: {body}");
    }
}

async fn revoking_by_user_ends_their_grants(server: &OAuthServer) {
    let (id, secret) = server.confidential_client().await;
    let user = server.user("rv@example.com", None).await;
    let code = server.code(&user, &id, "openid offline_access", None).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
    ];
    let body: Value = server
        .post_form("/oauth2/token", Some((&id, &secret)), &form)
        .await
        .json()
        .await
        .unwrap();
    let refresh = body["refresh_token"].as_str().unwrap();
    let (status, answer) = call(
        server,
        Method::POST,
        "/admin/tokens/revoke",
        Some(ADMIN_TOKEN),
        Some(json!({"user_id": user.id.to_string()})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer["revoked_families"], 1);
    let form = [("grant_type", "refresh_token"), ("refresh_token", refresh)];
    assert_eq!(
        server
            .post_form("/oauth2/token", Some((&id, &secret)), &form)
            .await
            .status(),
        StatusCode::BAD_REQUEST
    );
    let (_, stats) = call(server, Method::GET, "/admin/stats", Some(ADMIN_TOKEN), None).await;
    assert!(stats["clients"].as_u64().unwrap() >= 1, "{stats}");
    // Revoked grants are no longer live but still rows until the janitor removes them.
    assert_eq!(stats["live_refresh_tokens"], 0, "{stats}");
    assert!(stats["rows"]["refresh_tokens"].as_u64().unwrap() >= 1, "{stats}");
    assert!(stats["rows"]["signing_keys"].as_u64().unwrap() >= 3, "{stats}");
    assert!(stats["live_access_tokens"].is_u64(), "{stats}");
}

on_every_backend!(
    the_admin_api_needs_the_admin_token_or_an_admin_pat,
    clients_are_created_shown_updated_rotated_and_deleted,
    bad_metadata_gets_rfc7591_errors,
    revoking_by_user_ends_their_grants,
);
