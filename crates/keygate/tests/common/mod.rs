//! Test harness shared by the HTTP and CLI suites: in-process servers on port 0, a cookie-less
//! HTTP client, the real binary, and the PostgreSQL test URL rule (CI=true and unset = failure).
#![allow(dead_code)]

pub mod proxy;

use std::sync::Arc;
use std::time::Duration;

use keygate::config::Config;
use keygate_core::SystemClock;
use keygate_store::{Backend, SqlOptions};
use keygate_web::{AppState, Metrics};
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
        let metrics = Metrics::install().unwrap();
        let state = AppState::new(
            backend.stores(),
            Arc::new(SystemClock),
            keygate::serve::web_config(&config),
            metrics,
        );
        let app = extend(keygate_web::router(state));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(keygate::serve::serve_until(listener, app, async {
            let _ = rx.await;
        }));
        TestServer {
            base,
            backend,
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
