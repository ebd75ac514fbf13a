//! `argo retry` through the Argo Server API: an ended ad-hoc workflow that failed runs again
//! in place, under the same name and uid (the same run), keeping what succeeded. Runs of
//! config versions are history: they are resubmitted as new runs instead.

use super::Services;
use crate::orchestrators::{ProjectTemplates, Retry};
use crate::{Access, CoreError, Principal, TaskGrant};
use polyphemus_model::{Role, Run, RunId};
use polyphemus_store::{AdHocRunReopen, NewEvent};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// What `argo retry` asks (Argo's `WorkflowRetryRequest`, the path's name aside).
#[derive(Debug, Clone, Default)]
pub struct ArgoRetry {
    pub restart_successful: bool,
    pub node_field_selector: Option<String>,
    /// `NAME=VALUE` overrides of the workflow's arguments.
    pub parameters: Vec<String>,
}

impl Services {
    /// Retries the ended ad-hoc workflow `name` (admins: it runs code again, as `create`);
    /// its Workflow object, Running again.
    pub async fn retry_argo_workflow(
        &self,
        access: &Access,
        name: &str,
        request: ArgoRetry,
    ) -> Result<Value, CoreError> {
        let reference =
            RunId::parse(name).map_err(|_| CoreError::not_found(format!("workflow {name}")))?;
        let run = self.find_run(access, &reference, Role::Viewer).await?.run;
        access.require(Role::Admin)?;
        let parameters = parse_parameters(&request.parameters)?;
        let workflow = self.argo_workflow(access, name).await?;
        refuse_as_argo_does(&workflow, &request)?;
        let orchestrator = self.require_orchestrator()?;
        if let Some(why) = orchestrator.refuses_workflow_documents() {
            return Err(CoreError::Unavailable(why));
        }
        self.reopen(access, &run, &request).await?;
        let token = self.retry_token(&run, &workflow).await?;
        let templates = if orchestrator.resolves_project_templates() {
            self.project_templates(access.project()).await?
        } else {
            ProjectTemplates::default()
        };
        let submitted_parameters = vec![
            ("config_id".to_owned(), run.config_id.to_string()),
            ("version_number".to_owned(), run.version_number.to_string()),
            ("project".to_owned(), access.project().to_string()),
        ];
        let labels = BTreeMap::from([
            (
                "polyphemus/project".to_owned(),
                access.project().to_string(),
            ),
            ("polyphemus/config-id".to_owned(), run.config_id.to_string()),
            (
                "polyphemus/version".to_owned(),
                run.version_number.to_string(),
            ),
        ]);
        let retry = Retry {
            name: run.name.clone(),
            restart_successful: request.restart_successful,
            node_field_selector: request.node_field_selector.clone(),
            parameters,
            labels,
            submitted_parameters,
            task_token: token.as_ref().map(|(_, token)| token.clone().into()),
            templates,
        };
        let namespace = orchestrator.namespace().to_owned();
        let token_id = token.map(|(id, _)| id);
        if let Err(error) = orchestrator.retry(&namespace, retry).await {
            self.undo_reopen(access, &run, &namespace, token_id).await;
            return Err(CoreError::bad_field("/name", error.to_string()));
        }
        tracing::info!(run_id = %run.run_id, actor = %access.actor(), "ad-hoc run retried");
        tokio::spawn(self.clone().record_when_finished(
            access.project().clone(),
            run.run_id.clone(),
            run.name.clone(),
            namespace,
            token_id,
        ));
        self.argo_workflow(access, name).await
    }

    /// Marks the run as going again, or says why it cannot be.
    async fn reopen(
        &self,
        access: &Access,
        run: &Run,
        request: &ArgoRetry,
    ) -> Result<(), CoreError> {
        let mut event = NewEvent::new(
            access.project(),
            access.actor(),
            "run.retried",
            json!({
                "workflow_name": run.name,
                "restart_successful": request.restart_successful,
                "node_field_selector": request.node_field_selector,
            }),
        );
        event.config_id = Some(run.config_id);
        event.version_number = Some(run.version_number);
        event.run_id = Some(run.run_id.clone());
        let reopened = self
            .store
            .reopen_ended_ad_hoc_run(access.project(), &run.run_id, &event)
            .await?;
        match reopened {
            AdHocRunReopen::Reopened { .. } => Ok(()),
            AdHocRunReopen::NotFound => Err(CoreError::not_found(format!("workflow {}", run.name))),
            AdHocRunReopen::NotAdHoc => Err(CoreError::Conflict(format!(
                "workflow {} is a run of config {} version {}: runs of configs are kept as \
                 history; resubmit it to run it again",
                run.name, run.config_id, run.version_number
            ))),
            AdHocRunReopen::NotEnded => Err(CoreError::bad_field(
                "/name",
                "Cannot retry a workflow in phase Running",
            )),
        }
    }

    /// A task token bound to the same run, where the orchestrator hands one to its steps.
    async fn retry_token(
        &self,
        run: &Run,
        workflow: &Value,
    ) -> Result<Option<(String, String)>, CoreError> {
        if !self.require_orchestrator()?.accepts_uid() {
            return Ok(None);
        }
        let grant = TaskGrant {
            project: run.project_name.clone(),
            config_id: Some(run.config_id),
            version_number: Some(run.version_number),
            run_id: Some(run.run_id.clone()),
        };
        let ttl = super::launch::task_token_ttl(&workflow.to_string());
        let label = format!("config-{}-v{}", run.config_id, run.version_number);
        let issued = self.tokens.issue_task(&label, grant, ttl).await?;
        Ok(Some((issued.id, issued.token)))
    }

    /// After the orchestrator refused: the run is recorded as ended again, from what the
    /// orchestrator still has, and the new token goes.
    async fn undo_reopen(
        &self,
        access: &Access,
        run: &Run,
        namespace: &str,
        token: Option<String>,
    ) {
        let system = Principal::system().access(access.project());
        let synced = self
            .sync_run_from_orchestrator(&system, &run.run_id, Some(&run.name), Some(namespace))
            .await;
        if let Err(error) = synced {
            tracing::warn!(run_id = %run.run_id, %error, "recording a refused retry's run as ended");
        }
        if let Some(token) = token {
            if let Err(error) = self.tokens.revoke(&token).await {
                tracing::warn!(run_id = %run.run_id, %error, "revoking a refused retry's token");
            }
        }
    }
}

/// Argo's refusals, before anything changes: only a failed workflow is retried, a succeeded
/// one only for the nodes a selector names.
fn refuse_as_argo_does(workflow: &Value, request: &ArgoRetry) -> Result<(), CoreError> {
    let phase = workflow["status"]["phase"].as_str().unwrap_or("Pending");
    let selected = request
        .node_field_selector
        .as_deref()
        .is_some_and(|s| !s.trim().is_empty());
    match phase {
        "Failed" | "Error" => Ok(()),
        "Succeeded" if request.restart_successful && selected => Ok(()),
        "Succeeded" => Err(CoreError::bad_field(
            "/restartSuccessful",
            "To retry a succeeded workflow, set the options restartSuccessful and \
             nodeFieldSelector",
        )),
        other => Err(CoreError::bad_field(
            "/name",
            format!("Cannot retry a workflow in phase {other}"),
        )),
    }
}

/// `NAME=VALUE` strings as pairs, refused as Argo refuses them.
fn parse_parameters(parameters: &[String]) -> Result<Vec<(String, String)>, CoreError> {
    parameters
        .iter()
        .map(|text| {
            text.split_once('=')
                .map(|(name, value)| (name.to_owned(), value.to_owned()))
                .ok_or_else(|| {
                    CoreError::bad_field(
                        "/parameters",
                        format!("expected parameter of the form: NAME=VALUE. Received: {text}"),
                    )
                })
        })
        .collect()
}
