//! `keygate keys list | rotate [--now]`: the signing keys (never their private parts).

use std::sync::Arc;

use clap::Subcommand;
use keygate_core::SystemClock;
use keygate_core::accounts::RequestMeta;
use keygate_core::jose::RotateMode;
use keygate_core::model::SigningKey;
use keygate_core::oauth::KeyManager;

use crate::config::Config;
use crate::output::table;
use crate::store::{Schema, chain, open_for};

#[derive(Debug, Subcommand)]
pub enum KeysAction {
    /// List the signing keys and their state (next, active, retired).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Rotate: promote each algorithm's next key once it has been published for the lead time
    /// (publishing one when there is none); `--now` rotates at once (after a leak).
    Rotate {
        #[arg(long)]
        now: bool,
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(config: &Config, action: KeysAction) -> anyhow::Result<()> {
    let (backend, _) = open_for(config, Schema::Migrate).await?;
    let result = match crate::store::command_stores(config, &backend).await {
        Ok(stores) => execute(config, &stores, action).await,
        Err(err) => Err(err),
    };
    backend.close().await;
    result
}

async fn execute(config: &Config, stores: &keygate_core::store::Stores, action: KeysAction) -> anyhow::Result<()> {
    let secret_box = Arc::new(crate::app::secret_box_for(config)?);
    let options = config.oauth.to_options(config.issuer.as_str())?;
    let manager = KeyManager::start(
        stores.keys.clone(),
        secret_box,
        Arc::new(SystemClock),
        options.settings.rotation,
    )
    .await
    .map_err(|e| anyhow::anyhow!("cannot load the signing keys ({e})"))?;
    let json = match action {
        KeysAction::List { json } => json,
        KeysAction::Rotate { now, json } => {
            let mode = if now {
                RotateMode::Immediately
            } else {
                RotateMode::WhenReady
            };
            let changes = manager
                .rotate(mode, "cli", &RequestMeta::default())
                .await
                .map_err(|e| anyhow::anyhow!("cannot rotate the signing keys ({e})"))?;
            if !json {
                for alg in &changes.rotated {
                    println!("rotated {}", alg.as_str());
                }
                for (alg, ready) in &changes.waiting {
                    println!(
                        "{}: the next key is published but signs only from {} (use --now to rotate at once)",
                        alg.as_str(),
                        ready.to_rfc3339()
                    );
                }
            }
            json
        }
    };
    let keys = manager
        .list()
        .await
        .map_err(|e| anyhow::anyhow!("cannot list the signing keys ({})", chain(&e)))?;
    print_keys(&keys, json)
}

fn print_keys(keys: &[SigningKey], json: bool) -> anyhow::Result<()> {
    if json {
        let items: Vec<_> = keys.iter().map(keygate_web::admin::key_view).collect();
        println!("{}", serde_json::to_string_pretty(&items)?);
        return Ok(());
    }
    let time = |t: Option<keygate_core::Timestamp>| t.map(|t| t.to_rfc3339()).unwrap_or_default();
    let rows: Vec<Vec<String>> = keys
        .iter()
        .map(|k| {
            vec![
                k.kid.0.clone(),
                k.alg.as_str().to_owned(),
                k.state.as_str().to_owned(),
                k.created_at.to_rfc3339(),
                time(k.activated_at),
                time(k.remove_after),
            ]
        })
        .collect();
    print!(
        "{}",
        table(&["KID", "ALG", "STATE", "CREATED", "ACTIVATED", "REMOVE AFTER"], &rows)
    );
    Ok(())
}
