//! Backfills: one run of a config per time window, one after another (editors start, stop and
//! resume them; viewers read their progress).

use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, Caller};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use polyphemus_model::{Backfill, BackfillId, ConfigId, ProjectName, StartBackfill};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(start_backfill, list_backfills))
        .routes(routes!(get_backfill))
        .routes(routes!(stop_backfill))
        .routes(routes!(resume_backfill))
}

/// Starts a backfill of the config's latest version: one run per window of `[from, to)`, each
/// with `start_time`, `end_time` and `backfill_id` in its params. 422 names the field (`from`,
/// `to`, `every`; at most 10,000 windows); 409 names the config's running backfill.
#[utoipa::path(post, path = "/projects/{project}/configs/{config_id}/backfills", tag = "backfills",
    params(("project" = String, Path), ("config_id" = i64, Path)), request_body = StartBackfill,
    responses((status = 201, body = Backfill), (status = 404, body = super::Problem),
              (status = 409, body = super::Problem), (status = 422, body = super::Problem)))]
pub async fn start_backfill(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((project, config_id)): ApiPath<(ProjectName, ConfigId)>,
    ApiJson(body): ApiJson<StartBackfill>,
) -> Result<(StatusCode, Json<Backfill>), ApiError> {
    let access = caller.access(&project);
    let backfill = state
        .services
        .start_backfill(&access, config_id, body)
        .await?;
    Ok((StatusCode::CREATED, Json(backfill)))
}

/// The config's backfills, newest first (the last 100).
#[utoipa::path(get, path = "/projects/{project}/configs/{config_id}/backfills", tag = "backfills",
    params(("project" = String, Path), ("config_id" = i64, Path)),
    responses((status = 200, body = Vec<Backfill>), (status = 404, body = super::Problem)))]
pub async fn list_backfills(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((project, config_id)): ApiPath<(ProjectName, ConfigId)>,
) -> Result<Json<Vec<Backfill>>, ApiError> {
    let access = caller.access(&project);
    Ok(Json(
        state.services.list_backfills(&access, config_id).await?,
    ))
}

/// A backfill's progress, with the runs launched for each window so far.
#[utoipa::path(get, path = "/projects/{project}/backfills/{backfill_id}", tag = "backfills",
    params(("project" = String, Path), ("backfill_id" = i64, Path)),
    responses((status = 200, body = Backfill), (status = 404, body = super::Problem)))]
pub async fn get_backfill(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((project, id)): ApiPath<(ProjectName, BackfillId)>,
) -> Result<Json<Backfill>, ApiError> {
    let access = caller.access(&project);
    Ok(Json(state.services.get_backfill(&access, id).await?))
}

/// Stops a running backfill; a run of it still active is left to finish. 409 when it is not
/// running.
#[utoipa::path(post, path = "/projects/{project}/backfills/{backfill_id}/stop", tag = "backfills",
    params(("project" = String, Path), ("backfill_id" = i64, Path)),
    responses((status = 200, body = Backfill), (status = 404, body = super::Problem),
              (status = 409, body = super::Problem)))]
pub async fn stop_backfill(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((project, id)): ApiPath<(ProjectName, BackfillId)>,
) -> Result<Json<Backfill>, ApiError> {
    let access = caller.access(&project);
    Ok(Json(state.services.stop_backfill(&access, id).await?))
}

/// Resumes a stopped or failed backfill from the first window not yet succeeded (a failed
/// window is retried). 409 when it is running or done, or another backfill of the config runs.
#[utoipa::path(post, path = "/projects/{project}/backfills/{backfill_id}/resume", tag = "backfills",
    params(("project" = String, Path), ("backfill_id" = i64, Path)),
    responses((status = 200, body = Backfill), (status = 404, body = super::Problem),
              (status = 409, body = super::Problem)))]
pub async fn resume_backfill(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((project, id)): ApiPath<(ProjectName, BackfillId)>,
) -> Result<Json<Backfill>, ApiError> {
    let access = caller.access(&project);
    Ok(Json(state.services.resume_backfill(&access, id).await?))
}
