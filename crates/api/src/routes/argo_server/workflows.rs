//! WorkflowService: create (and dry run), lint, get, list, delete, and the PUT actions.

use super::error::{ArgoError, GrpcCode};
use super::select::{project_fields, LabelSelector};
use super::ArgoCaller;
use crate::AppState;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::Json;
use polyphemus_model::StopMode;
use serde::Deserialize;
use serde_json::{json, Value};

/// `io.argoproj.workflow.v1alpha1.WorkflowCreateRequest` (and `WorkflowLintRequest`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateRequest {
    workflow: Option<Value>,
    #[serde(default)]
    server_dry_run: bool,
    create_options: Option<CreateOptions>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateOptions {
    #[serde(default)]
    dry_run: Vec<String>,
}

impl CreateRequest {
    fn parse(body: Result<Json<Self>, JsonRejection>) -> Result<(Value, bool), ArgoError> {
        let Json(request) = body.map_err(|rejection| {
            ArgoError::invalid(format!("request body: {}", rejection.body_text()))
        })?;
        let workflow = request
            .workflow
            .ok_or_else(|| ArgoError::invalid("workflow: is required"))?;
        let dry_run = request.server_dry_run
            || request
                .create_options
                .is_some_and(|options| !options.dry_run.is_empty());
        Ok((workflow, dry_run))
    }
}

pub async fn create_workflow(
    State(state): State<AppState>,
    caller: ArgoCaller,
    Path(namespace): Path<String>,
    body: Result<Json<CreateRequest>, JsonRejection>,
) -> Result<Json<Value>, ArgoError> {
    let access = caller.namespace(&namespace)?;
    let (workflow, dry_run) = CreateRequest::parse(body)?;
    let created = state
        .services
        .create_argo_workflow(&access, workflow, dry_run)
        .await?;
    Ok(Json(created))
}

pub async fn lint_workflow(
    State(state): State<AppState>,
    caller: ArgoCaller,
    Path(namespace): Path<String>,
    body: Result<Json<CreateRequest>, JsonRejection>,
) -> Result<Json<Value>, ArgoError> {
    let access = caller.namespace(&namespace)?;
    let (workflow, _) = CreateRequest::parse(body)?;
    let linted = state.services.lint_argo_workflow(&access, workflow).await?;
    Ok(Json(linted))
}

pub async fn get_workflow(
    State(state): State<AppState>,
    caller: ArgoCaller,
    Path((namespace, name)): Path<(String, String)>,
) -> Result<Json<Value>, ArgoError> {
    let access = caller.namespace(&namespace)?;
    Ok(Json(state.services.argo_workflow(&access, &name).await?))
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    #[serde(rename = "listOptions.labelSelector")]
    label_selector: Option<String>,
    fields: Option<String>,
}

/// `WorkflowList`: the project's workflows the label selector keeps, `fields` applied.
pub async fn list_workflows(
    State(state): State<AppState>,
    caller: ArgoCaller,
    Path(namespace): Path<String>,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ArgoError> {
    let Query(query) = query.map_err(|rejection| ArgoError::invalid(rejection.body_text()))?;
    let access = caller.namespace(&namespace)?;
    let selector = LabelSelector::parse(query.label_selector.as_deref().unwrap_or(""))?;
    let items: Vec<Value> = state
        .services
        .list_argo_workflows(&access)
        .await?
        .into_iter()
        .filter(|workflow| selector.matches(workflow))
        .collect();
    let list = json!({"metadata": {}, "items": items});
    Ok(Json(project_fields(list, query.fields.as_deref())))
}

/// `WorkflowDeleteResponse` (`{}`): an ended ad-hoc workflow is deleted; runs of config
/// versions are history and running workflows must be stopped first (400 code 9).
pub async fn delete_workflow(
    State(state): State<AppState>,
    caller: ArgoCaller,
    Path((namespace, name)): Path<(String, String)>,
) -> Result<Json<Value>, ArgoError> {
    let access = caller.namespace(&namespace)?;
    state.services.delete_argo_workflow(&access, &name).await?;
    Ok(Json(json!({})))
}

/// `io.argoproj.workflow.v1alpha1.WorkflowRetryRequest` (the name is the path's).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RetryRequest {
    #[serde(default)]
    restart_successful: bool,
    #[serde(default)]
    node_field_selector: Option<String>,
    #[serde(default)]
    parameters: Vec<String>,
}

impl RetryRequest {
    /// The body as given; an empty one asks nothing more than the retry.
    fn parse(body: &[u8]) -> Result<polyphemus_core::services::ArgoRetry, ArgoError> {
        let request: Self = if body.iter().all(u8::is_ascii_whitespace) {
            Self::default()
        } else {
            serde_json::from_slice(body)
                .map_err(|error| ArgoError::invalid(format!("request body: {error}")))?
        };
        Ok(polyphemus_core::services::ArgoRetry {
            restart_successful: request.restart_successful,
            node_field_selector: request.node_field_selector,
            parameters: request.parameters,
        })
    }
}

/// `PUT …/{name}/stop|terminate|resume|resubmit|suspend|retry`.
pub async fn act_on_workflow(
    State(state): State<AppState>,
    caller: ArgoCaller,
    Path((namespace, name, action)): Path<(String, String, String)>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ArgoError> {
    let access = caller.namespace(&namespace)?;
    let services = &state.services;
    let workflow = match action.as_str() {
        "stop" => {
            services
                .end_argo_workflow(&access, &name, StopMode::Stop)
                .await?
        }
        "terminate" => {
            services
                .end_argo_workflow(&access, &name, StopMode::Terminate)
                .await?
        }
        "resume" => services.resume_argo_workflow(&access, &name).await?,
        "suspend" => services.suspend_argo_workflow(&access, &name).await?,
        "resubmit" => services.resubmit_argo_workflow(&access, &name).await?,
        "retry" => {
            let request = RetryRequest::parse(&body)?;
            services
                .retry_argo_workflow(&access, &name, request)
                .await?
        }
        "set" => {
            services.argo_workflow(&access, &name).await?;
            return Err(ArgoError::new(
                GrpcCode::Unimplemented,
                format!("{action} is not supported by Polyphemus's Argo API yet"),
            ));
        }
        other => {
            return Err(ArgoError::new(
                GrpcCode::NotFound,
                format!("no workflow action {other}"),
            ))
        }
    };
    Ok(Json(workflow))
}
