//! The refresh_token grant: rotation on every use, reuse of a rotated token revokes its whole
//! family, the token is bound to its client, and the scope can only narrow (also when the
//! client's registration narrowed since the grant).

use super::TokenService;
use super::audit::{RequestMeta, issue_details, token_event};
use super::error::{OAuthError, OAuthResult};
use super::grants::{narrow_scope, still_registered};
use super::mint::{Grant, IdTokenInput, TokenResponse};
use crate::model::{AuditAction, Client, RefreshRotation};
use crate::secret_token::{SecretKind, SecretToken};

impl TokenService {
    pub(crate) async fn refresh(
        &self,
        client: &Client,
        token: &str,
        scope: Option<&str>,
        meta: &RequestMeta,
    ) -> OAuthResult<TokenResponse> {
        let invalid = || OAuthError::invalid_grant("the refresh token is invalid, expired or revoked");
        let secret = SecretToken::parse(SecretKind::RefreshToken, token).map_err(|_| invalid())?;
        let digest = secret.digest();
        let now = self.clock.now();
        let old = self
            .stores
            .tokens
            .get_refresh_token(&digest)
            .await?
            .ok_or_else(invalid)?;
        // Another client's token: refused, and left alone (this client cannot prove theft).
        if old.client_id != client.id {
            return Err(invalid());
        }
        if old.revoked_at.is_some() || old.expires_at <= now {
            return Err(invalid());
        }
        if old.used_at.is_some() {
            self.revoke_for_reuse(client, old.family_id, old.user_id, "refresh_token", meta)
                .await?;
            return Err(invalid());
        }
        // The family keeps only what the client is still registered for.
        let granted = still_registered(&old.scope, &client.scope)?;
        let scope = narrow_scope(scope, &granted)?;
        let family = self
            .stores
            .tokens
            .get_family(old.family_id)
            .await?
            .filter(|f| f.revoked_at.is_none())
            .ok_or_else(invalid)?;
        let user = match old.user_id {
            Some(id) => Some(
                self.stores
                    .users
                    .get_user(id)
                    .await?
                    .filter(|u| u.is_active())
                    .ok_or_else(invalid)?,
            ),
            None => None,
        };

        let access_grant = Grant {
            client,
            user: old.user_id,
            scope: &scope,
            family: Some(family.id),
            auth_time: family.auth_time,
        };
        let access = self.mint_access(&access_grant, now)?;
        // The new refresh token keeps the family's scope: narrowing applies to this access token.
        let refresh_grant = Grant {
            scope: &granted,
            ..access_grant
        };
        let (new_secret, new_record) = self.mint_refresh(&refresh_grant, family.id, Some(digest), now);
        let details = issue_details(
            "refresh_token",
            &access.jti.to_string(),
            Some(&family.id.to_string()),
            &scope.to_string(),
        );
        let audit = token_event(AuditAction::TokenRefreshed, client, old.user_id, meta, now, details);
        match self
            .stores
            .tokens
            .rotate_refresh_token(&digest, &new_record, access.record.as_ref(), now, &[audit])
            .await?
        {
            RefreshRotation::Rotated(_) => {}
            RefreshRotation::Reused(token) => {
                self.revoke_for_reuse(client, token.family_id, token.user_id, "refresh_token", meta)
                    .await?;
                return Err(invalid());
            }
            RefreshRotation::Revoked(_) | RefreshRotation::Unknown => return Err(invalid()),
        }
        let id_token = match (&user, scope.contains("openid"), family.auth_time) {
            (Some(user), true, Some(auth_time)) => {
                let input = IdTokenInput {
                    user,
                    nonce: None,
                    auth_time,
                    amr: &[],
                    access_token: &access.token,
                };
                Some(self.mint_id_token(client, &scope, &input, now)?)
            }
            _ => None,
        };
        Ok(TokenResponse {
            access_token: access.token,
            token_type: "Bearer",
            expires_in: access.expires_in,
            refresh_token: Some(new_secret.expose().to_owned()),
            id_token,
            scope: scope.to_string(),
        })
    }
}
