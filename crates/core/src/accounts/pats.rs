//! Personal access tokens: a user's own bearer tokens for the account API, each limited to the
//! scopes it was created with, shown once, stored as a digest.

use std::time::Duration;

use crate::ids::PatId;
use crate::model::{AuditAction, Outcome, PersonalAccessToken, User};
use crate::scope::Scopes;
use crate::secret_token::{SecretKind, SecretToken};

use super::{AccountError, AccountResult, Accounts, RequestMeta};

/// Read the account: profile, sessions, tokens, activity, export.
pub const SCOPE_ACCOUNT_READ: &str = "account:read";
/// End sessions and revoke tokens.
pub const SCOPE_ACCOUNT_WRITE: &str = "account:write";
/// Every scope a user may give a token.
pub const PAT_SCOPES: &[&str] = &[SCOPE_ACCOUNT_READ, SCOPE_ACCOUNT_WRITE];

const DEFAULT_LIFETIME_DAYS: u32 = 90;
const MAX_LIFETIME_DAYS: u32 = 366;
const MAX_NAME_CHARS: usize = 100;
/// `last_used_at` is written at most this often per token.
const TOUCH_INTERVAL: Duration = Duration::from_secs(60);

/// A token to create.
#[derive(Clone, Debug)]
pub struct NewPat {
    pub name: String,
    pub scopes: Vec<String>,
    /// Days until it expires (default 90, at most 366).
    pub expires_in_days: Option<u32>,
}

/// A created token: the record and the secret, which is shown this once.
pub struct CreatedPat {
    pub pat: PersonalAccessToken,
    pub token: SecretToken,
}

impl std::fmt::Debug for CreatedPat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedPat")
            .field("pat", &self.pat)
            .finish_non_exhaustive()
    }
}

impl Accounts {
    pub async fn create_pat(&self, user: &User, new: NewPat, meta: &RequestMeta) -> AccountResult<CreatedPat> {
        let name = new.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
            return Err(AccountError::invalid(
                "name",
                format!("must be 1 to {MAX_NAME_CHARS} characters"),
            ));
        }
        if new.scopes.is_empty() {
            return Err(AccountError::invalid("scopes", "name at least one scope"));
        }
        if let Some(bad) = new.scopes.iter().find(|s| !PAT_SCOPES.contains(&s.as_str())) {
            return Err(AccountError::invalid(
                "scopes",
                format!("`{bad}` is not one of {}", PAT_SCOPES.join(", ")),
            ));
        }
        let days = new.expires_in_days.unwrap_or(DEFAULT_LIFETIME_DAYS);
        if days == 0 || days > MAX_LIFETIME_DAYS {
            return Err(AccountError::invalid(
                "expires_in_days",
                format!("must be 1 to {MAX_LIFETIME_DAYS}"),
            ));
        }
        let now = self.now();
        let token = SecretToken::generate(SecretKind::PersonalAccessToken);
        let pat = PersonalAccessToken {
            id: PatId::new(),
            user_id: user.id,
            digest: token.digest(),
            display_prefix: token.display_prefix().to_owned(),
            name,
            scope: new.scopes.iter().map(String::as_str).collect::<Scopes>(),
            created_at: now,
            expires_at: Some(now.plus(Duration::from_secs(u64::from(days) * 86400))),
            last_used_at: None,
            revoked_at: None,
        };
        let event = self
            .user_event(AuditAction::PatCreated, user.id, Outcome::Success, meta)
            .details(serde_json::json!({ "pat": pat.id, "scope": pat.scope.to_string() }));
        self.stores().pats.create_pat(&pat, &[event]).await?;
        Ok(CreatedPat { pat, token })
    }

    pub async fn list_pats(&self, user: &User) -> AccountResult<Vec<PersonalAccessToken>> {
        Ok(self.stores().pats.list_pats_of_user(user.id).await?)
    }

    pub async fn revoke_pat(&self, user: &User, id: PatId, meta: &RequestMeta) -> AccountResult<()> {
        let event = self
            .user_event(AuditAction::PatRevoked, user.id, Outcome::Success, meta)
            .details(serde_json::json!({ "pat": id }));
        if self.stores().pats.revoke_pat(user.id, id, self.now(), &[event]).await? {
            Ok(())
        } else {
            Err(AccountError::NotFound("token"))
        }
    }

    /// The usable token (and its active user) behind a bearer value; None otherwise.
    pub async fn authenticate_pat(&self, bearer: &str) -> AccountResult<Option<(PersonalAccessToken, User)>> {
        let Ok(token) = SecretToken::parse(SecretKind::PersonalAccessToken, bearer) else {
            return Ok(None);
        };
        let Some(pat) = self.stores().pats.get_pat_by_digest(&token.digest()).await? else {
            return Ok(None);
        };
        let now = self.now();
        if !pat.is_usable(now) {
            return Ok(None);
        }
        let Some(user) = self.stores().users.get_user(pat.user_id).await?.filter(User::is_active) else {
            return Ok(None);
        };
        let mut pat = pat;
        if pat.last_used_at.is_none_or(|t| now.since(t) >= TOUCH_INTERVAL) {
            self.stores().pats.touch_pat(pat.id, now).await?;
            pat.last_used_at = Some(now);
        }
        Ok(Some((pat, user)))
    }
}
