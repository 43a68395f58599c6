//! The account API's request rules: JSON bodies only (415 otherwise) and no state change from a
//! foreign page (403 when `Origin` is present and not the issuer's, or the browser says
//! `Sec-Fetch-Site: cross-site`). Also the JSON body extractor with problem answers.

use axum::extract::{FromRequest, Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

use crate::http::Problem;
use crate::http::limits;
use crate::state::AppState;

fn is_json(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or("").trim();
    essence.eq_ignore_ascii_case("application/json")
}

fn has_body(request: &Request) -> bool {
    let headers = request.headers();
    let length = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match length {
        Some(n) => n > 0,
        None => headers.contains_key(header::TRANSFER_ENCODING),
    }
}

/// Middleware for every `/api/auth` route.
pub async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let safe = matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe {
        let headers = request.headers();
        if let Some(origin) = headers.get(header::ORIGIN) {
            let same = origin
                .to_str()
                .is_ok_and(|o| o.eq_ignore_ascii_case(&state.accounts.issuer_origin));
            if !same {
                return Problem::foreign_origin().into_response();
            }
        } else if headers
            .get("sec-fetch-site")
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"cross-site"))
        {
            return Problem::foreign_origin().into_response();
        }
        let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
        match content_type {
            Some(ct) if !is_json(ct) => return Problem::unsupported_media_type().into_response(),
            None if has_body(&request) => return Problem::unsupported_media_type().into_response(),
            _ => {}
        }
    }
    next.run(request).await
}

/// A JSON request body, parsed into `T`; problems for a wrong content type, bad JSON, a body
/// over the limit (which is refused before anything is hashed), or a field over its limit or
/// holding a control character (see [`limits::ACCOUNT_FIELDS`]).
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let json = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(is_json);
        if !json {
            return Err(Problem::unsupported_media_type().into_response());
        }
        let bytes = axum::body::Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                let status = rejection.status();
                Problem::new(status, "invalid-request", "Invalid request", rejection.body_text()).into_response()
            })?;
        let bad =
            |e: serde_json::Error| Problem::bad_json(format!("the body is not the JSON expected: {e}")).into_response();
        let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(bad)?;
        limits::check_json(&value, limits::account_limit).map_err(|e| {
            let mut problem = Problem::bad_json(e.to_string());
            problem.field = limits::account_field(e.name());
            problem.into_response()
        })?;
        serde_json::from_value(value).map(JsonBody).map_err(bad)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_content_types() {
        assert!(is_json("application/json"));
        assert!(is_json("Application/JSON; charset=utf-8"));
        assert!(!is_json("text/plain"));
        assert!(!is_json("application/x-www-form-urlencoded"));
        assert!(!is_json("application/jsonp"));
    }
}
