//! The one route table: every path, method and handler of the server, grouped by the rules that
//! wrap them, and the middleware around all of them. "Where is /oauth2/token handled?" is
//! answered here.

use axum::Router;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::{delete, get, post};

use crate::api::{account as api_account, auth as api_auth, credentials as api_credentials};
use crate::http::{csrf, limits};
use crate::oauth::{authorize, consent, discovery, logout, token, userinfo};
use crate::openapi::{self, docs_page};
use crate::pages::{account, auth, console, password, register, static_files};
use crate::state::AppState;
use crate::{admin, api, health, layers, metrics};

/// The whole HTTP application for one server instance.
pub fn router(state: AppState) -> Router {
    openapi::prepare();
    #[rustfmt::skip]
    let open = Router::new()
        .route("/health/live",                             get(health::live))
        .route("/health/ready",                            get(health::ready))
        .route("/metrics",                                 get(metrics::endpoint))
        .route("/static/keygate.css",                      get(static_files::stylesheet))
        .route("/.well-known/openid-configuration",        get(discovery::discovery))
        .route("/.well-known/oauth-authorization-server",  get(discovery::discovery))
        .route("/oauth2/jwks",                             get(discovery::jwks))
        // No CSRF layer: relying parties POST here cross-site, and nothing changes without consent.
        .route("/oauth2/authorize",                        get(authorize::authorize).post(authorize::authorize))
        .route("/oauth2/token",                            post(token::token))
        .route("/oauth2/introspect",                       post(token::introspect))
        .route("/oauth2/revoke",                           post(token::revoke))
        .route("/oauth2/userinfo",                         get(userinfo::userinfo).post(userinfo::userinfo))
        .route("/oauth2/logout",                           get(logout::logout))
        .route("/api/openapi.json",                        get(openapi::openapi_json))
        .route("/api/docs",                                get(docs_page::page))
        .route("/api/docs/{file}",                         get(docs_page::asset));

    // HTML forms, behind the CSRF layer (double-submit token, fetch metadata).
    #[rustfmt::skip]
    let forms = Router::new()
        .route("/login",                                   get(auth::login_page).post(auth::login_submit))
        .route("/login/totp",                              get(auth::totp_page).post(auth::totp_submit))
        .route("/logout",                                  get(auth::logout_page).post(auth::logout_submit))
        .route("/register",                                get(register::register_page).post(register::register_submit))
        .route("/verify-email",                            get(register::verify_page).post(register::verify_submit))
        .route("/verify-email/resend",                     post(register::resend_submit))
        .route("/forgot-password",                         get(password::forgot_page).post(password::forgot_submit))
        .route("/reset-password",                          get(password::reset_page).post(password::reset_submit))
        .route("/account",                                 get(account::account_page))
        .route("/account/sessions/end",                    post(account::end_session))
        .route("/account/tokens",                          post(account::create_token))
        .route("/account/tokens/revoke",                   post(account::revoke_token))
        .route("/account/totp/setup",                      post(account::totp_setup))
        .route("/account/totp/enable",                     post(account::totp_enable))
        .route("/account/totp/disable",                    post(account::totp_disable))
        .route("/consent",                                 get(consent::consent_page).post(consent::consent_submit))
        // The admin console: accounts holding the admin role (the JSON admin API is below).
        .route("/admin",                                   get(console::home::home))
        .route("/admin/console/users",                     get(console::users::list))
        .route("/admin/console/users/{id}",                get(console::users::show))
        .route("/admin/console/users/{id}/action",         post(console::users::act))
        .route("/admin/console/clients",                   get(console::clients::list).post(console::clients::create))
        .route("/admin/console/clients/{id}",              get(console::clients::show).post(console::clients::update))
        .route("/admin/console/clients/{id}/secret",       post(console::clients::rotate_secret))
        .route("/admin/console/clients/{id}/delete",       post(console::clients::delete))
        .route("/admin/console/keys",                      get(console::keys::list))
        .route("/admin/console/keys/rotate",               post(console::keys::rotate))
        .route("/admin/console/audit",                     get(console::audit::list))
        .layer(from_fn_with_state(state.pages.clone(), csrf::protect));

    // The account JSON API: JSON bodies only, no foreign Origin, small bodies, never cached.
    #[rustfmt::skip]
    let account_api = api::rules(Router::new()
        .route("/api/auth/register",                       post(api_auth::register))
        .route("/api/auth/login",                          post(api_auth::login))
        .route("/api/auth/logout",                         post(api_auth::logout))
        .route("/api/auth/verify-email/{token}",           get(api_auth::verify_email_get))
        .route("/api/auth/verify-email",                   post(api_auth::verify_email_post))
        .route("/api/auth/resend-verification",            post(api_auth::resend_verification))
        .route("/api/auth/forgot-password",                post(api_auth::forgot_password))
        .route("/api/auth/reset-password",                 post(api_auth::reset_password))
        .route("/api/auth/change-password",                post(api_auth::change_password))
        .route("/api/auth/me",                             get(api_account::me))
        .route("/api/auth/sessions",                       get(api_account::list_sessions))
        .route("/api/auth/sessions/{id}",                  delete(api_account::end_session))
        .route("/api/auth/activity",                       get(api_account::activity))
        .route("/api/auth/export",                         get(api_account::export))
        .route("/api/auth/account",                        delete(api_account::delete_account))
        .route("/api/auth/totp/setup",                     post(api_credentials::totp_setup))
        .route("/api/auth/totp/enable",                    post(api_credentials::totp_enable))
        .route("/api/auth/totp/disable",                   post(api_credentials::totp_disable))
        .route("/api/auth/tokens",                         get(api_credentials::list_tokens).post(api_credentials::create_token))
        .route("/api/auth/tokens/{id}",                    delete(api_credentials::revoke_token)),
        state.clone());

    // The admin API: an admin bearer token first, then the body's field limits.
    #[rustfmt::skip]
    let admin_api = admin::rules(Router::new()
        .route("/admin/clients",                           get(admin::clients::list).post(admin::clients::create))
        .route("/admin/clients/{id}",                      get(admin::clients::show).put(admin::clients::update)
                                                           .patch(admin::clients::update).delete(admin::clients::delete))
        .route("/admin/clients/{id}/secret",               post(admin::clients::rotate_secret))
        .route("/admin/users",                             get(admin::users::list).post(admin::users::create))
        .route("/admin/users/{id}",                        get(admin::users::show).patch(admin::users::update)
                                                           .delete(admin::users::delete))
        .route("/admin/users/{id}/password",               post(admin::users::set_password))
        .route("/admin/users/{id}/unlock",                 post(admin::users::unlock))
        .route("/admin/users/{id}/sessions",               get(admin::users::sessions).delete(admin::users::end_sessions))
        .route("/admin/users/{id}/sessions/{session}",     delete(admin::users::end_session))
        .route("/admin/users/{id}/tokens/revoke",          post(admin::users::revoke_tokens))
        .route("/admin/users/{id}/totp/reset",             post(admin::users::reset_totp))
        .route("/admin/users/{id}/roles",                  post(admin::users::grant_role))
        .route("/admin/users/{id}/roles/{role}",           delete(admin::users::revoke_role))
        .route("/admin/keys",                              get(admin::ops::list_keys))
        .route("/admin/keys/rotate",                       post(admin::ops::rotate_keys))
        .route("/admin/tokens/revoke",                     post(admin::ops::revoke_tokens))
        .route("/admin/stats",                             get(admin::ops::stats))
        .route("/admin/audit",                             get(admin::ops::audit)),
        state.clone());

    let config = state.config.clone();
    // The group merged last lends its rules to unmatched paths (axum keeps the last fallback):
    // the account API's, so a stray request gets the API's answers (404, or 415 for a non-JSON
    // body), never the admin API's 401.
    let routes = Router::new()
        .merge(open)
        .merge(forms)
        .merge(admin_api)
        .merge(account_api)
        .layer(from_fn(limits::refuse_control_forms))
        .layer(from_fn(limits::refuse_control_urls))
        .with_state(state);
    layers::apply(routes, &config)
}
