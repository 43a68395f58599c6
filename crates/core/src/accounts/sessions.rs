//! Sessions after login: finding the session behind a cookie (with idle and absolute expiry and a
//! last-seen stamp written at most once a minute), logging out, listing and ending sessions.

use std::time::Duration;

use crate::ids::SessionId;
use crate::model::{AuditAction, AuditEvent, Outcome, PersonalAccessToken, Session, User};
use crate::secret_token::{SecretKind, SecretToken};

use super::{AccountError, AccountResult, Accounts, RequestMeta};

/// Last-seen is written at most this often per session.
const TOUCH_INTERVAL: Duration = Duration::from_secs(60);

/// A live session and its user, found from the cookie.
#[derive(Clone)]
pub struct SessionAuth {
    pub session: Session,
    pub user: User,
    /// The cookie secret the request carried.
    pub token: SecretToken,
}

impl std::fmt::Debug for SessionAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionAuth")
            .field("session", &self.session.id)
            .field("user", &self.user.id)
            .finish_non_exhaustive()
    }
}

/// Who is calling the account API: a browser session or a personal access token.
#[derive(Clone, Debug)]
pub enum Authenticated {
    Session(SessionAuth),
    Pat { pat: PersonalAccessToken, user: User },
}

impl Authenticated {
    pub fn user(&self) -> &User {
        match self {
            Authenticated::Session(s) => &s.user,
            Authenticated::Pat { user, .. } => user,
        }
    }
}

impl Accounts {
    /// The live session behind a cookie value, or None (malformed, unknown, expired, or its
    /// account deactivated). Store failures are errors, never "no session".
    pub async fn authenticate_session(&self, cookie: &str) -> AccountResult<Option<SessionAuth>> {
        let Ok(token) = SecretToken::parse(SecretKind::Session, cookie) else {
            return Ok(None);
        };
        let digest = token.digest();
        let Some(session) = self.stores().sessions.get_session(&digest).await? else {
            return Ok(None);
        };
        let now = self.now();
        if !session.is_live(now) {
            return Ok(None);
        }
        let Some(user) = self.stores().users.get_user(session.user_id).await? else {
            return Ok(None);
        };
        if !user.is_active() {
            return Ok(None);
        }
        let mut session = session;
        if now.since(session.last_seen_at) >= TOUCH_INTERVAL {
            let idle = now.plus(self.config().session_idle).min(session.absolute_expires_at);
            self.stores().sessions.touch_session(&digest, now, idle).await?;
            session.last_seen_at = now;
            session.idle_expires_at = idle;
        }
        Ok(Some(SessionAuth { session, user, token }))
    }

    /// Ends the session behind the cookie, server-side. Unknown sessions are fine (already out).
    pub async fn logout(&self, cookie: &str, meta: &RequestMeta) -> AccountResult<()> {
        let Ok(token) = SecretToken::parse(SecretKind::Session, cookie) else {
            return Ok(());
        };
        let digest = token.digest();
        let Some(session) = self.stores().sessions.get_session(&digest).await? else {
            return Ok(());
        };
        let event = self
            .user_event(AuditAction::LoggedOut, session.user_id, Outcome::Success, meta)
            .details(serde_json::json!({ "session": session.id }));
        self.stores().sessions.delete_session(&digest, &[event]).await?;
        Ok(())
    }

    /// The user's live sessions, newest first.
    pub async fn list_sessions(&self, user: &User) -> AccountResult<Vec<Session>> {
        Ok(self
            .stores()
            .sessions
            .list_sessions_of_user(user.id, self.now())
            .await?)
    }

    /// Ends one of the user's sessions by its public id.
    pub async fn end_session(&self, user: &User, id: SessionId, meta: &RequestMeta) -> AccountResult<()> {
        let event = self
            .user_event(AuditAction::SessionRevoked, user.id, Outcome::Success, meta)
            .details(serde_json::json!({ "session": id }));
        self.end_one_session(user, id, event).await
    }

    /// Ends session `id` of `user`, recording `event`; `NotFound` if it is not theirs or gone.
    pub(super) async fn end_one_session(&self, user: &User, id: SessionId, event: AuditEvent) -> AccountResult<()> {
        if self
            .stores()
            .sessions
            .delete_user_session(user.id, id, &[event])
            .await?
        {
            Ok(())
        } else {
            Err(AccountError::NotFound("session"))
        }
    }
}
