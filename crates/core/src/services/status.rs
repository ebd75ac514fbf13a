//! The project status page and the event log.

use super::{PageRequest, Services};
use crate::auth::ALL_PROJECTS;
use crate::{Access, CoreError, Principal};
use polyphemus_model::{
    ConfigId, Event, LastRun, Page, PipelineState, PipelineStatus, ProjectName, Role,
};
use std::collections::BTreeSet;

impl Services {
    /// Every config's pipeline state; archived configs only with `include_archived`.
    pub async fn project_status(
        &self,
        access: &Access,
        include_archived: bool,
    ) -> Result<Vec<PipelineStatus>, CoreError> {
        access.require(Role::Viewer)?;
        let rows = self
            .store
            .project_status(access.project(), include_archived)
            .await?;
        if rows.is_empty() && !self.store.project_exists(access.project()).await? {
            return Err(CoreError::not_found(format!(
                "project {}",
                access.project()
            )));
        }
        Ok(rows
            .into_iter()
            .map(|row| {
                let paused = row.pause();
                let last_run = row.last_run_id.map(|run_id| LastRun {
                    run_id,
                    phase: row.last_phase,
                    started_at: row.last_started_at,
                    finished_at: row.last_finished_at,
                });
                let last_phase = last_run.as_ref().map(|run| run.phase);
                PipelineStatus {
                    config_id: row.config_id,
                    version_number: row.version_number,
                    workflow_type: row.workflow_type,
                    workflow_name: row.workflow_name,
                    pipeline_state: PipelineState::derive(
                        row.disabled,
                        paused.is_some(),
                        last_phase,
                    ),
                    last_run,
                    last_success_at: row.last_success_at,
                    next_run_at: row.next_run_at,
                    paused,
                    archived_at: row.archived_at,
                }
            })
            .collect())
    }

    /// The projects a user token reaches: those it names, and with `*` every stored one.
    pub async fn list_projects(
        &self,
        principal: &Principal,
    ) -> Result<Vec<ProjectName>, CoreError> {
        let Principal::User { roles, .. } = principal else {
            return Ok(Vec::new());
        };
        // Role keys were checked when the token was issued; `*` is the one that is no name.
        let mut names: BTreeSet<ProjectName> = roles
            .keys()
            .filter_map(|name| ProjectName::parse(name.as_str()).ok())
            .collect();
        if roles.contains_key(ALL_PROJECTS) {
            names.extend(self.store.list_projects().await?);
        }
        Ok(names.into_iter().collect())
    }

    pub async fn list_events(
        &self,
        access: &Access,
        config_id: Option<ConfigId>,
        page: PageRequest,
    ) -> Result<Page<Event>, CoreError> {
        access.require(Role::Viewer)?;
        if !self.store.project_exists(access.project()).await? {
            return Err(CoreError::not_found(format!(
                "project {}",
                access.project()
            )));
        }
        let events = self
            .store
            .list_events(
                access.project(),
                config_id,
                page.cursor.map(|c| c.0),
                page.fetch_limit(),
            )
            .await?;
        let (items, next_cursor) = page.finish(events, |e| e.id);
        Ok(Page { items, next_cursor })
    }
}
