//! Harness for the account API suites: a server per test on the chosen backend with a
//! `ManualClock` and a capturing mailbox, an API client that keeps the session cookie by hand
//! (so tests can read, plant and drop it), and the `backend_tests!` macro that runs each case on
//! memory, SQLite and PostgreSQL.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use keygate::config::Config;
use keygate_core::{Clock, ManualClock, SystemClock};
use keygate_store::testing::{self, TestDbGuard};
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

use super::TestServer;

#[derive(Clone, Copy, Debug)]
pub enum Kind {
    Memory,
    Sqlite,
    Postgres,
}

/// One test's server, clock and database.
pub struct Env {
    pub server: TestServer,
    pub clock: ManualClock,
    _db: TestDbGuard,
}

/// A password every policy accepts and no breached list holds.
pub const PASSWORD: &str = "violet-harbor-lantern-42";

impl Env {
    /// A server with default configuration; None when PostgreSQL is not configured (skipped).
    pub async fn start(kind: Kind) -> Option<Env> {
        Self::start_with(kind, Config::default()).await
    }

    pub async fn start_with(kind: Kind, config: Config) -> Option<Env> {
        let (backend, db) = match kind {
            Kind::Memory => testing::memory_backend(),
            Kind::Sqlite => testing::sqlite_backend().await,
            Kind::Postgres => testing::postgres_backend(&testing::postgres_test_url()?).await,
        };
        let clock = ManualClock::new(SystemClock.now());
        let server = TestServer::start_full(backend, config, Arc::new(clock.clone()), |r| r).await;
        Some(Env { server, clock, _db: db })
    }

    /// A client without a session.
    pub fn client(&self) -> Api {
        Api::new(&self.server.base)
    }

    /// Registers `email` with [`PASSWORD`] and verifies it through the emailed link.
    pub async fn verified_user(&self, email: &str) {
        let api = self.client();
        let r = api.register(email, PASSWORD).await;
        assert_eq!(r.status, 201, "{}", r.text);
        let sent = self.server.mailbox.to(email).len();
        let token = self.mailed_token(email, sent.max(1), "/verify-email?token=").await;
        let r = api.get(&format!("/api/auth/verify-email/{token}")).await;
        assert_eq!(r.status, 200, "{}", r.text);
    }

    /// A client logged in as a new verified user.
    pub async fn logged_in(&self, email: &str) -> Api {
        self.verified_user(email).await;
        let api = self.client();
        let r = api.login(email, PASSWORD).await;
        assert_eq!(r.status, 200, "{}", r.text);
        api
    }

    /// The token of the link (`{issuer}{path}TOKEN`) in message number `count` to `email`.
    pub async fn mailed_token(&self, email: &str, count: usize, path: &str) -> String {
        let messages = self.server.mailbox.wait_for(email, count).await;
        let text = &messages[count - 1].text;
        let start = text.find(path).unwrap_or_else(|| panic!("no {path} link in {text:?}"));
        let before = &text[..start];
        assert!(
            before.ends_with("http://127.0.0.1:8080"),
            "the link must start with the issuer: {text}"
        );
        text[start + path.len()..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    }

    pub fn advance(&self, d: Duration) {
        self.clock.advance(d);
    }
}

/// An answer: status, headers and the body (as JSON when it is JSON).
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
    pub json: Value,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
    }

    pub fn problem_type(&self) -> String {
        self.json["type"].as_str().unwrap_or_default().to_owned()
    }
}

/// The account API, with a hand-kept session cookie and an optional bearer token.
pub struct Api {
    base: String,
    http: reqwest::Client,
    cookie: Mutex<Option<String>>,
    bearer: Option<String>,
}

impl Api {
    pub fn new(base: &str) -> Self {
        Api {
            base: base.to_owned(),
            http: super::client(),
            cookie: Mutex::new(None),
            bearer: None,
        }
    }

    pub fn with_bearer(base: &str, token: &str) -> Self {
        Api {
            bearer: Some(token.to_owned()),
            ..Api::new(base)
        }
    }

    /// The session cookie as `name=value`.
    pub fn cookie(&self) -> Option<String> {
        self.cookie.lock().unwrap().clone()
    }

    pub fn set_cookie(&self, cookie: Option<String>) {
        *self.cookie.lock().unwrap() = cookie;
    }

    pub async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Resp {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(cookie) = self.cookie() {
            request = request.header("cookie", cookie);
        }
        if let Some(token) = &self.bearer {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        self.finish(request).await
    }

    pub async fn finish(&self, request: reqwest::RequestBuilder) -> Resp {
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        for set in headers.get_all("set-cookie") {
            let set = set.to_str().unwrap();
            let pair = set.split(';').next().unwrap().trim().to_owned();
            if set.contains("Max-Age=0") {
                self.set_cookie(None);
            } else if pair.contains("keygate_session=") {
                self.set_cookie(Some(pair));
            }
        }
        let text = response.text().await.unwrap();
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp {
            status,
            headers,
            text,
            json,
        }
    }

    /// A raw request builder for unusual requests (other content types, Origin headers).
    pub fn raw(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(cookie) = self.cookie() {
            request = request.header("cookie", cookie);
        }
        request
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.send(reqwest::Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Resp {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Resp {
        self.send(reqwest::Method::DELETE, path, None).await
    }

    pub async fn register(&self, email: &str, password: &str) -> Resp {
        self.post(
            "/api/auth/register",
            json!({ "email": email, "password": password, "password_confirmation": password }),
        )
        .await
    }

    pub async fn login(&self, email: &str, password: &str) -> Resp {
        self.post("/api/auth/login", json!({ "email": email, "password": password }))
            .await
    }
}

/// Runs each named `async fn name(kind: Kind)` of the test file on memory, SQLite and PostgreSQL.
#[allow(unused_macros)]
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        mod memory {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(crate::common::accounts::Kind::Memory).await })*
        }
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(crate::common::accounts::Kind::Sqlite).await })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(crate::common::accounts::Kind::Postgres).await })*
        }
    };
}
