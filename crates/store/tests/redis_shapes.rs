//! Every shape of Redis operators run, each against a real local topology the test starts (and
//! stops) with Debian's redis-server: TLS with a private CA, an ACL user, a 3-master Cluster, and
//! a master + replica + Sentinel failing over while login- and token-shaped traffic runs, a TLS
//! Sentinel, and a Cluster master failing over to its replica.

#[allow(dead_code)]
#[path = "contract/fixtures.rs"]
mod fixtures;
#[path = "redis_shapes/topology.rs"]
mod topology;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use fixtures::*;
use keygate_core::ManualClock;
use keygate_core::store::Stores;
use keygate_core::{Clock, Timestamp};
use keygate_store::{MemoryStore, RedisHandle, RedisOptions, RedisTarget, layer_redis};
use topology::{Topology, cli, eventually, free_port};

const START: Timestamp = Timestamp::from_unix_seconds(1_735_689_600);

fn options(ca_pem: Option<Vec<u8>>) -> RedisOptions {
    RedisOptions {
        prefix: "kg-shapes:".into(),
        pool_size: 3,
        retries: 2,
        ca_pem,
        ..RedisOptions::default()
    }
}

/// A client cached and invalidated through `redis`: the second read is a hit, a write through the
/// cache is seen by the next read, and no Redis command failed.
async fn cache_round_trip(redis: &RedisHandle) {
    let durable = Stores::from_backend(Arc::new(MemoryStore::new()));
    let s = layer_redis(durable.clone(), redis);
    let clock = ManualClock::new(START);
    let c = new_client(&s, &clock).await;
    assert_eq!(s.clients.get_client(&c.id).await.unwrap(), Some(c.clone()));
    let before = redis.cache_stats().hits;
    assert_eq!(s.clients.get_client(&c.id).await.unwrap(), Some(c.clone()));
    assert_eq!(redis.cache_stats().hits, before + 1, "the second read came from Redis");
    let mut renamed = c.clone();
    renamed.name = "Renamed".into();
    s.clients.update_client(&renamed, &[]).await.unwrap();
    assert_eq!(s.clients.get_client(&c.id).await.unwrap(), Some(renamed));
    assert_eq!(redis.cache_stats().errors, 0, "no Redis command failed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_with_a_private_ca_and_an_acl_user_is_verified_and_authenticated() {
    if !topology::available() {
        return;
    }
    let mut t = Topology::new();
    let (ca, cert, key) = topology::certificates(&t);
    let port = free_port();
    let config = format!(
        "port 0\ntls-port {port}\ntls-cert-file {}\ntls-key-file {}\ntls-ca-cert-file {}\n\
         tls-auth-clients no\nuser default off\nuser keygate on >s3cret-pass ~* +@all",
        cert.display(),
        key.display(),
        ca.display()
    );
    t.start("tls", port, &config, &[]);
    let ca_pem = std::fs::read(&ca).unwrap();

    let good = format!("rediss://keygate:s3cret-pass@localhost:{port}");
    let redis = RedisHandle::open(&good, options(Some(ca_pem.clone()))).unwrap();
    redis
        .ping()
        .await
        .expect("TLS verified against redis.ca_file, ACL user accepted");
    cache_round_trip(&redis).await;

    // The same URL without the CA: the server's certificate is not trusted.
    let untrusted = RedisHandle::open(&good, options(None)).unwrap();
    assert!(
        untrusted.ping().await.is_err(),
        "a certificate from an unknown CA is refused"
    );
    // A wrong password, and the disabled default user, are refused.
    let wrong = format!("rediss://keygate:wrong@localhost:{port}");
    let refused = RedisHandle::open(&wrong, options(Some(ca_pem.clone()))).unwrap();
    assert!(refused.ping().await.is_err(), "a wrong ACL password is refused");
    let anonymous = RedisHandle::open(&format!("rediss://localhost:{port}"), options(Some(ca_pem))).unwrap();
    assert!(anonymous.ping().await.is_err(), "the default user is off");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_three_master_cluster_caches_with_every_operation_in_one_slot() {
    if !topology::available() {
        return;
    }
    let mut t = Topology::new();
    let ports = topology::cluster(&mut t);
    // Only one node named: the others are discovered.
    let target = RedisTarget::Cluster(vec![format!("redis://127.0.0.1:{}", ports[0])]);
    let redis = RedisHandle::open_target(&target, options(None)).unwrap();
    redis.ping().await.expect("the cluster answers");
    for _ in 0..3 {
        cache_round_trip(&redis).await;
    }
    // The cache really wrote into the cluster (on whichever master owns the generation's slot).
    let keys: u64 = ports
        .iter()
        .map(|p| cli(*p, &["DBSIZE"]).parse::<u64>().unwrap_or(0))
        .sum();
    assert!(keys > 0, "cache entries are stored in the cluster");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sentinel_failover_during_logins_and_token_lookups_loses_no_request() {
    if !topology::available() {
        return;
    }
    let mut t = Topology::new();
    let (master, replica, sentinel) = (free_port(), free_port(), free_port());
    t.server("master", master, "");
    t.server("replica", replica, &format!("replicaof 127.0.0.1 {master}"));
    eventually(Duration::from_secs(15), "the replica is in sync", || {
        cli(replica, &["INFO", "replication"]).contains("master_link_status:up")
    });
    let config = format!(
        "port {sentinel}\nsentinel monitor kg 127.0.0.1 {master} 1\n\
         sentinel down-after-milliseconds kg 2000\nsentinel failover-timeout kg 10000"
    );
    t.start("sentinel", sentinel, &config, &["--sentinel"]);
    eventually(Duration::from_secs(20), "Sentinel knows the replica", || {
        cli(sentinel, &["SENTINEL", "REPLICAS", "kg"]).contains(&replica.to_string())
    });

    let target = RedisTarget::Sentinel {
        master: "kg".into(),
        sentinels: vec![format!("redis://127.0.0.1:{sentinel}")],
    };
    let redis = RedisHandle::open_target(&target, options(None)).unwrap();
    redis.ping().await.expect("the master Sentinel names answers");
    let durable = Stores::from_backend(Arc::new(MemoryStore::new()));
    let s = layer_redis(durable, &redis);
    let clock = ManualClock::new(START);
    let user = new_user(&s, &clock).await;
    let c = new_client(&s, &clock).await;
    let (_family, _refresh, access) = new_family(&s, &c.id, Some(user.id), clock.now()).await;

    // Login- and token-shaped traffic: look the account up, open and read a session, look up the
    // client and introspect a token, and now and then count a failed login on the user and read the new count back.
    let stop = Arc::new(AtomicBool::new(false));
    let (done, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let mut workers = Vec::new();
    for w in 0..4 {
        let (s, stop, done, failed) = (s.clone(), stop.clone(), done.clone(), failed.clone());
        let (user, c, access, now) = (user.clone(), c.clone(), access.clone(), clock.now());
        workers.push(tokio::spawn(async move {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let ok = async {
                    let found = s.users.find_user_by_email(&user.email).await.ok()??;
                    let sess = session(found.id, now);
                    s.sessions.create_session(&sess, &[]).await.ok()?;
                    s.sessions.get_session(&sess.digest).await.ok()??;
                    s.clients.get_client(&c.id).await.ok()??;
                    s.tokens.get_access_token(&access.digest).await.ok()??;
                    if w == 0 && n.is_multiple_of(10) {
                        let mut renamed = found.clone();
                        renamed.failed_logins = u32::try_from(n % 1000).unwrap_or(0);
                        s.users.update_user(&renamed, &[]).await.ok()?;
                        let read = s.users.get_user(found.id).await.ok()??;
                        (read.failed_logins == renamed.failed_logins).then_some(())?;
                    }
                    Some(())
                }
                .await;
                if ok.is_some() {
                    done.fetch_add(1, Ordering::Relaxed);
                } else {
                    failed.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let hits_before = redis.cache_stats().hits;
    assert!(hits_before > 0, "the cache serves before the failover");

    let out = cli(sentinel, &["SENTINEL", "FAILOVER", "kg"]);
    assert_eq!(out, "OK", "SENTINEL FAILOVER");
    let replica_port = replica.to_string();
    tokio::task::spawn_blocking(move || {
        eventually(Duration::from_secs(20), "Sentinel names the replica as master", || {
            cli(sentinel, &["SENTINEL", "GET-MASTER-ADDR-BY-NAME", "kg"]).contains(&replica_port)
        });
        eventually(Duration::from_secs(20), "the old replica is master", || {
            cli(replica, &["ROLE"]).starts_with("master")
        });
    })
    .await
    .unwrap();
    let hits_at_switch = redis.cache_stats().hits;
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.await.unwrap();
    }
    let (done, failed) = (done.load(Ordering::Relaxed), failed.load(Ordering::Relaxed));
    eprintln!("{done} rounds, {failed} failed, {:?}", redis.cache_stats());
    assert_eq!(failed, 0, "no login or token lookup failed during the failover");
    assert!(done > 20, "traffic ran: {done} rounds");
    assert!(
        redis.cache_stats().hits > hits_at_switch,
        "after the failover the cache serves again, from the new master"
    );
    assert!(
        cli(replica, &["DBSIZE"]).parse::<u64>().unwrap_or(0) > 0,
        "the new master holds cache entries"
    );
}

#[tokio::test]
async fn an_unreachable_sentinel_or_cluster_is_an_outage_answered_quickly() {
    let targets = [
        RedisTarget::Sentinel {
            master: "kg".into(),
            sentinels: vec!["redis://127.0.0.1:1".into()],
        },
        RedisTarget::Cluster(vec!["redis://127.0.0.1:1".into()]),
    ];
    for target in targets {
        let redis = RedisHandle::open_target(&target, options(None)).unwrap();
        let started = std::time::Instant::now();
        let err = redis.ping().await.expect_err("nothing listens");
        assert!(err.is_unavailable(), "{target:?}: {err:?}");
        assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_sentinel_and_its_master_are_verified_against_the_ca_file() {
    if !topology::available() {
        return;
    }
    let mut t = Topology::new();
    let (ca, cert, key) = topology::certificates(&t);
    let tls = format!(
        "tls-cert-file {}\ntls-key-file {}\ntls-ca-cert-file {}\ntls-auth-clients no\ntls-replication yes",
        cert.display(),
        key.display(),
        ca.display()
    );
    let (master, sentinel) = (free_port(), free_port());
    t.start("tls-master", master, &format!("port 0\ntls-port {master}\n{tls}"), &[]);
    let config = format!(
        "port 0\ntls-port {sentinel}\n{tls}\nsentinel monitor kg 127.0.0.1 {master} 1\n\
         sentinel down-after-milliseconds kg 2000"
    );
    t.start("tls-sentinel", sentinel, &config, &["--sentinel"]);
    let target = RedisTarget::Sentinel {
        master: "kg".into(),
        sentinels: vec![format!("rediss://localhost:{sentinel}")],
    };
    let ca_pem = std::fs::read(&ca).unwrap();
    let redis = RedisHandle::open_target(&target, options(Some(ca_pem))).unwrap();
    let mut ready = false;
    for _ in 0..100 {
        if redis.ping().await.is_ok() {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        ready,
        "the master named by the TLS Sentinel answers, verified against redis.ca_file"
    );
    cache_round_trip(&redis).await;

    let untrusted = RedisHandle::open_target(&target, options(None)).unwrap();
    assert!(
        untrusted.ping().await.is_err(),
        "without the CA the Sentinel is not trusted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_master_failing_over_to_its_replica_loses_no_read_and_needs_no_restart() {
    if !topology::available() {
        return;
    }
    let mut t = Topology::new();
    let ports = topology::cluster_with_replicas(&mut t);
    let target = RedisTarget::Cluster(vec![format!("redis://127.0.0.1:{}", ports[0])]);
    let mut opts = options(None);
    opts.connect_timeout = Duration::from_millis(500);
    opts.response_timeout = Duration::from_millis(500);
    let redis = RedisHandle::open_target(&target, opts).unwrap();
    let durable = Stores::from_backend(Arc::new(MemoryStore::new()));
    let s = layer_redis(durable, &redis);
    let clock = ManualClock::new(START);
    let c = new_client(&s, &clock).await;
    assert_eq!(s.clients.get_client(&c.id).await.unwrap(), Some(c.clone()));

    // The master that holds the cache's keys (its generation's slot) goes away.
    let holder = ports
        .iter()
        .copied()
        .find(|p| cli(*p, &["ROLE"]).starts_with("master") && cli(*p, &["DBSIZE"]).parse::<u64>().unwrap_or(0) > 0)
        .expect("a master holds the cache entries");
    cli(holder, &["SHUTDOWN", "NOSAVE"]);

    // Every read during the failover answers, and answers right (from Redis or the database),
    // each within the configured timeouts.
    let started = std::time::Instant::now();
    let mut rounds = 0;
    let healed = loop {
        let before = std::time::Instant::now();
        let got = s
            .clients
            .get_client(&c.id)
            .await
            .expect("a read never fails while Redis fails over");
        assert_eq!(got, Some(c.clone()));
        assert!(
            before.elapsed() < Duration::from_secs(3),
            "a read waited {:?}",
            before.elapsed()
        );
        rounds += 1;
        let hits = redis.cache_stats().hits;
        let again = s.clients.get_client(&c.id).await.unwrap();
        assert_eq!(again, Some(c.clone()));
        if redis.cache_stats().hits > hits {
            break true;
        }
        if started.elapsed() > Duration::from_secs(30) {
            break false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    // (A new cache generation may land on another master before the replica is promoted.)
    assert!(
        healed,
        "the cache serves hits again without a restart ({rounds} rounds)"
    );
    eventually(
        Duration::from_secs(20),
        "a replica took over the master's slots",
        || {
            let masters = ports
                .iter()
                .filter(|p| **p != holder)
                .filter(|p| cli(**p, &["ROLE"]).starts_with("master"))
                .count();
            masters == 3
                && cli(ports[if holder == ports[0] { 1 } else { 0 }], &["CLUSTER", "INFO"]).contains("cluster_state:ok")
        },
    );
    let errors = redis.cache_stats().errors;
    let hits = redis.cache_stats().hits;
    for _ in 0..20 {
        let got = s
            .clients
            .get_client(&c.id)
            .await
            .expect("reads answer after the failover");
        assert_eq!(got, Some(c.clone()));
    }
    assert_eq!(
        redis.cache_stats().errors,
        errors,
        "no Redis error once the cluster is whole"
    );
    assert!(redis.cache_stats().hits >= hits + 19, "served from the cluster again");

    // Writes through the cache invalidate on the new master too.
    let mut renamed = c.clone();
    renamed.name = "After failover".into();
    s.clients.update_client(&renamed, &[]).await.unwrap();
    assert_eq!(s.clients.get_client(&c.id).await.unwrap(), Some(renamed));
}
