//! Client authentication at the token, introspection and revocation endpoints:
//! `client_secret_basic`, `client_secret_post` and `none` (a public client names itself).
//!
//! Secrets are high-entropy `kgs_` tokens stored as SHA-256 digests: checking one costs a hash
//! and a constant-time comparison (microseconds), never a password hash.

use super::error::{OAuthError, OAuthResult};
use crate::ids::ClientId;
use crate::model::Client;
use crate::secret_token::{SecretKind, SecretToken};
use crate::store::ClientStore;

/// How a request presented its client.
#[derive(Clone, PartialEq, Eq)]
pub enum ClientCredentials {
    /// `Authorization: Basic` (RFC 6749 §2.3.1), already decoded.
    Basic {
        client_id: String,
        secret: String,
    },
    /// `client_id` and `client_secret` in the form body.
    Post {
        client_id: String,
        secret: String,
    },
    /// Only `client_id`: a public client.
    PublicId {
        client_id: String,
    },
    Missing,
}

impl std::fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientCredentials::Basic { client_id, .. } => write!(f, "Basic({client_id}, <secret>)"),
            ClientCredentials::Post { client_id, .. } => write!(f, "Post({client_id}, <secret>)"),
            ClientCredentials::PublicId { client_id } => write!(f, "PublicId({client_id})"),
            ClientCredentials::Missing => f.write_str("Missing"),
        }
    }
}

impl ClientCredentials {
    /// The client id the request claims, authenticated or not (for audit and errors).
    pub fn claimed_id(&self) -> Option<&str> {
        match self {
            ClientCredentials::Basic { client_id, .. }
            | ClientCredentials::Post { client_id, .. }
            | ClientCredentials::PublicId { client_id } => Some(client_id),
            ClientCredentials::Missing => None,
        }
    }
}

/// The registered client the credentials prove, or `invalid_client` (401). A confidential
/// client may use either secret method; a public client only names itself.
pub async fn authenticate(clients: &dyn ClientStore, credentials: &ClientCredentials) -> OAuthResult<Client> {
    let failed = || OAuthError::invalid_client("client authentication failed");
    let (client_id, secret) = match credentials {
        ClientCredentials::Missing => return Err(OAuthError::invalid_client("client authentication is required")),
        ClientCredentials::Basic { client_id, secret } | ClientCredentials::Post { client_id, secret } => {
            (client_id, Some(secret))
        }
        ClientCredentials::PublicId { client_id } => (client_id, None),
    };
    let client = clients
        .get_client(&ClientId(client_id.clone()))
        .await?
        .ok_or_else(failed)?;
    match (secret, &client.secret_digest) {
        (None, None) if client.is_public() => Ok(client),
        (Some(secret), Some(stored)) if !client.is_public() => {
            // The checksum refuses a mistyped or foreign token before any comparison.
            let presented = SecretToken::parse(SecretKind::ClientSecret, secret).map_err(|_| failed())?;
            if presented.digest() == *stored {
                Ok(client)
            } else {
                Err(failed())
            }
        }
        _ => Err(failed()),
    }
}

impl super::TokenService {
    /// Authenticates the client of a token, introspection or revocation request.
    pub async fn authenticate_client(&self, credentials: &ClientCredentials) -> OAuthResult<Client> {
        authenticate(self.stores.clients.as_ref(), credentials).await
    }
}
