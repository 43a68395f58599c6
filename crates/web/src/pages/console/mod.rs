//! The admin console (DESIGN §4): server-rendered pages for accounts holding the `admin` role,
//! no JavaScript, CSRF on every form (the pages' layer). `/admin` shows the figures; users,
//! clients, signing keys and the audit log live under `/admin/console/`, beside the admin JSON
//! API under `/admin/…`, which keeps its bearer tokens. Without a session a page sends the browser
//! to sign in first; a signed-in account without the role gets 403 on every page and form.

pub mod audit;
pub mod clients;
pub mod home;
pub mod keys;
pub mod users;

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::Response;
use keygate_core::accounts::{Operator, RequestMeta, SessionAuth};
use minijinja::{Value, context};

pub(super) use super::posted::{field, fields, when};
use super::see_other;
use super::session::MaybeSession;
use crate::http::csrf::CsrfToken;
use crate::http::html::PageBase;
use crate::state::AppState;

/// Items per page of a console listing.
const PAGE_SIZE: u32 = 50;

/// A signed-in account holding the `admin` role.
pub struct ConsoleAdmin(pub SessionAuth);

impl ConsoleAdmin {
    /// The admin as the audit log names them, acting from this request.
    pub fn operator(&self, meta: RequestMeta) -> Operator {
        Operator::new(format!("user:{}", self.0.user.id), meta)
    }
}

impl FromRequestParts<AppState> for ConsoleAdmin {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let MaybeSession(found) = MaybeSession::from_request_parts(parts, state).await?;
        let Some(auth) = found else {
            let back = parts.uri.path_and_query().map_or("/admin", |p| p.as_str());
            let back: String = form_urlencoded::byte_serialize(back.as_bytes()).collect();
            return Err(see_other(&format!("/login?return_to={back}")));
        };
        if !auth.user.roles.is_admin() {
            return Err(state.pages.error_page(
                StatusCode::FORBIDDEN,
                "This page is for administrators",
                "Your account does not hold the admin role. An operator can grant it with `keygate user grant-admin EMAIL`.",
            ));
        }
        Ok(ConsoleAdmin(auth))
    }
}

/// The sentence for a console `?notice=` code; only these fixed texts can appear.
fn notice_text(code: &str) -> Option<&'static str> {
    Some(match code {
        "deactivated" => "The account is deactivated; its sessions and grants have ended.",
        "activated" => "The account is active again.",
        "unlocked" => "The lock is lifted; the account has a fresh budget of attempts.",
        "sessions-ended" => "Every session of the account has ended.",
        "session-ended" => "The session has ended.",
        "totp-reset" => "Two-step verification is off for the account; its recovery codes are gone.",
        "totp-was-off" => "Two-step verification was not on.",
        "tokens-revoked" => "Every refresh and access token of the account is revoked.",
        "admin-granted" => "The account holds the admin role now.",
        "admin-revoked" => "The account no longer holds the admin role.",
        "not-yourself" => "You cannot do that to your own account from the console.",
        "client-saved" => "The client is saved.",
        "client-deleted" => "The client is deleted; its tokens no longer work.",
        "keys-rotated" => "The keys are rotated.",
        "keys-waiting" => "No key rotated yet: each successor key must be published for the lead time first.",
        _ => return None,
    })
}

/// The fields every console page shares: the signed-in admin, the notice, the CSRF token.
fn page_base(csrf: &CsrfToken, notice: Option<&str>) -> PageBase {
    PageBase::new(csrf).signed_in(true).notice(notice.and_then(notice_text))
}

/// `extra` with the fields of the console's frame (who is signed in, which tab is open).
fn frame(admin: &ConsoleAdmin, tab: &str, extra: Value) -> Value {
    context! { admin_email => admin.0.user.email.as_str(), tab, ..extra }
}

/// A query string from the non-empty pairs, for links that keep a listing's filters.
fn query_string(pairs: &[(&str, &str)]) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (name, value) in pairs.iter().filter(|(_, v)| !v.is_empty()) {
        out.append_pair(name, value);
    }
    out.finish()
}
