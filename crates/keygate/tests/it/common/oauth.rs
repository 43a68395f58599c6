//! The OAuth suites' harness: a server whose issuer is its own address (so discovery and ID
//! tokens name the URL clients use) on memory, SQLite or PostgreSQL, a moveable clock, and
//! helpers that register clients, create users and issue codes through the real services.

use std::sync::Arc;
use std::time::Duration;

use keygate::config::Config;
use keygate_core::accounts::RequestMeta;
use keygate_core::ids::ClientId;
use keygate_core::model::User;
use keygate_core::oauth::{ClientMetadata, CodeGrant};
use keygate_core::{Clock, Email, ManualClock, Scopes, SystemClock};
use keygate_store::testing::{TestDbGuard, memory_backend, postgres_backend, postgres_test_url, sqlite_backend};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use super::TestServer;
use super::mailbox::Mailbox;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backing {
    Memory,
    Sqlite,
    Postgres,
}

/// A PKCE pair from RFC 7636 Appendix B.
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
pub const REDIRECT: &str = "https://app.example/cb";

pub struct OAuthServer {
    pub server: TestServer,
    pub clock: ManualClock,
    _guard: TestDbGuard,
}

impl std::ops::Deref for OAuthServer {
    type Target = TestServer;
    fn deref(&self) -> &TestServer {
        &self.server
    }
}

impl OAuthServer {
    /// None when PostgreSQL is asked for and not configured (outside CI).
    pub async fn start(backing: Backing) -> Option<OAuthServer> {
        Self::start_with(backing, |_| {}).await
    }

    pub async fn start_with(backing: Backing, tweak: impl FnOnce(&mut Config)) -> Option<OAuthServer> {
        let (backend, guard) = match backing {
            Backing::Memory => memory_backend(),
            Backing::Sqlite => sqlite_backend().await,
            Backing::Postgres => postgres_backend(&postgres_test_url()?).await,
        };
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let mut config = Config {
            issuer: base.clone().try_into().unwrap(),
            admin_token: Some(ADMIN_TOKEN.to_owned().try_into().unwrap()),
            ..Config::default()
        };
        config.accounts.require_verified_email = false;
        tweak(&mut config);
        let key = keygate_core::crypto::SecretBox::generate_key_base64().unwrap();
        config.secret_key = Some(key.try_into().unwrap());
        let clock = ManualClock::new(SystemClock.now());
        let mailbox = Arc::new(Mailbox::default());
        let metrics = keygate_web::Metrics::install().unwrap();
        let state = keygate::app::build_state(&config, &backend, Arc::new(clock.clone()), mailbox.clone(), metrics)
            .await
            .unwrap();
        let app = keygate_web::router(state.clone());
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(keygate::serve::serve_until(listener, app, async {
            let _ = rx.await;
        }));
        let server = TestServer {
            base,
            backend,
            mailbox,
            state,
            shutdown: Some(tx),
            task,
        };
        Some(OAuthServer {
            server,
            clock,
            _guard: guard,
        })
    }

    pub async fn stop(self) {
        let OAuthServer { server, _guard, .. } = self;
        server.stop().await;
        drop(_guard);
    }

    /// Registers a client from RFC 7591 metadata; returns its id and secret.
    pub async fn client(&self, metadata: serde_json::Value) -> (String, Option<String>) {
        let metadata: ClientMetadata = serde_json::from_value(metadata).unwrap();
        let (client, secret) = keygate_core::oauth::create_client(
            self.state.stores.clients.as_ref(),
            &metadata,
            "test",
            &RequestMeta::default(),
            self.clock.now(),
        )
        .await
        .unwrap();
        (client.id.0, secret.map(|s| s.expose().to_owned()))
    }

    /// A confidential client with every grant and the default scopes, redirecting to [`REDIRECT`].
    pub async fn confidential_client(&self) -> (String, String) {
        let (id, secret) = self
            .client(serde_json::json!({
                "redirect_uris": [REDIRECT, "http://127.0.0.1/callback"],
                "grant_types": ["authorization_code", "refresh_token", "client_credentials"],
                "scope": "openid profile email offline_access api:read api:write",
            }))
            .await;
        (id, secret.unwrap())
    }

    /// A verified, active account (with a password when one is given).
    pub async fn user(&self, email: &str, password: Option<&str>) -> User {
        let now = self.clock.now();
        let hash = password.map(|p| keygate_core::password_hash::hash(p).unwrap());
        let mut user = User::new(Email::parse(email).unwrap(), hash, now);
        user.email_verified_at = Some(now);
        self.state.stores.users.create_user(&user, &[]).await.unwrap();
        user
    }

    /// A code as /authorize would issue it after login and consent.
    pub async fn code(&self, user: &User, client_id: &str, scope: &str, challenge: Option<&str>) -> String {
        let grant = CodeGrant {
            client_id: ClientId(client_id.to_owned()),
            user_id: user.id,
            redirect_uri: REDIRECT.to_owned(),
            scope: Scopes::parse(scope).unwrap(),
            nonce: Some("n-0S6_WzA2Mj".to_owned()),
            code_challenge: challenge.map(str::to_owned),
            auth_time: self.clock.now(),
            amr: vec!["pwd".to_owned()],
        };
        self.state
            .oauth
            .tokens
            .issue_code(grant)
            .await
            .unwrap()
            .expose()
            .to_owned()
    }

    /// POSTs a form to `path`, with Basic credentials when given.
    pub async fn post_form(&self, path: &str, basic: Option<(&str, &str)>, form: &[(&str, &str)]) -> reqwest::Response {
        let mut request = super::client().post(self.url(path)).form(form);
        if let Some((id, secret)) = basic {
            request = request.basic_auth(id, Some(secret));
        }
        request.send().await.unwrap()
    }

    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }
}

/// The admin token every OAuth test server is configured with.
pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789-abcdefghij";

/// One `#[tokio::test]` per backend for each `async fn name(server: &OAuthServer)`.
#[macro_export]
macro_rules! on_every_backend {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                use super::*;

                async fn run(backing: common::oauth::Backing) {
                    let Some(server) = common::oauth::OAuthServer::start(backing).await else { return };
                    super::$name(&server).await;
                    server.stop().await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn memory() {
                    run(common::oauth::Backing::Memory).await
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    run(common::oauth::Backing::Sqlite).await
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    run(common::oauth::Backing::Postgres).await
                }
            }
        )*
    };
}
