//! The token endpoint's grants on every backend: code exchange with PKCE, single use and replay
//! revocation, concurrency, refresh rotation and reuse detection, client binding, scope rules and
//! RFC 6749 §5.2 errors.

use crate::common;

use std::time::Duration;

use common::oauth::{CHALLENGE, OAuthServer, REDIRECT, VERIFIER};
use reqwest::StatusCode;
use serde_json::Value;

async fn json(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    (status, response.json().await.unwrap())
}

async fn exchange(
    server: &OAuthServer,
    id: &str,
    secret: &str,
    code: &str,
    verifier: Option<&str>,
) -> reqwest::Response {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
    ];
    if let Some(v) = verifier {
        form.push(("code_verifier", v));
    }
    server.post_form("/oauth2/token", Some((id, secret)), &form).await
}

async fn refresh(server: &OAuthServer, id: &str, secret: &str, token: &str, scope: Option<&str>) -> reqwest::Response {
    let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", token)];
    if let Some(s) = scope {
        form.push(("scope", s));
    }
    server.post_form("/oauth2/token", Some((id, secret)), &form).await
}

async fn introspect_active(server: &OAuthServer, id: &str, secret: &str, token: &str) -> bool {
    let (status, body) = json(
        server
            .post_form("/oauth2/introspect", Some((id, secret)), &[("token", token)])
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["active"].as_bool().unwrap()
}

/// A code exchanged for tokens: (access, refresh, id token).
async fn tokens(server: &OAuthServer, id: &str, secret: &str) -> (String, String, String) {
    let user = server
        .user(&format!("u{}@example.com", uuid::Uuid::new_v4().simple()), None)
        .await;
    let code = server
        .code(&user, id, "openid email offline_access", Some(CHALLENGE))
        .await;
    let (status, body) = json(exchange(server, id, secret, &code, Some(VERIFIER)).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let text = |k: &str| body[k].as_str().unwrap().to_owned();
    (text("access_token"), text("refresh_token"), text("id_token"))
}

async fn a_code_exchange_returns_tokens_with_no_store(server: &OAuthServer) {
    let (id, secret) = server.confidential_client().await;
    let user = server.user("ada@example.com", None).await;
    let code = server
        .code(&user, &id, "openid email offline_access", Some(CHALLENGE))
        .await;
    let response = exchange(server, &id, &secret, &code, Some(VERIFIER)).await;
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(response.headers()["pragma"], "no-cache");
    let (status, body) = json(response).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], "email offline_access openid");
    assert!(body["refresh_token"].as_str().unwrap().starts_with("kgr_"));
    assert_eq!(body["access_token"].as_str().unwrap().split('.').count(), 3);
    assert!(body["id_token"].is_string());
    assert!(body["expires_in"].as_u64().unwrap() > 0);
}

async fn without_offline_access_an_openid_grant_gets_no_refresh_token(server: &OAuthServer) {
    let (id, secret) = server.confidential_client().await;
    let user = server.user("bo@example.com", None).await;
    let code = server.code(&user, &id, "openid email", None).await;
    let (status, body) = json(exchange(server, &id, &secret, &code, None).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.get("refresh_token").is_none(), "{body}");
}

async fn code_replay_is_refused_and_revokes_what_the_first_redemption_issued(server: &OAuthServer) {
    let (id, secret) = server.confidential_client().await;
    let user = server.user("cy@example.com", None).await;
    let code = server.code(&user, &id, "openid offline_access", Some(CHALLENGE)).await;
    let (_, first) = json(exchange(server, &id, &secret, &code, Some(VERIFIER)).await).await;
    let access = first["access_token"].as_str().unwrap();
    assert!(introspect_active(server, &id, &secret, access).await);
    let (status, body) = json(exchange(server, &id, &secret, &code, Some(VERIFIER)).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
    assert!(
        !introspect_active(server, &id, &secret, access).await,
        "the access token survived a replay"
    );
    let (status, body) =
        json(refresh(server, &id, &secret, first["refresh_token"].as_str().unwrap(), None).await).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
}

async fn fifty_concurrent_redemptions_of_one_code_give_exactly_one_200(server: &OAuthServer) {
    let (id, secret) = server.confidential_client().await;
    let user = server.user("di@example.com", None).await;
    let code = server.code(&user, &id, "openid", Some(CHALLENGE)).await;
    let attempts = (0..50).map(|_| exchange(server, &id, &secret, &code, Some(VERIFIER)));
    let statuses: Vec<StatusCode> = futures_statuses(attempts).await;
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::OK).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::OK || *s == StatusCode::BAD_REQUEST),
        "{statuses:?}"
    );
}

async fn futures_statuses<F: std::future::Future<Output = reqwest::Response>>(
    attempts: impl Iterator<Item = F>,
) -> Vec<StatusCode> {
    let handles: Vec<_> = attempts.collect();
    let mut statuses = Vec::new();
    for response in join_all(handles).await {
        statuses.push(response.status());
    }
    statuses
}

/// Runs the futures concurrently on this task.
async fn join_all<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut pinned: Vec<_> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = (0..pinned.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, fut) in pinned.iter_mut().enumerate() {
            if outputs[i].is_none() {
                match fut.as_mut().poll(cx) {
                    std::task::Poll::Ready(out) => outputs[i] = Some(out),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().map(Option::unwrap).collect()
}

async fn pkce_missing_wrong_and_downgraded_verifiers_are_refused(server: &OAuthServer) {
    let (id, secret) = server.confidential_client().await;
    let user = server.user("ed@example.com", None).await;
    let wrong = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXK";
    for (challenge, verifier) in [
        (Some(CHALLENGE), None),
        (Some(CHALLENGE), Some(wrong)),
        (None, Some(VERIFIER)),
    ] {
        let code = server.code(&user, &id, "openid", challenge).await;
        let (status, body) = json(exchange(server, &id, &secret, &code, verifier).await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{challenge:?} {verifier:?}: {body}");
        assert_eq!(body["error"], "invalid_grant");
    }
}

async fn a_code_is_bound_to_its_client_redirect_uri_and_lifetime(server: &OAuthServer) {
    let (id, secret) = server.confidential_client().await;
    let (other, other_secret) = server.confidential_client().await;
    let user = server.user("fa@example.com", None).await;
    let code = server.code(&user, &id, "openid", None).await;
    let (status, body) = json(exchange(server, &other, &other_secret, &code, None).await).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );

    let code = server.code(&user, &id, "openid", None).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", "https://app.example/cb/"),
    ];
    let (status, body) = json(server.post_form("/oauth2/token", Some((&id, &secret)), &form).await).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );

    let code = server.code(&user, &id, "openid", None).await;
    server.advance(Duration::from_secs(61));
    let (status, body) = json(exchange(server, &id, &secret, &code, None).await).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
}

async fn refresh_rotates_and_reuse_revokes_the_family(server: &OAuthServer) {
    let (id, secret) = server.confidential_client().await;
    let (access, first, _) = tokens(server, &id, &secret).await;
    let (status, body) = json(refresh(server, &id, &secret, &first, None).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let second = body["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(second, first);
    assert!(introspect_active(server, &id, &secret, &second).await);
    let (status, body) = json(refresh(server, &id, &secret, &first, None).await).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    assert!(
        !introspect_active(server, &id, &secret, &second).await,
        "reuse left the family alive"
    );
    assert!(!introspect_active(server, &id, &secret, &access).await);
    let (status, _) = json(refresh(server, &id, &secret, &second, None).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

async fn twenty_concurrent_refreshes_of_one_token_give_exactly_one_200(server: &OAuthServer) {
    let (id, secret) = server.confidential_client().await;
    let (_, token, _) = tokens(server, &id, &secret).await;
    let attempts = (0..20).map(|_| refresh(server, &id, &secret, &token, None));
    let statuses = futures_statuses(attempts).await;
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::OK).count(),
        1,
        "{statuses:?}"
    );
}

async fn another_clients_refresh_token_is_refused(server: &OAuthServer) {
    let (id, secret) = server.confidential_client().await;
    let (other, other_secret) = server.confidential_client().await;
    let (_, token, _) = tokens(server, &id, &secret).await;
    let (status, body) = json(refresh(server, &other, &other_secret, &token, None).await).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    let (status, _) = json(refresh(server, &id, &secret, &token, None).await).await;
    assert_eq!(status, StatusCode::OK, "the owner's token must still work");
}

async fn refresh_scope_can_narrow_but_never_widen(server: &OAuthServer) {
    let (id, secret) = server.confidential_client().await;
    let (_, token, _) = tokens(server, &id, &secret).await;
    let (status, body) = json(refresh(server, &id, &secret, &token, Some("openid email api:write")).await).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_scope"))
    );
    let (status, body) = json(refresh(server, &id, &secret, &token, Some("email")).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["scope"], "email");
    let next = body["refresh_token"].as_str().unwrap();
    let (status, body) = json(refresh(server, &id, &secret, next, None).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["scope"], "email offline_access openid",
        "the family keeps its scope"
    );
}

async fn client_authentication_errors_are_401_with_a_challenge(server: &OAuthServer) {
    let (id, secret) = server.confidential_client().await;
    let form = [("grant_type", "client_credentials")];
    let wrong = secret
        .replace("kgs_", "kgs_x")
        .chars()
        .take(secret.len())
        .collect::<String>();
    for basic in [
        Some((id.as_str(), wrong.as_str())),
        Some(("nobody", secret.as_str())),
        None,
    ] {
        let response = server.post_form("/oauth2/token", basic, &form).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{basic:?}");
        assert!(response.headers().contains_key("www-authenticate"));
        assert_eq!(response.headers()["cache-control"], "no-store");
        assert_eq!(response.json::<Value>().await.unwrap()["error"], "invalid_client");
    }
    let post = [
        ("grant_type", "client_credentials"),
        ("client_id", id.as_str()),
        ("client_secret", secret.as_str()),
    ];
    assert_eq!(
        server.post_form("/oauth2/token", None, &post).await.status(),
        StatusCode::OK
    );
    let (status, body) = json(
        server
            .post_form("/oauth2/token", Some((&id, &secret)), &[("grant_type", "password")])
            .await,
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("unsupported_grant_type"))
    );
}

async fn a_grant_the_client_may_not_use_is_unauthorized_client(server: &OAuthServer) {
    let (id, secret) = server
        .client(serde_json::json!({"redirect_uris": [REDIRECT], "grant_types": ["authorization_code"]}))
        .await;
    let form = [("grant_type", "client_credentials")];
    let (status, body) = json(
        server
            .post_form("/oauth2/token", Some((&id, &secret.unwrap())), &form)
            .await,
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("unauthorized_client"))
    );
}

async fn a_public_client_redeems_with_pkce_and_no_secret(server: &OAuthServer) {
    let (id, _) = server
        .client(serde_json::json!({"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none"}))
        .await;
    let user = server.user("gi@example.com", None).await;
    let code = server.code(&user, &id, "openid offline_access", Some(CHALLENGE)).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("client_id", id.as_str()),
        ("code_verifier", VERIFIER),
    ];
    let (status, body) = json(server.post_form("/oauth2/token", None, &form).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

on_every_backend!(
    a_code_exchange_returns_tokens_with_no_store,
    without_offline_access_an_openid_grant_gets_no_refresh_token,
    code_replay_is_refused_and_revokes_what_the_first_redemption_issued,
    fifty_concurrent_redemptions_of_one_code_give_exactly_one_200,
    pkce_missing_wrong_and_downgraded_verifiers_are_refused,
    a_code_is_bound_to_its_client_redirect_uri_and_lifetime,
    refresh_rotates_and_reuse_revokes_the_family,
    twenty_concurrent_refreshes_of_one_token_give_exactly_one_200,
    another_clients_refresh_token_is_refused,
    refresh_scope_can_narrow_but_never_widen,
    client_authentication_errors_are_401_with_a_challenge,
    a_grant_the_client_may_not_use_is_unauthorized_client,
    a_public_client_redeems_with_pkce_and_no_secret,
    a_code_tried_by_another_client_or_with_a_wrong_verifier_still_works_for_its_owner,
    another_clients_replay_of_a_used_code_revokes_nothing,
    narrowing_a_clients_scope_narrows_its_codes_and_refresh_tokens,
    a_code_whose_redirect_uri_was_unregistered_is_refused,
);

/// PATCH /admin/clients/{id} with the test admin token.
async fn update_client(server: &OAuthServer, id: &str, change: Value) {
    let response = common::client()
        .patch(server.url(&format!("/admin/clients/{id}")))
        .bearer_auth(common::oauth::ADMIN_TOKEN)
        .json(&change)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{}", response.text().await.unwrap());
}

async fn a_code_tried_by_another_client_or_with_a_wrong_verifier_still_works_for_its_owner(server: &OAuthServer) {
    let (id, secret) = server.confidential_client().await;
    let (other, other_secret) = server.confidential_client().await;
    let user = server.user("gil@example.com", None).await;
    let code = server.code(&user, &id, "openid offline_access", Some(CHALLENGE)).await;
    let wrong = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXK";
    let attempts = [
        exchange(server, &other, &other_secret, &code, Some(VERIFIER)).await,
        exchange(server, &id, &secret, &code, Some(wrong)).await,
        exchange(server, &id, &secret, &code, None).await,
    ];
    for attempt in attempts {
        let (status, body) = json(attempt).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_grant"))
        );
    }
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", "http://127.0.0.1/callback"),
        ("code_verifier", VERIFIER),
    ];
    let (status, _) = json(server.post_form("/oauth2/token", Some((&id, &secret)), &form).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "another registered redirect URI");
    let (status, body) = json(exchange(server, &id, &secret, &code, Some(VERIFIER)).await).await;
    assert_eq!(status, StatusCode::OK, "the owner's code was burned: {body}");
}

async fn another_clients_replay_of_a_used_code_revokes_nothing(server: &OAuthServer) {
    let (id, secret) = server.confidential_client().await;
    let (other, other_secret) = server.confidential_client().await;
    let user = server.user("hal@example.com", None).await;
    let code = server.code(&user, &id, "openid offline_access", Some(CHALLENGE)).await;
    let (status, first) = json(exchange(server, &id, &secret, &code, Some(VERIFIER)).await).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let (status, body) = json(exchange(server, &other, &other_secret, &code, Some(VERIFIER)).await).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    let access = first["access_token"].as_str().unwrap();
    assert!(
        introspect_active(server, &id, &secret, access).await,
        "another client revoked the owner's tokens"
    );
    let (status, body) =
        json(refresh(server, &id, &secret, first["refresh_token"].as_str().unwrap(), None).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

async fn narrowing_a_clients_scope_narrows_its_codes_and_refresh_tokens(server: &OAuthServer) {
    let (id, secret) = server.confidential_client().await;
    let (_, refresh_token, _) = tokens(server, &id, &secret).await;
    let user = server.user("ida@example.com", None).await;
    let code = server
        .code(&user, &id, "openid email offline_access", Some(CHALLENGE))
        .await;
    update_client(server, &id, serde_json::json!({ "scope": "openid offline_access" })).await;

    let (status, body) = json(refresh(server, &id, &secret, &refresh_token, None).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["scope"], "offline_access openid",
        "email was removed from the client"
    );
    let next = body["refresh_token"].as_str().unwrap().to_owned();
    let (status, body) = json(refresh(server, &id, &secret, &next, Some("email")).await).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_scope"))
    );

    let (status, body) = json(exchange(server, &id, &secret, &code, Some(VERIFIER)).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["scope"], "offline_access openid");

    update_client(server, &id, serde_json::json!({ "scope": "api:read" })).await;
    let (status, body) = json(refresh(server, &id, &secret, &next, None).await).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
}

async fn a_code_whose_redirect_uri_was_unregistered_is_refused(server: &OAuthServer) {
    let (id, secret) = server.confidential_client().await;
    let user = server.user("jo@example.com", None).await;
    let code = server.code(&user, &id, "openid", Some(CHALLENGE)).await;
    update_client(
        server,
        &id,
        serde_json::json!({ "redirect_uris": ["http://127.0.0.1/callback"] }),
    )
    .await;
    let (status, body) = json(exchange(server, &id, &secret, &code, Some(VERIFIER)).await).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
}
