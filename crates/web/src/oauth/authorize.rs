//! GET and POST /oauth2/authorize: checks the request, sends an anonymous user to the login page
//! (`/login?return_to=…`), handles `prompt` and `max_age`, asks for consent unless the client is
//! first-party or the user already agreed to these scopes, then issues the code. An unknown
//! client or an unregistered redirect URI gets an error page, never a redirect.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use keygate_core::accounts::{RequestMeta, SessionAuth};
use keygate_core::oauth::{
    AuthorizeParams, AuthorizeRejection, AuthorizeRequest, CodeGrant, ErrorCode, OAuthError, check_request,
};

use super::consent::{PendingAuthorization, needs_consent};
use super::form::Params;
use super::respond::{error_to_client, to_client};
use crate::api::{ClientMeta, clear_session_cookie, find_session, session_cookie};
use crate::pages::see_other;
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
        request_object: p.contains("request") || p.contains("request_uri"),
    }
}

/// The error page for requests that must not be redirected.
pub fn error_page(state: &AppState, err: &OAuthError) -> Response {
    super::log_if_server_side(err);
    let status = match err.code {
        ErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    };
    let message = format!("The application sent an invalid sign-in request: {}.", err.description);
    state.pages.error_page(status, "Sign-in request refused", &message)
}

/// The authorization request again as a local URL, with `prompt` rewritten (for `return_to`).
fn resume_url(params: &AuthorizeParams, drop_login_prompt: bool) -> String {
    let prompt = params.prompt.as_deref().map(|p| {
        p.split(' ')
            .filter(|v| !(drop_login_prompt && *v == "login"))
            .collect::<Vec<_>>()
            .join(" ")
    });
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
        ("prompt", &prompt),
        ("max_age", &params.max_age),
        ("login_hint", &params.login_hint),
    ];
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (name, value) in fields {
        if let Some(value) = value.as_deref().filter(|v| !v.is_empty()) {
            query.append_pair(name, value);
        }
    }
    format!("{ENDPOINT}?{}", query.finish())
}

fn login_redirect(return_to: &str, login_hint: Option<&str>) -> Response {
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.append_pair("return_to", return_to);
    if let Some(hint) = login_hint {
        query.append_pair("login_hint", hint);
    }
    see_other(&format!("/login?{}", query.finish()))
}

pub async fn authorize(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
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
    let session = match find_session(&state, &headers).await {
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
        return login_redirect(&resume_url(&params, false), request.login_hint.as_deref());
    };
    let now = state.clock.now();
    let too_old = request
        .max_age
        .is_some_and(|max| now.since(session.session.auth_time).as_secs() > max);
    if request.prompt.login || too_old {
        if request.prompt.none {
            return fail(OAuthError::new(ErrorCode::LoginRequired, "the user must sign in again"));
        }
        return reauthenticate(&state, &headers, &meta, &params, request.login_hint.as_deref()).await;
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

/// `prompt=login` or a session older than `max_age`: this browser session ends and the user
/// signs in again, then the request resumes (without `prompt=login`, so it does not loop).
async fn reauthenticate(
    state: &AppState,
    headers: &HeaderMap,
    meta: &RequestMeta,
    params: &AuthorizeParams,
    login_hint: Option<&str>,
) -> Response {
    if let Some(cookie) = session_cookie(&state.accounts, headers)
        && let Err(err) = state.accounts.service.logout(&cookie, meta).await
    {
        tracing::error!(error = %err, "authorize: cannot end the session for a new sign-in");
        return error_page(
            state,
            &OAuthError::new(ErrorCode::TemporarilyUnavailable, "please retry"),
        );
    }
    let mut response = login_redirect(&resume_url(params, true), login_hint);
    let (name, value) = clear_session_cookie(&state.accounts);
    response.headers_mut().append(name, value);
    response
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
