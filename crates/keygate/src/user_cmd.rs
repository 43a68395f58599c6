//! `keygate user create | list | set-password | deactivate | activate | delete`: account
//! administration from the shell, a table for people and `--json` for scripts. Passwords are read
//! from stdin (`--password-stdin`), never from the command line, where others could see them.

use std::io::BufRead;
use std::sync::Arc;

use async_trait::async_trait;
use clap::{Args, Subcommand};
use keygate_core::SystemClock;
use keygate_core::accounts::{AccountError, Accounts, AccountsDeps, InlineHasher, NewUser};
use keygate_core::crypto::SecretBox;
use keygate_core::mail::{MailError, Mailer, OutgoingEmail};
use keygate_core::model::User;
use keygate_core::paging::PageRequest;
use serde_json::json;
use zeroize::Zeroizing;

use crate::config::Config;
use crate::output::table;
use crate::store::{Schema, chain, open_for};

/// Who the audit log names for these actions.
const ACTOR: &str = "cli";

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
    /// List accounts.
    List {
        #[arg(long, default_value_t = 100)]
        limit: u32,
        #[arg(long)]
        json: bool,
    },
    /// Set an account's password (from stdin); ends its sessions and refresh tokens.
    SetPassword(Target),
    /// Deactivate an account, ending its sessions and grants.
    Deactivate(Target),
    /// Reactivate a deactivated account.
    Activate(Target),
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
        let accounts = Accounts::new(AccountsDeps {
            stores: crate::store::command_stores(config, &backend).await?,
            clock: Arc::new(SystemClock),
            hasher: Arc::new(InlineHasher),
            mailer: Arc::new(NoMail),
            secret_box: Arc::new(SecretBox::from_base64(&key)?),
            config: config.accounts.to_accounts_config()?,
            issuer: config.issuer.as_str().to_owned(),
        });
        act(&accounts, action).await
    }
    .await;
    backend.close().await;
    result
}

async fn act(accounts: &Accounts, action: UserAction) -> anyhow::Result<()> {
    match action {
        UserAction::Create {
            email,
            password_stdin,
            verified,
            json,
        } => {
            let password = if password_stdin { Some(read_password()?) } else { None };
            let user = accounts
                .create_user(
                    NewUser {
                        email,
                        password,
                        verified,
                    },
                    ACTOR,
                )
                .await
                .map_err(sentence)?;
            print_users(&[user], json, "created");
        }
        UserAction::List { limit, json } => {
            let page = accounts
                .list_users(&PageRequest::first(limit))
                .await
                .map_err(sentence)?;
            print_users(&page, json, "");
        }
        UserAction::SetPassword(target) => {
            let user = accounts.user_by_email(&target.email).await.map_err(sentence)?;
            let password = read_password()?;
            accounts
                .set_password_as_operator(&user, &password, ACTOR)
                .await
                .map_err(sentence)?;
            done(&user, target.json, "password set; sessions and refresh tokens ended");
        }
        UserAction::Deactivate(target) => {
            let user = accounts.user_by_email(&target.email).await.map_err(sentence)?;
            accounts.set_active(&user, false, ACTOR).await.map_err(sentence)?;
            done(&user, target.json, "deactivated; sessions and grants ended");
        }
        UserAction::Activate(target) => {
            let user = accounts.user_by_email(&target.email).await.map_err(sentence)?;
            accounts.set_active(&user, true, ACTOR).await.map_err(sentence)?;
            done(&user, target.json, "activated");
        }
        UserAction::Delete(target) => {
            let user = accounts.user_by_email(&target.email).await.map_err(sentence)?;
            accounts.erase_as_operator(&user, ACTOR).await.map_err(sentence)?;
            done(&user, target.json, "erased");
        }
    }
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
        "created_at": user.created_at.to_rfc3339(),
    })
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
