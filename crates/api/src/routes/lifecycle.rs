//! Acting on what failed: resubmit a run, restore a config version, archive a config.

use crate::error::ApiError;
use crate::extract::{run_id_in_path, ApiJson, ApiPath, Caller};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use polyphemus_model::{
    Config, ConfigArchive, ConfigId, ProjectName, ResubmitRequest, Run, VersionNumber,
};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(resubmit_run))
        .routes(routes!(restore_config_version))
        .routes(routes!(archive_config))
        .routes(routes!(unarchive_config))
}

/// Submits a new run of the run's config version with the same run params. 409 while the
/// config is archived, or while a run of it is active (naming it) unless `force`.
#[utoipa::path(post, path = "/projects/{project}/runs/{run_id}/resubmit", tag = "runs",
    params(("project" = String, Path), ("run_id" = String, Path)), request_body = ResubmitRequest,
    responses((status = 201, body = Run), (status = 403, body = super::Problem),
              (status = 404, body = super::Problem), (status = 409, body = super::Problem),
              (status = 503, body = super::Problem)))]
pub async fn resubmit_run(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((project, run_id)): ApiPath<(ProjectName, String)>,
    ApiJson(body): ApiJson<ResubmitRequest>,
) -> Result<(StatusCode, Json<Run>), ApiError> {
    let access = caller.access(&project);
    let run_id = run_id_in_path(&run_id)?;
    let run = state
        .services
        .resubmit_run(&access, &run_id, body.force)
        .await?;
    Ok((StatusCode::CREATED, Json(run)))
}

/// Makes version N+1 with the config of this version (comment `restored from version k`);
/// secrets stay as they are. 409 when the latest version already has that config.
#[utoipa::path(post,
    path = "/projects/{project}/configs/{config_id}/versions/{version_number}/restore",
    tag = "configs",
    params(("project" = String, Path), ("config_id" = i64, Path), ("version_number" = i32, Path)),
    responses((status = 201, body = Config), (status = 403, body = super::Problem),
              (status = 404, body = super::Problem), (status = 409, body = super::Problem),
              (status = 422, body = super::Problem)))]
pub async fn restore_config_version(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((project, config_id, version)): ApiPath<(ProjectName, ConfigId, VersionNumber)>,
) -> Result<(StatusCode, Json<Config>), ApiError> {
    let access = caller.access(&project);
    let config = state
        .services
        .restore_config_version(&access, config_id, version)
        .await?;
    Ok((StatusCode::CREATED, Json(config)))
}

/// Archives a config: hidden from the status list (unless `?archived=true`), its schedule
/// is off, launching it is 409; its versions and runs are kept.
#[utoipa::path(post, path = "/projects/{project}/configs/{config_id}/archive", tag = "configs",
    params(("project" = String, Path), ("config_id" = i64, Path)),
    responses((status = 200, body = ConfigArchive), (status = 403, body = super::Problem),
              (status = 404, body = super::Problem)))]
pub async fn archive_config(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((project, config_id)): ApiPath<(ProjectName, ConfigId)>,
) -> Result<Json<ConfigArchive>, ApiError> {
    let access = caller.access(&project);
    let archive = state
        .services
        .set_config_archived(&access, config_id, true)
        .await?;
    Ok(Json(archive))
}

/// Brings an archived config back: listed, scheduled and launched again.
#[utoipa::path(post, path = "/projects/{project}/configs/{config_id}/unarchive", tag = "configs",
    params(("project" = String, Path), ("config_id" = i64, Path)),
    responses((status = 200, body = ConfigArchive), (status = 403, body = super::Problem),
              (status = 404, body = super::Problem)))]
pub async fn unarchive_config(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((project, config_id)): ApiPath<(ProjectName, ConfigId)>,
) -> Result<Json<ConfigArchive>, ApiError> {
    let access = caller.access(&project);
    let archive = state
        .services
        .set_config_archived(&access, config_id, false)
        .await?;
    Ok(Json(archive))
}
