//! OIDC userinfo (Core §5.3): the claims an access token's scopes grant about its user.

use serde_json::{Map, Value};

use super::TokenService;
use super::error::{ErrorCode, OAuthError, OAuthResult};
use super::mint::user_claims;

impl TokenService {
    /// The user's claims for a bearer access token. `invalid_token` (401) for a token that is
    /// not live or has no user; `insufficient_scope` (403) without `openid`.
    pub async fn userinfo(&self, bearer: &str) -> OAuthResult<Map<String, Value>> {
        let invalid = || OAuthError::invalid_token("the access token is invalid, expired or revoked");
        let live = self.resolve_access_token(bearer).await?.ok_or_else(invalid)?;
        let user_id = live.user_id.ok_or_else(invalid)?;
        if !live.scope.contains("openid") {
            return Err(OAuthError::new(
                ErrorCode::InsufficientScope,
                "the access token lacks the openid scope",
            ));
        }
        let user = self
            .stores
            .users
            .get_user(user_id)
            .await?
            .filter(|u| u.is_active())
            .ok_or_else(invalid)?;
        let mut claims = Map::new();
        claims.insert("sub".into(), Value::from(user.id.to_string()));
        claims.extend(user_claims(&user, &live.scope));
        Ok(claims)
    }
}
