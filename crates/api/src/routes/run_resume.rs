//! Suspending a running run (`argo suspend`) and resuming a suspended one (`argo resume`).

use crate::error::ApiError;
use crate::extract::{run_id_in_path, ApiPath, Caller};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use polyphemus_model::{ProjectName, Run};

/// Resumes the run's workflow (`argo resume`): a workflow-level suspension and every
/// `suspend` step waiting end, and the run goes on. 409 when nothing of the run is suspended
/// (it has ended, or it never was); the event log names who resumed it.
#[utoipa::path(post, path = "/projects/{project}/runs/{run_id}/resume", tag = "runs",
    params(("project" = String, Path), ("run_id" = String, Path)),
    responses((status = 202, body = Run), (status = 403, body = super::Problem),
              (status = 404, body = super::Problem), (status = 409, body = super::Problem),
              (status = 503, body = super::Problem)))]
pub async fn resume_run(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((project, run_id)): ApiPath<(ProjectName, String)>,
) -> Result<(StatusCode, Json<Run>), ApiError> {
    let access = caller.access(&project);
    let run_id = run_id_in_path(&run_id)?;
    let run = state.services.resume_run(&access, &run_id).await?;
    Ok((StatusCode::ACCEPTED, Json(run)))
}

/// Suspends the run's workflow (`argo suspend`): steps already running go on, no new step
/// starts until `resume`. 409 when the run has ended; the event log names who suspended it.
#[utoipa::path(post, path = "/projects/{project}/runs/{run_id}/suspend", tag = "runs",
    params(("project" = String, Path), ("run_id" = String, Path)),
    responses((status = 202, body = Run), (status = 403, body = super::Problem),
              (status = 404, body = super::Problem), (status = 409, body = super::Problem),
              (status = 503, body = super::Problem)))]
pub async fn suspend_run(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((project, run_id)): ApiPath<(ProjectName, String)>,
) -> Result<(StatusCode, Json<Run>), ApiError> {
    let access = caller.access(&project);
    let run_id = run_id_in_path(&run_id)?;
    let run = state.services.suspend_run(&access, &run_id).await?;
    Ok((StatusCode::ACCEPTED, Json(run)))
}
