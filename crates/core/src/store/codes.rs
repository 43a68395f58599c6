//! Authorization codes.

use async_trait::async_trait;

use crate::clock::Timestamp;
use crate::digest::TokenDigest;
use crate::error::StoreResult;
use crate::ids::FamilyId;
use crate::model::{AuthorizationCode, CodeRedemption};

#[async_trait]
pub trait CodeStore: Send + Sync {
    async fn create_code(&self, code: &AuthorizationCode) -> StoreResult<()>;
    /// The code as stored (used or not), without changing it: the token endpoint checks client,
    /// redirect URI and PKCE against it before `redeem_code` uses it up.
    async fn get_code(&self, digest: &TokenDigest) -> StoreResult<Option<AuthorizationCode>>;
    /// Marks the code used and records the family its redemption creates. Atomic: of any number
    /// of concurrent calls exactly one gets `Redeemed`; later ones get `Replayed`.
    async fn redeem_code(&self, digest: &TokenDigest, family: FamilyId, now: Timestamp) -> StoreResult<CodeRedemption>;
}
