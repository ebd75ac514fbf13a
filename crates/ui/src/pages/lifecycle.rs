//! Buttons that act on what failed: Resubmit on a run page, Restore in the version history,
//! Archive/Unarchive on a config page.

use crate::error::UiError;
use crate::pages::{config_href, project_name, run_id as run_id_in_path};
use crate::session::PostForm;
use crate::UiState;
use axum::extract::{Path, State};
use axum::response::Redirect;
use polyphemus_model::{ConfigId, VersionNumber};

/// `Resubmit` on a run's page: a new run of the same version and params; shows the new run.
pub async fn resubmit_run(
    State(state): State<UiState>,
    Path((project, run_id)): Path<(String, String)>,
    form: PostForm,
) -> Result<Redirect, UiError> {
    let project = project_name(&project)?;
    let run_id = run_id_in_path(&run_id)?;
    let access = form.session.principal.access(&project);
    let run = state.services.resubmit_run(&access, &run_id, false).await?;
    Ok(Redirect::to(&format!(
        "/projects/{project}/runs/{}",
        run.run_id
    )))
}

/// `Restore` of a version in the history: makes it the config of version N+1.
pub async fn restore_version(
    State(state): State<UiState>,
    Path((project, config_id, version)): Path<(String, ConfigId, VersionNumber)>,
    form: PostForm,
) -> Result<Redirect, UiError> {
    let project = project_name(&project)?;
    let access = form.session.principal.access(&project);
    state
        .services
        .restore_config_version(&access, config_id, version)
        .await?;
    Ok(Redirect::to(&format!(
        "{}?notice=restored",
        config_href(&project, config_id)
    )))
}

/// `Archive` on a config's page: hidden from the dashboard, schedule off, not launched.
pub async fn archive_config(
    State(state): State<UiState>,
    Path((project, config_id)): Path<(String, ConfigId)>,
    form: PostForm,
) -> Result<Redirect, UiError> {
    set_archived(&state, &project, config_id, &form, true).await
}

/// `Unarchive` on a config's page.
pub async fn unarchive_config(
    State(state): State<UiState>,
    Path((project, config_id)): Path<(String, ConfigId)>,
    form: PostForm,
) -> Result<Redirect, UiError> {
    set_archived(&state, &project, config_id, &form, false).await
}

async fn set_archived(
    state: &UiState,
    project: &str,
    config_id: ConfigId,
    form: &PostForm,
    archived: bool,
) -> Result<Redirect, UiError> {
    let project = project_name(project)?;
    let access = form.session.principal.access(&project);
    state
        .services
        .set_config_archived(&access, config_id, archived)
        .await?;
    let notice = if archived { "archived" } else { "unarchived" };
    Ok(Redirect::to(&format!(
        "{}?notice={notice}",
        config_href(&project, config_id)
    )))
}
