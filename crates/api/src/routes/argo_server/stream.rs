//! The streamed answers: a workflow's logs (`…/{name}/log`) and the watch of a namespace's
//! workflows (`/workflow-events/{namespace}`), each newline-delimited `{"result": …}` as
//! grpc-gateway streams them. Both poll the orchestrator once a second while they follow.

use super::error::{ArgoError, GrpcCode};
use super::select::LabelSelector;
use super::ArgoCaller;
use crate::AppState;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use futures::stream::{self, StreamExt};
use polyphemus_core::orchestrators::NodeLog;
use polyphemus_core::Access;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

const POLL: Duration = Duration::from_secs(1);

#[derive(Debug, Deserialize)]
pub struct LogQuery {
    #[serde(rename = "podName")]
    pod_name: Option<String>,
    #[serde(rename = "logOptions.follow")]
    follow: Option<String>,
}

/// One line of a streamed answer.
fn result_line(result: Value) -> Bytes {
    let mut line = json!({ "result": result }).to_string();
    line.push('\n');
    Bytes::from(line)
}

fn streamed(lines: impl futures::Stream<Item = Bytes> + Send + 'static) -> Response {
    let body = Body::from_stream(lines.map(Ok::<_, std::convert::Infallible>));
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn is_final(workflow: &Value) -> bool {
    matches!(
        workflow["status"]["phase"].as_str(),
        Some("Succeeded" | "Failed" | "Error")
    )
}

/// Whether node `id` is the pod `pod` names: its id (Argo's v1 pod names) or
/// `{workflow}-{template}-{hash}` (v2).
fn is_pod(workflow: &Value, id: &str, pod: &str) -> bool {
    if id == pod {
        return true;
    }
    let name = workflow["metadata"]["name"].as_str().unwrap_or_default();
    let template = workflow["status"]["nodes"][id]["templateName"].as_str();
    let suffix = id.strip_prefix(name).map(|s| s.trim_start_matches('-'));
    matches!((template, suffix), (Some(t), Some(s)) if pod == format!("{name}-{t}-{s}"))
}

/// The new whole lines of each chosen node since `sent` (all that is left once it ended).
fn new_lines(
    workflow: &Value,
    logs: &BTreeMap<String, NodeLog>,
    pod: Option<&str>,
    sent: &mut BTreeMap<String, u64>,
    ended: bool,
) -> Vec<Bytes> {
    let mut lines = Vec::new();
    for (id, log) in logs {
        if pod.is_some_and(|pod| !is_pod(workflow, id, pod)) {
            continue;
        }
        let from = sent.get(id).copied().unwrap_or(0).max(log.dropped_bytes());
        let start = usize::try_from(from - log.dropped_bytes()).unwrap_or(usize::MAX);
        let Some(rest) = log.text.get(start..) else {
            continue;
        };
        let whole = if ended {
            rest.len()
        } else {
            rest.rfind('\n').map_or(0, |i| i + 1)
        };
        let pod_name = pod.unwrap_or(id);
        for line in rest[..whole].lines() {
            lines.push(result_line(json!({"content": line, "podName": pod_name})));
        }
        sent.insert(id.clone(), from + whole as u64);
    }
    lines
}

/// `GET /workflows/{ns}/{name}/log`: each log line of the pod (or of every pod), following
/// the workflow until it ends when `logOptions.follow=true`.
pub async fn workflow_logs(
    State(state): State<AppState>,
    caller: ArgoCaller,
    Path((namespace, name)): Path<(String, String)>,
    Query(query): Query<LogQuery>,
) -> Result<Response, ArgoError> {
    let access = caller.namespace(&namespace)?;
    let pod = query.pod_name.filter(|p| !p.is_empty());
    let follow = query.follow.as_deref() == Some("true");
    log_stream(state, access, name, pod, follow, false).await
}

/// `GET /workflows/{ns}/{name}/{podName}/log` (`PodLogs`): the lines of one pod, named by its
/// node id or Argo's pod name; an unknown pod is not found, as Kubernetes answers.
pub async fn pod_logs(
    State(state): State<AppState>,
    caller: ArgoCaller,
    Path((namespace, name, pod)): Path<(String, String, String)>,
    Query(query): Query<LogQuery>,
) -> Result<Response, ArgoError> {
    let access = caller.namespace(&namespace)?;
    let follow = query.follow.as_deref() == Some("true");
    log_stream(state, access, name, Some(pod), follow, true).await
}

async fn log_stream(
    state: AppState,
    access: Access,
    name: String,
    pod: Option<String>,
    follow: bool,
    pod_must_exist: bool,
) -> Result<Response, ArgoError> {
    // The first read answers errors (unknown workflow, no access) before the stream starts.
    let first = state.services.argo_workflow_logs(&access, &name).await?;
    if let (true, Some(pod)) = (pod_must_exist, pod.as_deref()) {
        let nodes = first.0["status"]["nodes"].as_object();
        let known = nodes.is_some_and(|nodes| nodes.keys().any(|id| is_pod(&first.0, id, pod)));
        if !known {
            return Err(ArgoError::new(
                GrpcCode::NotFound,
                format!("pods \"{pod}\" not found"),
            ));
        }
    }
    let start = (Some(first), BTreeMap::new(), false);
    let lines = stream::unfold(start, move |(read, mut sent, done)| {
        let (state, access, name, pod) = (state.clone(), access.clone(), name.clone(), pod.clone());
        async move {
            if done {
                return None;
            }
            let read = match read {
                Some(read) => read,
                None => {
                    tokio::time::sleep(POLL).await;
                    state
                        .services
                        .argo_workflow_logs(&access, &name)
                        .await
                        .ok()?
                }
            };
            let (workflow, logs) = read;
            let ended = !follow || is_final(&workflow);
            let lines = new_lines(&workflow, &logs, pod.as_deref(), &mut sent, ended);
            Some((stream::iter(lines), (None, sent, ended)))
        }
    });
    Ok(streamed(lines.flatten()))
}

#[derive(Debug, Deserialize)]
pub struct WatchQuery {
    #[serde(rename = "listOptions.labelSelector")]
    label_selector: Option<String>,
    #[serde(rename = "listOptions.fieldSelector")]
    field_selector: Option<String>,
}

/// `GET /workflow-events/{ns}`: `ADDED` for each workflow first seen, then `MODIFIED` each
/// time its status changes, until the client goes away.
pub async fn watch_workflows(
    State(state): State<AppState>,
    caller: ArgoCaller,
    Path(namespace): Path<String>,
    Query(query): Query<WatchQuery>,
) -> Result<Response, ArgoError> {
    let access = caller.namespace(&namespace)?;
    let selector = Arc::new(LabelSelector::parse(
        query.label_selector.as_deref().unwrap_or(""),
    )?);
    let only_name = query
        .field_selector
        .as_deref()
        .and_then(|f| f.strip_prefix("metadata.name="))
        .map(str::to_owned);
    let first = watched(&state, &access, only_name.as_deref()).await?;
    let start = (Some(first), BTreeMap::<String, Value>::new());
    let lines = stream::unfold(start, move |(read, mut seen)| {
        let (state, access, only_name) = (state.clone(), access.clone(), only_name.clone());
        let selector = Arc::clone(&selector);
        async move {
            let workflows = match read {
                Some(workflows) => workflows,
                None => {
                    tokio::time::sleep(POLL).await;
                    watched(&state, &access, only_name.as_deref()).await.ok()?
                }
            };
            let mut events = Vec::new();
            for workflow in workflows.into_iter().filter(|w| selector.matches(w)) {
                let name = workflow["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                let kind = match seen.get(&name) {
                    None => "ADDED",
                    Some(status) if *status != workflow["status"] => "MODIFIED",
                    Some(_) => continue,
                };
                seen.insert(name, workflow["status"].clone());
                events.push(result_line(json!({"type": kind, "object": workflow})));
            }
            Some((stream::iter(events), (None, seen)))
        }
    });
    Ok(streamed(lines.flatten()))
}

/// The workflows a watch looks at: one by name, or the namespace's.
async fn watched(
    state: &AppState,
    access: &Access,
    name: Option<&str>,
) -> Result<Vec<Value>, ArgoError> {
    Ok(match name {
        Some(name) => vec![state.services.argo_workflow(access, name).await?],
        None => state.services.list_argo_workflows(access).await?,
    })
}
