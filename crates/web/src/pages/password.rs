//! Forgotten passwords: asking for a reset link, and choosing a new password with it.

use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;
use serde::Deserialize;

use super::errors::{Refusal, refuse, same};
use super::see_other;
use super::session::MaybeSession;
use crate::http::ClientMeta;
use crate::http::csrf::CsrfToken;
use crate::http::html::{Form as PageForm, PageBase};
use crate::state::AppState;

#[derive(Default, Deserialize)]
#[serde(default)]
pub struct ForgotForm {
    email: String,
}

#[derive(Default, Deserialize)]
#[serde(default)]
pub struct ResetQuery {
    token: Option<String>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
pub struct ResetForm {
    token: String,
    password: String,
    password_confirmation: String,
}

pub async fn forgot_page(
    State(state): State<AppState>,
    csrf: CsrfToken,
    MaybeSession(session): MaybeSession,
) -> Response {
    let base = PageBase::new(&csrf).signed_in(session.is_some());
    state
        .pages
        .render("forgot_password.html", StatusCode::OK, &base, context! {})
}

pub async fn forgot_submit(
    State(state): State<AppState>,
    csrf: CsrfToken,
    ClientMeta(meta): ClientMeta,
    Form(form): Form<ForgotForm>,
) -> Response {
    match state.accounts.service.forgot_password(&form.email, &meta).await {
        // The same answer whether or not the address has an account.
        Ok(()) => see_other("/login?notice=reset-sent"),
        Err(err) => match refuse(&state, err, PageForm::default().value("email", form.email.trim()), same) {
            Refusal::Form(refused) => {
                let base = PageBase::new(&csrf).form(refused.form.clone());
                let page = state
                    .pages
                    .render("forgot_password.html", refused.status, &base, context! {});
                refused.finish(page)
            }
            Refusal::Page(page) => page,
        },
    }
}

fn reset_form(state: &AppState, status: StatusCode, base: &PageBase, token: Option<&str>) -> Response {
    let min = state.accounts.service.config().password_policy.min_chars();
    let extra = context! { token => token, password_min => min };
    state.pages.render("reset_password.html", status, base, extra)
}

/// The emailed link lands here; the token is used only when the new password is sent.
pub async fn reset_page(State(state): State<AppState>, csrf: CsrfToken, Query(query): Query<ResetQuery>) -> Response {
    let token = query.token.as_deref().map(str::trim).filter(|t| !t.is_empty());
    reset_form(&state, StatusCode::OK, &PageBase::new(&csrf), token)
}

pub async fn reset_submit(
    State(state): State<AppState>,
    csrf: CsrfToken,
    ClientMeta(meta): ClientMeta,
    Form(form): Form<ResetForm>,
) -> Response {
    let token = form.token.trim();
    let confirmed =
        keygate_core::secret_token::constant_time_eq(form.password.as_bytes(), form.password_confirmation.as_bytes());
    let result = if confirmed {
        state
            .accounts
            .service
            .reset_password(token, &form.password, &meta)
            .await
    } else {
        Err(keygate_core::accounts::AccountError::invalid(
            "password_confirmation",
            "does not match the password",
        ))
    };
    match result {
        Ok(()) => see_other("/login?notice=password-reset"),
        Err(err) => match refuse(&state, err, PageForm::default(), same) {
            Refusal::Form(refused) => {
                let base = PageBase::new(&csrf).form(refused.form.clone());
                let page = reset_form(&state, refused.status, &base, Some(token).filter(|t| !t.is_empty()));
                refused.finish(page)
            }
            Refusal::Page(page) => page,
        },
    }
}
