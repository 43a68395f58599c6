//! Creating an account and confirming its email address (from the emailed link or a pasted
//! code), and asking for the link again.

use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;
use serde::Deserialize;

use super::auth::{PageQuery, encode};
use super::errors::{Refusal, refuse, same};
use super::session::MaybeSession;
use super::{notice_text, see_other};
use crate::http::ClientMeta;
use crate::http::csrf::CsrfToken;
use crate::http::html::{Form as PageForm, PageBase, local_return_to};
use crate::state::AppState;

#[derive(Default, Deserialize)]
#[serde(default)]
pub struct RegisterForm {
    email: String,
    password: String,
    password_confirmation: String,
    return_to: Option<String>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
pub struct TokenForm {
    token: String,
}

#[derive(Default, Deserialize)]
#[serde(default)]
pub struct EmailForm {
    email: String,
}

#[derive(Default, Deserialize)]
#[serde(default)]
pub struct VerifyQuery {
    token: Option<String>,
    notice: Option<String>,
}

fn password_min(state: &AppState) -> usize {
    state.accounts.service.config().password_policy.min_chars()
}

fn register_form(state: &AppState, status: StatusCode, base: &PageBase, return_to: Option<String>) -> Response {
    let extra = context! { return_to => return_to, password_min => password_min(state) };
    state.pages.render("register.html", status, base, extra)
}

pub async fn register_page(
    State(state): State<AppState>,
    csrf: CsrfToken,
    MaybeSession(session): MaybeSession,
    Query(query): Query<PageQuery>,
) -> Response {
    let base = PageBase::new(&csrf).signed_in(session.is_some());
    register_form(
        &state,
        StatusCode::OK,
        &base,
        local_return_to(query.return_to.as_deref()),
    )
}

pub async fn register_submit(
    State(state): State<AppState>,
    csrf: CsrfToken,
    ClientMeta(meta): ClientMeta,
    Form(form): Form<RegisterForm>,
) -> Response {
    let return_to = local_return_to(form.return_to.as_deref());
    let result = state
        .accounts
        .service
        .register(&form.email, &form.password, &form.password_confirmation, &meta)
        .await;
    match result {
        // The same answer whether or not the address already had an account.
        Ok(()) => match &return_to {
            Some(path) => see_other(&format!("/login?notice=check-email&return_to={}", encode(path))),
            None => see_other("/login?notice=check-email"),
        },
        Err(err) => match refuse(&state, err, PageForm::default().value("email", form.email.trim()), same) {
            Refusal::Form(refused) => {
                let base = PageBase::new(&csrf).form(refused.form.clone());
                refused.finish(register_form(&state, refused.status, &base, return_to))
            }
            Refusal::Page(page) => page,
        },
    }
}

/// The emailed link lands here: the token in the query verifies at once.
pub async fn verify_page(
    State(state): State<AppState>,
    csrf: CsrfToken,
    ClientMeta(meta): ClientMeta,
    MaybeSession(session): MaybeSession,
    Query(query): Query<VerifyQuery>,
) -> Response {
    match query.token.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        Some(token) => verify(&state, &csrf, token, &meta).await,
        None => {
            let base = PageBase::new(&csrf)
                .signed_in(session.is_some())
                .notice(query.notice.as_deref().and_then(notice_text));
            verify_form(&state, StatusCode::OK, &base)
        }
    }
}

pub async fn verify_submit(
    State(state): State<AppState>,
    csrf: CsrfToken,
    ClientMeta(meta): ClientMeta,
    Form(form): Form<TokenForm>,
) -> Response {
    verify(&state, &csrf, form.token.trim(), &meta).await
}

async fn verify(
    state: &AppState,
    csrf: &CsrfToken,
    token: &str,
    meta: &keygate_core::accounts::RequestMeta,
) -> Response {
    match state.accounts.service.verify_email(token, meta).await {
        Ok(()) => see_other("/login?notice=email-verified"),
        Err(err) => match refuse(state, err, PageForm::default(), same) {
            Refusal::Form(refused) => {
                let base = PageBase::new(csrf).form(refused.form.clone());
                refused.finish(verify_form(state, refused.status, &base))
            }
            Refusal::Page(page) => page,
        },
    }
}

fn verify_form(state: &AppState, status: StatusCode, base: &PageBase) -> Response {
    state
        .pages
        .render("verify_email.html", status, base, context! { verified => false })
}

pub async fn resend_submit(
    State(state): State<AppState>,
    csrf: CsrfToken,
    ClientMeta(meta): ClientMeta,
    Form(form): Form<EmailForm>,
) -> Response {
    match state.accounts.service.resend_verification(&form.email, &meta).await {
        Ok(()) => see_other("/verify-email?notice=verification-sent"),
        Err(err) => match refuse(&state, err, PageForm::default().value("email", form.email.trim()), same) {
            Refusal::Form(refused) => {
                let base = PageBase::new(&csrf).form(refused.form.clone());
                refused.finish(verify_form(&state, refused.status, &base))
            }
            Refusal::Page(page) => page,
        },
    }
}
