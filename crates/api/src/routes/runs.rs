//! Runs: registration, state and output, previous state, run metadata.

use crate::error::ApiError;
use crate::extract::{run_id_in_path, ApiJson, ApiPath, ApiQuery, Caller};
use crate::AppState;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::Json;
use polyphemus_core::services::{
    parse_status_report, PageRequest, PreviousStateQuery, StateAnswer,
};
use polyphemus_core::CoreError;
use polyphemus_model::{
    ConfigId, Page, PatchRun, ProjectName, RegisterOutcome, RegisterRun, Run, RunChanged, RunId,
    RunMetadata, RunStatusReport, StopMode, SyncRunRequest,
};
use serde::Deserialize;
use serde_json::{Map, Value};
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register_run, super::run_search::list_project_runs))
        .routes(routes!(get_run, patch_run))
        .routes(routes!(list_config_runs))
        .routes(routes!(get_previous_state))
        .routes(routes!(put_run_metadata, get_run_metadata))
        .routes(routes!(sync_run_metadata))
        .routes(routes!(stop_run))
        .routes(routes!(terminate_run))
        .routes(routes!(super::run_resume::resume_run))
        .routes(routes!(super::run_resume::suspend_run))
}

/// Registers a run (idempotent: the same body again answers 200).
#[utoipa::path(post, path = "/projects/{project}/runs", tag = "runs",
    params(("project" = String, Path)), request_body = RegisterRun,
    responses((status = 201, body = Run), (status = 200, body = Run),
              (status = 404, body = super::Problem), (status = 409, body = super::Problem)))]
pub async fn register_run(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(project): ApiPath<ProjectName>,
    ApiJson(body): ApiJson<RegisterRun>,
) -> Result<(StatusCode, Json<Run>), ApiError> {
    let access = caller.access(&project);
    let (run, outcome) = state.services.register_run(&access, body).await?;
    let status = match outcome {
        RegisterOutcome::Created => StatusCode::CREATED,
        RegisterOutcome::AlreadyRegistered => StatusCode::OK,
    };
    Ok((status, Json(run)))
}

/// A run with its state and output.
#[utoipa::path(get, path = "/projects/{project}/runs/{run_id}", tag = "runs",
    params(("project" = String, Path), ("run_id" = String, Path)),
    responses((status = 200, body = Run), (status = 404, body = super::Problem)))]
pub async fn get_run(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((project, run_id)): ApiPath<(ProjectName, String)>,
) -> Result<Json<Run>, ApiError> {
    let access = caller.access(&project);
    let run_id = run_id_in_path(&run_id)?;
    Ok(Json(state.services.get_run(&access, &run_id).await?))
}

/// Merges state keys and appends or replaces output, atomically; 409 once the run has ended.
/// Answers with the run's whole state after the merge and the output's length, not the output
/// (`GET` has it): output past the server's limit is dropped and `output_truncated` says so.
/// With `Prefer: return=minimal` (RFC 7240), `state` holds only the keys merged: the answer
/// then costs the same however much state the run holds.
#[utoipa::path(patch, path = "/projects/{project}/runs/{run_id}", tag = "runs",
    params(("project" = String, Path), ("run_id" = String, Path)), request_body = PatchRun,
    responses((status = 200, body = RunChanged), (status = 400, body = super::Problem),
              (status = 404, body = super::Problem), (status = 409, body = super::Problem)))]
pub async fn patch_run(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((project, run_id)): ApiPath<(ProjectName, String)>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<PatchRun>,
) -> Result<Json<RunChanged>, ApiError> {
    let access = caller.access(&project);
    let run_id = run_id_in_path(&run_id)?;
    let answer = state_answer(&headers);
    Ok(Json(
        state
            .services
            .patch_run(&access, &run_id, body, answer)
            .await?,
    ))
}

/// `Prefer: return=minimal` asks for only the merged keys back; any other preference (or none)
/// gets the whole state.
fn state_answer(headers: &HeaderMap) -> StateAnswer {
    let minimal = headers
        .get_all(header::HeaderName::from_static("prefer"))
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|preference| preference.trim().eq_ignore_ascii_case("return=minimal"));
    if minimal {
        StateAnswer::MergedKeys
    } else {
        StateAnswer::WholeState
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Page size, 1-500 (default 50).
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Runs of a config, newest first.
#[utoipa::path(get, path = "/projects/{project}/configs/{config_id}/runs", tag = "runs",
    params(("project" = String, Path), ("config_id" = i64, Path), PageQuery),
    responses((status = 200, body = Page<Run>), (status = 404, body = super::Problem)))]
pub async fn list_config_runs(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((project, config_id)): ApiPath<(ProjectName, ConfigId)>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Json<Page<Run>>, ApiError> {
    let access = caller.access(&project);
    let page = PageRequest::parse(query.limit, query.cursor.as_deref())?;
    Ok(Json(
        state.services.list_runs(&access, config_id, page).await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PreviousStateParams {
    /// Comma-separated state keys.
    pub keys: String,
    /// Every value, newest first, instead of the latest.
    #[serde(default)]
    pub collect: bool,
    /// Only runs registered before this one.
    pub before_run_id: Option<String>,
    /// With `collect`, at most this many values per key (default 1000).
    pub limit: Option<i64>,
}

/// The latest value of each key among earlier runs of this config (any version).
#[utoipa::path(get, path = "/projects/{project}/configs/{config_id}/previous_state", tag = "runs",
    params(("project" = String, Path), ("config_id" = i64, Path), PreviousStateParams),
    responses((status = 200, body = Object), (status = 400, body = super::Problem),
              (status = 404, body = super::Problem)))]
pub async fn get_previous_state(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((project, config_id)): ApiPath<(ProjectName, ConfigId)>,
    ApiQuery(params): ApiQuery<PreviousStateParams>,
) -> Result<Json<Map<String, Value>>, ApiError> {
    let access = caller.access(&project);
    let query = PreviousStateQuery {
        keys: params
            .keys
            .split(',')
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(str::to_owned)
            .collect(),
        collect: params.collect,
        before_run_id: params
            .before_run_id
            .filter(|r| !r.is_empty())
            .map(|raw| {
                RunId::parse(raw.as_str()).map_err(|_| {
                    CoreError::bad_field("/before_run_id", format!("no run {raw} in this project"))
                })
            })
            .transpose()?,
        limit: params.limit,
    };
    Ok(Json(
        state
            .services
            .previous_state(&access, config_id, query)
            .await?,
    ))
}

/// Stores the orchestrator's status of a run (Argo's shape), deriving duration, retries and
/// failed nodes. A final phase ends the run (its task token is revoked); an ended run takes
/// only another final status (409 otherwise).
#[utoipa::path(put, path = "/projects/{project}/runs/{run_id}/metadata", tag = "runs",
    params(("project" = String, Path), ("run_id" = String, Path)), request_body = RunStatusReport,
    responses((status = 200, body = RunMetadata), (status = 409, body = super::Problem),
              (status = 422, body = super::Problem)))]
pub async fn put_run_metadata(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((project, run_id)): ApiPath<(ProjectName, String)>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<RunMetadata>, ApiError> {
    let report = parse_status_report(body)?;
    let access = caller.access(&project);
    let run_id = run_id_in_path(&run_id)?;
    Ok(Json(
        state
            .services
            .put_run_metadata(&access, &run_id, report)
            .await?,
    ))
}

/// The stored run metadata.
#[utoipa::path(get, path = "/projects/{project}/runs/{run_id}/metadata", tag = "runs",
    params(("project" = String, Path), ("run_id" = String, Path)),
    responses((status = 200, body = RunMetadata), (status = 404, body = super::Problem)))]
pub async fn get_run_metadata(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((project, run_id)): ApiPath<(ProjectName, String)>,
) -> Result<Json<RunMetadata>, ApiError> {
    let access = caller.access(&project);
    let run_id = run_id_in_path(&run_id)?;
    Ok(Json(
        state.services.get_run_metadata(&access, &run_id).await?,
    ))
}

/// Reads the run's workflow status and node logs from the orchestrator and stores them as run
/// metadata and, once the status is final, as the output after what the jobs appended (the
/// `onExit` hook's call; an extension of the spec).
#[utoipa::path(post, path = "/projects/{project}/runs/{run_id}/sync", tag = "runs",
    params(("project" = String, Path), ("run_id" = String, Path)), request_body = SyncRunRequest,
    responses((status = 200, body = RunMetadata), (status = 404, body = super::Problem),
              (status = 409, body = super::Problem), (status = 503, body = super::Problem)))]
pub async fn sync_run_metadata(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((project, run_id)): ApiPath<(ProjectName, String)>,
    ApiJson(body): ApiJson<SyncRunRequest>,
) -> Result<Json<RunMetadata>, ApiError> {
    let access = caller.access(&project);
    let run_id = run_id_in_path(&run_id)?;
    Ok(Json(
        state
            .services
            .sync_run_from_orchestrator(
                &access,
                &run_id,
                body.workflow_name.as_deref(),
                body.namespace.as_deref(),
            )
            .await?,
    ))
}

/// Stops the run's workflow: running steps are ended, exit handlers still run (`argo stop`).
/// The run ends `Failed`; the event log names who stopped it.
#[utoipa::path(post, path = "/projects/{project}/runs/{run_id}/stop", tag = "runs",
    params(("project" = String, Path), ("run_id" = String, Path)),
    responses((status = 202, body = Run), (status = 403, body = super::Problem),
              (status = 404, body = super::Problem), (status = 409, body = super::Problem),
              (status = 503, body = super::Problem)))]
pub async fn stop_run(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((project, run_id)): ApiPath<(ProjectName, String)>,
) -> Result<(StatusCode, Json<Run>), ApiError> {
    let access = caller.access(&project);
    let run_id = run_id_in_path(&run_id)?;
    let run = state
        .services
        .stop_run(&access, &run_id, StopMode::Stop)
        .await?;
    Ok((StatusCode::ACCEPTED, Json(run)))
}

/// Terminates the run's workflow: everything ends at once, exit handlers do not run
/// (`argo terminate`). The event log names who terminated it.
#[utoipa::path(post, path = "/projects/{project}/runs/{run_id}/terminate", tag = "runs",
    params(("project" = String, Path), ("run_id" = String, Path)),
    responses((status = 202, body = Run), (status = 403, body = super::Problem),
              (status = 404, body = super::Problem), (status = 409, body = super::Problem),
              (status = 503, body = super::Problem)))]
pub async fn terminate_run(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((project, run_id)): ApiPath<(ProjectName, String)>,
) -> Result<(StatusCode, Json<Run>), ApiError> {
    let access = caller.access(&project);
    let run_id = run_id_in_path(&run_id)?;
    let run = state
        .services
        .stop_run(&access, &run_id, StopMode::Terminate)
        .await?;
    Ok((StatusCode::ACCEPTED, Json(run)))
}
