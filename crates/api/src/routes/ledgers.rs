//! Ledgers: what a config's runs delivered, recorded by a run's jobs and looked up by name.

use crate::error::ApiError;
use crate::extract::{run_id_in_path, ApiJson, ApiPath, Caller};
use crate::AppState;
use axum::extract::State;
use axum::Json;
use polyphemus_model::{
    ConfigId, LedgerEntries, LedgerName, LedgerRecorded, LedgerSummary, LookupLedger, ProjectName,
    RecordLedger,
};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(record_ledger))
        .routes(routes!(lookup_ledger))
        .routes(routes!(list_ledgers))
}

/// Records entries in a ledger of the run's config (editor, or the run's task token), each
/// replacing the record of its name; an empty `entries` opens the ledger. At most 5,000 per
/// request. 409 once the run has ended.
#[utoipa::path(post, path = "/projects/{project}/runs/{run_id}/ledgers/{ledger}", tag = "runs",
    params(("project" = String, Path), ("run_id" = String, Path), ("ledger" = String, Path)),
    request_body = RecordLedger,
    responses((status = 200, body = LedgerRecorded), (status = 400, body = super::Problem),
              (status = 404, body = super::Problem), (status = 409, body = super::Problem)))]
pub async fn record_ledger(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((project, run_id, ledger)): ApiPath<(ProjectName, String, LedgerName)>,
    ApiJson(body): ApiJson<RecordLedger>,
) -> Result<Json<LedgerRecorded>, ApiError> {
    let access = caller.access(&project);
    let run_id = run_id_in_path(&run_id)?;
    Ok(Json(
        state
            .services
            .record_ledger(&access, &run_id, &ledger, body)
            .await?,
    ))
}

/// The newest record of each of `names` that a ledger of the config holds (viewer, or a task
/// token of the config), and whether any run recorded in it (no names: only that). At most
/// 5,000 names per request;
/// the cost is one index probe per name, however many runs the config has.
#[utoipa::path(post, path = "/projects/{project}/configs/{config_id}/ledgers/{ledger}/lookup",
    tag = "configs",
    params(("project" = String, Path), ("config_id" = i64, Path), ("ledger" = String, Path)),
    request_body = LookupLedger,
    responses((status = 200, body = LedgerEntries), (status = 400, body = super::Problem),
              (status = 404, body = super::Problem)))]
pub async fn lookup_ledger(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((project, config_id, ledger)): ApiPath<(ProjectName, ConfigId, LedgerName)>,
    ApiJson(body): ApiJson<LookupLedger>,
) -> Result<Json<LedgerEntries>, ApiError> {
    let access = caller.access(&project);
    Ok(Json(
        state
            .services
            .lookup_ledger(&access, config_id, &ledger, body)
            .await?,
    ))
}

/// The config's ledgers with how many entries each holds (viewer).
#[utoipa::path(get, path = "/projects/{project}/configs/{config_id}/ledgers", tag = "configs",
    params(("project" = String, Path), ("config_id" = i64, Path)),
    responses((status = 200, body = Vec<LedgerSummary>), (status = 404, body = super::Problem)))]
pub async fn list_ledgers(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((project, config_id)): ApiPath<(ProjectName, ConfigId)>,
) -> Result<Json<Vec<LedgerSummary>>, ApiError> {
    let access = caller.access(&project);
    Ok(Json(state.services.list_ledgers(&access, config_id).await?))
}
