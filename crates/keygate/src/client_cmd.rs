//! `keygate client create | list | show | update | delete | rotate-secret`: manages OAuth clients
//! directly in the store (tables for people, `--json` for scripts; a secret is printed once).

use clap::{Args, Subcommand};
use keygate_core::accounts::RequestMeta;
use keygate_core::ids::ClientId;
use keygate_core::oauth::{ClientMetadata, ClientView, OAuthError};
use keygate_core::paging::PageRequest;
use keygate_core::{Clock, SystemClock};

use crate::config::Config;
use crate::output::table;
use crate::store::{Schema, chain, open_for};

const ACTOR: &str = "cli";

#[derive(Debug, Subcommand)]
pub enum ClientAction {
    /// Register a client; a confidential client's secret is printed this once.
    Create {
        #[command(flatten)]
        metadata: MetadataArgs,
        #[arg(long)]
        json: bool,
    },
    /// List clients.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Show one client.
    Show {
        client_id: String,
        #[arg(long)]
        json: bool,
    },
    /// Change the given fields of a client.
    Update {
        // Its own id: the flattened metadata has a `--client-id` flag, and clap refuses two
        // arguments with one id (a panic in debug builds).
        #[arg(id = "id", value_name = "CLIENT_ID")]
        client_id: String,
        #[command(flatten)]
        metadata: MetadataArgs,
        #[arg(long)]
        json: bool,
    },
    /// Delete a client with its consents and tokens.
    Delete {
        client_id: String,
        #[arg(long)]
        json: bool,
    },
    /// Give a confidential client a new secret (the old one stops working).
    RotateSecret {
        client_id: String,
        #[arg(long)]
        json: bool,
    },
}

/// RFC 7591 metadata as flags; an omitted flag keeps the default (create) or current value (update).
#[derive(Debug, Default, Args)]
pub struct MetadataArgs {
    /// The client id (create only; chosen by the server when omitted).
    #[arg(long)]
    pub client_id: Option<String>,
    /// A name people recognise (shown on the consent page).
    #[arg(long)]
    pub name: Option<String>,
    /// A redirect URI (repeat for several).
    #[arg(long = "redirect-uri", value_name = "URI")]
    pub redirect_uris: Vec<String>,
    /// A post-logout redirect URI (repeat for several).
    #[arg(long = "post-logout-redirect-uri", value_name = "URI")]
    pub post_logout_redirect_uris: Vec<String>,
    /// authorization_code, refresh_token or client_credentials (repeat for several).
    #[arg(long = "grant-type", value_name = "GRANT")]
    pub grant_types: Vec<String>,
    /// client_secret_basic (default), client_secret_post or none (a public client).
    #[arg(long, value_name = "METHOD")]
    pub auth_method: Option<String>,
    /// Space-separated scopes the client may ask for.
    #[arg(long)]
    pub scope: Option<String>,
    /// Skip the consent page for this client.
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub first_party: Option<bool>,
    /// jwt (default) or opaque.
    #[arg(long, value_name = "FORMAT")]
    pub access_token_format: Option<String>,
    /// RS256, ES256 or EdDSA.
    #[arg(long, value_name = "ALG")]
    pub id_token_alg: Option<String>,
    /// ES256, EdDSA or RS256.
    #[arg(long, value_name = "ALG")]
    pub access_token_alg: Option<String>,
}

impl MetadataArgs {
    fn to_metadata(&self) -> ClientMetadata {
        let list = |v: &Vec<String>| (!v.is_empty()).then(|| v.clone());
        ClientMetadata {
            client_id: self.client_id.clone(),
            client_name: self.name.clone(),
            redirect_uris: list(&self.redirect_uris),
            post_logout_redirect_uris: list(&self.post_logout_redirect_uris),
            grant_types: list(&self.grant_types),
            response_types: None,
            token_endpoint_auth_method: self.auth_method.clone(),
            scope: self.scope.clone(),
            id_token_signed_response_alg: self.id_token_alg.clone(),
            access_token_signed_response_alg: self.access_token_alg.clone(),
            first_party: self.first_party,
            access_token_format: self.access_token_format.clone(),
        }
    }
}

fn sentence(err: OAuthError) -> anyhow::Error {
    match &err.cause {
        Some(cause) => anyhow::anyhow!("{} ({cause})", err.description),
        None => anyhow::anyhow!("{}", err.description),
    }
}

pub async fn run(config: &Config, action: ClientAction) -> anyhow::Result<()> {
    let (backend, _) = open_for(config, Schema::Migrate).await?;
    let result = match crate::store::command_stores(config, &backend).await {
        Ok(stores) => execute(&stores, action).await,
        Err(err) => Err(err),
    };
    backend.close().await;
    result
}

async fn execute(stores: &keygate_core::store::Stores, action: ClientAction) -> anyhow::Result<()> {
    let store = stores.clients.as_ref();
    let meta = RequestMeta::default();
    let now = SystemClock.now();
    match action {
        ClientAction::Create { metadata, json } => {
            let (client, secret) =
                keygate_core::oauth::create_client(store, &metadata.to_metadata(), ACTOR, &meta, now)
                    .await
                    .map_err(sentence)?;
            print_client(&ClientView::of(&client, secret.as_ref()), json)
        }
        ClientAction::List { json } => {
            let mut all = Vec::new();
            let mut page = PageRequest::first(PageRequest::MAX_LIMIT);
            loop {
                let found = store
                    .list_clients(&page)
                    .await
                    .map_err(|e| anyhow::anyhow!("cannot list clients ({})", chain(&e)))?;
                all.extend(found.items.iter().map(|c| ClientView::of(c, None)));
                match found.next {
                    Some(next) => page = PageRequest::after(next, PageRequest::MAX_LIMIT),
                    None => break,
                }
            }
            if json {
                println!("{}", serde_json::to_string_pretty(&all)?);
            } else {
                let rows: Vec<Vec<String>> = all
                    .iter()
                    .map(|c| {
                        vec![
                            c.client_id.clone(),
                            c.client_name.clone(),
                            c.token_endpoint_auth_method.clone(),
                            c.grant_types.join(","),
                            c.redirect_uris.join(" "),
                        ]
                    })
                    .collect();
                print!(
                    "{}",
                    table(&["CLIENT ID", "NAME", "AUTH", "GRANTS", "REDIRECT URIS"], &rows)
                );
            }
            Ok(())
        }
        ClientAction::Show { client_id, json } => {
            let client = store
                .get_client(&ClientId(client_id.clone()))
                .await
                .map_err(|e| anyhow::anyhow!("cannot read the client ({})", chain(&e)))?
                .ok_or_else(|| anyhow::anyhow!("there is no client `{client_id}`"))?;
            print_client(&ClientView::of(&client, None), json)
        }
        ClientAction::Update {
            client_id,
            metadata,
            json,
        } => {
            let id = ClientId(client_id.clone());
            let mut metadata = metadata.to_metadata();
            metadata.client_id = None;
            let (client, secret) = keygate_core::oauth::update_client(store, &id, &metadata, ACTOR, &meta, now)
                .await
                .map_err(sentence)?
                .ok_or_else(|| anyhow::anyhow!("there is no client `{client_id}`"))?;
            print_client(&ClientView::of(&client, secret.as_ref()), json)
        }
        ClientAction::Delete { client_id, json } => {
            let deleted = keygate_core::oauth::delete_client(store, &ClientId(client_id.clone()), ACTOR, &meta, now)
                .await
                .map_err(sentence)?;
            if !deleted {
                anyhow::bail!("there is no client `{client_id}`");
            }
            if json {
                println!("{}", serde_json::json!({ "deleted": client_id }));
            } else {
                println!("deleted client {client_id}");
            }
            Ok(())
        }
        ClientAction::RotateSecret { client_id, json } => {
            let secret = keygate_core::oauth::rotate_secret(store, &ClientId(client_id.clone()), ACTOR, &meta, now)
                .await
                .map_err(sentence)?
                .ok_or_else(|| anyhow::anyhow!("there is no client `{client_id}`"))?;
            if json {
                println!(
                    "{}",
                    serde_json::json!({ "client_id": client_id, "client_secret": secret.expose() })
                );
            } else {
                println!("new secret of {client_id} (shown only now; the old one no longer works):");
                println!("{}", secret.expose());
            }
            Ok(())
        }
    }
}

fn print_client(view: &ClientView, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(view)?);
        return Ok(());
    }
    let mut rows = vec![
        vec!["client_id".to_owned(), view.client_id.clone()],
        vec!["client_name".to_owned(), view.client_name.clone()],
        vec![
            "token_endpoint_auth_method".to_owned(),
            view.token_endpoint_auth_method.clone(),
        ],
        vec!["grant_types".to_owned(), view.grant_types.join(" ")],
        vec!["redirect_uris".to_owned(), view.redirect_uris.join(" ")],
        vec![
            "post_logout_redirect_uris".to_owned(),
            view.post_logout_redirect_uris.join(" "),
        ],
        vec!["scope".to_owned(), view.scope.clone()],
        vec!["first_party".to_owned(), view.first_party.to_string()],
        vec!["access_token_format".to_owned(), view.access_token_format.clone()],
    ];
    if let Some(secret) = &view.client_secret {
        rows.push(vec!["client_secret".to_owned(), format!("{secret}  (shown only now)")]);
    }
    print!("{}", table(&["FIELD", "VALUE"], &rows));
    Ok(())
}
