//! The second factor at login: a TOTP code (each time step once) or a single-use recovery code,
//! and the pending state between the pages' password step and code step.

use std::time::Duration;

use crate::crypto::Purpose;
use crate::ids::UserId;
use crate::model::{AuditAction, User};
use crate::secret_token::{SecretKind, SecretToken};
use crate::totp::{self, TotpSecret};

use super::throttle::Attempt;
use super::{AccountError, AccountResult, Accounts, RequestMeta};

/// How long a password step waits for its code.
const PENDING_MFA_TTL: Duration = Duration::from_secs(5 * 60);

fn pending_key(token: &SecretToken) -> String {
    format!("acct:mfa:{}", token.digest().to_hex())
}

impl Accounts {
    pub(super) async fn totp_enabled(&self, user: &User) -> AccountResult<bool> {
        let cred = self.stores().credentials.get_totp(user.id).await?;
        Ok(cred.is_some_and(|c| c.enabled_at.is_some()))
    }

    /// The user's decrypted TOTP secret, if TOTP is on (`enabled`) or being set up.
    pub(super) async fn totp_secret(&self, user: UserId, enabled: bool) -> AccountResult<Option<TotpSecret>> {
        let Some(cred) = self.stores().credentials.get_totp(user).await? else {
            return Ok(None);
        };
        if cred.enabled_at.is_some() != enabled {
            return Ok(None);
        }
        let bytes = self
            .inner
            .secret_box
            .open(Purpose::Totp(user), &cred.secret)
            .map_err(|e| AccountError::Internal(format!("cannot decrypt a TOTP secret: {e}")))?;
        let secret = TotpSecret::from_bytes(bytes.to_vec())
            .map_err(|e| AccountError::Internal(format!("stored TOTP secret unusable: {e}")))?;
        Ok(Some(secret))
    }

    /// Accepts a TOTP code whose step was not used before, or an unused recovery code, counted
    /// against the email's budget before it is checked; anything else counts as a failure and
    /// answers `MfaRequired`.
    pub(super) async fn second_factor(
        &self,
        user: &User,
        email_key: &str,
        code: &str,
        meta: &RequestMeta,
    ) -> AccountResult<Attempt> {
        let attempt = self.reserve_attempt(email_key, meta).await?;
        if self.code_is_valid(user.id, code).await? {
            return Ok(attempt);
        }
        let err = self
            .record_failure(
                Some(&attempt),
                Some(user.id),
                AuditAction::LoginFailed,
                "bad_second_factor",
                meta,
                AccountError::MfaRequired,
            )
            .await?;
        Err(err)
    }

    /// Whether `code` is a fresh TOTP code or an unused recovery code of the user (using it up).
    pub(super) async fn code_is_valid(&self, user: UserId, code: &str) -> AccountResult<bool> {
        let now = self.now();
        if let Some(secret) = self.totp_secret(user, true).await?
            && let Some(step) = totp::verify(&secret, code, now)
        {
            return Ok(self.stores().credentials.use_totp_step(user, step).await?);
        }
        match totp::recovery_code_digest(user, code) {
            Some(digest) => Ok(self.stores().credentials.use_recovery_code(user, &digest, now).await?),
            None => Ok(false),
        }
    }

    pub(super) async fn put_pending_mfa(&self, user: &User) -> AccountResult<SecretToken> {
        let token = SecretToken::generate(SecretKind::Session);
        self.stores()
            .ephemeral
            .put(
                &pending_key(&token),
                user.id.to_string().as_bytes(),
                self.now(),
                PENDING_MFA_TTL,
            )
            .await?;
        Ok(token)
    }

    /// The user a pending login belongs to; `Unauthenticated` when it is unknown or expired.
    pub(super) async fn pending_mfa_user(&self, pending: &str) -> AccountResult<User> {
        let token = SecretToken::parse(SecretKind::Session, pending).map_err(|_| AccountError::Unauthenticated)?;
        let value = self
            .stores()
            .ephemeral
            .get(&pending_key(&token), self.now())
            .await?
            .ok_or(AccountError::Unauthenticated)?;
        let id = std::str::from_utf8(&value)
            .ok()
            .and_then(UserId::parse)
            .ok_or(AccountError::Unauthenticated)?;
        let user = self
            .stores()
            .users
            .get_user(id)
            .await?
            .ok_or(AccountError::Unauthenticated)?;
        if !user.is_active() {
            return Err(AccountError::Unauthenticated);
        }
        Ok(user)
    }

    pub(super) async fn finish_pending_mfa(&self, pending: &str) -> AccountResult<()> {
        if let Ok(token) = SecretToken::parse(SecretKind::Session, pending) {
            self.stores().ephemeral.delete(&pending_key(&token)).await?;
        }
        Ok(())
    }
}
