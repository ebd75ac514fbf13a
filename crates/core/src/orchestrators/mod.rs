//! The orchestrator interface: what Polyphemus asks of Argo or of the local engine. Both answer
//! in Argo's own shapes (the Workflow object), so everything downstream reads one format.

pub mod argo;
pub mod local;
pub mod memo_cache;
mod node_log;
pub mod python_sdk;
mod templates;

use crate::CoreError;
use futures::future::BoxFuture;
use polyphemus_model::{FieldError, RunId, StopMode};
use secrecy::SecretString;
use serde_json::Value;
use std::collections::BTreeMap;

pub use node_log::{LogPieces, NodeLog};
pub use templates::ProjectTemplates;

/// A workflow to start.
#[derive(Debug)]
pub struct Submission {
    /// The Argo Workflow document.
    pub workflow_yaml: String,
    /// `-p name=value` arguments.
    pub parameters: Vec<(String, String)>,
    /// Labels on the workflow (`polyphemus/project`, `polyphemus/config-id`, …).
    pub labels: BTreeMap<String, String>,
    /// Given to every step as `POLYPHEMUS_TOKEN` by an orchestrator that can keep it out of
    /// the workflow object (the local engine). Argo steps read theirs from a Kubernetes Secret.
    pub task_token: Option<SecretString>,
    /// The uid to give the workflow, when the orchestrator lets the caller choose
    /// ([`Orchestrator::accepts_uid`]); the task token is then bound to this one run.
    pub uid: Option<RunId>,
    /// The project's WorkflowTemplates when the workflow was created, which its
    /// `workflowTemplateRef` and `templateRef`s resolve against on the local engine. Given only
    /// to an orchestrator that [`Orchestrator::resolves_project_templates`]: the Argo
    /// orchestrator ignores them, as the cluster resolves references against its own.
    pub templates: ProjectTemplates,
}

/// `argo retry` of an ended workflow: what to run again and what it runs with.
#[derive(Debug)]
pub struct Retry {
    /// The workflow's name.
    pub name: String,
    /// Also rerun the succeeded nodes `node_field_selector` names (Argo's options).
    pub restart_successful: bool,
    pub node_field_selector: Option<String>,
    /// `name=value` overrides of the workflow's arguments.
    pub parameters: Vec<(String, String)>,
    /// As in [`Submission`]: the labels and `-p` arguments it was submitted with, a task token
    /// bound to the same run, and the project's WorkflowTemplates now.
    pub labels: BTreeMap<String, String>,
    pub submitted_parameters: Vec<(String, String)>,
    pub task_token: Option<SecretString>,
    pub templates: ProjectTemplates,
}

/// What every step of a run is told about it, next to `POLYPHEMUS_URL` and `POLYPHEMUS_TOKEN`:
/// `POLYPHEMUS_PROJECT`, `POLYPHEMUS_CONFIG_ID`, `POLYPHEMUS_VERSION_NUMBER` (from the
/// submission's labels, else its `-p` arguments) and `POLYPHEMUS_RUN_ID` (`run_id`; Argo's
/// templates get `{{workflow.uid}}`). Variables the submission does not know are left out.
pub fn run_env(
    labels: &BTreeMap<String, String>,
    parameters: &[(String, String)],
    run_id: &str,
) -> Vec<(String, String)> {
    let find = |label: &str, parameter: &str| {
        labels.get(label).cloned().or_else(|| {
            parameters
                .iter()
                .find(|(name, _)| name == parameter)
                .map(|(_, value)| value.clone())
        })
    };
    let mut env = Vec::new();
    for (name, label, parameter) in [
        ("POLYPHEMUS_PROJECT", "polyphemus/project", "project"),
        ("POLYPHEMUS_CONFIG_ID", "polyphemus/config-id", "config_id"),
        (
            "POLYPHEMUS_VERSION_NUMBER",
            "polyphemus/version",
            "version_number",
        ),
    ] {
        if let Some(value) = find(label, parameter).filter(|v| !v.is_empty()) {
            env.push((name.to_owned(), value));
        }
    }
    env.push(("POLYPHEMUS_RUN_ID".to_owned(), run_id.to_owned()));
    env
}

/// A started workflow: Argo's name and uid (the uid is the run id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submitted {
    pub name: String,
    pub uid: RunId,
    pub namespace: String,
}

#[derive(Debug, thiserror::Error)]
pub enum OrchestratorError {
    /// The workflow document or its arguments are not valid.
    #[error("workflow is not valid: {0}")]
    Invalid(String),
    #[error("workflow {0} not found")]
    NotFound(String),
    /// The orchestrator cannot be reached or refused for reasons outside the request.
    #[error("orchestrator unavailable: {0}")]
    Unavailable(String),
    /// A resume of a workflow with nothing suspended (ended, or never suspended).
    #[error("workflow {0} is not suspended")]
    NotSuspended(String),
}

/// What Polyphemus was asking the orchestrator when it refused: the same refusal means a
/// different thing to the caller of each.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Asked<'a> {
    /// Starting a workflow: an invalid document is the caller's 422.
    Submit,
    /// Reading a workflow's status or logs.
    Read,
    /// Ending a run early: a workflow that cannot be ended has already ended (409).
    End { run_id: &'a RunId, mode: StopMode },
    /// Resuming a suspended run: one with nothing suspended cannot be (409).
    Resume { run_id: &'a RunId },
    /// Suspending a running run: an ended one cannot be (409).
    Suspend { run_id: &'a RunId },
}

impl OrchestratorError {
    /// The one mapping of orchestrator refusals to domain errors.
    pub(crate) fn into_core(self, kind: &str, asked: Asked<'_>) -> CoreError {
        match (self, asked) {
            (OrchestratorError::NotFound(name), Asked::End { run_id, .. }) => CoreError::NotFound(
                format!("workflow {name} of run {run_id} in the {kind} orchestrator"),
            ),
            (OrchestratorError::NotFound(name), Asked::Resume { run_id }) => CoreError::NotFound(
                format!("workflow {name} of run {run_id} in the {kind} orchestrator"),
            ),
            (OrchestratorError::NotSuspended(_), Asked::Resume { run_id }) => {
                CoreError::Conflict(format!("run {run_id} is not suspended"))
            }
            (OrchestratorError::Invalid(why), Asked::Resume { run_id }) => {
                CoreError::Conflict(format!("run {run_id} cannot be resumed: {why}"))
            }
            (OrchestratorError::Invalid(why), Asked::Suspend { run_id }) => {
                CoreError::Conflict(format!("run {run_id} cannot be suspended: {why}"))
            }
            (OrchestratorError::NotFound(name), _) => {
                CoreError::NotFound(format!("workflow {name} in the {kind} orchestrator"))
            }
            (OrchestratorError::Invalid(why), Asked::Submit) => CoreError::Unprocessable {
                detail: format!("the workflow cannot run: {why}"),
                errors: vec![FieldError {
                    pointer: "/workflow_yaml".into(),
                    message: why,
                }],
            },
            // Argo refuses to stop a workflow that has already completed.
            (OrchestratorError::Invalid(why), Asked::End { run_id, mode }) => {
                CoreError::Conflict(format!("run {run_id} cannot be {}: {why}", mode.done()))
            }
            (error, Asked::Submit) => CoreError::Unavailable(format!(
                "the {kind} orchestrator did not start the run: {error}"
            )),
            (OrchestratorError::Unavailable(why), Asked::End { .. }) => CoreError::Unavailable(why),
            (error, _) => CoreError::Unavailable(error.to_string()),
        }
    }
}

/// One interface, two implementations: the local engine and Argo Server.
pub trait Orchestrator: Send + Sync + std::fmt::Debug {
    /// `local` or `argo`.
    fn kind(&self) -> &'static str;

    /// The namespace workflows are submitted to (Argo's `metadata.namespace`).
    fn namespace(&self) -> &str;

    /// Whether a submission may choose the workflow's uid (Argo assigns its own).
    fn accepts_uid(&self) -> bool {
        false
    }

    /// How often the server reads a running workflow's status to record it as it changes;
    /// `None` records it at the end only.
    fn live_status_every(&self) -> Option<std::time::Duration> {
        None
    }

    /// Whether [`Orchestrator::wait_finished`] is told of the end (the local engine) rather
    /// than polling for it (Argo): a polling one is not asked while the live status is read,
    /// since that read sees the end as well.
    fn notifies_finish(&self) -> bool {
        false
    }

    /// Whether runs go on when this server stops (Argo's run in the cluster; the local
    /// engine's are child processes of the server).
    fn outlives_server(&self) -> bool {
        false
    }

    /// Why workflow documents given by a user (`polyphemus submit`) are refused here, when
    /// they are: the local engine without a sandbox would run them as the server's user.
    fn refuses_workflow_documents(&self) -> Option<String> {
        None
    }

    /// Whether runs resolve `workflowTemplateRef` and `templateRef` against the project's
    /// WorkflowTemplates stored by Polyphemus ([`Submission::templates`]): the local engine
    /// does; Argo resolves them against the cluster's own WorkflowTemplates.
    fn resolves_project_templates(&self) -> bool {
        false
    }

    /// Whether the run named `name` was started by this orchestrator instance (recovery
    /// settles only those).
    fn launched(&self, _name: &str) -> bool {
        true
    }

    /// Ends whatever is left running of run `name` after a restart; how many processes.
    fn end_leftovers(&self, _name: &str) -> usize {
        0
    }

    fn submit(&self, submission: Submission)
        -> BoxFuture<'_, Result<Submitted, OrchestratorError>>;

    /// The Workflow object (`metadata`, `spec`, `status`) as Argo Server returns it.
    fn workflow<'a>(
        &'a self,
        namespace: &'a str,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Value, OrchestratorError>>;

    /// Resolves when the workflow has ended (exit handlers included).
    fn wait_finished<'a>(
        &'a self,
        namespace: &'a str,
        name: &'a str,
    ) -> BoxFuture<'a, Result<(), OrchestratorError>>;

    /// The last `tail_bytes` of the log of each node that printed anything, by node id, with
    /// each whole log's length (only the tail is ever held in memory).
    fn logs<'a>(
        &'a self,
        namespace: &'a str,
        name: &'a str,
        tail_bytes: u64,
    ) -> BoxFuture<'a, Result<BTreeMap<String, NodeLog>, OrchestratorError>>;

    /// Node `node_id`'s whole log from its start, a piece at a time; nothing when it printed
    /// nothing. `workflow` is the object [`Orchestrator::workflow`] answered.
    fn node_log_pieces<'a>(
        &'a self,
        workflow: &'a Value,
        node_id: &'a str,
    ) -> BoxFuture<'a, Result<LogPieces, OrchestratorError>>;

    /// `argo resume`: resumes the workflow (`spec.suspend`) and every suspend node waiting.
    /// [`OrchestratorError::NotSuspended`] when nothing of it waits for a resume.
    fn resume<'a>(
        &'a self,
        namespace: &'a str,
        name: &'a str,
    ) -> BoxFuture<'a, Result<(), OrchestratorError>>;

    /// `argo delete` of an ended workflow `name` (uid `uid`): what the orchestrator keeps of it
    /// goes (the local engine's run directory; Argo's Workflow object). One already gone is
    /// no error.
    fn delete<'a>(
        &'a self,
        namespace: &'a str,
        name: &'a str,
        uid: &'a RunId,
    ) -> BoxFuture<'a, Result<(), OrchestratorError>>;

    /// `argo suspend`: no new pod starts until [`Orchestrator::resume`]; running ones go on.
    /// [`OrchestratorError::Invalid`] when the workflow has ended.
    fn suspend<'a>(
        &'a self,
        namespace: &'a str,
        name: &'a str,
    ) -> BoxFuture<'a, Result<(), OrchestratorError>>;

    /// `argo retry`: runs the ended workflow again in place, under the same name and uid,
    /// keeping its succeeded nodes. [`OrchestratorError::Invalid`] when it cannot be retried
    /// (still running; succeeded without `restart_successful` and a selector).
    fn retry<'a>(
        &'a self,
        namespace: &'a str,
        retry: Retry,
    ) -> BoxFuture<'a, Result<(), OrchestratorError>>;

    /// `argo stop` (exit handlers still run) or `argo terminate` (they do not).
    fn stop<'a>(
        &'a self,
        namespace: &'a str,
        name: &'a str,
        mode: StopMode,
    ) -> BoxFuture<'a, Result<(), OrchestratorError>>;
}

/// Whether a Workflow object waits for a resume, as Argo's `IsWorkflowSuspended` decides:
/// `spec.suspend: true` (or its WorkflowTemplate's), or a `Suspend` node still Running.
pub fn workflow_is_suspended(workflow: &Value) -> bool {
    let nodes = workflow["status"]["nodes"].as_object();
    workflow["spec"]["suspend"] == true
        || workflow["status"]["storedWorkflowTemplateSpec"]["suspend"] == true
        || nodes.is_some_and(|nodes| {
            nodes
                .values()
                .any(|n| n["type"] == "Suspend" && n["phase"] == "Running")
        })
}
