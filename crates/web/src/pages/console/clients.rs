//! `/admin/console/clients`: list and register clients (the secret is shown once, on the page that
//! answers the form, never in a URL or cookie), edit one, rotate its secret, delete it.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use keygate_core::accounts::AccountError;
use keygate_core::ids::ClientId;
use keygate_core::model::{Client, GrantType};
use keygate_core::oauth::{ClientMetadata, ClientView, ErrorCode, OAuthError};
use keygate_core::paging::PageRequest;
use keygate_core::secret_token::SecretToken;
use minijinja::{Value, context};
use serde::Deserialize;

use super::{ConsoleAdmin, PAGE_SIZE, fields, frame, page_base, query_string, when};
use crate::http::ClientMeta;
use crate::http::csrf::CsrfToken;
use crate::http::html::Form;
use crate::pages::errors::failure_page;
use crate::pages::see_other;
use crate::state::AppState;

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    pub cursor: Option<String>,
    pub notice: Option<String>,
}

/// The form's values for a client (or for an empty form).
fn form_values(view: Option<&ClientView>) -> Value {
    match view {
        Some(v) => context! {
            client_name => v.client_name.clone(),
            redirect_uris => v.redirect_uris.join("\n"),
            post_logout_redirect_uris => v.post_logout_redirect_uris.join("\n"),
            grant_types => v.grant_types.clone(),
            token_endpoint_auth_method => v.token_endpoint_auth_method.clone(),
            scope => v.scope.clone(),
            first_party => v.first_party,
            access_token_format => v.access_token_format.clone(),
            id_token_signed_response_alg => v.id_token_signed_response_alg.clone().unwrap_or_default(),
        },
        None => context! {
            client_name => "",
            redirect_uris => "",
            post_logout_redirect_uris => "",
            grant_types => vec!["authorization_code", "refresh_token"],
            token_endpoint_auth_method => "client_secret_basic",
            scope => "openid profile email offline_access",
            first_party => false,
            access_token_format => "jwt",
            id_token_signed_response_alg => "",
        },
    }
}

/// The choices the form offers.
fn choices() -> Value {
    context! {
        grant_types => GrantType::ALL.iter().map(|g| g.as_str()).collect::<Vec<_>>(),
        auth_methods => vec!["client_secret_basic", "client_secret_post", "none"],
        formats => vec!["jwt", "opaque"],
        algs => vec!["RS256", "ES256", "EdDSA"],
    }
}

/// The metadata a posted form asks for, and the form's values to show again if it is refused.
fn metadata_of(body: &[u8]) -> (ClientMetadata, Value) {
    let fields = fields(body);
    let one = |name: &str| super::field(&fields, name);
    let lines = |name: &str| -> Vec<String> {
        one(name)
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let grants: Vec<String> = fields
        .iter()
        .filter(|(n, _)| n == "grant_types")
        .map(|(_, v)| v.clone())
        .collect();
    let alg = one("id_token_signed_response_alg");
    let metadata = ClientMetadata {
        client_name: Some(one("client_name")),
        redirect_uris: Some(lines("redirect_uris")),
        post_logout_redirect_uris: Some(lines("post_logout_redirect_uris")),
        grant_types: Some(grants.clone()),
        token_endpoint_auth_method: Some(one("token_endpoint_auth_method")),
        scope: Some(one("scope")),
        first_party: Some(one("first_party") == "on"),
        access_token_format: Some(one("access_token_format")),
        id_token_signed_response_alg: Some(alg.clone()).filter(|a| !a.is_empty()),
        ..ClientMetadata::default()
    };
    let values = context! {
        client_name => one("client_name"),
        redirect_uris => one("redirect_uris"),
        post_logout_redirect_uris => one("post_logout_redirect_uris"),
        grant_types => grants,
        token_endpoint_auth_method => one("token_endpoint_auth_method"),
        scope => one("scope"),
        first_party => one("first_party") == "on",
        access_token_format => one("access_token_format"),
        id_token_signed_response_alg => alg,
    };
    (metadata, values)
}

fn row(client: &Client) -> Value {
    let view = ClientView::of(client, None);
    context! {
        id => view.client_id,
        name => view.client_name,
        kind => if view.token_endpoint_auth_method == "none" { "public" } else { "confidential" },
        grant_types => view.grant_types.join(", "),
        first_party => view.first_party,
        updated => when(client.updated_at),
    }
}

/// What becomes of a refused registration or change.
enum Refusal {
    /// The sentence to show on the form.
    Form(String),
    /// A page of its own, for the server's faults and outages.
    Page(Response),
}

fn refusal(state: &AppState, err: OAuthError) -> Refusal {
    match err.code {
        ErrorCode::TemporarilyUnavailable => Refusal::Page(failure_page(state, AccountError::Busy)),
        ErrorCode::ServerError => {
            let cause = crate::http::error::cause_chain(&err);
            Refusal::Page(failure_page(state, AccountError::Internal(cause)))
        }
        _ => Refusal::Form(err.description.into_owned()),
    }
}

pub async fn list(
    State(state): State<AppState>,
    csrf: CsrfToken,
    admin: ConsoleAdmin,
    Query(query): Query<ListQuery>,
) -> Response {
    let base = page_base(&csrf, query.notice.as_deref());
    render_list(&state, &admin, base, StatusCode::OK, form_values(None), query.cursor).await
}

async fn render_list(
    state: &AppState,
    admin: &ConsoleAdmin,
    base: crate::http::html::PageBase,
    status: StatusCode,
    client_form: Value,
    cursor: Option<String>,
) -> Response {
    let page = PageRequest {
        after: cursor,
        limit: PAGE_SIZE,
    };
    let page = match state.operations.list_clients(&page).await {
        Ok(page) => page,
        Err(err) => return failure_page(state, AccountError::Store(err)),
    };
    let next = page
        .next
        .map(|c| format!("/admin/console/clients?{}", query_string(&[("cursor", c.as_str())])));
    let extra = context! {
        clients => page.items.iter().map(row).collect::<Vec<_>>(),
        next,
        client_form,
        choices => choices(),
    };
    state
        .pages
        .render("admin_clients.html", status, &base, frame(admin, "clients", extra))
}

pub async fn create(
    State(state): State<AppState>,
    csrf: CsrfToken,
    ClientMeta(meta): ClientMeta,
    admin: ConsoleAdmin,
    body: Bytes,
) -> Response {
    let (metadata, values) = metadata_of(&body);
    let by = admin.operator(meta);
    match state.operations.create_client(&metadata, &by.actor, &by.meta).await {
        Ok((client, secret)) => render_client(
            &state,
            &csrf,
            &admin,
            &client,
            secret.as_ref(),
            None,
            StatusCode::CREATED,
        ),
        Err(err) => match refusal(&state, err) {
            Refusal::Form(sentence) => {
                let base = page_base(&csrf, None).form(Form::default().form_error(sentence));
                render_list(&state, &admin, base, StatusCode::BAD_REQUEST, values, None).await
            }
            Refusal::Page(page) => page,
        },
    }
}

async fn client(state: &AppState, id: &str) -> Result<Client, Response> {
    match state.operations.get_client(&ClientId(id.to_owned())).await {
        Ok(Some(client)) => Ok(client),
        Ok(None) => Err(state.pages.error_page(
            StatusCode::NOT_FOUND,
            "No such client",
            "The client does not exist or was deleted.",
        )),
        Err(err) => Err(failure_page(state, AccountError::Store(err))),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct ShowQuery {
    pub notice: Option<String>,
}

pub async fn show(
    State(state): State<AppState>,
    csrf: CsrfToken,
    admin: ConsoleAdmin,
    Path(id): Path<String>,
    Query(query): Query<ShowQuery>,
) -> Response {
    match client(&state, &id).await {
        Ok(client) => render_client(
            &state,
            &csrf,
            &admin,
            &client,
            None,
            query.notice.as_deref(),
            StatusCode::OK,
        ),
        Err(page) => page,
    }
}

/// What the client's page shows besides the client: its form (the stored settings, or the
/// values of a refused post), the secret when one was just made, and the page's status.
struct Shown<'a> {
    form: Value,
    secret: Option<&'a SecretToken>,
    base: crate::http::html::PageBase,
    status: StatusCode,
}

fn client_page(state: &AppState, admin: &ConsoleAdmin, client: &Client, shown: Shown<'_>) -> Response {
    let view = ClientView::of(client, None);
    let extra = context! {
        client => context! {
            id => view.client_id,
            name => view.client_name,
            public => view.token_endpoint_auth_method == "none",
            created => when(client.created_at),
            updated => when(client.updated_at),
        },
        client_form => shown.form,
        choices => choices(),
        secret => shown.secret.map(|s| s.expose().to_owned()),
    };
    state.pages.render(
        "admin_client.html",
        shown.status,
        &shown.base,
        frame(admin, "clients", extra),
    )
}

/// The client's page with its stored settings, and the secret when it was just made.
fn render_client(
    state: &AppState,
    csrf: &CsrfToken,
    admin: &ConsoleAdmin,
    client: &Client,
    secret: Option<&SecretToken>,
    notice: Option<&str>,
    status: StatusCode,
) -> Response {
    let shown = Shown {
        form: form_values(Some(&ClientView::of(client, None))),
        secret,
        base: page_base(csrf, notice),
        status,
    };
    client_page(state, admin, client, shown)
}

/// The client's page after a refused post, the reason above the form.
fn refused_page(
    state: &AppState,
    csrf: &CsrfToken,
    admin: &ConsoleAdmin,
    client: &Client,
    form: Value,
    sentence: String,
) -> Response {
    let shown = Shown {
        form,
        secret: None,
        base: page_base(csrf, None).form(Form::default().form_error(sentence)),
        status: StatusCode::BAD_REQUEST,
    };
    client_page(state, admin, client, shown)
}

pub async fn update(
    State(state): State<AppState>,
    csrf: CsrfToken,
    ClientMeta(meta): ClientMeta,
    admin: ConsoleAdmin,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let existing = match client(&state, &id).await {
        Ok(client) => client,
        Err(page) => return page,
    };
    let (metadata, values) = metadata_of(&body);
    let by = admin.operator(meta);
    match state
        .operations
        .update_client(&existing.id, &metadata, &by.actor, &by.meta)
        .await
    {
        // A client made confidential gets its first secret here: show it once.
        Ok(Some((client, Some(secret)))) => render_client(
            &state,
            &csrf,
            &admin,
            &client,
            Some(&secret),
            Some("client-saved"),
            StatusCode::OK,
        ),
        Ok(Some((client, None))) => see_other(&format!("/admin/console/clients/{}?notice=client-saved", client.id.0)),
        Ok(None) => see_other("/admin/console/clients"),
        Err(err) => match refusal(&state, err) {
            Refusal::Form(sentence) => refused_page(&state, &csrf, &admin, &existing, values, sentence),
            Refusal::Page(page) => page,
        },
    }
}

pub async fn rotate_secret(
    State(state): State<AppState>,
    csrf: CsrfToken,
    ClientMeta(meta): ClientMeta,
    admin: ConsoleAdmin,
    Path(id): Path<String>,
) -> Response {
    let existing = match client(&state, &id).await {
        Ok(client) => client,
        Err(page) => return page,
    };
    let by = admin.operator(meta);
    match state.operations.rotate_secret(&existing.id, &by.actor, &by.meta).await {
        Ok(Some(secret)) => render_client(&state, &csrf, &admin, &existing, Some(&secret), None, StatusCode::OK),
        Ok(None) => see_other("/admin/console/clients"),
        Err(err) => match refusal(&state, err) {
            Refusal::Form(sentence) => {
                let form = form_values(Some(&ClientView::of(&existing, None)));
                refused_page(&state, &csrf, &admin, &existing, form, sentence)
            }
            Refusal::Page(page) => page,
        },
    }
}

pub async fn delete(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    admin: ConsoleAdmin,
    Path(id): Path<String>,
) -> Response {
    let by = admin.operator(meta);
    match state.operations.delete_client(&ClientId(id), &by.actor, &by.meta).await {
        Ok(_) => see_other("/admin/console/clients?notice=client-deleted"),
        Err(err) => match refusal(&state, err) {
            Refusal::Form(sentence) => {
                state
                    .pages
                    .error_page(StatusCode::BAD_REQUEST, "The client was not deleted", &sentence)
            }
            Refusal::Page(page) => page,
        },
    }
}
