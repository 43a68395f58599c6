//! The names of the cache's version keys and entries (without the deployment prefix).

use keygate_core::digest::TokenDigest;
use keygate_core::email::Email;
use keygate_core::ids::{ClientId, FamilyId, PatId, UserId};

/// Everything about one user: the account, and all their sessions, tokens and PATs.
pub(crate) fn user(id: UserId) -> String {
    format!("v:user:{}", id.0)
}

/// A client, and every access token issued to it.
pub(crate) fn client(id: &ClientId) -> String {
    format!("v:client:{}", id.0)
}

pub(crate) fn session(digest: &TokenDigest) -> String {
    format!("v:session:{}", digest.to_hex())
}

pub(crate) fn access_token(digest: &TokenDigest) -> String {
    format!("v:access:{}", digest.to_hex())
}

/// Every access token of a token family.
pub(crate) fn family(id: FamilyId) -> String {
    format!("v:family:{}", id.0)
}

pub(crate) fn pat(id: PatId) -> String {
    format!("v:pat:{}", id.0)
}

/// Bumped when the janitor deletes expired sessions or access tokens.
pub(crate) fn purge() -> String {
    "v:purge".to_owned()
}

/// Entry names: `c:<kind>:<lookup key>`.
pub(crate) mod entry {
    use super::*;

    pub(crate) fn client(id: &ClientId) -> String {
        format!("c:client:{}", id.0)
    }

    pub(crate) fn user(id: UserId) -> String {
        format!("c:user:{}", id.0)
    }

    /// By the normalised address, as `find_user_by_email` looks it up.
    pub(crate) fn user_by_email(email: &Email) -> String {
        format!("c:email:{}", email.normalized())
    }

    pub(crate) fn session(digest: &TokenDigest) -> String {
        format!("c:session:{}", digest.to_hex())
    }

    pub(crate) fn access_token(digest: &TokenDigest) -> String {
        format!("c:access:{}", digest.to_hex())
    }

    pub(crate) fn pat(digest: &TokenDigest) -> String {
        format!("c:pat:{}", digest.to_hex())
    }
}
