//! `polyphemus token create|revoke|list`: tokens are minted against the store directly, by
//! whoever can reach the database and the secret key.

use super::{open_services, PackageArgs};
use crate::client_commands::parse_value;
use crate::settings::{GlobalArgs, OutputFormat};
use anyhow::{anyhow, bail};
use clap::Subcommand;
use polyphemus_core::auth::parse_ttl;
use polyphemus_core::{Principal, Services, TaskGrant};
use polyphemus_model::{ConfigId, ProjectName, Role};
use polyphemus_store::TokenRecord;
use serde_json::{json, Value};
use std::collections::BTreeMap;

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it (shown once).
    Create {
        /// Who the token is for (recorded as actor in the event log).
        #[arg(long)]
        name: String,
        /// `task` makes a project task token for workflow steps (read a config's versions and
        /// secrets, write its runs): bound to one config with `--config-id`, or to every
        /// config of the project with `--all-configs`. Argo steps use one.
        #[arg(long, value_parser = ["viewer", "editor", "admin", "task"])]
        role: String,
        /// With `--role task`: the one config (all its versions) the token reaches.
        #[arg(long, value_parser = parse_value::<ConfigId>, conflicts_with = "all_configs")]
        config_id: Option<ConfigId>,
        /// With `--role task`: reach every config of the project, secrets included (what one
        /// Secret shared by all of a namespace's workflows needs).
        #[arg(long)]
        all_configs: bool,
        /// Lifetime: 30d, 12h, 1y …
        #[arg(long, default_value = "90d")]
        ttl: String,
    },
    /// Revoke a token by its id (effective within seconds on every server).
    Revoke { id: String },
    /// List user tokens and project task tokens: ids, names, what they reach, expiry (never the
    /// tokens). The task tokens of single runs are not listed: each ends with its run.
    List,
}

pub async fn token(global: &GlobalArgs, command: TokenCommand) -> anyhow::Result<()> {
    global.require_data_dir()?;
    let services = open_services(global, &PackageArgs::default()).await?;
    match command {
        TokenCommand::Create {
            name,
            role,
            config_id,
            all_configs,
            ttl,
        } => {
            // The global `--project`, here without a default: a token's reach is said aloud.
            let Some(project) = global.project.clone() else {
                bail!("token create needs --project P (or `*` for all projects)");
            };
            let ttl = parse_ttl(&ttl).map_err(|e| anyhow!("--ttl {e}"))?;
            let issued = if role == "task" {
                let grant = task_grant(&services, project, config_id, all_configs).await?;
                services.tokens.issue_task(&name, grant, ttl).await
            } else {
                if config_id.is_some() || all_configs {
                    bail!("--config-id and --all-configs are for --role task only");
                }
                let role: Role = role.parse().map_err(|e| anyhow!("{e}"))?;
                services
                    .tokens
                    .issue_user(&name, BTreeMap::from([(project, role)]), ttl)
                    .await
            }
            .map_err(|e| anyhow!("{e}"))?;
            eprintln!(
                "token id {} for {name}, expires {}",
                issued.id,
                issued.expires_at.to_rfc3339()
            );
            println!("{}", issued.token);
        }
        TokenCommand::Revoke { id } => {
            services
                .tokens
                .revoke(&id)
                .await
                .map_err(|e| anyhow!("{e}"))?;
            println!("revoked {id}");
        }
        TokenCommand::List => {
            let records = services.tokens.list().await?;
            match global.output {
                OutputFormat::Json => {
                    let listed: Vec<Value> = records.iter().map(token_json).collect();
                    println!("{}", serde_json::to_string_pretty(&listed)?);
                }
                OutputFormat::Table => {
                    println!("ID\tNAME\tKIND\tREACHES\tEXPIRES\tSTATE");
                    for record in &records {
                        println!(
                            "{}\t{}\t{}\t{}\t{}\t{}",
                            record.id,
                            record.name,
                            record.kind,
                            reaches(record),
                            record
                                .expires_at
                                .map(|at| at.to_rfc3339())
                                .unwrap_or_default(),
                            state(record)
                        );
                    }
                }
            }
        }
    }
    Ok(())
}

/// A project task token's grant: one project, and one config unless `--all-configs` says
/// every config (a token that reads every config's secrets is never made by default).
async fn task_grant(
    services: &Services,
    project: String,
    config_id: Option<ConfigId>,
    all_configs: bool,
) -> anyhow::Result<TaskGrant> {
    let project = ProjectName::parse(project)
        .map_err(|e| anyhow!("--project: a task token needs one project: {e}"))?;
    let config_id = match (config_id, all_configs) {
        (Some(config_id), _) => {
            // A typo must not make a token that reaches nothing (or a config made later).
            services
                .latest_config(&Principal::system().access(&project), config_id)
                .await
                .map_err(|_| anyhow!("--config-id: project {project} has no config {config_id}"))?;
            Some(config_id)
        }
        (None, true) => None,
        (None, false) => bail!(
            "a task token is bound to one config: give --config-id N, or --all-configs for a \
             token that reads every config of project {project} with its secrets"
        ),
    };
    Ok(TaskGrant {
        project,
        config_id,
        version_number: None,
        run_id: None,
    })
}

/// What a token reaches, in words: user roles per project, or a task token's binding.
fn reaches(record: &TokenRecord) -> String {
    let scope = &record.scope.0;
    if record.kind == "task" {
        let project = scope["project"].as_str().unwrap_or("?");
        let configs = match scope["config_id"].as_i64() {
            Some(id) => match scope["version_number"].as_i64() {
                Some(version) => format!("config {id} v{version}"),
                None => format!("config {id}"),
            },
            None => "all configs".to_owned(),
        };
        return format!("project {project}, {configs}");
    }
    scope["roles"]
        .as_object()
        .map(|roles| {
            roles
                .iter()
                .map(|(project, role)| format!("{project}:{}", role.as_str().unwrap_or("?")))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default()
}

fn state(record: &TokenRecord) -> &'static str {
    if record.revoked_at.is_some() {
        "revoked"
    } else if record.expires_at.is_some_and(|at| at <= chrono::Utc::now()) {
        "expired"
    } else {
        "active"
    }
}

fn token_json(record: &TokenRecord) -> Value {
    json!({
        "id": record.id,
        "name": record.name,
        "kind": record.kind,
        "scope": record.scope.0,
        "reaches": reaches(record),
        "created_at": record.created_at,
        "expires_at": record.expires_at,
        "revoked_at": record.revoked_at,
        "state": state(record),
    })
}
