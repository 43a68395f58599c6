//! Checking an authorization request (RFC 6749 §4.1.1, RFC 7636, OIDC Core §3.1.2.1) before
//! anyone logs in: which errors may be sent back to the client and which must be shown to the
//! user because the redirect URI cannot be trusted.

use super::error::{ErrorCode, OAuthError};
use crate::ids::ClientId;
use crate::model::{Client, GrantType};
use crate::pkce::{CodeChallenge, PkceError};
use crate::redirect_uri;
use crate::scope::Scopes;
use crate::store::ClientStore;

/// The parameters as received (each at most once; the web layer refuses repeats).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuthorizeParams {
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub response_type: Option<String>,
    pub response_mode: Option<String>,
    pub scope: Option<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub prompt: Option<String>,
    pub max_age: Option<String>,
    pub login_hint: Option<String>,
    /// Request objects (`request`, `request_uri`) are not supported.
    pub request_object: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResponseMode {
    Query,
    FormPost,
}

/// The `prompt` values Keygate acts on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Prompt {
    pub none: bool,
    pub login: bool,
    pub consent: bool,
}

/// A request that passed every check that needs no user.
#[derive(Clone, Debug)]
pub struct AuthorizeRequest {
    pub client: Client,
    pub redirect_uri: String,
    pub response_mode: ResponseMode,
    pub scope: Scopes,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<CodeChallenge>,
    pub prompt: Prompt,
    pub max_age: Option<u64>,
    pub login_hint: Option<String>,
}

/// Where an error goes.
#[derive(Debug)]
pub enum AuthorizeRejection {
    /// Unknown client or untrusted redirect URI: shown to the user, never redirected.
    Page(OAuthError),
    /// Sent back to the (checked) redirect URI with `state` and `iss`.
    Redirect {
        redirect_uri: String,
        response_mode: ResponseMode,
        state: Option<String>,
        error: OAuthError,
    },
}

/// Checks `params`; the client is looked up in `clients`.
pub async fn check_request(
    clients: &dyn ClientStore,
    params: &AuthorizeParams,
) -> Result<AuthorizeRequest, AuthorizeRejection> {
    let page = |text: &'static str| AuthorizeRejection::Page(OAuthError::invalid_request(text));
    let client_id = params
        .client_id
        .as_deref()
        .filter(|c| !c.is_empty())
        .ok_or_else(|| page("client_id is missing"))?;
    let client = clients
        .get_client(&ClientId(client_id.to_owned()))
        .await
        .map_err(|e| AuthorizeRejection::Page(e.into()))?
        .ok_or_else(|| AuthorizeRejection::Page(OAuthError::new(ErrorCode::InvalidClient, "unknown client")))?;
    let requested = params
        .redirect_uri
        .as_deref()
        .ok_or_else(|| page("redirect_uri is missing"))?;
    let redirect_uri = redirect_uri::find_match(client.redirect_uris.iter().map(String::as_str), requested)
        .map(|_| requested.to_owned())
        .ok_or_else(|| page("redirect_uri is not registered for this client"))?;

    // From here on errors go back to the client.
    let response_mode = match params.response_mode.as_deref() {
        None | Some("query") => Ok(ResponseMode::Query),
        Some("form_post") => Ok(ResponseMode::FormPost),
        Some(_) => Err(OAuthError::invalid_request("response_mode must be query or form_post")),
    };
    let back = |mode: ResponseMode, error: OAuthError| AuthorizeRejection::Redirect {
        redirect_uri: redirect_uri.clone(),
        response_mode: mode,
        state: params.state.clone(),
        error,
    };
    let response_mode = response_mode.map_err(|e| back(ResponseMode::Query, e))?;
    let fail = |error: OAuthError| back(response_mode, error);
    if params.request_object {
        return Err(fail(OAuthError::invalid_request("request objects are not supported")));
    }
    match params.response_type.as_deref() {
        Some("code") => {}
        None => return Err(fail(OAuthError::invalid_request("response_type is missing"))),
        Some(_) => {
            return Err(fail(OAuthError::new(
                ErrorCode::UnsupportedResponseType,
                "only response_type=code is supported",
            )));
        }
    }
    if !client.allows_grant(GrantType::AuthorizationCode) {
        return Err(fail(OAuthError::unauthorized_client(
            "this client may not use the authorization_code grant",
        )));
    }
    let scope = match params.scope.as_deref().map(Scopes::parse) {
        None => client.scope.clone(),
        Some(Err(_)) => return Err(fail(OAuthError::invalid_scope("scope is malformed"))),
        Some(Ok(s)) if s.is_empty() => client.scope.clone(),
        Some(Ok(s)) if s.is_subset_of(&client.scope) => s,
        Some(Ok(_)) => {
            return Err(fail(OAuthError::invalid_scope(
                "the client may not ask for some of these scopes",
            )));
        }
    };
    let code_challenge = match (&params.code_challenge, &params.code_challenge_method) {
        (Some(challenge), method) => Some(CodeChallenge::from_request(challenge, method.as_deref()).map_err(|e| {
            let text = match e {
                PkceError::PlainRefused => "code_challenge_method plain is not allowed; use S256",
                _ => "code_challenge or code_challenge_method is invalid; use S256",
            };
            fail(OAuthError::invalid_request(text))
        })?),
        (None, Some(_)) => return Err(fail(OAuthError::invalid_request("code_challenge is missing"))),
        (None, None) if client.is_public() => {
            return Err(fail(OAuthError::invalid_request(
                "PKCE (code_challenge with S256) is required",
            )));
        }
        (None, None) => None,
    };
    let prompt = parse_prompt(params.prompt.as_deref()).map_err(fail)?;
    let max_age = match params.max_age.as_deref() {
        None => None,
        Some(text) => Some(
            text.parse::<u64>()
                .map_err(|_| fail(OAuthError::invalid_request("max_age must be a number of seconds")))?,
        ),
    };
    Ok(AuthorizeRequest {
        client,
        redirect_uri,
        response_mode,
        scope,
        state: params.state.clone(),
        nonce: params.nonce.clone(),
        code_challenge,
        prompt,
        max_age,
        login_hint: params.login_hint.clone(),
    })
}

fn parse_prompt(text: Option<&str>) -> Result<Prompt, OAuthError> {
    let mut prompt = Prompt::default();
    for value in text.unwrap_or("").split(' ').filter(|v| !v.is_empty()) {
        match value {
            "none" => prompt.none = true,
            "login" => prompt.login = true,
            "consent" => prompt.consent = true,
            "select_account" => {}
            _ => return Err(OAuthError::invalid_request("prompt holds an unknown value")),
        }
    }
    if prompt.none && (prompt.login || prompt.consent) {
        return Err(OAuthError::invalid_request(
            "prompt=none cannot be combined with other values",
        ));
    }
    Ok(prompt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompt_values() {
        assert_eq!(parse_prompt(None).unwrap(), Prompt::default());
        let p = parse_prompt(Some("login consent")).unwrap();
        assert!(p.login && p.consent && !p.none);
        assert!(parse_prompt(Some("none login")).is_err());
        assert!(parse_prompt(Some("bogus")).is_err());
    }
}
