//! Opens the durable store named by the configuration, and the Redis that caches hot lookups for
//! every instance when Redis is configured (it holds no state of its own: DESIGN §2).

use async_trait::async_trait;
use keygate_core::StoreError;
use keygate_core::error::StoreResult;
use keygate_store::redis::{RedisHandle, RedisOptions, RedisTarget};
use keygate_store::{Backend, MigrationStatus, SqlOptions};
use keygate_web::health::ReadinessProbe;

use crate::config::Config;

/// Connects to `database_url`; the error names the (redacted) URL and the cause.
pub async fn open(config: &Config) -> anyhow::Result<Backend> {
    let options = SqlOptions {
        max_connections: config.database.max_connections,
        acquire_timeout: config.database.acquire_timeout(),
        busy_timeout: config.database.busy_timeout(),
        query_timeout: config.database.query_timeout(),
        min_connections: config.database.min_connections,
        idle_timeout: config.database.idle_timeout(),
        max_lifetime: config.database.max_lifetime(),
    };
    let backend = Backend::connect(config.database_url.expose(), &options)
        .await
        .map_err(|err| {
            anyhow::anyhow!(
                "cannot open the database {} ({})",
                config.database_url.redacted(),
                chain(&err)
            )
        })?;
    if let Backend::Memory(memory) = &backend {
        memory.set_audit_cap(usize::try_from(config.audit.memory_max_events).unwrap_or(usize::MAX));
    }
    Ok(backend)
}

/// What a command does with the schema once the store is open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Schema {
    /// Applies pending migrations (every command that writes, and `serve` by default).
    Migrate,
    /// Refuses an old schema without changing it (`serve --no-migrate`, `user`).
    Check,
}

/// The start of every command and of `serve`: the store of `database_url` opened and its schema
/// migrated (returning the migrations applied) or checked. A failure closes the store again.
pub async fn open_for(config: &Config, schema: Schema) -> anyhow::Result<(Backend, Vec<MigrationStatus>)> {
    let backend = open(config).await?;
    let prepared = match schema {
        Schema::Migrate => backend
            .migrate_up()
            .await
            .map_err(|err| anyhow::anyhow!("cannot migrate the database ({})", chain(&err))),
        Schema::Check => backend
            .check_schema()
            .await
            .map(|()| Vec::new())
            .map_err(|err| match err {
                StoreError::Corrupt(reason) => anyhow::anyhow!("{reason}"),
                other => anyhow::anyhow!("cannot check the database schema ({})", chain(&other)),
            }),
    };
    match prepared {
        Ok(applied) => Ok((backend, applied)),
        Err(err) => {
            backend.close().await;
            Err(err)
        }
    }
}

/// The Redis the configuration names (`redis_url`, Sentinel or Cluster), or None. Connections
/// open lazily, so the server starts while Redis is down (and serves from the database until it
/// is back); a first ping that fails is only a warning. An unusable setting (a bad URL, an
/// unreadable `redis.ca_file`) is an error naming it.
pub async fn open_redis(config: &Config) -> anyhow::Result<Option<RedisHandle>> {
    let Some((target, shown)) = redis_target(config) else {
        return Ok(None);
    };
    let ca_pem = match &config.redis.ca_file {
        Some(path) => Some(
            std::fs::read(path)
                .map_err(|err| anyhow::anyhow!("cannot read redis.ca_file `{}` ({err})", path.display()))?,
        ),
        None => None,
    };
    let settings = &config.redis;
    let options = RedisOptions {
        prefix: settings.prefix.clone(),
        connect_timeout: settings.connect_timeout(),
        response_timeout: settings.response_timeout(),
        pool_size: settings.pool_size,
        retries: settings.retries,
        ca_pem,
        ..RedisOptions::default()
    };
    let handle = RedisHandle::open_target(&target, options)
        .map_err(|err| anyhow::anyhow!("cannot use the Redis setting {shown} ({})", chain(&err)))?;
    match handle.ping().await {
        Ok(()) => tracing::info!(redis = %shown, prefix = %handle.prefix(), "Redis ready"),
        Err(err) => tracing::warn!(
            redis = %shown,
            error = %chain(&err),
            "Redis does not answer yet: serving from the database until it does"
        ),
    }
    Ok(Some(handle))
}

/// Which Redis the configuration names, and how to name that setting (passwords redacted).
fn redis_target(config: &Config) -> Option<(RedisTarget, String)> {
    let settings = &config.redis;
    if !settings.cluster_urls.0.is_empty() {
        let shown = format!("redis.cluster_urls {:?}", settings.cluster_urls.0);
        return Some((RedisTarget::Cluster(settings.cluster_urls.expose()), shown));
    }
    if let Some(master) = &settings.sentinel_master {
        let shown = format!(
            "redis.sentinel_master `{master}` (redis.sentinel_urls {:?})",
            settings.sentinel_urls.0
        );
        let target = RedisTarget::Sentinel {
            master: master.clone(),
            sentinels: settings.sentinel_urls.expose(),
        };
        return Some((target, shown));
    }
    let url = config.redis_url.as_ref()?;
    Some((
        RedisTarget::Server(url.expose().to_owned()),
        format!("redis_url {url:?}"),
    ))
}

/// `/health/ready`'s view of Redis.
pub struct RedisProbe(pub RedisHandle);

#[async_trait]
impl ReadinessProbe for RedisProbe {
    async fn ping(&self) -> StoreResult<()> {
        self.0.ping().await
    }
}

/// An error with its causes on one line.
pub fn chain(err: &StoreError) -> String {
    keygate_web::error::cause_chain(err)
}

/// The stores a CLI command works on: behind the Redis cache when `redis_url` is set, so that a
/// change made while servers run (a deactivated user, a deleted client) reaches their cached
/// copies at once instead of after the cache's lifetime.
pub async fn command_stores(config: &Config, backend: &Backend) -> anyhow::Result<keygate_core::store::Stores> {
    let stores = backend.stores();
    Ok(match open_redis(config).await? {
        Some(handle) => keygate_store::layer_redis(stores, &handle),
        None => stores,
    })
}
