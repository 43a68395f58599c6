//! PostgreSQL in production shape against the local server: TLS with `sslmode=verify-full` against
//! a CA that .ci/run installs (KEYGATE_TEST_POSTGRES_CA), `statement_timeout` enforced by the
//! server, and the pool options (kept-open connections, connection lifetime).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use keygate_core::Timestamp;
use keygate_core::model::Client;
use keygate_store::testing::{fresh_postgres_url, postgres_test_url};
use keygate_store::{SqlOptions, SqlStore};

const NOW: Timestamp = Timestamp::from_unix_seconds(1_735_689_600);
const CA_VAR: &str = "KEYGATE_TEST_POSTGRES_CA";
const CA_DEFAULT: &str = "/var/lib/postgresql/keygate-tls/ca.pem";

/// The CA that signed the local server's certificate; None (a note) outside CI when it is missing.
fn server_ca() -> Option<PathBuf> {
    let path = PathBuf::from(std::env::var(CA_VAR).unwrap_or_else(|_| CA_DEFAULT.to_owned()));
    if path.is_file() {
        return Some(path);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{} is missing but CI=true: .ci/run installs PostgreSQL's test certificate",
        path.display()
    );
    eprintln!(
        "note: no PostgreSQL test CA at {}; skipping the TLS test (run .ci/run)",
        path.display()
    );
    None
}

fn with_params(url: &str, params: &[(&str, &str)]) -> String {
    let mut url = url::Url::parse(url).unwrap();
    for (k, v) in params {
        url.query_pairs_mut().append_pair(k, v);
    }
    url.to_string()
}

fn client(id: &str) -> Client {
    keygate_store::testing::public_client(id, NOW)
}

#[tokio::test]
async fn verify_full_tls_trusts_only_the_configured_ca() {
    let Some(base) = postgres_test_url() else { return };
    let Some(ca) = server_ca() else { return };
    let (url, _schema) = fresh_postgres_url(&base).await;
    let ca_text = ca.display().to_string();

    for host in ["localhost", "127.0.0.1"] {
        let mut tls = url::Url::parse(&url).unwrap();
        tls.set_host(Some(host)).unwrap();
        let tls = with_params(tls.as_str(), &[("sslmode", "verify-full"), ("sslrootcert", &ca_text)]);
        let store = SqlStore::connect(&tls, &SqlOptions::default())
            .await
            .unwrap_or_else(|e| panic!("verify-full to {host}: {e:?}"));
        let encrypted: bool = sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            .fetch_one(store.pool())
            .await
            .unwrap();
        assert!(encrypted, "the connection to {host} is TLS");
        store.migrate_up().await.unwrap();
        let stores = keygate_store::Backend::Sql(std::sync::Arc::new(store)).stores();
        let c = client(&format!("tls-{host}"));
        stores.clients.create_client(&c, &[]).await.unwrap();
        assert_eq!(stores.clients.get_client(&c.id).await.unwrap(), Some(c));
    }

    // Another CA (made here) does not vouch for the server: the connection is refused.
    let dir = tempfile::tempdir().unwrap();
    let status = std::process::Command::new("openssl")
        .current_dir(dir.path())
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ])
        .args([
            "-days",
            "1",
            "-subj",
            "/CN=other",
            "-keyout",
            "k.pem",
            "-out",
            "other.pem",
        ])
        .output()
        .unwrap();
    assert!(status.status.success());
    let other = dir.path().join("other.pem").display().to_string();
    let wrong = with_params(&url, &[("sslmode", "verify-full"), ("sslrootcert", &other)]);
    let opts = SqlOptions {
        acquire_timeout: Duration::from_secs(3),
        ..SqlOptions::default()
    };
    assert!(
        SqlStore::connect(&wrong, &opts).await.is_err(),
        "an unknown CA is refused"
    );
}

#[tokio::test]
async fn statement_timeout_and_pool_options_reach_the_server() {
    let Some(base) = postgres_test_url() else { return };
    let (url, _schema) = fresh_postgres_url(&base).await;
    let opts = SqlOptions {
        max_connections: 4,
        min_connections: 3,
        query_timeout: Duration::from_secs(1),
        max_lifetime: Some(Duration::from_millis(800)),
        ..SqlOptions::default()
    };
    let store = SqlStore::connect(&url, &opts).await.unwrap();
    let pool = store.pool();

    let timeout: String = sqlx::query_scalar("SHOW statement_timeout")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(timeout, "1s");
    // The server itself cancels a statement past the limit.
    let started = Instant::now();
    let err = sqlx::query("SELECT pg_sleep(3)").execute(pool).await.unwrap_err();
    assert!(err.to_string().contains("statement timeout"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(3));

    // min_connections are opened and kept (this schema's connections carry its name).
    let app: String = sqlx::query_scalar("SELECT current_setting('application_name')")
        .fetch_one(pool)
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let open: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = '{app}'"
        )))
        .fetch_one(pool)
        .await
        .unwrap();
        if open >= 3 {
            break;
        }
        assert!(Instant::now() < deadline, "only {open} connections kept open");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Past max_lifetime a connection is replaced: a later query runs on a new server process.
    let first: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(pool)
        .await
        .unwrap();
    let mut pids = vec![first];
    tokio::time::sleep(Duration::from_millis(1200)).await;
    for _ in 0..8 {
        pids.push(
            sqlx::query_scalar("SELECT pg_backend_pid()")
                .fetch_one(pool)
                .await
                .unwrap(),
        );
    }
    // sqlx retires an expired connection when it is released (or when its reaper passes), not
    // when it is handed out: the first query after expiry may still run on it, none after that.
    assert!(
        pids[2..].iter().all(|p| *p != first),
        "the old connection was retired: {pids:?}"
    );
}
