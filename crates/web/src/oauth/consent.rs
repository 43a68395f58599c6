//! GET and POST /consent (behind the form CSRF layer; buttons `action=allow` / `action=deny`): the
//! page asking the user, and the answer, both decided by the flow in core.

use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use keygate_core::oauth::{AuthorizeParams, ConsentPrompt, ErrorCode, OAuthError};
use minijinja::context;
use serde::Deserialize;

use super::authorize::{error_page, expired_page, render};
use crate::http::csrf::CsrfToken;
use crate::http::html::PageBase;
use crate::http::{ClientMeta, find_session, see_other};
use crate::state::AppState;

/// What each scope lets the client do, in words.
fn describe(scope: &str) -> Option<&'static str> {
    Some(match scope {
        "openid" => "Know who you are",
        "profile" => "See your profile",
        "email" => "See your email address",
        "offline_access" => "Stay connected when you are not using it",
        _ => return None,
    })
}

fn retry_page(state: &AppState) -> Response {
    error_page(
        state,
        &OAuthError::new(ErrorCode::TemporarilyUnavailable, "please retry"),
    )
}

#[derive(Debug, Deserialize)]
pub struct ConsentQuery {
    pub id: Option<String>,
}

pub async fn consent_page(
    State(state): State<AppState>,
    csrf: CsrfToken,
    headers: HeaderMap,
    Query(query): Query<ConsentQuery>,
) -> Response {
    let Some(id) = query.id else {
        return expired_page(&state);
    };
    let session = match find_session(&state.accounts, &headers).await {
        Ok(Some(session)) => session,
        Ok(None) => return see_other(&format!("/login?return_to=%2Fconsent%3Fid%3D{id}")),
        Err(_) => return retry_page(&state),
    };
    let (client_name, scopes) = match state.oauth.tokens.consent_prompt(session.user.id, &id).await {
        ConsentPrompt::Ask { client_name, scopes } => (client_name, scopes),
        ConsentPrompt::Expired => return expired_page(&state),
        ConsentPrompt::Error(err) => return error_page(&state, &err),
    };
    let scopes: Vec<_> = scopes
        .iter()
        .map(|s| context! { name => s, description => describe(s) })
        .collect();
    let base = PageBase::new(&csrf).signed_in(true);
    let extra = context! {
        client_name => client_name,
        scopes => scopes,
        hidden => vec![context! { name => "consent_id", value => id }],
        action => "/consent",
        user_email => session.user.email.as_str(),
    };
    state.pages.render("consent.html", StatusCode::OK, &base, extra)
}

#[derive(Debug, Deserialize)]
pub struct ConsentForm {
    pub action: Option<String>,
    pub consent_id: Option<String>,
}

pub async fn consent_submit(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    headers: HeaderMap,
    Form(form): Form<ConsentForm>,
) -> Response {
    let Some(id) = form.consent_id else {
        return expired_page(&state);
    };
    let session = match find_session(&state.accounts, &headers).await {
        Ok(Some(session)) => session,
        Ok(None) => return expired_page(&state),
        Err(_) => return retry_page(&state),
    };
    let allow = form.action.as_deref() == Some("allow");
    let outcome = state.oauth.tokens.decide_consent(&session, &id, allow, &meta).await;
    // Only the issued code and errors come back here, never a sign-in: no request to resume.
    render(&state, outcome, &AuthorizeParams::default())
}
