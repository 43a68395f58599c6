//! How account errors show on the pages: next to the field they concern, above the form, or as a
//! page of their own (503 while a backend is down, 500 for the server's own faults).

use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use keygate_core::StoreError;
use keygate_core::accounts::AccountError;
use keygate_core::password::PasswordRejection;

use crate::http::error::{RETRY_AFTER_SECS, cause_chain};
use crate::http::html::Form;
use crate::state::AppState;

const WRONG_CODE: &str = "That code is not right. Codes change every 30 seconds.";

/// A form to show again: its status, its errors, and for lockouts how long to wait.
pub struct Refused {
    pub status: StatusCode,
    pub form: Form,
    pub retry_after: Option<Duration>,
}

impl Refused {
    fn new(status: StatusCode, form: Form) -> Self {
        Refused {
            status,
            form,
            retry_after: None,
        }
    }

    /// Adds `Retry-After` to the rendered form.
    pub fn finish(&self, mut response: Response) -> Response {
        if let Some(wait) = self.retry_after {
            let secs = wait.as_secs().max(1);
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// What becomes of a refused form post.
pub enum Refusal {
    /// Show the form again with its errors.
    Form(Refused),
    /// Answer with a page of its own (an outage, a server fault).
    Page(Response),
}

/// Puts `err` on `form`, or answers with a page of its own. `field_key` renames the service's
/// field names to the template's (the account page has several forms).
pub fn refuse(state: &AppState, err: AccountError, form: Form, field_key: fn(&str) -> &str) -> Refusal {
    let bad = StatusCode::BAD_REQUEST;
    let refused = match err {
        AccountError::Invalid { field, message } => {
            Refused::new(bad, form.error(field_key(field), sentence(field, &message)))
        }
        AccountError::WeakPassword(rejection) => Refused::new(
            bad,
            form.error(field_key("password"), weak_password(&rejection)),
        ),
        AccountError::InvalidCredentials => Refused::new(
            bad,
            form.form_error("The email or password is wrong."),
        ),
        AccountError::MfaRequired => Refused::new(
            bad,
            form.error(field_key("code"), WRONG_CODE),
        ),
        AccountError::EmailNotVerified => Refused::new(
            StatusCode::FORBIDDEN,
            form.form_error("Verify your email address first: open the link we sent you. No email? Ask for another one on the “Enter a verification code” page."),
        ),
        AccountError::AccountDisabled => Refused::new(
            StatusCode::FORBIDDEN,
            form.form_error("This account is deactivated. Contact the site's administrator."),
        ),
        AccountError::Locked { retry_after } => Refused {
            status: StatusCode::TOO_MANY_REQUESTS,
            form: form.form_error(format!(
                "Too many failed attempts. Try again in {}.",
                minutes(retry_after)
            )),
            retry_after: Some(retry_after),
        },
        AccountError::RateLimited { retry_after } => Refused {
            status: StatusCode::TOO_MANY_REQUESTS,
            form: form.form_error(format!("Too many requests. Try again in {}.", minutes(retry_after))),
            retry_after: Some(retry_after),
        },
        AccountError::WrongPassword => Refused::new(
            StatusCode::FORBIDDEN,
            form.error(field_key("password"), "The password is wrong."),
        ),
        AccountError::InvalidToken => Refused::new(
            bad,
            form.error(field_key("token"), "This link or code is invalid, used or expired."),
        ),
        AccountError::NotFound(what) => Refused::new(
            StatusCode::NOT_FOUND,
            form.form_error(format!("That {what} no longer exists.")),
        ),
        AccountError::Conflict(message) => Refused::new(StatusCode::CONFLICT, form.form_error(capitalized(message))),
        other => return Refusal::Page(failure_page(state, other)),
    };
    Refusal::Form(refused)
}

/// The page for errors that are not the user's to fix.
pub fn failure_page(state: &AppState, err: AccountError) -> Response {
    match &err {
        AccountError::Busy | AccountError::Store(StoreError::Unavailable(_)) => {
            tracing::warn!(error = %cause_chain(&err), "page request failed: service unavailable");
            let mut response = state.pages.error_page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Please try again in a moment",
                "The service is busy or briefly unavailable. Nothing was changed.",
            );
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
            response
        }
        AccountError::Unauthenticated | AccountError::SessionRequired => state.pages.error_page(
            StatusCode::UNAUTHORIZED,
            "Please sign in",
            "This page needs you to be signed in.",
        ),
        _ => {
            tracing::error!(error = %cause_chain(&err), "page request failed");
            state.pages.error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "The server could not complete the request. Please try again later.",
            )
        }
    }
}

/// "is not a valid code" on `code` -> "The code is not a valid code."
fn sentence(field: &str, message: &str) -> String {
    if matches!(field, "code" | "totp") && message.contains("not a valid") {
        return WRONG_CODE.to_owned();
    }
    let label = match field {
        "email" => "The email address",
        "password" => "The password",
        "password_confirmation" => "The repeated password",
        "code" | "totp" => "The code",
        "token" => "The code",
        "name" => "The name",
        "scopes" => "The scopes",
        "expires_in_days" => "The lifetime",
        _ => "This value",
    };
    let message = message.trim_end_matches('.');
    if ["is ", "does ", "must ", "has "]
        .iter()
        .any(|verb| message.starts_with(verb))
    {
        format!("{label} {message}.")
    } else {
        format!("{}.", capitalized(message))
    }
}

fn weak_password(rejection: &PasswordRejection) -> String {
    match rejection {
        PasswordRejection::TooShort { min } => format!("Use at least {min} characters."),
        PasswordRejection::TooLong { max } => format!("Use at most {max} characters."),
        PasswordRejection::Breached => {
            "This password appears in lists of leaked passwords. Choose another one.".to_owned()
        }
    }
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn minutes(wait: Duration) -> String {
    match wait.as_secs().div_ceil(60) {
        0 | 1 => "a minute".to_owned(),
        n => format!("{n} minutes"),
    }
}

/// The service's field names as they are.
pub fn same(field: &str) -> &str {
    field
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_messages_read_as_sentences() {
        assert_eq!(sentence("code", "is not a valid code"), WRONG_CODE);
        assert_eq!(sentence("name", "is too long"), "The name is too long.");
        assert_eq!(
            sentence("password_confirmation", "does not match the password"),
            "The repeated password does not match the password."
        );
        assert_eq!(
            sentence("email", "not a valid email address"),
            "Not a valid email address."
        );
        assert_eq!(minutes(Duration::from_secs(899)), "15 minutes");
        assert_eq!(minutes(Duration::from_secs(5)), "a minute");
    }
}
