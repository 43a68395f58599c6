//! Test harness shared by the HTTP and CLI suites: in-process servers on port 0, a cookie-less
//! HTTP client, the real binary, and the PostgreSQL test URL rule (CI=true and unset = failure).
#![allow(dead_code)]

pub mod mail;
#[macro_use]
pub mod accounts;
pub mod binary;
pub mod mailbox;
#[macro_use]
pub mod oauth;
pub mod pages;
pub mod proxy;

use std::sync::Arc;
use std::time::Duration;

use keygate::config::Config;
use keygate_core::{Clock, SystemClock};
use keygate_store::{Backend, SqlOptions};
use keygate_web::{AppState, Metrics};
use mailbox::Mailbox;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A client that keeps no cookies, follows no redirects and ignores proxy variables.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// The PostgreSQL server for tests, or None to skip; with CI=true a missing URL fails the test.
pub fn postgres_url() -> Option<String> {
    match std::env::var("KEYGATE_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("CI=true but KEYGATE_TEST_POSTGRES_URL is unset: the PostgreSQL tests must run in CI")
        }
        _ => {
            eprintln!("skipping: KEYGATE_TEST_POSTGRES_URL is unset");
            None
        }
    }
}

/// A real router on 127.0.0.1:0 over `backend`, served by the same function `keygate serve` uses.
pub struct TestServer {
    pub base: String,
    pub backend: Backend,
    /// Every email the server sent.
    pub mailbox: Arc<Mailbox>,
    /// The state the router serves (stores, clock, account service).
    pub state: AppState,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl TestServer {
    pub async fn start(backend: Backend) -> Self {
        Self::start_with(backend, Config::default(), |router| router).await
    }

    /// `extend` may add test-only routes (e.g. a slow one) next to the real ones.
    pub async fn start_with(
        backend: Backend,
        config: Config,
        extend: impl FnOnce(axum::Router) -> axum::Router,
    ) -> Self {
        Self::start_full(backend, config, Arc::new(SystemClock), extend).await
    }

    /// With a clock of the test's choosing (a `ManualClock` to move time). A config without a
    /// `secret_key` gets a random one.
    pub async fn start_full(
        backend: Backend,
        mut config: Config,
        clock: Arc<dyn Clock>,
        extend: impl FnOnce(axum::Router) -> axum::Router,
    ) -> Self {
        let metrics = Metrics::install().unwrap();
        if config.secret_key.is_none() {
            let key = keygate_core::crypto::SecretBox::generate_key_base64().unwrap();
            config.secret_key = Some(key.try_into().unwrap());
        }
        let mailbox = Arc::new(Mailbox::default());
        let state = keygate::app::build_state(&config, &backend, clock, mailbox.clone(), metrics)
            .await
            .unwrap();
        let app = extend(keygate_web::router(state.clone()));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(keygate::serve::serve_until(listener, app, async {
            let _ = rx.await;
        }));
        TestServer {
            base,
            backend,
            mailbox,
            state,
            shutdown: Some(tx),
            task,
        }
    }

    /// Wired as `keygate serve` wires it: the issuer is the server's own address (so emailed
    /// links and a browser's `Origin` point at it) and email goes through the mailer the
    /// configuration selects (set `mail_outbox` to a temporary folder). `mailbox` stays empty.
    pub async fn start_as_configured(backend: Backend, mut config: Config) -> Self {
        let metrics = Metrics::install().unwrap();
        if config.secret_key.is_none() {
            let key = keygate_core::crypto::SecretBox::generate_key_base64().unwrap();
            config.secret_key = Some(key.try_into().unwrap());
        }
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        config.issuer = base.clone().try_into().unwrap();
        let mailer = keygate::mail::mailer_from_config(&config).unwrap();
        let state = keygate::app::build_state(&config, &backend, Arc::new(SystemClock), mailer, metrics)
            .await
            .unwrap();
        let app = keygate_web::router(state.clone());
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(keygate::serve::serve_until(listener, app, async {
            let _ = rx.await;
        }));
        TestServer {
            base,
            backend,
            mailbox: Arc::new(Mailbox::default()),
            state,
            shutdown: Some(tx),
            task,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Starts a graceful shutdown; `finished` waits for it.
    pub fn begin_shutdown(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }

    pub async fn finished(self) -> std::io::Result<()> {
        let result = tokio::time::timeout(Duration::from_secs(30), self.task)
            .await
            .expect("server did not stop");
        self.backend.close().await;
        result.unwrap()
    }

    pub async fn stop(mut self) {
        self.begin_shutdown();
        self.finished().await.unwrap();
    }
}

pub async fn memory_backend() -> Backend {
    Backend::connect("memory:", &SqlOptions::default()).await.unwrap()
}

/// A migrated SQLite store in a new file inside `dir`.
pub async fn sqlite_backend(dir: &tempfile::TempDir) -> Backend {
    let url = format!("sqlite://{}", dir.path().join("keygate.db").display());
    let backend = Backend::connect(&url, &SqlOptions::default()).await.unwrap();
    backend.migrate_up().await.unwrap();
    backend
}
