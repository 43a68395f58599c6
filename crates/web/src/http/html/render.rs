//! Turning a template and its data into a response: the fields every page shares, form values
//! and errors, `no-store` caching (pages carry CSRF tokens and sometimes secrets), and a plain
//! 500 page when a template fails.

use std::collections::BTreeMap;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use minijinja::{Value, context};
use serde::Serialize;

use super::SITE_NAME;
use super::templates::Templates;
use crate::http::csrf_token::CsrfToken;
use crate::http::error::cause_chain;

/// What a form shows again after a refused post: the values typed (never passwords), one
/// message per field, and a message about the whole form.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Form {
    pub values: BTreeMap<String, String>,
    pub errors: BTreeMap<String, String>,
    pub form_error: Option<String>,
}

impl Form {
    pub fn value(mut self, field: &str, value: impl Into<String>) -> Self {
        self.values.insert(field.to_owned(), value.into());
        self
    }

    pub fn error(mut self, field: &str, message: impl Into<String>) -> Self {
        self.errors.insert(field.to_owned(), message.into());
        self
    }

    pub fn form_error(mut self, message: impl Into<String>) -> Self {
        self.form_error = Some(message.into());
        self
    }

    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty() || self.form_error.is_some()
    }
}

/// The fields every page template may use.
#[derive(Clone, Debug)]
pub struct PageBase {
    pub csrf_token: String,
    pub signed_in: bool,
    pub notice: Option<String>,
    pub form: Form,
}

impl PageBase {
    pub fn new(csrf: &CsrfToken) -> Self {
        PageBase {
            csrf_token: csrf.value().to_owned(),
            signed_in: false,
            notice: None,
            form: Form::default(),
        }
    }

    pub fn signed_in(mut self, signed_in: bool) -> Self {
        self.signed_in = signed_in;
        self
    }

    pub fn notice(mut self, notice: Option<&str>) -> Self {
        self.notice = notice.map(str::to_owned);
        self
    }

    pub fn form(mut self, form: Form) -> Self {
        self.form = form;
        self
    }
}

pub(super) fn respond(
    templates: &Templates,
    name: &str,
    status: StatusCode,
    base: &PageBase,
    extra: Value,
) -> Response {
    let context = context! {
        site_name => SITE_NAME,
        csrf_token => base.csrf_token.as_str(),
        signed_in => base.signed_in,
        notice => base.notice.as_deref(),
        form_error => base.form.form_error.as_deref(),
        values => Value::from(minijinja::value::Serde(&base.form.values)),
        errors => Value::from(minijinja::value::Serde(&base.form.errors)),
        ..extra
    };
    match templates.render(name, context) {
        Ok(html) => html_response(status, html),
        Err(err) => {
            tracing::error!(error = %cause_chain(&err), "a page could not be rendered");
            plain_failure()
        }
    }
}

pub(super) fn error_page(templates: &Templates, status: StatusCode, title: &str, message: &str) -> Response {
    let context = context! {
        site_name => SITE_NAME,
        signed_in => false,
        title => title,
        message => message,
    };
    match templates.render("error.html", context) {
        Ok(html) => html_response(status, html),
        Err(err) => {
            tracing::error!(error = %cause_chain(&err), "the error page could not be rendered");
            plain_failure()
        }
    }
}

fn html_response(status: StatusCode, html: String) -> Response {
    let mut response = (status, Html(html)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn plain_failure() -> Response {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        Html("<!doctype html><title>Error</title><p>Something went wrong. Please try again later.</p>"),
    )
        .into_response()
}

/// `return_to` when it is a path on this server (`/…` but not `//…` nor `/\…`), so that a login
/// link can never send the user to another site.
pub fn local_return_to(candidate: Option<&str>) -> Option<String> {
    let path = candidate?.trim();
    let local = path.starts_with('/')
        && !path.starts_with("//")
        && !path.starts_with("/\\")
        && path.len() <= 4096
        && !path.chars().any(|c| c.is_control() || c == '\\');
    local.then(|| path.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn return_to_is_only_ever_a_local_path() {
        let ok = |s: &str| local_return_to(Some(s));
        assert_eq!(
            ok("/oauth2/authorize?client_id=a&state=b").as_deref(),
            Some("/oauth2/authorize?client_id=a&state=b")
        );
        assert_eq!(ok("/account").as_deref(), Some("/account"));
        for bad in [
            "//evil.example/x",
            "/\\evil.example",
            "https://evil.example/",
            "evil",
            "",
            "/a\nb",
            "/a\\b",
        ] {
            assert_eq!(ok(bad), None, "{bad:?}");
        }
        assert_eq!(local_return_to(None), None);
    }
}
