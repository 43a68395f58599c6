//! Records for the contract cases, with every field set so round trips check them all.

use std::time::Duration;

use keygate_core::digest::TokenDigest;
use keygate_core::email::Email;
use keygate_core::ids::{ClientId, FamilyId, PatId, SessionId, TokenId, UserId};
use keygate_core::model::{
    AccessToken, AuditAction, AuditEvent, AuthMethod, AuthorizationCode, Client, Consent, EmailToken, EmailTokenKind,
    EncryptedBlob, GrantType, KeyState, Outcome, PasswordHash, PersonalAccessToken, RefreshToken, Session, SigningAlg,
    SigningKey, TokenFamily, TokenFormat, User,
};
use keygate_core::store::Stores;
use keygate_core::{Clock, ManualClock, Scopes, Timestamp};

pub const MINUTE: Duration = Duration::from_secs(60);
pub const HOUR: Duration = Duration::from_secs(3600);
pub const DAY: Duration = Duration::from_secs(86_400);

/// A fresh random digest, as if of a newly generated secret.
pub fn digest() -> TokenDigest {
    TokenDigest::of(&uuid::Uuid::new_v4().to_string())
}

pub fn email(s: &str) -> Email {
    Email::parse(s).unwrap()
}

pub fn scopes(s: &str) -> Scopes {
    Scopes::parse(s).unwrap()
}

pub fn user(address: &str, now: Timestamp) -> User {
    User::new(
        email(address),
        Some(PasswordHash("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into())),
        now,
    )
}

/// Creates and stores a user with a unique address.
pub async fn new_user(s: &Stores, clock: &ManualClock) -> User {
    let u = user(
        &format!("user-{}@example.com", uuid::Uuid::new_v4().simple()),
        clock.now(),
    );
    s.users.create_user(&u, &[]).await.unwrap();
    u
}

pub fn client(id: &str, now: Timestamp) -> Client {
    Client {
        id: ClientId(id.to_owned()),
        secret_digest: Some(digest()),
        name: format!("Client {id}"),
        auth_method: AuthMethod::ClientSecretBasic,
        redirect_uris: vec![
            format!("https://{id}.example.com/cb"),
            "http://127.0.0.1:8080/cb".into(),
        ],
        post_logout_redirect_uris: vec![format!("https://{id}.example.com/bye")],
        grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        scope: scopes("openid email profile"),
        access_token_format: TokenFormat::Opaque,
        access_token_alg: Some(SigningAlg::ES256),
        id_token_alg: Some(SigningAlg::RS256),
        first_party: false,
        created_at: now,
        updated_at: now,
    }
}

/// Creates and stores a client with a unique id.
pub async fn new_client(s: &Stores, clock: &ManualClock) -> Client {
    let c = client(&format!("c-{}", uuid::Uuid::new_v4().simple()), clock.now());
    s.clients.create_client(&c, &[]).await.unwrap();
    c
}

pub fn session(user: UserId, now: Timestamp) -> Session {
    Session {
        id: SessionId::new(),
        digest: digest(),
        user_id: user,
        ip: Some("192.0.2.10".into()),
        user_agent: Some("Mozilla/5.0 (contract)".into()),
        amr: vec!["pwd".into()],
        auth_time: now,
        created_at: now,
        last_seen_at: now,
        idle_expires_at: now.plus(30 * MINUTE),
        absolute_expires_at: now.plus(12 * HOUR),
    }
}

pub fn email_token(user: UserId, kind: EmailTokenKind, now: Timestamp) -> EmailToken {
    EmailToken {
        digest: digest(),
        user_id: user,
        kind,
        created_at: now,
        expires_at: now.plus(HOUR),
        used_at: None,
    }
}

pub fn consent(user: UserId, client: &ClientId, scope: &str, now: Timestamp) -> Consent {
    Consent {
        user_id: user,
        client_id: client.clone(),
        scope: scopes(scope),
        granted_at: now,
        updated_at: now,
    }
}

pub fn code(client: &ClientId, user: UserId, now: Timestamp) -> AuthorizationCode {
    AuthorizationCode {
        digest: digest(),
        client_id: client.clone(),
        user_id: user,
        redirect_uri: "https://app.example.com/cb".into(),
        scope: scopes("openid email"),
        nonce: Some("n-0S6_WzA2Mj".into()),
        code_challenge: Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into()),
        code_challenge_method: Some("S256".into()),
        auth_time: now.minus(MINUTE),
        amr: vec!["pwd".into(), "otp".into()],
        created_at: now,
        expires_at: now.plus(MINUTE),
        used_at: None,
        family_id: None,
    }
}

pub fn family(client: &ClientId, user: Option<UserId>, now: Timestamp) -> TokenFamily {
    TokenFamily {
        id: FamilyId::new(),
        client_id: client.clone(),
        user_id: user,
        scope: scopes("openid offline_access"),
        auth_time: user.map(|_| now.minus(MINUTE)),
        created_at: now,
        revoked_at: None,
    }
}

pub fn refresh(fam: &TokenFamily, parent: Option<TokenDigest>, now: Timestamp) -> RefreshToken {
    RefreshToken {
        digest: digest(),
        family_id: fam.id,
        parent,
        client_id: fam.client_id.clone(),
        user_id: fam.user_id,
        scope: fam.scope.clone(),
        issued_at: now,
        expires_at: now.plus(30 * DAY),
        used_at: None,
        revoked_at: None,
    }
}

pub fn access(fam: &TokenFamily, now: Timestamp) -> AccessToken {
    AccessToken {
        digest: digest(),
        jti: TokenId::new(),
        family_id: Some(fam.id),
        client_id: fam.client_id.clone(),
        user_id: fam.user_id,
        scope: fam.scope.clone(),
        issued_at: now,
        expires_at: now.plus(HOUR),
        revoked_at: None,
    }
}

/// Creates and stores a family of `client` for `user` with one refresh and one access token.
pub async fn new_family(
    s: &Stores,
    client: &ClientId,
    user: Option<UserId>,
    now: Timestamp,
) -> (TokenFamily, RefreshToken, AccessToken) {
    let f = family(client, user, now);
    let r = refresh(&f, None, now);
    let a = access(&f, now);
    s.tokens.create_family(&f, Some(&r), Some(&a), &[]).await.unwrap();
    (f, r, a)
}

pub fn pat(user: UserId, name: &str, now: Timestamp) -> PersonalAccessToken {
    PersonalAccessToken {
        id: PatId::new(),
        user_id: user,
        digest: digest(),
        display_prefix: "kgp_AbC1".into(),
        name: name.into(),
        scope: scopes("account:read"),
        created_at: now,
        expires_at: Some(now.plus(30 * DAY)),
        last_used_at: None,
        revoked_at: None,
    }
}

pub fn key(kid: &str, state: KeyState, now: Timestamp) -> SigningKey {
    SigningKey {
        kid: keygate_core::ids::KeyId(kid.to_owned()),
        alg: SigningAlg::EdDSA,
        private_key: EncryptedBlob(vec![7, 1, 2, 3, 0, 255]),
        public_jwk: serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", "kid": kid}),
        state,
        created_at: now,
        activated_at: None,
        retired_at: None,
        remove_after: None,
    }
}

pub fn event(action: AuditAction, now: Timestamp) -> AuditEvent {
    AuditEvent::new(action, "system", Outcome::Success, now)
}

/// The ids of every stored audit event (newest first), following the cursor to the end.
pub async fn audit_ids(s: &Stores) -> Vec<keygate_core::ids::AuditId> {
    let filter = keygate_core::model::AuditFilter::default();
    let mut ids = Vec::new();
    let mut page = keygate_core::paging::PageRequest::first(100);
    loop {
        let got = s.audit.list_audit(&filter, &page).await.unwrap();
        ids.extend(got.items.iter().map(|e| e.id));
        match got.next {
            Some(next) => page = keygate_core::paging::PageRequest::after(next, 100),
            None => return ids,
        }
    }
}
