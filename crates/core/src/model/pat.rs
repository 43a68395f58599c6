//! A personal access token: a user's long-lived bearer token for the account API.

use crate::clock::Timestamp;
use crate::digest::TokenDigest;
use crate::ids::{PatId, UserId};
use crate::scope::Scopes;

#[derive(Clone, Debug, PartialEq)]
pub struct PersonalAccessToken {
    pub id: PatId,
    pub user_id: UserId,
    pub digest: TokenDigest,
    /// The first characters of the token (`kgp_AbC1…`), so a user can tell tokens apart.
    pub display_prefix: String,
    pub name: String,
    pub scope: Scopes,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub last_used_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

impl PersonalAccessToken {
    pub fn is_usable(&self, now: Timestamp) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|e| now < e)
    }
}
