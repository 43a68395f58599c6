//! A fleet: three real `keygate serve` processes on one fresh PostgreSQL schema and one Redis,
//! each reaching Redis through a proxy the test controls. Every check runs with Redis up, with
//! Redis cut for all of them, and with Redis back; then one instance alone is cut off from Redis
//! and the writes it acknowledges must be seen by the others within a second. Runs when both
//! KEYGATE_TEST_POSTGRES_URL and KEYGATE_TEST_REDIS_URL are set (with CI=true they must be).

use crate::fleet_support;

use std::time::{Duration, Instant};

use fleet_support::*;
use keygate_store::testing;
use reqwest::StatusCode;

const PASSWORD: &str = "violet-harbor-lantern-42";
const NEW_PASSWORD: &str = "amber-quarry-compass-77";
const SECOND: Duration = Duration::from_secs(1);

/// A client created on one instance works on the others.
async fn clients_are_shared(fleet: &[Instance]) -> (String, String) {
    let client = create_client(&fleet[0]).await;
    for on in &fleet[1..] {
        let (status, body) = client_credentials(on, &client).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    client
}

/// Ten wrong passwords spread over the three lock the account on all of them.
async fn lockout_is_shared(fleet: &[Instance], email: &str) {
    register(&fleet[0], email, PASSWORD).await;
    for attempt in 0..10 {
        let status = login(&fleet[attempt % 3], email, "wrong-password-guess").await;
        assert!(
            status == StatusCode::UNAUTHORIZED || (attempt == 9 && status == StatusCode::TOO_MANY_REQUESTS),
            "attempt {attempt}: {status}"
        );
    }
    for on in fleet {
        assert_eq!(
            login(on, email, PASSWORD).await,
            StatusCode::TOO_MANY_REQUESTS,
            "{}",
            on.base
        );
    }
}

/// A token issued on one introspects on another and, revoked on a third, is inactive everywhere
/// within a second.
async fn revocation_is_shared(fleet: &[Instance], client: &(String, String)) {
    let (status, body) = client_credentials(&fleet[0], client).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let token = body["access_token"].as_str().unwrap().to_owned();
    for on in fleet {
        assert!(introspect(on, client, &token).await, "active on {}", on.base);
    }
    revoke(&fleet[2], client, &token).await;
    let took = eventually(SECOND, "revoked everywhere", async || {
        for on in fleet {
            if introspect(on, client, &token).await {
                return false;
            }
        }
        true
    })
    .await;
    eprintln!("revocation seen fleet-wide after {took:?}");
}

/// A key rotated on one appears in every JWKS within about a second (well within the key check
/// interval), and tokens it signs are accepted by the others.
async fn rotation_is_shared(fleet: &[Instance], on: usize, client: &(String, String)) {
    rotate_keys(&fleet[on]).await;
    let rotated = jwks_kids(&fleet[on]).await;
    let within = (2 * SECOND).min(Duration::from_secs(KEY_CHECK_SECS));
    let took = eventually(within, "rotated keys in every JWKS", async || {
        for other in fleet {
            let kids = jwks_kids(other).await;
            if !rotated.iter().all(|k| kids.contains(k)) {
                return false;
            }
        }
        true
    })
    .await;
    eprintln!("rotation seen fleet-wide after {took:?}");
    let (status, body) = client_credentials(&fleet[on], client).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let token = body["access_token"].as_str().unwrap();
    for other in fleet {
        assert!(
            introspect(other, client, token).await,
            "a token of the new key on {}",
            other.base
        );
    }
}

/// A user deactivated (by the CLI, through `redis_url`) can neither log in nor refresh anywhere.
async fn deactivation_is_shared(
    shared: &Shared,
    fleet: &[Instance],
    client: &(String, String),
    email: &str,
    redis_url: &str,
) {
    register(&fleet[0], email, PASSWORD).await;
    let code = authorization_code(&fleet[0], &client.0, email, PASSWORD).await;
    let (status, tokens) = token_form(
        &fleet[1],
        client,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let refresh = tokens["refresh_token"].as_str().expect("a refresh token").to_owned();
    // Every instance has read (and, with Redis, cached) the account.
    for on in fleet {
        assert_eq!(login(on, email, PASSWORD).await, StatusCode::OK, "{}", on.base);
    }

    cli(shared, redis_url, &["user", "deactivate", email]).await;
    let deactivated = Instant::now();
    for on in fleet {
        let status = login(on, email, PASSWORD).await;
        assert!(
            status.is_client_error(),
            "login on {} after deactivation: {status}",
            on.base
        );
    }
    let (status, body) = token_form(
        &fleet[2],
        client,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_grant", "{body}");
    eprintln!(
        "deactivation checked on every instance {:?} after",
        deactivated.elapsed()
    );
}

async fn every_check(shared: &Shared, fleet: &[Instance], phase: &str, cli_redis: &str) {
    let started = Instant::now();
    let client = clients_are_shared(fleet).await;
    lockout_is_shared(fleet, &format!("lock-{phase}@example.com")).await;
    revocation_is_shared(fleet, &client).await;
    rotation_is_shared(fleet, phase.len() % 3, &client).await;
    deactivation_is_shared(shared, fleet, &client, &format!("gone-{phase}@example.com"), cli_redis).await;
    eprintln!("phase {phase}: every check passed in {:?}", started.elapsed());
}

async fn ready_status(on: &Instance) -> (StatusCode, String) {
    let (status, body) = json_of(http().get(on.url("/health/ready")).send().await.unwrap()).await;
    (status, body["status"].as_str().unwrap_or_default().to_owned())
}

/// One instance cut off from Redis while the others keep it: what it acknowledges (a password
/// change, a client deletion) is seen by the others within a second, although their cached
/// entries never heard of it.
async fn a_partitioned_instance_cannot_leave_stale_caches(fleet: &[Instance]) {
    let email = "partition@example.com";
    register(&fleet[0], email, PASSWORD).await;
    let client = clients_are_shared(fleet).await;
    // Warm the cache on the instances that keep Redis.
    for _ in 0..3 {
        for on in &fleet[..2] {
            assert_eq!(login(on, email, PASSWORD).await, StatusCode::OK);
            assert_eq!(client_credentials(on, &client).await.0, StatusCode::OK);
        }
    }

    fleet[2].redis.cut();
    change_password(&fleet[2], email, PASSWORD, NEW_PASSWORD).await;
    assert_eq!(delete_client(&fleet[2], &client.0).await, StatusCode::NO_CONTENT);
    let took = eventually(SECOND, "the cut-off instance's writes seen by the others", async || {
        for on in &fleet[..2] {
            if login(on, email, PASSWORD).await == StatusCode::OK {
                return false;
            }
            if client_credentials(on, &client).await.0 == StatusCode::OK {
                return false;
            }
        }
        true
    })
    .await;
    eprintln!("partitioned writes seen by the others after {took:?}");
    for on in &fleet[..2] {
        assert_eq!(login(on, email, NEW_PASSWORD).await, StatusCode::OK);
    }
    fleet[2].redis.restore();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_share_security_state_with_redis_up_down_and_back() {
    let (Some(pg), Some(redis_url)) = (testing::postgres_test_url(), testing::redis_test_url()) else {
        return;
    };
    let (db_url, _schema) = testing::fresh_postgres_url(&pg).await;
    let prefix = testing::fresh_redis_prefix(&redis_url);
    let shared = Shared {
        db_url,
        redis_prefix: prefix.prefix().to_owned(),
        secret_key: keygate_core::crypto::SecretBox::generate_key_base64().unwrap(),
        dir: tempfile::tempdir().unwrap(),
    };
    let _logs = LogsOnPanic(&shared);
    let redis = redis_addr(&redis_url);
    let started = Instant::now();
    // Started at once on an empty database: one of them creates the signing keys.
    let (a, b, c) = tokio::join!(shared.start(redis, 0), shared.start(redis, 1), shared.start(redis, 2));
    let fleet = [a, b, c];
    eprintln!("three instances listening after {:?}", started.elapsed());
    let first = jwks_kids(&fleet[0]).await;
    assert_eq!(first.len(), 3, "one key per algorithm: {first:?}");
    for on in &fleet[1..] {
        assert_eq!(
            jwks_kids(on).await,
            first,
            "every instance publishes the same first keys"
        );
    }

    every_check(&shared, &fleet, "up", &redis_url).await;

    for on in &fleet {
        on.redis.cut();
    }
    for on in &fleet {
        assert_eq!(ready_status(on).await, (StatusCode::OK, "degraded".to_owned()));
    }
    // The CLI cannot reach Redis either.
    every_check(&shared, &fleet, "down", "redis://127.0.0.1:1").await;

    for on in &fleet {
        on.redis.restore();
    }
    for on in &fleet {
        eventually(Duration::from_secs(5), "ready again", async || {
            ready_status(on).await == (StatusCode::OK, "ok".to_owned())
        })
        .await;
    }
    every_check(&shared, &fleet, "back", &redis_url).await;

    a_partitioned_instance_cannot_leave_stale_caches(&fleet).await;
    eprintln!("fleet test done after {:?}", started.elapsed());
    for on in fleet {
        on.stop().await;
    }
}

/// Prints the instances' logs when the test fails.
struct LogsOnPanic<'a>(&'a Shared);

impl Drop for LogsOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            for n in 0..3 {
                eprintln!("--- instance {n} ---\n{}", self.0.log(n));
            }
        }
    }
}
