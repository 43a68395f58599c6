//! `keygate serve`: open the store, migrate (or check the schema), listen, and shut down gracefully
//! on SIGTERM or SIGINT, letting in-flight requests finish.

use std::future::Future;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use keygate_core::SystemClock;
use keygate_web::{Metrics, WebConfig};
use tokio::net::TcpListener;

use crate::config::Config;
use crate::janitor::{Janitor, JanitorPolicy};
use crate::store::{Schema, chain, open_for};

/// The web layer's settings from the server configuration.
pub fn web_config(config: &Config) -> WebConfig {
    WebConfig {
        issuer: config.issuer.as_str().to_owned(),
        request_timeout: Duration::from_secs(config.http.request_timeout_secs),
        body_limit_bytes: config.http.body_limit_bytes,
        templates_dir: config.templates_dir.clone(),
        metrics_token: config
            .metrics_token
            .as_ref()
            .map(|t| keygate_web::metrics::MetricsToken::new(t.expose())),
        ..WebConfig::default()
    }
}

pub async fn run(config: Config, no_migrate: bool, demo: bool) -> anyhow::Result<()> {
    let metrics = Metrics::install().map_err(anyhow::Error::msg)?;
    metrics.spawn_upkeep(Duration::from_secs(10));

    let schema = if no_migrate { Schema::Check } else { Schema::Migrate };
    let (backend, applied) = open_for(&config, schema).await.map_err(|err| {
        if no_migrate {
            err.context("refusing to start")
        } else {
            err
        }
    })?;
    for migration in &applied {
        tracing::info!(version = migration.version, name = %migration.name, "applied migration");
    }
    tracing::info!(backend = backend.kind(), database = %config.database_url.redacted(), "store ready");

    let mailer = crate::mail::mailer_from_config(&config)?;
    let pool = backend.clone();
    let metrics = metrics.with_sampler(move || pool.record_pool_metrics());
    let state = crate::app::build_state(&config, &backend, Arc::new(SystemClock), mailer, metrics).await?;
    let empty = match crate::demo::has_no_clients(&state.stores).await {
        Ok(empty) => empty,
        Err(err) => {
            tracing::warn!(error = %chain(&err), "cannot tell whether any client is registered");
            false
        }
    };
    let demo = if demo {
        Some(crate::demo::prepare(&state, config.issuer.as_str()).await?)
    } else {
        None
    };
    let shutdown = shutdown_signal()?;
    let listener = TcpListener::bind(config.bind.0)
        .await
        .with_context(|| format!("cannot listen on {}", config.bind.0))?;
    let addr = listener.local_addr().context("cannot read the listening address")?;
    announce(addr)?;
    tracing::info!(%addr, issuer = config.issuer.as_str(), "listening");
    // For people, on stderr: stdout's first line stays `listening on …` for scripts.
    if empty {
        eprintln!("{}", crate::demo::first_start_hint(demo.is_some()));
    }
    if let Some(demo) = &demo {
        eprintln!("{}", crate::demo::describe(demo));
    }
    drop(demo);

    let janitor = Janitor::start(
        state.stores.maintenance.clone(),
        state.clock.clone(),
        JanitorPolicy::from_config(&config),
    );
    let result = serve_until(listener, keygate_web::router(state.clone()), shutdown).await;
    janitor.stop().await;
    // Audit events of the last requests may still be queued: written before the store closes.
    state.oauth.tokens.audit_sink().flush().await;
    backend.close().await;
    result.context("the HTTP server failed")?;
    tracing::info!("stopped");
    Ok(())
}

/// The first line on stdout, which scripts and tests wait for.
fn announce(addr: SocketAddr) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "listening on http://{addr}")
        .and_then(|()| stdout.flush())
        .context("cannot write to stdout")
}

/// Serves `app` until `shutdown` completes, then stops accepting and waits for in-flight requests.
pub async fn serve_until(
    listener: TcpListener,
    app: axum::Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await
}

/// Registers the SIGTERM and SIGINT handlers at once (before `listening on` is printed, so that a
/// signal sent right after it cannot hit the default action and kill the process mid-request), and
/// returns a future that completes on the first of them. A second one while draining exits at once.
fn shutdown_signal() -> anyhow::Result<impl Future<Output = ()> + Send + 'static> {
    let mut signals = Signals::register()?;
    Ok(async move {
        signals.next().await;
        tracing::info!("shutting down: finishing in-flight requests");
        tokio::spawn(async move {
            signals.next().await;
            tracing::warn!("second signal: exiting without waiting");
            std::process::exit(130);
        });
    })
}

#[cfg(unix)]
struct Signals {
    terminate: tokio::signal::unix::Signal,
    interrupt: tokio::signal::unix::Signal,
}

#[cfg(unix)]
impl Signals {
    fn register() -> anyhow::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Signals {
            terminate: signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?,
            interrupt: signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?,
        })
    }

    async fn next(&mut self) {
        tokio::select! {
            _ = self.terminate.recv() => {}
            _ = self.interrupt.recv() => {}
        }
    }
}

#[cfg(not(unix))]
struct Signals;

#[cfg(not(unix))]
impl Signals {
    fn register() -> anyhow::Result<Self> {
        Ok(Signals)
    }

    async fn next(&mut self) {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}
