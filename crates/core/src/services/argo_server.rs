//! What the Argo Server API (`/argo/api/v1`) asks of a project: workflows created from Argo
//! documents, read back as Workflow objects, listed, and ended or resumed through the same
//! rules as the v1 API. A namespace is a project.

use super::Services;
use crate::orchestrators::{Asked, NodeLog};
use crate::{Access, CoreError};
use polyphemus_model::{ConfigId, ConfigVersion, Role, RunFilter, RunId, StopMode, VersionNumber};
use polyphemus_store::AdHocRunDelete;
use serde_json::Value;
use std::collections::BTreeMap;

/// The most workflows one list answers: the newest runs of the project.
const MAX_LISTED: i64 = 500;

/// How a created workflow is registered: as a run of a config version it names in its
/// `config_id`/`version_number` parameters, or else as an ad-hoc run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreatedAs {
    Version(ConfigVersion),
    AdHoc,
}

impl Services {
    /// Checks an Argo Workflow document as `argo lint` / a dry run do: it must parse and the
    /// local engine must be able to start it with the project's WorkflowTemplates. Returns the
    /// document with its namespace.
    pub async fn lint_argo_workflow(
        &self,
        access: &Access,
        mut workflow: Value,
    ) -> Result<Value, CoreError> {
        access.require(Role::Viewer)?;
        let (yaml, as_) = parse_workflow(&workflow)?;
        let parsed = polyphemus_engine::Workflow::from_yaml(&yaml)
            .map_err(|error| CoreError::bad_field("/workflow", error.to_string()))?;
        let templates = self.project_templates(access.project()).await?;
        if let Some(base) = &parsed.spec.workflow_template_ref {
            if !templates.contains(&base.name) {
                return Err(CoreError::bad_field(
                    "/workflow/spec/workflowTemplateRef/name",
                    format!(
                        "no WorkflowTemplate {} in namespace {}",
                        base.name,
                        access.project()
                    ),
                ));
            }
        }
        let given = reserved_arguments(as_);
        polyphemus_engine::check_startable_with(&parsed, &given, &templates.library())
            .map_err(|error| CoreError::bad_field("/workflow", error.to_string()))?;
        workflow["metadata"]["namespace"] = Value::String(access.project().to_string());
        Ok(workflow)
    }

    /// Creates a workflow from an Argo document (admins, as `submit`) and returns its
    /// Workflow object. With `dry_run` it is only checked, and nothing is stored or run.
    pub async fn create_argo_workflow(
        &self,
        access: &Access,
        workflow: Value,
        dry_run: bool,
    ) -> Result<Value, CoreError> {
        access.require(Role::Admin)?;
        let checked = self.lint_argo_workflow(access, workflow).await?;
        if dry_run {
            return Ok(checked);
        }
        if let Some(why) = self.require_orchestrator()?.refuses_workflow_documents() {
            return Err(CoreError::Unavailable(why));
        }
        let (yaml, as_) = parse_workflow(&checked)?;
        let record = match as_ {
            CreatedAs::Version(version) => self.version_record(access, version).await?,
            CreatedAs::AdHoc => self.store.ad_hoc_config(access.project()).await?,
        };
        let run = self
            .submit_run(access.actor(), access.project(), &record, yaml, Vec::new())
            .await?;
        self.argo_workflow(access, &run.name).await
    }

    /// The Workflow object of the project's run named `name`, its namespace the project.
    pub async fn argo_workflow(&self, access: &Access, name: &str) -> Result<Value, CoreError> {
        access.require(Role::Viewer)?;
        let found = self.store.runs_named(access.project(), name, 1).await?;
        if found.is_empty() {
            return Err(CoreError::not_found(format!("workflow {name}")));
        }
        let orchestrator = self.require_orchestrator()?;
        let mut workflow = orchestrator
            .workflow(orchestrator.namespace(), name)
            .await
            .map_err(|error| error.into_core(orchestrator.kind(), Asked::Read))?;
        workflow["metadata"]["namespace"] = Value::String(access.project().to_string());
        drop_nulls(&mut workflow);
        Ok(workflow)
    }

    /// The Workflow objects of the project's newest runs (at most [`MAX_LISTED`]), newest
    /// first; a run its orchestrator no longer knows is left out.
    pub async fn list_argo_workflows(&self, access: &Access) -> Result<Vec<Value>, CoreError> {
        access.require(Role::Viewer)?;
        let runs = self
            .store
            .list_project_runs(access.project(), &RunFilter::default(), None, MAX_LISTED)
            .await?;
        let mut workflows = Vec::with_capacity(runs.len());
        for run in runs {
            match self.argo_workflow(access, &run.summary.name).await {
                Ok(workflow) => workflows.push(workflow),
                Err(CoreError::NotFound(_)) => {}
                Err(error) => return Err(error),
            }
        }
        Ok(workflows)
    }

    /// `argo stop` / `argo terminate` of the workflow named `name` (editors).
    pub async fn end_argo_workflow(
        &self,
        access: &Access,
        name: &str,
        mode: StopMode,
    ) -> Result<Value, CoreError> {
        let run_id = workflow_reference(name)?;
        self.stop_run(access, &run_id, mode).await?;
        self.argo_workflow(access, name).await
    }

    /// `argo delete` (admins, as create): an ended ad-hoc workflow goes, with what its
    /// orchestrator keeps of it. A run of a config version is that config's history (retention
    /// prunes it), and a running workflow must be stopped first: both are refused.
    pub async fn delete_argo_workflow(&self, access: &Access, name: &str) -> Result<(), CoreError> {
        let run = self
            .find_run(access, &workflow_reference(name)?, Role::Viewer)
            .await?
            .run;
        access.require(Role::Admin)?;
        let orchestrator = self.require_orchestrator()?;
        let mut event = polyphemus_store::NewEvent::new(
            access.project(),
            access.actor(),
            "run.deleted",
            serde_json::json!({"workflow_name": run.name, "orchestrator": orchestrator.kind()}),
        );
        event.config_id = Some(run.config_id);
        event.version_number = Some(run.version_number);
        event.run_id = Some(run.run_id.clone());
        let outcome = self
            .store
            .delete_ended_ad_hoc_run(access.project(), &run.run_id, &event)
            .await?;
        match outcome {
            AdHocRunDelete::Deleted { .. } => {}
            AdHocRunDelete::NotFound => {
                return Err(CoreError::not_found(format!("workflow {name}")))
            }
            AdHocRunDelete::NotAdHoc => {
                return Err(CoreError::Conflict(format!(
                    "workflow {name} is a run of config {} version {}: runs of configs are kept \
                     as history (retention prunes them)",
                    run.config_id, run.version_number
                )))
            }
            AdHocRunDelete::NotEnded => {
                return Err(CoreError::Conflict(format!(
                    "workflow {name} is still running: stop or terminate it first"
                )))
            }
        }
        // The store no longer knows the run: what the orchestrator keeps is only disk space.
        if let Err(error) = orchestrator
            .delete(orchestrator.namespace(), &run.name, &run.run_id)
            .await
        {
            tracing::warn!(workflow = %run.name, %error, "deleted a run; its orchestrator kept what it had");
        }
        tracing::info!(run_id = %run.run_id, actor = %access.actor(), "ad-hoc run deleted");
        Ok(())
    }

    /// `argo suspend` of the workflow named `name` (editors).
    pub async fn suspend_argo_workflow(
        &self,
        access: &Access,
        name: &str,
    ) -> Result<Value, CoreError> {
        let run_id = workflow_reference(name)?;
        self.suspend_run(access, &run_id).await?;
        self.argo_workflow(access, name).await
    }

    /// `argo resume` of the workflow named `name` (editors).
    pub async fn resume_argo_workflow(
        &self,
        access: &Access,
        name: &str,
    ) -> Result<Value, CoreError> {
        let run_id = workflow_reference(name)?;
        self.resume_run(access, &run_id).await?;
        self.argo_workflow(access, name).await
    }
}

/// The most of each node's log one read of a workflow's logs holds.
const LOG_TAIL_BYTES: u64 = 8 * 1024 * 1024;

impl Services {
    /// `argo resubmit` (admins, as it creates a workflow): a new workflow from the spec of
    /// `name`, registered the way that one was.
    pub async fn resubmit_argo_workflow(
        &self,
        access: &Access,
        name: &str,
    ) -> Result<Value, CoreError> {
        let old = self.argo_workflow(access, name).await?;
        let labels: serde_json::Map<String, Value> = old["metadata"]["labels"]
            .as_object()
            .map(|labels| {
                labels
                    .iter()
                    .filter(|(key, _)| !key.starts_with("polyphemus/"))
                    .map(|(key, value)| (key.clone(), value.clone()))
                    .collect()
            })
            .unwrap_or_default();
        let workflow = serde_json::json!({
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Workflow",
            "metadata": {"generateName": format!("{name}-"), "labels": labels},
            "spec": old["spec"].clone(),
        });
        self.create_argo_workflow(access, workflow, false).await
    }

    /// The Workflow object of `name` and what each of its nodes has logged so far (viewers).
    pub async fn argo_workflow_logs(
        &self,
        access: &Access,
        name: &str,
    ) -> Result<(Value, BTreeMap<String, NodeLog>), CoreError> {
        let workflow = self.argo_workflow(access, name).await?;
        let orchestrator = self.require_orchestrator()?;
        let logs = orchestrator
            .logs(orchestrator.namespace(), name, LOG_TAIL_BYTES)
            .await
            .map_err(|error| error.into_core(orchestrator.kind(), Asked::Read))?;
        Ok((workflow, logs))
    }
}

impl Services {
    /// The config the project's ad-hoc runs belong to, once there is one.
    pub async fn ad_hoc_config_id(&self, access: &Access) -> Result<Option<ConfigId>, CoreError> {
        access.require(Role::Viewer)?;
        Ok(self.store.find_ad_hoc_config(access.project()).await?)
    }
}

/// The workflow type ad-hoc runs are listed under (`?workflow_type=ad-hoc`).
pub fn ad_hoc_type() -> Result<polyphemus_model::WorkflowType, CoreError> {
    Ok(polyphemus_model::WorkflowType::parse(
        polyphemus_store::AD_HOC_WORKFLOW_TYPE,
    )?)
}

/// Leaves out unset fields, as Kubernetes' JSON does (`omitempty`): Argo's clients read a null
/// `daemon` or `retryStrategy` as a value of the wrong type.
pub(super) fn drop_nulls(value: &mut Value) {
    match value {
        Value::Object(object) => {
            object.retain(|_, inner| !inner.is_null());
            object.values_mut().for_each(drop_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_nulls),
        _ => {}
    }
}

/// A workflow name as a run reference; one that cannot be a run is not found.
fn workflow_reference(name: &str) -> Result<RunId, CoreError> {
    RunId::parse(name).map_err(|_| CoreError::not_found(format!("workflow {name}")))
}

/// The document as YAML text (JSON is YAML) and how it registers.
fn parse_workflow(workflow: &Value) -> Result<(String, CreatedAs), CoreError> {
    if !workflow.is_object() {
        return Err(CoreError::bad_field(
            "/workflow",
            "must be a Workflow object",
        ));
    }
    let parameters = workflow["spec"]["arguments"]["parameters"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let value_of = |name: &str| {
        parameters
            .iter()
            .find(|p| p["name"] == name)
            .and_then(|p| p["value"].as_str().map(str::to_owned))
    };
    let as_ = match (value_of("config_id"), value_of("version_number")) {
        (None, None) => CreatedAs::AdHoc,
        (Some(config_id), Some(version)) => {
            let config_id: ConfigId = config_id.parse().map_err(|_| {
                CoreError::bad_field(
                    "/workflow/spec/arguments/parameters/config_id",
                    "must be a config id",
                )
            })?;
            let version: VersionNumber = version.parse().map_err(|_| {
                CoreError::bad_field(
                    "/workflow/spec/arguments/parameters/version_number",
                    "must be a version number",
                )
            })?;
            CreatedAs::Version(ConfigVersion::new(config_id, version))
        }
        _ => {
            return Err(CoreError::bad_field(
                "/workflow/spec/arguments/parameters",
                "config_id and version_number go together: give both or neither",
            ))
        }
    };
    let yaml = serde_json::to_string(workflow)
        .map_err(|error| CoreError::Internal(format!("serialising a workflow: {error}")))?;
    Ok((yaml, as_))
}

/// The parameters the server sets on every run, as a check gives them.
fn reserved_arguments(as_: CreatedAs) -> Vec<(String, String)> {
    let (config_id, version) = match as_ {
        CreatedAs::Version(version) => (
            version.config_id.to_string(),
            version.version_number.to_string(),
        ),
        CreatedAs::AdHoc => ("1".to_owned(), "1".to_owned()),
    };
    vec![
        ("config_id".to_owned(), config_id),
        ("version_number".to_owned(), version),
        ("project".to_owned(), "check".to_owned()),
    ]
}
