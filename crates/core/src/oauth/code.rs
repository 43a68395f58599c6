//! The authorization code grant: issuing a code at /authorize and redeeming it at /token.
//!
//! A code is single use (the store's atomic `redeem_code`), lives `code_ttl` (60 s), and is
//! bound to its client, redirect URI and PKCE challenge. A second redemption gets
//! `invalid_grant` and revokes the family the first one created. Should the replay arrive
//! between the first redemption and the creation of its family, the replay leaves a tombstone
//! that the first redemption checks after creating the family, so the family dies either way
//! (and the first redemption answers 200 either way: exactly one redemption ever succeeds).

use std::time::Duration;

use super::TokenService;
use super::audit::{RequestMeta, issue_details, token_event};
use super::error::{OAuthError, OAuthResult};
use super::mint::{Grant, IdTokenInput, TokenResponse};
use crate::clock::Timestamp;
use crate::ids::{ClientId, FamilyId, UserId};
use crate::model::{AuditAction, AuthorizationCode, Client, CodeRedemption, GrantType, TokenFamily};
use crate::pkce;
use crate::scope::Scopes;
use crate::secret_token::{SecretKind, SecretToken};

/// How long a replay's tombstone outlives the code (a redemption takes milliseconds).
const TOMBSTONE_TTL: Duration = Duration::from_secs(600);

fn tombstone_key(family: FamilyId) -> String {
    format!("oauth:family-revoked:{family}")
}

/// What /authorize decided, to be turned into a code.
#[derive(Clone, Debug)]
pub struct CodeGrant {
    pub client_id: ClientId,
    pub user_id: UserId,
    pub redirect_uri: String,
    pub scope: Scopes,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub auth_time: Timestamp,
    pub amr: Vec<String>,
}

/// Whether a grant with this scope for this client gets a refresh token: the client must be
/// registered for the refresh_token grant, and an OpenID request must also ask `offline_access`.
pub fn issues_refresh_token(client: &Client, scope: &Scopes) -> bool {
    client.allows_grant(GrantType::RefreshToken) && (scope.contains("offline_access") || !scope.contains("openid"))
}

impl TokenService {
    /// Stores a new code for `grant` and returns it (the only time it exists in clear).
    pub async fn issue_code(&self, grant: CodeGrant) -> OAuthResult<SecretToken> {
        let now = self.clock.now();
        let secret = SecretToken::generate(SecretKind::AuthorizationCode);
        let code = AuthorizationCode {
            digest: secret.digest(),
            client_id: grant.client_id,
            user_id: grant.user_id,
            redirect_uri: grant.redirect_uri,
            scope: grant.scope,
            nonce: grant.nonce,
            code_challenge_method: grant.code_challenge.as_ref().map(|_| pkce::S256.to_owned()),
            code_challenge: grant.code_challenge,
            auth_time: grant.auth_time,
            amr: grant.amr,
            created_at: now,
            expires_at: now.plus(self.settings.code_ttl),
            used_at: None,
            family_id: None,
        };
        self.stores.codes.create_code(&code).await?;
        Ok(secret)
    }

    pub(crate) async fn redeem_code(
        &self,
        client: &Client,
        code: &str,
        redirect_uri: Option<&str>,
        verifier: Option<&str>,
        meta: &RequestMeta,
    ) -> OAuthResult<TokenResponse> {
        let invalid = || OAuthError::invalid_grant("the authorization code is invalid, expired or already used");
        let secret = SecretToken::parse(SecretKind::AuthorizationCode, code).map_err(|_| invalid())?;
        let redirect_uri = redirect_uri.ok_or_else(|| OAuthError::invalid_request("redirect_uri is required"))?;
        let family = FamilyId::new();
        let now = self.clock.now();
        let code = match self.stores.codes.redeem_code(&secret.digest(), family, now).await? {
            CodeRedemption::Redeemed(code) => code,
            CodeRedemption::Replayed(code) => {
                if let Some(first) = code.family_id {
                    self.stores
                        .ephemeral
                        .put(&tombstone_key(first), b"1", now, TOMBSTONE_TTL)
                        .await?;
                    self.revoke_for_reuse(client, first, Some(code.user_id), "authorization_code", meta)
                        .await?;
                }
                return Err(invalid());
            }
            CodeRedemption::Unknown => return Err(invalid()),
        };
        if code.expires_at <= now || code.client_id != client.id {
            return Err(invalid());
        }
        if code.redirect_uri != redirect_uri {
            return Err(OAuthError::invalid_grant(
                "redirect_uri differs from the authorization request's",
            ));
        }
        pkce::check_token_request(code.code_challenge.as_deref(), verifier)
            .map_err(|e| OAuthError::invalid_grant(e.to_string()))?;
        if client.is_public() && code.code_challenge.is_none() {
            return Err(OAuthError::invalid_grant("a public client must use PKCE"));
        }
        let user = self
            .stores
            .users
            .get_user(code.user_id)
            .await?
            .filter(|u| u.is_active())
            .ok_or_else(|| OAuthError::invalid_grant("the user of this code is no longer active"))?;

        let grant = Grant {
            client,
            user: Some(user.id),
            scope: &code.scope,
            family: Some(family),
            auth_time: Some(code.auth_time),
        };
        let access = self.mint_access(&grant, now)?;
        let refresh = issues_refresh_token(client, &code.scope).then(|| self.mint_refresh(&grant, family, None, now));
        let id_token = if code.scope.contains("openid") {
            let input = IdTokenInput {
                user: &user,
                nonce: code.nonce.as_deref(),
                auth_time: code.auth_time,
                amr: &code.amr,
                access_token: &access.token,
            };
            Some(self.mint_id_token(client, &code.scope, &input, now)?)
        } else {
            None
        };
        let record = TokenFamily {
            id: family,
            client_id: client.id.clone(),
            user_id: Some(user.id),
            scope: code.scope.clone(),
            auth_time: Some(code.auth_time),
            created_at: now,
            revoked_at: None,
        };
        let details = issue_details(
            "authorization_code",
            &access.jti.to_string(),
            Some(&family.to_string()),
            &code.scope.to_string(),
        );
        let audit = token_event(AuditAction::TokenIssued, client, Some(user.id), meta, now, details);
        self.stores
            .tokens
            .create_family(
                &record,
                refresh.as_ref().map(|(_, r)| r),
                access.record.as_ref(),
                &[audit],
            )
            .await?;
        // A replay that came before the family existed: revoke it now. This redemption still
        // answers 200, exactly as when the replay comes after it; the tokens are dead either way.
        if self.stores.ephemeral.get(&tombstone_key(family), now).await?.is_some() {
            self.stores.tokens.revoke_family(family, now, &[]).await?;
        }
        Ok(TokenResponse {
            access_token: access.token,
            token_type: "Bearer",
            expires_in: access.expires_in,
            refresh_token: refresh.map(|(secret, _)| secret.expose().to_owned()),
            id_token,
            scope: code.scope.to_string(),
        })
    }
}
