//! What the cache stores for each cached record: serde mirrors of the core records (which stay
//! free of serde), and the version keys each record depends on.

use keygate_core::clock::Timestamp;
use keygate_core::digest::TokenDigest;
use keygate_core::email::Email;
use keygate_core::ids::{ClientId, FamilyId, PatId, SessionId, TokenId, UserId};
use keygate_core::model::{
    AccessToken, AuthMethod, Client, GrantType, PasswordHash, PersonalAccessToken, Roles, Session, SigningAlg,
    TokenFormat, User,
};
use keygate_core::scope::Scopes;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::versions as v;

/// A record the cache can hold.
pub(crate) trait Cached: Sized {
    type Record: Serialize + DeserializeOwned;
    /// The `kind` label of the cache metrics.
    const KIND: &'static str;
    fn to_record(&self) -> Self::Record;
    /// None when the cached data cannot be read back (then it is a miss).
    fn from_record(record: Self::Record) -> Option<Self>;
    /// Every version key whose change must invalidate this record.
    fn deps(&self) -> Vec<String>;
}

fn digest_hex(d: &TokenDigest) -> String {
    d.to_hex()
}

fn digest_from_hex(s: &str) -> Option<TokenDigest> {
    if s.len() != 64 || !s.is_ascii() {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..32)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok())
        .collect();
    TokenDigest::from_bytes(&bytes?)
}

#[derive(Serialize, Deserialize)]
pub(crate) struct ClientRecord {
    id: ClientId,
    secret_digest: Option<String>,
    name: String,
    auth_method: AuthMethod,
    redirect_uris: Vec<String>,
    post_logout_redirect_uris: Vec<String>,
    grant_types: Vec<GrantType>,
    scope: Scopes,
    access_token_format: TokenFormat,
    access_token_alg: Option<String>,
    id_token_alg: Option<String>,
    first_party: bool,
    created_at: Timestamp,
    updated_at: Timestamp,
}

fn alg_from(s: Option<String>) -> Option<Option<SigningAlg>> {
    match s {
        None => Some(None),
        Some(s) => SigningAlg::parse(&s).map(Some),
    }
}

impl Cached for Client {
    type Record = ClientRecord;
    const KIND: &'static str = "client";

    fn to_record(&self) -> ClientRecord {
        ClientRecord {
            id: self.id.clone(),
            secret_digest: self.secret_digest.as_ref().map(digest_hex),
            name: self.name.clone(),
            auth_method: self.auth_method,
            redirect_uris: self.redirect_uris.clone(),
            post_logout_redirect_uris: self.post_logout_redirect_uris.clone(),
            grant_types: self.grant_types.clone(),
            scope: self.scope.clone(),
            access_token_format: self.access_token_format,
            access_token_alg: self.access_token_alg.map(|a| a.as_str().to_owned()),
            id_token_alg: self.id_token_alg.map(|a| a.as_str().to_owned()),
            first_party: self.first_party,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }

    fn from_record(r: ClientRecord) -> Option<Self> {
        let secret_digest = match r.secret_digest {
            None => None,
            Some(hex) => Some(digest_from_hex(&hex)?),
        };
        Some(Client {
            id: r.id,
            secret_digest,
            name: r.name,
            auth_method: r.auth_method,
            redirect_uris: r.redirect_uris,
            post_logout_redirect_uris: r.post_logout_redirect_uris,
            grant_types: r.grant_types,
            scope: r.scope,
            access_token_format: r.access_token_format,
            access_token_alg: alg_from(r.access_token_alg)?,
            id_token_alg: alg_from(r.id_token_alg)?,
            first_party: r.first_party,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }

    fn deps(&self) -> Vec<String> {
        vec![v::client(&self.id)]
    }
}

#[derive(Serialize, Deserialize)]
pub(crate) struct UserRecord {
    id: UserId,
    email: Email,
    password_hash: Option<String>,
    email_verified_at: Option<Timestamp>,
    disabled_at: Option<Timestamp>,
    failed_logins: u32,
    locked_until: Option<Timestamp>,
    created_at: Timestamp,
    updated_at: Timestamp,
    deleted_at: Option<Timestamp>,
    /// Stored form; absent in entries cached by a build before roles.
    #[serde(default)]
    roles: String,
}

impl Cached for User {
    type Record = UserRecord;
    const KIND: &'static str = "user";

    fn to_record(&self) -> UserRecord {
        UserRecord {
            id: self.id,
            email: self.email.clone(),
            password_hash: self.password_hash.as_ref().map(|h| h.0.clone()),
            email_verified_at: self.email_verified_at,
            disabled_at: self.disabled_at,
            failed_logins: self.failed_logins,
            locked_until: self.locked_until,
            created_at: self.created_at,
            updated_at: self.updated_at,
            deleted_at: self.deleted_at,
            roles: self.roles.to_stored(),
        }
    }

    fn from_record(r: UserRecord) -> Option<Self> {
        Some(User {
            id: r.id,
            email: r.email,
            password_hash: r.password_hash.map(PasswordHash),
            email_verified_at: r.email_verified_at,
            disabled_at: r.disabled_at,
            failed_logins: r.failed_logins,
            locked_until: r.locked_until,
            created_at: r.created_at,
            updated_at: r.updated_at,
            deleted_at: r.deleted_at,
            roles: Roles::parse(&r.roles).ok()?,
        })
    }

    fn deps(&self) -> Vec<String> {
        vec![v::user(self.id)]
    }
}

#[derive(Serialize, Deserialize)]
pub(crate) struct SessionRecord {
    id: SessionId,
    digest: String,
    user_id: UserId,
    ip: Option<String>,
    user_agent: Option<String>,
    amr: Vec<String>,
    auth_time: Timestamp,
    created_at: Timestamp,
    last_seen_at: Timestamp,
    idle_expires_at: Timestamp,
    absolute_expires_at: Timestamp,
}

impl Cached for Session {
    type Record = SessionRecord;
    const KIND: &'static str = "session";

    fn to_record(&self) -> SessionRecord {
        SessionRecord {
            id: self.id,
            digest: digest_hex(&self.digest),
            user_id: self.user_id,
            ip: self.ip.clone(),
            user_agent: self.user_agent.clone(),
            amr: self.amr.clone(),
            auth_time: self.auth_time,
            created_at: self.created_at,
            last_seen_at: self.last_seen_at,
            idle_expires_at: self.idle_expires_at,
            absolute_expires_at: self.absolute_expires_at,
        }
    }

    fn from_record(r: SessionRecord) -> Option<Self> {
        Some(Session {
            id: r.id,
            digest: digest_from_hex(&r.digest)?,
            user_id: r.user_id,
            ip: r.ip,
            user_agent: r.user_agent,
            amr: r.amr,
            auth_time: r.auth_time,
            created_at: r.created_at,
            last_seen_at: r.last_seen_at,
            idle_expires_at: r.idle_expires_at,
            absolute_expires_at: r.absolute_expires_at,
        })
    }

    fn deps(&self) -> Vec<String> {
        vec![v::session(&self.digest), v::user(self.user_id), v::purge()]
    }
}

#[derive(Serialize, Deserialize)]
pub(crate) struct AccessTokenRecord {
    digest: String,
    jti: TokenId,
    family_id: Option<FamilyId>,
    client_id: ClientId,
    user_id: Option<UserId>,
    scope: Scopes,
    issued_at: Timestamp,
    expires_at: Timestamp,
    revoked_at: Option<Timestamp>,
}

impl Cached for AccessToken {
    type Record = AccessTokenRecord;
    const KIND: &'static str = "access_token";

    fn to_record(&self) -> AccessTokenRecord {
        AccessTokenRecord {
            digest: digest_hex(&self.digest),
            jti: self.jti,
            family_id: self.family_id,
            client_id: self.client_id.clone(),
            user_id: self.user_id,
            scope: self.scope.clone(),
            issued_at: self.issued_at,
            expires_at: self.expires_at,
            revoked_at: self.revoked_at,
        }
    }

    fn from_record(r: AccessTokenRecord) -> Option<Self> {
        Some(AccessToken {
            digest: digest_from_hex(&r.digest)?,
            jti: r.jti,
            family_id: r.family_id,
            client_id: r.client_id,
            user_id: r.user_id,
            scope: r.scope,
            issued_at: r.issued_at,
            expires_at: r.expires_at,
            revoked_at: r.revoked_at,
        })
    }

    fn deps(&self) -> Vec<String> {
        let mut deps = vec![v::access_token(&self.digest), v::client(&self.client_id), v::purge()];
        deps.extend(self.user_id.map(v::user));
        deps.extend(self.family_id.map(v::family));
        deps
    }
}

#[derive(Serialize, Deserialize)]
pub(crate) struct PatRecord {
    id: PatId,
    user_id: UserId,
    digest: String,
    display_prefix: String,
    name: String,
    scope: Scopes,
    created_at: Timestamp,
    expires_at: Option<Timestamp>,
    last_used_at: Option<Timestamp>,
    revoked_at: Option<Timestamp>,
}

impl Cached for PersonalAccessToken {
    type Record = PatRecord;
    const KIND: &'static str = "pat";

    fn to_record(&self) -> PatRecord {
        PatRecord {
            id: self.id,
            user_id: self.user_id,
            digest: digest_hex(&self.digest),
            display_prefix: self.display_prefix.clone(),
            name: self.name.clone(),
            scope: self.scope.clone(),
            created_at: self.created_at,
            expires_at: self.expires_at,
            last_used_at: self.last_used_at,
            revoked_at: self.revoked_at,
        }
    }

    fn from_record(r: PatRecord) -> Option<Self> {
        Some(PersonalAccessToken {
            id: r.id,
            user_id: r.user_id,
            digest: digest_from_hex(&r.digest)?,
            display_prefix: r.display_prefix,
            name: r.name,
            scope: r.scope,
            created_at: r.created_at,
            expires_at: r.expires_at,
            last_used_at: r.last_used_at,
            revoked_at: r.revoked_at,
        })
    }

    fn deps(&self) -> Vec<String> {
        vec![v::pat(self.id), v::user(self.user_id)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_round_trip_through_hex() {
        let d = TokenDigest::of("kgs_secret");
        assert_eq!(digest_from_hex(&digest_hex(&d)), Some(d));
        assert_eq!(digest_from_hex("zz"), None);
        assert_eq!(digest_from_hex(&"é".repeat(32)), None);
    }
}
