//! A project's notification channels: where alerts about failed runs, paused schedules and
//! recoveries go. Their URLs and credentials are never answered.

use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, Caller};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use polyphemus_model::{Channel, ChannelTest, NewChannel, ProjectName};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_channels, create_channel))
        .routes(routes!(delete_channel))
        .routes(routes!(test_channel))
}

/// The project's channels (viewer), without their URLs' secret parts or credentials.
#[utoipa::path(get, path = "/projects/{project}/notifications", tag = "notifications",
    params(("project" = String, Path)),
    responses((status = 200, body = Vec<Channel>), (status = 404, body = super::Problem)))]
pub async fn list_channels(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(project): ApiPath<ProjectName>,
) -> Result<Json<Vec<Channel>>, ApiError> {
    let access = caller.access(&project);
    Ok(Json(state.services.list_channels(&access).await?))
}

/// Adds a channel (project admin): a Slack-compatible webhook, a signed JSON webhook or email.
#[utoipa::path(post, path = "/projects/{project}/notifications", tag = "notifications",
    params(("project" = String, Path)), request_body = NewChannel,
    responses((status = 201, body = Channel), (status = 409, body = super::Problem),
              (status = 422, body = super::Problem)))]
pub async fn create_channel(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(project): ApiPath<ProjectName>,
    ApiJson(body): ApiJson<NewChannel>,
) -> Result<(StatusCode, Json<Channel>), ApiError> {
    let access = caller.access(&project);
    let channel = state.services.create_channel(&access, body).await?;
    Ok((StatusCode::CREATED, Json(channel)))
}

/// Removes a channel (project admin).
#[utoipa::path(delete, path = "/projects/{project}/notifications/{channel_id}", tag = "notifications",
    params(("project" = String, Path), ("channel_id" = i64, Path)),
    responses((status = 204), (status = 404, body = super::Problem)))]
pub async fn delete_channel(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((project, channel_id)): ApiPath<(ProjectName, i64)>,
) -> Result<StatusCode, ApiError> {
    let access = caller.access(&project);
    state.services.delete_channel(&access, channel_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sends a test alert through the channel now, once (project admin), and says how it went.
#[utoipa::path(post, path = "/projects/{project}/notifications/{channel_id}/test", tag = "notifications",
    params(("project" = String, Path), ("channel_id" = i64, Path)),
    responses((status = 200, body = ChannelTest), (status = 404, body = super::Problem)))]
pub async fn test_channel(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((project, channel_id)): ApiPath<(ProjectName, i64)>,
) -> Result<Json<ChannelTest>, ApiError> {
    let access = caller.access(&project);
    Ok(Json(
        state.services.test_channel(&access, channel_id).await?,
    ))
}
