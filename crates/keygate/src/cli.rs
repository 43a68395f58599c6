//! The command line: `keygate serve | migrate | user | client | keys | admin-token | cleanup |
//! stats | copy-storage | export | import | backup | check-config`, and how errors reach the user
//! (`error: <one sentence>` on stderr, exit status 1, never a stack trace).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::config::{Config, Loaded, Overrides, Sources};

#[derive(Debug, Parser)]
#[command(
    name = "keygate",
    version,
    about = "An OAuth 2.1 authorization server and OpenID Connect provider."
)]
pub struct Cli {
    /// Configuration file (default: ./keygate.toml when present).
    #[arg(long, global = true, env = "KEYGATE_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Database URL: memory:, sqlite://PATH or postgres://USER@HOST/DB (overrides KEYGATE_DATABASE_URL).
    #[arg(long, global = true, value_name = "URL")]
    pub database_url: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server.
    Serve(ServeArgs),
    /// Apply, revert or list database migrations.
    Migrate {
        #[command(subcommand)]
        action: MigrateAction,
    },
    /// Create, list, deactivate, activate or erase user accounts, or set a password.
    User {
        #[command(subcommand)]
        action: crate::user_cmd::UserAction,
    },
    /// Manage OAuth clients.
    Client {
        #[command(subcommand)]
        action: Box<crate::client_cmd::ClientAction>,
    },
    /// List or rotate the signing keys.
    Keys {
        #[command(subcommand)]
        action: crate::keys_cmd::KeysAction,
    },
    /// Create admin API tokens.
    AdminToken {
        #[command(subcommand)]
        action: crate::admin_token_cmd::AdminTokenAction,
    },
    /// Delete expired records and audit events past retention once (the janitor's purge).
    Cleanup {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show counts of users, clients, live sessions and tokens, rows per table and the database size.
    Stats {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Copy every record from one database to another (SQLite <-> PostgreSQL), verified.
    CopyStorage(crate::copy_storage_cmd::CopyArgs),
    /// Write every record of the database to a versioned JSON-lines file.
    Export(crate::export_cmd::ExportArgs),
    /// Load an export file into the database, all or nothing.
    Import(crate::import_cmd::ImportArgs),
    /// Take a consistent online backup (SQLite: VACUUM INTO; PostgreSQL: an export file).
    Backup(crate::backup_cmd::BackupArgs),
    /// Print the effective configuration (secrets redacted) and check it.
    CheckConfig {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (overrides KEYGATE_BIND); port 0 picks a free port.
    #[arg(long, value_name = "ADDR")]
    pub bind: Option<String>,
    /// Issuer URL (overrides KEYGATE_ISSUER).
    #[arg(long, value_name = "URL")]
    pub issuer: Option<String>,
    /// Do not migrate on start; refuse to start if the schema is behind.
    #[arg(long)]
    pub no_migrate: bool,
    /// Also create (once) a demo user and a demo client, and print how to sign in with them.
    #[arg(long)]
    pub demo: bool,
}

#[derive(Debug, Subcommand)]
pub enum MigrateAction {
    /// Apply every pending migration.
    Up {
        #[arg(long)]
        json: bool,
    },
    /// Revert the last N applied migrations (default 1).
    Down {
        #[arg(default_value_t = 1)]
        steps: u32,
        #[arg(long)]
        json: bool,
    },
    /// List migrations and whether each is applied.
    Status {
        #[arg(long)]
        json: bool,
    },
}

/// Parses the command line, runs the command and turns any error into one line on stderr.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let sentence = format!("{err:#}").replace('\n', " ");
            eprintln!("error: {sentence}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let mut overrides = Overrides {
        database_url: cli.database_url.clone(),
        ..Overrides::default()
    };
    if let Command::Serve(args) = &cli.command {
        overrides.bind = args.bind.clone();
        overrides.issuer = args.issuer.clone();
    }
    let loaded = load(&cli, overrides)?;
    match cli.command {
        Command::CheckConfig { json } => crate::check_config::run(&loaded, json),
        Command::Serve(args) => {
            crate::logging::init(&loaded)?;
            runtime()?.block_on(crate::serve::run(loaded.config, args.no_migrate, args.demo))
        }
        Command::Migrate { action } => {
            crate::logging::init(&loaded)?;
            runtime()?.block_on(crate::migrate::run(&loaded.config, action))
        }
        Command::Client { action } => runtime()?.block_on(crate::client_cmd::run(&loaded.config, *action)),
        Command::Keys { action } => runtime()?.block_on(crate::keys_cmd::run(&loaded.config, action)),
        Command::AdminToken { action } => runtime()?.block_on(crate::admin_token_cmd::run(&loaded.config, action)),
        Command::Cleanup { json } => {
            crate::logging::init(&loaded)?;
            runtime()?.block_on(crate::cleanup::run(&loaded.config, json))
        }
        Command::Stats { json } => runtime()?.block_on(crate::stats_cmd::run(&loaded.config, json)),
        Command::CopyStorage(args) => runtime()?.block_on(crate::copy_storage_cmd::run(&loaded.config, args)),
        Command::Export(args) => runtime()?.block_on(crate::export_cmd::run(&loaded.config, args)),
        Command::Import(args) => runtime()?.block_on(crate::import_cmd::run(&loaded.config, args)),
        Command::Backup(args) => runtime()?.block_on(crate::backup_cmd::run(&loaded.config, args)),
        Command::User { action } => {
            crate::logging::init(&loaded)?;
            runtime()?.block_on(crate::user_cmd::run(&loaded.config, action))
        }
    }
}

fn load(cli: &Cli, overrides: Overrides) -> anyhow::Result<Loaded> {
    Ok(Config::load(&Sources::from_process(cli.config.clone(), overrides))?)
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| anyhow::anyhow!("cannot start the async runtime ({e})"))
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// clap checks a command's definition only when it is parsed (and only in debug builds);
    /// this checks every subcommand at once, so a clash such as two arguments with one id fails
    /// here rather than in a user's `keygate client update`.
    #[test]
    fn every_subcommand_is_well_formed() {
        super::Cli::command().debug_assert();
    }
}
