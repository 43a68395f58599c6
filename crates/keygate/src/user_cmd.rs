//! `keygate user create | list | show | update | set-password | deactivate | activate | unlock |
//! sessions | end-sessions | revoke-tokens | reset-totp | grant-admin | revoke-admin | delete`:
//! account administration from the shell (the verbs of the admin API), a table for people and
//! `--json` for scripts. Passwords are read
//! from stdin (`--password-stdin`), never from the command line, where others could see them.

use std::io::BufRead;
use std::sync::Arc;

use async_trait::async_trait;
use clap::{Args, Subcommand};
use keygate_core::SystemClock;
use keygate_core::accounts::{
    AccountError, Accounts, AccountsDeps, InlineHasher, NewUser, Operator, UserChanges, UserStatus,
};
use keygate_core::crypto::SecretBox;
use keygate_core::mail::{MailError, Mailer, OutgoingEmail};
use keygate_core::model::{Role, Session, User};
use keygate_core::operations::{Operations, TokenOwner};
use keygate_core::paging::PageRequest;
use keygate_core::store::UserFilter;
use serde_json::json;
use zeroize::Zeroizing;

use crate::config::Config;
use crate::output::table;
use crate::store::{Schema, chain, open_for};

#[derive(Debug, Subcommand)]
pub enum UserAction {
    /// Create an account (unverified unless --verified).
    Create {
        #[arg(long)]
        email: String,
        /// Read the password from the first line of stdin (without it the account has no password).
        #[arg(long)]
        password_stdin: bool,
        /// Mark the email address verified.
        #[arg(long)]
        verified: bool,
        #[arg(long)]
        json: bool,
    },
    /// List accounts, oldest first.
    List {
        #[arg(long, default_value_t = 100)]
        limit: u32,
        /// Only addresses starting with this (case-insensitive).
        #[arg(long)]
        search: Option<String>,
        /// Only verified (true) or unverified (false) addresses.
        #[arg(long)]
        verified: Option<bool>,
        /// Only active (true) or deactivated (false) accounts.
        #[arg(long)]
        active: Option<bool>,
        #[arg(long)]
        json: bool,
    },
    /// Show one account: roles, lock, TOTP and live sessions.
    Show(Target),
    /// Change an account's email address or verification.
    Update {
        /// The account's current email address.
        email: String,
        #[arg(long)]
        new_email: Option<String>,
        #[arg(long)]
        verified: Option<bool>,
        #[arg(long)]
        json: bool,
    },
    /// Set an account's password (from stdin); ends its sessions and refresh tokens, voids reset links.
    SetPassword(Target),
    /// Deactivate an account, ending its sessions and grants.
    Deactivate(Target),
    /// Reactivate a deactivated account.
    Activate(Target),
    /// End the lockout of an account after failed logins.
    Unlock(Target),
    /// List an account's live sessions.
    Sessions(Target),
    /// End every session of an account.
    EndSessions(Target),
    /// Revoke every refresh and access token issued to an account.
    RevokeTokens(Target),
    /// Remove an account's TOTP and recovery codes (a lost device).
    ResetTotp(Target),
    /// Give an account the admin role (the admin console at /admin).
    GrantAdmin(Target),
    /// Take the admin role away.
    RevokeAdmin(Target),
    /// Erase an account (GDPR): personal data and tokens go, anonymised audit rows stay.
    Delete(Target),
}

#[derive(Debug, Args)]
pub struct Target {
    /// The account's email address.
    pub email: String,
    #[arg(long)]
    pub json: bool,
}

/// The CLI never sends email; nothing it calls tries to.
struct NoMail;

#[async_trait]
impl Mailer for NoMail {
    async fn send(&self, _message: &OutgoingEmail) -> Result<(), MailError> {
        Err(MailError("the command line sends no email".into()))
    }
}

pub async fn run(config: &Config, action: UserAction) -> anyhow::Result<()> {
    let (backend, _) = open_for(config, Schema::Check).await?;
    let result = async {
        // The CLI touches no encrypted secret; a throwaway key is enough for the service.
        let key = SecretBox::generate_key_base64()?;
        let stores = crate::store::command_stores(config, &backend).await?;
        let operations = Operations::new(stores.clone(), Arc::new(SystemClock));
        let accounts = Accounts::new(AccountsDeps {
            stores,
            clock: Arc::new(SystemClock),
            hasher: Arc::new(InlineHasher),
            mailer: Arc::new(NoMail),
            secret_box: Arc::new(SecretBox::from_base64(&key)?),
            config: config.accounts.to_accounts_config()?,
            issuer: config.issuer.as_str().to_owned(),
        });
        act(&accounts, &operations, action).await
    }
    .await;
    backend.close().await;
    result
}

async fn act(accounts: &Accounts, operations: &Operations, action: UserAction) -> anyhow::Result<()> {
    let by = Operator::cli();
    match action {
        UserAction::Create {
            email,
            password_stdin,
            verified,
            json,
        } => {
            let password = if password_stdin { Some(read_password()?) } else { None };
            let new = NewUser {
                email,
                password,
                verified,
            };
            let user = accounts.create_user(new, &by).await.map_err(sentence)?;
            print_users(&[user], json, "created");
        }
        UserAction::List {
            limit,
            search,
            verified,
            active,
            json,
        } => {
            let filter = UserFilter {
                email_prefix: search,
                verified,
                active,
            };
            let page = accounts
                .list_users(&filter, &PageRequest::first(limit))
                .await
                .map_err(sentence)?;
            print_users(&page.items, json, "");
        }
        UserAction::Show(target) => {
            let user = accounts.user_by_email(&target.email).await.map_err(sentence)?;
            let status = accounts.user_status(&user).await.map_err(sentence)?;
            print_status(&user, &status, target.json);
        }
        UserAction::Update {
            email,
            new_email,
            verified,
            json,
        } => {
            let user = accounts.user_by_email(&email).await.map_err(sentence)?;
            let changes = UserChanges {
                email: new_email,
                verified,
                active: None,
            };
            let user = accounts.update_user(&user, &changes, &by).await.map_err(sentence)?;
            print_users(&[user], json, "updated");
        }
        UserAction::SetPassword(target) => {
            let user = accounts.user_by_email(&target.email).await.map_err(sentence)?;
            let password = read_password()?;
            accounts
                .set_password_as_operator(&user, &password, &by)
                .await
                .map_err(sentence)?;
            done(&user, target.json, "password set; sessions and refresh tokens ended");
        }
        UserAction::Deactivate(target) => {
            let user = accounts.user_by_email(&target.email).await.map_err(sentence)?;
            accounts.set_active(&user, false, &by).await.map_err(sentence)?;
            done(&user, target.json, "deactivated; sessions and grants ended");
        }
        UserAction::Activate(target) => {
            let user = accounts.user_by_email(&target.email).await.map_err(sentence)?;
            accounts.set_active(&user, true, &by).await.map_err(sentence)?;
            done(&user, target.json, "activated");
        }
        UserAction::Unlock(target) => {
            let user = accounts.user_by_email(&target.email).await.map_err(sentence)?;
            accounts.unlock_user(&user, &by).await.map_err(sentence)?;
            done(&user, target.json, "unlocked");
        }
        UserAction::Sessions(target) => {
            let user = accounts.user_by_email(&target.email).await.map_err(sentence)?;
            let sessions = accounts.list_sessions(&user).await.map_err(sentence)?;
            print_sessions(&sessions, target.json);
        }
        UserAction::EndSessions(target) => {
            let user = accounts.user_by_email(&target.email).await.map_err(sentence)?;
            let ended = accounts.end_all_sessions(&user, &by).await.map_err(sentence)?;
            done(&user, target.json, &format!("{ended} session(s) ended"));
        }
        UserAction::RevokeTokens(target) => {
            let user = accounts.user_by_email(&target.email).await.map_err(sentence)?;
            let revoked = operations
                .revoke_tokens(&TokenOwner::User(user.id, None), &by.actor, &by.meta)
                .await
                .map_err(|e| anyhow::anyhow!("the database failed ({})", chain(&e)))?;
            done(&user, target.json, &format!("{revoked} token famil(ies) revoked"));
        }
        UserAction::ResetTotp(target) => {
            let user = accounts.user_by_email(&target.email).await.map_err(sentence)?;
            let removed = accounts.reset_totp(&user, &by).await.map_err(sentence)?;
            let what = if removed {
                "TOTP removed"
            } else {
                "TOTP was not enabled"
            };
            done(&user, target.json, what);
        }
        UserAction::GrantAdmin(target) => admin_role(accounts, &by, &target, true).await?,
        UserAction::RevokeAdmin(target) => admin_role(accounts, &by, &target, false).await?,
        UserAction::Delete(target) => {
            let user = accounts.user_by_email(&target.email).await.map_err(sentence)?;
            accounts.erase_as_operator(&user, &by).await.map_err(sentence)?;
            done(&user, target.json, "erased");
        }
    }
    Ok(())
}

/// Grants or revokes the admin role and says which happened.
async fn admin_role(accounts: &Accounts, by: &Operator, target: &Target, grant: bool) -> anyhow::Result<()> {
    let user = accounts.user_by_email(&target.email).await.map_err(sentence)?;
    let changed = accounts
        .set_role(&user, Role::admin(), grant, by)
        .await
        .map_err(sentence)?;
    let what = match (grant, changed) {
        (true, true) => "admin role granted",
        (true, false) => "already an admin",
        (false, true) => "admin role revoked",
        (false, false) => "was not an admin",
    };
    done(&user, target.json, what);
    Ok(())
}

/// One sentence for the user, never a debug dump.
fn sentence(err: AccountError) -> anyhow::Error {
    match err {
        AccountError::Store(store) => anyhow::anyhow!("the database failed ({})", chain(&store)),
        AccountError::NotFound(_) => anyhow::anyhow!("no account has this email address"),
        other => anyhow::anyhow!("{other}"),
    }
}

fn read_password() -> anyhow::Result<Zeroizing<String>> {
    let mut line = Zeroizing::new(String::new());
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| anyhow::anyhow!("cannot read the password from stdin ({e})"))?;
    let password = Zeroizing::new(line.trim_end_matches(['\r', '\n']).to_owned());
    if password.is_empty() {
        anyhow::bail!(
            "no password on stdin; pipe it in, e.g. `printf '%s' \"$PASSWORD\" | keygate user set-password EMAIL`"
        );
    }
    Ok(password)
}

fn user_json(user: &User) -> serde_json::Value {
    json!({
        "id": user.id,
        "email": user.email.as_str(),
        "email_verified": user.is_verified(),
        "active": user.is_active(),
        "roles": user.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
        "created_at": user.created_at.to_rfc3339(),
    })
}

fn print_status(user: &User, status: &UserStatus, json: bool) {
    let locked_until = status.locked_until.map(|t| t.to_rfc3339());
    if json {
        let mut value = user_json(user);
        value["locked_until"] = json!(locked_until);
        value["totp_enabled"] = json!(status.totp_enabled);
        value["live_sessions"] = json!(status.sessions.len());
        println!("{value:#}");
        return;
    }
    let roles = user.roles.to_stored();
    let rows = vec![
        vec!["id".to_owned(), user.id.to_string()],
        vec!["email".to_owned(), user.email.to_string()],
        vec!["verified".to_owned(), yes_no(user.is_verified())],
        vec!["active".to_owned(), yes_no(user.is_active())],
        vec![
            "roles".to_owned(),
            if roles.is_empty() { "-".to_owned() } else { roles },
        ],
        vec![
            "locked until".to_owned(),
            locked_until.unwrap_or_else(|| "-".to_owned()),
        ],
        vec!["TOTP".to_owned(), yes_no(status.totp_enabled)],
        vec!["live sessions".to_owned(), status.sessions.len().to_string()],
        vec!["created".to_owned(), user.created_at.to_rfc3339()],
    ];
    print!("{}", table(&["FIELD", "VALUE"], &rows));
}

fn print_sessions(sessions: &[Session], json: bool) {
    if json {
        let items: Vec<serde_json::Value> = sessions
            .iter()
            .map(|s| {
                json!({
                    "id": s.id,
                    "ip": s.ip,
                    "user_agent": s.user_agent,
                    "created_at": s.created_at.to_rfc3339(),
                    "last_seen_at": s.last_seen_at.to_rfc3339(),
                })
            })
            .collect();
        println!("{:#}", json!(items));
        return;
    }
    let rows: Vec<Vec<String>> = sessions
        .iter()
        .map(|s| {
            vec![
                s.id.to_string(),
                s.ip.clone().unwrap_or_default(),
                s.last_seen_at.to_rfc3339(),
                s.user_agent.clone().unwrap_or_default(),
            ]
        })
        .collect();
    print!("{}", table(&["ID", "IP", "LAST SEEN", "USER AGENT"], &rows));
}

fn print_users(users: &[User], json: bool, verb: &str) {
    if json {
        let value = if verb.is_empty() {
            json!(users.iter().map(user_json).collect::<Vec<_>>())
        } else {
            users.first().map(user_json).unwrap_or_default()
        };
        println!("{value:#}");
        return;
    }
    if !verb.is_empty() {
        println!("{verb} account:");
    }
    let rows: Vec<Vec<String>> = users
        .iter()
        .map(|u| {
            vec![
                u.id.to_string(),
                u.email.to_string(),
                yes_no(u.is_verified()),
                yes_no(u.is_active()),
                u.created_at.to_rfc3339(),
            ]
        })
        .collect();
    print!("{}", table(&["ID", "EMAIL", "VERIFIED", "ACTIVE", "CREATED"], &rows));
}

fn done(user: &User, json: bool, what: &str) {
    if json {
        println!(
            "{:#}",
            json!({ "id": user.id, "email": user.email.as_str(), "result": what })
        );
    } else {
        println!("{}: {what}", user.email);
    }
}

fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.to_owned()
}
