//! Logging in: the password step (one dummy hash for an unknown email, lockout, verification and
//! deactivation checks), the second factor, and a fresh session (never a fixated one).

use zeroize::Zeroizing;

use crate::email::Email;
use crate::model::{AuditAction, Outcome, Session, User};
use crate::password_hash;
use crate::secret_token::{SecretKind, SecretToken};
use crate::telemetry::{LoginOutcome, count_login};

use super::throttle::{Attempt, email_key};
use super::{AccountError, AccountResult, Accounts, RequestMeta};

/// Longest password accepted at login, in bytes: far beyond any policy, short of a hashing DoS.
const MAX_LOGIN_PASSWORD_BYTES: usize = 4096;

/// What the JSON API's login sends.
pub struct LoginRequest {
    pub email: String,
    pub password: Zeroizing<String>,
    /// A TOTP code or a recovery code, for accounts with a second factor.
    pub totp: Option<String>,
}

impl std::fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginRequest")
            .field("email", &self.email)
            .finish_non_exhaustive()
    }
}

/// A new session: the cookie secret (to hand to the browser once) and the record.
pub struct LoginSuccess {
    pub session_token: SecretToken,
    pub session: Session,
    pub user: User,
}

impl std::fmt::Debug for LoginSuccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginSuccess")
            .field("session", &self.session.id)
            .field("user", &self.user.id)
            .finish_non_exhaustive()
    }
}

/// Where the password step of a page login leaves the user.
#[derive(Debug)]
// Made once per login and matched at once: boxing would only add an allocation.
#[allow(clippy::large_enum_variant)]
pub enum PasswordStep {
    Done(LoginSuccess),
    /// A second factor is needed: keep this token in a short-lived cookie and call
    /// [`Accounts::login_second_step`] with it and the code. It grants nothing else.
    MfaRequired(MfaPending),
}

#[derive(Debug)]
pub struct MfaPending {
    pub token: SecretToken,
}

/// The user's email: parsed and with its counter key.
pub(super) struct LoginEmail {
    pub email: Email,
    pub key: String,
}

pub(super) fn parse_email(raw: &str) -> AccountResult<LoginEmail> {
    let email = Email::parse(raw).map_err(|_| AccountError::invalid("email", "not a valid email address"))?;
    let key = email_key(&email.normalized());
    Ok(LoginEmail { email, key })
}

impl Accounts {
    /// The JSON API's login: password and, for TOTP users, `totp` in one request.
    pub async fn login(
        &self,
        request: LoginRequest,
        previous_session: Option<&str>,
        meta: &RequestMeta,
    ) -> AccountResult<LoginSuccess> {
        let code_given = request.totp.is_some();
        let result = self.login_uncounted(request, previous_session, meta).await;
        count_login(
            result
                .as_ref()
                .map_or_else(|err| LoginOutcome::of_error(err, code_given), |_| LoginOutcome::Success),
        );
        result
    }

    async fn login_uncounted(
        &self,
        request: LoginRequest,
        previous_session: Option<&str>,
        meta: &RequestMeta,
    ) -> AccountResult<LoginSuccess> {
        let login = parse_email(&request.email)?;
        let (user, attempt) = self.first_factor(&login, &request.password, meta).await?;
        let (amr, attempt) = match (self.totp_enabled(&user).await?, request.totp.as_deref()) {
            (false, _) => (vec!["pwd".to_owned()], attempt),
            (true, None) => return Err(AccountError::MfaRequired),
            (true, Some(code)) => (mfa_amr(), self.second_factor(&user, &login.key, code, meta).await?),
        };
        self.start_session(&user, &attempt, amr, previous_session, meta).await
    }

    /// The pages' first step: the password. A TOTP user gets a pending token instead of a session.
    pub async fn login_password_step(
        &self,
        email: &str,
        password: &str,
        previous_session: Option<&str>,
        meta: &RequestMeta,
    ) -> AccountResult<PasswordStep> {
        let result = self
            .login_password_step_uncounted(email, password, previous_session, meta)
            .await;
        count_login(match &result {
            Ok(PasswordStep::Done(_)) => LoginOutcome::Success,
            Ok(PasswordStep::MfaRequired(_)) => LoginOutcome::MfaRequired,
            Err(err) => LoginOutcome::of_error(err, false),
        });
        result
    }

    async fn login_password_step_uncounted(
        &self,
        email: &str,
        password: &str,
        previous_session: Option<&str>,
        meta: &RequestMeta,
    ) -> AccountResult<PasswordStep> {
        let login = parse_email(email)?;
        let (user, attempt) = self.first_factor(&login, password, meta).await?;
        if self.totp_enabled(&user).await? {
            let token = self.put_pending_mfa(&user).await?;
            return Ok(PasswordStep::MfaRequired(MfaPending { token }));
        }
        let success = self
            .start_session(&user, &attempt, vec!["pwd".to_owned()], previous_session, meta)
            .await?;
        Ok(PasswordStep::Done(success))
    }

    /// The pages' second step: the code for a pending login. An unknown or expired pending token
    /// is `Unauthenticated` (start again); a wrong code is `MfaRequired` and counts as a failure.
    pub async fn login_second_step(
        &self,
        pending: &str,
        code: &str,
        previous_session: Option<&str>,
        meta: &RequestMeta,
    ) -> AccountResult<LoginSuccess> {
        let result = self
            .login_second_step_uncounted(pending, code, previous_session, meta)
            .await;
        count_login(
            result
                .as_ref()
                .map_or_else(|err| LoginOutcome::of_error(err, true), |_| LoginOutcome::Success),
        );
        result
    }

    async fn login_second_step_uncounted(
        &self,
        pending: &str,
        code: &str,
        previous_session: Option<&str>,
        meta: &RequestMeta,
    ) -> AccountResult<LoginSuccess> {
        let user = self.pending_mfa_user(pending).await?;
        let key = email_key(&user.email.normalized());
        let attempt = self.second_factor(&user, &key, code, meta).await?;
        self.finish_pending_mfa(pending).await?;
        self.start_session(&user, &attempt, mfa_amr(), previous_session, meta)
            .await
    }

    /// Checks email and password under the lockout rules; returns the account if they match and
    /// it may log in, with the attempt that counted the guess (confirmed when a session starts).
    /// An unknown email costs the same hash as a wrong password.
    async fn first_factor(
        &self,
        login: &LoginEmail,
        password: &str,
        meta: &RequestMeta,
    ) -> AccountResult<(User, Attempt)> {
        if password.len() > MAX_LOGIN_PASSWORD_BYTES {
            return Err(AccountError::invalid("password", "is too long"));
        }
        let attempt = self.reserve_attempt(&login.key, meta).await?;
        let found = self.stores().users.find_user_by_email(&login.email).await?;
        let password = Zeroizing::new(password.to_owned());
        let stored = found
            .as_ref()
            .filter(|u| u.deleted_at.is_none())
            .and_then(|u| u.password_hash.clone());
        let matched = match stored {
            Some(stored) => self.inner.hasher.verify(password.clone(), stored).await?,
            None => self.inner.hasher.dummy_verify(password.clone()).await?,
        };
        let user = match found {
            Some(user) if matched => user,
            other => {
                let err = self
                    .record_failure(
                        Some(&attempt),
                        other.map(|u| u.id),
                        AuditAction::LoginFailed,
                        "bad_credentials",
                        meta,
                        AccountError::InvalidCredentials,
                    )
                    .await?;
                return Err(err);
            }
        };
        if !user.is_active() {
            return Err(AccountError::AccountDisabled);
        }
        if self.config().require_verified_email && !user.is_verified() {
            return Err(AccountError::EmailNotVerified);
        }
        self.rehash_if_needed(&user, password).await;
        Ok((user, attempt))
    }

    /// Replaces a hash made with older parameters; a failure only costs the upgrade.
    async fn rehash_if_needed(&self, user: &User, password: Zeroizing<String>) {
        let Some(stored) = &user.password_hash else { return };
        if !password_hash::needs_rehash(stored) {
            return;
        }
        let Ok(hash) = self.inner.hasher.hash(password).await else {
            return;
        };
        let mut updated = user.clone();
        updated.password_hash = Some(hash);
        updated.updated_at = self.now();
        if let Err(err) = self.stores().users.update_user(&updated, &[]).await {
            tracing::warn!(error = %err, "could not upgrade a password hash");
        }
    }

    /// A new session with a new secret, unless a lock set while the guess was checked wins; any
    /// session the browser still carried is ended first, so a planted cookie never becomes a
    /// logged-in one.
    pub(super) async fn start_session(
        &self,
        user: &User,
        attempt: &Attempt,
        amr: Vec<String>,
        previous_session: Option<&str>,
        meta: &RequestMeta,
    ) -> AccountResult<LoginSuccess> {
        self.confirm_attempt(attempt, meta).await?;
        if let Some(previous) = previous_session.and_then(|p| SecretToken::parse(SecretKind::Session, p).ok()) {
            self.stores().sessions.delete_session(&previous.digest(), &[]).await?;
        }
        let now = self.now();
        let config = self.config();
        let token = SecretToken::generate(SecretKind::Session);
        let session = Session {
            id: crate::ids::SessionId::new(),
            digest: token.digest(),
            user_id: user.id,
            ip: meta.ip.clone(),
            user_agent: meta.user_agent.clone(),
            amr,
            auth_time: now,
            created_at: now,
            last_seen_at: now,
            idle_expires_at: now.plus(config.session_idle),
            absolute_expires_at: now.plus(config.session_absolute),
        };
        let event = self
            .user_event(AuditAction::LoginSucceeded, user.id, Outcome::Success, meta)
            .details(serde_json::json!({ "session": session.id, "amr": session.amr }));
        self.stores().sessions.create_session(&session, &[event]).await?;
        Ok(LoginSuccess {
            session_token: token,
            session,
            user: user.clone(),
        })
    }
}

fn mfa_amr() -> Vec<String> {
    vec!["pwd".to_owned(), "otp".to_owned(), "mfa".to_owned()]
}
