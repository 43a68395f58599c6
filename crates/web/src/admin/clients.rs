//! /admin/clients: list, create (the secret is in this answer only), show, update, delete, and
//! POST /admin/clients/{id}/secret to rotate the secret.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use keygate_core::ids::ClientId;
use keygate_core::oauth::{ClientMetadata, ClientView};
use keygate_core::paging::PageRequest;
use serde::Deserialize;
use serde_json::json;

use super::schema::{ClientPage, RotatedSecret};
use super::{Admin, AdminError};
use crate::http::{ClientMeta, no_store};
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

fn body<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, AdminError> {
    let bytes = if bytes.iter().all(u8::is_ascii_whitespace) {
        b"{}".as_slice()
    } else {
        bytes
    };
    serde_json::from_slice(bytes)
        .map_err(|e| AdminError::BadRequest(format!("the body is not valid client metadata: {e}")))
}

#[utoipa::path(get, path = "/admin/clients", tag = "admin", security(("admin_bearer" = [])), params(ListQuery),
    responses((status = 200, description = "A page of clients", body = ClientPage)))]
pub async fn list(
    State(state): State<AppState>,
    _admin: Admin,
    Query(query): Query<ListQuery>,
) -> Result<Response, AdminError> {
    let page = PageRequest {
        after: query.cursor,
        limit: query.limit.unwrap_or(100),
    };
    let page = state.operations.list_clients(&page).await?;
    let items: Vec<ClientView> = page.items.iter().map(|c| ClientView::of(c, None)).collect();
    Ok(Json(json!({ "items": items, "next_cursor": page.next })).into_response())
}

#[utoipa::path(post, path = "/admin/clients", tag = "admin", security(("admin_bearer" = [])), request_body = ClientMetadata,
    responses((status = 201, description = "Registered; `client_secret` (confidential clients) is in this answer only", body = ClientView)))]
pub async fn create(
    State(state): State<AppState>,
    admin: Admin,
    ClientMeta(meta): ClientMeta,
    bytes: axum::body::Bytes,
) -> Result<Response, AdminError> {
    let metadata: ClientMetadata = body(&bytes)?;
    let (client, secret) = state.operations.create_client(&metadata, &admin.actor, &meta).await?;
    let mut response = (StatusCode::CREATED, Json(ClientView::of(&client, secret.as_ref()))).into_response();
    no_store(response.headers_mut());
    Ok(response)
}

#[utoipa::path(get, path = "/admin/clients/{id}", tag = "admin", security(("admin_bearer" = [])), params(("id" = String, Path, description = "The client id")),
    responses((status = 200, description = "The client", body = ClientView)))]
pub async fn show(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<String>,
) -> Result<Response, AdminError> {
    let client = state
        .operations
        .get_client(&ClientId(id))
        .await?
        .ok_or(AdminError::NotFound("client"))?;
    Ok(Json(ClientView::of(&client, None)).into_response())
}

#[utoipa::path(method(put, patch), path = "/admin/clients/{id}", tag = "admin", security(("admin_bearer" = [])),
    params(("id" = String, Path, description = "The client id")), request_body = ClientMetadata,
    description = "PUT and PATCH do the same: the fields given change, the others stay. A client made confidential gets a secret, shown in this answer only.",
    responses((status = 200, description = "The updated client", body = ClientView)))]
pub async fn update(
    State(state): State<AppState>,
    admin: Admin,
    ClientMeta(meta): ClientMeta,
    Path(id): Path<String>,
    bytes: axum::body::Bytes,
) -> Result<Response, AdminError> {
    let metadata: ClientMetadata = body(&bytes)?;
    let (client, secret) = state
        .operations
        .update_client(&ClientId(id), &metadata, &admin.actor, &meta)
        .await?
        .ok_or(AdminError::NotFound("client"))?;
    let mut response = Json(ClientView::of(&client, secret.as_ref())).into_response();
    no_store(response.headers_mut());
    Ok(response)
}

#[utoipa::path(delete, path = "/admin/clients/{id}", tag = "admin", security(("admin_bearer" = [])), params(("id" = String, Path, description = "The client id")),
    responses((status = 204, description = "Deleted, with its tokens and consents")))]
pub async fn delete(
    State(state): State<AppState>,
    admin: Admin,
    ClientMeta(meta): ClientMeta,
    Path(id): Path<String>,
) -> Result<Response, AdminError> {
    let deleted = state
        .operations
        .delete_client(&ClientId(id), &admin.actor, &meta)
        .await?;
    if deleted {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(AdminError::NotFound("client"))
    }
}

#[utoipa::path(post, path = "/admin/clients/{id}/secret", tag = "admin", security(("admin_bearer" = [])), params(("id" = String, Path, description = "The client id")),
    responses((status = 200, description = "The new secret, in this answer only; the old one stops working", body = RotatedSecret)))]
pub async fn rotate_secret(
    State(state): State<AppState>,
    admin: Admin,
    ClientMeta(meta): ClientMeta,
    Path(id): Path<String>,
) -> Result<Response, AdminError> {
    let client_id = ClientId(id);
    let secret = state
        .operations
        .rotate_secret(&client_id, &admin.actor, &meta)
        .await?
        .ok_or(AdminError::NotFound("client"))?;
    let mut response = Json(json!({ "client_id": client_id.0, "client_secret": secret.expose() })).into_response();
    no_store(response.headers_mut());
    Ok(response)
}
