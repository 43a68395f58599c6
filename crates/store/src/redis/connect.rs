//! Connections to Redis in every shape operators run it: one server (`redis://`, `rediss://`, with
//! ACL user and password in the URL), a master found through Sentinel, or a Cluster.
//!
//! Each shape is a small pool of multiplexed connections used round-robin (`pool_size`). One
//! server uses `ConnectionManager`s, which reconnect by themselves. Sentinel and Cluster
//! connections open on first use and are dropped after an outage-class error, so the next use asks
//! Sentinel for the (perhaps new) master or maps the cluster again.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig, MultiplexedConnection};
use redis::cluster::{ClusterClient, ClusterClientBuilder};
use redis::cluster_async::ClusterConnection;
use redis::sentinel::{SentinelClient, SentinelClientBuilder, SentinelServerType};
use redis::{
    AsyncConnectionConfig, Cmd, IntoConnectionInfo, Pipeline, RedisFuture, RedisResult, TlsCertificates, Value,
};

use super::RedisOptions;

/// Where Redis is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RedisTarget {
    /// One server: `redis://[user:password@]host:port[/db]`, or `rediss://…` for TLS.
    Server(String),
    /// The master that Sentinel names `master`, asked of `sentinels` (Sentinel URLs). The user,
    /// password and TLS of the first Sentinel URL are used for the master too.
    Sentinel { master: String, sentinels: Vec<String> },
    /// A Redis Cluster reached through any of these node URLs.
    Cluster(Vec<String>),
}

/// One connection of any shape; cheap to clone (they are all multiplexed handles).
#[derive(Clone)]
pub(crate) enum Conn {
    Manager(ConnectionManager),
    Multiplexed(MultiplexedConnection),
    Cluster(ClusterConnection),
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Conn::Manager(c) => c.req_packed_command(cmd),
            Conn::Multiplexed(c) => c.req_packed_command(cmd),
            Conn::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Conn::Manager(c) => c.req_packed_commands(pipeline, offset, count),
            Conn::Multiplexed(c) => c.req_packed_commands(pipeline, offset, count),
            Conn::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::Manager(c) => c.get_db(),
            Conn::Multiplexed(c) => c.get_db(),
            Conn::Cluster(c) => c.get_db(),
        }
    }
}

/// The connections of one handle.
pub(crate) struct Pool {
    next: AtomicUsize,
    kind: PoolKind,
}

enum PoolKind {
    Managers(Vec<ConnectionManager>),
    Lazy {
        opener: Box<Opener>,
        slots: Vec<Mutex<Option<Conn>>>,
        /// One opening at a time: after a failover every slot reconnects, one after the other.
        opening: tokio::sync::Mutex<()>,
    },
}

enum Opener {
    Sentinel(tokio::sync::Mutex<SentinelClient>, AsyncConnectionConfig),
    Cluster(ClusterClient),
}

/// Which slot a command used, so an outage can drop that slot's connection.
pub(crate) struct Lease {
    pub(crate) conn: Conn,
    slot: usize,
}

impl Pool {
    /// Prepares the pool; nothing is connected yet. Fails only for unusable settings.
    pub(crate) fn new(target: &RedisTarget, opts: &RedisOptions) -> RedisResult<Pool> {
        let size = opts.pool_size.max(1);
        let certs = opts.ca_pem.as_ref().map(|pem| TlsCertificates {
            client_tls: None,
            root_cert: Some(pem.clone()),
        });
        let kind = match target {
            RedisTarget::Server(url) => {
                let client = match &certs {
                    Some(certs) => redis::Client::build_with_tls(url.as_str(), certs.clone())?,
                    None => redis::Client::open(url.as_str())?,
                };
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(opts.connect_timeout))
                    .set_response_timeout(Some(opts.response_timeout))
                    .set_number_of_retries(opts.retries.max(1) as usize)
                    .set_min_delay(std::time::Duration::from_millis(50))
                    .set_max_delay(std::time::Duration::from_millis(200));
                let managers = (0..size)
                    .map(|_| ConnectionManager::new_lazy_with_config(client.clone(), config.clone()))
                    .collect::<RedisResult<Vec<_>>>()?;
                PoolKind::Managers(managers)
            }
            RedisTarget::Sentinel { master, sentinels } => {
                let client = sentinel_client(master, sentinels, certs.as_ref())?;
                let config = AsyncConnectionConfig::new()
                    .set_connection_timeout(Some(opts.connect_timeout))
                    .set_response_timeout(Some(opts.response_timeout));
                lazy(Opener::Sentinel(tokio::sync::Mutex::new(client), config), size)
            }
            RedisTarget::Cluster(urls) => {
                if urls.is_empty() {
                    return Err(invalid("redis.cluster_urls is empty"));
                }
                let mut builder = ClusterClientBuilder::new(urls.iter().map(String::as_str))
                    .connection_timeout(opts.connect_timeout)
                    .response_timeout(opts.response_timeout)
                    .retries(opts.retries);
                if let Some(certs) = certs {
                    builder = builder.certs(certs);
                }
                lazy(Opener::Cluster(builder.build()?), size)
            }
        };
        Ok(Pool {
            next: AtomicUsize::new(0),
            kind,
        })
    }

    /// A connection for one command (or pipeline), opening it if needed.
    pub(crate) async fn lease(&self) -> RedisResult<Lease> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        match &self.kind {
            PoolKind::Managers(managers) => {
                let slot = n % managers.len();
                Ok(Lease {
                    conn: Conn::Manager(managers[slot].clone()),
                    slot,
                })
            }
            PoolKind::Lazy { opener, slots, opening } => {
                let slot = n % slots.len();
                if let Some(conn) = lock(&slots[slot]).clone() {
                    return Ok(Lease { conn, slot });
                }
                let _one_at_a_time = opening.lock().await;
                if let Some(conn) = lock(&slots[slot]).clone() {
                    return Ok(Lease { conn, slot });
                }
                // Any failure to open (no Sentinel answers, it names no master, the cluster cannot
                // be mapped) is an outage: retried, and the cache rests instead of asking again
                // for every request.
                let conn = opener.open().await.map_err(|e| {
                    redis::RedisError::from(std::io::Error::new(std::io::ErrorKind::NotConnected, e.to_string()))
                })?;
                *lock(&slots[slot]) = Some(conn.clone());
                Ok(Lease { conn, slot })
            }
        }
    }

    /// Forgets the connection of `lease` after an outage: the next use of its slot reconnects
    /// (through Sentinel, to the current master). One server's managers reconnect by themselves.
    pub(crate) fn discard(&self, lease: &Lease) {
        if let PoolKind::Lazy { slots, .. } = &self.kind {
            *lock(&slots[lease.slot]) = None;
        }
    }
}

impl Opener {
    async fn open(&self) -> RedisResult<Conn> {
        match self {
            Opener::Sentinel(client, config) => {
                let master = client.lock().await.async_get_client().await?;
                let conn = master.get_multiplexed_async_connection_with_config(config).await?;
                Ok(Conn::Multiplexed(conn))
            }
            Opener::Cluster(client) => Ok(Conn::Cluster(client.get_async_connection().await?)),
        }
    }
}

/// A Sentinel client: the Sentinels of `sentinels`, and for them and the master they name the
/// user, password and TLS of the first URL; `certs` (from `redis.ca_file`) verify both the
/// Sentinels' and the master's certificates.
fn sentinel_client(master: &str, sentinels: &[String], certs: Option<&TlsCertificates>) -> RedisResult<SentinelClient> {
    let infos = sentinels
        .iter()
        .map(|url| url.as_str().into_connection_info())
        .collect::<RedisResult<Vec<_>>>()?;
    let first = infos.first().ok_or_else(|| invalid("redis.sentinel_urls is empty"))?;
    let mut builder = SentinelClientBuilder::new(
        infos.iter().map(|info| info.addr().clone()),
        master,
        SentinelServerType::Master,
    )?;
    if let redis::ConnectionAddr::TcpTls { insecure, .. } = first.addr() {
        let mode = if *insecure {
            redis::TlsMode::Insecure
        } else {
            redis::TlsMode::Secure
        };
        builder = builder
            .set_client_to_sentinel_tls_mode(mode)
            .set_client_to_redis_tls_mode(mode);
        // Plain Sentinels take no certificates (the builder refuses them).
        if let Some(certs) = certs {
            builder = builder
                .set_client_to_sentinel_certificates(certs.clone())
                .set_client_to_redis_certificates(certs.clone());
        }
    }
    let settings = first.redis_settings();
    if let Some(user) = settings.username() {
        builder = builder
            .set_client_to_sentinel_username(user)
            .set_client_to_redis_username(user);
    }
    if let Some(password) = settings.password() {
        builder = builder
            .set_client_to_sentinel_password(password)
            .set_client_to_redis_password(password);
    }
    if settings.db() != 0 {
        builder = builder.set_client_to_redis_db(settings.db());
    }
    builder.build()
}

fn lazy(opener: Opener, size: usize) -> PoolKind {
    PoolKind::Lazy {
        opener: Box::new(opener),
        slots: (0..size).map(|_| Mutex::new(None)).collect(),
        opening: tokio::sync::Mutex::new(()),
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}

fn invalid(what: &'static str) -> redis::RedisError {
    redis::RedisError::from((redis::ErrorKind::InvalidClientConfig, what))
}
