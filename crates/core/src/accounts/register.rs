//! Registration and email verification. A taken address gets the same answer as a new one; its
//! owner is told by email instead, so the API never reveals who has an account.

use zeroize::Zeroizing;

use crate::email::Email;
use crate::error::StoreError;
use crate::model::{AuditAction, EmailToken, EmailTokenKind, Outcome, User};
use crate::secret_token::{SecretKind, SecretToken};
use crate::telemetry::count_registration;

use super::throttle::email_key;
use super::{AccountError, AccountResult, Accounts, RequestMeta, emails};

impl Accounts {
    /// Creates an unverified account and mails a verification link. Returns the same for an
    /// address that is taken (after the same hashing work).
    pub async fn register(
        &self,
        email: &str,
        password: &str,
        confirmation: &str,
        meta: &RequestMeta,
    ) -> AccountResult<()> {
        let result = self.register_uncounted(email, password, confirmation, meta).await;
        count_registration(match &result {
            Ok(created) if *created => "created",
            Ok(_) => "already_registered",
            Err(AccountError::Invalid { .. } | AccountError::WeakPassword(_)) => "rejected",
            Err(AccountError::RateLimited { .. }) => "rate_limited",
            Err(_) => "error",
        });
        result.map(|_| ())
    }

    /// Whether an account was created (false: the address was taken).
    async fn register_uncounted(
        &self,
        email: &str,
        password: &str,
        confirmation: &str,
        meta: &RequestMeta,
    ) -> AccountResult<bool> {
        if !crate::secret_token::constant_time_eq(password.as_bytes(), confirmation.as_bytes()) {
            return Err(AccountError::invalid(
                "password_confirmation",
                "does not match the password",
            ));
        }
        let email = Email::parse(email).map_err(|_| AccountError::invalid("email", "not a valid email address"))?;
        self.config().password_policy.check(password)?;
        self.count_ip_request(meta).await?;
        let hash = self.inner.hasher.hash(Zeroizing::new(password.to_owned())).await?;
        let user = User::new(email.clone(), Some(hash), self.now());
        let event = self.user_event(AuditAction::UserRegistered, user.id, Outcome::Success, meta);
        match self.stores().users.create_user(&user, &[event]).await {
            Ok(()) => self.send_verification(&user).await.map(|()| true),
            Err(StoreError::Conflict(_)) => {
                if self.may_email(&email_key(&email.normalized())).await? {
                    self.send(emails::already_registered(&email, self.issuer())).await;
                }
                Ok(false)
            }
            Err(err) => Err(err.into()),
        }
    }

    /// Issues a verification token (invalidating older ones) and mails the link, unless the
    /// address has had its hourly share of emails.
    pub(super) async fn send_verification(&self, user: &User) -> AccountResult<()> {
        if !self.may_email(&email_key(&user.email.normalized())).await? {
            return Ok(());
        }
        let token = SecretToken::generate(SecretKind::EmailVerification);
        let ttl = self.config().verify_token_ttl;
        self.issue_token(user, &token, EmailTokenKind::Verify, ttl, &[]).await?;
        self.send(emails::verification(&user.email, self.issuer(), token.expose(), ttl))
            .await;
        Ok(())
    }

    pub(super) async fn issue_token(
        &self,
        user: &User,
        token: &SecretToken,
        kind: EmailTokenKind,
        ttl: std::time::Duration,
        audit: &[crate::model::AuditEvent],
    ) -> AccountResult<()> {
        let now = self.now();
        let record = EmailToken {
            digest: token.digest(),
            user_id: user.id,
            kind,
            created_at: now,
            expires_at: now.plus(ttl),
            used_at: None,
        };
        self.stores().email_tokens.issue_email_token(&record, audit).await?;
        Ok(())
    }

    /// Hands a message to the mailer; a failure is logged, never shown (it would tell whether the
    /// address has an account).
    pub(super) async fn send(&self, message: crate::mail::OutgoingEmail) {
        if let Err(err) = self.inner.mailer.send(&message).await {
            tracing::error!(error = %err, subject = %message.subject, "could not send an email");
        }
    }

    /// Marks the email of the token's owner verified. The token works once.
    pub async fn verify_email(&self, token: &str, meta: &RequestMeta) -> AccountResult<()> {
        self.check_locks(None, meta).await?;
        let parsed = SecretToken::parse(SecretKind::EmailVerification, token);
        let consumed = match &parsed {
            Ok(t) => {
                self.stores()
                    .email_tokens
                    .consume_email_token(&t.digest(), EmailTokenKind::Verify, self.now(), &[])
                    .await?
            }
            Err(_) => None,
        };
        let Some(record) = consumed else {
            let err = self
                .record_failure(
                    None,
                    None,
                    AuditAction::EmailVerified,
                    "invalid_token",
                    meta,
                    AccountError::InvalidToken,
                )
                .await?;
            return Err(err);
        };
        let mut user = self
            .stores()
            .users
            .get_user(record.user_id)
            .await?
            .ok_or(AccountError::InvalidToken)?;
        if user.email_verified_at.is_none() {
            let now = self.now();
            user.email_verified_at = Some(now);
            user.updated_at = now;
            let event = self.user_event(AuditAction::EmailVerified, user.id, Outcome::Success, meta);
            self.stores().users.update_user(&user, &[event]).await?;
        }
        Ok(())
    }

    /// Mails a new verification link if the address belongs to an unverified account. Answers the
    /// same whatever the address.
    pub async fn resend_verification(&self, email: &str, meta: &RequestMeta) -> AccountResult<()> {
        self.count_ip_request(meta).await?;
        let Ok(email) = Email::parse(email) else {
            return Ok(());
        };
        if let Some(user) = self.stores().users.find_user_by_email(&email).await?
            && user.is_active()
            && !user.is_verified()
        {
            self.send_verification(&user).await?;
        }
        Ok(())
    }
}
