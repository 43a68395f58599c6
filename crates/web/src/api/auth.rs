//! Handlers for registration, login, logout, email verification, reset and password change.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use keygate_core::accounts::{LoginRequest, LoginSuccess};
use serde::Deserialize;
use serde_json::json;
use zeroize::Zeroizing;

use super::guard::JsonBody;
use super::schema::{LoginAnswer, StatusAnswer};
use crate::http::{AccountFailure, Caller, ClientMeta, clear_session_cookie, session_cookie, set_session_cookie};
use crate::state::AppState;

type ApiResult = Result<Response, AccountFailure>;

#[derive(Deserialize, utoipa::ToSchema)]
pub struct RegisterBody {
    email: String,
    #[schema(value_type = String, format = Password)]
    password: Zeroizing<String>,
    #[schema(value_type = String, format = Password)]
    password_confirmation: Zeroizing<String>,
}

/// The one answer to every acceptable registration, taken address or not.
#[utoipa::path(post, path = "/api/auth/register", tag = "account", request_body = RegisterBody,
    responses((status = 201, description = "Accepted, whether or not the address was taken (`verification_sent`)", body = StatusAnswer)))]
pub async fn register(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    JsonBody(body): JsonBody<RegisterBody>,
) -> ApiResult {
    state
        .accounts
        .service
        .register(&body.email, &body.password, &body.password_confirmation, &meta)
        .await?;
    let answer = json!({
        "status": "verification_sent",
        "message": "If the address can receive email, a verification link is on its way.",
    });
    Ok((StatusCode::CREATED, Json(answer)).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct LoginBody {
    email: String,
    #[schema(value_type = String, format = Password)]
    password: Zeroizing<String>,
    #[serde(default)]
    totp: Option<String>,
}

pub fn login_answer(state: &AppState, success: &LoginSuccess) -> Response {
    let body = json!({
        "user": {
            "id": success.user.id,
            "email": success.user.email.as_str(),
            "email_verified": success.user.is_verified(),
        },
        "session": {
            "id": success.session.id,
            "amr": success.session.amr,
            "expires_at": success.session.idle_expires_at.min(success.session.absolute_expires_at).to_rfc3339(),
        },
    });
    let cookie = set_session_cookie(&state.accounts, &success.session_token);
    ([cookie], Json(body)).into_response()
}

#[utoipa::path(post, path = "/api/auth/login", tag = "account", request_body = LoginBody,
    responses((status = 200, description = "Signed in; the session cookie is in `Set-Cookie`", body = LoginAnswer,
        headers(("Set-Cookie" = String, description = "The session cookie")))))]
pub async fn login(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    headers: HeaderMap,
    JsonBody(body): JsonBody<LoginBody>,
) -> ApiResult {
    let previous = session_cookie(&state.accounts, &headers);
    let request = LoginRequest {
        email: body.email,
        password: body.password,
        totp: body.totp.filter(|t| !t.trim().is_empty()),
    };
    let success = state
        .accounts
        .service
        .login(request, previous.as_deref(), &meta)
        .await?;
    Ok(login_answer(&state, &success))
}

#[utoipa::path(post, path = "/api/auth/logout", tag = "account", operation_id = "account_logout", security((), ("session_cookie" = [])),
    responses((status = 204, description = "Signed out (also without a session); the cookie is cleared")))]
pub async fn logout(State(state): State<AppState>, ClientMeta(meta): ClientMeta, headers: HeaderMap) -> ApiResult {
    if let Some(cookie) = session_cookie(&state.accounts, &headers) {
        state.accounts.service.logout(&cookie, &meta).await?;
    }
    Ok((StatusCode::NO_CONTENT, [clear_session_cookie(&state.accounts)]).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct TokenBody {
    token: String,
}

fn verified() -> Response {
    Json(json!({ "status": "verified" })).into_response()
}

#[utoipa::path(get, path = "/api/auth/verify-email/{token}", tag = "account",
    params(("token" = String, Path, description = "The token from the emailed link")),
    responses((status = 200, description = "Verified (`verified`)", body = StatusAnswer)))]
pub async fn verify_email_get(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    Path(token): Path<String>,
) -> ApiResult {
    state.accounts.service.verify_email(&token, &meta).await?;
    Ok(verified())
}

#[utoipa::path(post, path = "/api/auth/verify-email", tag = "account", request_body = TokenBody,
    responses((status = 200, description = "Verified (`verified`)", body = StatusAnswer)))]
pub async fn verify_email_post(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    JsonBody(body): JsonBody<TokenBody>,
) -> ApiResult {
    state.accounts.service.verify_email(&body.token, &meta).await?;
    Ok(verified())
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct EmailBody {
    email: String,
}

fn accepted() -> Response {
    let body = json!({
        "status": "accepted",
        "message": "If the address belongs to an account, an email is on its way.",
    });
    (StatusCode::ACCEPTED, Json(body)).into_response()
}

#[utoipa::path(post, path = "/api/auth/resend-verification", tag = "account", request_body = EmailBody,
    responses((status = 202, description = "Accepted whether or not the address belongs to an account", body = StatusAnswer)))]
pub async fn resend_verification(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    JsonBody(body): JsonBody<EmailBody>,
) -> ApiResult {
    state.accounts.service.resend_verification(&body.email, &meta).await?;
    Ok(accepted())
}

#[utoipa::path(post, path = "/api/auth/forgot-password", tag = "account", request_body = EmailBody,
    responses((status = 202, description = "Accepted whether or not the address belongs to an account", body = StatusAnswer)))]
pub async fn forgot_password(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    JsonBody(body): JsonBody<EmailBody>,
) -> ApiResult {
    state.accounts.service.forgot_password(&body.email, &meta).await?;
    Ok(accepted())
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct ResetBody {
    token: String,
    #[schema(value_type = String, format = Password)]
    password: Zeroizing<String>,
}

#[utoipa::path(post, path = "/api/auth/reset-password", tag = "account", request_body = ResetBody,
    responses((status = 200, description = "Password set, every session ended (`password_reset`)", body = StatusAnswer)))]
pub async fn reset_password(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    JsonBody(body): JsonBody<ResetBody>,
) -> ApiResult {
    state
        .accounts
        .service
        .reset_password(&body.token, &body.password, &meta)
        .await?;
    Ok(Json(json!({ "status": "password_reset" })).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct ChangeBody {
    #[schema(value_type = String, format = Password)]
    current_password: Zeroizing<String>,
    #[schema(value_type = String, format = Password)]
    new_password: Zeroizing<String>,
}

#[utoipa::path(post, path = "/api/auth/change-password", tag = "account", request_body = ChangeBody, security(("session_cookie" = [])),
    responses((status = 200, description = "Changed (`password_changed`); a fresh session cookie is in `Set-Cookie`", body = StatusAnswer)))]
pub async fn change_password(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    caller: Caller,
    JsonBody(body): JsonBody<ChangeBody>,
) -> ApiResult {
    let auth = caller.require_session()?;
    let fresh = state
        .accounts
        .service
        .change_password(auth, &body.current_password, &body.new_password, &meta)
        .await?;
    let cookie = set_session_cookie(&state.accounts, &fresh);
    Ok(([cookie], Json(json!({ "status": "password_changed" }))).into_response())
}
