//! `polyphemus secrets set|unset`: a config's secrets. Values are read from stdin by default
//! so they stay out of shell history, and are never printed.

use super::input::read_secret;
use super::output::{emit, print_json};
use super::{parse_value, Context};
use clap::{Args, Subcommand};
use polyphemus_model::{ConfigId, SecretsPatch};

#[derive(Debug, Args)]
pub struct SecretsArgs {
    #[command(subcommand)]
    command: SecretsCommand,
}

#[derive(Debug, Subcommand)]
enum SecretsCommand {
    /// Set a secret of a config's latest version (value from stdin when `-` or absent).
    Set {
        /// Config id (the ID column of `polyphemus configs list`).
        #[arg(value_parser = parse_value::<ConfigId>)]
        config_id: ConfigId,
        /// Secret name, one of the workflow manifest's secrets.
        name: String,
        /// The value; `-` or nothing reads it from stdin, keeping it out of shell history.
        #[arg(value_name = "VALUE|-")]
        value: Option<String>,
    },
    /// Remove a secret from a config's latest version.
    Unset {
        /// Config id (the ID column of `polyphemus configs list`).
        #[arg(value_parser = parse_value::<ConfigId>)]
        config_id: ConfigId,
        /// Secret name.
        name: String,
    },
}

pub async fn run(context: &Context, args: SecretsArgs) -> anyhow::Result<()> {
    let project = &context.project;
    let (config_id, name, value) = match args.command {
        SecretsCommand::Set {
            config_id,
            name,
            value,
        } => {
            let value = read_secret(&name, value)?;
            (config_id, name, Some(value))
        }
        SecretsCommand::Unset { config_id, name } => (config_id, name, None),
    };
    let removing = value.is_none();
    let patch = SecretsPatch::from([(name.clone(), value)]);
    let config = context
        .client
        .put_config_secrets(project, config_id, &patch)
        .await?;
    if context.json() {
        return print_json(&config);
    }
    let verb = if removing { "removed from" } else { "set on" };
    emit(&format!(
        "secret {name} {verb} config {} (version {})",
        config.config_id, config.version_number
    ))
}
