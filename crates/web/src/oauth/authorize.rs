//! GET and POST /oauth2/authorize: parses the request, asks the flow in core what to do (see
//! `keygate_core::oauth::AuthorizeOutcome`) and renders it: the login page
//! (`/login?return_to=…`), the consent page, the code for the client, or an error (a page for an
//! unknown client or an unregistered redirect URI, never a redirect).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use keygate_core::oauth::{AuthorizeOutcome, AuthorizeParams, AuthorizeRejection, ErrorCode, OAuthError};

use super::form::Params;
use super::respond::{error_to_client, to_client};
use super::schema::{AuthorizeForm, AuthorizeQuery};
use crate::http::{find_session, log_if_server_side, see_other};
use crate::state::AppState;

const ENDPOINT: &str = "/oauth2/authorize";

fn to_params(p: &Params) -> AuthorizeParams {
    let get = |name: &str| p.get(name).map(str::to_owned);
    AuthorizeParams {
        client_id: get("client_id"),
        redirect_uri: get("redirect_uri"),
        response_type: get("response_type"),
        response_mode: get("response_mode"),
        scope: get("scope"),
        state: get("state"),
        nonce: get("nonce"),
        code_challenge: get("code_challenge"),
        code_challenge_method: get("code_challenge_method"),
        prompt: get("prompt"),
        max_age: get("max_age"),
        login_hint: get("login_hint"),
        reauth: get("kg_reauth"),
        request_object: p.contains("request") || p.contains("request_uri"),
    }
}

/// The error page for requests that must not be redirected.
pub fn error_page(state: &AppState, err: &OAuthError) -> Response {
    log_if_server_side(err);
    let status = match err.code {
        ErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    };
    let message = format!("The application sent an invalid sign-in request: {}.", err.description);
    state.pages.error_page(status, "Sign-in request refused", &message)
}

/// The authorization request again as a local URL (for `return_to`); `reauth_from` names the
/// session a sign-in it asks for is to replace.
fn resume_url(params: &AuthorizeParams, reauth_from: Option<String>) -> String {
    let fields = [
        ("client_id", &params.client_id),
        ("redirect_uri", &params.redirect_uri),
        ("response_type", &params.response_type),
        ("response_mode", &params.response_mode),
        ("scope", &params.scope),
        ("state", &params.state),
        ("nonce", &params.nonce),
        ("code_challenge", &params.code_challenge),
        ("code_challenge_method", &params.code_challenge_method),
        ("prompt", &params.prompt),
        ("max_age", &params.max_age),
        ("login_hint", &params.login_hint),
        ("kg_reauth", &reauth_from),
    ];
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (name, value) in fields {
        if let Some(value) = value.as_deref().filter(|v| !v.is_empty()) {
            query.append_pair(name, value);
        }
    }
    format!("{ENDPOINT}?{}", query.finish())
}

/// To the login page; `again` shows the form although the browser has a session.
fn login_redirect(return_to: &str, login_hint: Option<&str>, again: bool) -> Response {
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.append_pair("return_to", return_to);
    if let Some(hint) = login_hint {
        query.append_pair("login_hint", hint);
    }
    if again {
        query.append_pair("prompt", "login");
    }
    see_other(&format!("/login?{}", query.finish()))
}

#[utoipa::path(method(get, post), path = "/oauth2/authorize", tag = "oauth", params(AuthorizeQuery),
    description = "The browser's start of the authorization code flow (PKCE). A browser endpoint: it answers with redirects and HTML pages, never JSON.",
    request_body(content = Option<AuthorizeForm>, content_type = "application/x-www-form-urlencoded", description = "POST: the request in a form body instead of the query"),
    responses(
        (status = 303, description = "To the login page, to the consent page, or to the client's `redirect_uri` with `code` (or `error`), `state` and `iss`"),
        (status = 200, description = "The consent page, or an auto-submitting form for `response_mode=form_post`", content_type = "text/html"),
        (status = 400, description = "An error page: unknown client or unregistered redirect URI (never redirected)", content_type = "text/html"),
    ))]
pub async fn authorize(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let raw = if method == Method::POST {
        body.to_vec()
    } else {
        uri.query().unwrap_or("").as_bytes().to_vec()
    };
    let params = match Params::parse(&raw) {
        Ok(p) => to_params(&p),
        Err(err) => return error_page(&state, &err),
    };
    let session = find_session(&state.accounts, &headers);
    let outcome = state.oauth.tokens.authorize(&params, session).await;
    render(&state, outcome, &params)
}

/// The answer for a step of the authorization flow; `params` is the request as received, for
/// the way back after a sign-in.
pub fn render(state: &AppState, outcome: AuthorizeOutcome, params: &AuthorizeParams) -> Response {
    let issuer = &state.oauth.tokens.settings().issuer;
    match outcome {
        AuthorizeOutcome::SignIn { login_hint } => {
            login_redirect(&resume_url(params, None), login_hint.as_deref(), false)
        }
        AuthorizeOutcome::Reauthenticate { login_hint, replaces } => {
            login_redirect(&resume_url(params, Some(replaces)), login_hint.as_deref(), true)
        }
        AuthorizeOutcome::AskConsent(id) => see_other(&format!("/consent?id={id}")),
        AuthorizeOutcome::Issue { reply, code } => {
            let mut answer = vec![("code", code.expose())];
            if let Some(client_state) = &reply.state {
                answer.push(("state", client_state));
            }
            to_client(&reply.redirect_uri, reply.response_mode, issuer, &answer)
        }
        AuthorizeOutcome::Expired => expired_page(state),
        AuthorizeOutcome::Error(AuthorizeRejection::Page(err)) => error_page(state, &err),
        AuthorizeOutcome::Error(AuthorizeRejection::Redirect {
            redirect_uri,
            response_mode,
            state: client_state,
            error,
        }) => error_to_client(&redirect_uri, response_mode, issuer, client_state.as_deref(), &error),
    }
}

/// Used by the consent handler for a request it cannot continue (unknown or expired).
pub fn expired_page(state: &AppState) -> Response {
    state.pages.error_page(
        StatusCode::BAD_REQUEST,
        "This request has expired",
        "Go back to the application and sign in again.",
    )
}
