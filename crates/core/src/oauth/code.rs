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
use super::grants::still_registered;
use super::mint::{Grant, IdTokenInput, TokenResponse};
use crate::clock::Timestamp;
use crate::ids::{ClientId, FamilyId, UserId};
use crate::model::{AuditAction, AuthorizationCode, Client, CodeRedemption, GrantType, TokenFamily};
use crate::pkce;
use crate::redirect_uri;
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

/// The code's bindings (RFC 6749 §4.1.3, RFC 7636 §4.6): the redirect URI of the authorization
/// request, still registered for the client, and the PKCE verifier.
fn check_binding(
    client: &Client,
    code: &AuthorizationCode,
    redirect_uri: &str,
    verifier: Option<&str>,
) -> OAuthResult<()> {
    if code.redirect_uri != redirect_uri {
        return Err(OAuthError::invalid_grant(
            "redirect_uri differs from the authorization request's",
        ));
    }
    if redirect_uri::find_match(client.redirect_uris.iter().map(String::as_str), redirect_uri).is_none() {
        return Err(OAuthError::invalid_grant(
            "redirect_uri is no longer registered for this client",
        ));
    }
    pkce::check_token_request(code.code_challenge.as_deref(), verifier)
        .map_err(|e| OAuthError::invalid_grant(e.to_string()))?;
    if client.is_public() && code.code_challenge.is_none() {
        return Err(OAuthError::invalid_grant("a public client must use PKCE"));
    }
    Ok(())
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

    /// Redeems a code for `client`. Nothing changes until the client, redirect URI, PKCE verifier
    /// and user check out: another client, or a wrong verifier, neither burns the owner's code nor
    /// revokes what it issued. Only the owner's replay of a used code revokes its family.
    /// The owner presented a used code: whatever the first redemption issued dies (now, or through
    /// the tombstone when its family is not stored yet). Answers the error to send.
    async fn replayed(&self, client: &Client, code: &AuthorizationCode, meta: &RequestMeta) -> OAuthError {
        let invalid = OAuthError::invalid_grant("the authorization code is invalid, expired or already used");
        let Some(first) = code.family_id else {
            return invalid;
        };
        let now = self.clock.now();
        let revoked = async {
            self.stores
                .ephemeral
                .put(&tombstone_key(first), b"1", now, TOMBSTONE_TTL)
                .await?;
            self.revoke_for_reuse(client, first, Some(code.user_id), "authorization_code", meta)
                .await
        };
        match revoked.await {
            Ok(()) => invalid,
            Err(err) => err,
        }
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
        let digest = secret.digest();
        let now = self.clock.now();
        let code = self.stores.codes.get_code(&digest).await?.ok_or_else(invalid)?;
        if code.client_id != client.id || code.expires_at <= now {
            return Err(invalid());
        }
        check_binding(client, &code, redirect_uri, verifier)?;
        if code.used_at.is_some() {
            return Err(self.replayed(client, &code, meta).await);
        }
        let scope = still_registered(&code.scope, &client.scope)?;
        let user = self
            .stores
            .users
            .get_user(code.user_id)
            .await?
            .filter(|u| u.is_active())
            .ok_or_else(|| OAuthError::invalid_grant("the user of this code is no longer active"))?;
        let family = FamilyId::new();
        match self.stores.codes.redeem_code(&digest, family, now).await? {
            CodeRedemption::Redeemed(_) => {}
            // A concurrent redemption by the owner won: this one is the replay.
            CodeRedemption::Replayed(used) => return Err(self.replayed(client, &used, meta).await),
            CodeRedemption::Unknown => return Err(invalid()),
        }
        let code = AuthorizationCode { scope, ..code };

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
