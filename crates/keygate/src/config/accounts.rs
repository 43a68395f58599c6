//! Configuration of accounts (`[accounts]`), the Argon2 pool (`[password_hashing]`), the
//! encryption key for secrets at rest (`secret_key`) and the trusted proxy list (`trusted_proxies`).

use std::time::Duration;

use crate::runtime::hashing::{HashingLimits, default_concurrency};
use base64::Engine;
use keygate_core::accounts::AccountsConfig;
use keygate_core::crypto::SecretBox;
use keygate_core::password::PasswordPolicy;
use keygate_web::api::TrustedProxies;
use serde::{Deserialize, Serialize, Serializer};

use super::ConfigError;
use super::types::Secret;

/// The AES-256-GCM key for TOTP secrets and private signing keys: base64 of 32 bytes. Checked when
/// read, always printed as `<redacted>`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct SecretKey(Secret);

impl SecretKey {
    pub fn expose(&self) -> &str {
        self.0.expose()
    }

    pub fn secret_box(&self) -> Result<SecretBox, ConfigError> {
        SecretBox::from_base64(self.expose()).map_err(|e| ConfigError::new(format!("secret_key: {e}")))
    }
}

/// Fewest distinct byte values a key may hold: 32 random bytes hold about 30, so fewer than 16
/// means a made-up key (all zeros, a repeated pattern), not a random one.
pub const SECRET_KEY_MIN_DISTINCT_BYTES: usize = 16;

/// The key's bytes, decoded as `SecretBox::from_base64` decodes them (any base64 alphabet).
fn key_bytes(text: &str) -> zeroize::Zeroizing<Vec<u8>> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
        .iter()
        .find_map(|engine| engine.decode(text.trim()).ok())
        .map(zeroize::Zeroizing::new)
        .unwrap_or_default()
}

impl TryFrom<String> for SecretKey {
    type Error = String;
    fn try_from(value: String) -> Result<Self, String> {
        SecretBox::from_base64(&value).map_err(|e| e.to_string())?;
        let bytes = key_bytes(&value);
        let distinct = bytes.iter().collect::<std::collections::BTreeSet<_>>().len();
        if distinct < SECRET_KEY_MIN_DISTINCT_BYTES {
            return Err(format!(
                "is not random: its {} bytes take only {distinct} of the 256 possible values (a random key takes about 30; at least {SECRET_KEY_MIN_DISTINCT_BYTES} are needed); generate one with `openssl rand -base64 32`",
                bytes.len()
            ));
        }
        Ok(SecretKey(Secret::new(value)))
    }
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

impl Serialize for SecretKey {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

/// Proxies whose `X-Forwarded-For` is believed: a TOML list, or one comma-separated string (as an
/// environment variable gives it). Each entry is an IP address or a CIDR network.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "ProxyList", into = "Vec<String>")]
pub struct TrustedProxyList(Vec<String>);

#[derive(Deserialize)]
#[serde(untagged)]
enum ProxyList {
    List(Vec<String>),
    Text(String),
}

impl TryFrom<ProxyList> for TrustedProxyList {
    type Error = String;
    fn try_from(value: ProxyList) -> Result<Self, String> {
        let entries: Vec<String> = match value {
            ProxyList::List(list) => list,
            ProxyList::Text(text) => text.split(',').map(str::to_owned).collect(),
        };
        let entries: Vec<String> = entries
            .into_iter()
            .map(|e| e.trim().to_owned())
            .filter(|e| !e.is_empty())
            .collect();
        TrustedProxies::parse(&entries).map_err(|e| e.to_string())?;
        Ok(TrustedProxyList(entries))
    }
}

impl From<TrustedProxyList> for Vec<String> {
    fn from(list: TrustedProxyList) -> Vec<String> {
        list.0
    }
}

impl TrustedProxyList {
    pub fn proxies(&self) -> TrustedProxies {
        // Checked when read; an empty list on the impossible failure trusts nobody.
        TrustedProxies::parse(&self.0).unwrap_or_default()
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AccountsSettings {
    /// Logging in needs a verified email address.
    pub require_verified_email: bool,
    pub session_idle_timeout_secs: u64,
    pub session_absolute_timeout_secs: u64,
    pub verify_token_ttl_secs: u64,
    pub reset_token_ttl_secs: u64,
    /// Consecutive failures that lock an email address.
    pub lockout_threshold: u32,
    pub lockout_duration_secs: u64,
    /// Failures per IP address and hour before its attempts are refused.
    pub ip_failures_per_hour: u32,
    /// Base of the progressive delay after repeated failures.
    pub failure_delay_ms: u64,
    /// Verification, reset and notice emails per address and hour.
    pub emails_per_address_per_hour: u32,
    /// Registrations, reset requests and resends per IP address and hour.
    pub ip_requests_per_hour: u32,
    pub password_min_chars: usize,
    pub password_max_chars: usize,
}

impl Default for AccountsSettings {
    fn default() -> Self {
        let d = AccountsConfig::default();
        AccountsSettings {
            require_verified_email: d.require_verified_email,
            session_idle_timeout_secs: d.session_idle.as_secs(),
            session_absolute_timeout_secs: d.session_absolute.as_secs(),
            verify_token_ttl_secs: d.verify_token_ttl.as_secs(),
            reset_token_ttl_secs: d.reset_token_ttl.as_secs(),
            lockout_threshold: d.lockout_threshold,
            lockout_duration_secs: d.lockout_duration.as_secs(),
            ip_failures_per_hour: d.ip_failures_per_hour,
            failure_delay_ms: d.failure_delay.as_millis() as u64,
            emails_per_address_per_hour: d.emails_per_address_per_hour,
            ip_requests_per_hour: d.ip_requests_per_hour,
            password_min_chars: d.password_policy.min_chars(),
            password_max_chars: d.password_policy.max_chars(),
        }
    }
}

impl AccountsSettings {
    /// The service's configuration; fails with one sentence on an impossible combination.
    pub fn to_accounts_config(&self) -> Result<AccountsConfig, ConfigError> {
        let policy = PasswordPolicy::new(self.password_min_chars, self.password_max_chars)
            .map_err(|e| ConfigError::new(format!("accounts.password_min_chars/password_max_chars: {e}")))?;
        let positive = [
            ("accounts.session_idle_timeout_secs", self.session_idle_timeout_secs),
            (
                "accounts.session_absolute_timeout_secs",
                self.session_absolute_timeout_secs,
            ),
            ("accounts.verify_token_ttl_secs", self.verify_token_ttl_secs),
            ("accounts.reset_token_ttl_secs", self.reset_token_ttl_secs),
            ("accounts.lockout_duration_secs", self.lockout_duration_secs),
            ("accounts.lockout_threshold", u64::from(self.lockout_threshold)),
            ("accounts.ip_failures_per_hour", u64::from(self.ip_failures_per_hour)),
            (
                "accounts.emails_per_address_per_hour",
                u64::from(self.emails_per_address_per_hour),
            ),
            ("accounts.ip_requests_per_hour", u64::from(self.ip_requests_per_hour)),
        ];
        if let Some((key, _)) = positive.iter().find(|(_, v)| *v == 0) {
            return Err(ConfigError::new(format!("{key} must be at least 1")));
        }
        Ok(AccountsConfig {
            require_verified_email: self.require_verified_email,
            session_idle: Duration::from_secs(self.session_idle_timeout_secs),
            session_absolute: Duration::from_secs(self.session_absolute_timeout_secs),
            verify_token_ttl: Duration::from_secs(self.verify_token_ttl_secs),
            reset_token_ttl: Duration::from_secs(self.reset_token_ttl_secs),
            lockout_threshold: self.lockout_threshold,
            lockout_duration: Duration::from_secs(self.lockout_duration_secs),
            ip_failures_per_hour: self.ip_failures_per_hour,
            failure_delay: Duration::from_millis(self.failure_delay_ms),
            emails_per_address_per_hour: self.emails_per_address_per_hour,
            ip_requests_per_hour: self.ip_requests_per_hour,
            password_policy: policy,
        })
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PasswordHashingSettings {
    /// Hashes at once; 0 means the number of cores.
    pub max_concurrent: usize,
    /// Requests waiting for a hashing slot before more are refused with 503.
    pub max_waiting: usize,
    /// Longest wait for a hashing slot before 503.
    pub wait_timeout_ms: u64,
}

impl Default for PasswordHashingSettings {
    fn default() -> Self {
        let d = HashingLimits::default();
        PasswordHashingSettings {
            max_concurrent: 0,
            max_waiting: d.max_waiting,
            wait_timeout_ms: d.wait_timeout.as_millis() as u64,
        }
    }
}

impl PasswordHashingSettings {
    pub fn limits(&self) -> HashingLimits {
        HashingLimits {
            max_concurrent: if self.max_concurrent == 0 {
                default_concurrency()
            } else {
                self.max_concurrent
            },
            max_waiting: self.max_waiting,
            wait_timeout: Duration::from_millis(self.wait_timeout_ms.max(1)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_lists_read_from_text_or_list() {
        let text: TrustedProxyList = serde_json::from_str("\"10.0.0.1, 192.168.0.0/16\"").unwrap();
        assert_eq!(text.0, vec!["10.0.0.1", "192.168.0.0/16"]);
        let list: TrustedProxyList = serde_json::from_str("[\"::1\"]").unwrap();
        assert!(list.proxies().trusts("::1".parse().unwrap()));
        assert!(serde_json::from_str::<TrustedProxyList>("\"nonsense\"").is_err());
    }

    #[test]
    fn a_secret_key_is_checked_and_never_printed() {
        let key = SecretBox::generate_key_base64().unwrap();
        let parsed = SecretKey::try_from(key.clone()).unwrap();
        assert!(!format!("{parsed:?}").contains(&key));
        assert!(!serde_json::to_string(&parsed).unwrap().contains(&key));
        assert!(
            SecretKey::try_from("c2hvcnQ=".to_owned())
                .unwrap_err()
                .contains("32 bytes")
        );
    }

    #[test]
    fn a_secret_key_without_entropy_is_refused_with_one_sentence() {
        use base64::engine::general_purpose::STANDARD;
        for weak in [
            [0u8; 32].to_vec(),
            [7u8; 32].to_vec(),
            (0..32).map(|i| i % 15).collect::<Vec<u8>>(),
        ] {
            let err = SecretKey::try_from(STANDARD.encode(&weak)).unwrap_err();
            assert!(err.starts_with("is not random: its 32 bytes take only"), "{err}");
            assert!(!err.contains('\n'));
        }
        let sixteen: Vec<u8> = (0..32).map(|i| i % 16).collect();
        assert!(SecretKey::try_from(STANDARD.encode(&sixteen)).is_ok());
    }

    #[test]
    fn the_defaults_make_the_designed_service() {
        assert_eq!(
            AccountsSettings::default().to_accounts_config().unwrap(),
            AccountsConfig::default()
        );
    }
}
