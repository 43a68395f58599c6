//! The OpenAPI 3.1 document of the JSON APIs (account, admin, OAuth endpoints), derived from the
//! handlers' `#[utoipa::path]` annotations and their types, built once at start and served at
//! `/api/openapi.json`; `/api/docs` shows it with a vendored Swagger UI ([`docs_page`]).
//!
//! To document a new route: annotate its handler with `#[utoipa::path(...)]` (security, body,
//! success responses; the error responses of its family are added by `FamilyErrors`), add the
//! handler to `paths(...)` below, and give each hand-built answer a shape in its feature's
//! `schema.rs`. The unit test in `tests.rs` fails for a route of `routes.rs` missing here (an
//! HTML page goes in its `NOT_API` list instead; `/admin/console/…` pages are excluded as a
//! group). For example, an admin handler:
//!
//! ```text
//! #[utoipa::path(get, path = "/admin/users/{id}", tag = "admin", security(("admin_bearer" = [])),
//!     params(("id" = String, Path, description = "The user id")),
//!     responses((status = 200, description = "The user", body = UserView)))]
//! pub async fn show(…) -> Result<Response, AdminError> { … }
//! ```
//!
//! with `UserView` (`#[derive(Serialize, ToSchema)]`) in `admin/schema.rs` unless the handler
//! already returns a typed body, and `admin::users::show` added to `paths(...)`. A handler
//! serving two methods takes `method(put, patch)`. The `openapi` integration suite then checks a
//! real answer against the schema when a request for it is added there. Schema names are global to
//! the document: two types with one name (say a `SessionList` in `api/` and in `admin/`) silently
//! become one, so give each a name of its own (the suite's real answers catch such a clash).

pub mod docs_page;
#[cfg(test)]
mod tests;

use std::sync::LazyLock;

use axum::body::Bytes;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use utoipa::openapi::path::ParameterIn;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Content, OpenApi as Document, Ref, RefOr, Response as DocResponse, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use crate::{admin, api, oauth};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Keygate",
        description = "OAuth 2.1 authorization server and OpenID Connect provider: the OAuth endpoints, \
                       the account API (`/api/auth`) and the admin API (`/admin`). HTML pages (`/login`, \
                       `/account`, `/consent`, …) are not part of this document."
    ),
    paths(
        // OAuth 2.1 / OpenID Connect
        oauth::discovery::discovery,
        oauth::schema::authorization_server_metadata,
        oauth::discovery::jwks,
        oauth::authorize::authorize,
        oauth::token::token,
        oauth::token::introspect,
        oauth::token::revoke,
        oauth::userinfo::userinfo,
        oauth::logout::logout,
        // The account API
        api::auth::register,
        api::auth::login,
        api::auth::logout,
        api::auth::verify_email_get,
        api::auth::verify_email_post,
        api::auth::resend_verification,
        api::auth::forgot_password,
        api::auth::reset_password,
        api::auth::change_password,
        api::account::me,
        api::account::list_sessions,
        api::account::end_session,
        api::account::activity,
        api::account::export,
        api::account::delete_account,
        api::credentials::totp_setup,
        api::credentials::totp_enable,
        api::credentials::totp_disable,
        api::credentials::list_tokens,
        api::credentials::create_token,
        api::credentials::revoke_token,
        // The admin API
        admin::clients::list,
        admin::clients::create,
        admin::clients::show,
        admin::clients::update,
        admin::clients::delete,
        admin::clients::rotate_secret,
        admin::ops::list_keys,
        admin::ops::rotate_keys,
        admin::ops::revoke_tokens,
        admin::ops::stats,
        admin::ops::audit,
        admin::users::list,
        admin::users::create,
        admin::users::show,
        admin::users::update,
        admin::users::delete,
        admin::users::set_password,
        admin::users::unlock,
        admin::users::sessions,
        admin::users::end_sessions,
        admin::users::end_session,
        admin::users::revoke_tokens,
        admin::users::reset_totp,
        admin::users::grant_role,
        admin::users::revoke_role,
        // This document
        openapi_json,
    ),
    // Only referenced by `FamilyErrors`, so named here.
    components(schemas(api::schema::Problem, admin::schema::AdminErrorBody, oauth::schema::OAuthErrorBody)),
    modifiers(&SecuritySchemes, &FamilyErrors, &OneIdPerMethod),
    tags(
        (name = "oauth", description = "OAuth 2.1 and OpenID Connect endpoints; errors as RFC 6749 §5.2 `{error, error_description}`"),
        (name = "account", description = "The account API: JSON bodies only, RFC 9457 problem documents for errors, `Cache-Control: no-store`"),
        (name = "admin", description = "The admin API: bearer = the configured admin token or a personal access token with the `admin` scope; errors as `{error, error_description}`"),
        (name = "meta", description = "This document"),
    )
)]
pub struct ApiDoc;

/// The security schemes the annotations name.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Default::default);
        let http = |scheme, description: &str| {
            SecurityScheme::Http(HttpBuilder::new().scheme(scheme).description(Some(description)).build())
        };
        components.add_security_scheme(
            "admin_bearer",
            http(
                HttpAuthScheme::Bearer,
                "The configured `admin_token`, or a personal access token (`kgp_…`) with the `admin` scope \
                 (`keygate admin-token create`).",
            ),
        );
        components.add_security_scheme(
            "session_cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "keygate_session",
                "The session cookie set by `POST /api/auth/login` (named `__Host-keygate_session` when the \
                 issuer is https).",
            ))),
        );
        components.add_security_scheme(
            "pat_bearer",
            http(
                HttpAuthScheme::Bearer,
                "A personal access token (`kgp_…`); it may do what its scopes (`account:read`, \
                 `account:write`) allow.",
            ),
        );
        components.add_security_scheme(
            "client_secret_basic",
            http(
                HttpAuthScheme::Basic,
                "The client id and secret, form-urlencoded, as HTTP Basic credentials (RFC 6749 §2.3.1). \
                 `client_secret_post` (both in the form body) and public clients (`client_id` alone) \
                 send no header: the operations list them as the empty requirement.",
            ),
        );
        components.add_security_scheme(
            "access_token",
            http(HttpAuthScheme::Bearer, "An access token issued by `/oauth2/token`."),
        );
    }
}

/// The error answers every operation of a family shares, so no annotation repeats them:
/// problem documents under `/api/`, `{error, error_description}` under `/admin/`, RFC 6749
/// errors for the token, introspection, revocation and userinfo endpoints (an operation's own
/// answer for a status, such as userinfo's 401, stays).
struct FamilyErrors;

fn error_response(description: &str, content_type: &str, schema: &str) -> RefOr<DocResponse> {
    let content = Content::new(Some(Ref::from_schema_name(schema)));
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content(content_type, content)
            .build(),
    )
}

impl Modify for FamilyErrors {
    fn modify(&self, doc: &mut Document) {
        for (path, item) in doc.paths.paths.iter_mut() {
            let errors: Vec<(&str, RefOr<DocResponse>)> = if path.starts_with("/api/auth/") {
                let problem = |d| error_response(d, "application/problem+json", "Problem");
                vec![
                    ("4XX", problem("Refused: a problem document (RFC 9457) says why")),
                    ("5XX", problem("Unavailable or failed (`Retry-After` on 503)")),
                ]
            } else if path.starts_with("/admin/") {
                vec![
                    (
                        "4XX",
                        error_response(
                            "Refused (401 with `WWW-Authenticate: Bearer` without a valid admin bearer)",
                            "application/json",
                            "AdminErrorBody",
                        ),
                    ),
                    (
                        "5XX",
                        error_response(
                            "Unavailable or failed (`Retry-After` on 503)",
                            "application/problem+json",
                            "Problem",
                        ),
                    ),
                ]
            } else if [
                "/oauth2/token",
                "/oauth2/introspect",
                "/oauth2/revoke",
                "/oauth2/userinfo",
            ]
            .contains(&path.as_str())
            {
                let oauth = |d| error_response(d, "application/json", "OAuthErrorBody");
                vec![
                    (
                        "4XX",
                        oauth("An RFC 6749 §5.2 error (401 `invalid_client` with `WWW-Authenticate: Basic`)"),
                    ),
                    (
                        "5XX",
                        oauth("`server_error` or `temporarily_unavailable` (`Retry-After`)"),
                    ),
                ]
            } else {
                continue;
            };
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for operation in operations.into_iter().flatten() {
                for (status, response) in &errors {
                    operation
                        .responses
                        .responses
                        .entry((*status).to_owned())
                        .or_insert_with(|| response.clone());
                }
            }
        }
    }
}

/// A handler serving several methods (`method(get, post)`) gets one operation from utoipa, copied
/// to each method. OpenAPI wants unique operation ids, so each method past the first gets its own
/// (`update_patch`). A GET takes no body, so its copy of the POST's form is dropped; and when
/// GET and POST are one handler (the request in the query or in a form), the POST's copy of the
/// query parameters is dropped.
struct OneIdPerMethod;

impl Modify for OneIdPerMethod {
    fn modify(&self, doc: &mut Document) {
        for item in doc.paths.paths.values_mut() {
            let one_handler =
                matches!((&item.get, &item.post), (Some(get), Some(post)) if get.operation_id == post.operation_id);
            if let Some(get) = item.get.as_mut() {
                get.request_body = None;
            }
            if let Some(parameters) = item
                .post
                .as_mut()
                .filter(|_| one_handler)
                .and_then(|p| p.parameters.as_mut())
            {
                parameters.retain(|p| !matches!(p, RefOr::T(p) if p.parameter_in == ParameterIn::Query));
            }
            let mut seen = std::collections::BTreeSet::new();
            let operations = [
                ("get", &mut item.get),
                ("put", &mut item.put),
                ("post", &mut item.post),
                ("delete", &mut item.delete),
                ("patch", &mut item.patch),
            ];
            for (method, operation) in operations {
                let Some(id) = operation.as_mut().and_then(|o| o.operation_id.as_mut()) else {
                    continue;
                };
                if !seen.insert(id.clone()) {
                    *id = format!("{id}_{method}");
                }
            }
        }
    }
}

/// The document as served: serialised once, at start.
static DOCUMENT: LazyLock<Bytes> = LazyLock::new(|| {
    // Serialising a tree of strings and maps cannot fail; an empty object would show it did.
    Bytes::from(ApiDoc::openapi().to_json().unwrap_or_else(|_| "{}".to_owned()))
});

/// Builds the document now, so the first request does not pay for it.
pub fn prepare() {
    LazyLock::force(&DOCUMENT);
}

#[utoipa::path(get, path = "/api/openapi.json", tag = "meta",
    responses((status = 200, description = "This document (OpenAPI 3.1)", content_type = "application/json")))]
pub async fn openapi_json() -> Response {
    let mut response = DOCUMENT.clone().into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    // The document changes only with the binary.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    response
}
