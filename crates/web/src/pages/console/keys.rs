//! `/admin/console/keys`: the signing keys (never a private part) and rotation.

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use keygate_core::Timestamp;
use keygate_core::accounts::AccountError;
use keygate_core::jose::RotateMode;
use keygate_core::oauth::KeyError;
use minijinja::context;

use super::{ConsoleAdmin, field, fields, frame, page_base, when};
use crate::http::ClientMeta;
use crate::http::csrf::CsrfToken;
use crate::pages::auth::PageQuery;
use crate::pages::errors::failure_page;
use crate::pages::see_other;
use crate::state::AppState;

pub async fn list(
    State(state): State<AppState>,
    csrf: CsrfToken,
    admin: ConsoleAdmin,
    Query(query): Query<PageQuery>,
) -> Response {
    let keys = match state.oauth.keys.list().await {
        Ok(keys) => keys,
        Err(err) => return failure_page(&state, AccountError::Store(err)),
    };
    let time = |t: Option<Timestamp>| t.map(when);
    let keys: Vec<_> = keys
        .iter()
        .map(|k| {
            context! {
                kid => k.kid.0.clone(),
                alg => k.alg.as_str(),
                state => k.state.as_str(),
                created => when(k.created_at),
                activated => time(k.activated_at),
                retired => time(k.retired_at),
                remove_after => time(k.remove_after),
            }
        })
        .collect();
    let base = page_base(&csrf, query.notice.as_deref());
    state.pages.render(
        "admin_keys.html",
        StatusCode::OK,
        &base,
        frame(&admin, "keys", context! { keys }),
    )
}

/// Rotates every algorithm whose successor is ready, or all at once with `immediately=on` (after
/// a leak).
pub async fn rotate(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    admin: ConsoleAdmin,
    body: Bytes,
) -> Response {
    let mode = if field(&fields(&body), "immediately") == "on" {
        RotateMode::Immediately
    } else {
        RotateMode::WhenReady
    };
    let by = admin.operator(meta);
    match state.oauth.keys.rotate(mode, &by.actor, &by.meta).await {
        Ok(changes) if changes.rotated.is_empty() => see_other("/admin/console/keys?notice=keys-waiting"),
        Ok(_) => see_other("/admin/console/keys?notice=keys-rotated"),
        Err(KeyError::Store(err)) => failure_page(&state, AccountError::Store(err)),
        Err(KeyError::Jose(err)) => failure_page(&state, AccountError::Internal(err.to_string())),
    }
}
