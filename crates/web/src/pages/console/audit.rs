//! `/admin/console/audit`: the audit log, newest first, filtered by account, client, action and
//! day, with cursor paging.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use keygate_core::Timestamp;
use keygate_core::accounts::AccountError;
use keygate_core::ids::{AuditId, ClientId, UserId};
use keygate_core::model::{AuditAction, AuditFilter};
use keygate_core::paging::PageRequest;
use minijinja::context;
use serde::Deserialize;

use super::{ConsoleAdmin, PAGE_SIZE, frame, page_base, query_string, when};
use crate::http::csrf::CsrfToken;
use crate::http::html::Form;
use crate::pages::errors::failure_page;
use crate::state::AppState;

#[derive(Debug, Default, Deserialize)]
pub struct AuditQuery {
    #[serde(default)]
    pub user_id: String,
    #[serde(default)]
    pub client_id: String,
    #[serde(default)]
    pub action: String,
    /// A day, `YYYY-MM-DD` (UTC), from its start.
    #[serde(default)]
    pub from: String,
    /// A day, `YYYY-MM-DD` (UTC), to its end.
    #[serde(default)]
    pub until: String,
    pub cursor: Option<String>,
}

const DAY_MS: i64 = 24 * 3600 * 1000;

/// The start of a `YYYY-MM-DD` day in UTC.
fn day_start(text: &str) -> Option<Timestamp> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let date = time::Date::parse(text, format).ok()?;
    let seconds = date.midnight().assume_utc().unix_timestamp();
    Some(Timestamp::from_millis(seconds * 1000))
}

pub async fn list(
    State(state): State<AppState>,
    csrf: CsrfToken,
    admin: ConsoleAdmin,
    Query(query): Query<AuditQuery>,
) -> Response {
    let mut form = Form::default();
    let mut filter = AuditFilter::default();
    if !query.user_id.is_empty() {
        match UserId::parse(&query.user_id) {
            Some(id) => filter.user_id = Some(id),
            None => form = form.error("user_id", "Not an account id."),
        }
    }
    if !query.client_id.is_empty() {
        filter.client_id = Some(ClientId(query.client_id.clone()));
    }
    if !query.action.is_empty() {
        match AuditAction::parse(&query.action) {
            Some(action) => filter.action = Some(action),
            None => form = form.error("action", "Not an action."),
        }
    }
    if !query.from.is_empty() {
        match day_start(&query.from) {
            Some(t) => filter.from = Some(t),
            None => form = form.error("from", "Use YYYY-MM-DD."),
        }
    }
    if !query.until.is_empty() {
        match day_start(&query.until) {
            Some(t) => filter.until = Some(Timestamp::from_millis(t.as_millis() + DAY_MS)),
            None => form = form.error("until", "Use YYYY-MM-DD."),
        }
    }
    // A cursor this page did not make shows the first page.
    let page = PageRequest {
        after: query.cursor.clone().filter(|c| AuditId::parse(c).is_some()),
        limit: PAGE_SIZE,
    };
    let (events, next) = if form.has_errors() {
        (Vec::new(), None)
    } else {
        match state.operations.audit(&filter, &page).await {
            Ok(page) => (page.items, page.next),
            Err(err) => return failure_page(&state, AccountError::Store(err)),
        }
    };
    let next = next.map(|cursor| {
        let q = query_string(&[
            ("user_id", query.user_id.as_str()),
            ("client_id", query.client_id.as_str()),
            ("action", query.action.as_str()),
            ("from", query.from.as_str()),
            ("until", query.until.as_str()),
            ("cursor", cursor.as_str()),
        ]);
        format!("/admin/console/audit?{q}")
    });
    let events: Vec<_> = events
        .iter()
        .map(|e| {
            context! {
                at => when(e.at),
                action => e.action.as_str(),
                actor => e.actor.clone(),
                user_id => e.user_id.map(|u| u.to_string()),
                client_id => e.client_id.as_ref().map(|c| c.0.clone()),
                ip => e.ip.clone(),
                outcome => e.outcome.as_str(),
                details => if e.details.is_null() { String::new() } else { e.details.to_string() },
            }
        })
        .collect();
    let status = if form.has_errors() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let extra = context! {
        events,
        next,
        actions => AuditAction::ALL.iter().map(|a| a.as_str()).collect::<Vec<_>>(),
        search => context! {
            user_id => query.user_id, client_id => query.client_id, action => query.action,
            from => query.from, until => query.until,
        },
    };
    let base = page_base(&csrf, None).form(form);
    state
        .pages
        .render("admin_audit.html", status, &base, frame(&admin, "audit", extra))
}
