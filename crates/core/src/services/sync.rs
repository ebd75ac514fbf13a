//! Recording what the orchestrator says about a run: its Argo-shaped status becomes run
//! metadata, its node logs become the run's output. This is what the `onExit` hook asks for.

use super::Services;
use crate::orchestrators::{Asked, NodeLog, OrchestratorError};
use crate::{Access, CoreError};
use chrono::{DateTime, Utc};
use polyphemus_model::text::{scrub, scrub_owned};
use polyphemus_model::{NodeReport, Role, RunId, RunMetadata, RunPhase, RunStatusReport};
use serde_json::Value;
use std::collections::BTreeMap;

impl Services {
    /// Reads the run's workflow from the orchestrator and stores its status as run metadata
    /// and, when final, its node logs as the run's output after what the jobs appended. The run
    /// is read once, its metadata written once.
    pub async fn sync_run_from_orchestrator(
        &self,
        access: &Access,
        run_id: &RunId,
        workflow_name: Option<&str>,
        namespace: Option<&str>,
    ) -> Result<RunMetadata, CoreError> {
        let orchestrator = self.require_orchestrator()?;
        let run = self.visible_run(access, run_id, Role::Editor).await?.run;
        if let Some(name) = workflow_name.filter(|name| *name != run.name) {
            return Err(CoreError::Conflict(format!(
                "run {run_id} is workflow {}, not {name}",
                run.name
            )));
        }
        let namespace = namespace.unwrap_or(orchestrator.namespace());
        let unavailable =
            |error: OrchestratorError| error.into_core(orchestrator.kind(), Asked::Read);
        let workflow = orchestrator
            .workflow(namespace, &run.name)
            .await
            .map_err(unavailable)?;
        let report = report_from_workflow(&workflow)?;
        let logs = orchestrator
            .logs(namespace, &run.name, self.log_tail_per_node(&report))
            .await
            .map_err(unavailable)?;
        let output = output_from_logs(&report, &logs);
        drop(logs);
        // Output and metadata in one transaction: whoever sees the final metadata also sees
        // the final output. This is the one write of output a run that ended still takes.
        self.store_run_metadata(access, run_id, &report, Some(output))
            .await
    }
}

/// Argo's Workflow object → the metadata report. While the exit handler runs, the workflow is
/// still `Running`; its outcome is then the root node's phase (what `{{workflow.status}}` says).
pub fn report_from_workflow(workflow: &Value) -> Result<RunStatusReport, CoreError> {
    let malformed =
        |what: &str| CoreError::Internal(format!("orchestrator answered without {what}"));
    let name = workflow["metadata"]["name"]
        .as_str()
        .ok_or_else(|| malformed("metadata.name"))?;
    let status = &workflow["status"];
    let nodes_json = status["nodes"].as_object().cloned().unwrap_or_default();
    let mut nodes = BTreeMap::new();
    for (id, node) in &nodes_json {
        let retries = (node["type"] == "Retry")
            .then(|| node["children"].as_array().map_or(0, Vec::len))
            .map(|attempts| i32::try_from(attempts.saturating_sub(1)).unwrap_or(i32::MAX));
        nodes.insert(
            scrub_owned(id.clone()),
            NodeReport {
                name: text(&node["name"]).unwrap_or_else(|| scrub_owned(id.clone())),
                display_name: text(&node["displayName"]),
                node_type: text(&node["type"]).unwrap_or_else(|| "Pod".into()),
                phase: phase_of(&node["phase"])?,
                started_at: time(&node["startedAt"]),
                finished_at: time(&node["finishedAt"]),
                message: text(&node["message"]),
                retries,
                children: node["children"]
                    .as_array()
                    .map(|ids| ids.iter().filter_map(text).collect())
                    .unwrap_or_default(),
            },
        );
    }
    let mut phase = phase_of(&status["phase"])?;
    let mut finished_at = time(&status["finishedAt"]);
    let mut message = text(&status["message"]);
    if !phase.is_final() {
        if let Some(root) = nodes.values().find(|node| node.name == name) {
            if root.phase.is_final() && root.phase.is_workflow_phase() {
                phase = root.phase;
                finished_at = root.finished_at;
                message = message.or_else(|| root.message.clone());
            }
        }
    }
    Ok(RunStatusReport {
        phase,
        started_at: time(&status["startedAt"]),
        finished_at,
        message,
        nodes,
    })
}

impl Services {
    /// How much of each step's log to read for the run's output: the output limit shared out
    /// among the steps, so the server holds about one output's worth of logs at a time.
    fn log_tail_per_node(&self, report: &RunStatusReport) -> u64 {
        let steps = report
            .nodes
            .values()
            .filter(|node| node.node_type == "Pod")
            .count()
            .max(1) as u64;
        let limit = self.output_limit().bytes();
        (limit / steps).clamp(MIN_TAIL_PER_NODE.min(limit), limit)
    }
}

/// Each step's log tail is at least this long, however many steps the run has.
const MIN_TAIL_PER_NODE: u64 = 16 * 1024;

/// Each node's log (its end, when it is long) under a header, in the order the nodes started.
fn output_from_logs(report: &RunStatusReport, logs: &BTreeMap<String, NodeLog>) -> String {
    let mut ordered: Vec<(&String, &NodeReport)> = report
        .nodes
        .iter()
        .filter(|(id, _)| logs.contains_key(*id))
        .collect();
    ordered.sort_by_key(|(id, node)| (node.started_at, (*id).clone()));
    let mut output = String::new();
    for (id, node) in ordered {
        let label = node.display_name.as_deref().unwrap_or(&node.name);
        output.push_str(&format!("=== {label} ({}) ===\n", node.phase));
        let log = &logs[id];
        if log.dropped_bytes() > 0 {
            output.push_str(&format!(
                "[Polyphemus: the first {} of this step's {} log bytes are left out; its log has them all]\n",
                log.dropped_bytes(),
                log.total_bytes
            ));
        }
        output.push_str(&scrub(&log.text));
        if !output.ends_with('\n') {
            output.push('\n');
        }
    }
    output
}

/// A phase as Argo writes it; none yet (a workflow just created) is `Pending`.
fn phase_of(value: &Value) -> Result<RunPhase, CoreError> {
    match text(value) {
        None => Ok(RunPhase::Pending),
        Some(phase) => RunPhase::parse(&phase).map_err(|_| {
            CoreError::Internal(format!("orchestrator reported an unknown phase {phase:?}"))
        }),
    }
}

/// A string of the orchestrator's answer. Steps write what they like into messages (the engine
/// takes a failed step's last log lines as its message): a NUL there is replaced, not refused,
/// so the run's final status is still recorded.
fn text(value: &Value) -> Option<String> {
    value
        .as_str()
        .filter(|s| !s.is_empty())
        .map(|s| scrub(s).into_owned())
}

fn time(value: &Value) -> Option<DateTime<Utc>> {
    value
        .as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn exit_handler_time_takes_the_outcome_from_the_root_node() {
        let workflow = json!({
            "metadata": {"name": "wf-abc"},
            "status": {"phase": "Running", "startedAt": "2026-11-25T10:00:00Z", "nodes": {
                "wf-abc": {"name": "wf-abc", "displayName": "wf-abc", "type": "Steps", "phase": "Failed",
                            "finishedAt": "2026-11-25T10:00:09Z", "message": "child failed"},
                "r": {"name": "wf-abc[0].copy", "displayName": "copy", "type": "Retry", "phase": "Failed",
                       "children": ["a", "b", "c"]},
                "x": {"name": "wf-abc.onExit", "displayName": "wf-abc.onExit", "type": "Pod", "phase": "Running"}
            }}
        });
        let report = report_from_workflow(&workflow).expect("valid");
        assert_eq!(report.phase, RunPhase::Failed);
        assert_eq!(report.message.as_deref(), Some("child failed"));
        assert_eq!(report.nodes["r"].retries, Some(2));
        assert_eq!(report.nodes["x"].phase, RunPhase::Running);
    }
}
