//! `polyphemus submit`: the `argo submit` of Polyphemus. The server submits the workflow to its
//! orchestrator for a stored config version and registers the run under the workflow's uid.

use super::output::{emit, print_json};
use super::watch::watch_run;
use super::Context;
use anyhow::{anyhow, Context as _};
use clap::Args;
use polyphemus_model::{ConfigId, SubmitWorkflow, VersionNumber};
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct SubmitArgs {
    /// The Argo Workflow YAML (`-` reads stdin).
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    file: PathBuf,
    /// `name=value`; `config_id` and `version_number` are required.
    #[arg(short = 'p', long = "parameter", value_name = "NAME=VALUE")]
    parameters: Vec<String>,
    /// Wait until the run ends and show it; exit non-zero unless it succeeded.
    #[arg(long)]
    watch: bool,
}

pub async fn submit(context: &Context, args: SubmitArgs) -> anyhow::Result<()> {
    let mut parameters = BTreeMap::new();
    for raw in &args.parameters {
        let (name, value) = raw
            .split_once('=')
            .ok_or_else(|| anyhow!("-p {raw}: expected NAME=VALUE"))?;
        parameters.insert(name.trim().to_owned(), value.to_owned());
    }
    let config_id: ConfigId = take_number(&mut parameters, "config_id")?;
    let version_number: VersionNumber = take_number(&mut parameters, "version_number")?;
    let workflow_yaml = if args.file.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin()).context("reading the workflow from stdin")?
    } else {
        std::fs::read_to_string(&args.file)
            .with_context(|| format!("reading {}", args.file.display()))?
    };
    let project = &context.project;
    let body = SubmitWorkflow {
        workflow_yaml,
        version_number,
        parameters,
    };
    let run = context
        .client
        .submit_workflow(project, config_id, &body)
        .await?;
    if args.watch {
        emit(&format!("Name: {}\nUID:  {}", run.name, run.run_id))?;
        return watch_run(context, project, &run.run_id, 2).await;
    }
    if context.json() {
        return print_json(&run);
    }
    emit(&format!("Name: {}\nUID:  {}", run.name, run.run_id))
}

fn take_number<T: std::str::FromStr>(
    parameters: &mut BTreeMap<String, String>,
    name: &str,
) -> anyhow::Result<T> {
    let value = parameters
        .remove(name)
        .ok_or_else(|| anyhow!("-p {name}=… is required"))?;
    value
        .trim()
        .parse()
        .map_err(|_| anyhow!("-p {name}={value}: not a number"))
}
