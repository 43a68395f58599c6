//! `keygate stats [--json]`: what the database holds: users, clients, live sessions and tokens,
//! rows per table and the database's size.

use keygate_core::{Clock, SystemClock};

use crate::config::Config;
use crate::output::table;
use crate::store::{chain, open};

pub async fn run(config: &Config, json: bool) -> anyhow::Result<()> {
    let backend = open(config).await?;
    let result = backend.stores().maintenance.stats(SystemClock.now()).await;
    backend.close().await;
    let stats = result.map_err(|e| anyhow::anyhow!("cannot read the statistics ({})", chain(&e)))?;
    if json {
        println!("{:#}", serde_json::to_value(&stats)?);
        return Ok(());
    }
    let mut rows = vec![
        vec!["users".to_owned(), stats.users.to_string()],
        vec!["clients".to_owned(), stats.clients.to_string()],
        vec!["live sessions".to_owned(), stats.live_sessions.to_string()],
        vec!["live refresh tokens".to_owned(), stats.live_refresh_tokens.to_string()],
        vec!["live access tokens".to_owned(), stats.live_access_tokens.to_string()],
        vec![
            "live personal access tokens".to_owned(),
            stats.live_personal_access_tokens.to_string(),
        ],
    ];
    if let Some(bytes) = stats.database_bytes {
        rows.push(vec!["database bytes".to_owned(), bytes.to_string()]);
    }
    print!("{}", table(&["WHAT", "COUNT"], &rows));
    println!();
    let per_table: Vec<Vec<String>> = stats.rows.iter().map(|(t, n)| vec![t.clone(), n.to_string()]).collect();
    print!("{}", table(&["TABLE", "ROWS"], &per_table));
    Ok(())
}
