//! The project status page and the event log.

use crate::error::ApiError;
use crate::extract::{ApiPath, ApiQuery, Caller};
use crate::AppState;
use axum::extract::State;
use axum::Json;
use polyphemus_core::services::PageRequest;
use polyphemus_model::{ConfigId, Event, Page, PipelineStatus, ProjectName};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_project_status))
        .routes(routes!(list_events))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatusQuery {
    /// Also list archived configs (hidden by default).
    #[serde(default)]
    pub archived: bool,
}

/// Every config's pipeline state, last run, last success and next run.
#[utoipa::path(get, path = "/projects/{project}/status", tag = "projects",
    params(("project" = String, Path), StatusQuery),
    responses((status = 200, body = Vec<PipelineStatus>), (status = 404, body = super::Problem)))]
pub async fn get_project_status(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(project): ApiPath<ProjectName>,
    ApiQuery(query): ApiQuery<StatusQuery>,
) -> Result<Json<Vec<PipelineStatus>>, ApiError> {
    let access = caller.access(&project);
    Ok(Json(
        state
            .services
            .project_status(&access, query.archived)
            .await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// Only events of this config.
    #[param(value_type = Option<i64>)]
    pub config_id: Option<ConfigId>,
    /// Page size, 1-500 (default 50).
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// The event log, newest first: who did what. Never holds secret values.
#[utoipa::path(get, path = "/projects/{project}/events", tag = "projects",
    params(("project" = String, Path), EventsQuery),
    responses((status = 200, body = Page<Event>), (status = 404, body = super::Problem)))]
pub async fn list_events(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(project): ApiPath<ProjectName>,
    ApiQuery(query): ApiQuery<EventsQuery>,
) -> Result<Json<Page<Event>>, ApiError> {
    let access = caller.access(&project);
    let page = PageRequest::parse(query.limit, query.cursor.as_deref())?;
    Ok(Json(
        state
            .services
            .list_events(&access, query.config_id, page)
            .await?,
    ))
}
