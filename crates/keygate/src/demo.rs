//! What `keygate serve` tells a newcomer on stderr: how to create a first client and an admin
//! token when the store has no client, and with `--demo` a demo account and public PKCE client
//! (created once, through the same services as `keygate user create` and `keygate client
//! create`) with a ready-to-open authorization URL. stdout stays reserved for `listening on …`.

use keygate_core::accounts::{AccountError, NewUser, Operator, RequestMeta};
use keygate_core::ids::ClientId;
use keygate_core::oauth::{ClientMetadata, OAuthError};
use keygate_core::paging::PageRequest;
use keygate_core::store::Stores;
use keygate_core::{Email, StoreError};
use keygate_web::AppState;
use zeroize::Zeroizing;

use crate::store::chain;

pub const DEMO_EMAIL: &str = "demo@example.com";
pub const DEMO_CLIENT_ID: &str = "keygate-demo";
pub const DEMO_REDIRECT_URI: &str = "http://127.0.0.1:9000/callback";
pub const DEMO_SCOPE: &str = "openid profile email offline_access";
const ACTOR: &str = "demo";

/// True when no OAuth client is registered yet.
pub async fn has_no_clients(stores: &Stores) -> Result<bool, StoreError> {
    let page = stores.clients.list_clients(&PageRequest::first(1)).await?;
    Ok(page.items.is_empty())
}

/// The how-to for a store without clients (`demo`: `--demo` is on, so not suggested again).
pub fn first_start_hint(demo: bool) -> String {
    let mut lines = vec![
        "No OAuth client is registered yet. To create one:",
        "  keygate client create --name \"My app\" --redirect-uri https://app.example.com/callback",
        "  (add --auth-method none for a public client such as a SPA or a native app)",
        "For the admin API, create a token for an existing account:",
        "  keygate admin-token create --user EMAIL",
        "  (or set KEYGATE_ADMIN_TOKEN to a static token of at least 32 characters)",
    ];
    if !demo {
        lines.push("Or start with `keygate serve --demo` for a ready-made demo account and client.");
    }
    lines.join("\n")
}

/// The demo account and client, and how to start a sign-in with them.
pub struct Demo {
    /// Only when the account was created now; otherwise it was printed back then.
    pub password: Option<Zeroizing<String>>,
    pub client_id: String,
    pub code_verifier: String,
    pub authorization_url: String,
}

/// Creates the demo account and client unless they exist, and a fresh PKCE pair and URL.
pub async fn prepare(state: &AppState, issuer: &str) -> anyhow::Result<Demo> {
    let password = ensure_user(state).await?;
    let client_id = ensure_client(state).await?;
    let code_verifier = random_hex(2);
    let challenge = keygate_core::pkce::challenge_for(&code_verifier);
    let endpoint = format!("{}/oauth2/authorize", issuer.trim_end_matches('/'));
    let url = url::Url::parse_with_params(
        &endpoint,
        [
            ("response_type", "code"),
            ("client_id", client_id.as_str()),
            ("redirect_uri", DEMO_REDIRECT_URI),
            ("scope", DEMO_SCOPE),
            ("state", random_hex(1).as_str()),
            ("nonce", random_hex(1).as_str()),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ],
    )
    .map_err(|e| anyhow::anyhow!("cannot build the demo authorization URL from the issuer {issuer} ({e})"))?;
    Ok(Demo {
        password,
        client_id,
        code_verifier,
        authorization_url: url.to_string(),
    })
}

/// The text printed on stderr; holds the password when the account was just created.
pub fn describe(demo: &Demo) -> String {
    let password = match &demo.password {
        Some(password) => format!("{}  (shown only now)", password.as_str()),
        None => format!(
            "(printed when the account was created; set a new one with `keygate user set-password {DEMO_EMAIL} --password-stdin`)"
        ),
    };
    [
        "Demo mode: sign in with".to_owned(),
        format!("  email:          {DEMO_EMAIL}"),
        format!("  password:       {password}"),
        "Demo client (public, PKCE S256, first party):".to_owned(),
        format!("  client_id:      {}", demo.client_id),
        format!("  redirect_uri:   {DEMO_REDIRECT_URI}"),
        format!("  code_verifier:  {}", demo.code_verifier),
        "Open this URL to sign in; the code arrives at the redirect URI, then redeem it at /oauth2/token with the code_verifier:".to_owned(),
        format!("  {}", demo.authorization_url),
    ]
    .join("\n")
}

/// Creates the verified demo account with a random password, unless it exists.
async fn ensure_user(state: &AppState) -> anyhow::Result<Option<Zeroizing<String>>> {
    let email = Email::parse(DEMO_EMAIL).map_err(|_| anyhow::anyhow!("`{DEMO_EMAIL}` is not an email address"))?;
    let existing = state
        .stores
        .users
        .find_user_by_email(&email)
        .await
        .map_err(|e| anyhow::anyhow!("cannot look up the demo account ({})", chain(&e)))?;
    if existing.is_some() {
        return Ok(None);
    }
    let password = Zeroizing::new(random_hex(1));
    let new = NewUser {
        email: DEMO_EMAIL.to_owned(),
        password: Some(password.clone()),
        verified: true,
    };
    match state
        .accounts
        .service
        .create_user(new, &Operator::new(ACTOR, Default::default()))
        .await
    {
        Ok(_) => Ok(Some(password)),
        // Another instance created it meanwhile.
        Err(AccountError::Conflict(_)) => Ok(None),
        Err(AccountError::Store(err)) => Err(anyhow::anyhow!("cannot create the demo account ({})", chain(&err))),
        Err(err) => Err(anyhow::anyhow!("cannot create the demo account ({err})")),
    }
}

/// Registers the demo client unless a client with its id exists.
async fn ensure_client(state: &AppState) -> anyhow::Result<String> {
    let store = state.stores.clients.as_ref();
    let id = ClientId(DEMO_CLIENT_ID.to_owned());
    let existing = store
        .get_client(&id)
        .await
        .map_err(|e| anyhow::anyhow!("cannot look up the demo client ({})", chain(&e)))?;
    if existing.is_some() {
        return Ok(id.0);
    }
    let metadata = ClientMetadata {
        client_id: Some(DEMO_CLIENT_ID.to_owned()),
        client_name: Some("Keygate demo".to_owned()),
        redirect_uris: Some(vec![DEMO_REDIRECT_URI.to_owned()]),
        grant_types: Some(vec!["authorization_code".to_owned(), "refresh_token".to_owned()]),
        token_endpoint_auth_method: Some("none".to_owned()),
        scope: Some(DEMO_SCOPE.to_owned()),
        first_party: Some(true),
        ..ClientMetadata::default()
    };
    let now = state.clock.now();
    match keygate_core::oauth::create_client(store, &metadata, ACTOR, &RequestMeta::default(), now).await {
        Ok((client, _no_secret)) => Ok(client.id.0),
        Err(err) => Err(client_error(err)),
    }
}

fn client_error(err: OAuthError) -> anyhow::Error {
    match &err.cause {
        Some(cause) => anyhow::anyhow!("cannot create the demo client: {} ({cause})", err.description),
        None => anyhow::anyhow!("cannot create the demo client: {}", err.description),
    }
}

/// `n` × 128 bits of randomness as lowercase hex (UUIDv4 bodies; 122 random bits each).
fn random_hex(n: usize) -> String {
    (0..n).map(|_| uuid::Uuid::new_v4().simple().to_string()).collect()
}
