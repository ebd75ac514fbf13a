//! Commands a workflow step runs inside Argo or the local engine, with the run's task token in
//! `POLYPHEMUS_TOKEN`: `run_job` and the `onExit` hook `write_run_metadata`.

use crate::client_commands::parse_value;
use crate::settings::GlobalArgs;
use clap::Args;
use polyphemus_jobs::{FailureKind, JobContext, JobError, JobFailure, JobOutcome, RunTarget};
use polyphemus_model::{ConfigId, RegisterRun, RunId, SyncRunRequest, VersionNumber, WorkflowType};
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
}

/// Has the server read the workflow's status and logs from the orchestrator and store them
/// as the run's metadata and output. A refusal of the server (4xx but 408/429) exits with
/// [`polyphemus_jobs::PERMANENT_EXIT_CODE`], so the exit handler does not retry it; other failures exit 1.
pub async fn write_run_metadata(
    global: &GlobalArgs,
    args: WriteRunMetadataArgs,
) -> anyhow::Result<ExitCode> {
    let client = crate::client_commands::connect(global)?;
    let request = SyncRunRequest {
        workflow_name: Some(args.workflow_name),
        namespace: Some(args.namespace),
    };
    let project = global.project()?;
    let metadata = match client.sync_run(&project, &args.run_id, &request).await {
        Ok(metadata) => metadata,
        Err(error) => {
            let kind = FailureKind::of_client(&error);
            eprintln!("error: {kind}: {error}");
            return Ok(ExitCode::from(kind.exit_code()));
        }
    };
    println!(
        "recorded run {}: {} ({} nodes, {} failed)",
        metadata.run_id,
        metadata.report.phase,
        metadata.report.nodes.len(),
        metadata.failed_nodes.len()
    );
    Ok(ExitCode::SUCCESS)
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

/// Runs one ETL job: pre → process → post. Exits 0 when done or skipped by `pre`, else with
/// the failure's exit code: [`polyphemus_jobs::PERMANENT_EXIT_CODE`] (78) when another
/// attempt cannot help (bad config or secret, refused credentials, a 4xx from the API, an
/// unknown job), [`polyphemus_jobs::TRANSIENT_EXIT_CODE`] (1) when it may; the workflow's
/// `retryStrategy.expression` reads it.
pub async fn run_job(global: &GlobalArgs, args: RunJobArgs) -> anyhow::Result<ExitCode> {
    // Jobs belong to no workflow: the workflow argument names the caller, for messages.
    let Some(job) = polyphemus_jobs::find_job(&args.job) else {
        let unknown = JobError::Permanent(format!(
            "there is no job {} (workflow {}; the jobs: {})",
            args.job,
            args.workflow,
            polyphemus_jobs::job_names().join(", ")
        ));
        return Ok(report_failure(&args.job, &JobFailure::from(&unknown)));
    };
    let outcome = match load_context(global, args, job.name()).await {
        Ok(mut context) => polyphemus_jobs::run_job(job.as_ref(), &mut context).await,
        Err(error) => JobOutcome::Failed(JobFailure::from(&error)),
    };
    Ok(match outcome {
        JobOutcome::Done => ExitCode::SUCCESS,
        JobOutcome::Skipped => {
            eprintln!("{}: skipped by pre", job.name());
            ExitCode::SUCCESS
        }
        JobOutcome::Failed(failure) => report_failure(job.name(), &failure),
    })
}

/// `error: <job> failed: permanent: …` (or `transient, may be retried: …`), and its exit code.
fn report_failure(job: &str, failure: &JobFailure) -> ExitCode {
    eprintln!("error: {job} failed: {failure}");
    ExitCode::from(failure.kind.exit_code())
}

/// The job's context: the run registered, its config and secrets loaded, SIGTERM watched.
async fn load_context(
    global: &GlobalArgs,
    args: RunJobArgs,
    job: &str,
) -> Result<JobContext, JobError> {
    // The step's URL and token come from its environment, which another attempt shares.
    let client = crate::client_commands::connect(global)
        .map_err(|error| JobError::Permanent(format!("{error:#}")))?;
    let project = global
        .project()
        .map_err(|error| JobError::Permanent(format!("{error:#}")))?;
    let target = RunTarget {
        project,
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
    let mut context = JobContext::load(Arc::new(client), target, job, cancelled).await?;
    context.args = args.args.into_iter().collect();
    Ok(context)
}

/// Registers the run unless it exists (registration is idempotent on the server).
async fn ensure_registered(
    client: &polyphemus_client::Client,
    target: &RunTarget,
    workflow_name: Option<&str>,
) -> Result<(), JobError> {
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
