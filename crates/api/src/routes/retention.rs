//! A project's retention policy: how long ended runs and their outputs are kept, and how many.

use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, Caller};
use crate::AppState;
use axum::extract::State;
use axum::Json;
use polyphemus_model::{ProjectName, PutRetentionPolicy, RetentionPolicy};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_retention_policy, put_retention_policy))
}

/// The project's retention policy (viewer). A project that never set one keeps everything:
/// every field is `null`.
#[utoipa::path(get, path = "/projects/{project}/retention", tag = "projects",
    params(("project" = String, Path)),
    responses((status = 200, body = RetentionPolicy), (status = 404, body = super::Problem)))]
pub async fn get_retention_policy(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(project): ApiPath<ProjectName>,
) -> Result<Json<RetentionPolicy>, ApiError> {
    let access = caller.access(&project);
    Ok(Json(state.services.get_retention(&access).await?))
}

/// Changes the given fields of the project's retention policy (project admin); `null` keeps
/// that part forever. 422 names each field that is not a whole number in its range.
#[utoipa::path(put, path = "/projects/{project}/retention", tag = "projects",
    params(("project" = String, Path)), request_body = PutRetentionPolicy,
    responses((status = 200, body = RetentionPolicy), (status = 404, body = super::Problem),
              (status = 422, body = super::Problem)))]
pub async fn put_retention_policy(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(project): ApiPath<ProjectName>,
    ApiJson(body): ApiJson<PutRetentionPolicy>,
) -> Result<Json<RetentionPolicy>, ApiError> {
    let access = caller.access(&project);
    Ok(Json(state.services.put_retention(&access, body).await?))
}
