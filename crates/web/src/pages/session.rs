//! Who is signed in, for the pages: the session behind the cookie (the account API's cookie and
//! lookup), or nobody. A store outage is a 503 page, never "signed out"; unlike the API's
//! `CurrentSession`, failures are HTML pages.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::Response;
use keygate_core::accounts::SessionAuth;

use super::errors::failure_page;
use crate::http::{find_session, session_cookie};
use crate::state::AppState;

/// The signed-in user's session, if any.
pub struct MaybeSession(pub Option<SessionAuth>);

impl FromRequestParts<AppState> for MaybeSession {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        match find_session(&state.accounts, &parts.headers).await {
            Ok(found) => Ok(MaybeSession(found)),
            Err(err) => Err(failure_page(state, err)),
        }
    }
}

/// The raw session cookie the request carried, to end it at a new login (no fixation).
pub fn previous_session(headers: &axum::http::HeaderMap, state: &AppState) -> Option<String> {
    session_cookie(&state.accounts, headers)
}
