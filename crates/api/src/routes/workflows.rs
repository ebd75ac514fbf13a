//! Workflow manifests (the loaded workflow packages, reloaded by a global admin) and the ETL
//! jobs.

use crate::error::ApiError;
use crate::extract::{ApiPath, Caller};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use polyphemus_model::{
    JobSpec, WorkflowDetail, WorkflowManifest, WorkflowType, WorkflowsReloaded,
};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_workflows))
        .routes(routes!(get_workflow))
        .routes(routes!(reload_workflows))
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
            .registry()
            .all()
            .map(|m| m.manifest.clone())
            .collect(),
    )
}

/// Re-reads the package directories: every package is checked first, and a set with any
/// problem is refused (422 listing each, as `file#location`) while the loaded one stays.
#[utoipa::path(post, path = "/workflows/reload", tag = "workflows",
    responses((status = 200, body = WorkflowsReloaded), (status = 403, body = super::Problem),
        (status = 422, body = super::Problem)))]
pub async fn reload_workflows(
    State(state): State<AppState>,
    Caller(principal): Caller,
) -> Result<Json<WorkflowsReloaded>, ApiError> {
    Ok(Json(state.services.reload_workflows(&principal).await?))
}

/// One workflow manifest, with the configs (of projects the token sees) whose latest version
/// its current config schema refuses: those cannot be launched until changed.
#[utoipa::path(get, path = "/workflows/{name}", tag = "workflows",
    params(("name" = String, Path, description = "manifest name")),
    responses((status = 200, body = WorkflowDetail), (status = 404, body = super::Problem)))]
pub async fn get_workflow(
    State(state): State<AppState>,
    Caller(principal): Caller,
    ApiPath(name): ApiPath<String>,
) -> Result<Json<WorkflowDetail>, ApiError> {
    let not_found = || ApiError::new(StatusCode::NOT_FOUND, format!("workflow {name} not found"));
    let workflow_type = WorkflowType::parse(name.as_str()).map_err(|_| not_found())?;
    Ok(Json(
        state
            .services
            .workflow_detail(&principal, &workflow_type)
            .await?,
    ))
}
