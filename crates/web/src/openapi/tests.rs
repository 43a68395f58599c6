//! The document against the route table: every API route of `routes.rs` is documented with each
//! of its methods, nothing documented is missing from the router, and each family carries its
//! security and error answers.

use std::collections::BTreeSet;

use utoipa::OpenApi;
use utoipa::openapi::path::{Operation, PathItem};

use super::ApiDoc;

/// Routes that are not part of the JSON APIs, by exact path: HTML pages (forms and their
/// posts), the stylesheet, health, metrics and the docs page itself. A new route that is in
/// neither this list nor the document fails `every_api_route_is_documented`.
const NOT_API: &[&str] = &[
    "/health/live",
    "/health/ready",
    "/metrics",
    "/static/keygate.css",
    "/login",
    "/login/totp",
    "/logout",
    "/register",
    "/verify-email",
    "/verify-email/resend",
    "/forgot-password",
    "/reset-password",
    "/account",
    "/account/sessions/end",
    "/account/tokens",
    "/account/tokens/revoke",
    "/account/totp/setup",
    "/account/totp/enable",
    "/account/totp/disable",
    "/consent",
    "/api/docs",
    "/api/docs/{file}",
    // The admin console's first page (its others are under NOT_API_PREFIX).
    "/admin",
];

/// The admin console's HTML pages, all under this prefix.
const NOT_API_PREFIX: &str = "/admin/console";

const METHODS: &[&str] = &["get", "post", "put", "patch", "delete", "head", "options"];

/// Every (path, method) of the `.route("…", get(…).post(…))` calls in `routes.rs`.
fn routes_of(source: &str) -> BTreeSet<(String, String)> {
    let mut found = BTreeSet::new();
    for (at, _) in source.match_indices(".route(\"") {
        let rest = &source[at + ".route(\"".len()..];
        let Some(end_of_path) = rest.find('"') else { continue };
        let path = &rest[..end_of_path];
        // The method routers are the calls at the top level of `.route(…)`'s arguments; the
        // handler paths inside them (`admin::clients::delete`) are one level deeper.
        let mut depth = 0usize;
        let mut word = String::new();
        for c in rest[end_of_path + 1..].chars() {
            match c {
                '(' => {
                    if depth == 0 && METHODS.contains(&word.as_str()) {
                        found.insert((path.to_owned(), word.clone()));
                    }
                    depth += 1;
                }
                ')' if depth == 0 => break,
                ')' => depth -= 1,
                _ => {}
            }
            if c.is_alphanumeric() || c == '_' {
                word.push(c);
            } else {
                word.clear();
            }
        }
    }
    found
}

fn operations(item: &PathItem) -> Vec<(&'static str, &Operation)> {
    [
        ("get", &item.get),
        ("post", &item.post),
        ("put", &item.put),
        ("patch", &item.patch),
        ("delete", &item.delete),
        ("head", &item.head),
        ("options", &item.options),
    ]
    .into_iter()
    .filter_map(|(method, operation)| operation.as_ref().map(|o| (method, o)))
    .collect()
}

fn documented() -> BTreeSet<(String, String)> {
    let doc = ApiDoc::openapi();
    let mut found = BTreeSet::new();
    for (path, item) in &doc.paths.paths {
        for (method, _) in operations(item) {
            found.insert((path.clone(), method.to_owned()));
        }
    }
    found
}

fn api_routes() -> BTreeSet<(String, String)> {
    routes_of(include_str!("../routes.rs"))
        .into_iter()
        .filter(|(path, _)| !NOT_API.contains(&path.as_str()) && !path.starts_with(NOT_API_PREFIX))
        .collect()
}

#[test]
fn the_route_parser_reads_chained_methods_and_skips_handler_names() {
    let source = r#"
        .route("/a",           get(x::a).post(x::b))
        .route("/b/{id}",      get(admin::clients::show).put(admin::clients::update)
                               .patch(admin::clients::update).delete(admin::clients::delete))
        .route("/c",           delete(api_account::delete_account)),
    "#;
    let found: Vec<String> = routes_of(source).into_iter().map(|(p, m)| format!("{m} {p}")).collect();
    assert_eq!(
        found,
        [
            "get /a",
            "post /a",
            "delete /b/{id}",
            "get /b/{id}",
            "patch /b/{id}",
            "put /b/{id}",
            "delete /c"
        ]
    );
}

#[test]
fn every_api_route_is_documented() {
    let routes = api_routes();
    assert!(
        routes.contains(&("/oauth2/token".to_owned(), "post".to_owned())),
        "the parser found no /oauth2/token in routes.rs: {routes:?}"
    );
    let missing: Vec<String> = routes
        .difference(&documented())
        .map(|(path, method)| format!("{} {path}", method.to_uppercase()))
        .collect();
    assert!(
        missing.is_empty(),
        "routes of routes.rs missing from the OpenAPI document (annotate the handler and list it in \
         openapi/mod.rs, or add an HTML page to NOT_API):\n{}",
        missing.join("\n")
    );
}

#[test]
fn nothing_is_documented_that_the_router_does_not_serve() {
    let extra: Vec<String> = documented()
        .difference(&api_routes())
        .map(|(path, method)| format!("{} {path}", method.to_uppercase()))
        .collect();
    assert!(
        extra.is_empty(),
        "documented but not in routes.rs:\n{}",
        extra.join("\n")
    );
}

#[test]
fn a_get_and_post_handler_has_its_query_on_get_and_its_form_on_post() {
    let json = serde_json::to_value(ApiDoc::openapi()).unwrap();
    let authorize = &json["paths"]["/oauth2/authorize"];
    assert!(authorize["get"]["requestBody"].is_null(), "{}", authorize["get"]);
    let get_params = authorize["get"]["parameters"].as_array().map(Vec::len).unwrap_or(0);
    assert!(get_params >= 10, "{}", authorize["get"]);
    assert!(
        authorize["post"]["parameters"].as_array().is_none_or(Vec::is_empty),
        "{}",
        authorize["post"]
    );
    assert!(authorize["post"]["requestBody"]["content"]["application/x-www-form-urlencoded"].is_object());
}

#[test]
fn operation_ids_are_unique() {
    let doc = ApiDoc::openapi();
    let mut seen = BTreeSet::new();
    for (path, item) in &doc.paths.paths {
        for (method, operation) in operations(item) {
            let id = operation.operation_id.clone().unwrap_or_default();
            assert!(!id.is_empty(), "{method} {path} has no operation id");
            assert!(seen.insert(id.clone()), "{method} {path}: operation id {id} is taken");
        }
    }
}

#[test]
fn each_family_has_its_security_and_error_answers() {
    let doc = ApiDoc::openapi();
    let schemes = doc
        .components
        .as_ref()
        .map(|c| c.security_schemes.keys().cloned().collect::<BTreeSet<_>>())
        .unwrap_or_default();
    for name in [
        "admin_bearer",
        "session_cookie",
        "pat_bearer",
        "client_secret_basic",
        "access_token",
    ] {
        assert!(schemes.contains(name), "no security scheme {name}: {schemes:?}");
    }
    let json = serde_json::to_value(&doc).unwrap();
    for (path, item) in &doc.paths.paths {
        for (method, _) in operations(item) {
            let operation = &json["paths"][path][method];
            let security = operation["security"].to_string();
            let responses = &operation["responses"];
            let error_schema = responses["4XX"]["content"]
                .as_object()
                .and_then(|c| c.values().next())
                .map(|c| c["schema"]["$ref"].to_string())
                .unwrap_or_default();
            if path.starts_with("/admin/") {
                assert!(security.contains("admin_bearer"), "{method} {path}: {security}");
                assert!(error_schema.contains("AdminErrorBody"), "{method} {path}: {responses}");
            }
            if path.starts_with("/api/auth/") {
                assert!(error_schema.contains("Problem"), "{method} {path}: {responses}");
                assert!(responses["4XX"]["content"]["application/problem+json"].is_object());
            }
            if ["/oauth2/token", "/oauth2/introspect", "/oauth2/revoke"].contains(&path.as_str()) {
                assert!(security.contains("client_secret_basic"), "{method} {path}: {security}");
                assert!(error_schema.contains("OAuthErrorBody"), "{method} {path}: {responses}");
                let form = &operation["requestBody"]["content"]["application/x-www-form-urlencoded"];
                assert!(form.is_object(), "{method} {path} takes a form: {operation}");
            }
        }
    }
}

#[test]
fn the_document_is_openapi_3_1_and_built_once() {
    let served = super::DOCUMENT.clone();
    let again = super::DOCUMENT.clone();
    // The same bytes, not a copy: built once.
    assert_eq!(served.as_ptr(), again.as_ptr());
    let json: serde_json::Value = serde_json::from_slice(&served).unwrap();
    assert!(
        json["openapi"].as_str().unwrap_or_default().starts_with("3.1"),
        "{}",
        json["openapi"]
    );
}
