//! The server-rendered HTML pages (DESIGN §4): sign-in (with the TOTP step), registration, email
//! verification, password reset, the account page (sessions, tokens, TOTP), sign-out, and the
//! admin console ([`console`]).
//! Every page route sits behind the form CSRF layer ([`crate::http::csrf::protect`]); a
//! successful form POST answers 303, a refused one shows the form again with the message next to
//! its field. Templates and the shared page fields are the floor's ([`crate::http::html`]); the
//! routes are in `routes.rs`.

pub mod account;
pub mod auth;
pub mod console;
mod cookies;
mod errors;
mod flash;
pub mod password;
mod posted;
pub mod register;
mod session;
pub mod static_files;

pub use crate::http::html::{Form, PageBase, Pages, SITE_NAME, local_return_to};
pub use crate::http::see_other;
pub use session::MaybeSession;

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
