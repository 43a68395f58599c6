//! Start-up registration of every metric Keygate exports: each crate describes its own (names
//! live next to the code that counts them) and this adds the runtime's. Registered counters show
//! at zero before their first event, so `/metrics` lists every name the dashboard and alert rules
//! in `contrib/` use, and `increase()` sees the first event.

use crate::runtime::hashing::{
    HASH_DURATION, HASH_QUEUE_CAPACITY, HASH_QUEUE_DEPTH, HASH_REFUSED, HASH_SLOTS, HASH_WAIT,
};

/// Emails handed to the mailer, by `outcome` (`sent`, `failed`).
pub const EMAILS_SENT: &str = "keygate_emails_sent_total";
/// Audit events dropped because the batcher had stopped (while its queue is full, requests wait).
pub const AUDIT_DROPPED: &str = "keygate_audit_events_dropped_total";
/// Expired records the janitor deleted, by `kind`.
pub const JANITOR_DELETED: &str = "keygate_janitor_deleted_total";

/// Idempotent; `redis`: whether the Redis cache is configured.
pub fn register(redis: bool) {
    keygate_core::telemetry::register();
    keygate_store::telemetry::register(redis);
    keygate_web::metrics::register();

    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_gauge!(HASH_QUEUE_DEPTH, "Password hashes waiting for an Argon2 slot");
    metrics::gauge!(HASH_QUEUE_DEPTH).increment(0.0);
    describe_gauge!(HASH_QUEUE_CAPACITY, "password_hashing.max_waiting");
    describe_gauge!(HASH_SLOTS, "password_hashing.max_concurrent");
    describe_histogram!(
        HASH_WAIT,
        Unit::Seconds,
        "Time a password hash waited for an Argon2 slot"
    );
    describe_histogram!(HASH_DURATION, Unit::Seconds, "Time one Argon2 hash took");
    describe_counter!(
        HASH_REFUSED,
        "Password hashes refused (503) by reason (queue_full, timeout)"
    );
    for reason in ["queue_full", "timeout"] {
        metrics::counter!(HASH_REFUSED, "reason" => reason).increment(0);
    }
    describe_counter!(EMAILS_SENT, "Emails handed to the mail server or outbox, by outcome");
    for outcome in ["sent", "failed"] {
        metrics::counter!(EMAILS_SENT, "outcome" => outcome).increment(0);
    }
    describe_counter!(
        AUDIT_DROPPED,
        "Audit events dropped because the audit writer had stopped"
    );
    metrics::counter!(AUDIT_DROPPED).increment(0);
    describe_counter!(JANITOR_DELETED, "Expired records deleted by the janitor, by kind");
    for (kind, _) in crate::janitor::counts(&Default::default()) {
        metrics::counter!(JANITOR_DELETED, "kind" => kind).increment(0);
    }
}
