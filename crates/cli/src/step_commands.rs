//! Commands a workflow step runs inside Argo or the local engine, with the run's task token in
//! `POLYPHEMUS_TOKEN`: `run_job` and the `onExit` hook `write_run_metadata`.

use crate::client_commands::parse_value;
use crate::settings::GlobalArgs;
use clap::Args;
use polyphemus_jobs::{JobContext, JobOutcome, RunTarget};
use polyphemus_model::{
    ConfigId, ProjectName, RegisterRun, RunId, SyncRunRequest, VersionNumber, WorkflowType,
};
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Debug, Args)]
pub struct WriteRunMetadataArgs {
    /// The run id (the workflow's uid, `{{workflow.uid}}`).
    #[arg(long, value_parser = parse_value::<RunId>)]
    pub run_id: RunId,
    /// The workflow's name (`{{workflow.name}}`); must match the run.
    #[arg(long)]
    pub workflow_name: String,
    /// The workflow's namespace (`{{workflow.namespace}}`).
    #[arg(long)]
    pub namespace: String,
    /// The project of the run.
    #[arg(
        long,
        env = "POLYPHEMUS_PROJECT",
        default_value = "default",
        value_parser = parse_value::<ProjectName>
    )]
    pub project: ProjectName,
}

/// Has the server read the workflow's status and logs from the orchestrator and store them
/// as the run's metadata and output.
pub async fn write_run_metadata(
    global: &GlobalArgs,
    args: WriteRunMetadataArgs,
) -> anyhow::Result<()> {
    let client = crate::client_commands::connect(global)?;
    let request = SyncRunRequest {
        workflow_name: Some(args.workflow_name),
        namespace: Some(args.namespace),
    };
    let metadata = client
        .sync_run(&args.project, &args.run_id, &request)
        .await?;
    println!(
        "recorded run {}: {} ({} nodes, {} failed)",
        metadata.run_id,
        metadata.report.phase,
        metadata.report.nodes.len(),
        metadata.failed_nodes.len()
    );
    Ok(())
}

#[derive(Debug, Args)]
pub struct RunJobArgs {
    /// Workflow type (manifest name), e.g. sftp-to-storage.
    #[arg(value_parser = parse_value::<WorkflowType>)]
    pub workflow: WorkflowType,
    /// Job name within the workflow, e.g. notify_webhook.
    pub job: String,
    #[arg(long, value_parser = parse_value::<ConfigId>)]
    pub config_id: ConfigId,
    #[arg(long, value_parser = parse_value::<VersionNumber>)]
    pub version_number: VersionNumber,
    /// The run id (`{{workflow.uid}}`).
    #[arg(long, value_parser = parse_value::<RunId>)]
    pub run_id: RunId,
    /// The project of the run.
    #[arg(
        long,
        env = "POLYPHEMUS_PROJECT",
        default_value = "default",
        value_parser = parse_value::<ProjectName>
    )]
    pub project: ProjectName,
    /// The workflow's name, to register the run if nobody did (`argo submit` straight to Argo).
    #[arg(long)]
    pub workflow_name: Option<String>,
    /// A value for the job from the workflow, e.g. `--arg workflow_status={{workflow.status}}`.
    #[arg(long = "arg", value_name = "NAME=VALUE", value_parser = parse_job_arg)]
    pub args: Vec<(String, String)>,
}

fn parse_job_arg(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name.to_owned(), value.to_owned())),
        _ => Err(format!("expected NAME=VALUE, got {text:?}")),
    }
}

/// Runs one ETL job: pre → process → post. Exit 0 when done or skipped by `pre`, 1 when it
/// failed, 2 for an unknown job.
pub async fn run_job(global: &GlobalArgs, args: RunJobArgs) -> anyhow::Result<ExitCode> {
    // Jobs belong to no workflow: the workflow argument names the caller, for messages.
    let Some(job) = polyphemus_jobs::find_job(&args.job) else {
        eprintln!(
            "error: there is no job {} (workflow {}; the jobs: {})",
            args.job,
            args.workflow,
            polyphemus_jobs::job_names().join(", ")
        );
        return Ok(ExitCode::from(2));
    };
    let client = crate::client_commands::connect(global)?;
    let target = RunTarget {
        project: args.project,
        config_id: args.config_id,
        version_number: args.version_number,
        run_id: args.run_id,
    };
    ensure_registered(&client, &target, args.workflow_name.as_deref()).await?;
    let (cancel, cancelled) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        terminated().await;
        let _ = cancel.send(true);
    });
    let mut context = JobContext::load(Arc::new(client), target, job.name(), cancelled).await?;
    context.args = args.args.into_iter().collect();
    match polyphemus_jobs::run_job(job.as_ref(), &mut context).await {
        JobOutcome::Done => Ok(ExitCode::SUCCESS),
        JobOutcome::Skipped => {
            eprintln!("{}: skipped by pre", job.name());
            Ok(ExitCode::SUCCESS)
        }
        JobOutcome::Failed(why) => {
            eprintln!("error: {} failed: {why}", job.name());
            Ok(ExitCode::from(1))
        }
    }
}

/// Registers the run unless it exists (registration is idempotent on the server).
async fn ensure_registered(
    client: &polyphemus_client::Client,
    target: &RunTarget,
    workflow_name: Option<&str>,
) -> anyhow::Result<()> {
    match client.get_run(&target.project, &target.run_id).await {
        Ok(_) => Ok(()),
        Err(polyphemus_client::Error::Api { status: 404, .. }) => {
            let body = RegisterRun {
                run_id: target.run_id.clone(),
                name: workflow_name.unwrap_or(target.run_id.as_str()).to_owned(),
                config_id: target.config_id,
                version_number: target.version_number,
            };
            client.register_run(&target.project, &body).await?;
            Ok(())
        }
        Err(error) => Err(error.into()),
    }
}

async fn terminated() {
    #[cfg(unix)]
    if let Ok(mut signal) =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
    {
        signal.recv().await;
        return;
    }
    std::future::pending::<()>().await;
}
