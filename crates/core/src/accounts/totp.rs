//! Turning TOTP on and off: a secret is set up (encrypted at rest), enabled only after a valid
//! code, with ten single-use recovery codes shown once; disabling needs the password.

use crate::crypto::Purpose;
use crate::model::{AuditAction, Outcome, TotpCredential, User};
use crate::totp;

use super::{AccountError, AccountResult, Accounts, RequestMeta};

/// What the user types into (or scans with) an authenticator app. Holds the secret: never log it.
pub struct TotpSetup {
    /// Base32, no padding.
    pub secret: String,
    pub otpauth_uri: String,
}

impl std::fmt::Debug for TotpSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSetup(<redacted>)")
    }
}

impl Accounts {
    /// A new secret for the user, stored (encrypted, not yet enabled) until a code confirms it.
    /// Calling it again replaces a pending secret; with TOTP on it is a conflict.
    pub async fn totp_setup(&self, user: &User) -> AccountResult<TotpSetup> {
        if self.totp_enabled(user).await? {
            return Err(AccountError::Conflict("TOTP is already enabled"));
        }
        let secret = totp::generate_secret();
        let sealed = self
            .inner
            .secret_box
            .seal(Purpose::Totp(user.id), secret.as_bytes())
            .map_err(|e| AccountError::Internal(e.to_string()))?;
        let cred = TotpCredential {
            user_id: user.id,
            secret: sealed,
            enabled_at: None,
            last_used_step: None,
            created_at: self.now(),
        };
        self.stores().credentials.put_totp(&cred, &[]).await?;
        let label = issuer_label(self.issuer());
        let otpauth_uri = totp::otpauth_uri(&secret, &label, user.email.as_str())
            .map_err(|e| AccountError::Internal(e.to_string()))?;
        Ok(TotpSetup {
            secret: secret.to_base32(),
            otpauth_uri,
        })
    }

    /// Enables TOTP with a valid code for the pending secret; returns the recovery codes (shown once).
    pub async fn totp_enable(&self, user: &User, code: &str, meta: &RequestMeta) -> AccountResult<Vec<String>> {
        if self.totp_enabled(user).await? {
            return Err(AccountError::Conflict("TOTP is already enabled"));
        }
        let Some(secret) = self.totp_secret(user.id, false).await? else {
            return Err(AccountError::Conflict("set TOTP up first"));
        };
        let now = self.now();
        let step =
            totp::verify(&secret, code, now).ok_or_else(|| AccountError::invalid("code", "is not a valid code"))?;
        let Some(mut cred) = self.stores().credentials.get_totp(user.id).await? else {
            return Err(AccountError::Conflict("set TOTP up first"));
        };
        cred.enabled_at = Some(now);
        cred.last_used_step = Some(step);
        let codes = totp::generate_recovery_codes();
        let digests: Vec<_> = codes
            .iter()
            .filter_map(|c| totp::recovery_code_digest(user.id, c))
            .collect();
        self.stores()
            .credentials
            .replace_recovery_codes(user.id, &digests, now, &[])
            .await?;
        let event = self.user_event(AuditAction::TotpEnabled, user.id, Outcome::Success, meta);
        self.stores().credentials.put_totp(&cred, &[event]).await?;
        Ok(codes)
    }

    /// Turns TOTP off (with its recovery codes) after checking the password.
    pub async fn totp_disable(&self, user: &User, password: &str, meta: &RequestMeta) -> AccountResult<()> {
        self.confirm_password(user, password, meta).await?;
        let event = self.user_event(AuditAction::TotpDisabled, user.id, Outcome::Success, meta);
        if !self.stores().credentials.delete_totp(user.id, &[event]).await? {
            return Err(AccountError::Conflict("TOTP is not enabled"));
        }
        Ok(())
    }

    /// Whether the user has TOTP on, and how many recovery codes are left.
    pub async fn totp_status(&self, user: &User) -> AccountResult<(bool, u32)> {
        if !self.totp_enabled(user).await? {
            return Ok((false, 0));
        }
        let left = self.stores().credentials.count_unused_recovery_codes(user.id).await?;
        Ok((true, left))
    }
}

/// The name an authenticator app shows: the issuer's host (`id.example.com`).
fn issuer_label(issuer: &str) -> String {
    let rest = issuer.split_once("://").map_or(issuer, |(_, r)| r);
    let host = rest.split(['/', ':']).next().unwrap_or(rest);
    if host.is_empty() {
        "Keygate".to_owned()
    } else {
        host.to_owned()
    }
}
