//! The Argo Server double's resume (`PUT /api/v1/workflows/{namespace}/{name}/resume`, a
//! `WorkflowResumeRequest`), as Argo's `ResumeWorkflow` does it: `spec.suspend` is cleared and
//! every Running `Suspend` node Succeeds; a workflow with nothing suspended is answered 200
//! unchanged. `suspend_at_first_step` makes the first step such a node. Its suspend (a
//! `WorkflowSuspendRequest`), as Argo's `SuspendWorkflow`: `spec.suspend: true`, refused for a
//! completed workflow.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Json;
use serde_json::{json, Value};
use std::collections::HashMap;

use crate::argo_double::{admit, answer, grpc_error, ArgoDouble, Shared};
use crate::argo_nodes::time;

pub const WF_RESUME: &str = "/api/v1/workflows/{namespace}/{name}/resume";
pub const WF_SUSPEND: &str = "/api/v1/workflows/{namespace}/{name}/suspend";

impl ArgoDouble {
    /// The entrypoint's first step is a suspend step waiting for a resume.
    pub fn suspend_at_first_step(&self, name: &str) {
        self.start_first_step(name);
        let mut inner = self.lock();
        let workflow = inner.workflows.get_mut(name).expect("workflow");
        let child = workflow["status"]["nodes"][name]["children"][0]
            .as_str()
            .expect("first step")
            .to_owned();
        workflow["status"]["nodes"][&child]["type"] = json!("Suspend");
    }
}

pub async fn resume_workflow(
    State(inner): Shared,
    Path((namespace, name)): Path<(String, String)>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
    Json(body): Json<Value>,
) -> Response {
    let mut inner = inner.lock().expect("double state");
    let route = ("put", WF_RESUME);
    let definition = "io.argoproj.workflow.v1alpha1.WorkflowResumeRequest";
    let path = format!("/api/v1/workflows/{namespace}/{name}/resume");
    if let Some(refused) = admit(
        &mut inner,
        route,
        path,
        &headers,
        &query,
        Some((definition, &body)),
    ) {
        return refused;
    }
    let Some(mut workflow) = inner.workflows.get(&name).cloned() else {
        return grpc_error(
            StatusCode::NOT_FOUND,
            5,
            &format!("workflows.argoproj.io \"{name}\" not found"),
        );
    };
    if let Some(spec) = workflow["spec"].as_object_mut() {
        spec.remove("suspend");
    }
    if let Some(nodes) = workflow["status"]["nodes"].as_object_mut() {
        for node in nodes.values_mut() {
            if node["type"] == "Suspend" && node["phase"] == "Running" {
                node["phase"] = json!("Succeeded");
                node["finishedAt"] = json!(time(3));
            }
        }
    }
    inner.workflows.insert(name, workflow.clone());
    answer(&mut inner, route, workflow)
}

pub async fn suspend_workflow(
    State(inner): Shared,
    Path((namespace, name)): Path<(String, String)>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
    Json(body): Json<Value>,
) -> Response {
    let mut inner = inner.lock().expect("double state");
    let route = ("put", WF_SUSPEND);
    let definition = "io.argoproj.workflow.v1alpha1.WorkflowSuspendRequest";
    let path = format!("/api/v1/workflows/{namespace}/{name}/suspend");
    if let Some(refused) = admit(
        &mut inner,
        route,
        path,
        &headers,
        &query,
        Some((definition, &body)),
    ) {
        return refused;
    }
    let Some(mut workflow) = inner.workflows.get(&name).cloned() else {
        return grpc_error(
            StatusCode::NOT_FOUND,
            5,
            &format!("workflows.argoproj.io \"{name}\" not found"),
        );
    };
    if workflow["metadata"]["labels"]["workflows.argoproj.io/completed"] == "true" {
        return grpc_error(
            StatusCode::BAD_REQUEST,
            9,
            "cannot suspend completed workflows",
        );
    }
    workflow["spec"]["suspend"] = json!(true);
    inner.workflows.insert(name, workflow.clone());
    answer(&mut inner, route, workflow)
}
