//! Second-factor credentials: a TOTP secret and single-use recovery codes.

use crate::clock::Timestamp;
use crate::digest::TokenDigest;
use crate::ids::UserId;
use crate::model::secret::EncryptedBlob;

#[derive(Clone, Debug, PartialEq)]
pub struct TotpCredential {
    pub user_id: UserId,
    /// The shared secret, encrypted at rest.
    pub secret: EncryptedBlob,
    /// None while set up but not yet confirmed with a valid code.
    pub enabled_at: Option<Timestamp>,
    /// The last time step a code was accepted for: each code works once.
    pub last_used_step: Option<i64>,
    pub created_at: Timestamp,
}

#[derive(Clone, Debug, PartialEq)]
pub struct RecoveryCode {
    pub user_id: UserId,
    pub digest: TokenDigest,
    pub created_at: Timestamp,
    pub used_at: Option<Timestamp>,
}
