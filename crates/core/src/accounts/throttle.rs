//! Lockout and throttling in the ephemeral store (shared across instances when it is Redis):
//! consecutive failures per normalised email lock it for a while; failures per IP address in an
//! hour lock the address; registrations, reset requests and emails are counted per hour.
//!
//! The guess budget is atomic: an attempt is counted (reserved) before its password or code is
//! checked, and an attempt whose number is past the threshold is refused unchecked, so at most
//! `lockout_threshold` guesses are evaluated per lock window however many run at once and on
//! however many instances. Each lock starts a new generation of the failure counter, so attempts
//! refused during a lock never eat into the budget of the next window.
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

/// How long a counter generation is remembered (longer than any failure run it names).
const GENERATION_MEMORY: Duration = Duration::from_secs(7 * 24 * 3600);

/// A guess counted against an email's budget before it is checked.
pub(super) struct Attempt {
    /// The email's counter key (see [`email_key`]).
    key: String,
    generation: i64,
    /// This attempt's place in the current run of consecutive failures (1-based).
    number: u32,
}

impl Attempt {
    fn counter(&self) -> String {
        failure_counter(&self.key, self.generation)
    }
}

fn failure_counter(email: &str, generation: i64) -> String {
    format!("acct:fail:{email}:{generation}")
}

fn lock_key(email: &str) -> String {
    format!("acct:lock:{email}")
}

fn generation_key(email: &str) -> String {
    format!("acct:gen:{email}")
}

impl Accounts {
    /// Refuses at once while the email (if given) or the caller's IP address is locked.
    pub(super) async fn check_locks(&self, email: Option<&str>, meta: &RequestMeta) -> AccountResult<()> {
        let now = self.now();
        let mut keys = Vec::with_capacity(2);
        if let Some(email) = email {
            keys.push(lock_key(email));
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

    /// Counts a guess against the email before it is checked. Refused (`Locked`) while the email
    /// or the IP address is locked, and when the current run already holds `lockout_threshold`
    /// attempts: those are the only ones ever evaluated until the run ends (a success) or its
    /// lock expires.
    pub(super) async fn reserve_attempt(&self, email: &str, meta: &RequestMeta) -> AccountResult<Attempt> {
        self.check_locks(Some(email), meta).await?;
        let now = self.now();
        let ephemeral = &self.stores().ephemeral;
        let generation = self.generation(email).await?;
        let count = ephemeral
            .incr(&failure_counter(email, generation), now, FAILURE_MEMORY)
            .await?;
        // A lock set by another attempt between the check above and the count.
        self.check_locks(Some(email), meta).await?;
        let number = u32::try_from(count).unwrap_or(u32::MAX);
        if number > self.config().lockout_threshold {
            return Err(AccountError::Locked {
                retry_after: at_least_a_second(self.config().lockout_duration),
            });
        }
        Ok(Attempt {
            key: email.to_owned(),
            generation,
            number,
        })
    }

    /// Ends a run of failures after a success. A lock that concurrent failures set meanwhile wins
    /// over the success: the caller answers `Locked` and no session is made.
    pub(super) async fn confirm_attempt(&self, attempt: &Attempt, meta: &RequestMeta) -> AccountResult<()> {
        self.check_locks(Some(&attempt.key), meta).await?;
        self.stores().ephemeral.delete(&attempt.counter()).await?;
        Ok(())
    }

    /// Counts a failure against the IP address (and, through its attempt, the email), locks either
    /// when it reaches its limit, writes the audit rows, and waits the progressive delay. Returns
    /// the error to answer with (`on_failure`, or `Locked` when this failure set the lock).
    pub(super) async fn record_failure(
        &self,
        attempt: Option<&Attempt>,
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
                crate::telemetry::count_lockout("ip");
                locked = Some(ttl);
            }
        }
        if let Some(attempt) = attempt {
            failures = attempt.number;
            if failures >= config.lockout_threshold {
                let until = now.plus(config.lockout_duration);
                ephemeral
                    .put(
                        &lock_key(&attempt.key),
                        &until.as_millis().to_be_bytes(),
                        now,
                        config.lockout_duration,
                    )
                    .await?;
                // After the lock (never before it: an attempt that reads the new generation must
                // then see the lock), the next window counts from zero.
                self.start_generation(&attempt.key, attempt.generation + 1).await?;
                crate::telemetry::count_lockout("account");
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

    /// Ends the lock of an email and starts a fresh budget (after a password reset proved the
    /// owner's mailbox).
    pub(super) async fn unlock(&self, email: &str) -> AccountResult<()> {
        self.stores().ephemeral.delete(&lock_key(email)).await?;
        let generation = self.generation(email).await?;
        self.start_generation(email, generation + 1).await
    }

    /// Until when the email (its counter key) is locked, if it is.
    pub(super) async fn locked_until(&self, email: &str) -> AccountResult<Option<Timestamp>> {
        let now = self.now();
        let value = self.stores().ephemeral.get(&lock_key(email), now).await?;
        Ok(value.map(|v| {
            <[u8; 8]>::try_from(v.as_slice())
                .map(|b| Timestamp::from_millis(i64::from_be_bytes(b)))
                .unwrap_or(now)
        }))
    }

    /// The email's current counter generation (0 before its first lock).
    async fn generation(&self, email: &str) -> AccountResult<i64> {
        let stored = self.stores().ephemeral.get(&generation_key(email), self.now()).await?;
        Ok(stored
            .and_then(|bytes| std::str::from_utf8(&bytes).ok()?.parse::<i64>().ok())
            .unwrap_or(0))
    }

    async fn start_generation(&self, email: &str, generation: i64) -> AccountResult<()> {
        let value = generation.to_string();
        self.stores()
            .ephemeral
            .put(&generation_key(email), value.as_bytes(), self.now(), GENERATION_MEMORY)
            .await?;
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
        let allowed = count <= i64::from(self.config().emails_per_address_per_hour);
        if !allowed {
            crate::telemetry::count_email_suppressed();
        }
        Ok(allowed)
    }
}
