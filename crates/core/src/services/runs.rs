//! Run rules: registration, state merge and output, previous state, orchestrator metadata.

use super::configs::unprocessable;
use super::{PageRequest, Services};
use crate::error::OrNotFound;
use crate::{CoreError, Principal};
use polyphemus_model::{
    check_key, FieldError, Page, PatchRun, ProjectName, RegisterRun, Role, Run, RunId, RunMetadata,
    RunStatusReport,
};
use polyphemus_store::{NewEvent, NewRun, NewRunMetadata, RegisterOutcome, RunChange, RunScope};
use serde_json::{json, Map, Value};

const PHASES: [&str; 5] = ["Pending", "Running", "Succeeded", "Failed", "Error"];
/// Node types that group other nodes; their phase mirrors their children's.
const GROUP_NODE_TYPES: [&str; 6] = [
    "Steps",
    "StepGroup",
    "DAG",
    "TaskGroup",
    "Retry",
    "Workflow",
];
const MAX_PREVIOUS_KEYS: usize = 100;
/// State keys one PATCH may set (SQLite nests one `json_set` per key).
const MAX_STATE_KEYS: usize = 100;

/// `?keys=&collect=&before_run_id=&limit=` of previous_state.
#[derive(Debug, Clone, Default)]
pub struct PreviousStateQuery {
    pub keys: Vec<String>,
    pub collect: bool,
    pub before_run_id: Option<String>,
    /// With `collect`, at most this many values per key.
    pub limit: Option<i64>,
}

impl Services {
    pub async fn register_run(
        &self,
        principal: &Principal,
        project: &ProjectName,
        request: RegisterRun,
    ) -> Result<(Run, RegisterOutcome), CoreError> {
        principal.require_role_or_task(project, Role::Editor, request.config_id)?;
        let run_id = RunId::parse(request.run_id)?;
        if !principal.may_reach_run(run_id.as_str()) {
            return Err(CoreError::Forbidden(
                "this task token belongs to another run".to_owned(),
            ));
        }
        if request.name.trim().is_empty() || request.name.len() > 253 {
            return Err(CoreError::bad_field("/name", "must be 1-253 characters"));
        }
        self.store
            .config_version(project.as_str(), request.config_id, request.version_number)
            .await
            .or_not_found(|| {
                format!(
                    "config {} version {}",
                    request.config_id, request.version_number
                )
            })?;
        let event = NewEvent::new(
            project.as_str(),
            &principal.actor(),
            "run.registered",
            json!({ "name": request.name }),
        );
        let new = NewRun {
            run_id: run_id.to_string(),
            name: request.name,
            project_name: project.to_string(),
            config_id: request.config_id,
            version_number: request.version_number,
        };
        let (record, outcome) = self.store.register_run(&new, event).await?;
        Ok((record.run, outcome))
    }

    /// Loads a run and checks the principal may reach it (viewer, or task of its config).
    pub(super) async fn visible_run(
        &self,
        principal: &Principal,
        project: &ProjectName,
        run_id: &str,
        role: Role,
    ) -> Result<polyphemus_store::RunRecord, CoreError> {
        let not_found = || format!("run {run_id}");
        let run_id = RunId::parse(run_id).map_err(|_| CoreError::not_found(not_found()))?;
        // Without any access to the project (or to this run), answer 404 before the store.
        if !principal.sees_project(project) || !principal.may_reach_run(run_id.as_str()) {
            return Err(CoreError::not_found(not_found()));
        }
        let record = self
            .store
            .get_run(project.as_str(), run_id.as_str())
            .await
            .or_not_found(not_found)?;
        principal
            .require_role_or_task(project, role, record.run.config_id)
            .map_err(|error| match error {
                CoreError::NotFound(_) => CoreError::not_found(not_found()),
                other => other,
            })?;
        Ok(record)
    }

    pub async fn get_run(
        &self,
        principal: &Principal,
        project: &ProjectName,
        run_id: &str,
    ) -> Result<Run, CoreError> {
        Ok(self
            .visible_run(principal, project, run_id, Role::Viewer)
            .await?
            .run)
    }

    /// The scope of a run the principal may reach with `role` (or as the task of its config);
    /// 404 for runs it may not see.
    pub(crate) async fn reachable_run_scope(
        &self,
        principal: &Principal,
        project: &ProjectName,
        run_id: &str,
        role: Role,
    ) -> Result<(RunId, RunScope), CoreError> {
        let not_found = || CoreError::not_found(format!("run {run_id}"));
        let run_id = RunId::parse(run_id).map_err(|_| not_found())?;
        if !principal.sees_project(project) {
            return Err(not_found());
        }
        let scope = match self.run_scopes.get(project.as_str(), run_id.as_str()) {
            Some(scope) => scope,
            None => {
                let scope = self
                    .store
                    .run_scope(project.as_str(), run_id.as_str())
                    .await
                    .or_not_found(|| format!("run {run_id}"))?;
                self.run_scopes
                    .insert(project.as_str(), run_id.as_str(), scope.clone());
                scope
            }
        };
        principal
            .require_role_or_task(project, role, scope.config_id)
            .map_err(|error| match error {
                CoreError::NotFound(_) => not_found(),
                other => other,
            })?;
        if !principal.may_reach_run(run_id.as_str()) {
            return Err(not_found());
        }
        Ok((run_id, scope))
    }

    pub async fn patch_run(
        &self,
        principal: &Principal,
        project: &ProjectName,
        run_id: &str,
        patch: PatchRun,
    ) -> Result<Run, CoreError> {
        let (run_id, scope) = self
            .reachable_run_scope(principal, project, run_id, Role::Editor)
            .await?;
        let state = patch.state.unwrap_or_default();
        if state.is_empty() && patch.append_output.is_none() && patch.output.is_none() {
            return Err(CoreError::bad_field(
                "/",
                "nothing to change: give state, append_output or output",
            ));
        }
        if state.len() > MAX_STATE_KEYS {
            return Err(CoreError::bad_field(
                "/state",
                format!("at most {MAX_STATE_KEYS} keys per request"),
            ));
        }
        reject_nul("/append_output", patch.append_output.as_deref())?;
        reject_nul("/output", patch.output.as_deref())?;
        for (key, value) in &state {
            if value.to_string().contains("\\u0000") {
                return Err(CoreError::bad_field(
                    &format!("/state/{key}"),
                    "must not contain the NUL character",
                ));
            }
        }
        let mut errors: Vec<FieldError> = state
            .keys()
            .filter_map(|key| check_key("state", key).err())
            .map(|error| FieldError {
                pointer: "/state".into(),
                message: error.reason,
            })
            .collect();
        if !errors.is_empty() {
            return Err(CoreError::BadRequest {
                detail: "state keys must be 1-128 letters, digits, '_', '-' or '.'".into(),
                errors,
            });
        }
        if let Some(manifest) = self.registry.get(&scope.workflow_type) {
            errors.extend(manifest.state_errors(&Value::Object(state.clone())));
            if !errors.is_empty() {
                return Err(CoreError::Unprocessable {
                    detail: format!(
                        "state does not match the state schema of workflow {}",
                        manifest.name()
                    ),
                    errors,
                });
            }
        }
        let change = RunChange {
            state,
            append_output: patch.append_output,
            replace_output: patch.output,
        };
        let updated = self
            .store
            .change_run(project.as_str(), run_id.as_str(), &change)
            .await
            .or_not_found(|| format!("run {run_id}"))?;
        Ok(updated.run)
    }

    pub async fn list_runs(
        &self,
        principal: &Principal,
        project: &ProjectName,
        config_id: i64,
        page: PageRequest,
    ) -> Result<Page<Run>, CoreError> {
        principal.require(project, Role::Viewer)?;
        self.store
            .latest_config(project.as_str(), config_id)
            .await
            .or_not_found(|| format!("config {config_id}"))?;
        let records = self
            .store
            .list_runs(
                project.as_str(),
                config_id,
                page.cursor.map(|c| c.0),
                page.fetch_limit(),
            )
            .await?;
        let (records, next_cursor) = page.finish(records, |r| r.seq);
        Ok(Page {
            items: records.into_iter().map(|r| r.run).collect(),
            next_cursor,
        })
    }

    /// The latest value of each key among earlier runs of the config (any version);
    /// with `collect`, every value newest first. Keys no earlier run holds are left out.
    pub async fn previous_state(
        &self,
        principal: &Principal,
        project: &ProjectName,
        config_id: i64,
        query: PreviousStateQuery,
    ) -> Result<Map<String, Value>, CoreError> {
        principal.require_role_or_task(project, Role::Viewer, config_id)?;
        if query.keys.is_empty() || query.keys.len() > MAX_PREVIOUS_KEYS {
            return Err(CoreError::bad_field(
                "/keys",
                format!("give 1-{MAX_PREVIOUS_KEYS} comma-separated state keys"),
            ));
        }
        for key in &query.keys {
            check_key("keys", key)?;
        }
        self.store
            .latest_config(project.as_str(), config_id)
            .await
            .or_not_found(|| format!("config {config_id}"))?;
        let before_seq = match &query.before_run_id {
            Some(run_id) => {
                let record = self.store.get_run(project.as_str(), run_id).await.map_err(
                    |error| match error {
                        polyphemus_store::StoreError::NotFound => CoreError::bad_field(
                            "/before_run_id",
                            format!("no run {run_id} in this project"),
                        ),
                        other => other.into(),
                    },
                )?;
                if record.run.config_id != config_id {
                    return Err(CoreError::bad_field(
                        "/before_run_id",
                        "that run belongs to another config",
                    ));
                }
                Some(record.seq)
            }
            None => None,
        };
        let per_key = if query.collect {
            let limit = query.limit.unwrap_or(1_000);
            if !(1..=10_000).contains(&limit) {
                return Err(CoreError::bad_field(
                    "/limit",
                    "must be between 1 and 10000",
                ));
            }
            limit
        } else {
            1
        };
        let found = self
            .store
            .previous_state(config_id, &query.keys, before_seq, per_key)
            .await?;
        Ok(found
            .into_iter()
            .filter(|(_, values)| !values.is_empty())
            .map(|(key, mut values)| {
                let value = if query.collect {
                    Value::Array(values)
                } else {
                    values.swap_remove(0)
                };
                (key, value)
            })
            .collect())
    }

    /// Stores what the orchestrator reports, with duration, retries and failed nodes derived.
    pub async fn put_run_metadata(
        &self,
        principal: &Principal,
        project: &ProjectName,
        run_id: &str,
        report: RunStatusReport,
    ) -> Result<RunMetadata, CoreError> {
        let (run_id, _) = self
            .reachable_run_scope(principal, project, run_id, Role::Editor)
            .await?;
        let run_id = run_id.as_str();
        let mut errors = Vec::new();
        if !PHASES.contains(&report.phase.as_str()) {
            errors.push(FieldError {
                pointer: "/phase".into(),
                message: format!("must be one of {}", PHASES.join(", ")),
            });
        }
        if let (Some(start), Some(end)) = (report.started_at, report.finished_at) {
            if end < start {
                errors.push(FieldError {
                    pointer: "/finished_at".into(),
                    message: "is before started_at".into(),
                });
            }
        }
        if !errors.is_empty() {
            return Err(CoreError::Unprocessable {
                detail: "run metadata is not a valid workflow status".into(),
                errors,
            });
        }
        let derived = derive_metadata(&report)?;
        self.store
            .put_run_metadata(project.as_str(), run_id, &derived)
            .await
            .or_not_found(|| format!("run {run_id}"))?;
        self.get_run_metadata_unchecked(project, run_id).await
    }

    pub async fn get_run_metadata(
        &self,
        principal: &Principal,
        project: &ProjectName,
        run_id: &str,
    ) -> Result<RunMetadata, CoreError> {
        let record = self
            .visible_run(principal, project, run_id, Role::Viewer)
            .await?;
        self.get_run_metadata_unchecked(project, &record.run.run_id)
            .await
    }

    async fn get_run_metadata_unchecked(
        &self,
        project: &ProjectName,
        run_id: &str,
    ) -> Result<RunMetadata, CoreError> {
        let record = self
            .store
            .get_run_metadata(project.as_str(), run_id)
            .await
            .or_not_found(|| format!("metadata of run {run_id}"))?;
        let nodes = serde_json::from_value(record.nodes.0)
            .map_err(|e| CoreError::Internal(format!("stored nodes of run {run_id}: {e}")))?;
        Ok(RunMetadata {
            run_id: record.run_id,
            report: RunStatusReport {
                phase: record.phase,
                started_at: record.started_at,
                finished_at: record.finished_at,
                message: record.message,
                nodes,
            },
            duration_s: record.duration_s,
            retries: record.retries,
            failed_nodes: record.failed_nodes.0,
            updated_at: record.updated_at,
        })
    }
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
        .filter(|node| matches!(node.phase.as_str(), "Failed" | "Error"))
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
        phase: report.phase.clone(),
        started_at: report.started_at,
        finished_at: report.finished_at,
        message: report.message.clone(),
        nodes,
        duration_s,
        retries,
        failed_nodes,
    })
}

/// PostgreSQL cannot store the NUL character in text or JSON; refuse it on both stores alike.
pub(crate) fn reject_nul(pointer: &str, text: Option<&str>) -> Result<(), CoreError> {
    if text.is_some_and(|t| t.contains('\0')) {
        return Err(CoreError::bad_field(
            pointer,
            "must not contain the NUL character",
        ));
    }
    Ok(())
}
