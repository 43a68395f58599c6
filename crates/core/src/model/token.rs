//! Token families, refresh tokens and opaque access tokens.

use crate::clock::Timestamp;
use crate::digest::TokenDigest;
use crate::ids::{ClientId, FamilyId, TokenId, UserId};
use crate::scope::Scopes;

/// Every token issued from one grant (a code redemption or a client-credentials request).
/// Revoking the family revokes all of them, including JWT access tokens that name it.
#[derive(Clone, Debug, PartialEq)]
pub struct TokenFamily {
    pub id: FamilyId,
    pub client_id: ClientId,
    pub user_id: Option<UserId>,
    pub scope: Scopes,
    pub auth_time: Option<Timestamp>,
    pub created_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct RefreshToken {
    pub digest: TokenDigest,
    pub family_id: FamilyId,
    /// The token this one was rotated from.
    pub parent: Option<TokenDigest>,
    pub client_id: ClientId,
    pub user_id: Option<UserId>,
    pub scope: Scopes,
    pub issued_at: Timestamp,
    pub expires_at: Timestamp,
    pub used_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

/// What rotating a refresh token found.
#[derive(Clone, Debug, PartialEq)]
pub enum RefreshRotation {
    /// This call rotated it: the old token (as it was) is returned and the new one is stored.
    Rotated(RefreshToken),
    /// It had been rotated already: reuse, the caller revokes the family.
    Reused(RefreshToken),
    /// It, or its family, was revoked.
    Revoked(RefreshToken),
    Unknown,
}

/// An opaque access token (clients with `access_token_format = opaque`).
#[derive(Clone, Debug, PartialEq)]
pub struct AccessToken {
    pub digest: TokenDigest,
    pub jti: TokenId,
    pub family_id: Option<FamilyId>,
    pub client_id: ClientId,
    pub user_id: Option<UserId>,
    pub scope: Scopes,
    pub issued_at: Timestamp,
    pub expires_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}
