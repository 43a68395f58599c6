//! The interface to password hashing the account service uses: the web layer implements it with a
//! bounded blocking pool, so a flood of logins queues instead of exhausting memory.

use async_trait::async_trait;
use zeroize::Zeroizing;

use crate::model::PasswordHash;
use crate::password_hash::PasswordHashError;

/// Why a hash could not be made or checked.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// Every hashing slot is taken and the wait queue is full or took too long: answer 503.
    #[error("password hashing is busy; retry later")]
    Busy,
    #[error(transparent)]
    Hash(#[from] PasswordHashError),
}

/// Argon2id hashing off the async threads. Implementations bound how many run at once.
#[async_trait]
pub trait PasswordHasher: Send + Sync {
    /// A PHC string for a new password.
    async fn hash(&self, password: Zeroizing<String>) -> Result<PasswordHash, HashError>;
    /// Whether the password matches the stored hash.
    async fn verify(&self, password: Zeroizing<String>, stored: PasswordHash) -> Result<bool, HashError>;
    /// The cost of one [`PasswordHasher::verify`], always `false` (an unknown email).
    async fn dummy_verify(&self, password: Zeroizing<String>) -> Result<bool, HashError>;
}

/// Hashes on the calling thread, with no bound: for the CLI and unit tests, never for a server.
#[derive(Clone, Copy, Debug, Default)]
pub struct InlineHasher;

#[async_trait]
impl PasswordHasher for InlineHasher {
    async fn hash(&self, password: Zeroizing<String>) -> Result<PasswordHash, HashError> {
        Ok(crate::password_hash::hash(&password)?)
    }

    async fn verify(&self, password: Zeroizing<String>, stored: PasswordHash) -> Result<bool, HashError> {
        Ok(crate::password_hash::verify(&password, &stored)?)
    }

    async fn dummy_verify(&self, password: Zeroizing<String>) -> Result<bool, HashError> {
        Ok(crate::password_hash::dummy_verify(&password))
    }
}
