//! HTML answers every page shares (the account pages and the OAuth consent and error pages): the
//! templates, the fields every page gets, form values and errors, and the error page.

mod render;
pub mod templates;

use std::path::PathBuf;

use axum::http::StatusCode;
use axum::response::Response;
use minijinja::Value;

pub use render::{Form, PageBase, local_return_to};
use templates::Templates;

use super::session::origin_of;

/// The name in the header and the title of every page.
pub const SITE_NAME: &str = "Keygate";

/// What the pages share: templates and the cookie settings, built once.
pub struct Pages {
    templates: Templates,
    secure_cookies: bool,
    issuer_origin: String,
}

impl Pages {
    /// `templates_dir`: a folder whose templates replace the built-in ones of the same name.
    pub fn new(issuer: &str, templates_dir: Option<PathBuf>) -> Pages {
        Pages {
            templates: Templates::new(templates_dir),
            secure_cookies: issuer.starts_with("https://"),
            issuer_origin: origin_of(issuer),
        }
    }

    /// Cookies are `Secure` and `__Host-` prefixed when the issuer is https.
    pub fn secure_cookies(&self) -> bool {
        self.secure_cookies
    }

    /// `scheme://host[:port]` of the issuer.
    pub fn issuer_origin(&self) -> &str {
        &self.issuer_origin
    }

    /// Renders `name` with the shared fields of `base` and the page's own `extra` fields.
    pub fn render(&self, name: &str, status: StatusCode, base: &PageBase, extra: Value) -> Response {
        render::respond(&self.templates, name, status, base, extra)
    }

    /// A page with a title, a sentence and a way back, for errors that have no form to return to.
    pub fn error_page(&self, status: StatusCode, title: &str, message: &str) -> Response {
        render::error_page(&self.templates, status, title, message)
    }

    /// The answer to a form post without a valid CSRF token.
    pub fn csrf_failure(&self) -> Response {
        self.error_page(
            StatusCode::FORBIDDEN,
            "This form has expired",
            "For your safety the form could not be sent. Go back, reload the page and try again.",
        )
    }

    /// The templates, for a test that renders every one.
    pub fn templates(&self) -> &Templates {
        &self.templates
    }
}

#[cfg(test)]
mod templates_tests;
