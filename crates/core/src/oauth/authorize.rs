//! Checking an authorization request (RFC 6749 §4.1.1, RFC 7636, OIDC Core §3.1.2.1) before
//! anyone logs in: which errors may be sent back to the client and which must be shown to the
//! user because the redirect URI cannot be trusted.

use super::error::{ErrorCode, OAuthError};
use crate::clock::Timestamp;
use crate::ids::{ClientId, SessionId};
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
    /// `kg_reauth`: set by Keygate when it sent the user to sign in again for this request; the
    /// id of the session that sign-in is to replace.
    pub reauth: Option<String>,
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
    /// The session a sign-in asked for by this request replaces (see [`AuthorizeParams::reauth`]).
    pub reauth_from: Option<String>,
}

impl AuthorizeRequest {
    /// Whether the user of `session` (authenticated at `auth_time`) must sign in again before this
    /// request is answered: `prompt=login`, or a session older than `max_age` (`max_age=0`
    /// always, OIDC Core §3.1.2.1). Not once the sign-in this request asked for has happened,
    /// that is when the session is no longer the one it was to replace.
    pub fn needs_login(&self, session: SessionId, auth_time: Timestamp, now: Timestamp) -> bool {
        if self
            .reauth_from
            .as_deref()
            .is_some_and(|old| old != session.to_string())
        {
            return false;
        }
        let too_old = match self.max_age {
            None => false,
            Some(0) => true,
            Some(max) => now.since(auth_time).as_secs() > max,
        };
        self.prompt.login || too_old
    }
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
        reauth_from: params.reauth.clone(),
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

    fn request(prompt: Prompt, max_age: Option<u64>, reauth_from: Option<String>) -> AuthorizeRequest {
        AuthorizeRequest {
            client: Client {
                id: ClientId("app".into()),
                secret_digest: None,
                name: "app".into(),
                auth_method: crate::model::AuthMethod::None,
                redirect_uris: vec!["https://app.example/cb".into()],
                post_logout_redirect_uris: Vec::new(),
                grant_types: vec![GrantType::AuthorizationCode],
                scope: Scopes::default(),
                access_token_format: crate::model::TokenFormat::Jwt,
                access_token_alg: None,
                id_token_alg: None,
                first_party: false,
                created_at: Timestamp::from_millis(0),
                updated_at: Timestamp::from_millis(0),
            },
            redirect_uri: "https://app.example/cb".into(),
            response_mode: ResponseMode::Query,
            scope: Scopes::default(),
            state: None,
            nonce: None,
            code_challenge: None,
            prompt,
            max_age,
            login_hint: None,
            reauth_from,
        }
    }

    #[test]
    fn prompt_login_and_max_age_ask_for_a_new_sign_in_until_the_session_is_a_new_one() {
        let now = Timestamp::from_millis(1_000_000);
        let session = SessionId::new();
        let login = Prompt {
            login: true,
            ..Prompt::default()
        };
        assert!(request(login, None, None).needs_login(session, now, now));
        assert!(
            request(Prompt::default(), Some(0), None).needs_login(session, now, now),
            "max_age=0 within the same second"
        );
        assert!(!request(Prompt::default(), Some(60), None).needs_login(session, now, now));
        let later = Timestamp::from_millis(now.as_millis() + 61_000);
        assert!(request(Prompt::default(), Some(60), None).needs_login(session, now, later));
        // Resumed after the sign-in: the same session again means it did not happen.
        let same = Some(session.to_string());
        assert!(request(login, Some(0), same).needs_login(session, now, now));
        let replaced = Some(SessionId::new().to_string());
        assert!(!request(login, Some(0), replaced).needs_login(session, now, now));
    }

    #[test]
    fn prompt_values() {
        assert_eq!(parse_prompt(None).unwrap(), Prompt::default());
        let p = parse_prompt(Some("login consent")).unwrap();
        assert!(p.login && p.consent && !p.none);
        assert!(parse_prompt(Some("none login")).is_err());
        assert!(parse_prompt(Some("bogus")).is_err());
    }
}
