//! Launching a run of a config version: mint a task token, submit the manifest's workflow to the
//! orchestrator, register the run under the orchestrator's uid.

use super::Services;
use crate::orchestrators::{Asked, ProjectTemplates, Submission};
use crate::{Access, CoreError, Principal, TaskGrant};
use polyphemus_model::{
    ConcurrencyPolicy, ConfigId, ConfigVersion, ProjectName, Role, Run, RunId, SubmitWorkflow,
    VersionNumber,
};
use polyphemus_store::{ConfigRecord, NewEvent, NewRun};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// Parameters the server sets on every run from the config version.
const RESERVED_PARAMETERS: [&str; 3] = ["config_id", "version_number", "project"];

/// How long a run's task token lives when its workflow sets no `spec.activeDeadlineSeconds`:
/// a day. A run may go on longer, but its steps then lose the API (set a deadline for a
/// pipeline that needs more); the token ends with the run anyway once its end is recorded.
const DEFAULT_TASK_TOKEN_TTL_S: i64 = 24 * 3_600;

/// What a run's task token outlives the workflow's deadline by: when the deadline ends the
/// main steps, the exit handler still runs (on Argo and the local engine) and needs the token
/// to notify and record the run's end. An hour also covers a workflow held `Pending` before
/// its clock starts.
const EXIT_HANDLER_MARGIN_S: i64 = 3_600;

/// The longest deadline honoured for a token's lifetime (a year).
const MAX_DEADLINE_S: i64 = 365 * 86_400;

impl Services {
    /// Submits the config version (latest when not given) to the orchestrator. While a run of
    /// the config is active this is 409 naming it, unless `force` or the config's concurrency
    /// policy is `Allow`. An archived config is always 409.
    pub async fn launch(
        &self,
        access: &Access,
        config_id: ConfigId,
        version_number: Option<VersionNumber>,
        force: bool,
    ) -> Result<Run, CoreError> {
        access.require(Role::Editor)?;
        let record = match version_number {
            Some(version) => {
                self.version_record(access, ConfigVersion::new(config_id, version))
                    .await?
            }
            None => self.latest_record(access, config_id).await?,
        };
        self.launch_record(access, &record, force, Map::new()).await
    }

    /// Launches a chosen config version with run params, as [`Services::launch`] does: 409
    /// while the config is archived or (unless `force`) has an active run, and a refusal event
    /// when its workflow cannot run. `launch` and `resubmit_run` share it.
    pub(crate) async fn launch_record(
        &self,
        access: &Access,
        record: &ConfigRecord,
        force: bool,
        params: Map<String, Value>,
    ) -> Result<Run, CoreError> {
        self.refuse_archived(access, record.config_id).await?;
        if !force {
            self.refuse_overlap(access, record.config_id).await?;
        }
        let manifest = match self.launchable(record) {
            Ok(manifest) => manifest,
            Err(error) => {
                let event = super::workflows::refusal_event(access.actor(), record, &error);
                if let Err(failed) = self.store.record_event(&event).await {
                    tracing::warn!(%failed, "recording a refused launch");
                }
                return Err(error);
            }
        };
        let workflow_yaml = manifest.workflow_yaml.clone();
        self.submit_launch(Launch {
            actor: access.actor(),
            project: access.project(),
            record,
            workflow_yaml,
            extra_parameters: Vec::new(),
            params,
        })
        .await
    }

    /// 409 when a run of the config is still active and its policy does not allow overlap.
    pub(crate) async fn refuse_overlap(
        &self,
        access: &Access,
        config_id: ConfigId,
    ) -> Result<(), CoreError> {
        let policy = self
            .store
            .get_runtime(access.project(), config_id)
            .await
            .map_err(|error| match error {
                polyphemus_store::StoreError::NotFound => {
                    CoreError::not_found(format!("config {config_id}"))
                }
                other => other.into(),
            })?
            .map(|runtime| runtime.concurrency_policy)
            .unwrap_or_default();
        if policy == ConcurrencyPolicy::Allow {
            return Ok(());
        }
        match self.store.active_run(access.project(), config_id).await? {
            Some((run_id, name)) => Err(CoreError::Conflict(format!(
                "run {run_id} ({name}) of config {config_id} is still active; wait for it, stop \
                 it, or launch with force"
            ))),
            None => Ok(()),
        }
    }

    /// Runs a given workflow document for a stored config version (`polyphemus submit`).
    pub async fn submit_workflow(
        &self,
        access: &Access,
        config_id: ConfigId,
        request: SubmitWorkflow,
    ) -> Result<Run, CoreError> {
        // Arbitrary workflow YAML runs arbitrary commands with a task token (and, on the local
        // engine, as the server's user): only project admins may do that.
        access.require(Role::Admin)?;
        if let Some(why) = self.require_orchestrator()?.refuses_workflow_documents() {
            return Err(CoreError::Unavailable(why));
        }
        if let Some(reserved) = request
            .parameters
            .keys()
            .find(|name| RESERVED_PARAMETERS.contains(&name.as_str()))
        {
            return Err(CoreError::bad_field(
                &format!("/parameters/{reserved}"),
                "is set by the server from the config version",
            ));
        }
        let record = self
            .version_record(
                access,
                ConfigVersion::new(config_id, request.version_number),
            )
            .await?;
        let extra = request.parameters.into_iter().collect();
        self.submit_run(
            access.actor(),
            access.project(),
            &record,
            request.workflow_yaml,
            extra,
        )
        .await
    }

    /// Submits `workflow_yaml` for a stored config version and registers the run. Nothing is
    /// recorded when the orchestrator refuses or cannot be reached.
    pub(crate) async fn submit_run(
        &self,
        actor: &str,
        project: &ProjectName,
        record: &ConfigRecord,
        workflow_yaml: String,
        extra_parameters: Vec<(String, String)>,
    ) -> Result<Run, CoreError> {
        let launch = Launch {
            actor,
            project,
            record,
            workflow_yaml,
            extra_parameters,
            params: Map::new(),
        };
        self.submit_launch(launch).await
    }

    /// [`Services::submit_run`] with run params (what jobs see over the runtime params).
    pub(crate) async fn submit_launch(&self, launch: Launch<'_>) -> Result<Run, CoreError> {
        let Launch {
            actor,
            project,
            record,
            workflow_yaml,
            extra_parameters,
            params,
        } = launch;
        let orchestrator = self.require_orchestrator()?;
        // Read now: a template changed after this does not change the run. A server that
        // refuses workflow documents runs no user-written template either.
        let templates = if orchestrator.resolves_project_templates()
            && orchestrator.refuses_workflow_documents().is_none()
        {
            self.project_templates(project).await?
        } else {
            ProjectTemplates::default()
        };
        // Where the orchestrator lets us choose the uid, the task token is bound to this one run
        // and handed to its steps. Argo assigns its own uid, and a token written into the
        // Workflow object would be readable by anyone who may read Workflows: Argo steps read
        // a project task token from a Kubernetes Secret instead (docs/deploy.md).
        let token = if orchestrator.accepts_uid() {
            let uid = RunId::parse(uuid::Uuid::new_v4().to_string())?;
            let grant = TaskGrant {
                project: project.clone(),
                config_id: Some(record.config_id),
                version_number: Some(record.version_number),
                run_id: Some(uid.clone()),
            };
            let issued = self
                .tokens
                .issue_task(
                    &format!("config-{}-v{}", record.config_id, record.version_number),
                    grant,
                    task_token_ttl(&workflow_yaml),
                )
                .await?;
            Some((uid, issued))
        } else {
            None
        };
        let mut parameters = vec![
            ("config_id".into(), record.config_id.to_string()),
            ("version_number".into(), record.version_number.to_string()),
            ("project".into(), project.to_string()),
        ];
        parameters.extend(extra_parameters);
        let submission = Submission {
            workflow_yaml,
            parameters,
            labels: BTreeMap::from([
                ("polyphemus/project".into(), project.to_string()),
                ("polyphemus/config-id".into(), record.config_id.to_string()),
                (
                    "polyphemus/version".into(),
                    record.version_number.to_string(),
                ),
            ]),
            uid: token.as_ref().map(|(uid, _)| uid.clone()),
            task_token: token
                .as_ref()
                .map(|(_, issued)| issued.token.clone().into()),
            templates,
        };
        let token_id = token.map(|(_, issued)| issued.id);
        let submitted = match orchestrator.submit(submission).await {
            Ok(submitted) => submitted,
            Err(error) => {
                if let Some(token_id) = &token_id {
                    if let Err(revoke) = self.tokens.revoke(token_id).await {
                        tracing::warn!(%revoke, "revoking the task token of a refused submission");
                    }
                }
                tracing::warn!(%error, config_id = %record.config_id, "submission refused");
                return Err(error.into_core(orchestrator.kind(), Asked::Submit));
            }
        };
        let event = NewEvent::new(
            project,
            actor,
            "run.launched",
            json!({"workflow_name": submitted.name, "orchestrator": orchestrator.kind()}),
        );
        let new = NewRun {
            run_id: submitted.uid.clone(),
            name: submitted.name.clone(),
            project_name: project.clone(),
            config_id: record.config_id,
            version_number: record.version_number,
            params,
        };
        let (run, _) = self.store.register_run(&new, event).await?;
        tokio::spawn(self.clone().record_when_finished(
            project.clone(),
            submitted.uid,
            submitted.name,
            submitted.namespace,
            token_id,
        ));
        Ok(run.run)
    }

    /// Records the run's final status and logs once the orchestrator says it ended, so a run
    /// whose exit hook could not report (or has none) still gets its metadata.
    pub(crate) async fn record_when_finished(
        self,
        project: ProjectName,
        run_id: RunId,
        name: String,
        namespace: String,
        task_token_id: Option<String>,
    ) {
        let Some(orchestrator) = self.orchestrator.clone() else {
            return;
        };
        let run = (&run_id, name.as_str(), namespace.as_str());
        let finished = self
            .watch_until_finished(orchestrator.as_ref(), &project, run)
            .await;
        if let Err(error) = finished {
            tracing::warn!(%run_id, %error, "lost sight of a run");
            return;
        }
        let system = Principal::system().access(&project);
        let recorded = self
            .sync_run_from_orchestrator(&system, &run_id, Some(&name), Some(&namespace))
            .await;
        if let Err(error) = recorded {
            tracing::warn!(%run_id, %error, "recording a finished run");
        }
        // Recording the final status revoked the token already (same transaction); this is for
        // a run whose status could not be read, and is harmless when it is revoked.
        if let Some(token_id) = task_token_id {
            if let Err(error) = self.tokens.revoke(&token_id).await {
                tracing::warn!(%run_id, %error, "revoking a finished run's task token");
            }
        }
    }
}

/// One run to submit: the config version, its workflow, and what it is launched with.
pub(crate) struct Launch<'a> {
    pub actor: &'a str,
    pub project: &'a ProjectName,
    pub record: &'a ConfigRecord,
    pub workflow_yaml: String,
    pub extra_parameters: Vec<(String, String)>,
    /// The run's params (`runs.params`).
    pub params: Map<String, Value>,
}

/// The lifetime of a run's task token: the workflow's own `spec.activeDeadlineSeconds` plus
/// [`EXIT_HANDLER_MARGIN_S`], or [`DEFAULT_TASK_TOKEN_TTL_S`] without one. A deadline set only
/// in a referenced WorkflowTemplate is not seen here, and gets the default.
pub(crate) fn task_token_ttl(workflow_yaml: &str) -> chrono::Duration {
    let deadline = serde_yaml::from_str::<serde_yaml::Value>(workflow_yaml)
        .ok()
        .and_then(|workflow| {
            let value = workflow.get("spec")?.get("activeDeadlineSeconds")?.clone();
            value
                .as_i64()
                .or_else(|| value.as_str().and_then(|text| text.trim().parse().ok()))
        })
        .filter(|seconds| *seconds > 0);
    let seconds = match deadline {
        Some(deadline) => deadline.min(MAX_DEADLINE_S) + EXIT_HANDLER_MARGIN_S,
        None => DEFAULT_TASK_TOKEN_TTL_S,
    };
    chrono::Duration::seconds(seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_task_token_lives_until_the_deadline_and_the_exit_handler_margin() {
        let with_deadline = "spec:\n  activeDeadlineSeconds: 600\n  entrypoint: main\n";
        assert_eq!(
            task_token_ttl(with_deadline),
            chrono::Duration::seconds(600 + EXIT_HANDLER_MARGIN_S)
        );
        let quoted = "spec: {activeDeadlineSeconds: \"90\"}";
        assert_eq!(
            task_token_ttl(quoted),
            chrono::Duration::seconds(90 + EXIT_HANDLER_MARGIN_S)
        );
        for without in [
            "spec: {entrypoint: main}",
            "spec: {activeDeadlineSeconds: 0}",
            ": [",
        ] {
            assert_eq!(
                task_token_ttl(without),
                chrono::Duration::hours(24),
                "{without}"
            );
        }
    }
}
