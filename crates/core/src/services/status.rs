//! The project status page and the event log.

use super::{PageRequest, Services};
use crate::auth::ALL_PROJECTS;
use crate::{CoreError, Principal};
use polyphemus_model::{Event, LastRun, Page, PipelineState, PipelineStatus, ProjectName, Role};
use std::collections::BTreeSet;

impl Services {
    pub async fn project_status(
        &self,
        principal: &Principal,
        project: &ProjectName,
    ) -> Result<Vec<PipelineStatus>, CoreError> {
        principal.require(project, Role::Viewer)?;
        let rows = self.store.project_status(project.as_str()).await?;
        if rows.is_empty() && !self.store.project_exists(project.as_str()).await? {
            return Err(CoreError::not_found(format!("project {project}")));
        }
        Ok(rows
            .into_iter()
            .map(|row| {
                let last_run = row.last_run_id.map(|run_id| LastRun {
                    run_id,
                    phase: row.last_phase.clone(),
                    started_at: row.last_started_at,
                    finished_at: row.last_finished_at,
                });
                let last_phase = last_run.as_ref().map(|run| run.phase.as_deref());
                PipelineStatus {
                    config_id: row.config_id,
                    version_number: row.version_number,
                    workflow_type: row.workflow_type,
                    workflow_name: row.workflow_name,
                    pipeline_state: PipelineState::derive(row.disabled, last_phase),
                    last_run,
                    last_success_at: row.last_success_at,
                    next_run_at: row.next_run_at,
                }
            })
            .collect())
    }

    /// The projects a user token reaches: those it names, and with `*` every stored one.
    pub async fn list_projects(&self, principal: &Principal) -> Result<Vec<String>, CoreError> {
        let Principal::User { roles, .. } = principal else {
            return Ok(Vec::new());
        };
        let mut names: BTreeSet<String> = roles
            .keys()
            .filter(|name| name.as_str() != ALL_PROJECTS)
            .cloned()
            .collect();
        if roles.contains_key(ALL_PROJECTS) {
            names.extend(self.store.list_projects().await?);
        }
        Ok(names.into_iter().collect())
    }

    pub async fn list_events(
        &self,
        principal: &Principal,
        project: &ProjectName,
        config_id: Option<i64>,
        page: PageRequest,
    ) -> Result<Page<Event>, CoreError> {
        principal.require(project, Role::Viewer)?;
        if !self.store.project_exists(project.as_str()).await? {
            return Err(CoreError::not_found(format!("project {project}")));
        }
        let events = self
            .store
            .list_events(
                project.as_str(),
                config_id,
                page.cursor.map(|c| c.0),
                page.fetch_limit(),
            )
            .await?;
        let (items, next_cursor) = page.finish(events, |e| e.id);
        Ok(Page { items, next_cursor })
    }
}
