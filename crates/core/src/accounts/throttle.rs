//! Lockout and throttling in the ephemeral store (shared across instances when it is Redis):
//! consecutive failures per normalised email lock it for a while; failures per IP address in an
//! hour lock the address; registrations, reset requests and emails are counted per hour.
//!
//! Keys never hold an address in clear: emails are keyed by a digest of their normalised form.

use std::time::Duration;

use crate::clock::Timestamp;
use crate::digest::TokenDigest;
use crate::ids::UserId;
use crate::model::{AuditAction, AuditEvent, Outcome};

use super::{AccountError, AccountResult, Accounts, RequestMeta};

const HOUR: Duration = Duration::from_secs(3600);
/// How long a run of consecutive failures is remembered without a new one.
const FAILURE_MEMORY: Duration = Duration::from_secs(24 * 3600);

/// The counters' name for an email address (its normalised form, digested).
pub(super) fn email_key(normalized: &str) -> String {
    TokenDigest::of(&format!("email:{normalized}")).to_hex()
}

/// The current hour's window: its number and when it ends.
fn hour_window(now: Timestamp) -> (i64, Timestamp) {
    let hour_ms = HOUR.as_millis() as i64;
    let bucket = now.as_millis().div_euclid(hour_ms);
    (bucket, Timestamp::from_millis((bucket + 1) * hour_ms))
}

fn at_least_a_second(d: Duration) -> Duration {
    d.max(Duration::from_secs(1))
}

impl Accounts {
    /// Refuses at once while the email (if given) or the caller's IP address is locked.
    pub(super) async fn check_locks(&self, email: Option<&str>, meta: &RequestMeta) -> AccountResult<()> {
        let now = self.now();
        let mut keys = Vec::with_capacity(2);
        if let Some(email) = email {
            keys.push(format!("acct:lock:{email}"));
        }
        if let Some(ip) = &meta.ip {
            keys.push(format!("acct:iplock:{ip}"));
        }
        for key in keys {
            if let Some(value) = self.stores().ephemeral.get(&key, now).await? {
                let until = <[u8; 8]>::try_from(value.as_slice())
                    .map(|b| Timestamp::from_millis(i64::from_be_bytes(b)))
                    .unwrap_or(now);
                return Err(AccountError::Locked {
                    retry_after: at_least_a_second(until.since(now)),
                });
            }
        }
        Ok(())
    }

    /// Counts a failure against the email (if any) and the IP address, locks either when it
    /// reaches its limit, writes the audit rows, and waits the progressive delay. Returns the
    /// error to answer with (`on_failure`, or `Locked` when this failure set the lock).
    pub(super) async fn record_failure(
        &self,
        email: Option<&str>,
        user: Option<UserId>,
        action: AuditAction,
        reason: &str,
        meta: &RequestMeta,
        on_failure: AccountError,
    ) -> AccountResult<AccountError> {
        let now = self.now();
        let config = self.config();
        let ephemeral = &self.stores().ephemeral;
        let actor = user.map_or_else(|| "anonymous".to_owned(), |u| format!("user:{u}"));
        let mut event = AuditEvent::new(action, actor.clone(), Outcome::Failure, now)
            .from_request(meta.ip.clone(), meta.user_agent.clone())
            .details(serde_json::json!({ "reason": reason }));
        event.user_id = user;
        let mut events = vec![event];
        let mut locked = None;
        let mut failures = 0;

        if let Some(ip) = &meta.ip {
            let (bucket, ends) = hour_window(now);
            let count = ephemeral.incr(&format!("acct:ipfail:{ip}:{bucket}"), now, HOUR).await?;
            if count >= i64::from(config.ip_failures_per_hour) {
                let ttl = ends.since(now);
                ephemeral
                    .put(&format!("acct:iplock:{ip}"), &ends.as_millis().to_be_bytes(), now, ttl)
                    .await?;
                locked = Some(ttl);
            }
        }
        if let Some(email) = email {
            let count = ephemeral
                .incr(&format!("acct:fail:{email}"), now, FAILURE_MEMORY)
                .await?;
            failures = u32::try_from(count).unwrap_or(u32::MAX);
            if failures >= config.lockout_threshold {
                let until = now.plus(config.lockout_duration);
                ephemeral
                    .put(
                        &format!("acct:lock:{email}"),
                        &until.as_millis().to_be_bytes(),
                        now,
                        config.lockout_duration,
                    )
                    .await?;
                ephemeral.delete(&format!("acct:fail:{email}")).await?;
                locked = Some(locked.map_or(config.lockout_duration, |d: Duration| d.max(config.lockout_duration)));
                let mut lock_event = AuditEvent::new(AuditAction::AccountLocked, actor, Outcome::Success, now)
                    .from_request(meta.ip.clone(), meta.user_agent.clone())
                    .details(serde_json::json!({ "failures": failures }));
                lock_event.user_id = user;
                events.push(lock_event);
            }
        }
        self.stores().audit.append_audit(&events).await?;
        if let Some(retry_after) = locked {
            return Ok(AccountError::Locked {
                retry_after: at_least_a_second(retry_after),
            });
        }
        let delay = config.delay_after(failures);
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        Ok(on_failure)
    }

    /// Forgets the consecutive failures of an email after a success.
    pub(super) async fn clear_failures(&self, email: &str) -> AccountResult<()> {
        let ephemeral = &self.stores().ephemeral;
        ephemeral.delete(&format!("acct:fail:{email}")).await?;
        Ok(())
    }

    /// Ends the lock of an email too (after a password reset proved the owner's mailbox).
    pub(super) async fn unlock(&self, email: &str) -> AccountResult<()> {
        self.clear_failures(email).await?;
        self.stores().ephemeral.delete(&format!("acct:lock:{email}")).await?;
        Ok(())
    }

    /// Counts a registration, reset request or resend from the caller's IP address.
    pub(super) async fn count_ip_request(&self, meta: &RequestMeta) -> AccountResult<()> {
        let Some(ip) = &meta.ip else {
            return Ok(());
        };
        let now = self.now();
        let (bucket, ends) = hour_window(now);
        let count = self
            .stores()
            .ephemeral
            .incr(&format!("acct:ipreq:{ip}:{bucket}"), now, HOUR)
            .await?;
        if count > i64::from(self.config().ip_requests_per_hour) {
            return Err(AccountError::RateLimited {
                retry_after: at_least_a_second(ends.since(now)),
            });
        }
        Ok(())
    }

    /// Whether another email may go to this address this hour (and counts it if so).
    pub(super) async fn may_email(&self, email: &str) -> AccountResult<bool> {
        let now = self.now();
        let (bucket, _) = hour_window(now);
        let count = self
            .stores()
            .ephemeral
            .incr(&format!("acct:mail:{email}:{bucket}"), now, HOUR)
            .await?;
        Ok(count <= i64::from(self.config().emails_per_address_per_hour))
    }
}
