//! Helpers for the copy/export/import suites (included with `mod`, not a test of its own): a data
//! set with every record kind made through the real server, the checks a user of the copied
//! database would make, and the real binary run with a given secret key.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Output;
use std::sync::Arc;
use std::time::Duration;

use keygate::config::Config;
use keygate_core::accounts::RequestMeta;
use keygate_core::ids::ClientId;
use keygate_core::model::Consent;
use keygate_core::oauth::{ClientMetadata, CodeGrant};
use keygate_core::totp::{self, TotpSecret};
use keygate_core::{Clock, ManualClock, Scopes, SystemClock};
use keygate_store::{Backend, SqlOptions};
use serde_json::{Value, json};

use crate::common::TestServer;
use crate::common::accounts::{Api, PASSWORD};

pub const ADMIN_TOKEN: &str = "transfer-admin-token-0123456789-abcdefghij";
pub const EMAIL: &str = "tess@example.com";
pub const REDIRECT: &str = "https://app.example/cb";

/// A server on `url` whose sealed values use `key`, with a clock the test moves.
pub async fn start(url: &str, key: &str, clock: &ManualClock) -> TestServer {
    let backend = Backend::connect(url, &SqlOptions::default()).await.unwrap();
    backend.migrate_up().await.unwrap();
    let mut config = Config {
        admin_token: Some(ADMIN_TOKEN.to_owned().try_into().unwrap()),
        secret_key: Some(key.to_owned().try_into().unwrap()),
        ..Config::default()
    };
    config.accounts.require_verified_email = false;
    // Tests register from one address for as long as a copy runs (to write during it); the
    // default 50 registrations per hour and address would make their outcome depend on speed.
    config.accounts.ip_requests_per_hour = 100_000;
    TestServer::start_full(backend, config, Arc::new(clock.clone()), |r| r).await
}

pub fn new_key() -> String {
    keygate_core::crypto::SecretBox::generate_key_base64().unwrap()
}

/// What the data set's owner holds after seeding: credentials and tokens to try on the copy.
pub struct Seeded {
    pub totp: TotpSecret,
    pub recovery_codes: Vec<String>,
    pub client_id: String,
    pub client_secret: String,
    pub opaque_client_id: String,
    pub opaque_client_secret: String,
    pub public_client_id: String,
    /// Rotated away: presenting it again is reuse.
    pub rotated_refresh: String,
    pub live_refresh: String,
    pub jwt_access_token: String,
    pub opaque_access_token: String,
    pub pat: String,
    pub kids: BTreeSet<String>,
}

async fn client(server: &TestServer, clock: &ManualClock, metadata: Value) -> (String, Option<String>) {
    let metadata: ClientMetadata = serde_json::from_value(metadata).unwrap();
    let (client, secret) = keygate_core::oauth::create_client(
        server.state.stores.clients.as_ref(),
        &metadata,
        "test",
        &RequestMeta::default(),
        clock.now(),
    )
    .await
    .unwrap();
    (client.id.0, secret.map(|s| s.expose().to_owned()))
}

pub async fn post_form(server: &TestServer, path: &str, basic: (&str, &str), form: &[(&str, &str)]) -> (u16, Value) {
    let response = crate::common::client()
        .post(server.url(path))
        .basic_auth(basic.0, Some(basic.1))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

pub async fn kids(server: &TestServer) -> BTreeSet<String> {
    let jwks: Value = crate::common::client()
        .get(server.url("/oauth2/jwks"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

/// Every record kind: a user with password, TOTP and recovery codes, a session, a reset token,
/// lockout counters, a PAT, three clients, a consent, an unredeemed code, a refresh family with a
/// rotated token, a JWT and an opaque access token, rotated signing keys and the audit trail.
pub async fn seed(server: &TestServer, clock: &ManualClock) -> Seeded {
    let api = Api::new(&server.base);
    assert_eq!(api.register(EMAIL, PASSWORD).await.status, 201);
    let login = api.login(EMAIL, PASSWORD).await;
    assert_eq!(login.status, 200, "{}", login.text);
    let setup = api.post("/api/auth/totp/setup", json!({})).await;
    let secret = TotpSecret::from_base32(setup.json["secret"].as_str().unwrap()).unwrap();
    let enabled = api
        .post(
            "/api/auth/totp/enable",
            json!({ "code": totp::code_at(&secret, clock.now()) }),
        )
        .await;
    assert_eq!(enabled.status, 200, "{}", enabled.text);
    let recovery_codes: Vec<String> = enabled.json["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    let pat = api
        .post(
            "/api/auth/tokens",
            json!({ "name": "ci", "scopes": ["account:read"], "expires_in_days": 30 }),
        )
        .await;
    assert_eq!(pat.status, 201, "{}", pat.text);
    let pat = pat.json["token"].as_str().unwrap().to_owned();
    let other = Api::new(&server.base);
    assert_eq!(
        other
            .post("/api/auth/forgot-password", json!({ "email": EMAIL }))
            .await
            .status,
        202
    );
    assert_eq!(other.login("nobody@example.com", "wrong-password-1").await.status, 401);

    let (client_id, client_secret) = client(
        server,
        clock,
        json!({
            "redirect_uris": [REDIRECT],
            "grant_types": ["authorization_code", "refresh_token", "client_credentials"],
            "scope": "openid profile email offline_access",
        }),
    )
    .await;
    let client_secret = client_secret.unwrap();
    let (opaque_client_id, opaque_client_secret) = client(
        server,
        clock,
        json!({
            "redirect_uris": [REDIRECT],
            "grant_types": ["client_credentials"],
            "scope": "api:read",
            "access_token_format": "opaque",
        }),
    )
    .await;
    let (public_client_id, _) = client(
        server,
        clock,
        json!({ "redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none", "scope": "openid" }),
    )
    .await;
    let user = server
        .state
        .stores
        .users
        .find_user_by_email(&keygate_core::Email::parse(EMAIL).unwrap())
        .await
        .unwrap()
        .unwrap();
    server
        .state
        .stores
        .consents
        .put_consent(
            &Consent {
                user_id: user.id,
                client_id: ClientId(client_id.clone()),
                scope: Scopes::parse("openid offline_access").unwrap(),
                granted_at: clock.now(),
                updated_at: clock.now(),
            },
            &[],
        )
        .await
        .unwrap();
    let code = |scope: &str| CodeGrant {
        client_id: ClientId(client_id.clone()),
        user_id: user.id,
        redirect_uri: REDIRECT.to_owned(),
        scope: Scopes::parse(scope).unwrap(),
        nonce: None,
        code_challenge: None,
        auth_time: clock.now(),
        amr: vec!["pwd".to_owned()],
    };
    let redeemed = server
        .state
        .oauth
        .tokens
        .issue_code(code("openid offline_access"))
        .await
        .unwrap();
    let _unredeemed = server.state.oauth.tokens.issue_code(code("openid")).await.unwrap();
    let basic = (client_id.as_str(), client_secret.as_str());
    let (status, tokens) = post_form(
        server,
        "/oauth2/token",
        basic,
        &[
            ("grant_type", "authorization_code"),
            ("code", redeemed.expose()),
            ("redirect_uri", REDIRECT),
        ],
    )
    .await;
    assert_eq!(status, 200, "{tokens}");
    let rotated_refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let jwt_access_token = tokens["access_token"].as_str().unwrap().to_owned();
    let (status, refreshed) = post_form(
        server,
        "/oauth2/token",
        basic,
        &[("grant_type", "refresh_token"), ("refresh_token", &rotated_refresh)],
    )
    .await;
    assert_eq!(status, 200, "{refreshed}");
    let live_refresh = refreshed["refresh_token"].as_str().unwrap().to_owned();
    let (status, opaque) = post_form(
        server,
        "/oauth2/token",
        (&opaque_client_id, opaque_client_secret.as_deref().unwrap()),
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(status, 200, "{opaque}");
    let rotated = crate::common::client()
        .post(server.url("/admin/keys/rotate"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert!(rotated.status().is_success(), "{}", rotated.status());
    Seeded {
        totp: secret,
        recovery_codes,
        client_id,
        client_secret,
        opaque_client_id,
        opaque_client_secret: opaque_client_secret.unwrap(),
        public_client_id,
        rotated_refresh,
        live_refresh,
        jwt_access_token,
        opaque_access_token: opaque["access_token"].as_str().unwrap().to_owned(),
        pat,
        kids: kids(server).await,
    }
}

/// What a user of the copy notices: the same logins, clients, tokens and keys work.
pub async fn check_copy(server: &TestServer, clock: &ManualClock, seeded: &Seeded) {
    assert_eq!(kids(server).await, seeded.kids, "the JWKS publishes the same keys");
    let api = Api::new(&server.base);
    let code = totp::code_at(&seeded.totp, clock.now());
    let login = api
        .post(
            "/api/auth/login",
            json!({ "email": EMAIL, "password": PASSWORD, "totp": code }),
        )
        .await;
    assert_eq!(login.status, 200, "password + TOTP log in on the copy: {}", login.text);
    let recovery = Api::new(&server.base)
        .post(
            "/api/auth/login",
            json!({ "email": EMAIL, "password": PASSWORD, "totp": seeded.recovery_codes[0] }),
        )
        .await;
    assert_eq!(
        recovery.status, 200,
        "a recovery code works on the copy: {}",
        recovery.text
    );

    let basic = (seeded.client_id.as_str(), seeded.client_secret.as_str());
    let (status, body) = post_form(server, "/oauth2/token", basic, &[("grant_type", "client_credentials")]).await;
    assert_eq!(status, 200, "the client's old secret authenticates: {body}");
    let (status, body) = post_form(
        server,
        "/oauth2/introspect",
        basic,
        &[("token", &seeded.jwt_access_token)],
    )
    .await;
    assert_eq!(
        (status, &body["active"]),
        (200, &json!(true)),
        "a JWT signed before the copy verifies: {body}"
    );
    let opaque_basic = (seeded.opaque_client_id.as_str(), seeded.opaque_client_secret.as_str());
    let (status, body) = post_form(
        server,
        "/oauth2/introspect",
        opaque_basic,
        &[("token", &seeded.opaque_access_token)],
    )
    .await;
    assert_eq!(
        (status, &body["active"]),
        (200, &json!(true)),
        "the opaque token is active: {body}"
    );
    let pat = Api::with_bearer(&server.base, &seeded.pat);
    assert_eq!(pat.get("/api/auth/me").await.status, 200, "the PAT still works");

    let (status, body) = post_form(
        server,
        "/oauth2/token",
        basic,
        &[("grant_type", "refresh_token"), ("refresh_token", &seeded.live_refresh)],
    )
    .await;
    assert_eq!(status, 200, "the live refresh token refreshes: {body}");
    let newest = body["refresh_token"].as_str().unwrap().to_owned();
    let (status, body) = post_form(
        server,
        "/oauth2/token",
        basic,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &seeded.rotated_refresh),
        ],
    )
    .await;
    assert_eq!(
        (status, &body["error"]),
        (400, &json!("invalid_grant")),
        "reuse is detected: {body}"
    );
    let (status, _) = post_form(
        server,
        "/oauth2/token",
        basic,
        &[("grant_type", "refresh_token"), ("refresh_token", &newest)],
    )
    .await;
    assert_eq!(status, 400, "reuse revoked the whole family, as on the source");
}

/// Rows per table, as `keygate stats` reports them.
pub async fn rows(backend: &Backend) -> std::collections::BTreeMap<String, u64> {
    backend
        .stores()
        .maintenance
        .stats(SystemClock.now())
        .await
        .unwrap()
        .rows
}

/// The real binary in `dir` with `KEYGATE_SECRET_KEY=key` (when given).
pub async fn keygate(dir: &Path, key: Option<&str>, args: &[&str]) -> Output {
    let mut command = crate::common::binary::keygate(dir);
    if let Some(key) = key {
        command.env("KEYGATE_SECRET_KEY", key);
    }
    command.args(args);
    tokio::time::timeout(Duration::from_secs(120), command.output())
        .await
        .expect("keygate did not finish within 120 s")
        .unwrap()
}

pub fn ok(output: &Output) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "keygate failed: {}\n{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// The `error: …` lines of a run that must have failed (progress lines left out).
pub fn failed(output: &Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "keygate should have failed: {stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error: ")).collect();
    assert!(!errors.is_empty(), "no error line: {stderr}");
    errors.join("\n")
}
