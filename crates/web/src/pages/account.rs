//! The account page: where the user is signed in (each session can be ended), two-step
//! verification (set up, turn on with a code, turn off with the password) and personal access
//! tokens (create, shown once; revoke).

use axum::body::Bytes;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use keygate_core::accounts::{AccountError, NewPat, SCOPE_ACCOUNT_READ, SCOPE_ACCOUNT_WRITE, SessionAuth};
use keygate_core::ids::{PatId, SessionId};
use minijinja::{Value, context};
use serde::Serialize;

use super::auth::PageQuery;
use super::errors::{Refusal, failure_page, refuse};
use super::flash::{self, Flash, PendingTotp};
use super::posted::{field, fields, raw_field, when};
use super::session::MaybeSession;
use super::{cookies, notice_text, see_other};
use crate::http::csrf::CsrfToken;
use crate::http::html::{Form as PageForm, PageBase};
use crate::http::{ClientMeta, clear_session_cookie};
use crate::state::AppState;

const EXPIRY_OPTIONS: &[(&str, &str)] = &[("30", "30 days"), ("90", "90 days"), ("366", "1 year")];

#[derive(Serialize)]
struct SessionView {
    id: String,
    current: bool,
    ip: Option<String>,
    user_agent: Option<String>,
    created: String,
    last_seen: String,
}

#[derive(Serialize)]
struct TokenView {
    id: String,
    name: String,
    prefix: String,
    scopes: String,
    expires: Option<String>,
    last_used: Option<String>,
}

/// Where anyone not signed in is sent: to sign in, then back here.
fn sign_in_first() -> Response {
    see_other("/login?return_to=%2Faccount")
}

/// The signed-in user of an account page; without a session the request is sent to sign in first.
pub struct SignedIn(pub SessionAuth);

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        match MaybeSession::from_request_parts(parts, state).await? {
            MaybeSession(Some(auth)) => Ok(SignedIn(auth)),
            MaybeSession(None) => Err(sign_in_first()),
        }
    }
}

pub async fn account_page(
    State(state): State<AppState>,
    csrf: CsrfToken,
    SignedIn(auth): SignedIn,
    headers: HeaderMap,
    Query(query): Query<PageQuery>,
) -> Response {
    let secure = state.pages.secure_cookies();
    let shown = cookies::read(&headers, cookies::FLASH, secure).and_then(|c| flash::decode::<Flash>(&c));
    let base = PageBase::new(&csrf)
        .signed_in(true)
        .notice(query.notice.as_deref().and_then(notice_text));
    let mut response = render_account(&state, &auth, &headers, StatusCode::OK, base, shown).await;
    // A one-time notice is shown once.
    if cookies::read(&headers, cookies::FLASH, secure).is_some() {
        response
            .headers_mut()
            .append(header::SET_COOKIE, cookies::clear(cookies::FLASH, secure));
    }
    response
}

async fn render_account(
    state: &AppState,
    auth: &SessionAuth,
    headers: &HeaderMap,
    status: StatusCode,
    base: PageBase,
    shown: Option<Flash>,
) -> Response {
    let service = &state.accounts.service;
    let user = &auth.user;
    let loaded = async {
        let sessions = service.list_sessions(user).await?;
        let tokens = service.list_pats(user).await?;
        let (totp_enabled, _) = service.totp_status(user).await?;
        Ok::<_, AccountError>((sessions, tokens, totp_enabled))
    }
    .await;
    let (sessions, tokens, totp_enabled) = match loaded {
        Ok(data) => data,
        Err(err) => return failure_page(state, err),
    };
    let now = state.clock.now();
    let sessions: Vec<SessionView> = sessions
        .into_iter()
        .map(|s| SessionView {
            id: s.id.to_string(),
            current: s.id == auth.session.id,
            ip: s.ip,
            user_agent: s.user_agent,
            created: when(s.created_at),
            last_seen: when(s.last_seen_at),
        })
        .collect();
    let tokens: Vec<TokenView> = tokens
        .into_iter()
        .filter(|t| t.is_usable(now))
        .map(|t| TokenView {
            id: t.id.to_string(),
            name: t.name,
            prefix: t.display_prefix,
            scopes: t.scope.iter().collect::<Vec<_>>().join(" "),
            expires: t.expires_at.map(when),
            last_used: t.last_used_at.map(when),
        })
        .collect();
    let pending = if totp_enabled {
        None
    } else {
        cookies::read(headers, cookies::TOTP_SETUP, state.pages.secure_cookies())
            .and_then(|c| flash::decode::<PendingTotp>(&c))
    };
    let (new_token, recovery_codes) = match shown {
        Some(Flash::NewToken { name, token }) => (Some(context! { name, token }), None),
        Some(Flash::RecoveryCodes { codes }) => (None, Some(codes)),
        None => (None, None),
    };
    let chosen: Vec<String> = base
        .form
        .values
        .get("scopes")
        .map(|s| s.split(' ').map(str::to_owned).collect())
        .unwrap_or_else(|| vec![SCOPE_ACCOUNT_READ.to_owned()]);
    let token_scopes: Vec<_> = [
        (SCOPE_ACCOUNT_READ, "Read your account"),
        (SCOPE_ACCOUNT_WRITE, "End sessions and revoke tokens"),
    ]
    .iter()
    .map(|&(name, description)| context! { name, description, checked => chosen.iter().any(|c| c == name) })
    .collect();
    let expiry_options: Vec<_> = EXPIRY_OPTIONS
        .iter()
        .map(|&(value, label)| context! { value, label })
        .collect();
    let mut base = base;
    if !base.form.values.contains_key("expires_in_days") {
        base.form.values.insert("expires_in_days".to_owned(), "90".to_owned());
    }
    let extra = context! {
        email => user.email.as_str(),
        sessions => Value::from(minijinja::value::Serde(&sessions)),
        tokens => Value::from(minijinja::value::Serde(&tokens)),
        totp_enabled,
        totp_setup => pending.map(|p| context! { secret => p.secret, otpauth_uri => p.otpauth_uri }),
        new_token,
        recovery_codes,
        token_scopes,
        expiry_options,
    };
    state.pages.render("account.html", status, &base, extra)
}

/// Shows the account page again with `err` next to the field it concerns.
async fn refused(
    state: &AppState,
    csrf: &CsrfToken,
    auth: &SessionAuth,
    headers: &HeaderMap,
    err: AccountError,
    form: PageForm,
    field_key: fn(&str) -> &str,
) -> Response {
    match refuse(state, err, form, field_key) {
        Refusal::Form(refused) => {
            let base = PageBase::new(csrf).signed_in(true).form(refused.form.clone());
            let page = render_account(state, auth, headers, refused.status, base, None).await;
            refused.finish(page)
        }
        Refusal::Page(page) => page,
    }
}

pub async fn end_session(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    SignedIn(auth): SignedIn,
    body: Bytes,
) -> Response {
    let fields = fields(&body);
    let Some(id) = SessionId::parse(&field(&fields, "session_id")) else {
        return see_other("/account");
    };
    match state.accounts.service.end_session(&auth.user, id, &meta).await {
        Ok(()) if id == auth.session.id => {
            let mut response = see_other("/login?notice=signed-out");
            let (name, value) = clear_session_cookie(&state.accounts);
            response.headers_mut().append(name, value);
            response
        }
        // Already ended (another tab): the list shows the truth either way.
        Ok(()) | Err(AccountError::NotFound(_)) => see_other("/account?notice=session-ended#sessions"),
        Err(err) => failure_page(&state, err),
    }
}

fn token_field(field: &str) -> &str {
    match field {
        "name" => "token_name",
        "scopes" | "scope" => "token_scopes",
        "expires_in_days" => "token_expiry",
        other => other,
    }
}

pub async fn create_token(
    State(state): State<AppState>,
    csrf: CsrfToken,
    ClientMeta(meta): ClientMeta,
    SignedIn(auth): SignedIn,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let fields = fields(&body);
    let name = field(&fields, "name");
    let scopes: Vec<String> = fields
        .iter()
        .filter(|(n, _)| n == "scopes")
        .map(|(_, v)| v.clone())
        .collect();
    let expiry = field(&fields, "expires_in_days");
    let form = PageForm::default()
        .value("name", name.clone())
        .value("scopes", scopes.join(" "))
        .value("expires_in_days", expiry.clone());
    if scopes.is_empty() {
        let err = AccountError::invalid("scopes", "Choose at least one scope");
        return refused(&state, &csrf, &auth, &headers, err, form, token_field).await;
    }
    let Ok(days) = expiry.parse::<u32>() else {
        let err = AccountError::invalid("expires_in_days", "Choose how long the token lives");
        return refused(&state, &csrf, &auth, &headers, err, form, token_field).await;
    };
    let new = NewPat {
        name: name.clone(),
        scopes,
        expires_in_days: Some(days),
    };
    match state.accounts.service.create_pat(&auth.user, new, &meta).await {
        Ok(created) => {
            let shown = Flash::NewToken {
                name: created.pat.name.clone(),
                token: created.token.expose().to_owned(),
            };
            with_flash(&state, see_other("/account#tokens"), &shown)
        }
        Err(err) => refused(&state, &csrf, &auth, &headers, err, form, token_field).await,
    }
}

pub async fn revoke_token(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    SignedIn(auth): SignedIn,
    body: Bytes,
) -> Response {
    let Some(id) = PatId::parse(&field(&fields(&body), "token_id")) else {
        return see_other("/account#tokens");
    };
    match state.accounts.service.revoke_pat(&auth.user, id, &meta).await {
        Ok(()) | Err(AccountError::NotFound(_)) => see_other("/account?notice=token-revoked#tokens"),
        Err(err) => failure_page(&state, err),
    }
}

pub async fn totp_setup(State(state): State<AppState>, SignedIn(auth): SignedIn) -> Response {
    match state.accounts.service.totp_setup(&auth.user).await {
        Ok(setup) => {
            let pending = PendingTotp {
                secret: setup.secret,
                otpauth_uri: setup.otpauth_uri,
            };
            let mut response = see_other("/account#totp");
            let secure = state.pages.secure_cookies();
            if let Some(cookie) = flash::encode(&pending)
                .and_then(|value| cookies::set(cookies::TOTP_SETUP, &value, secure, Some(cookies::TOTP_SETUP_TTL)))
            {
                response.headers_mut().append(header::SET_COOKIE, cookie);
            }
            response
        }
        Err(AccountError::Conflict(_)) => see_other("/account#totp"),
        Err(err) => failure_page(&state, err),
    }
}

fn totp_field(field: &str) -> &str {
    match field {
        "code" | "totp" => "totp_code",
        "password" => "totp_password",
        other => other,
    }
}

pub async fn totp_enable(
    State(state): State<AppState>,
    csrf: CsrfToken,
    ClientMeta(meta): ClientMeta,
    SignedIn(auth): SignedIn,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let code = field(&fields(&body), "code");
    match state.accounts.service.totp_enable(&auth.user, &code, &meta).await {
        Ok(codes) => {
            let mut response = with_flash(&state, see_other("/account#totp"), &Flash::RecoveryCodes { codes });
            response.headers_mut().append(
                header::SET_COOKIE,
                cookies::clear(cookies::TOTP_SETUP, state.pages.secure_cookies()),
            );
            response
        }
        Err(err) => refused(&state, &csrf, &auth, &headers, err, PageForm::default(), totp_field).await,
    }
}

pub async fn totp_disable(
    State(state): State<AppState>,
    csrf: CsrfToken,
    ClientMeta(meta): ClientMeta,
    SignedIn(auth): SignedIn,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let password = raw_field(&fields(&body), "password");
    match state.accounts.service.totp_disable(&auth.user, &password, &meta).await {
        Ok(()) => see_other("/account?notice=totp-off#totp"),
        Err(err) => refused(&state, &csrf, &auth, &headers, err, PageForm::default(), totp_field).await,
    }
}

fn with_flash(state: &AppState, mut response: Response, shown: &Flash) -> Response {
    let secure = state.pages.secure_cookies();
    if let Some(cookie) =
        flash::encode(shown).and_then(|value| cookies::set(cookies::FLASH, &value, secure, Some(cookies::FLASH_TTL)))
    {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}
