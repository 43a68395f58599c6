//! Password reset by email and password change. Both end the user's sessions (a change keeps the
//! current one, under a new secret) and revoke every refresh token, in one store transaction.

use zeroize::Zeroizing;

use crate::email::Email;
use crate::model::{AuditAction, EmailTokenKind, Outcome, User};
use crate::secret_token::{SecretKind, SecretToken};

use super::throttle::email_key;
use super::{AccountError, AccountResult, Accounts, RequestMeta, SessionAuth, emails};

impl Accounts {
    /// Mails a reset link if the address has an active account. Answers the same whatever the
    /// address; at most `emails_per_address_per_hour` links go out.
    pub async fn forgot_password(&self, email: &str, meta: &RequestMeta) -> AccountResult<()> {
        self.count_ip_request(meta).await?;
        let Ok(email) = Email::parse(email) else {
            return Ok(());
        };
        let Some(user) = self.stores().users.find_user_by_email(&email).await? else {
            return Ok(());
        };
        if !user.is_active() || !self.may_email(&email_key(&email.normalized())).await? {
            return Ok(());
        }
        let token = SecretToken::generate(SecretKind::PasswordReset);
        let ttl = self.config().reset_token_ttl;
        let event = self.user_event(AuditAction::PasswordResetRequested, user.id, Outcome::Success, meta);
        self.issue_token(&user, &token, EmailTokenKind::Reset, ttl, &[event])
            .await?;
        self.send(emails::reset(&user.email, self.issuer(), token.expose(), ttl))
            .await;
        Ok(())
    }

    /// Sets a new password with a reset token (single use, newest only, unexpired), ends every
    /// session and refresh token of the user, and lifts a lockout of the address.
    pub async fn reset_password(&self, token: &str, new_password: &str, meta: &RequestMeta) -> AccountResult<()> {
        self.check_locks(None, meta).await?;
        let parsed = SecretToken::parse(SecretKind::PasswordReset, token);
        let Ok(parsed) = parsed else {
            return Err(self.invalid_reset_token(meta).await?);
        };
        self.config().password_policy.check(new_password)?;
        // Hash before using the token up, so a busy hashing pool does not burn the link.
        let hash = self.inner.hasher.hash(Zeroizing::new(new_password.to_owned())).await?;
        let consumed = self
            .stores()
            .email_tokens
            .consume_email_token(&parsed.digest(), EmailTokenKind::Reset, self.now(), &[])
            .await?;
        let Some(record) = consumed else {
            return Err(self.invalid_reset_token(meta).await?);
        };
        let user = self
            .stores()
            .users
            .get_user(record.user_id)
            .await?
            .filter(User::is_active)
            .ok_or(AccountError::InvalidToken)?;
        let event = self.user_event(AuditAction::PasswordReset, user.id, Outcome::Success, meta);
        self.stores()
            .users
            .set_password(user.id, &hash, None, self.now(), &[event])
            .await?;
        // The link proved the mailbox: the address counts as verified now.
        if user.email_verified_at.is_none()
            && let Some(mut fresh) = self.stores().users.get_user(user.id).await?
        {
            fresh.email_verified_at = Some(self.now());
            fresh.updated_at = self.now();
            self.stores().users.update_user(&fresh, &[]).await?;
        }
        self.unlock(&email_key(&user.email.normalized())).await?;
        Ok(())
    }

    async fn invalid_reset_token(&self, meta: &RequestMeta) -> AccountResult<AccountError> {
        self.record_failure(
            None,
            None,
            AuditAction::PasswordReset,
            "invalid_token",
            meta,
            AccountError::InvalidToken,
        )
        .await
    }

    /// Checks the account's current password under the lockout rules (for a change, TOTP off,
    /// erasure): a wrong one counts as a failure and answers `WrongPassword`.
    pub(super) async fn confirm_password(&self, user: &User, password: &str, meta: &RequestMeta) -> AccountResult<()> {
        let key = email_key(&user.email.normalized());
        let attempt = self.reserve_attempt(&key, meta).await?;
        let password = Zeroizing::new(password.to_owned());
        let matched = match user.password_hash.clone() {
            Some(stored) if password.len() <= 4096 => self.inner.hasher.verify(password, stored).await?,
            _ => self.inner.hasher.dummy_verify(password).await?,
        };
        if matched {
            return self.confirm_attempt(&attempt, meta).await;
        }
        let err = self
            .record_failure(
                Some(&attempt),
                Some(user.id),
                AuditAction::LoginFailed,
                "wrong_current_password",
                meta,
                AccountError::WrongPassword,
            )
            .await?;
        Err(err)
    }

    /// Changes the password of the session's user: ends every other session and every refresh
    /// token; this session stays, under the returned new cookie secret.
    pub async fn change_password(
        &self,
        auth: &SessionAuth,
        current: &str,
        new_password: &str,
        meta: &RequestMeta,
    ) -> AccountResult<SecretToken> {
        self.confirm_password(&auth.user, current, meta).await?;
        self.config().password_policy.check(new_password)?;
        let hash = self.inner.hasher.hash(Zeroizing::new(new_password.to_owned())).await?;
        let old = auth.token.digest();
        let event = self.user_event(AuditAction::PasswordChanged, auth.user.id, Outcome::Success, meta);
        self.stores()
            .users
            .set_password(auth.user.id, &hash, Some(&old), self.now(), &[event])
            .await?;
        let fresh = SecretToken::generate(SecretKind::Session);
        let rekeyed = self
            .stores()
            .sessions
            .rekey_session(&old, &fresh.digest(), &auth.session.amr)
            .await?;
        if !rekeyed {
            return Err(AccountError::Unauthenticated);
        }
        Ok(fresh)
    }
}
