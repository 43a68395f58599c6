//! The CSRF token a page handler puts into its forms, handed over by the CSRF layer
//! ([`super::csrf::protect`]).

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use keygate_core::secret_token::SecretToken;

/// The token a handler puts into its forms.
#[derive(Clone)]
pub struct CsrfToken(pub(super) SecretToken);

impl CsrfToken {
    pub fn value(&self) -> &str {
        self.0.expose()
    }
}

impl std::fmt::Debug for CsrfToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CsrfToken(<redacted>)")
    }
}

impl<S: Send + Sync> FromRequestParts<S> for CsrfToken {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<CsrfToken>().cloned().ok_or_else(|| {
            tracing::error!("a page handler asked for a CSRF token outside the csrf::protect layer");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        })
    }
}
