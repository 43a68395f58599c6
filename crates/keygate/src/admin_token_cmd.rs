//! `keygate admin-token create --user EMAIL`: a personal access token with the `admin` scope,
//! which the admin API accepts as its bearer token as long as the token is unexpired and
//! unrevoked and its owner's account is active. Printed once; only its digest is stored.
//! (The static alternative is `admin_token` / KEYGATE_ADMIN_TOKEN in the configuration.)

use std::time::Duration;

use clap::Subcommand;
use keygate_core::ids::PatId;
use keygate_core::model::{AuditAction, AuditEvent, Outcome, PersonalAccessToken};
use keygate_core::secret_token::{SecretKind, SecretToken};
use keygate_core::{Clock, Email, Scopes, SystemClock};
use keygate_web::admin::ADMIN_SCOPE;

use crate::config::Config;
use crate::store::{Schema, chain, open_for};

#[derive(Debug, Subcommand)]
pub enum AdminTokenAction {
    /// Create an admin token for an existing account; it is printed this once.
    Create {
        /// The email address of the account that owns the token.
        #[arg(long, value_name = "EMAIL")]
        user: String,
        /// A name to tell the token apart in the account's token list.
        #[arg(long, default_value = "admin")]
        name: String,
        /// Days until the token expires; 0 never expires.
        #[arg(long, default_value_t = 90)]
        expires_in_days: u64,
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(config: &Config, action: AdminTokenAction) -> anyhow::Result<()> {
    let AdminTokenAction::Create {
        user,
        name,
        expires_in_days,
        json,
    } = action;
    let email = Email::parse(&user).map_err(|_| anyhow::anyhow!("`{user}` is not an email address"))?;
    let (backend, _) = open_for(config, Schema::Migrate).await?;
    let stores = crate::store::command_stores(config, &backend).await?;
    let result = async {
        let account = stores
            .users
            .find_user_by_email(&email)
            .await
            .map_err(|e| anyhow::anyhow!("cannot read the account ({})", chain(&e)))?
            .filter(|u| u.is_active())
            .ok_or_else(|| {
                anyhow::anyhow!("there is no active account for {user}; create it first (keygate user create)")
            })?;
        let now = SystemClock.now();
        let secret = SecretToken::generate(SecretKind::PersonalAccessToken);
        let expires_at = (expires_in_days > 0).then(|| now.plus(Duration::from_secs(expires_in_days * 24 * 3600)));
        let pat = PersonalAccessToken {
            id: PatId::new(),
            user_id: account.id,
            digest: secret.digest(),
            display_prefix: secret.display_prefix().to_owned(),
            name: name.clone(),
            scope: Scopes::parse(ADMIN_SCOPE).unwrap_or_default(),
            created_at: now,
            expires_at,
            last_used_at: None,
            revoked_at: None,
        };
        let audit = AuditEvent::new(AuditAction::PatCreated, "cli", Outcome::Success, now)
            .user(account.id)
            .details(serde_json::json!({ "pat_id": pat.id.to_string(), "scope": ADMIN_SCOPE }));
        stores
            .pats
            .create_pat(&pat, &[audit])
            .await
            .map_err(|e| anyhow::anyhow!("cannot store the token ({})", chain(&e)))?;
        if json {
            let body = serde_json::json!({
                "id": pat.id.to_string(),
                "token": secret.expose(),
                "user_id": account.id.to_string(),
                "expires_at": expires_at.map(|t| t.to_rfc3339()),
            });
            println!("{body}");
        } else {
            println!("admin token for {user} (shown only now; send it as `Authorization: Bearer …`):");
            println!("{}", secret.expose());
        }
        Ok(())
    }
    .await;
    backend.close().await;
    result
}
