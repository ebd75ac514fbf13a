//! A run's node logs for the run page: its Download (every byte, as a text file) and, with
//! `?follow=true`, the stream the page's script appends to the log while the run goes.

use crate::error::UiError;
use crate::pages::{project_name, run_id as run_id_in_path};
use crate::session::Session;
use crate::UiState;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use polyphemus_core::services::Streaming;
use serde::Deserialize;

#[derive(Deserialize)]
pub struct LogsQuery {
    #[serde(default)]
    follow: bool,
}

pub async fn run_logs(
    State(state): State<UiState>,
    session: Session,
    Path((project, run_id)): Path<(String, String)>,
    Query(query): Query<LogsQuery>,
) -> Result<Response, UiError> {
    let project = project_name(&project)?;
    let run_id = run_id_in_path(&run_id)?;
    let access = session.principal.access(&project);
    // The path may hold a workflow name or a uid prefix: the file is named by the uid.
    let run = state.services.get_run(&access, &run_id).await?;
    let text = [(header::CONTENT_TYPE, "text/plain; charset=utf-8".to_owned())];
    if query.follow {
        let pieces = state
            .services
            .follow_run_logs(&access, &run.run_id, None)
            .await?;
        // Not cached by a proxy in between, nor held back to be compressed.
        let no_store = [(header::CACHE_CONTROL, "no-store".to_owned())];
        let mut response = (text, no_store, Body::from_stream(pieces)).into_response();
        response.extensions_mut().insert(Streaming);
        return Ok(response);
    }
    let pieces = state
        .services
        .download_run_logs(&access, &run.run_id, None)
        .await?;
    let disposition = format!("attachment; filename=\"run-{}.log\"", run.run_id);
    let attachment = [(header::CONTENT_DISPOSITION, disposition)];
    Ok((text, attachment, Body::from_stream(pieces)).into_response())
}
