//! GET /oauth2/logout (OpenID Connect RP-Initiated Logout 1.0; the checks are core's
//! `TokenService::check_logout`): with a valid `id_token_hint`
//! (expired ones are accepted, as the spec allows) the browser session ends and the user goes
//! to the client's registered `post_logout_redirect_uri` (with `state`), or sees a signed-out
//! page. Without a hint the user is asked on the `/logout` page instead, so a third-party link
//! cannot sign anyone out. A redirect URI that is not registered is never followed.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use keygate_core::oauth::{LogoutCheck, LogoutRefusal};
use serde::Deserialize;

use crate::http::{ClientMeta, clear_session_cookie, find_session, see_other, session_cookie};
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LogoutQuery {
    pub id_token_hint: Option<String>,
    pub post_logout_redirect_uri: Option<String>,
    pub state: Option<String>,
    pub client_id: Option<String>,
}

fn refused(state: &AppState, message: &str) -> Response {
    state
        .pages
        .error_page(StatusCode::BAD_REQUEST, "Sign-out request refused", message)
}

#[utoipa::path(get, path = "/oauth2/logout", tag = "oauth", operation_id = "rp_initiated_logout", params(LogoutQuery),
    description = "OpenID Connect RP-Initiated Logout 1.0. A browser endpoint: redirects and HTML pages.",
    responses(
        (status = 303, description = "Signed out, to the registered `post_logout_redirect_uri` (with `state`); or, without `id_token_hint`, to the `/logout` page to ask"),
        (status = 200, description = "The signed-out page", content_type = "text/html"),
        (status = 400, description = "An error page (a redirect URI that is not registered is never followed)", content_type = "text/html"),
    ))]
pub async fn logout(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    headers: HeaderMap,
    Query(query): Query<LogoutQuery>,
) -> Response {
    let fields = [
        ("id_token_hint", &query.id_token_hint),
        ("post_logout_redirect_uri", &query.post_logout_redirect_uri),
        ("state", &query.state),
        ("client_id", &query.client_id),
    ];
    for (name, value) in fields {
        if let Some(Err(err)) = value
            .as_deref()
            .map(|v| crate::http::limits::check_oauth_param(name, v))
        {
            return refused(
                &state,
                &format!("The application's sign-out request is invalid: {err}."),
            );
        }
    }
    let Some(hint) = query.id_token_hint.as_deref().filter(|h| !h.is_empty()) else {
        return see_other("/logout");
    };
    let check = state
        .oauth
        .tokens
        .check_logout(
            hint,
            query.client_id.as_deref(),
            query.post_logout_redirect_uri.as_deref(),
        )
        .await;
    let (subject, target) = match check {
        Ok(LogoutCheck { subject, redirect_uri }) => (subject, redirect_uri),
        Err(LogoutRefusal::InvalidHint) => {
            return refused(
                &state,
                "The application's sign-out request carried an invalid ID token.",
            );
        }
        Err(LogoutRefusal::ClientMismatch) => return refused(&state, "client_id does not match the ID token."),
        Err(LogoutRefusal::UnknownClient) => return refused(&state, "The application is not registered."),
        Err(LogoutRefusal::UnregisteredRedirect) => {
            return refused(
                &state,
                "post_logout_redirect_uri is not registered for this application.",
            );
        }
        Err(LogoutRefusal::Failed(err)) => return super::authorize::error_page(&state, &err),
    };
    // End this browser's session if it belongs to the token's user.
    if let Ok(Some(session)) = find_session(&state.accounts, &headers).await
        && session.user.id.to_string() == subject
        && let Some(cookie) = session_cookie(&state.accounts, &headers)
        && let Err(err) = state.accounts.service.logout(&cookie, &meta).await
    {
        tracing::error!(error = %err, "RP-initiated logout could not end the session");
        return super::authorize::error_page(
            &state,
            &keygate_core::oauth::OAuthError::new(keygate_core::oauth::ErrorCode::TemporarilyUnavailable, "retry"),
        );
    }
    let mut response = match target {
        Some(uri) => {
            let mut location = uri;
            if let Some(client_state) = &query.state {
                let separator = if location.contains('?') { '&' } else { '?' };
                let encoded = form_urlencoded::Serializer::new(String::new())
                    .append_pair("state", client_state)
                    .finish();
                location = format!("{location}{separator}{encoded}");
            }
            see_other(&location)
        }
        None => state
            .pages
            .error_page(StatusCode::OK, "Signed out", "You are signed out of Keygate."),
    };
    let (name, value) = clear_session_cookie(&state.accounts);
    response.headers_mut().append(name, value);
    response
}
