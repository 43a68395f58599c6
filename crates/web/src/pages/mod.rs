//! The server-rendered HTML pages (DESIGN §4): sign-in (with the TOTP step), registration, email
//! verification, password reset, the account page (sessions, tokens, TOTP) and sign-out, plus
//! the template infrastructure the OAuth consent page uses. Every page route sits behind the
//! form CSRF layer ([`crate::csrf::protect`]); a successful form POST answers 303, a refused one
//! shows the form again with the message next to its field.

mod account;
mod auth;
mod cookies;
mod errors;
mod flash;
mod password;
mod register;
mod render;
mod session;
mod static_files;
pub mod templates;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use minijinja::Value;

pub use render::{Form, PageBase, local_return_to};
pub use session::MaybeSession;
use templates::Templates;

use crate::state::{AppState, WebConfig};

/// The name in the header and the title of every page.
pub const SITE_NAME: &str = "Keygate";

/// What the pages share: templates and the cookie settings, built once.
pub struct Pages {
    templates: Templates,
    secure_cookies: bool,
    issuer_origin: String,
}

impl Pages {
    pub fn new(config: &WebConfig) -> Pages {
        Pages {
            templates: Templates::new(config.templates_dir.clone()),
            secure_cookies: config.issuer.starts_with("https://"),
            issuer_origin: origin_of(&config.issuer),
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

/// The page routes, behind the CSRF layer. `state` is the application's own state.
pub fn routes(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/static/keygate.css", get(static_files::stylesheet))
        .merge(
            Router::new()
                .route("/login", get(auth::login_page).post(auth::login_submit))
                .route("/login/totp", get(auth::totp_page).post(auth::totp_submit))
                .route("/logout", get(auth::logout_page).post(auth::logout_submit))
                .route(
                    "/register",
                    get(register::register_page).post(register::register_submit),
                )
                .route(
                    "/verify-email",
                    get(register::verify_page).post(register::verify_submit),
                )
                .route("/verify-email/resend", post(register::resend_submit))
                .route(
                    "/forgot-password",
                    get(password::forgot_page).post(password::forgot_submit),
                )
                .route(
                    "/reset-password",
                    get(password::reset_page).post(password::reset_submit),
                )
                .route("/account", get(account::account_page))
                .route("/account/sessions/end", post(account::end_session))
                .route("/account/tokens", post(account::create_token))
                .route("/account/tokens/revoke", post(account::revoke_token))
                .route("/account/totp/setup", post(account::totp_setup))
                .route("/account/totp/enable", post(account::totp_enable))
                .route("/account/totp/disable", post(account::totp_disable))
                .layer(axum::middleware::from_fn_with_state(state, crate::csrf::protect)),
        )
}

/// `https://id.example.com/tenant` -> `https://id.example.com`.
fn origin_of(issuer: &str) -> String {
    let Some((scheme, rest)) = issuer.split_once("://") else {
        return issuer.to_owned();
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    format!("{}://{}", scheme.to_ascii_lowercase(), authority.to_ascii_lowercase())
}

/// A 303 to `location` (a local path), the answer to every successful form post.
pub fn see_other(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// The sentence for a `?notice=` code. Only these fixed texts can appear: a link cannot make a
/// page say something of its choosing.
pub fn notice_text(code: &str) -> Option<&'static str> {
    Some(match code {
        "check-email" => "Almost done: we sent you an email with a link to confirm your address.",
        "email-verified" => "Your email address is confirmed. You can sign in now.",
        "verification-sent" => "If that address has an account waiting for confirmation, a new link is on its way.",
        "reset-sent" => "If that address has an account, we sent it a link to choose a new password.",
        "password-reset" => "Your password is changed and every device was signed out. Sign in with the new password.",
        "signed-out" => "You are signed out.",
        "start-again" => "That sign-in took too long. Please start again.",
        "session-ended" => "The session has ended.",
        "token-revoked" => "The token is revoked.",
        "totp-off" => "Two-step verification is off.",
        _ => return None,
    })
}

#[cfg(test)]
mod templates_tests;
