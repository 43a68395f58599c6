//! Making tokens: JWT (RFC 9068) or opaque `kga_` access tokens, `kgr_` refresh tokens, ID
//! tokens with the claims their scopes grant, and the token response that carries them.

use serde::Serialize;
use serde_json::{Map, Value};

use super::TokenService;
use super::error::OAuthResult;
use crate::clock::Timestamp;
use crate::ids::{FamilyId, TokenId, UserId};
use crate::jose::{AccessTokenClaims, IdTokenClaims, at_hash};
use crate::model::{AccessToken, Client, RefreshToken, TokenFormat, User};
use crate::scope::Scopes;
use crate::secret_token::{SecretKind, SecretToken};

/// The body of a successful token response (RFC 6749 §5.1, OIDC Core §3.1.3.3).
#[derive(Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    pub scope: String,
}

impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenResponse")
            .field("expires_in", &self.expires_in)
            .field("refresh_token", &self.refresh_token.as_ref().map(|_| "<redacted>"))
            .field("id_token", &self.id_token.as_ref().map(|_| "<redacted>"))
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

/// An access token made for a grant: the text for the client, and the record to store when it
/// is opaque.
pub struct MintedAccess {
    pub token: String,
    pub jti: TokenId,
    pub record: Option<AccessToken>,
    pub expires_in: u64,
}

/// Who and what a token is for.
pub struct Grant<'a> {
    pub client: &'a Client,
    pub user: Option<UserId>,
    pub scope: &'a Scopes,
    pub family: Option<FamilyId>,
    pub auth_time: Option<Timestamp>,
}

/// What an ID token says beyond the grant.
pub struct IdTokenInput<'a> {
    pub user: &'a User,
    pub nonce: Option<&'a str>,
    pub auth_time: Timestamp,
    pub amr: &'a [String],
    pub access_token: &'a str,
}

impl TokenService {
    pub(crate) fn mint_access(&self, grant: &Grant<'_>, now: Timestamp) -> OAuthResult<MintedAccess> {
        let ttl = self.settings.access_token_ttl;
        let expires_at = now.plus(ttl);
        let jti = TokenId::new();
        if grant.client.access_token_format == TokenFormat::Opaque {
            let secret = SecretToken::generate(SecretKind::OpaqueAccessToken);
            let record = AccessToken {
                digest: secret.digest(),
                jti,
                family_id: grant.family,
                client_id: grant.client.id.clone(),
                user_id: grant.user,
                scope: grant.scope.clone(),
                issued_at: now,
                expires_at,
                revoked_at: None,
            };
            return Ok(MintedAccess {
                token: secret.expose().to_owned(),
                jti,
                record: Some(record),
                expires_in: ttl.as_secs(),
            });
        }
        let claims = AccessTokenClaims {
            iss: self.settings.issuer.clone(),
            sub: grant.user.map_or_else(|| grant.client.id.0.clone(), |u| u.to_string()),
            aud: self.settings.audience.clone(),
            client_id: grant.client.id.0.clone(),
            scope: grant.scope.to_string(),
            jti: jti.to_string(),
            iat: now.as_unix_seconds(),
            exp: expires_at.as_unix_seconds(),
            auth_time: grant.auth_time.map(Timestamp::as_unix_seconds),
            sid: None,
            fid: grant.family.map(|f| f.to_string()),
        };
        let alg = grant.client.access_token_alg.unwrap_or(self.settings.access_token_alg);
        let token = self.keys.current().set.sign_access_token(alg, &claims)?;
        Ok(MintedAccess {
            token,
            jti,
            record: None,
            expires_in: ttl.as_secs(),
        })
    }

    pub(crate) fn mint_refresh(
        &self,
        grant: &Grant<'_>,
        family: FamilyId,
        parent: Option<crate::TokenDigest>,
        now: Timestamp,
    ) -> (SecretToken, RefreshToken) {
        let secret = SecretToken::generate(SecretKind::RefreshToken);
        let record = RefreshToken {
            digest: secret.digest(),
            family_id: family,
            parent,
            client_id: grant.client.id.clone(),
            user_id: grant.user,
            scope: grant.scope.clone(),
            issued_at: now,
            expires_at: now.plus(self.settings.refresh_token_ttl),
            used_at: None,
            revoked_at: None,
        };
        (secret, record)
    }

    pub(crate) fn mint_id_token(
        &self,
        client: &Client,
        scope: &Scopes,
        input: &IdTokenInput<'_>,
        now: Timestamp,
    ) -> OAuthResult<String> {
        let alg = client.id_token_alg.unwrap_or(self.settings.id_token_alg);
        let claims = IdTokenClaims {
            iss: self.settings.issuer.clone(),
            sub: input.user.id.to_string(),
            aud: client.id.0.clone(),
            exp: now.plus(self.settings.id_token_ttl).as_unix_seconds(),
            iat: now.as_unix_seconds(),
            auth_time: input.auth_time.as_unix_seconds(),
            nonce: input.nonce.map(str::to_owned),
            at_hash: Some(at_hash(alg, input.access_token)),
            amr: input.amr.to_vec(),
            sid: None,
            extra: user_claims(input.user, scope),
        };
        Ok(self.keys.current().set.sign_id_token(alg, &claims)?)
    }
}

/// The profile and email claims `scope` grants (OIDC Core §5.4). Keygate keeps no name, so
/// `profile` grants `preferred_username` (the address) and `updated_at`.
pub fn user_claims(user: &User, scope: &Scopes) -> Map<String, Value> {
    let mut claims = Map::new();
    if scope.contains("email") {
        claims.insert("email".into(), Value::from(user.email.as_str()));
        claims.insert("email_verified".into(), Value::from(user.is_verified()));
    }
    if scope.contains("profile") {
        claims.insert("preferred_username".into(), Value::from(user.email.as_str()));
        claims.insert("updated_at".into(), Value::from(user.updated_at.as_unix_seconds()));
    }
    claims
}
