//! `/admin`: the console's first page, the figures of `/admin/stats`.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use keygate_core::accounts::AccountError;
use minijinja::context;

use super::{ConsoleAdmin, frame, page_base};
use crate::http::csrf::CsrfToken;
use crate::pages::auth::PageQuery;
use crate::pages::errors::failure_page;
use crate::state::AppState;

pub async fn home(
    State(state): State<AppState>,
    csrf: CsrfToken,
    admin: ConsoleAdmin,
    Query(query): Query<PageQuery>,
) -> Response {
    let stats = match state.operations.stats().await {
        Ok(stats) => stats,
        Err(err) => return failure_page(&state, AccountError::Store(err)),
    };
    let figures = vec![
        context! { label => "Accounts", value => stats.users },
        context! { label => "Clients", value => stats.clients },
        context! { label => "Live sessions", value => stats.live_sessions },
        context! { label => "Live refresh tokens", value => stats.live_refresh_tokens },
        context! { label => "Live opaque access tokens", value => stats.live_access_tokens },
        context! { label => "Live personal access tokens", value => stats.live_personal_access_tokens },
    ];
    let rows: Vec<_> = stats
        .rows
        .iter()
        .map(|(table, count)| context! { table, count })
        .collect();
    let extra = context! {
        figures,
        rows,
        database_bytes => stats.database_bytes.map(human_bytes),
        audit_events_dropped => stats.audit_events_dropped,
    };
    let base = page_base(&csrf, query.notice.as_deref());
    state
        .pages
        .render("admin_home.html", StatusCode::OK, &base, frame(&admin, "home", extra))
}

/// 1536 -> "1.5 KiB".
fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["bytes", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} bytes")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn bytes_read_like_a_person_writes_them() {
        assert_eq!(super::human_bytes(512), "512 bytes");
        assert_eq!(super::human_bytes(1536), "1.5 KiB");
        assert_eq!(super::human_bytes(3 * 1024 * 1024 * 1024), "3.0 GiB");
    }
}
