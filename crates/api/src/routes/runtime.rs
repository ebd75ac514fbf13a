//! Runtime configs (schedule, disabled, runtime params) and launching a run now.

use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, Caller};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use polyphemus_model::{
    ConfigId, LaunchRequest, ProjectName, PutRuntimeConfig, Run, RuntimeConfig, SubmitWorkflow,
};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_runtime_config, put_runtime_config))
        .routes(routes!(resume_schedule))
        .routes(routes!(launch_config))
        .routes(routes!(submit_workflow))
}

/// The runtime config of a config (defaults when never set).
#[utoipa::path(get, path = "/projects/{project}/configs/{config_id}/runtime", tag = "runtime",
    params(("project" = String, Path), ("config_id" = i64, Path)),
    responses((status = 200, body = RuntimeConfig), (status = 404, body = super::Problem)))]
pub async fn get_runtime_config(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((project, config_id)): ApiPath<(ProjectName, ConfigId)>,
) -> Result<Json<RuntimeConfig>, ApiError> {
    let access = caller.access(&project);
    Ok(Json(state.services.get_runtime(&access, config_id).await?))
}

/// Changes the given fields; `null` clears `run_interval_s`, `cron` or `timezone`.
#[utoipa::path(put, path = "/projects/{project}/configs/{config_id}/runtime", tag = "runtime",
    params(("project" = String, Path), ("config_id" = i64, Path)), request_body = PutRuntimeConfig,
    responses((status = 200, body = RuntimeConfig), (status = 422, body = super::Problem)))]
pub async fn put_runtime_config(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((project, config_id)): ApiPath<(ProjectName, ConfigId)>,
    ApiJson(body): ApiJson<PutRuntimeConfig>,
) -> Result<Json<RuntimeConfig>, ApiError> {
    let access = caller.access(&project);
    Ok(Json(
        state.services.put_runtime(&access, config_id, body).await?,
    ))
}

/// Clears the pause of a schedule that paused itself after failed runs; it launches again
/// from its next due time.
#[utoipa::path(post, path = "/projects/{project}/configs/{config_id}/runtime/resume", tag = "runtime",
    params(("project" = String, Path), ("config_id" = i64, Path)),
    responses((status = 200, body = RuntimeConfig), (status = 404, body = super::Problem)))]
pub async fn resume_schedule(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((project, config_id)): ApiPath<(ProjectName, ConfigId)>,
) -> Result<Json<RuntimeConfig>, ApiError> {
    let access = caller.access(&project);
    Ok(Json(
        state.services.resume_schedule(&access, config_id).await?,
    ))
}

/// Submits a run of the config (latest version unless given) to the orchestrator. While a run
/// of the config is active: 409 naming it, unless `force` or its policy is `Allow`.
#[utoipa::path(post, path = "/projects/{project}/configs/{config_id}/launch", tag = "runtime",
    params(("project" = String, Path), ("config_id" = i64, Path)), request_body = LaunchRequest,
    responses((status = 202, body = Run), (status = 404, body = super::Problem),
              (status = 409, body = super::Problem), (status = 503, body = super::Problem)))]
pub async fn launch_config(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((project, config_id)): ApiPath<(ProjectName, ConfigId)>,
    ApiJson(body): ApiJson<LaunchRequest>,
) -> Result<(StatusCode, Json<Run>), ApiError> {
    let access = caller.access(&project);
    let run = state
        .services
        .launch(&access, config_id, body.version_number, body.force)
        .await?;
    Ok((StatusCode::ACCEPTED, Json(run)))
}

/// Runs the given Argo workflow document for a config version, like `argo submit`
/// (`polyphemus submit`; an extension of the spec).
#[utoipa::path(post, path = "/projects/{project}/configs/{config_id}/submit", tag = "runtime",
    params(("project" = String, Path), ("config_id" = i64, Path)), request_body = SubmitWorkflow,
    responses((status = 202, body = Run), (status = 404, body = super::Problem),
              (status = 422, body = super::Problem), (status = 503, body = super::Problem)))]
pub async fn submit_workflow(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((project, config_id)): ApiPath<(ProjectName, ConfigId)>,
    ApiJson(body): ApiJson<SubmitWorkflow>,
) -> Result<(StatusCode, Json<Run>), ApiError> {
    let access = caller.access(&project);
    let run = state
        .services
        .submit_workflow(&access, config_id, body)
        .await?;
    Ok((StatusCode::ACCEPTED, Json(run)))
}
