//! Authorization responses (RFC 6749 §4.1.2, RFC 9207 `iss`, OAuth 2.0 Form Post Response Mode):
//! a 303 to the redirect URI with the parameters in the query, or a self-submitting form.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use keygate_core::oauth::{OAuthError, ResponseMode};
use keygate_core::secret_token::{SecretKind, SecretToken};

use crate::http::{log_if_server_side, no_store};

/// Sends `params` (plus `iss`) back to the client's checked redirect URI.
pub fn to_client(redirect_uri: &str, mode: ResponseMode, issuer: &str, params: &[(&str, &str)]) -> Response {
    let mut all: Vec<(&str, &str)> = params.to_vec();
    all.push(("iss", issuer));
    match mode {
        ResponseMode::Query => {
            let query = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(&all)
                .finish();
            let separator = if redirect_uri.contains('?') { '&' } else { '?' };
            let location = format!("{redirect_uri}{separator}{query}");
            let mut response = StatusCode::SEE_OTHER.into_response();
            if let Ok(value) = HeaderValue::from_str(&location) {
                response.headers_mut().insert(header::LOCATION, value);
            }
            no_store(response.headers_mut());
            response
        }
        ResponseMode::FormPost => form_post(redirect_uri, &all),
    }
}

/// The error redirect: `error`, `error_description`, `state`, `iss`.
pub fn error_to_client(
    redirect_uri: &str,
    mode: ResponseMode,
    issuer: &str,
    state: Option<&str>,
    error: &OAuthError,
) -> Response {
    log_if_server_side(error);
    let mut params = vec![
        ("error", error.code.as_str()),
        ("error_description", error.description.as_ref()),
    ];
    if let Some(state) = state {
        params.push(("state", state));
    }
    to_client(redirect_uri, mode, issuer, &params)
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            _ => out.push(c),
        }
    }
    out
}

/// A page whose form posts the parameters to the client; a script submits it, and without
/// scripts the user presses the button.
fn form_post(redirect_uri: &str, params: &[(&str, &str)]) -> Response {
    // A fresh random nonce lets exactly this inline script run under the page's CSP.
    let nonce = SecretToken::generate(SecretKind::Csrf).expose()[4..28].to_owned();
    let mut inputs = String::new();
    for (name, value) in params {
        inputs.push_str(&format!(
            "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
            escape(name),
            escape(value)
        ));
    }
    let body = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Continue</title></head><body>\
         <form method=\"post\" action=\"{}\">{inputs}<noscript><button type=\"submit\">Continue</button></noscript></form>\
         <script nonce=\"{nonce}\">document.forms[0].submit()</script></body></html>",
        escape(redirect_uri)
    );
    let mut response = Html(body).into_response();
    let csp = format!("default-src 'none'; script-src 'nonce-{nonce}'; frame-ancestors 'none'; base-uri 'none'");
    if let Ok(value) = HeaderValue::from_str(&csp) {
        response.headers_mut().insert(header::CONTENT_SECURITY_POLICY, value);
    }
    no_store(response.headers_mut());
    response
}
