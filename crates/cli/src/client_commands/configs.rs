//! `polyphemus configs list|show|create|update|versions|diff|restore|archive|unarchive`:
//! versioned configs.

use super::input::read_json;
use super::output::{
    emit, format_json, format_or_dash, format_time, hint, new_details, new_table, print_json,
    print_table,
};
use super::{config_lifecycle, diff, parse_value, Context};
use clap::{ArgGroup, Args, Subcommand};
use polyphemus_client::ListConfigs;
use polyphemus_model::{
    ChangeOutcome, Config, ConfigId, CreateConfig, PatchConfig, ProjectName, VersionNumber,
    WorkflowType,
};
use std::collections::BTreeMap;

#[derive(Debug, Args)]
pub struct ConfigsArgs {
    #[command(subcommand)]
    command: ConfigsCommand,
}

#[derive(Debug, Subcommand)]
enum ConfigsCommand {
    /// List the latest version of each config.
    List {
        /// Only configs of this workflow type (manifest name).
        #[arg(long, value_parser = parse_value::<WorkflowType>)]
        workflow_type: Option<WorkflowType>,
        /// Every page, not only the first 50 configs.
        #[arg(long)]
        all: bool,
    },
    /// Show a config (latest version unless --version is given).
    Show {
        /// Config id (the ID column of `polyphemus configs list`).
        #[arg(value_parser = parse_value::<ConfigId>)]
        config_id: ConfigId,
        /// Version number to show.
        #[arg(long, value_parser = parse_value::<VersionNumber>)]
        version: Option<VersionNumber>,
    },
    /// Create version 1 of a new config from JSON.
    Create {
        /// Workflow type (manifest name), e.g. sftp-to-storage.
        #[arg(long, value_parser = parse_value::<WorkflowType>)]
        workflow_type: WorkflowType,
        /// Your label for this config.
        #[arg(long)]
        name: String,
        /// JSON file with the config values, or `-` for stdin.
        #[arg(long, value_name = "FILE|-")]
        config: String,
        /// Why this config exists.
        #[arg(long)]
        comment: Option<String>,
    },
    /// Update a config: new values make version N+1; name or comment alone change it in place.
    #[command(group(ArgGroup::new("change").required(true).multiple(true)
        .args(["config", "name", "comment"])))]
    Update {
        /// Config id (the ID column of `polyphemus configs list`).
        #[arg(value_parser = parse_value::<ConfigId>)]
        config_id: ConfigId,
        /// JSON file with the new config values, or `-` for stdin.
        #[arg(long, value_name = "FILE|-")]
        config: Option<String>,
        /// New label.
        #[arg(long)]
        name: Option<String>,
        /// Comment of the change.
        #[arg(long)]
        comment: Option<String>,
        /// Fail with 409 unless this is still the latest version (safe concurrent edits).
        #[arg(long, value_parser = parse_value::<VersionNumber>)]
        expected_version: Option<VersionNumber>,
    },
    /// List the versions of a config, oldest first.
    Versions {
        /// Config id (the ID column of `polyphemus configs list`).
        #[arg(value_parser = parse_value::<ConfigId>)]
        config_id: ConfigId,
    },
    /// Show what changed in a config between two versions, as a unified diff.
    Diff {
        /// Config id (the ID column of `polyphemus configs list`).
        #[arg(value_parser = parse_value::<ConfigId>)]
        config_id: ConfigId,
        /// The older version.
        #[arg(value_parser = parse_value::<VersionNumber>)]
        from_version: VersionNumber,
        /// The newer version.
        #[arg(value_parser = parse_value::<VersionNumber>)]
        to_version: VersionNumber,
    },
    /// Make version N+1 with the config of an older version (secrets stay as they are).
    Restore {
        /// Config id (the ID column of `polyphemus configs list`).
        #[arg(value_parser = parse_value::<ConfigId>)]
        config_id: ConfigId,
        /// The version whose config to restore.
        #[arg(value_parser = parse_value::<VersionNumber>)]
        version: VersionNumber,
    },
    /// Archive a config: hidden from status, schedule off, not launched; history kept.
    Archive {
        /// Config id (the ID column of `polyphemus configs list`).
        #[arg(value_parser = parse_value::<ConfigId>)]
        config_id: ConfigId,
    },
    /// Bring an archived config back.
    Unarchive {
        /// Config id (the ID column of `polyphemus configs list`).
        #[arg(value_parser = parse_value::<ConfigId>)]
        config_id: ConfigId,
    },
}

pub async fn run(context: &Context, args: ConfigsArgs) -> anyhow::Result<()> {
    let project = &context.project;
    match args.command {
        ConfigsCommand::List { workflow_type, all } => {
            list_configs(context, project, workflow_type, all).await
        }
        ConfigsCommand::Show { config_id, version } => {
            show_config(context, project, config_id, version).await
        }
        ConfigsCommand::Create {
            workflow_type,
            name,
            config,
            comment,
        } => {
            let body = CreateConfig {
                workflow_type,
                workflow_name: name,
                config: read_json(&config, "--config")?,
                secrets: BTreeMap::new(),
                comment,
            };
            create_config(context, project, &body).await
        }
        ConfigsCommand::Update {
            config_id,
            config,
            name,
            comment,
            expected_version,
        } => {
            let body = PatchConfig {
                config: config.map(|c| read_json(&c, "--config")).transpose()?,
                workflow_name: name,
                comment,
                expected_version,
            };
            update_config(context, project, config_id, &body).await
        }
        ConfigsCommand::Versions { config_id } => list_versions(context, project, config_id).await,
        ConfigsCommand::Diff {
            config_id,
            from_version,
            to_version,
        } => diff::diff_versions(context, project, config_id, from_version, to_version).await,
        ConfigsCommand::Restore { config_id, version } => {
            config_lifecycle::restore(context, config_id, version).await
        }
        ConfigsCommand::Archive { config_id } => {
            config_lifecycle::set_archived(context, config_id, true).await
        }
        ConfigsCommand::Unarchive { config_id } => {
            config_lifecycle::set_archived(context, config_id, false).await
        }
    }
}

async fn list_configs(
    context: &Context,
    project: &ProjectName,
    workflow_type: Option<WorkflowType>,
    all: bool,
) -> anyhow::Result<()> {
    let configs = if all {
        context
            .client
            .list_all_configs(project, workflow_type.as_ref())
            .await?
    } else {
        let query = ListConfigs {
            workflow_type,
            ..Default::default()
        };
        let page = context.client.list_configs(project, &query).await?;
        if page.next_cursor.is_some() {
            hint("more configs: list them all with --all");
        }
        page.items
    };
    if context.json() {
        return print_json(&configs);
    }
    if configs.is_empty() {
        hint(&format!("no configs in project {project}"));
        return Ok(());
    }
    let mut table = new_table(["ID", "VERSION", "TYPE", "NAME", "UPDATED", "COMMENT"]);
    for config in &configs {
        table.add_row([
            config.config_id.to_string(),
            config.version_number.to_string(),
            config.workflow_type.to_string(),
            config.workflow_name.clone(),
            format_time(Some(config.updated_at)),
            format_or_dash(config.comment.as_deref()),
        ]);
    }
    print_table(&table)
}

async fn show_config(
    context: &Context,
    project: &ProjectName,
    config_id: ConfigId,
    version: Option<VersionNumber>,
) -> anyhow::Result<()> {
    let config = match version {
        Some(version) => {
            context
                .client
                .get_config_version(project, config_id, version)
                .await?
        }
        None => context.client.get_config(project, config_id).await?,
    };
    if context.json() {
        return print_json(&config);
    }
    print_config(&config)
}

/// A config's fields as a table, then its values as pretty JSON. Secrets show as `***`.
fn print_config(config: &Config) -> anyhow::Result<()> {
    let secrets = if config.secrets.is_empty() {
        "-".to_owned()
    } else {
        config
            .secrets
            .iter()
            .map(|(name, value)| format!("{name}: {value}"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let mut details = new_details();
    details.add_row(["config id", &config.config_id.to_string()]);
    details.add_row(["version", &config.version_number.to_string()]);
    details.add_row(["row id", &config.id.to_string()]);
    details.add_row(["project", config.project_name.as_str()]);
    details.add_row(["workflow type", config.workflow_type.as_str()]);
    details.add_row(["name", &config.workflow_name]);
    details.add_row(["comment", &format_or_dash(config.comment.as_deref())]);
    details.add_row(["secrets", &secrets]);
    details.add_row(["created", &format_time(Some(config.created_at))]);
    details.add_row(["updated", &format_time(Some(config.updated_at))]);
    print_table(&details)?;
    emit("\nconfig:")?;
    emit(&format_json(&config.config))
}

async fn create_config(
    context: &Context,
    project: &ProjectName,
    body: &CreateConfig,
) -> anyhow::Result<()> {
    let config = context.client.create_config(project, body).await?;
    if context.json() {
        return print_json(&config);
    }
    emit(&format!(
        "created config {} version {} ({}, {:?}) in project {}",
        config.config_id,
        config.version_number,
        config.workflow_type,
        config.workflow_name,
        config.project_name
    ))
}

async fn update_config(
    context: &Context,
    project: &ProjectName,
    config_id: ConfigId,
    body: &PatchConfig,
) -> anyhow::Result<()> {
    let (config, change) = context
        .client
        .patch_config(project, config_id, body)
        .await?;
    if context.json() {
        return print_json(&config);
    }
    emit(&match change {
        ChangeOutcome::NewVersion => format!(
            "config {}: created version {}",
            config.config_id, config.version_number
        ),
        ChangeOutcome::UpdatedInPlace => format!(
            "config {}: version {} updated in place (config values unchanged, no new version)",
            config.config_id, config.version_number
        ),
    })
}

async fn list_versions(
    context: &Context,
    project: &ProjectName,
    config_id: ConfigId,
) -> anyhow::Result<()> {
    let versions = context
        .client
        .list_config_versions(project, config_id)
        .await?;
    if context.json() {
        return print_json(&versions);
    }
    let mut table = new_table(["VERSION", "ROW ID", "CREATED", "COMMENT"]);
    for version in &versions {
        table.add_row([
            version.version_number.to_string(),
            version.id.to_string(),
            format_time(Some(version.created_at)),
            format_or_dash(version.comment.as_deref()),
        ]);
    }
    print_table(&table)
}
