//! `/admin/console/users`: search and filter accounts, view one (roles, lock, TOTP, sessions),
//! and act on it: deactivate or activate, unlock, end sessions, reset TOTP, revoke tokens, grant
//! or revoke the admin role. Every action is audited with the admin as actor.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use keygate_core::accounts::{AccountError, UserChanges};
use keygate_core::ids::{SessionId, UserId};
use keygate_core::model::{Role, User};
use keygate_core::operations::TokenOwner;
use keygate_core::paging::PageRequest;
use keygate_core::store::UserFilter;
use minijinja::context;
use serde::Deserialize;

use super::{ConsoleAdmin, PAGE_SIZE, field, fields, frame, page_base, query_string, when};
use crate::http::ClientMeta;
use crate::http::csrf::CsrfToken;
use crate::pages::errors::failure_page;
use crate::pages::see_other;
use crate::state::AppState;

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    pub email: String,
    /// "", "yes" or "no".
    #[serde(default)]
    pub verified: String,
    #[serde(default)]
    pub active: String,
    pub cursor: Option<String>,
    pub notice: Option<String>,
}

fn yes_no(text: &str) -> Option<bool> {
    match text {
        "yes" => Some(true),
        "no" => Some(false),
        _ => None,
    }
}

fn row(user: &User) -> minijinja::Value {
    context! {
        id => user.id.to_string(),
        email => user.email.as_str(),
        verified => user.is_verified(),
        active => user.is_active(),
        admin => user.roles.is_admin(),
        created => when(user.created_at),
    }
}

pub async fn list(
    State(state): State<AppState>,
    csrf: CsrfToken,
    admin: ConsoleAdmin,
    Query(query): Query<ListQuery>,
) -> Response {
    let filter = UserFilter {
        email_prefix: Some(query.email.trim().to_owned()).filter(|e| !e.is_empty()),
        verified: yes_no(&query.verified),
        active: yes_no(&query.active),
    };
    let cursor = query.cursor.filter(|c| UserId::parse(c).is_some());
    let page = PageRequest {
        after: cursor,
        limit: PAGE_SIZE,
    };
    let page = match state.accounts.service.list_users(&filter, &page).await {
        Ok(page) => page,
        Err(err) => return failure_page(&state, err),
    };
    let next = page.next.map(|cursor| {
        let q = query_string(&[
            ("email", query.email.as_str()),
            ("verified", query.verified.as_str()),
            ("active", query.active.as_str()),
            ("cursor", cursor.as_str()),
        ]);
        format!("/admin/console/users?{q}")
    });
    let extra = context! {
        users => page.items.iter().map(row).collect::<Vec<_>>(),
        next,
        search => context! { email => query.email, verified => query.verified, active => query.active },
    };
    let base = page_base(&csrf, query.notice.as_deref());
    state
        .pages
        .render("admin_users.html", StatusCode::OK, &base, frame(&admin, "users", extra))
}

#[derive(Debug, Default, Deserialize)]
pub struct ShowQuery {
    pub notice: Option<String>,
}

async fn account(state: &AppState, id: &str) -> Result<User, Response> {
    let not_found = || {
        state.pages.error_page(
            StatusCode::NOT_FOUND,
            "No such account",
            "The account does not exist or was erased.",
        )
    };
    let Some(id) = UserId::parse(id) else {
        return Err(not_found());
    };
    match state.accounts.service.user_by_id(id).await {
        Ok(user) => Ok(user),
        Err(AccountError::NotFound(_)) => Err(not_found()),
        Err(err) => Err(failure_page(state, err)),
    }
}

pub async fn show(
    State(state): State<AppState>,
    csrf: CsrfToken,
    admin: ConsoleAdmin,
    Path(id): Path<String>,
    Query(query): Query<ShowQuery>,
) -> Response {
    let user = match account(&state, &id).await {
        Ok(user) => user,
        Err(page) => return page,
    };
    let status = match state.accounts.service.user_status(&user).await {
        Ok(status) => status,
        Err(err) => return failure_page(&state, err),
    };
    let sessions: Vec<_> = status
        .sessions
        .iter()
        .map(|s| {
            context! {
                id => s.id.to_string(),
                ip => s.ip.clone(),
                user_agent => s.user_agent.clone(),
                created => when(s.created_at),
                last_seen => when(s.last_seen_at),
            }
        })
        .collect();
    let extra = context! {
        user => context! {
            id => user.id.to_string(),
            email => user.email.as_str(),
            verified => user.is_verified(),
            active => user.is_active(),
            admin => user.roles.is_admin(),
            roles => user.roles.to_stored(),
            has_password => user.password_hash.is_some(),
            created => when(user.created_at),
            updated => when(user.updated_at),
            locked_until => status.locked_until.map(when),
            totp_enabled => status.totp_enabled,
        },
        is_self => user.id == admin.0.user.id,
        sessions,
    };
    let base = page_base(&csrf, query.notice.as_deref());
    state
        .pages
        .render("admin_user.html", StatusCode::OK, &base, frame(&admin, "users", extra))
}

/// POST `/admin/console/users/{id}/action` with `action` = `deactivate`, `activate`, `unlock`,
/// `end_sessions`, `end_session` (+ `session_id`), `reset_totp`, `revoke_tokens`,
/// `grant_admin` or `revoke_admin`; answers 303 back to the account with a notice.
pub async fn act(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    admin: ConsoleAdmin,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let user = match account(&state, &id).await {
        Ok(user) => user,
        Err(page) => return page,
    };
    let fields = fields(&body);
    let action = field(&fields, "action");
    let by = admin.operator(meta.clone());
    let service = &state.accounts.service;
    let back = |notice: &str| see_other(&format!("/admin/console/users/{}?notice={notice}", user.id));
    // Locking oneself out of the console is refused.
    if user.id == admin.0.user.id && matches!(action.as_str(), "deactivate" | "revoke_admin") {
        return back("not-yourself");
    }
    let done: Result<&str, AccountError> = match action.as_str() {
        "deactivate" | "activate" => {
            let active = action == "activate";
            let changes = UserChanges {
                active: Some(active),
                ..UserChanges::default()
            };
            service
                .update_user(&user, &changes, &by)
                .await
                .map(|_| if active { "activated" } else { "deactivated" })
        }
        "unlock" => service.unlock_user(&user, &by).await.map(|()| "unlocked"),
        "end_sessions" => service.end_all_sessions(&user, &by).await.map(|_| "sessions-ended"),
        "end_session" => match SessionId::parse(&field(&fields, "session_id")) {
            Some(session) => match service.end_user_session(&user, session, &by).await {
                Ok(()) | Err(AccountError::NotFound(_)) => Ok("session-ended"),
                Err(err) => Err(err),
            },
            None => Ok("session-ended"),
        },
        "reset_totp" => service
            .reset_totp(&user, &by)
            .await
            .map(|removed| if removed { "totp-reset" } else { "totp-was-off" }),
        "revoke_tokens" => state
            .operations
            .revoke_tokens(&TokenOwner::User(user.id, None), &by.actor, &meta)
            .await
            .map(|_| "tokens-revoked")
            .map_err(AccountError::Store),
        "grant_admin" => service
            .set_role(&user, Role::admin(), true, &by)
            .await
            .map(|_| "admin-granted"),
        "revoke_admin" => service
            .set_role(&user, Role::admin(), false, &by)
            .await
            .map(|_| "admin-revoked"),
        _ => {
            return state.pages.error_page(
                StatusCode::BAD_REQUEST,
                "Unknown action",
                "The form asked for an action the console does not know.",
            );
        }
    };
    match done {
        Ok(notice) => back(notice),
        Err(err) => failure_page(&state, err),
    }
}
