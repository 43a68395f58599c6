//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): the `id_token_hint` must be an
//! ID token Keygate signed (expired ones are accepted, as the spec allows), `client_id` if given
//! must be its audience, and `post_logout_redirect_uri` must be registered for that client.

use super::TokenService;
use super::error::OAuthError;
use crate::ids::ClientId;
use crate::jose::{IdTokenClaims, TokenType, VerifyRules};
use crate::redirect_uri;

/// A logout request that passed every check.
#[derive(Clone, Debug)]
pub struct LogoutCheck {
    /// The ID token's subject: only a session of this user is ended.
    pub subject: String,
    /// Where to send the user afterwards (registered for the client), if anywhere.
    pub redirect_uri: Option<String>,
}

/// Why a logout request is refused.
#[derive(Debug)]
pub enum LogoutRefusal {
    InvalidHint,
    ClientMismatch,
    UnknownClient,
    UnregisteredRedirect,
    /// The client could not be looked up.
    Failed(OAuthError),
}

impl TokenService {
    /// Checks a logout request carrying `hint` (an ID token).
    pub async fn check_logout(
        &self,
        hint: &str,
        client_id: Option<&str>,
        post_logout_redirect_uri: Option<&str>,
    ) -> Result<LogoutCheck, LogoutRefusal> {
        let rules = VerifyRules {
            issuer: &self.settings.issuer,
            audience: None,
            token_type: TokenType::Id,
            allow_expired: true,
        };
        let keys = self.keys.current();
        let claims = keys
            .set
            .verify::<IdTokenClaims>(hint, &rules, self.clock.now())
            .map_err(|_| LogoutRefusal::InvalidHint)?;
        if client_id.is_some_and(|c| c != claims.aud) {
            return Err(LogoutRefusal::ClientMismatch);
        }
        let client = match self.stores.clients.get_client(&ClientId(claims.aud.clone())).await {
            Ok(Some(client)) => client,
            Ok(None) => return Err(LogoutRefusal::UnknownClient),
            Err(err) => return Err(LogoutRefusal::Failed(err.into())),
        };
        let redirect_uri = match post_logout_redirect_uri {
            None => None,
            Some(uri) => {
                match redirect_uri::find_match(client.post_logout_redirect_uris.iter().map(String::as_str), uri) {
                    Some(_) => Some(uri.to_owned()),
                    None => return Err(LogoutRefusal::UnregisteredRedirect),
                }
            }
        };
        Ok(LogoutCheck {
            subject: claims.sub,
            redirect_uri,
        })
    }
}
