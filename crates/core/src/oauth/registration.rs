//! Client registration rules: RFC 7591 metadata in, a checked [`Client`] out (with its secret,
//! shown once), and the RFC 7591 view of a registered client.

use rand::Rng;
use rand::distr::Alphanumeric;
use serde::{Deserialize, Serialize};

use super::error::{ErrorCode, OAuthError, OAuthResult};
use crate::clock::Timestamp;
use crate::ids::ClientId;
use crate::model::{AuthMethod, Client, GrantType, SigningAlg, TokenFormat};
use crate::redirect_uri;
use crate::scope::Scopes;
use crate::secret_token::{SecretKind, SecretToken};

/// Scopes a client gets when it registers none.
pub const DEFAULT_CLIENT_SCOPE: &str = "openid profile email offline_access";
const MAX_CLIENT_ID_LEN: usize = 100;
const MAX_NAME_LEN: usize = 200;

/// RFC 7591 client metadata (plus Keygate's `first_party` and `access_token_format`). Every
/// field is optional: at creation a missing one takes its default, in an update it stays as is.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClientMetadata {
    /// Chosen by the server unless given (letters, digits, `-._~`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_uris: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_logout_redirect_uris: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_types: Option<Vec<String>>,
    /// Only `["code"]` is accepted; kept so RFC 7591 documents round-trip.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_types: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint_auth_method: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token_signed_response_alg: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token_signed_response_alg: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_party: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token_format: Option<String>,
}

/// A client as the admin API and the CLI show it (RFC 7591 §3.2.1 names). `client_secret` is
/// present only in the answer that created or rotated it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClientView {
    pub client_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    pub client_name: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub grant_types: Vec<String>,
    pub response_types: Vec<String>,
    pub token_endpoint_auth_method: String,
    pub scope: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token_signed_response_alg: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token_signed_response_alg: Option<String>,
    pub first_party: bool,
    pub access_token_format: String,
    /// Unix seconds (RFC 7591).
    pub client_id_issued_at: i64,
    /// 0: the secret does not expire (RFC 7591).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret_expires_at: Option<i64>,
    pub updated_at: String,
}

impl ClientView {
    pub fn of(client: &Client, secret: Option<&SecretToken>) -> Self {
        ClientView {
            client_id: client.id.0.clone(),
            client_secret: secret.map(|s| s.expose().to_owned()),
            client_name: client.name.clone(),
            redirect_uris: client.redirect_uris.clone(),
            post_logout_redirect_uris: client.post_logout_redirect_uris.clone(),
            grant_types: client.grant_types.iter().map(|g| g.as_str().to_owned()).collect(),
            response_types: vec!["code".to_owned()],
            token_endpoint_auth_method: client.auth_method.as_str().to_owned(),
            scope: client.scope.to_string(),
            id_token_signed_response_alg: client.id_token_alg.map(|a| a.as_str().to_owned()),
            access_token_signed_response_alg: client.access_token_alg.map(|a| a.as_str().to_owned()),
            first_party: client.first_party,
            access_token_format: client.access_token_format.as_str().to_owned(),
            client_id_issued_at: client.created_at.as_unix_seconds(),
            client_secret_expires_at: (!client.is_public()).then_some(0),
            updated_at: client.updated_at.to_rfc3339(),
        }
    }
}

fn metadata_error(description: impl Into<String>) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidClientMetadata, description.into())
}

/// A new client from `meta`; the secret (for a confidential client) is to be shown once.
pub fn new_client(meta: &ClientMetadata, now: Timestamp) -> OAuthResult<(Client, Option<SecretToken>)> {
    let id = match &meta.client_id {
        Some(id) => check_client_id(id)?,
        None => generate_client_id(),
    };
    let blank = Client {
        name: String::new(),
        secret_digest: None,
        auth_method: AuthMethod::ClientSecretBasic,
        redirect_uris: Vec::new(),
        post_logout_redirect_uris: Vec::new(),
        grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        scope: Scopes::parse(DEFAULT_CLIENT_SCOPE).unwrap_or_default(),
        access_token_format: TokenFormat::Jwt,
        access_token_alg: None,
        id_token_alg: None,
        first_party: false,
        created_at: now,
        updated_at: now,
        id,
    };
    let (mut client, secret) = apply_metadata(&blank, meta, now)?;
    if client.name.is_empty() {
        client.name = client.id.0.clone();
    }
    Ok((client, secret))
}

/// `client` changed by the fields `meta` sets. A client that becomes confidential gets a new
/// secret (returned); one that becomes public loses its secret. The id cannot change.
pub fn apply_metadata(
    client: &Client,
    meta: &ClientMetadata,
    now: Timestamp,
) -> OAuthResult<(Client, Option<SecretToken>)> {
    if meta.client_id.as_deref().is_some_and(|id| id != client.id.0) {
        return Err(metadata_error("client_id cannot be changed"));
    }
    let mut next = client.clone();
    next.updated_at = now;
    if let Some(name) = &meta.client_name {
        if name.chars().count() > MAX_NAME_LEN || name.chars().any(char::is_control) {
            return Err(metadata_error(format!(
                "client_name must be at most {MAX_NAME_LEN} characters without control characters"
            )));
        }
        next.name = name.trim().to_owned();
    }
    if let Some(uris) = &meta.redirect_uris {
        next.redirect_uris = check_uris(uris, "redirect_uris")?;
    }
    if let Some(uris) = &meta.post_logout_redirect_uris {
        next.post_logout_redirect_uris = check_uris(uris, "post_logout_redirect_uris")?;
    }
    if let Some(grants) = &meta.grant_types {
        next.grant_types = parse_grants(grants)?;
    }
    if let Some(types) = &meta.response_types
        && types.iter().any(|t| t != "code")
    {
        return Err(metadata_error("response_types may only hold \"code\""));
    }
    if let Some(method) = &meta.token_endpoint_auth_method {
        next.auth_method = AuthMethod::parse(method).ok_or_else(|| {
            metadata_error("token_endpoint_auth_method must be client_secret_basic, client_secret_post or none")
        })?;
    }
    if let Some(scope) = &meta.scope {
        next.scope = Scopes::parse(scope).map_err(|_| metadata_error("scope holds an invalid scope token"))?;
    }
    if let Some(alg) = &meta.id_token_signed_response_alg {
        next.id_token_alg = Some(parse_alg(alg, "id_token_signed_response_alg")?);
    }
    if let Some(alg) = &meta.access_token_signed_response_alg {
        next.access_token_alg = Some(parse_alg(alg, "access_token_signed_response_alg")?);
    }
    if let Some(first_party) = meta.first_party {
        next.first_party = first_party;
    }
    if let Some(format) = &meta.access_token_format {
        next.access_token_format =
            TokenFormat::parse(format).ok_or_else(|| metadata_error("access_token_format must be jwt or opaque"))?;
    }
    check_consistency(&next)?;
    let secret = match (next.is_public(), next.secret_digest.is_some()) {
        (true, _) => {
            next.secret_digest = None;
            None
        }
        (false, true) => None,
        (false, false) => {
            let secret = SecretToken::generate(SecretKind::ClientSecret);
            next.secret_digest = Some(secret.digest());
            Some(secret)
        }
    };
    Ok((next, secret))
}

fn check_consistency(client: &Client) -> OAuthResult<()> {
    if client.grant_types.is_empty() {
        return Err(metadata_error("grant_types must name at least one grant"));
    }
    if client.allows_grant(GrantType::AuthorizationCode) && client.redirect_uris.is_empty() {
        return Err(OAuthError::new(
            ErrorCode::InvalidRedirectUri,
            "the authorization_code grant needs at least one redirect URI",
        ));
    }
    if client.is_public() && client.allows_grant(GrantType::ClientCredentials) {
        return Err(metadata_error(
            "a public client (token_endpoint_auth_method none) cannot use client_credentials",
        ));
    }
    Ok(())
}

fn check_uris(uris: &[String], field: &str) -> OAuthResult<Vec<String>> {
    for uri in uris {
        redirect_uri::validate_registration(uri)
            .map_err(|e| OAuthError::new(ErrorCode::InvalidRedirectUri, format!("{field}: {e}")))?;
    }
    let mut unique = uris.to_vec();
    unique.dedup();
    Ok(unique)
}

fn parse_grants(grants: &[String]) -> OAuthResult<Vec<GrantType>> {
    let mut out = Vec::new();
    for grant in grants {
        let parsed = GrantType::parse(grant).ok_or_else(|| {
            metadata_error(format!(
                "grant type `{grant}` is not supported (authorization_code, refresh_token, client_credentials)"
            ))
        })?;
        if !out.contains(&parsed) {
            out.push(parsed);
        }
    }
    Ok(out)
}

fn parse_alg(alg: &str, field: &str) -> OAuthResult<SigningAlg> {
    SigningAlg::parse(alg).ok_or_else(|| metadata_error(format!("{field} must be RS256, ES256 or EdDSA")))
}

fn check_client_id(id: &str) -> OAuthResult<ClientId> {
    let ok = !id.is_empty()
        && id.len() <= MAX_CLIENT_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
    if ok {
        Ok(ClientId(id.to_owned()))
    } else {
        Err(metadata_error(format!(
            "client_id must be 1 to {MAX_CLIENT_ID_LEN} characters of letters, digits and -._~"
        )))
    }
}

/// 24 random letters and digits (≈ 143 bits): unguessable, though a client id is not a secret.
fn generate_client_id() -> ClientId {
    ClientId(rand::rng().sample_iter(Alphanumeric).take(24).map(char::from).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(json: serde_json::Value) -> ClientMetadata {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn a_confidential_client_gets_a_secret_and_defaults() {
        let (client, secret) = new_client(
            &meta(serde_json::json!({"redirect_uris": ["https://app.example/cb"]})),
            Timestamp::EPOCH,
        )
        .unwrap();
        let secret = secret.unwrap();
        assert!(secret.expose().starts_with("kgs_"));
        assert_eq!(client.secret_digest, Some(secret.digest()));
        assert_eq!(client.auth_method, AuthMethod::ClientSecretBasic);
        assert_eq!(client.name, client.id.0);
        assert!(client.scope.contains("openid"));
        let view = ClientView::of(&client, Some(&secret));
        assert_eq!(view.client_secret.as_deref(), Some(secret.expose()));
        assert!(ClientView::of(&client, None).client_secret.is_none());
    }

    #[test]
    fn public_clients_have_no_secret_and_no_client_credentials() {
        let m = meta(serde_json::json!({
            "client_id": "spa", "redirect_uris": ["http://127.0.0.1/cb"], "token_endpoint_auth_method": "none"
        }));
        let (client, secret) = new_client(&m, Timestamp::EPOCH).unwrap();
        assert!(secret.is_none() && client.secret_digest.is_none() && client.is_public());
        let bad = ClientMetadata {
            grant_types: Some(vec!["client_credentials".into()]),
            ..m
        };
        assert_eq!(
            new_client(&bad, Timestamp::EPOCH).unwrap_err().code,
            ErrorCode::InvalidClientMetadata
        );
    }

    #[test]
    fn bad_redirect_uris_are_invalid_redirect_uri() {
        for uri in [
            "http://app.example/cb",
            "https://app.example/cb#x",
            "javascript:alert(1)",
            "https://*.example/cb",
        ] {
            let err = new_client(&meta(serde_json::json!({"redirect_uris": [uri]})), Timestamp::EPOCH).unwrap_err();
            assert_eq!(err.code, ErrorCode::InvalidRedirectUri, "{uri}");
        }
        let err = new_client(
            &meta(serde_json::json!({"grant_types": ["authorization_code"]})),
            Timestamp::EPOCH,
        )
        .unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidRedirectUri);
    }

    #[test]
    fn updates_change_only_given_fields_and_switching_to_confidential_makes_a_secret() {
        let m = meta(serde_json::json!({
            "client_id": "app", "redirect_uris": ["https://a.example/cb"], "token_endpoint_auth_method": "none"
        }));
        let (client, _) = new_client(&m, Timestamp::EPOCH).unwrap();
        let later = Timestamp::from_millis(5);
        let change = meta(serde_json::json!({"token_endpoint_auth_method": "client_secret_post", "first_party": true}));
        let (changed, secret) = apply_metadata(&client, &change, later).unwrap();
        assert!(secret.is_some() && changed.first_party);
        assert_eq!(changed.redirect_uris, client.redirect_uris);
        assert_eq!(changed.updated_at, later);
        let rename = meta(serde_json::json!({"client_id": "other"}));
        assert!(apply_metadata(&changed, &rename, later).is_err());
    }

    #[test]
    fn unknown_fields_and_values_are_refused() {
        assert!(serde_json::from_value::<ClientMetadata>(serde_json::json!({"redirect_uri": "x"})).is_err());
        for bad in [
            serde_json::json!({"grant_types": ["password"]}),
            serde_json::json!({"id_token_signed_response_alg": "HS256"}),
            serde_json::json!({"access_token_format": "paseto"}),
            serde_json::json!({"client_id": "a b"}),
            serde_json::json!({"response_types": ["token"]}),
        ] {
            assert!(new_client(&meta(bad.clone()), Timestamp::EPOCH).is_err(), "{bad}");
        }
    }
}
