//! Finding runs across a project: `GET /projects/{project}/runs` with its filters (mounted by
//! `runs::router`, which also holds `POST` on the same path).

use crate::error::ApiError;
use crate::extract::{ApiPath, ApiQuery, Caller};
use crate::AppState;
use axum::extract::State;
use axum::Json;
use chrono::{DateTime, Utc};
use polyphemus_core::services::PageRequest;
use polyphemus_core::CoreError;
use polyphemus_model::{
    parse_workflow_phase, ConfigId, FieldError, Page, ProjectName, RunFilter, RunSummary,
    WorkflowType,
};
use serde::Deserialize;
use utoipa::IntoParams;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProjectRunsQuery {
    /// Only runs in this phase: Pending (also runs not reported yet), Running, Succeeded,
    /// Failed or Error (any case).
    pub phase: Option<String>,
    /// Only runs of configs of this workflow type.
    pub workflow_type: Option<String>,
    /// Only runs of this config.
    #[param(value_type = Option<i64>)]
    pub config_id: Option<ConfigId>,
    /// Only runs registered at or after this time (RFC 3339).
    pub since: Option<String>,
    /// Only runs registered before this time (RFC 3339).
    pub until: Option<String>,
    /// Page size, 1-500 (default 50).
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Runs of the project, newest first, with their phase and duration.
#[utoipa::path(get, path = "/projects/{project}/runs", tag = "runs",
    params(("project" = String, Path), ProjectRunsQuery),
    responses((status = 200, body = Page<RunSummary>), (status = 400, body = super::Problem),
              (status = 404, body = super::Problem), (status = 422, body = super::Problem)))]
pub async fn list_project_runs(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(project): ApiPath<ProjectName>,
    ApiQuery(query): ApiQuery<ProjectRunsQuery>,
) -> Result<Json<Page<RunSummary>>, ApiError> {
    let access = caller.access(&project);
    let page = PageRequest::parse(query.limit, query.cursor.as_deref())?;
    let filter = run_filter(&query)?;
    Ok(Json(
        state
            .services
            .list_project_runs(&access, &filter, page)
            .await?,
    ))
}

fn run_filter(query: &ProjectRunsQuery) -> Result<RunFilter, CoreError> {
    let present = |value: &Option<String>| value.clone().filter(|v| !v.trim().is_empty());
    Ok(RunFilter {
        phase: present(&query.phase)
            .map(|text| parse_workflow_phase(&text).map_err(|e| unprocessable("phase", &e.reason)))
            .transpose()?,
        workflow_type: present(&query.workflow_type)
            .map(|text| {
                WorkflowType::parse(text.as_str())
                    .map_err(|e| unprocessable("workflow_type", &e.reason))
            })
            .transpose()?,
        config_id: query.config_id,
        since: present(&query.since)
            .map(|t| parse_time("since", &t))
            .transpose()?,
        until: present(&query.until)
            .map(|t| parse_time("until", &t))
            .transpose()?,
    })
}

fn parse_time(field: &str, text: &str) -> Result<DateTime<Utc>, CoreError> {
    DateTime::parse_from_rfc3339(text.trim())
        .map(|at| at.with_timezone(&Utc))
        .map_err(|_| unprocessable(field, "must be an RFC 3339 time, e.g. 2026-12-01T00:00:00Z"))
}

/// 422 naming the query parameter.
fn unprocessable(field: &str, message: &str) -> CoreError {
    CoreError::Unprocessable {
        detail: format!("{field}: {message}"),
        errors: vec![FieldError {
            pointer: format!("/{field}"),
            message: message.to_owned(),
        }],
    }
}
