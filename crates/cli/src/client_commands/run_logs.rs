//! `polyphemus runs logs RUN --follow [--node NAME]`: a run's node logs as its steps print
//! them, until the run ends.

use super::Context;
use anyhow::Context as _;
use polyphemus_model::{ProjectName, RunId};
use std::io::Write;

/// Prints the run's node logs (one node's with `node`) as they come; returns once the server
/// ends the answer (with `follow`, when the run has ended).
pub async fn print_node_logs(
    context: &Context,
    project: &ProjectName,
    run_id: &RunId,
    node: Option<&str>,
    follow: bool,
) -> anyhow::Result<()> {
    // The server resolves a workflow name or uid prefix.
    let run = context.client.get_run(project, run_id).await?;
    let mut logs = context
        .client
        .run_logs(project, &run.run_id, node, follow)
        .await?;
    while let Some(piece) = logs.next_piece().await? {
        let mut stdout = std::io::stdout().lock();
        match stdout
            .write_all(piece.as_bytes())
            .and_then(|()| stdout.flush())
        {
            // `| head`: the reader has what it wanted.
            Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => return Ok(()),
            other => other.context("writing to stdout")?,
        }
    }
    Ok(())
}
