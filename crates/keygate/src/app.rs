//! Builds the application state from the configuration: the one place that wires stores, clock,
//! mailer, the encryption key, the Argon2 pool and the account service together. `keygate serve`
//! and the test suites' `TestServer` both call [`build_state`].

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use keygate_core::Clock;
use keygate_core::accounts::{Accounts, AccountsDeps};
use keygate_core::crypto::SecretBox;
use keygate_core::mail::Mailer;
use keygate_store::Backend;
use keygate_web::api::AccountsApi;
use keygate_web::health::ReadyCheck;
use keygate_web::{AppState, Metrics, Services};

use crate::config::{BackendKind, Config};
use crate::runtime::background_mail::BackgroundMailer;
use crate::runtime::hashing::HashingPool;

/// The state every request handler shares. Call within a Tokio runtime (it warms up Argon2).
/// With `redis_url` set, the backend's stores get the Redis read-through cache in front
/// ([`keygate_store::layer_redis`]) and `/health/ready` reports Redis as a component. On
/// PostgreSQL, the in-memory cache of clients and access tokens goes in front of everything
/// ([`keygate_store::layer_near`]) unless `database.memory_cache` is off.
pub async fn build_state(
    config: &Config,
    backend: &Backend,
    clock: Arc<dyn Clock>,
    mailer: Arc<dyn Mailer>,
    metrics: Metrics,
) -> anyhow::Result<AppState> {
    let redis = crate::store::open_redis(config).await?;
    crate::telemetry::register(redis.is_some());
    let stores = match &redis {
        Some(handle) => keygate_store::layer_redis(backend.stores(), handle),
        None => backend.stores(),
    };
    let near = if config.database.memory_cache {
        backend.near_cache()
    } else {
        None
    };
    let stores = match near {
        Some(near) => keygate_store::layer_near(stores, &near),
        None => stores,
    };
    let secret_box = Arc::new(secret_box_for(config)?);
    let mailer: Arc<dyn Mailer> = Arc::new(BackgroundMailer::new(mailer));
    let hasher = Arc::new(HashingPool::new(config.password_hashing.limits()).await);
    let issuer = config.issuer.as_str().to_owned();
    let service = Accounts::new(AccountsDeps {
        stores: stores.clone(),
        clock: clock.clone(),
        hasher,
        mailer: mailer.clone(),
        secret_box: secret_box.clone(),
        config: config.accounts.to_accounts_config()?,
        issuer: issuer.clone(),
    });
    let accounts = Arc::new(AccountsApi::new(service, &issuer, config.trusted_proxies.proxies()));
    let oauth_options = config.oauth.to_options(&issuer)?;
    let oauth = crate::runtime::oauth::start(stores.clone(), clock.clone(), secret_box.clone(), oauth_options)
        .await
        .context("cannot load the signing keys")?;
    let services = Services {
        secret_box,
        mailer,
        accounts,
        oauth,
        admin: Arc::new(keygate_web::admin::AdminSettings {
            token: config.admin_token.as_ref().map(|t| t.expose().to_owned()),
        }),
    };
    let state = AppState::new(stores, clock, crate::serve::web_config(config), metrics, services);
    Ok(match redis {
        Some(handle) => state.with_ready_check(ReadyCheck {
            name: "redis",
            // Optional unless `redis.required`: Redis only caches (DESIGN §2). Every piece of
            // security state lives in the durable store, so an instance without Redis serves
            // everything from the database and reports `redis: degraded`.
            required: config.redis.required,
            probe: Arc::new(crate::store::RedisProbe(handle)),
        }),
        None => state,
    })
}

/// The encryption key: `secret_key` when set; otherwise a key kept in `<database>.secret` beside
/// a SQLite file (created with mode 0600 on first start), or a random one for the memory store.
/// PostgreSQL deployments must configure one, since several instances must share it.
pub fn secret_box_for(config: &Config) -> anyhow::Result<SecretBox> {
    if let Some(key) = &config.secret_key {
        return Ok(key.secret_box()?);
    }
    match config.database_url.kind() {
        BackendKind::Memory => {
            let key = SecretBox::generate_key_base64().context("cannot generate an encryption key")?;
            Ok(SecretBox::from_base64(&key)?)
        }
        BackendKind::Sqlite => {
            let path = sqlite_key_path(config.database_url.expose());
            let text = read_or_create_key(&path)?;
            SecretBox::from_base64(&text)
                .with_context(|| format!("the key file {} is not a valid secret_key", path.display()))
        }
        BackendKind::Postgres => anyhow::bail!(
            "secret_key is not set: a PostgreSQL deployment needs KEYGATE_SECRET_KEY (or KEYGATE_SECRET_KEY_FILE), base64 of 32 random bytes such as `openssl rand -base64 32` prints"
        ),
    }
}

/// `sqlite:///var/lib/keygate.db?mode=rwc` -> `/var/lib/keygate.db.secret`.
fn sqlite_key_path(url: &str) -> PathBuf {
    let path = url.trim_start_matches("sqlite:").trim_start_matches("//");
    let path = path.split('?').next().unwrap_or(path);
    PathBuf::from(format!("{path}.secret"))
}

fn read_or_create_key(path: &Path) -> anyhow::Result<String> {
    match std::fs::read_to_string(path) {
        Ok(text) => return Ok(text),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(err) => return Err(err).with_context(|| format!("cannot read the key file {}", path.display())),
    }
    let key = SecretBox::generate_key_base64().context("cannot generate an encryption key")?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(mut file) => {
            file.write_all(format!("{key}\n").as_bytes())
                .and_then(|()| file.sync_all())
                .with_context(|| format!("cannot write the key file {}", path.display()))?;
            tracing::info!(file = %path.display(), "generated the encryption key for secrets at rest");
            Ok(key)
        }
        // Another instance created it first: use theirs.
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
            std::fs::read_to_string(path).with_context(|| format!("cannot read the key file {}", path.display()))
        }
        Err(err) => Err(err).with_context(|| format!("cannot create the key file {}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DatabaseUrl;

    fn config_for(url: &str) -> Config {
        Config {
            database_url: DatabaseUrl::try_from(url.to_owned()).unwrap(),
            ..Config::default()
        }
    }

    #[test]
    fn sqlite_gets_a_private_key_file_that_is_reused() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("kg.db").display());
        let config = config_for(&url);
        secret_box_for(&config).unwrap();
        let file = dir.path().join("kg.db.secret");
        let first = std::fs::read_to_string(&file).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        secret_box_for(&config).unwrap();
        assert_eq!(std::fs::read_to_string(&file).unwrap(), first);
    }

    #[test]
    fn postgres_without_a_key_refuses_with_one_sentence() {
        let err = secret_box_for(&config_for("postgres://kg@db/kg"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("KEYGATE_SECRET_KEY"), "{err}");
        assert!(!err.contains('\n'));
    }

    #[test]
    fn a_configured_key_wins() {
        let mut config = config_for("postgres://kg@db/kg");
        let key = SecretBox::generate_key_base64().unwrap();
        config.secret_key = Some(key.try_into().unwrap());
        assert!(secret_box_for(&config).is_ok());
    }
}
