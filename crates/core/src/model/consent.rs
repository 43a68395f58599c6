//! A user's remembered consent to a client's scopes.

use crate::clock::Timestamp;
use crate::ids::{ClientId, UserId};
use crate::scope::Scopes;

#[derive(Clone, Debug, PartialEq)]
pub struct Consent {
    pub user_id: UserId,
    pub client_id: ClientId,
    pub scope: Scopes,
    pub granted_at: Timestamp,
    pub updated_at: Timestamp,
}
