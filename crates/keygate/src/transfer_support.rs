//! What copy-storage, export, import and backup share: opening SQL databases by URL (refusing
//! `memory:`), finding the secret key a database's sealed values use, and file names.

use std::path::{Path, PathBuf};

use anyhow::Context;
use keygate_core::crypto::SecretBox;
use keygate_store::{SqlOptions, SqlStore};

use crate::config::{BackendKind, Config, DatabaseUrl};
use crate::store::chain;

/// Whether [`open_sql`] may create a SQLite file (a target) or must find it (a source).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Source,
    Target,
}

/// How long one statement of copy-storage, export, import, backup or stats may take.
const TRANSFER_QUERY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// Opens a SQLite or PostgreSQL database; `memory:` is refused with one sentence, and so is a
/// SQLite source file that does not exist (rather than creating an empty one).
pub async fn open_sql(config: &Config, url: &str, role: &str, kind: Role) -> anyhow::Result<SqlStore> {
    let parsed = DatabaseUrl::try_from(url.to_owned()).map_err(|e| anyhow::anyhow!("the {role} URL {e}"))?;
    if parsed.kind() == BackendKind::Memory {
        anyhow::bail!(
            "memory: cannot be the {role}: the memory store lives inside a running server process, so only sqlite:// and postgres:// databases can be copied, exported or imported"
        );
    }
    if parsed.kind() == BackendKind::Sqlite && kind == Role::Source {
        let path = sqlite_path(url);
        if !path.exists() {
            anyhow::bail!("the {role} database {} does not exist", path.display());
        }
    }
    let options = SqlOptions {
        max_connections: 2,
        acquire_timeout: config.database.acquire_timeout(),
        busy_timeout: config.database.busy_timeout(),
        // A copy's statements are long by nature (a snapshot read that waits on the writer, the
        // commit of a million-row transaction, VACUUM INTO): the request-sized limit of a server
        // would abort them. An operator stops a stuck copy with Ctrl-C.
        query_timeout: TRANSFER_QUERY_TIMEOUT,
        ..SqlOptions::default()
    };
    SqlStore::connect(url, &options)
        .await
        .map_err(|e| anyhow::anyhow!("cannot open the {role} database {} ({})", parsed.redacted(), chain(&e)))
}

/// The key the server would use for the database at `url` (configured `secret_key`, or the
/// SQLite key file beside the database).
pub fn key_for(config: &Config, url: &str) -> anyhow::Result<SecretBox> {
    let mut config = config.clone();
    config.database_url = DatabaseUrl::try_from(url.to_owned()).map_err(|e| anyhow::anyhow!("the URL {e}"))?;
    crate::app::secret_box_for(&config)
}

/// The file of a `sqlite://PATH?…` URL.
fn sqlite_path(url: &str) -> PathBuf {
    let path = url.trim_start_matches("sqlite:").trim_start_matches("//");
    PathBuf::from(path.split('?').next().unwrap_or(path))
}

/// The key the data of the source at `url` is sealed with: `--source-secret-key-file`, else as
/// the server finds it. A SQLite source with neither `secret_key` nor its `.secret` file is an
/// error (rather than a new key file created beside it).
pub fn source_key(config: &Config, url: &str, file: Option<&Path>) -> anyhow::Result<SecretBox> {
    if let Some(path) = file {
        return key_from_file(path);
    }
    if config.secret_key.is_none() && url.starts_with("sqlite:") {
        let mut key_file = sqlite_path(url).into_os_string();
        key_file.push(".secret");
        if !Path::new(&key_file).exists() {
            anyhow::bail!(
                "secret_key is not set and the source has no key file {}: pass --source-secret-key-file with the key its data was sealed with",
                Path::new(&key_file).display()
            );
        }
    }
    key_for(config, url)
}

/// A secret key from a file (base64 of 32 bytes, as `secret_key` takes it).
pub fn key_from_file(path: &Path) -> anyhow::Result<SecretBox> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read the key file {}", path.display()))?;
    SecretBox::from_base64(&text).with_context(|| format!("the key file {} does not hold a secret_key", path.display()))
}

/// Whether the file name asks for gzip.
pub fn is_gzip(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "gz")
}

/// Where a file is written before it is renamed into place, so an interrupted run never leaves
/// a file with the final name.
pub fn partial_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    path.with_file_name(name)
}

/// `2026-12-01T23:00:00Z`.
pub fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}

pub fn now_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}
