//! A run's node logs as text: so far, followed as the steps print them, or as a download.

use crate::error::ApiError;
use crate::extract::{run_id_in_path, ApiPath, ApiQuery, Caller};
use crate::AppState;
use axum::body::Body;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use polyphemus_model::ProjectName;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_run_logs))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LogsQuery {
    /// One node's log: its name or display name.
    pub node: Option<String>,
    /// Stream what the steps print, until the run's workflow ends.
    #[serde(default)]
    pub follow: bool,
    /// Answer as a file to save (`Content-Disposition: attachment`), every byte of each log
    /// (without it, at most the last 256 KiB of each node's).
    #[serde(default)]
    pub download: bool,
}

/// The run's node logs as `text/plain`, a header line `=== node ===` before each node's lines.
/// With `follow=true` the answer is streamed (chunked) as the steps print and ends when the
/// workflow has ended. A run the orchestrator no longer has answers its stored output.
#[utoipa::path(get, path = "/projects/{project}/runs/{run_id}/logs", tag = "runs",
    params(("project" = String, Path), ("run_id" = String, Path), LogsQuery),
    responses((status = 200, content_type = "text/plain", body = String),
              (status = 404, body = super::Problem), (status = 503, body = super::Problem)))]
pub async fn get_run_logs(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((project, run_id)): ApiPath<(ProjectName, String)>,
    ApiQuery(query): ApiQuery<LogsQuery>,
) -> Result<Response, ApiError> {
    let access = caller.access(&project);
    let run_id = run_id_in_path(&run_id)?;
    let body = if query.follow {
        let pieces = state
            .services
            .follow_run_logs(&access, &run_id, query.node)
            .await?;
        Body::from_stream(pieces)
    } else if query.download {
        let pieces = state
            .services
            .download_run_logs(&access, &run_id, query.node)
            .await?;
        Body::from_stream(pieces)
    } else {
        Body::from(
            state
                .services
                .run_logs(&access, &run_id, query.node)
                .await?,
        )
    };
    let mut response =
        ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response();
    if query.follow || query.download {
        response.extensions_mut().insert(crate::serve::Streaming);
    }
    if query.download {
        // A run id is a UUID or an orchestrator name: nothing to quote in a file name.
        let disposition = format!("attachment; filename=\"run-{run_id}.log\"");
        if let Ok(value) = header::HeaderValue::from_str(&disposition) {
            response
                .headers_mut()
                .insert(header::CONTENT_DISPOSITION, value);
        }
    }
    Ok(response)
}
