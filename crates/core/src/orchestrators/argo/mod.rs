//! The Argo orchestrator: a client of the Argo Server REST API (`/api/v1/workflows/…`, the
//! shapes of `third_party/argo-api/swagger.json`). Argo assigns each workflow's uid and schedules
//! its pods; Polyphemus only submits, reads, stops and lists.

mod client;
mod render;
mod settings;

pub use render::{pod_name, render_workflow, RenderOptions};
pub use settings::{ArgoSettings, ArgoToken};

use super::{LogPieces, NodeLog, Orchestrator, OrchestratorError, Retry, Submission, Submitted};
use client::Call;
use futures::future::BoxFuture;
use futures::StreamExt;
use polyphemus_model::{RunId, RunPhase, StopMode};
use reqwest::{Method, Url};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Label with a fresh id on every submitted workflow.
pub const SUBMISSION_LABEL: &str = "polyphemus/submission-id";

/// Talks to one Argo Server, in one namespace by default.
pub struct ArgoOrchestrator {
    settings: ArgoSettings,
    base: Url,
    http: reqwest::Client,
}

impl std::fmt::Debug for ArgoOrchestrator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArgoOrchestrator")
            .field("url", &self.settings.url)
            .field("namespace", &self.settings.namespace)
            .finish_non_exhaustive()
    }
}

impl Orchestrator for ArgoOrchestrator {
    fn kind(&self) -> &'static str {
        "argo"
    }

    fn namespace(&self) -> &str {
        &self.settings.namespace
    }

    fn live_status_every(&self) -> Option<std::time::Duration> {
        // The same look that waits for the end: one request per poll.
        Some(self.settings.poll_interval)
    }

    fn outlives_server(&self) -> bool {
        true
    }

    fn submit(
        &self,
        submission: Submission,
    ) -> BoxFuture<'_, Result<Submitted, OrchestratorError>> {
        Box::pin(async move {
            let namespace = self.settings.namespace.clone();
            let options = RenderOptions {
                namespace: namespace.clone(),
                service_account: self.settings.service_account.clone(),
                step_image: self.settings.step_image.clone(),
            };
            // A submission id label lets a submission whose answer was lost (a 5xx or a
            // timeout after Argo may have created the workflow) be found instead of resent.
            let submission_id = uuid::Uuid::new_v4().to_string();
            let mut labels = submission.labels.clone();
            labels.insert(SUBMISSION_LABEL.into(), submission_id.clone());
            let workflow = render_workflow(
                &submission.workflow_yaml,
                &submission.parameters,
                &labels,
                &options,
            )?;
            let sent = self
                .json(Call {
                    method: Method::POST,
                    path: vec![&namespace],
                    query: Vec::new(),
                    body: Some(json!({"namespace": namespace, "workflow": workflow})),
                    idempotent: false,
                })
                .await;
            let created = match sent {
                Ok(created) => created,
                Err(OrchestratorError::Unavailable(why)) => {
                    let selector = format!("{SUBMISSION_LABEL}={submission_id}");
                    match self.list(&namespace, &selector).await.as_deref() {
                        Ok([created]) => {
                            tracing::warn!(%why, "Argo created the workflow but its answer was lost");
                            created.clone()
                        }
                        _ => return Err(OrchestratorError::Unavailable(why)),
                    }
                }
                Err(error) => return Err(error),
            };
            let field = |key: &str| {
                created["metadata"][key]
                    .as_str()
                    .filter(|v| !v.is_empty())
                    .map(str::to_owned)
                    .ok_or_else(|| {
                        OrchestratorError::Unavailable(format!(
                            "Argo Server created a workflow without metadata.{key}"
                        ))
                    })
            };
            let submitted = Submitted {
                name: field("name")?,
                uid: RunId::parse(field("uid")?).map_err(|error| {
                    OrchestratorError::Unavailable(format!(
                        "Argo Server answered a bad uid: {error}"
                    ))
                })?,
                namespace: field("namespace").unwrap_or(namespace),
            };
            tracing::info!(workflow = %submitted.name, uid = %submitted.uid, "submitted to Argo");
            Ok(submitted)
        })
    }

    fn workflow<'a>(
        &'a self,
        namespace: &'a str,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Value, OrchestratorError>> {
        Box::pin(self.json(Self::get(vec![namespace, name], Vec::new())))
    }

    fn wait_finished<'a>(
        &'a self,
        namespace: &'a str,
        name: &'a str,
    ) -> BoxFuture<'a, Result<(), OrchestratorError>> {
        Box::pin(async move {
            loop {
                match self.workflow(namespace, name).await {
                    Ok(workflow) => {
                        let phase = workflow["status"]["phase"].as_str().unwrap_or_default();
                        if RunPhase::parse(phase).is_ok_and(RunPhase::is_final) {
                            return Ok(());
                        }
                    }
                    Err(OrchestratorError::Unavailable(why)) => {
                        // The run goes on in the cluster; look again after an outage.
                        tracing::warn!(workflow = %name, %why, "cannot see an Argo workflow");
                    }
                    Err(error) => return Err(error),
                }
                tokio::time::sleep(self.settings.poll_interval).await;
            }
        })
    }

    fn logs<'a>(
        &'a self,
        namespace: &'a str,
        name: &'a str,
        tail_bytes: u64,
    ) -> BoxFuture<'a, Result<BTreeMap<String, NodeLog>, OrchestratorError>> {
        Box::pin(async move {
            let workflow = self.workflow(namespace, name).await?;
            let mut logs = BTreeMap::new();
            let nodes = workflow["status"]["nodes"]
                .as_object()
                .cloned()
                .unwrap_or_default();
            for (id, node) in &nodes {
                if !pod_ran(node) {
                    continue;
                }
                let pod = pod_name(&workflow, id, node);
                match self.pod_log(namespace, name, &pod, tail_bytes).await {
                    Ok(log) if log.total_bytes > 0 => {
                        logs.insert(id.clone(), log);
                    }
                    Ok(_) => {}
                    // A pod already garbage-collected has no logs left to read.
                    Err(OrchestratorError::NotFound(_)) => {
                        tracing::debug!(%pod, "no logs: the pod is gone");
                    }
                    Err(error) => return Err(error),
                }
            }
            Ok(logs)
        })
    }

    fn node_log_pieces<'a>(
        &'a self,
        workflow: &'a Value,
        node_id: &'a str,
    ) -> BoxFuture<'a, Result<LogPieces, OrchestratorError>> {
        Box::pin(async move {
            let node = &workflow["status"]["nodes"][node_id];
            let namespace = workflow["metadata"]["namespace"]
                .as_str()
                .unwrap_or_default();
            let name = workflow["metadata"]["name"].as_str().unwrap_or_default();
            if !pod_ran(node) {
                return Ok(futures::stream::empty().boxed());
            }
            let pod = pod_name(workflow, node_id, node);
            match self.pod_log_pieces(namespace, name, &pod).await {
                // A pod already garbage-collected has no logs left to read.
                Err(OrchestratorError::NotFound(_)) => Ok(futures::stream::empty().boxed()),
                other => other,
            }
        })
    }

    fn resume<'a>(
        &'a self,
        namespace: &'a str,
        name: &'a str,
    ) -> BoxFuture<'a, Result<(), OrchestratorError>> {
        Box::pin(async move {
            // Argo Server answers 200 to a resume of a workflow with nothing suspended.
            let workflow = self.workflow(namespace, name).await?;
            if !super::workflow_is_suspended(&workflow) {
                return Err(OrchestratorError::NotSuspended(name.to_owned()));
            }
            self.send(Call {
                method: Method::PUT,
                path: vec![namespace, name, "resume"],
                query: Vec::new(),
                body: Some(json!({"name": name, "namespace": namespace})),
                idempotent: true,
            })
            .await?;
            tracing::info!(workflow = %name, "asked Argo to resume a workflow");
            Ok(())
        })
    }

    fn delete<'a>(
        &'a self,
        namespace: &'a str,
        name: &'a str,
        _uid: &'a RunId,
    ) -> BoxFuture<'a, Result<(), OrchestratorError>> {
        Box::pin(async move {
            let sent = self
                .send(Call {
                    method: Method::DELETE,
                    path: vec![namespace, name],
                    query: Vec::new(),
                    body: None,
                    idempotent: true,
                })
                .await;
            match sent {
                Ok(_) | Err(OrchestratorError::NotFound(_)) => Ok(()),
                Err(error) => Err(error),
            }
        })
    }

    fn suspend<'a>(
        &'a self,
        namespace: &'a str,
        name: &'a str,
    ) -> BoxFuture<'a, Result<(), OrchestratorError>> {
        Box::pin(async move {
            self.send(Call {
                method: Method::PUT,
                path: vec![namespace, name, "suspend"],
                query: Vec::new(),
                body: Some(json!({"name": name, "namespace": namespace})),
                idempotent: true,
            })
            .await?;
            tracing::info!(workflow = %name, "asked Argo to suspend a workflow");
            Ok(())
        })
    }

    fn retry<'a>(
        &'a self,
        namespace: &'a str,
        retry: Retry,
    ) -> BoxFuture<'a, Result<(), OrchestratorError>> {
        Box::pin(async move {
            // Argo's `WorkflowRetryRequest`; its steps read their token from the cluster.
            let parameters: Vec<String> = retry
                .parameters
                .iter()
                .map(|(name, value)| format!("{name}={value}"))
                .collect();
            self.send(Call {
                method: Method::PUT,
                path: vec![namespace, &retry.name, "retry"],
                query: Vec::new(),
                body: Some(json!({
                    "name": retry.name,
                    "namespace": namespace,
                    "restartSuccessful": retry.restart_successful,
                    "nodeFieldSelector": retry.node_field_selector.clone().unwrap_or_default(),
                    "parameters": parameters,
                })),
                idempotent: false,
            })
            .await?;
            tracing::info!(workflow = %retry.name, "asked Argo to retry a workflow");
            Ok(())
        })
    }

    fn stop<'a>(
        &'a self,
        namespace: &'a str,
        name: &'a str,
        mode: StopMode,
    ) -> BoxFuture<'a, Result<(), OrchestratorError>> {
        Box::pin(async move {
            let action = mode.verb();
            self.send(Call {
                method: Method::PUT,
                path: vec![namespace, name, action],
                query: Vec::new(),
                body: Some(json!({"name": name, "namespace": namespace})),
                idempotent: true,
            })
            .await?;
            tracing::info!(workflow = %name, action, "asked Argo to end a workflow");
            Ok(())
        })
    }
}

/// Whether a node is a pod that started, and so may have a log to read.
fn pod_ran(node: &Value) -> bool {
    node["type"] == "Pod"
        && !matches!(
            node["phase"].as_str(),
            Some("Pending" | "Skipped" | "Omitted")
        )
}
