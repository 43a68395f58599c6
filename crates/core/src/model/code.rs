//! An authorization code: single use, short-lived, bound to its client, redirect URI and PKCE challenge.

use crate::clock::Timestamp;
use crate::digest::TokenDigest;
use crate::ids::{ClientId, FamilyId, UserId};
use crate::scope::Scopes;

#[derive(Clone, Debug, PartialEq)]
pub struct AuthorizationCode {
    pub digest: TokenDigest,
    pub client_id: ClientId,
    pub user_id: UserId,
    pub redirect_uri: String,
    pub scope: Scopes,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub auth_time: Timestamp,
    pub amr: Vec<String>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub used_at: Option<Timestamp>,
    /// The token family the first redemption created, so a replay can revoke it.
    pub family_id: Option<FamilyId>,
}

/// What redeeming a code found.
#[derive(Clone, Debug, PartialEq)]
pub enum CodeRedemption {
    /// This call redeemed it; the code is returned as it was before (check expiry and binding).
    Redeemed(AuthorizationCode),
    /// It had been redeemed before: the caller revokes `family_id` of the returned code.
    Replayed(AuthorizationCode),
    Unknown,
}
