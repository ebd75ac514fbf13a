//! Where things are: data dir, store URL, server URL, token, output format; and logging.

use clap::{Args, ValueEnum};
use polyphemus_model::ProjectName;
use std::io::IsTerminal;
use std::path::PathBuf;
use tracing_subscriber::EnvFilter;

/// The project of commands not told another.
pub const DEFAULT_PROJECT: &str = "default";

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
    /// Project to work in (default `default`; `token create` needs it given, `*` for all).
    #[arg(long, env = "POLYPHEMUS_PROJECT", global = true, value_parser = parse_project)]
    pub project: Option<String>,
    /// Output format of client commands.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table, global = true)]
    pub output: OutputFormat,
}

/// A project name, or `*` (all projects, for `token create`): a bad one is a usage error.
fn parse_project(text: &str) -> Result<String, String> {
    if text == "*" {
        return Ok(text.to_owned());
    }
    ProjectName::parse(text)
        .map(|name| name.to_string())
        .map_err(|error| error.reason)
}

impl GlobalArgs {
    /// The project `--project` / `POLYPHEMUS_PROJECT` names, `default` when neither does.
    pub fn project(&self) -> anyhow::Result<ProjectName> {
        let name = self.project.as_deref().unwrap_or(DEFAULT_PROJECT);
        ProjectName::parse(name)
            .map_err(|error| anyhow::anyhow!("--project {name:?}: {}", error.reason))
    }

    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!("sqlite://{}", self.data_dir.join("polyphemus.db").display()),
        }
    }

    pub fn is_postgres(&self) -> bool {
        self.database_url().starts_with("postgres")
    }

    /// Commands that only use an existing installation (`token`, `prune`, `scheduler`)
    /// refuse a data dir that is not there rather than start an empty one.
    pub fn require_data_dir(&self) -> anyhow::Result<()> {
        if self.is_postgres() || self.data_dir.is_dir() {
            return Ok(());
        }
        anyhow::bail!(
            "data dir {} does not exist (start `polyphemus serve` there first, or pass \
             --data-dir / POLYPHEMUS_DATA_DIR / DATABASE_URL)",
            self.data_dir.display()
        )
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

/// How the server writes its logs: lines for people, or one JSON object per line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// Logs to stderr; `RUST_LOG` overrides the default level (info for the server). Colour
/// only on a terminal, so logs sent to a file or a collector hold no escape codes.
pub fn init_tracing(command: &str, format: LogFormat) {
    let default = match command {
        "serve" => "info",
        // Seeding 100,000 rows trips sqlx's slow-statement warning; that is expected there.
        "bench" => "error",
        _ => "warn",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().with_ansi(false).try_init(),
        LogFormat::Text => builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
    };
}
