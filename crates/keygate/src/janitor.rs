//! The janitor: deletes expired codes, sessions, email links, tokens and ephemeral state, and
//! audit events past retention, in batches. `keygate serve` runs it on a schedule;
//! `keygate cleanup` runs [`purge`] once.

use std::sync::Arc;
use std::time::Duration;

use keygate_core::store::{MaintenanceStore, PurgeReport};
use keygate_core::{Clock, StoreError};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::config::Config;

/// What one purge deletes and how.
#[derive(Clone, Copy, Debug)]
pub struct JanitorPolicy {
    pub interval: Duration,
    pub batch_size: u32,
    pub audit_retention: Duration,
}

impl JanitorPolicy {
    pub fn from_config(config: &Config) -> Self {
        JanitorPolicy {
            interval: config.janitor.interval(),
            batch_size: config.janitor.batch_size,
            audit_retention: config.audit.retention(),
        }
    }
}

/// The kinds of record a purge deletes, with their names in tables, JSON and metrics.
pub fn counts(report: &PurgeReport) -> [(&'static str, u64); 7] {
    [
        ("codes", report.codes),
        ("sessions", report.sessions),
        ("email_tokens", report.email_tokens),
        ("refresh_tokens", report.refresh_tokens),
        ("access_tokens", report.access_tokens),
        ("ephemeral", report.ephemeral),
        ("audit_events", report.audit_events),
    ]
}

fn add(total: &mut PurgeReport, round: &PurgeReport) {
    total.codes += round.codes;
    total.sessions += round.sessions;
    total.email_tokens += round.email_tokens;
    total.refresh_tokens += round.refresh_tokens;
    total.access_tokens += round.access_tokens;
    total.ephemeral += round.ephemeral;
    total.audit_events += round.audit_events;
}

/// Purges in batches until a round deletes nothing, yielding between rounds so that requests
/// sharing the store and the runtime are never held up for long. Counts what it deleted in
/// `keygate_janitor_deleted_total{kind}`. On an error, what earlier rounds deleted stays deleted.
pub async fn purge(
    maintenance: &dyn MaintenanceStore,
    clock: &dyn Clock,
    policy: &JanitorPolicy,
) -> Result<PurgeReport, StoreError> {
    let mut total = PurgeReport::default();
    loop {
        let now = clock.now();
        let audit_before = now.minus(policy.audit_retention);
        let round = maintenance
            .purge_expired(now, audit_before, policy.batch_size.max(1))
            .await?;
        for (kind, deleted) in counts(&round) {
            if deleted > 0 {
                metrics::counter!(crate::telemetry::JANITOR_DELETED, "kind" => kind).increment(deleted);
            }
        }
        if round.total() == 0 {
            return Ok(total);
        }
        add(&mut total, &round);
        tokio::task::yield_now().await;
    }
}

/// The janitor running in the background; [`Janitor::stop`] ends it.
pub struct Janitor {
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl Janitor {
    /// Purges every `policy.interval`, the first time one interval after the start. A store error
    /// is a warning, and the next interval tries again.
    pub fn start(maintenance: Arc<dyn MaintenanceStore>, clock: Arc<dyn Clock>, policy: JanitorPolicy) -> Janitor {
        let (stop, mut stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let start = tokio::time::Instant::now() + policy.interval;
            let mut ticks = tokio::time::interval_at(start, policy.interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = &mut stopped => return,
                    _ = ticks.tick() => run_once(maintenance.as_ref(), clock.as_ref(), &policy).await,
                }
            }
        });
        Janitor { stop, task }
    }

    /// Stops after the purge under way, if any, and waits for that.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        if let Err(err) = self.task.await {
            tracing::warn!(error = %err, "the janitor task ended abnormally");
        }
    }
}

async fn run_once(maintenance: &dyn MaintenanceStore, clock: &dyn Clock, policy: &JanitorPolicy) {
    match purge(maintenance, clock, policy).await {
        Ok(report) if report.total() > 0 => tracing::info!(
            codes = report.codes,
            sessions = report.sessions,
            email_tokens = report.email_tokens,
            refresh_tokens = report.refresh_tokens,
            access_tokens = report.access_tokens,
            ephemeral = report.ephemeral,
            audit_events = report.audit_events,
            "janitor deleted {} expired records",
            report.total()
        ),
        Ok(_) => tracing::debug!("janitor found nothing to delete"),
        Err(err) => tracing::warn!(
            error = %crate::store::chain(&err),
            "janitor could not purge expired records; trying again next interval"
        ),
    }
}
