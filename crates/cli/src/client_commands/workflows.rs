//! `polyphemus workflows list|show NAME|check NAME|reload`: the workflow manifests the server
//! knows, the configs a changed package broke, and re-reading the packages (`validate` and
//! `export` work on package directories without a server: [`super::packages`]).

use super::output::{emit, format_json, new_details, new_table, print_json, print_table};
use super::{parse_value, Context};
use clap::Subcommand;
use polyphemus_model::{SecretSpec, WorkflowType};
use serde_json::Value;
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub enum WorkflowsCommand {
    /// List every workflow manifest.
    List,
    /// Show one manifest: its config fields, secrets and an example config.
    Show {
        /// Manifest name, e.g. sftp-to-storage.
        #[arg(value_parser = parse_value::<WorkflowType>)]
        name: WorkflowType,
    },
    /// List the configs whose latest version the workflow's current config schema refuses
    /// (they cannot be launched until changed); exits 1 if there are any.
    Check {
        #[arg(value_parser = parse_value::<WorkflowType>)]
        name: WorkflowType,
    },
    /// Have the server re-read its workflow package directories (global admin); an invalid set
    /// is refused, every problem listed, and the loaded packages stay.
    Reload,
    /// Check workflow packages without a server; lists every problem and exits 1 if any.
    Validate {
        /// A package directory (holding manifest.yaml), or a directory of packages.
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
    },
    /// Write each package's workflow as an Argo WorkflowTemplate (for deploy/), no server needed.
    Export {
        /// The directory to write `<name>.yaml` into.
        #[arg(long, value_name = "DIR")]
        argo: PathBuf,
        /// Packages beyond the built-in ones, as for `serve`.
        #[arg(
            long = "workflows-dir",
            env = "POLYPHEMUS_WORKFLOWS_DIR",
            value_delimiter = ':'
        )]
        workflows_dirs: Vec<PathBuf>,
    },
}

pub async fn run(context: &Context, command: WorkflowsCommand) -> anyhow::Result<()> {
    match command {
        WorkflowsCommand::List => list_workflows(context).await,
        WorkflowsCommand::Show { name } => show_workflow(context, &name).await,
        WorkflowsCommand::Check { name } => check_workflow(context, &name).await,
        WorkflowsCommand::Reload => reload_workflows(context).await,
        // Handled before connecting (`packages::run_local`): they need no server.
        WorkflowsCommand::Validate { .. } | WorkflowsCommand::Export { .. } => Ok(()),
    }
}

async fn list_workflows(context: &Context) -> anyhow::Result<()> {
    let manifests = context.client.list_workflows().await?;
    if context.json() {
        return print_json(&manifests);
    }
    let mut table = new_table(["NAME", "SECRETS", "DESCRIPTION"]);
    for manifest in &manifests {
        table.add_row([
            manifest.name.to_string(),
            join_names(&manifest.secrets),
            manifest.description.clone(),
        ]);
    }
    print_table(&table)
}

async fn check_workflow(context: &Context, name: &WorkflowType) -> anyhow::Result<()> {
    let detail = context.client.get_workflow(name).await?;
    let broken = &detail.broken_configs;
    if context.json() {
        print_json(broken)?;
    } else if broken.is_empty() {
        return emit(&format!(
            "every config of {name} matches its config schema ({})",
            detail.manifest.digest
        ));
    } else {
        let mut table = new_table(["PROJECT", "CONFIG", "VERSION", "NAME", "FIELD", "ERROR"]);
        for config in broken {
            for error in &config.errors {
                table.add_row([
                    config.project_name.to_string(),
                    config.config_id.to_string(),
                    config.version_number.to_string(),
                    config.workflow_name.clone(),
                    error.pointer.clone(),
                    error.message.clone(),
                ]);
            }
        }
        print_table(&table)?;
    }
    if broken.is_empty() {
        return Ok(());
    }
    anyhow::bail!(
        "{} config(s) of {name} no longer match its config schema and cannot be launched until changed",
        broken.len()
    )
}

async fn reload_workflows(context: &Context) -> anyhow::Result<()> {
    let reloaded = context.client.reload_workflows().await?;
    if context.json() {
        return print_json(&reloaded);
    }
    let mut table = new_table(["NAME", "CHANGE", "BROKEN CONFIGS", "SOURCE", "DIGEST"]);
    for workflow in &reloaded.workflows {
        table.add_row([
            workflow.name.to_string(),
            workflow.change.as_str().to_owned(),
            workflow.broken_configs.to_string(),
            workflow.source.clone(),
            workflow.digest.clone(),
        ]);
    }
    print_table(&table)?;
    for name in &reloaded.removed {
        emit(&format!("removed: {name} (its configs cannot be launched)"))?;
    }
    Ok(())
}

async fn show_workflow(context: &Context, name: &WorkflowType) -> anyhow::Result<()> {
    let detail = context.client.get_workflow(name).await?;
    if context.json() {
        return print_json(&detail);
    }
    let manifest = &detail.manifest;
    let mut details = new_details();
    details.add_row(["name", manifest.name.as_str()]);
    details.add_row(["description", &manifest.description]);
    details.add_row(["secrets", &join_names(&manifest.secrets)]);
    details.add_row(["workflow file", &manifest.workflow_file]);
    details.add_row(["source", &manifest.source]);
    details.add_row(["digest", &manifest.digest]);
    if !detail.broken_configs.is_empty() {
        let count = detail.broken_configs.len().to_string();
        details.add_row([
            "broken configs",
            &format!("{count} (polyphemus workflows check {name})"),
        ]);
    }
    print_table(&details)?;
    emit("\nconfig fields:")?;
    print_table(&build_fields_table(&manifest.config_schema))?;
    if has_properties(&manifest.runtime_params_schema) {
        emit("\nruntime params:")?;
        print_table(&build_fields_table(&manifest.runtime_params_schema))?;
    }
    emit("\nexample config:")?;
    emit(&format_json(&manifest.example_config))
}

fn has_properties(schema: &Value) -> bool {
    schema
        .get("properties")
        .and_then(Value::as_object)
        .is_some_and(|p| !p.is_empty())
}

/// One row per top-level property of a JSON Schema: name, type, required, description.
fn build_fields_table(schema: &Value) -> comfy_table::Table {
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|names| names.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut table = new_table(["FIELD", "TYPE", "REQUIRED", "DEFAULT", "DESCRIPTION"]);
    if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
        for (name, property) in properties {
            let text = |key: &str| {
                property
                    .get(key)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned()
            };
            let description = match (text("title"), text("description")) {
                (title, description) if description.is_empty() => title,
                (title, description) if title.is_empty() => description,
                (title, description) => format!("{title}: {description}"),
            };
            let kind = match property.get("type") {
                Some(Value::String(kind)) => kind.clone(),
                Some(other) => other.to_string(),
                None => "any".to_owned(),
            };
            let default = property
                .get("default")
                .map(Value::to_string)
                .unwrap_or_default();
            let is_required = if required.contains(&name.as_str()) {
                "yes"
            } else {
                ""
            };
            table.add_row([
                name.clone(),
                kind,
                is_required.to_owned(),
                default,
                description,
            ]);
        }
    }
    table
}

fn join_names(secrets: &[SecretSpec]) -> String {
    secrets
        .iter()
        .map(|secret| secret.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}
