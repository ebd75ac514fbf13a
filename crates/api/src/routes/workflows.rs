//! Workflow manifests (read-only: the loaded workflow packages) and the ETL jobs.

use crate::error::ApiError;
use crate::extract::{ApiPath, Caller};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use polyphemus_model::{JobSpec, WorkflowManifest, WorkflowType};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_workflows))
        .routes(routes!(get_workflow))
        .routes(routes!(list_jobs))
}

/// The ETL jobs `run_job` can run, in any workflow: the config keys and secrets each reads.
#[utoipa::path(get, path = "/jobs", tag = "workflows",
    responses((status = 200, body = Vec<JobSpec>), (status = 401, body = super::Problem)))]
pub async fn list_jobs(State(state): State<AppState>, _caller: Caller) -> Json<Vec<JobSpec>> {
    Json(state.services.jobs().to_vec())
}

/// Every workflow manifest.
#[utoipa::path(get, path = "/workflows", tag = "workflows",
    responses((status = 200, body = Vec<WorkflowManifest>), (status = 401, body = super::Problem)))]
pub async fn list_workflows(
    State(state): State<AppState>,
    _caller: Caller,
) -> Json<Vec<WorkflowManifest>> {
    Json(
        state
            .services
            .registry
            .all()
            .map(|m| m.manifest.clone())
            .collect(),
    )
}

/// One workflow manifest.
#[utoipa::path(get, path = "/workflows/{name}", tag = "workflows",
    params(("name" = String, Path, description = "manifest name")),
    responses((status = 200, body = WorkflowManifest), (status = 404, body = super::Problem)))]
pub async fn get_workflow(
    State(state): State<AppState>,
    _caller: Caller,
    ApiPath(name): ApiPath<String>,
) -> Result<Json<WorkflowManifest>, ApiError> {
    WorkflowType::parse(name.as_str())
        .ok()
        .and_then(|workflow_type| state.services.registry.get(&workflow_type))
        .map(|m| Json(m.manifest.clone()))
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("workflow {name} not found")))
}
