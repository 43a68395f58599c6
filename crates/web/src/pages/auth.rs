//! Signing in (password, then the TOTP step when the account has one) and signing out.

use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use keygate_core::accounts::{LoginSuccess, PasswordStep};
use minijinja::context;
use serde::Deserialize;

use super::errors::{Refusal, refuse, same};
use super::session::{MaybeSession, previous_session};
use super::{cookies, notice_text, see_other};
use crate::http::csrf::CsrfToken;
use crate::http::html::{Form as PageForm, PageBase, local_return_to};
use crate::http::{ClientMeta, clear_session_cookie, set_session_cookie};
use crate::state::AppState;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PageQuery {
    pub return_to: Option<String>,
    pub notice: Option<String>,
    /// `login`: an authorization request asks the signed-in user to sign in again.
    pub prompt: Option<String>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
pub struct LoginForm {
    email: String,
    password: String,
    return_to: Option<String>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
pub struct CodeForm {
    code: String,
    return_to: Option<String>,
}

/// Where to go after signing in.
fn destination(return_to: Option<&str>) -> String {
    local_return_to(return_to).unwrap_or_else(|| "/account".to_owned())
}

pub async fn login_page(
    State(state): State<AppState>,
    csrf: CsrfToken,
    MaybeSession(session): MaybeSession,
    Query(query): Query<PageQuery>,
) -> Response {
    let return_to = local_return_to(query.return_to.as_deref());
    // Already signed in: carry on to where the user was going (an authorization request),
    // unless that request asks for a new sign-in.
    let again = query.prompt.as_deref() == Some("login");
    if session.is_some() && return_to.is_some() && !again {
        return see_other(&destination(return_to.as_deref()));
    }
    let base = PageBase::new(&csrf)
        .signed_in(session.is_some())
        .notice(query.notice.as_deref().and_then(notice_text));
    login_form(&state, StatusCode::OK, &base, return_to)
}

fn login_form(state: &AppState, status: StatusCode, base: &PageBase, return_to: Option<String>) -> Response {
    state
        .pages
        .render("login.html", status, base, context! { return_to => return_to })
}

pub async fn login_submit(
    State(state): State<AppState>,
    csrf: CsrfToken,
    ClientMeta(meta): ClientMeta,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let return_to = local_return_to(form.return_to.as_deref());
    let previous = previous_session(&headers, &state);
    let service = &state.accounts.service;
    match service
        .login_password_step(&form.email, &form.password, previous.as_deref(), &meta)
        .await
    {
        Ok(PasswordStep::Done(success)) => signed_in(&state, success, return_to.as_deref()),
        Ok(PasswordStep::MfaRequired(pending)) => {
            let secure = state.pages.secure_cookies();
            let next = match &return_to {
                Some(path) => format!("/login/totp?return_to={}", encode(path)),
                None => "/login/totp".to_owned(),
            };
            let mut response = see_other(&next);
            if let Some(cookie) = cookies::set(
                cookies::MFA_PENDING,
                pending.token.expose(),
                secure,
                Some(cookies::MFA_PENDING_TTL),
            ) {
                response.headers_mut().append(header::SET_COOKIE, cookie);
            }
            response
        }
        Err(err) => {
            let form_state = PageForm::default().value("email", form.email.trim());
            match refuse(&state, err, form_state, same) {
                Refusal::Form(refused) => {
                    let base = PageBase::new(&csrf).form(refused.form.clone());
                    refused.finish(login_form(&state, refused.status, &base, return_to))
                }
                Refusal::Page(page) => page,
            }
        }
    }
}

pub async fn totp_page(
    State(state): State<AppState>,
    csrf: CsrfToken,
    headers: HeaderMap,
    Query(query): Query<PageQuery>,
) -> Response {
    if cookies::read(&headers, cookies::MFA_PENDING, state.pages.secure_cookies()).is_none() {
        return see_other("/login?notice=start-again");
    }
    let base = PageBase::new(&csrf);
    let return_to = local_return_to(query.return_to.as_deref());
    state.pages.render(
        "login_totp.html",
        StatusCode::OK,
        &base,
        context! { return_to => return_to },
    )
}

pub async fn totp_submit(
    State(state): State<AppState>,
    csrf: CsrfToken,
    ClientMeta(meta): ClientMeta,
    headers: HeaderMap,
    Form(form): Form<CodeForm>,
) -> Response {
    let return_to = local_return_to(form.return_to.as_deref());
    let secure = state.pages.secure_cookies();
    let Some(pending) = cookies::read(&headers, cookies::MFA_PENDING, secure) else {
        return see_other("/login?notice=start-again");
    };
    let previous = previous_session(&headers, &state);
    let service = &state.accounts.service;
    match service
        .login_second_step(&pending, &form.code, previous.as_deref(), &meta)
        .await
    {
        Ok(success) => signed_in(&state, success, return_to.as_deref()),
        Err(keygate_core::accounts::AccountError::Unauthenticated) => {
            let mut response = see_other("/login?notice=start-again");
            response
                .headers_mut()
                .append(header::SET_COOKIE, cookies::clear(cookies::MFA_PENDING, secure));
            response
        }
        Err(err) => match refuse(&state, err, PageForm::default(), same) {
            Refusal::Form(refused) => {
                let base = PageBase::new(&csrf).form(refused.form.clone());
                let page = state.pages.render(
                    "login_totp.html",
                    refused.status,
                    &base,
                    context! { return_to => return_to },
                );
                refused.finish(page)
            }
            Refusal::Page(page) => page,
        },
    }
}

/// Sets the new session's cookie and goes on.
fn signed_in(state: &AppState, success: LoginSuccess, return_to: Option<&str>) -> Response {
    let secure = state.pages.secure_cookies();
    let mut response = see_other(&destination(return_to));
    let headers = response.headers_mut();
    let (name, value) = set_session_cookie(&state.accounts, &success.session_token);
    headers.append(name, value);
    headers.append(header::SET_COOKIE, cookies::clear(cookies::MFA_PENDING, secure));
    response
}

pub async fn logout_page(
    State(state): State<AppState>,
    csrf: CsrfToken,
    MaybeSession(session): MaybeSession,
) -> Response {
    let base = PageBase::new(&csrf).signed_in(session.is_some());
    state.pages.render("logout.html", StatusCode::OK, &base, context! {})
}

pub async fn logout_submit(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    headers: HeaderMap,
) -> Response {
    let secure = state.pages.secure_cookies();
    if let Some(cookie) = previous_session(&headers, &state)
        && let Err(err) = state.accounts.service.logout(&cookie, &meta).await
    {
        return super::errors::failure_page(&state, err);
    }
    let mut response = see_other("/login?notice=signed-out");
    let headers = response.headers_mut();
    let (name, value) = clear_session_cookie(&state.accounts);
    headers.append(name, value);
    headers.append(header::SET_COOKIE, cookies::clear(cookies::TOTP_SETUP, secure));
    response.into_response()
}

/// Percent-encodes a query value.
pub fn encode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}
