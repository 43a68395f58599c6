//! Who is calling: the client's IP address (the socket peer, or the X-Forwarded-For entry a
//! configured trusted proxy added, see [`super::proxies`]) and its user agent.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRef, FromRequestParts};
use axum::http::header::USER_AGENT;
use axum::http::request::Parts;
use keygate_core::accounts::RequestMeta;

use super::session::AccountsApi;

/// Longest user agent kept in sessions and audit rows.
const MAX_USER_AGENT_CHARS: usize = 256;

/// The caller's address and user agent, as the account service records them.
#[derive(Clone, Debug, Default)]
pub struct ClientMeta(pub RequestMeta);

impl<S> FromRequestParts<S> for ClientMeta
where
    S: Send + Sync,
    Arc<AccountsApi>: FromRef<S>,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let api = Arc::<AccountsApi>::from_ref(state);
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
        let forwarded = parts.headers.get("x-forwarded-for").and_then(|v| v.to_str().ok());
        let ip = peer.map(|p| api.trusted_proxies.client_ip(p, forwarded).to_string());
        let user_agent = parts
            .headers
            .get(USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.chars().take(MAX_USER_AGENT_CHARS).collect());
        Ok(ClientMeta(RequestMeta { ip, user_agent }))
    }
}
