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
use crate::http::{AccountFailure, Caller, ClientMeta, clear_session_cookie, session_cookie, set_session_cookie};
use crate::state::AppState;

type ApiResult = Result<Response, AccountFailure>;

#[derive(Deserialize)]
pub struct RegisterBody {
    email: String,
    password: Zeroizing<String>,
    password_confirmation: Zeroizing<String>,
}

/// The one answer to every acceptable registration, taken address or not.
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

#[derive(Deserialize)]
pub struct LoginBody {
    email: String,
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

pub async fn logout(State(state): State<AppState>, ClientMeta(meta): ClientMeta, headers: HeaderMap) -> ApiResult {
    if let Some(cookie) = session_cookie(&state.accounts, &headers) {
        state.accounts.service.logout(&cookie, &meta).await?;
    }
    Ok((StatusCode::NO_CONTENT, [clear_session_cookie(&state.accounts)]).into_response())
}

#[derive(Deserialize)]
pub struct TokenBody {
    token: String,
}

fn verified() -> Response {
    Json(json!({ "status": "verified" })).into_response()
}

pub async fn verify_email_get(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    Path(token): Path<String>,
) -> ApiResult {
    state.accounts.service.verify_email(&token, &meta).await?;
    Ok(verified())
}

pub async fn verify_email_post(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    JsonBody(body): JsonBody<TokenBody>,
) -> ApiResult {
    state.accounts.service.verify_email(&body.token, &meta).await?;
    Ok(verified())
}

#[derive(Deserialize)]
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

pub async fn resend_verification(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    JsonBody(body): JsonBody<EmailBody>,
) -> ApiResult {
    state.accounts.service.resend_verification(&body.email, &meta).await?;
    Ok(accepted())
}

pub async fn forgot_password(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    JsonBody(body): JsonBody<EmailBody>,
) -> ApiResult {
    state.accounts.service.forgot_password(&body.email, &meta).await?;
    Ok(accepted())
}

#[derive(Deserialize)]
pub struct ResetBody {
    token: String,
    password: Zeroizing<String>,
}

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

#[derive(Deserialize)]
pub struct ChangeBody {
    current_password: Zeroizing<String>,
    new_password: Zeroizing<String>,
}

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
