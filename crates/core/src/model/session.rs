//! A server-side login session. The cookie holds a secret; the store keeps only its digest.

use crate::clock::Timestamp;
use crate::digest::TokenDigest;
use crate::ids::{SessionId, UserId};

#[derive(Clone, Debug, PartialEq)]
pub struct Session {
    /// Public handle, shown in session lists and used to end a session.
    pub id: SessionId,
    /// Digest of the cookie secret.
    pub digest: TokenDigest,
    pub user_id: UserId,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// Authentication methods (RFC 8176): `pwd`, then `otp` and `mfa` after a second factor.
    pub amr: Vec<String>,
    pub auth_time: Timestamp,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
    pub idle_expires_at: Timestamp,
    pub absolute_expires_at: Timestamp,
}

impl Session {
    pub fn is_live(&self, now: Timestamp) -> bool {
        now < self.idle_expires_at && now < self.absolute_expires_at
    }
}
