//! A run's whole node logs as one text, read a piece at a time from the orchestrator: the run
//! page's Download and `GET …/logs?download=true`. The output and a follow keep only the end of
//! each log; a download has every byte, and never holds a whole log in memory.

use super::sync::report_from_workflow;
use super::Services;
use crate::orchestrators::{Asked, LogPieces, Orchestrator, OrchestratorError};
use crate::{Access, CoreError};
use futures::stream::{self, BoxStream, StreamExt};
use polyphemus_model::{Role, RunId};
use serde_json::Value;
use std::sync::Arc;

/// The nodes still to read and the one being read.
struct Download {
    orchestrator: Arc<dyn Orchestrator>,
    workflow: Value,
    /// (node id, header label), in the order the nodes started.
    nodes: std::vec::IntoIter<(String, String)>,
    reading: Option<LogPieces>,
}

impl Services {
    /// The run's node logs whole, under a header line `=== node ===` per node that printed
    /// (`node`: that node only, by name or display name). A run the orchestrator no longer
    /// knows answers its stored output.
    pub async fn download_run_logs(
        &self,
        access: &Access,
        run_id: &RunId,
        node: Option<String>,
    ) -> Result<BoxStream<'static, Result<String, CoreError>>, CoreError> {
        let run = self.find_run(access, run_id, Role::Viewer).await?.run;
        let Some(orchestrator) = self.orchestrator.clone() else {
            return Ok(stream::once(async move { Ok(run.output) }).boxed());
        };
        let namespace = orchestrator.namespace().to_owned();
        let workflow = match orchestrator.workflow(&namespace, &run.name).await {
            Ok(workflow) => workflow,
            Err(OrchestratorError::NotFound(_)) => {
                return Ok(stream::once(async move { Ok(run.output) }).boxed())
            }
            Err(error) => return Err(error.into_core(orchestrator.kind(), Asked::Read)),
        };
        let nodes = nodes_in_start_order(&workflow, node.as_deref().filter(|n| !n.is_empty()))?;
        let download = Download {
            orchestrator,
            workflow,
            nodes: nodes.into_iter(),
            reading: None,
        };
        Ok(stream::unfold(Some(download), |download| async move {
            let mut download = download?;
            match download.next_piece().await {
                Ok(Some(piece)) => Some((Ok(piece), Some(download))),
                Ok(None) => None,
                Err(error) => {
                    let error = error.into_core(download.orchestrator.kind(), Asked::Read);
                    Some((Err(error), None))
                }
            }
        })
        .boxed())
    }
}

impl Download {
    /// The next piece of text: the rest of the node being read, else the next node that
    /// printed, its header first.
    async fn next_piece(&mut self) -> Result<Option<String>, OrchestratorError> {
        if let Some(reading) = self.reading.as_mut() {
            match reading.next().await {
                Some(piece) => return piece.map(Some),
                None => self.reading = None,
            }
        }
        for (id, label) in self.nodes.by_ref() {
            let mut pieces = self
                .orchestrator
                .node_log_pieces(&self.workflow, &id)
                .await?;
            // A node that printed nothing gets no header.
            if let Some(first) = pieces.next().await {
                let first = first?;
                self.reading = Some(pieces);
                return Ok(Some(format!("=== {label} ===\n{first}")));
            }
        }
        Ok(None)
    }
}

/// The workflow's nodes (or the one named `wanted`) by start time, with their header label.
fn nodes_in_start_order(
    workflow: &Value,
    wanted: Option<&str>,
) -> Result<Vec<(String, String)>, CoreError> {
    let report = report_from_workflow(workflow)?;
    let mut nodes: Vec<_> = report
        .nodes
        .into_iter()
        .filter(|(_, node)| {
            wanted.is_none_or(|w| node.name == w || node.display_name.as_deref() == Some(w))
        })
        .collect();
    nodes.sort_by(|(a_id, a), (b_id, b)| (a.started_at, a_id).cmp(&(b.started_at, b_id)));
    Ok(nodes
        .into_iter()
        .map(|(id, node)| {
            let label = node.display_name.unwrap_or(node.name);
            (id, label)
        })
        .collect())
}
