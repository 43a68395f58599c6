//! The OpenAPI document: served once built with caching, valid OpenAPI 3.1 by Python's
//! openapi-spec-validator, and true to the server: real answers of the token, introspection,
//! discovery, userinfo, account and admin endpoints validate against their documented schemas and
//! carry no field the document does not name. The Swagger UI page renders every operation in
//! headless Chromium from Keygate's own files only. Without the validator (or Chromium) a test
//! skips with a note; with CI=true it fails instead (.ci/run installs both).

use crate::browser::{open_browser, start_driver};
use crate::common;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use common::accounts::PASSWORD;
use common::oauth::{ADMIN_TOKEN, Backing, OAuthServer, VERIFIER};
use reqwest::{Method, RequestBuilder, header};
use serde_json::{Value, json};

/// One real answer, as the checker reads it.
struct Samples(Vec<Value>);

impl Samples {
    /// Sends the request and records its answer under the documented `path` template.
    async fn record(&mut self, method: &str, path: &str, request: RequestBuilder) -> (u16, Value, header::HeaderMap) {
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let text = response.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("{method} {path} {status}: not JSON: {text}"))
        };
        self.0.push(json!({
            "method": method, "path": path, "status": status, "content_type": content_type,
            "body": if text.is_empty() { Value::Null } else { body.clone() },
        }));
        (status, body, headers)
    }
}

/// The Python that has openapi-spec-validator: the one named by KEYGATE_TEST_OPENAPI_PYTHON
/// (.ci/run sets it), the virtualenv .ci/run makes under target/, or `python3` on PATH. None
/// (skip) when none has it, unless CI=true.
fn validator_python() -> Option<PathBuf> {
    let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Ok(named) = std::env::var("KEYGATE_TEST_OPENAPI_PYTHON") {
        candidates.push(named.into());
    }
    candidates.push(workspace.join("target/openapi-venv/bin/python"));
    candidates.push("python3".into());
    let found = candidates.into_iter().find(|python| {
        Command::new(python)
            .args(["-c", "import openapi_spec_validator, openapi_schema_validator"])
            .output()
            .is_ok_and(|out| out.status.success())
    });
    if found.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but no Python with openapi-spec-validator (.ci/run installs it into target/openapi-venv)"
        );
        eprintln!(
            "skipping the OpenAPI validation: no Python with openapi-spec-validator \
             (python3 -m venv target/openapi-venv && target/openapi-venv/bin/pip install openapi-spec-validator)"
        );
    }
    found
}

/// Runs openapi_check.py on the document and the answers; panics with its report on a failure.
fn check(python: &PathBuf, document: &[u8], samples: &Samples) {
    let dir = tempfile::tempdir().unwrap();
    let document_file = dir.path().join("openapi.json");
    let samples_file = dir.path().join("samples.json");
    std::fs::write(&document_file, document).unwrap();
    std::fs::write(&samples_file, serde_json::to_vec_pretty(&samples.0).unwrap()).unwrap();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/it/openapi_check.py");
    let output = Command::new(python)
        .arg(&script)
        .arg(&document_file)
        .arg(&samples_file)
        .output()
        .unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    eprintln!("{report}");
    assert!(output.status.success(), "the OpenAPI check failed:\n{report}");
}

async fn fetch_document(server: &OAuthServer) -> Vec<u8> {
    let response = common::client()
        .get(server.url("/api/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let headers = response.headers();
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    assert_eq!(headers[header::CACHE_CONTROL], "public, max-age=3600");
    let bytes = response.bytes().await.unwrap().to_vec();
    let document: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(document["openapi"], "3.1.0");
    assert!(document["paths"]["/oauth2/token"]["post"].is_object());
    bytes
}

#[tokio::test]
async fn the_served_document_is_valid_and_real_answers_match_it() {
    let server = OAuthServer::start(Backing::Memory).await.unwrap();
    let document = fetch_document(&server).await;
    let Some(python) = validator_python() else {
        return server.stop().await;
    };
    let http = common::client();
    let url = |path: &str| server.url(path);
    let mut samples = Samples(Vec::new());

    // Discovery and keys.
    for path in [
        "/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server",
        "/oauth2/jwks",
    ] {
        let (status, _, _) = samples.record("get", path, http.get(url(path))).await;
        assert_eq!(status, 200, "{path}");
    }

    // The admin API: a client registered through it, then the rest of its answers.
    let admin = |method: Method, path: &str| http.request(method, url(path)).bearer_auth(ADMIN_TOKEN);
    let (status, created, _) = samples
        .record(
            "post",
            "/admin/clients",
            admin(Method::POST, "/admin/clients").json(&json!({
                "client_name": "Docs",
                "redirect_uris": [common::oauth::REDIRECT],
                "grant_types": ["authorization_code", "refresh_token", "client_credentials"],
                "scope": "openid profile email offline_access",
            })),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let client_id = created["client_id"].as_str().unwrap().to_owned();
    let one = format!("/admin/clients/{client_id}");
    let (status, rotated, _) = samples
        .record(
            "post",
            "/admin/clients/{id}/secret",
            admin(Method::POST, &format!("{one}/secret")),
        )
        .await;
    assert_eq!(status, 200);
    let secret = rotated["client_secret"].as_str().unwrap().to_owned();
    for (method, template, request) in [
        ("get", "/admin/clients", admin(Method::GET, "/admin/clients")),
        ("get", "/admin/clients/{id}", admin(Method::GET, &one)),
        (
            "patch",
            "/admin/clients/{id}",
            admin(Method::PATCH, &one).json(&json!({"client_name": "Docs 2"})),
        ),
        ("get", "/admin/keys", admin(Method::GET, "/admin/keys")),
        ("post", "/admin/keys/rotate", admin(Method::POST, "/admin/keys/rotate")),
        ("get", "/admin/stats", admin(Method::GET, "/admin/stats")),
        (
            "get",
            "/admin/clients/{id}",
            admin(Method::GET, "/admin/clients/nobody"),
        ),
        ("get", "/admin/stats", http.get(url("/admin/stats"))),
    ] {
        samples.record(method, template, request).await;
    }

    // The user administration API: an account created through it, then every answer of it.
    let (status, user, _) = samples
        .record(
            "post",
            "/admin/users",
            admin(Method::POST, "/admin/users").json(&json!({
                "email": "docs@example.com", "password": "violet-harbor-lantern-42", "verified": true
            })),
        )
        .await;
    assert_eq!(status, 201, "{user}");
    let user_id = user["id"].as_str().unwrap().to_owned();
    let login = http
        .post(url("/api/auth/login"))
        .json(&json!({"email": "docs@example.com", "password": "violet-harbor-lantern-42"}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    let who = format!("/admin/users/{user_id}");
    let (status, sessions, _) = samples
        .record(
            "get",
            "/admin/users/{id}/sessions",
            admin(Method::GET, &format!("{who}/sessions")),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(sessions["items"].as_array().unwrap().len(), 1, "{sessions}");
    for (method, template, request) in [
        (
            "get",
            "/admin/users",
            admin(Method::GET, "/admin/users?email=docs&verified=true"),
        ),
        ("get", "/admin/users/{id}", admin(Method::GET, &who)),
        (
            "patch",
            "/admin/users/{id}",
            admin(Method::PATCH, &who).json(&json!({"verified": true})),
        ),
        (
            "post",
            "/admin/users/{id}/roles",
            admin(Method::POST, &format!("{who}/roles")).json(&json!({"role": "support"})),
        ),
        (
            "delete",
            "/admin/users/{id}/roles/{role}",
            admin(Method::DELETE, &format!("{who}/roles/support")),
        ),
        (
            "post",
            "/admin/users/{id}/unlock",
            admin(Method::POST, &format!("{who}/unlock")),
        ),
        (
            "post",
            "/admin/users/{id}/totp/reset",
            admin(Method::POST, &format!("{who}/totp/reset")),
        ),
        (
            "post",
            "/admin/users/{id}/tokens/revoke",
            admin(Method::POST, &format!("{who}/tokens/revoke")),
        ),
        (
            "delete",
            "/admin/users/{id}/sessions",
            admin(Method::DELETE, &format!("{who}/sessions")),
        ),
        (
            "post",
            "/admin/users/{id}/password",
            admin(Method::POST, &format!("{who}/password")).json(&json!({"password": "copper-meadow-signal-77"})),
        ),
        (
            "post",
            "/admin/users",
            admin(Method::POST, "/admin/users").json(&json!({"email": "DOCS@example.com"})),
        ),
        ("get", "/admin/users/{id}", admin(Method::GET, "/admin/users/nobody")),
        ("delete", "/admin/users/{id}", admin(Method::DELETE, &who)),
    ] {
        let (status, body, _) = samples.record(method, template, request).await;
        assert!(status < 500, "{method} {template}: {status} {body}");
    }

    // The token endpoint: client credentials, a refused secret, a code with PKCE for an ID token
    // and a refresh token.
    let basic = |path: &str| http.post(url(path)).basic_auth(&client_id, Some(&secret));
    let (status, issued, _) = samples
        .record(
            "post",
            "/oauth2/token",
            basic("/oauth2/token").form(&[("grant_type", "client_credentials")]),
        )
        .await;
    assert_eq!(status, 200, "{issued}");
    let (status, _, _) = samples
        .record(
            "post",
            "/oauth2/token",
            http.post(url("/oauth2/token"))
                .basic_auth(&client_id, Some("wrong"))
                .form(&[("grant_type", "client_credentials")]),
        )
        .await;
    assert_eq!(status, 401);
    let user = server.user("docs@example.com", Some(PASSWORD)).await;
    let challenge = common::oauth::CHALLENGE;
    let code = server
        .code(
            &user,
            &client_id,
            "openid profile email offline_access",
            Some(challenge),
        )
        .await;
    let (status, tokens, _) = samples
        .record(
            "post",
            "/oauth2/token",
            basic("/oauth2/token").form(&[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", common::oauth::REDIRECT),
                ("code_verifier", VERIFIER),
            ]),
        )
        .await;
    assert_eq!(status, 200, "{tokens}");
    assert!(
        tokens["id_token"].is_string() && tokens["refresh_token"].is_string(),
        "{tokens}"
    );
    let access = tokens["access_token"].as_str().unwrap().to_owned();

    // Introspection (active, inactive), userinfo (claims, no token, a bad token), revocation.
    for token in [access.as_str(), "not-a-token"] {
        let (status, answer, _) = samples
            .record(
                "post",
                "/oauth2/introspect",
                basic("/oauth2/introspect").form(&[("token", token)]),
            )
            .await;
        assert_eq!(status, 200, "{answer}");
    }
    let (status, claims, _) = samples
        .record(
            "get",
            "/oauth2/userinfo",
            http.get(url("/oauth2/userinfo")).bearer_auth(&access),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(claims["email"], "docs@example.com");
    samples
        .record("get", "/oauth2/userinfo", http.get(url("/oauth2/userinfo")))
        .await;
    samples
        .record(
            "post",
            "/oauth2/userinfo",
            http.post(url("/oauth2/userinfo")).bearer_auth("kga_bad"),
        )
        .await;
    let (status, _, _) = samples
        .record(
            "post",
            "/oauth2/revoke",
            basic("/oauth2/revoke").form(&[("token", access.as_str())]),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _, _) = samples
        .record(
            "post",
            "/admin/tokens/revoke",
            admin(Method::POST, "/admin/tokens/revoke").json(&json!({ "client_id": client_id })),
        )
        .await;
    assert_eq!(status, 200);
    samples
        .record("get", "/admin/audit", admin(Method::GET, "/admin/audit?limit=5"))
        .await;

    // The account API: a refused login (problem), a login, then the signed-in answers.
    let login = |password: &str| {
        http.post(url("/api/auth/login"))
            .json(&json!({ "email": "docs@example.com", "password": password }))
    };
    let (status, _, _) = samples
        .record("post", "/api/auth/login", login("wrong-password-1"))
        .await;
    assert_eq!(status, 401);
    let (status, _, headers) = samples.record("post", "/api/auth/login", login(PASSWORD)).await;
    assert_eq!(status, 200);
    let cookie = headers[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let signed_in = |method: Method, path: &str| http.request(method, url(path)).header(header::COOKIE, &cookie);
    let (status, _, _) = samples
        .record(
            "post",
            "/api/auth/tokens",
            signed_in(Method::POST, "/api/auth/tokens").json(&json!({ "name": "ci", "scopes": ["account:read"] })),
        )
        .await;
    assert_eq!(status, 201);
    for (method, path) in [
        ("get", "/api/auth/me"),
        ("get", "/api/auth/sessions"),
        ("get", "/api/auth/activity"),
        ("get", "/api/auth/export"),
        ("get", "/api/auth/tokens"),
        ("post", "/api/auth/totp/setup"),
    ] {
        let verb = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let (status, body, _) = samples.record(method, path, signed_in(verb, path)).await;
        assert_eq!(status, 200, "{method} {path}: {body}");
    }
    samples
        .record("get", "/api/auth/me", http.get(url("/api/auth/me")))
        .await;
    let (status, _, _) = samples
        .record(
            "post",
            "/api/auth/register",
            http.post(url("/api/auth/register")).json(&json!({
                "email": "new@example.com", "password": PASSWORD, "password_confirmation": PASSWORD,
            })),
        )
        .await;
    assert_eq!(status, 201);
    let (status, _, _) = samples
        .record(
            "post",
            "/api/auth/forgot-password",
            http.post(url("/api/auth/forgot-password"))
                .json(&json!({ "email": "docs@example.com" })),
        )
        .await;
    assert_eq!(status, 202);

    check(&python, &document, &samples);
    server.stop().await;
}

#[tokio::test]
async fn the_checker_catches_a_field_the_document_does_not_name() {
    let Some(python) = validator_python() else { return };
    let server = OAuthServer::start(Backing::Memory).await.unwrap();
    let document = fetch_document(&server).await;
    server.stop().await;
    let mut document: Value = serde_json::from_slice(&document).unwrap();
    // The document loses `scope` from the token response: a real answer must now fail.
    let token_response = &mut document["components"]["schemas"]["TokenResponse"];
    token_response["properties"].as_object_mut().unwrap().remove("scope");
    token_response["required"] = json!(["access_token", "token_type", "expires_in"]);
    let samples = Samples(vec![json!({
        "method": "post", "path": "/oauth2/token", "status": 200, "content_type": "application/json",
        "body": {"access_token": "a", "token_type": "Bearer", "expires_in": 60, "scope": "x"},
    })]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("d.json"), serde_json::to_vec(&document).unwrap()).unwrap();
    std::fs::write(dir.path().join("s.json"), serde_json::to_vec(&samples.0).unwrap()).unwrap();
    let output = Command::new(&python)
        .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/it/openapi_check.py"))
        .arg(dir.path().join("d.json"))
        .arg(dir.path().join("s.json"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!output.status.success(), "{stdout}");
    assert!(stdout.contains("field `scope` is not in the schema"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_docs_page_lists_the_operations_from_keygate_s_own_files() {
    let Some(driver) = start_driver().await else { return };
    let server = OAuthServer::start(Backing::Memory).await.unwrap();
    let page = common::client().get(server.url("/api/docs")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let csp = page.headers()[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("script-src 'self'") && !csp.contains("http"), "{csp}");
    assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"), "{csp}");

    let profile = tempfile::tempdir().unwrap();
    let browser = open_browser(&driver, profile.path()).await;
    browser.goto(&server.url("/api/docs")).await.unwrap();
    let list_paths = "return Array.from(document.querySelectorAll('.opblock-summary-path'))\
                      .map(e => e.getAttribute('data-path'))";
    let deadline = Instant::now() + Duration::from_secs(30);
    let shown: Vec<String> = loop {
        let found: Vec<String> = serde_json::from_value(browser.execute(list_paths, vec![]).await.unwrap()).unwrap();
        if !found.is_empty() {
            break found;
        }
        assert!(Instant::now() < deadline, "the page shows no operations");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    for path in [
        "/oauth2/token",
        "/oauth2/introspect",
        "/api/auth/me",
        "/admin/clients",
        "/.well-known/openid-configuration",
    ] {
        assert!(shown.iter().any(|p| p == path), "{path} not on the page: {shown:?}");
    }
    // As many operation rows as the document has operations.
    let document: Value = serde_json::from_slice(&fetch_document(&server).await).unwrap();
    let operations: usize = document["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|item| item.as_object().unwrap().len())
        .sum();
    assert_eq!(shown.len(), operations);

    // The stylesheet applied, every resource came from the server, and the console holds no
    // Content-Security-Policy refusal.
    let resources: Vec<String> = serde_json::from_value(
        browser
            .execute(
                "return performance.getEntriesByType('resource').map(e => e.name)",
                vec![],
            )
            .await
            .unwrap(),
    )
    .unwrap();
    assert!(
        resources.iter().any(|r| r.ends_with("/api/openapi.json")),
        "{resources:?}"
    );
    let base = server.url("/");
    let foreign: Vec<&String> = resources.iter().filter(|r| !r.starts_with(&base)).collect();
    assert!(foreign.is_empty(), "fetched from elsewhere: {foreign:?}");
    let session = browser.session_id().await.unwrap().unwrap();
    let log: Value = common::client()
        .post(format!("{}/session/{session}/se/log", driver.url))
        .json(&json!({ "type": "browser" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let messages: Vec<String> = log["value"]
        .as_array()
        .map(|entries| entries.iter().map(|e| e["message"].to_string()).collect())
        .unwrap_or_default();
    assert!(log["value"].is_array(), "no browser log: {log}");
    let refused: Vec<&String> = messages
        .iter()
        .filter(|m| m.contains("Content Security Policy"))
        .collect();
    assert!(refused.is_empty(), "CSP refusals: {refused:?}");
    let rules = browser
        .execute("return Array.from(document.styleSheets).reduce((n, s) => { try { return n + s.cssRules.length } catch (e) { return n } }, 0)", vec![])
        .await
        .unwrap();
    assert!(
        rules.as_u64().unwrap_or(0) > 100,
        "swagger-ui.css did not apply: {rules}"
    );
    eprintln!(
        "docs page: {} operations, {} resources, console: {messages:?}",
        shown.len(),
        resources.len()
    );

    browser.close().await.unwrap();
    server.stop().await;
}
