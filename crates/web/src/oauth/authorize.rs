//! GET and POST /oauth2/authorize: checks the request, sends an anonymous user to the login page
//! (`/login?return_to=…`), handles `prompt` and `max_age`, asks for consent unless the client is
//! first-party or the user already agreed to these scopes, then issues the code. An unknown
//! client or an unregistered redirect URI gets an error page, never a redirect.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use keygate_core::accounts::SessionAuth;
use keygate_core::oauth::{
    AuthorizeParams, AuthorizeRejection, AuthorizeRequest, CodeGrant, ErrorCode, OAuthError, check_request,
};

use super::consent::{PendingAuthorization, needs_consent};
use super::form::Params;
use super::respond::{error_to_client, to_client};
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
    let issuer = state.oauth.tokens.settings().issuer.clone();
    let request = match check_request(state.stores.clients.as_ref(), &params).await {
        Ok(request) => request,
        Err(AuthorizeRejection::Page(err)) => return error_page(&state, &err),
        Err(AuthorizeRejection::Redirect {
            redirect_uri,
            response_mode,
            state: client_state,
            error,
        }) => return error_to_client(&redirect_uri, response_mode, &issuer, client_state.as_deref(), &error),
    };
    let fail = |error: OAuthError| {
        error_to_client(
            &request.redirect_uri,
            request.response_mode,
            &issuer,
            request.state.as_deref(),
            &error,
        )
    };
    let session = match find_session(&state.accounts, &headers).await {
        Ok(session) => session,
        Err(err) => {
            tracing::error!(error = %err, "authorize: cannot read the session");
            return fail(OAuthError::new(
                ErrorCode::TemporarilyUnavailable,
                "cannot check the sign-in session",
            ));
        }
    };
    let Some(session) = session else {
        if request.prompt.none {
            return fail(OAuthError::new(ErrorCode::LoginRequired, "the user is not signed in"));
        }
        return login_redirect(&resume_url(&params, None), request.login_hint.as_deref(), false);
    };
    if request.needs_login(session.session.id, session.session.auth_time, state.clock.now()) {
        if request.prompt.none {
            return fail(OAuthError::new(ErrorCode::LoginRequired, "the user must sign in again"));
        }
        // The session stays until the new sign-in succeeds (which replaces it): a link from
        // another site with prompt=login cannot sign the user out.
        let replaced = request
            .reauth_from
            .clone()
            .unwrap_or_else(|| session.session.id.to_string());
        return login_redirect(
            &resume_url(&params, Some(replaced)),
            request.login_hint.as_deref(),
            true,
        );
    }
    match needs_consent(&state, &request, &session).await {
        Ok(false) => issue(&state, &request, &session).await,
        Ok(true) if request.prompt.none => fail(OAuthError::new(
            ErrorCode::ConsentRequired,
            "the user has not consented",
        )),
        Ok(true) => match PendingAuthorization::store(&state, &request, &session).await {
            Ok(id) => see_other(&format!("/consent?id={id}")),
            Err(err) => fail(err),
        },
        Err(err) => fail(err),
    }
}

/// Issues the code and sends it to the client.
pub async fn issue(state: &AppState, request: &AuthorizeRequest, session: &SessionAuth) -> Response {
    let grant = CodeGrant {
        client_id: request.client.id.clone(),
        user_id: session.user.id,
        redirect_uri: request.redirect_uri.clone(),
        scope: request.scope.clone(),
        nonce: request.nonce.clone(),
        code_challenge: request.code_challenge.as_ref().map(|c| c.as_str().to_owned()),
        auth_time: session.session.auth_time,
        amr: session.session.amr.clone(),
    };
    let issuer = &state.oauth.tokens.settings().issuer;
    match state.oauth.tokens.issue_code(grant).await {
        Ok(code) => {
            let mut params = vec![("code", code.expose())];
            if let Some(client_state) = &request.state {
                params.push(("state", client_state));
            }
            to_client(&request.redirect_uri, request.response_mode, issuer, &params)
        }
        Err(err) => error_to_client(
            &request.redirect_uri,
            request.response_mode,
            issuer,
            request.state.as_deref(),
            &err,
        ),
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
