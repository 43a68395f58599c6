//! Looking tokens up: introspection (RFC 7662; a client sees only its own tokens), revocation
//! (RFC 7009; a refresh token takes its family with it) and the bearer check behind userinfo.
//!
//! A JWT access token is checked by signature, then against its family (revoked families make
//! it inactive) and a short-lived revocation marker for its `jti`.

use std::time::Duration;

use serde::Serialize;
use serde_json::json;

use super::TokenService;
use super::audit::{RequestMeta, token_event};
use super::error::OAuthResult;
use crate::clock::Timestamp;
use crate::ids::{ClientId, FamilyId, UserId};
use crate::model::{AuditAction, Client};
use crate::scope::Scopes;
use crate::secret_token::{SecretKind, SecretToken};

fn revoked_jti_key(jti: &str) -> String {
    format!("oauth:revoked-jti:{jti}")
}

/// An RFC 7662 answer. An inactive token is `{"active": false}` and nothing else.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Introspection {
    pub active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
}

/// A live token, whatever its form.
#[derive(Clone, Debug, PartialEq)]
pub struct LiveToken {
    pub kind: LiveKind,
    pub client_id: ClientId,
    pub user_id: Option<UserId>,
    pub scope: Scopes,
    pub issued_at: Timestamp,
    pub expires_at: Timestamp,
    /// The jti of an access token; the family of a refresh token.
    pub id: String,
    pub family: Option<FamilyId>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LiveKind {
    JwtAccess,
    OpaqueAccess,
    Refresh,
}

impl TokenService {
    /// The live access token behind a bearer value (JWT or `kga_`), if any.
    pub async fn resolve_access_token(&self, token: &str) -> OAuthResult<Option<LiveToken>> {
        let now = self.clock.now();
        if token.starts_with(SecretKind::OpaqueAccessToken.prefix()) {
            let Ok(secret) = SecretToken::parse(SecretKind::OpaqueAccessToken, token) else {
                return Ok(None);
            };
            let Some(record) = self.stores.tokens.get_access_token(&secret.digest()).await? else {
                return Ok(None);
            };
            if record.revoked_at.is_some() || record.expires_at <= now {
                return Ok(None);
            }
            return Ok(Some(LiveToken {
                kind: LiveKind::OpaqueAccess,
                client_id: record.client_id,
                user_id: record.user_id,
                scope: record.scope,
                issued_at: record.issued_at,
                expires_at: record.expires_at,
                id: record.jti.to_string(),
                family: record.family_id,
            }));
        }
        let keys = self.keys.current();
        let Ok(claims) = keys
            .set
            .verify_access_token(token, &self.settings.issuer, &self.settings.audience, now)
        else {
            return Ok(None);
        };
        let family = claims.fid.as_deref().and_then(FamilyId::parse);
        if let Some(id) = family {
            let live = self
                .stores
                .tokens
                .get_family(id)
                .await?
                .is_some_and(|f| f.revoked_at.is_none());
            if !live {
                return Ok(None);
            }
        }
        if self
            .stores
            .ephemeral
            .get(&revoked_jti_key(&claims.jti), now)
            .await?
            .is_some()
        {
            return Ok(None);
        }
        let user_id = if claims.sub == claims.client_id {
            None
        } else {
            UserId::parse(&claims.sub)
        };
        Ok(Some(LiveToken {
            kind: LiveKind::JwtAccess,
            client_id: ClientId(claims.client_id),
            user_id,
            scope: Scopes::parse(&claims.scope).unwrap_or_default(),
            issued_at: Timestamp::from_unix_seconds(claims.iat),
            expires_at: Timestamp::from_unix_seconds(claims.exp),
            id: claims.jti,
            family,
        }))
    }

    async fn resolve_refresh_token(&self, token: &str) -> OAuthResult<Option<LiveToken>> {
        let Ok(secret) = SecretToken::parse(SecretKind::RefreshToken, token) else {
            return Ok(None);
        };
        let now = self.clock.now();
        let Some(record) = self.stores.tokens.get_refresh_token(&secret.digest()).await? else {
            return Ok(None);
        };
        if record.revoked_at.is_some() || record.used_at.is_some() || record.expires_at <= now {
            return Ok(None);
        }
        Ok(Some(LiveToken {
            kind: LiveKind::Refresh,
            client_id: record.client_id,
            user_id: record.user_id,
            scope: record.scope,
            issued_at: record.issued_at,
            expires_at: record.expires_at,
            id: record.family_id.to_string(),
            family: Some(record.family_id),
        }))
    }

    async fn resolve_any(&self, token: &str) -> OAuthResult<Option<LiveToken>> {
        if token.starts_with(SecretKind::RefreshToken.prefix()) {
            self.resolve_refresh_token(token).await
        } else {
            self.resolve_access_token(token).await
        }
    }

    /// RFC 7662 for `caller`: its own live tokens are described, anything else is inactive.
    pub async fn introspect(&self, caller: &Client, token: &str, meta: &RequestMeta) -> OAuthResult<Introspection> {
        let now = self.clock.now();
        let live = self.resolve_any(token).await?.filter(|t| t.client_id == caller.id);
        crate::telemetry::count_introspection(live.is_some());
        let details = json!({
            "active": live.is_some(),
            "jti": live.as_ref().map(|t| t.id.clone()),
        });
        let user = live.as_ref().and_then(|t| t.user_id);
        self.audit
            .record(vec![token_event(
                AuditAction::TokenIntrospected,
                caller,
                user,
                meta,
                now,
                details,
            )])
            .await;
        let Some(live) = live else {
            return Ok(Introspection::default());
        };
        Ok(Introspection {
            active: true,
            scope: Some(live.scope.to_string()),
            sub: Some(live.user_id.map_or_else(|| live.client_id.0.clone(), |u| u.to_string())),
            client_id: Some(live.client_id.0),
            exp: Some(live.expires_at.as_unix_seconds()),
            iat: Some(live.issued_at.as_unix_seconds()),
            iss: Some(self.settings.issuer.clone()),
            aud: (live.kind != LiveKind::Refresh).then(|| self.settings.audience.clone()),
            token_type: Some(match live.kind {
                LiveKind::Refresh => "refresh_token".to_owned(),
                _ => "Bearer".to_owned(),
            }),
            jti: (live.kind != LiveKind::Refresh).then_some(live.id),
        })
    }

    /// RFC 7009: revokes `caller`'s token; another client's or an unknown token is left alone
    /// and the answer is the same. A refresh token takes its family (and every access token
    /// issued from it) with it.
    pub async fn revoke(&self, caller: &Client, token: &str, meta: &RequestMeta) -> OAuthResult<()> {
        let Some(live) = self.resolve_any(token).await?.filter(|t| t.client_id == caller.id) else {
            return Ok(());
        };
        let now = self.clock.now();
        let details = json!({ "token_type": format!("{:?}", live.kind), "jti": live.id, "family_id": live.family.map(|f| f.to_string()) });
        let audit = [token_event(
            AuditAction::TokenRevoked,
            caller,
            live.user_id,
            meta,
            now,
            details,
        )];
        match (live.kind, live.family) {
            (LiveKind::Refresh, Some(family)) => {
                self.stores.tokens.revoke_family(family, now, &audit).await?;
            }
            (LiveKind::OpaqueAccess, _) => {
                if let Ok(secret) = SecretToken::parse(SecretKind::OpaqueAccessToken, token) {
                    self.stores
                        .tokens
                        .revoke_access_token(&secret.digest(), now, &audit)
                        .await?;
                }
            }
            _ => {
                let ttl = live.expires_at.since(now) + Duration::from_secs(1);
                self.stores
                    .ephemeral
                    .put(&revoked_jti_key(&live.id), b"1", now, ttl)
                    .await?;
                self.audit.record(audit.to_vec()).await;
            }
        }
        Ok(())
    }
}
