//! Commands a workflow step runs inside Argo or the local engine, with the run's task token in
//! `POLYPHEMUS_TOKEN`: today the `onExit` hook `write_run_metadata`.

use crate::settings::GlobalArgs;
use clap::Args;
use polyphemus_model::SyncRunRequest;

#[derive(Debug, Args)]
pub struct WriteRunMetadataArgs {
    /// The run id (the workflow's uid, `{{workflow.uid}}`).
    #[arg(long)]
    pub run_id: String,
    /// The workflow's name (`{{workflow.name}}`); must match the run.
    #[arg(long)]
    pub workflow_name: String,
    /// The workflow's namespace (`{{workflow.namespace}}`).
    #[arg(long)]
    pub namespace: String,
    /// The project of the run.
    #[arg(long, env = "POLYPHEMUS_PROJECT", default_value = "default")]
    pub project: String,
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
