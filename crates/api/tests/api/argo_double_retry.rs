//! The Argo Server double's retry (`PUT /api/v1/workflows/{namespace}/{name}/retry`, a
//! `WorkflowRetryRequest`), as Argo's `FormulateRetryWorkflow` does it for the double's flat
//! steps: only a Failed or Error workflow (a Succeeded one with `restartSuccessful` and a
//! `nodeFieldSelector`), failed Pod nodes and the exit handler's go, the rest is kept, the
//! workflow is Running again under the same name and uid with `parameters` overriding its
//! arguments. The test then says how it ends (`ArgoDouble::finish`).

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Json;
use serde_json::{json, Value};
use std::collections::HashMap;

use crate::argo_double::{admit, answer, grpc_error, Shared};

pub const WF_RETRY: &str = "/api/v1/workflows/{namespace}/{name}/retry";

pub async fn retry_workflow(
    State(inner): Shared,
    Path((namespace, name)): Path<(String, String)>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
    Json(body): Json<Value>,
) -> Response {
    let mut inner = inner.lock().expect("double state");
    let route = ("put", WF_RETRY);
    let definition = "io.argoproj.workflow.v1alpha1.WorkflowRetryRequest";
    let path = format!("/api/v1/workflows/{namespace}/{name}/retry");
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
    let selected = body["restartSuccessful"] == true
        && body["nodeFieldSelector"]
            .as_str()
            .is_some_and(|s| !s.is_empty());
    match workflow["status"]["phase"].as_str().unwrap_or_default() {
        "Failed" | "Error" => {}
        "Succeeded" if selected => {}
        "Succeeded" => {
            return grpc_error(
                StatusCode::BAD_REQUEST,
                3,
                "To retry a succeeded workflow, set the options restartSuccessful and nodeFieldSelector",
            )
        }
        phase => {
            return grpc_error(
                StatusCode::BAD_REQUEST,
                3,
                &format!("Cannot retry a workflow in phase {phase}"),
            )
        }
    }
    let on_exit = format!("{name}.onExit");
    if let Some(nodes) = workflow["status"]["nodes"].as_object_mut() {
        nodes.retain(|_, node| {
            let failed =
                node["type"] == "Pod" && matches!(node["phase"].as_str(), Some("Failed" | "Error"));
            !failed && node["name"] != on_exit.as_str()
        });
        if let Some(root) = nodes.get_mut(&name) {
            root["phase"] = json!("Running");
        }
    }
    for parameter in body["parameters"].as_array().into_iter().flatten() {
        let Some((key, value)) = parameter.as_str().and_then(|p| p.split_once('=')) else {
            return grpc_error(
                StatusCode::BAD_REQUEST,
                3,
                "expected parameter of the form: NAME=VALUE",
            );
        };
        let arguments = &mut workflow["spec"]["arguments"]["parameters"];
        if let Some(known) = arguments
            .as_array_mut()
            .and_then(|all| all.iter_mut().find(|p| p["name"] == key))
        {
            known["value"] = json!(value);
        }
    }
    let status = &mut workflow["status"];
    status["phase"] = json!("Running");
    if let Some(status) = status.as_object_mut() {
        status.remove("finishedAt");
        status.remove("message");
    }
    if let Some(labels) = workflow["metadata"]["labels"].as_object_mut() {
        labels.remove("workflows.argoproj.io/completed");
    }
    inner.workflows.insert(name, workflow.clone());
    answer(&mut inner, route, workflow)
}
