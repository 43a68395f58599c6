//! An OAuth client as registered (RFC 7591 metadata plus Keygate's own flags).

use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;
use crate::digest::TokenDigest;
use crate::ids::ClientId;
use crate::model::signing_key::SigningAlg;
use crate::scope::Scopes;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    ClientSecretBasic,
    ClientSecretPost,
    /// A public client: no secret, PKCE required.
    None,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantType {
    AuthorizationCode,
    RefreshToken,
    ClientCredentials,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenFormat {
    #[default]
    Jwt,
    Opaque,
}

macro_rules! string_enum {
    ($ty:ident { $($variant:ident = $s:literal),* $(,)? }) => {
        impl $ty {
            /// Every value, in declaration order.
            pub const ALL: &'static [$ty] = &[$($ty::$variant),*];

            pub fn as_str(self) -> &'static str {
                match self { $($ty::$variant => $s),* }
            }
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($s => Some($ty::$variant),)* _ => None }
            }
        }
    };
}
pub(crate) use string_enum;

string_enum!(AuthMethod { ClientSecretBasic = "client_secret_basic", ClientSecretPost = "client_secret_post", None = "none" });
string_enum!(GrantType { AuthorizationCode = "authorization_code", RefreshToken = "refresh_token", ClientCredentials = "client_credentials" });
string_enum!(TokenFormat { Jwt = "jwt", Opaque = "opaque" });

#[derive(Clone, Debug, PartialEq)]
pub struct Client {
    pub id: ClientId,
    /// Digest of the current secret; None for a public client.
    pub secret_digest: Option<TokenDigest>,
    pub name: String,
    pub auth_method: AuthMethod,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub grant_types: Vec<GrantType>,
    pub scope: Scopes,
    pub access_token_format: TokenFormat,
    /// None means the server's default for access tokens.
    pub access_token_alg: Option<SigningAlg>,
    /// None means the server's default for ID tokens (RS256).
    pub id_token_alg: Option<SigningAlg>,
    /// A first-party client skips the consent page.
    pub first_party: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Client {
    pub fn is_public(&self) -> bool {
        self.auth_method == AuthMethod::None
    }

    pub fn allows_grant(&self, grant: GrantType) -> bool {
        self.grant_types.contains(&grant)
    }
}
