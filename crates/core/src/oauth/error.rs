//! OAuth errors in the protocol's own vocabulary (RFC 6749 §4.1.2.1, §5.2; RFC 6750 §3.1;
//! OIDC Core §3.1.2.6), with the store failure that caused a server error kept for the log.

use std::borrow::Cow;

use crate::error::StoreError;
use crate::jose::JoseError;

/// The `error` code of an OAuth error response.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    InvalidScope,
    AccessDenied,
    UnsupportedResponseType,
    LoginRequired,
    ConsentRequired,
    InteractionRequired,
    InvalidToken,
    InsufficientScope,
    UnsupportedTokenType,
    InvalidRedirectUri,
    InvalidClientMetadata,
    ServerError,
    TemporarilyUnavailable,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidClient => "invalid_client",
            ErrorCode::InvalidGrant => "invalid_grant",
            ErrorCode::UnauthorizedClient => "unauthorized_client",
            ErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            ErrorCode::InvalidScope => "invalid_scope",
            ErrorCode::AccessDenied => "access_denied",
            ErrorCode::UnsupportedResponseType => "unsupported_response_type",
            ErrorCode::LoginRequired => "login_required",
            ErrorCode::ConsentRequired => "consent_required",
            ErrorCode::InteractionRequired => "interaction_required",
            ErrorCode::InvalidToken => "invalid_token",
            ErrorCode::InsufficientScope => "insufficient_scope",
            ErrorCode::UnsupportedTokenType => "unsupported_token_type",
            ErrorCode::InvalidRedirectUri => "invalid_redirect_uri",
            ErrorCode::InvalidClientMetadata => "invalid_client_metadata",
            ErrorCode::ServerError => "server_error",
            ErrorCode::TemporarilyUnavailable => "temporarily_unavailable",
        }
    }

    /// The HTTP status of a JSON error response with this code.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::InvalidClient | ErrorCode::InvalidToken => 401,
            ErrorCode::InsufficientScope => 403,
            ErrorCode::ServerError => 500,
            ErrorCode::TemporarilyUnavailable => 503,
            _ => 400,
        }
    }
}

/// An OAuth error: a code, a description safe to show the client, and (for server errors) the
/// internal cause, which is logged and never sent.
#[derive(Debug, thiserror::Error)]
#[error("{}: {description}", code.as_str())]
pub struct OAuthError {
    pub code: ErrorCode,
    pub description: Cow<'static, str>,
    #[source]
    pub cause: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl OAuthError {
    pub fn new(code: ErrorCode, description: impl Into<Cow<'static, str>>) -> Self {
        OAuthError {
            code,
            description: description.into(),
            cause: None,
        }
    }

    pub fn invalid_request(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidRequest, description)
    }

    pub fn invalid_grant(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidGrant, description)
    }

    pub fn invalid_client(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidClient, description)
    }

    pub fn invalid_scope(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidScope, description)
    }

    pub fn unauthorized_client(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::UnauthorizedClient, description)
    }

    pub fn invalid_token(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidToken, description)
    }

    /// Whether this is the server's fault (logged with its cause) rather than the client's.
    pub fn is_server_side(&self) -> bool {
        matches!(self.code, ErrorCode::ServerError | ErrorCode::TemporarilyUnavailable)
    }
}

impl From<StoreError> for OAuthError {
    fn from(err: StoreError) -> Self {
        // Security state fails closed: an outage is a 503, never a success or "not found".
        let (code, description) = if err.is_unavailable() {
            (
                ErrorCode::TemporarilyUnavailable,
                "a backend service is unavailable; retry later",
            )
        } else {
            (ErrorCode::ServerError, "the server could not complete the request")
        };
        OAuthError {
            code,
            description: Cow::Borrowed(description),
            cause: Some(Box::new(err)),
        }
    }
}

impl From<JoseError> for OAuthError {
    fn from(err: JoseError) -> Self {
        OAuthError {
            code: ErrorCode::ServerError,
            description: Cow::Borrowed("the server could not sign the token"),
            cause: Some(Box::new(err)),
        }
    }
}

pub type OAuthResult<T> = Result<T, OAuthError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outages_are_503_and_other_store_errors_500() {
        let down = OAuthError::from(StoreError::Unavailable(Box::new(std::io::Error::other("refused"))));
        assert_eq!(down.code, ErrorCode::TemporarilyUnavailable);
        assert_eq!(down.code.http_status(), 503);
        assert!(!down.description.contains("refused"));
        let broken = OAuthError::from(StoreError::Corrupt("bad row".into()));
        assert_eq!(broken.code.http_status(), 500);
        assert!(broken.is_server_side());
        assert_eq!(OAuthError::invalid_client("x").code.http_status(), 401);
        assert_eq!(OAuthError::invalid_grant("x").code.http_status(), 400);
    }
}
