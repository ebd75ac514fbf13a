//! What the orchestrator reports about a run: its Argo-shaped status, stored with duration,
//! retries and failed nodes derived from it.

use super::super::{configs::unprocessable, Services};
use crate::error::OrNotFound;
use crate::{Access, CoreError};
use polyphemus_model::{FieldError, Role, RunId, RunMetadata, RunPhase, RunStatusReport};
use polyphemus_store::{NewRunMetadata, RunMetadataRecord, StoreError};
use serde_json::Value;

/// Node types that group other nodes; their phase mirrors their children's.
const GROUP_NODE_TYPES: [&str; 6] = [
    "Steps",
    "StepGroup",
    "DAG",
    "TaskGroup",
    "Retry",
    "Workflow",
];

impl Services {
    /// Stores what the orchestrator reports, with duration, retries and failed nodes derived.
    pub async fn put_run_metadata(
        &self,
        access: &Access,
        run_id: &RunId,
        report: RunStatusReport,
    ) -> Result<RunMetadata, CoreError> {
        self.reachable_run_scope(access, run_id, Role::Editor)
            .await?;
        self.store_run_metadata(access, run_id, &report, None).await
    }

    /// Checks and stores a report for a run the caller was already found to reach, with the
    /// steps' logs when the orchestrator's sync gives them (kept after what the jobs appended,
    /// once the report is final). A final phase ends the run: its task
    /// token is revoked in the same transaction, and at once on this server.
    pub(crate) async fn store_run_metadata(
        &self,
        access: &Access,
        run_id: &RunId,
        report: &RunStatusReport,
        output: Option<String>,
    ) -> Result<RunMetadata, CoreError> {
        check_report(report)?;
        let derived = derive_metadata(report)?;
        let logs = output.as_deref().map(|text| (text, self.output_limit));
        let recorded = self
            .store
            .put_run_metadata(access.project(), run_id, &derived, logs)
            .await
            .map_err(|error| match error {
                StoreError::RunEnded(phase) => CoreError::Conflict(format!(
                    "run {run_id} has already ended ({phase}); only a final status may replace \
                     its metadata"
                )),
                StoreError::NotFound => CoreError::NotFound(format!("run {run_id}")),
                other => other.into(),
            })?;
        if recorded.ended_now {
            self.settle_schedule(access.project(), run_id, report.phase)
                .await;
            self.alert_run_end(access.project(), run_id, report).await;
        }
        if !recorded.revoked_tokens.is_empty() {
            self.tokens.forget(&recorded.revoked_tokens);
            tracing::info!(%run_id, phase = %report.phase, "the run ended: its task token is revoked");
        }
        metadata_from_record(recorded.record)
    }

    pub async fn get_run_metadata(
        &self,
        access: &Access,
        run_id: &RunId,
    ) -> Result<RunMetadata, CoreError> {
        let run_id = &self
            .find_run(access, run_id, Role::Viewer)
            .await?
            .run
            .run_id;
        let record = self
            .store
            .get_run_metadata(access.project(), run_id)
            .await
            .or_not_found(|| format!("metadata of run {run_id}"))?;
        metadata_from_record(record)
    }

    /// The phase the run last reported; `None` before any metadata. No access check: for
    /// callers that already found the run reachable.
    pub(crate) async fn run_phase(
        &self,
        access: &Access,
        run_id: &RunId,
    ) -> Result<Option<RunPhase>, CoreError> {
        match self.store.get_run_metadata(access.project(), run_id).await {
            Ok(record) => Ok(Some(record.phase)),
            Err(StoreError::NotFound) => Ok(None),
            Err(other) => Err(other.into()),
        }
    }
}

/// A run's phase is one a workflow can have, and it did not finish before it started.
fn check_report(report: &RunStatusReport) -> Result<(), CoreError> {
    let mut errors = Vec::new();
    if !report.phase.is_workflow_phase() {
        errors.push(workflow_phase_error());
    }
    if let (Some(start), Some(end)) = (report.started_at, report.finished_at) {
        if end < start {
            errors.push(FieldError {
                pointer: "/finished_at".into(),
                message: "is before started_at".into(),
            });
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(invalid_report(errors))
    }
}

fn workflow_phase_error() -> FieldError {
    let phases: Vec<&str> = RunPhase::WORKFLOW_PHASES
        .iter()
        .map(|phase| phase.as_str())
        .collect();
    FieldError {
        pointer: "/phase".into(),
        message: format!("must be one of {}", phases.join(", ")),
    }
}

fn invalid_report(errors: Vec<FieldError>) -> CoreError {
    CoreError::Unprocessable {
        detail: "run metadata is not a valid workflow status".into(),
        errors,
    }
}

/// Reads a report in Argo's shape from JSON (the edge of `PUT …/metadata`): a phase that is
/// not a workflow phase is a 422 at `/phase`, any other malformed field a 400.
pub fn parse_status_report(body: Value) -> Result<RunStatusReport, CoreError> {
    let phase_ok = body
        .get("phase")
        .and_then(Value::as_str)
        .is_none_or(|phase| RunPhase::parse(phase).is_ok_and(RunPhase::is_workflow_phase));
    if !phase_ok {
        return Err(invalid_report(vec![workflow_phase_error()]));
    }
    serde_json::from_value(body).map_err(|error| CoreError::BadRequest {
        detail: format!("run metadata: {error}"),
        errors: Vec::new(),
    })
}

fn metadata_from_record(record: RunMetadataRecord) -> Result<RunMetadata, CoreError> {
    let run_id = &record.run_id;
    let nodes = serde_json::from_value(record.nodes.0)
        .map_err(|e| CoreError::Internal(format!("stored nodes of run {run_id}: {e}")))?;
    let report = RunStatusReport {
        phase: record.phase,
        started_at: record.started_at,
        finished_at: record.finished_at,
        message: record.message,
        nodes,
    };
    // Derived from the stored nodes on read, so metadata stored before this field has it too.
    let failure = report.failure();
    Ok(RunMetadata {
        run_id: record.run_id,
        report,
        duration_s: record.duration_s,
        retries: record.retries,
        failed_nodes: record.failed_nodes.0,
        failure,
        updated_at: record.updated_at,
    })
}

fn derive_metadata(report: &RunStatusReport) -> Result<NewRunMetadata, CoreError> {
    let duration_s = match (report.started_at, report.finished_at) {
        (Some(start), Some(end)) => Some((end - start).num_milliseconds() as f64 / 1000.0),
        _ => None,
    };
    let retries = report
        .nodes
        .values()
        .map(|node| i64::from(node.retries.unwrap_or(0).max(0)))
        .fold(0i64, i64::saturating_add)
        .min(i64::from(i32::MAX)) as i32;
    let failed_nodes = report
        .nodes
        .values()
        .filter(|node| node.phase.is_failure())
        .filter(|node| !GROUP_NODE_TYPES.contains(&node.node_type.as_str()))
        .map(|node| node.name.clone())
        .collect();
    let nodes = serde_json::to_value(&report.nodes)
        .map_err(|e| CoreError::Internal(format!("encoding nodes: {e}")))?;
    if report.nodes.len() > 100_000 {
        return Err(unprocessable(
            "too many nodes".into(),
            "/nodes",
            "at most 100000 nodes".into(),
        ));
    }
    Ok(NewRunMetadata {
        phase: report.phase,
        started_at: report.started_at,
        finished_at: report.finished_at,
        message: report.message.clone(),
        nodes,
        duration_s,
        retries,
        failed_nodes,
    })
}
