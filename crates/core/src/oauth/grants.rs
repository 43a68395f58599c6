//! The token endpoint's grants: which one a request asks for, whether the client may use it,
//! and the `client_credentials` grant (the code and refresh grants have files of their own).

use serde_json::json;

use super::TokenService;
use super::audit::{RequestMeta, issue_details, token_event};
use super::error::{ErrorCode, OAuthError, OAuthResult};
use super::mint::{Grant, TokenResponse};
use crate::model::{AuditAction, Client, GrantType};
use crate::scope::Scopes;

/// A parsed token request (RFC 6749 §4.1.3, §4.4.2, §6).
#[derive(Clone, PartialEq, Eq)]
pub enum TokenRequest {
    AuthorizationCode {
        code: String,
        redirect_uri: Option<String>,
        code_verifier: Option<String>,
    },
    RefreshToken {
        refresh_token: String,
        scope: Option<String>,
    },
    ClientCredentials {
        scope: Option<String>,
    },
}

impl std::fmt::Debug for TokenRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TokenRequest::AuthorizationCode { .. } => "TokenRequest::AuthorizationCode(<redacted>)",
            TokenRequest::RefreshToken { .. } => "TokenRequest::RefreshToken(<redacted>)",
            TokenRequest::ClientCredentials { .. } => "TokenRequest::ClientCredentials",
        })
    }
}

impl TokenRequest {
    pub fn grant_type(&self) -> GrantType {
        match self {
            TokenRequest::AuthorizationCode { .. } => GrantType::AuthorizationCode,
            TokenRequest::RefreshToken { .. } => GrantType::RefreshToken,
            TokenRequest::ClientCredentials { .. } => GrantType::ClientCredentials,
        }
    }
}

/// The requested scope if it is a subset of `allowed`; `allowed` itself when none was asked for.
pub fn narrow_scope(requested: Option<&str>, allowed: &Scopes) -> OAuthResult<Scopes> {
    match requested {
        None => Ok(allowed.clone()),
        Some(text) => {
            let asked = Scopes::parse(text).map_err(|_| OAuthError::invalid_scope("scope is malformed"))?;
            if asked.is_empty() {
                Ok(allowed.clone())
            } else if asked.is_subset_of(allowed) {
                Ok(asked)
            } else {
                Err(OAuthError::invalid_scope(
                    "the requested scope exceeds what was granted",
                ))
            }
        }
    }
}

/// What is left of a grant's scope under the client's current registration: an operator who
/// narrows a client's scope narrows every code and refresh token it already holds. Nothing left
/// is `invalid_grant`.
pub fn still_registered(granted: &Scopes, registered: &Scopes) -> OAuthResult<Scopes> {
    let left = granted.intersection(registered);
    if left.is_empty() && !granted.is_empty() {
        return Err(OAuthError::invalid_grant(
            "the client is no longer registered for any scope of this grant",
        ));
    }
    Ok(left)
}

impl TokenService {
    /// Answers a token request from an authenticated client.
    pub async fn exchange(
        &self,
        client: &Client,
        request: TokenRequest,
        meta: &RequestMeta,
    ) -> OAuthResult<TokenResponse> {
        let grant = request.grant_type();
        if !client.allows_grant(grant) {
            return Err(OAuthError::new(
                ErrorCode::UnauthorizedClient,
                format!("this client may not use the {} grant", grant.as_str()),
            ));
        }
        match request {
            TokenRequest::AuthorizationCode {
                code,
                redirect_uri,
                code_verifier,
            } => {
                self.redeem_code(client, &code, redirect_uri.as_deref(), code_verifier.as_deref(), meta)
                    .await
            }
            TokenRequest::RefreshToken { refresh_token, scope } => {
                self.refresh(client, &refresh_token, scope.as_deref(), meta).await
            }
            TokenRequest::ClientCredentials { scope } => self.client_credentials(client, scope.as_deref(), meta).await,
        }
    }

    /// RFC 6749 §4.4. A JWT needs no store write; its audit event goes to the batching sink.
    async fn client_credentials(
        &self,
        client: &Client,
        scope: Option<&str>,
        meta: &RequestMeta,
    ) -> OAuthResult<TokenResponse> {
        if client.is_public() {
            return Err(OAuthError::unauthorized_client(
                "a public client cannot use client_credentials",
            ));
        }
        let scope = narrow_scope(scope, &client.scope)?;
        let now = self.clock.now();
        let grant = Grant {
            client,
            user: None,
            scope: &scope,
            family: None,
            auth_time: None,
        };
        let access = self.mint_access(&grant, now)?;
        if let Some(record) = &access.record {
            self.stores.tokens.create_access_token(record).await?;
        }
        let details = issue_details("client_credentials", &access.jti.to_string(), None, &scope.to_string());
        self.audit
            .record(vec![token_event(
                AuditAction::TokenIssued,
                client,
                None,
                meta,
                now,
                details,
            )])
            .await;
        Ok(TokenResponse {
            access_token: access.token,
            token_type: "Bearer",
            expires_in: access.expires_in,
            refresh_token: None,
            id_token: None,
            scope: scope.to_string(),
        })
    }

    /// Revokes a family after detected reuse (a replayed code or refresh token), recording why.
    pub(crate) async fn revoke_for_reuse(
        &self,
        client: &Client,
        family: crate::ids::FamilyId,
        user: Option<crate::ids::UserId>,
        what: &'static str,
        meta: &RequestMeta,
    ) -> OAuthResult<()> {
        crate::telemetry::count_token_reuse(what);
        let now = self.clock.now();
        let mut event = token_event(
            AuditAction::TokenReuseDetected,
            client,
            user,
            meta,
            now,
            json!({ "reused": what, "family_id": family.to_string() }),
        );
        event.outcome = crate::model::Outcome::Failure;
        let found = self.stores.tokens.revoke_family(family, now, &[event.clone()]).await?;
        if !found {
            // The family was not there (yet): record the reuse anyway.
            self.audit.record(vec![event]).await;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grant_keeps_only_the_scopes_the_client_is_still_registered_for() {
        let granted = Scopes::parse("openid email offline_access").unwrap();
        let narrowed = Scopes::parse("openid email").unwrap();
        assert_eq!(
            still_registered(&granted, &narrowed).unwrap().to_string(),
            "email openid"
        );
        let unrelated = Scopes::parse("admin").unwrap();
        assert_eq!(
            still_registered(&granted, &unrelated).unwrap_err().code,
            ErrorCode::InvalidGrant
        );
    }

    #[test]
    fn scope_can_only_narrow() {
        let allowed = Scopes::parse("openid email offline_access").unwrap();
        assert_eq!(narrow_scope(None, &allowed).unwrap(), allowed);
        assert_eq!(narrow_scope(Some(""), &allowed).unwrap(), allowed);
        assert_eq!(narrow_scope(Some("email"), &allowed).unwrap().to_string(), "email");
        assert_eq!(
            narrow_scope(Some("email admin"), &allowed).unwrap_err().code,
            ErrorCode::InvalidScope
        );
        assert_eq!(
            narrow_scope(Some("a\"b"), &allowed).unwrap_err().code,
            ErrorCode::InvalidScope
        );
    }
}
