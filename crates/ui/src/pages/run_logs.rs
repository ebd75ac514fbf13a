//! The run page's Download: the run's whole node logs as a text file, streamed.

use crate::error::UiError;
use crate::pages::{project_name, run_id as run_id_in_path};
use crate::session::Session;
use crate::UiState;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};

pub async fn download_logs(
    State(state): State<UiState>,
    session: Session,
    Path((project, run_id)): Path<(String, String)>,
) -> Result<Response, UiError> {
    let project = project_name(&project)?;
    let run_id = run_id_in_path(&run_id)?;
    let access = session.principal.access(&project);
    // The path may hold a workflow name or a uid prefix: the file is named by the uid.
    let run = state.services.get_run(&access, &run_id).await?;
    let pieces = state
        .services
        .download_run_logs(&access, &run.run_id, None)
        .await?;
    let disposition = format!("attachment; filename=\"run-{}.log\"", run.run_id);
    Ok((
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        axum::body::Body::from_stream(pieces),
    )
        .into_response())
}
