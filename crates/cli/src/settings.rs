//! Where things are: data dir, store URL, server URL, token, output format; and logging.

use clap::{Args, ValueEnum};
use std::path::PathBuf;
use tracing_subscriber::EnvFilter;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum OutputFormat {
    #[default]
    Table,
    Json,
}

#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// Data directory of the embedded default (SQLite file, secret key, admin token).
    #[arg(
        long,
        env = "POLYPHEMUS_DATA_DIR",
        default_value = "./polyphemus-data",
        global = true
    )]
    pub data_dir: PathBuf,
    /// Store URL: postgres://… or sqlite://… (default: SQLite in the data dir).
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,
    /// Server URL for client commands.
    #[arg(
        long,
        env = "POLYPHEMUS_URL",
        default_value = "http://127.0.0.1:8080",
        global = true
    )]
    pub url: String,
    /// API token for client commands (default: the admin token file in the data dir).
    #[arg(long, env = "POLYPHEMUS_TOKEN", global = true, hide_env_values = true)]
    pub token: Option<String>,
    /// Base64 of the 32-byte secret key (sealing secrets, signing tokens).
    #[arg(
        long,
        env = "POLYPHEMUS_SECRET_KEY",
        global = true,
        hide_env_values = true,
        hide = true
    )]
    pub secret_key: Option<String>,
    /// Output format of client commands.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table, global = true)]
    pub output: OutputFormat,
}

impl GlobalArgs {
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!("sqlite://{}", self.data_dir.join("polyphemus.db").display()),
        }
    }

    pub fn is_postgres(&self) -> bool {
        self.database_url().starts_with("postgres")
    }

    pub fn admin_token_path(&self) -> PathBuf {
        self.data_dir.join("admin.token")
    }

    pub fn secret_key_path(&self) -> PathBuf {
        self.data_dir.join("secret.key")
    }
}

/// Variables that must not reach workflow steps, which inherit the server's environment.
pub const SERVER_ONLY_VARIABLES: [&str; 4] = [
    "POLYPHEMUS_SECRET_KEY",
    "DATABASE_URL",
    "POLYPHEMUS_TOKEN",
    "POLYPHEMUS_ARGO_TOKEN",
];

/// Drops the server's own secrets from the process environment once clap has read them, so no
/// child process (a workflow step of the local engine) can print them. Call it before any
/// thread starts: changing the environment is only sound while the process has one thread.
pub fn scrub_environment() {
    for name in SERVER_ONLY_VARIABLES {
        std::env::remove_var(name);
    }
}

/// Logs to stderr; `RUST_LOG` overrides the default level (info for the server).
pub fn init_tracing(command: &str) {
    let default = match command {
        "serve" => "info",
        // Seeding 100,000 rows trips sqlx's slow-statement warning; that is expected there.
        "bench" => "error",
        _ => "warn",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
