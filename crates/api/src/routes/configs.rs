//! Configs, their versions and secrets.

use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ApiQuery, Caller};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use polyphemus_core::services::PageRequest;
use polyphemus_model::{
    ChangeOutcome, Config, ConfigId, ConfigVersionSummary, CreateConfig, Page, PatchConfig,
    ProjectName, SecretsPatch, VersionNumber, WorkflowType,
};
use secrecy::ExposeSecret;
use serde::Deserialize;
use std::collections::BTreeMap;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_config, list_configs))
        .routes(routes!(get_config, patch_config))
        .routes(routes!(list_config_versions))
        .routes(routes!(get_config_version))
        .routes(routes!(put_config_secrets))
        .routes(routes!(get_task_secrets))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListConfigsQuery {
    /// Only configs of this manifest.
    #[param(value_type = Option<String>)]
    pub workflow_type: Option<WorkflowType>,
    /// Page size, 1-500 (default 50).
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Creates version 1 of a new config.
#[utoipa::path(post, path = "/projects/{project}/configs", tag = "configs",
    params(("project" = String, Path)), request_body = CreateConfig,
    responses((status = 201, body = Config), (status = 400, body = super::Problem),
              (status = 403, body = super::Problem), (status = 422, body = super::Problem)))]
pub async fn create_config(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(project): ApiPath<ProjectName>,
    ApiJson(body): ApiJson<CreateConfig>,
) -> Result<(StatusCode, Json<Config>), ApiError> {
    let access = caller.access(&project);
    let config = state.services.create_config(&access, body).await?;
    Ok((StatusCode::CREATED, Json(config)))
}

/// The latest version of each config of the project.
#[utoipa::path(get, path = "/projects/{project}/configs", tag = "configs",
    params(("project" = String, Path), ListConfigsQuery),
    responses((status = 200, body = Page<Config>), (status = 404, body = super::Problem)))]
pub async fn list_configs(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(project): ApiPath<ProjectName>,
    ApiQuery(query): ApiQuery<ListConfigsQuery>,
) -> Result<Json<Page<Config>>, ApiError> {
    let access = caller.access(&project);
    let page = PageRequest::parse(query.limit, query.cursor.as_deref())?;
    let configs = state
        .services
        .list_configs(&access, query.workflow_type.as_ref(), page)
        .await?;
    Ok(Json(configs))
}

/// The latest version of a config.
#[utoipa::path(get, path = "/projects/{project}/configs/{config_id}", tag = "configs",
    params(("project" = String, Path), ("config_id" = i64, Path)),
    responses((status = 200, body = Config), (status = 404, body = super::Problem)))]
pub async fn get_config(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((project, config_id)): ApiPath<(ProjectName, ConfigId)>,
) -> Result<Json<Config>, ApiError> {
    let access = caller.access(&project);
    Ok(Json(
        state.services.latest_config(&access, config_id).await?,
    ))
}

/// A changed `config` inserts version N+1 (201); otherwise the latest row changes in place (200).
#[utoipa::path(patch, path = "/projects/{project}/configs/{config_id}", tag = "configs",
    params(("project" = String, Path), ("config_id" = i64, Path)), request_body = PatchConfig,
    responses((status = 200, body = Config), (status = 201, body = Config),
              (status = 409, body = super::Problem), (status = 422, body = super::Problem)))]
pub async fn patch_config(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((project, config_id)): ApiPath<(ProjectName, ConfigId)>,
    ApiJson(body): ApiJson<PatchConfig>,
) -> Result<(StatusCode, Json<Config>), ApiError> {
    let access = caller.access(&project);
    let (config, outcome) = state
        .services
        .patch_config(&access, config_id, body)
        .await?;
    let status = match outcome {
        ChangeOutcome::NewVersion => StatusCode::CREATED,
        ChangeOutcome::UpdatedInPlace => StatusCode::OK,
    };
    Ok((status, Json(config)))
}

/// Every version of a config, oldest first.
#[utoipa::path(get, path = "/projects/{project}/configs/{config_id}/versions", tag = "configs",
    params(("project" = String, Path), ("config_id" = i64, Path)),
    responses((status = 200, body = Vec<ConfigVersionSummary>), (status = 404, body = super::Problem)))]
pub async fn list_config_versions(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((project, config_id)): ApiPath<(ProjectName, ConfigId)>,
) -> Result<Json<Vec<ConfigVersionSummary>>, ApiError> {
    let access = caller.access(&project);
    Ok(Json(
        state.services.list_versions(&access, config_id).await?,
    ))
}

/// One version of a config.
#[utoipa::path(get, path = "/projects/{project}/configs/{config_id}/versions/{version_number}",
    tag = "configs",
    params(("project" = String, Path), ("config_id" = i64, Path), ("version_number" = i32, Path)),
    responses((status = 200, body = Config), (status = 404, body = super::Problem)))]
pub async fn get_config_version(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((project, config_id, version)): ApiPath<(ProjectName, ConfigId, VersionNumber)>,
) -> Result<Json<Config>, ApiError> {
    let access = caller.access(&project);
    Ok(Json(
        state
            .services
            .config_version(&access, config_id, version)
            .await?,
    ))
}

/// Sets (`"value"`) or removes (`null`) secrets of the latest version; answers redacted.
#[utoipa::path(put, path = "/projects/{project}/configs/{config_id}/secrets", tag = "configs",
    params(("project" = String, Path), ("config_id" = i64, Path)),
    request_body(content = BTreeMap<String, Option<String>>),
    responses((status = 200, body = Config), (status = 422, body = super::Problem)))]
pub async fn put_config_secrets(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((project, config_id)): ApiPath<(ProjectName, ConfigId)>,
    ApiJson(body): ApiJson<SecretsPatch>,
) -> Result<Json<Config>, ApiError> {
    let access = caller.access(&project);
    Ok(Json(
        state.services.put_secrets(&access, config_id, body).await?,
    ))
}

/// Secrets in clear, only for the task token of this config version.
#[utoipa::path(get,
    path = "/projects/{project}/configs/{config_id}/versions/{version_number}/secrets",
    tag = "configs",
    params(("project" = String, Path), ("config_id" = i64, Path), ("version_number" = i32, Path)),
    responses((status = 200, body = BTreeMap<String, String>), (status = 403, body = super::Problem)))]
pub async fn get_task_secrets(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((project, config_id, version)): ApiPath<(ProjectName, ConfigId, VersionNumber)>,
) -> Result<Json<BTreeMap<String, String>>, ApiError> {
    let access = caller.access(&project);
    let secrets = state
        .services
        .task_secrets(&access, config_id, version)
        .await?;
    Ok(Json(
        secrets
            .into_iter()
            .map(|(name, value)| (name.into(), value.expose_secret().to_owned()))
            .collect(),
    ))
}
