//! The fleet test's harness: three real `keygate serve` processes on one
//! fresh PostgreSQL schema, each reaching the one Redis through its own proxy the test can cut,
//! plus the HTTP steps the checks are made of.
#![allow(dead_code)]

use crate::common::binary::listening_base;
use std::net::ToSocketAddrs;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest::header::LOCATION;
use serde_json::{Value, json};
use tokio::process::Child;

use crate::common::binary::keygate;
use crate::common::proxy::CuttableProxy;

/// One issuer for the whole fleet, as behind a load balancer.
pub const ISSUER: &str = "http://keygate.fleet.test";
pub const ADMIN: &str = "fleet-admin-token-0123456789-abcdefghijklmnop";
pub const REDIRECT: &str = "https://app.example/cb";
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
/// How often each instance runs its full key check. Rotations by another instance must show
/// within about a second anyway (each instance looks for changed keys every second), so the
/// fleet test keeps the default interval and asserts the second.
pub const KEY_CHECK_SECS: u64 = 60;

/// What every process of the fleet (servers and CLI runs) shares.
pub struct Shared {
    pub db_url: String,
    pub redis_prefix: String,
    pub secret_key: String,
    pub dir: tempfile::TempDir,
}

pub struct Instance {
    pub base: String,
    pub redis: CuttableProxy,
    child: Child,
}

impl Shared {
    /// The environment of a fleet process whose Redis is at `redis_url`.
    pub fn command(&self, redis_url: &str) -> tokio::process::Command {
        let mut command = keygate(self.dir.path());
        command
            .env("KEYGATE_DATABASE_URL", &self.db_url)
            .env("KEYGATE_REDIS_URL", redis_url)
            .env("KEYGATE_REDIS__PREFIX", &self.redis_prefix)
            .env("KEYGATE_SECRET_KEY", &self.secret_key)
            .env("KEYGATE_ADMIN_TOKEN", ADMIN)
            .env("KEYGATE_ISSUER", ISSUER)
            .env("KEYGATE_BIND", "127.0.0.1:0")
            .env("KEYGATE_ACCOUNTS__REQUIRE_VERIFIED_EMAIL", "false")
            .env("KEYGATE_OAUTH__KEY_CHECK_INTERVAL_SECS", KEY_CHECK_SECS.to_string())
            .env("KEYGATE_MAIL_OUTBOX", self.dir.path().join("outbox"))
            .env("RUST_LOG", "warn");
        command
    }

    /// Starts `keygate serve` with its own proxy to `redis`; returns once it listens.
    pub async fn start(&self, redis: std::net::SocketAddr, n: usize) -> Instance {
        let proxy = CuttableProxy::start(redis).await;
        let log = std::fs::File::create(self.dir.path().join(format!("instance-{n}.log"))).unwrap();
        let mut child = self
            .command(&format!("redis://{}", proxy.addr))
            .arg("serve")
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap();
        let base = listening_base(&mut child, || self.log(n)).await;
        Instance {
            base,
            redis: proxy,
            child,
        }
    }

    pub fn log(&self, n: usize) -> String {
        std::fs::read_to_string(self.dir.path().join(format!("instance-{n}.log"))).unwrap_or_default()
    }
}

impl Instance {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn stop(mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }
}

pub fn redis_addr(url: &str) -> std::net::SocketAddr {
    let parsed = url::Url::parse(url).unwrap();
    (parsed.host_str().unwrap(), parsed.port().unwrap_or(6379))
        .to_socket_addrs()
        .unwrap()
        .next()
        .unwrap()
}

pub fn http() -> reqwest::Client {
    crate::common::client()
}

pub async fn json_of(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// A confidential client created through `on`'s admin API: (id, secret).
pub async fn create_client(on: &Instance) -> (String, String) {
    let metadata = json!({
        "client_name": "Fleet app", "redirect_uris": [REDIRECT],
        "grant_types": ["authorization_code", "refresh_token", "client_credentials"],
        "scope": "openid email offline_access api:read",
    });
    let response = http()
        .post(on.url("/admin/clients"))
        .bearer_auth(ADMIN)
        .json(&metadata)
        .send()
        .await
        .unwrap();
    let (status, body) = json_of(response).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    (
        body["client_id"].as_str().unwrap().to_owned(),
        body["client_secret"].as_str().unwrap().to_owned(),
    )
}

pub async fn delete_client(on: &Instance, id: &str) -> StatusCode {
    http()
        .delete(on.url(&format!("/admin/clients/{id}")))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap()
        .status()
}

pub async fn token_form(on: &Instance, client: &(String, String), form: &[(&str, &str)]) -> (StatusCode, Value) {
    let response = http()
        .post(on.url("/oauth2/token"))
        .basic_auth(&client.0, Some(&client.1))
        .form(form)
        .send()
        .await
        .unwrap();
    json_of(response).await
}

pub async fn client_credentials(on: &Instance, client: &(String, String)) -> (StatusCode, Value) {
    token_form(on, client, &[("grant_type", "client_credentials")]).await
}

pub async fn introspect(on: &Instance, client: &(String, String), token: &str) -> bool {
    let response = http()
        .post(on.url("/oauth2/introspect"))
        .basic_auth(&client.0, Some(&client.1))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    let (status, body) = json_of(response).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["active"].as_bool().unwrap()
}

pub async fn revoke(on: &Instance, client: &(String, String), token: &str) {
    let response = http()
        .post(on.url("/oauth2/revoke"))
        .basic_auth(&client.0, Some(&client.1))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

pub async fn register(on: &Instance, email: &str, password: &str) {
    let response = http()
        .post(on.url("/api/auth/register"))
        .json(&json!({ "email": email, "password": password, "password_confirmation": password }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
}

pub async fn login(on: &Instance, email: &str, password: &str) -> StatusCode {
    http()
        .post(on.url("/api/auth/login"))
        .json(&json!({ "email": email, "password": password }))
        .send()
        .await
        .unwrap()
        .status()
}

/// Logs in on `on` and changes the password there (the session's own endpoint).
pub async fn change_password(on: &Instance, email: &str, old: &str, new: &str) {
    let response = http()
        .post(on.url("/api/auth/login"))
        .json(&json!({ "email": email, "password": old }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let cookie = session_cookie(&response);
    let response = http()
        .post(on.url("/api/auth/change-password"))
        .header("cookie", cookie)
        .json(&json!({ "current_password": old, "new_password": new }))
        .send()
        .await
        .unwrap();
    let status = response.status();
    assert!(status.is_success(), "{status}: {}", response.text().await.unwrap());
}

fn session_cookie(response: &reqwest::Response) -> String {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("keygate_session="))
        .map(|v| v.split(';').next().unwrap().to_owned())
        .expect("a session cookie")
}

/// The kids `on` publishes.
pub async fn jwks_kids(on: &Instance) -> Vec<String> {
    let (status, body) = json_of(http().get(on.url("/oauth2/jwks")).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mut kids: Vec<String> = body["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect();
    kids.sort();
    kids
}

pub async fn rotate_keys(on: &Instance) {
    let response = http()
        .post(on.url("/admin/keys/rotate"))
        .bearer_auth(ADMIN)
        .json(&json!({ "immediately": true }))
        .send()
        .await
        .unwrap();
    let (status, body) = json_of(response).await;
    assert!(status.is_success(), "{status}: {body}");
}

/// Retries `check` until it holds or `within` has passed; returns how long it took.
pub async fn eventually(within: Duration, what: &str, mut check: impl AsyncFnMut() -> bool) -> Duration {
    let started = Instant::now();
    loop {
        if check().await {
            return started.elapsed();
        }
        assert!(started.elapsed() < within, "not within {within:?}: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A browser stand-in: signs in on `on`'s pages, consents, and returns an authorization code.
pub async fn authorization_code(on: &Instance, client_id: &str, email: &str, password: &str) -> String {
    let browser = reqwest::Client::builder()
        .no_proxy()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("scope", "openid offline_access")
        .append_pair("state", "fleet")
        .append_pair("code_challenge", CHALLENGE)
        .append_pair("code_challenge_method", "S256")
        .finish();
    let absolute = |url: &str| {
        if url.starts_with('/') {
            on.url(url)
        } else {
            url.to_owned()
        }
    };
    let location = |r: &reqwest::Response| -> String {
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "from {}", r.url());
        r.headers()[LOCATION].to_str().unwrap().to_owned()
    };
    let get = async |url: &str| browser.get(absolute(url)).send().await.unwrap();
    let post = async |url: &str, form: &[(&str, &str)]| {
        browser
            .post(absolute(url))
            .header("origin", ISSUER)
            .form(form)
            .send()
            .await
            .unwrap()
    };
    let login = location(&get(&format!("/oauth2/authorize?{query}")).await);
    let return_to = param(&login, "return_to");
    let page = get(&login).await.text().await.unwrap();
    let csrf = hidden(&page, "csrf_token");
    let form = [
        ("csrf_token", csrf.as_str()),
        ("email", email),
        ("password", password),
        ("return_to", return_to.as_str()),
    ];
    let mut next = location(&post("/login", &form).await);
    while next.starts_with("/oauth2/") {
        next = location(&get(&next).await);
    }
    if next.starts_with("/consent") {
        let page = get(&next).await.text().await.unwrap();
        let csrf = hidden(&page, "csrf_token");
        let id = hidden(&page, "consent_id");
        let form = [
            ("csrf_token", csrf.as_str()),
            ("consent_id", id.as_str()),
            ("action", "allow"),
        ];
        next = location(&post("/consent", &form).await);
    }
    assert!(next.starts_with(REDIRECT), "{next}");
    param(&next, "code")
}

fn param(url: &str, name: &str) -> String {
    let query = url.split_once('?').unwrap().1;
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("no {name} in {url}"))
}

fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).unwrap_or_else(|| panic!("no {name} in the page")) + marker.len();
    let end = html[start..].find('"').unwrap() + start;
    html[start..end].replace("&#x2f;", "/").replace("&amp;", "&")
}

/// Runs a `keygate` command of the fleet (e.g. `user deactivate`) through `redis_url`.
pub async fn cli(shared: &Shared, redis_url: &str, args: &[&str]) {
    let output = crate::common::binary::run(shared.command(redis_url).args(args)).await;
    assert!(
        output.status.success(),
        "keygate {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

pub fn dir_path(shared: &Shared) -> &Path {
    shared.dir.path()
}
