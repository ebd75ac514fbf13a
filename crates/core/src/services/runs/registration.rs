//! Registering a run, and finding the runs a caller may reach.

use super::super::{PageRequest, Services};
use crate::error::OrNotFound;
use crate::{Access, CoreError};
use polyphemus_model::{ConfigId, ConfigVersion, Page, RegisterRun, Role, Run, RunId};
use polyphemus_store::{NewEvent, NewRun, RegisterOutcome, RunRecord, RunScope};
use serde_json::json;

impl Services {
    pub async fn register_run(
        &self,
        access: &Access,
        request: RegisterRun,
    ) -> Result<(Run, RegisterOutcome), CoreError> {
        access.require_role_or_task(Role::Editor, request.config_id)?;
        let run_id = request.run_id;
        if !access.may_reach_run(&run_id) {
            return Err(CoreError::Forbidden(
                "this task token belongs to another run".to_owned(),
            ));
        }
        if request.name.trim().is_empty() || request.name.len() > 253 {
            return Err(CoreError::bad_field("/name", "must be 1-253 characters"));
        }
        self.version_record(
            access,
            ConfigVersion::new(request.config_id, request.version_number),
        )
        .await?;
        let event = NewEvent::new(
            access.project(),
            access.actor(),
            "run.registered",
            json!({ "name": request.name }),
        );
        let new = NewRun {
            run_id,
            name: request.name,
            project_name: access.project().clone(),
            config_id: request.config_id,
            version_number: request.version_number,
            params: serde_json::Map::new(),
        };
        let (record, outcome) = self.store.register_run(&new, event).await?;
        Ok((record.run, outcome))
    }

    /// Loads a run and checks the caller may reach it with `role` (or as the task of its
    /// config); 404 for runs it may not see.
    pub(crate) async fn visible_run(
        &self,
        access: &Access,
        run_id: &RunId,
        role: Role,
    ) -> Result<RunRecord, CoreError> {
        // Without any access to the project (or to this run), answer 404 before the store.
        if !access.sees_project() || !access.may_reach_run(run_id) {
            return Err(run_not_found(run_id));
        }
        let record = self
            .store
            .get_run(access.project(), run_id)
            .await
            .or_not_found(|| format!("run {run_id}"))?;
        may_reach(access, run_id, role, record.run.config_id)?;
        Ok(record)
    }

    /// A run by its uid, workflow name or a unique uid prefix.
    pub async fn get_run(&self, access: &Access, run_id: &RunId) -> Result<Run, CoreError> {
        Ok(self.find_run(access, run_id, Role::Viewer).await?.run)
    }

    /// Like [`Self::visible_run`] but reads only the run's scope, which is cached: the path of
    /// every state merge a job makes.
    pub(crate) async fn reachable_run_scope(
        &self,
        access: &Access,
        run_id: &RunId,
        role: Role,
    ) -> Result<RunScope, CoreError> {
        if !access.sees_project() || !access.may_reach_run(run_id) {
            return Err(run_not_found(run_id));
        }
        let scope = match self.run_scopes.get(access.project(), run_id) {
            Some(scope) => scope,
            None => {
                let scope = self
                    .store
                    .run_scope(access.project(), run_id)
                    .await
                    .or_not_found(|| format!("run {run_id}"))?;
                self.run_scopes
                    .insert(access.project(), run_id, scope.clone());
                scope
            }
        };
        may_reach(access, run_id, role, scope.config_id)?;
        Ok(scope)
    }

    pub async fn list_runs(
        &self,
        access: &Access,
        config_id: ConfigId,
        page: PageRequest,
    ) -> Result<Page<Run>, CoreError> {
        access.require(Role::Viewer)?;
        self.latest_record(access, config_id).await?;
        let records = self
            .store
            .list_runs(
                access.project(),
                config_id,
                page.cursor.map(|c| c.0),
                page.fetch_limit(),
            )
            .await?;
        let (records, next_cursor) = page.finish(records, |r| r.seq);
        Ok(Page {
            items: records.into_iter().map(|r| r.run).collect(),
            next_cursor,
        })
    }
}

fn run_not_found(run_id: &RunId) -> CoreError {
    CoreError::not_found(format!("run {run_id}"))
}

/// The role (or task binding) a run of `config_id` needs; a config the token cannot see means
/// the run is not found either.
fn may_reach(
    access: &Access,
    run_id: &RunId,
    role: Role,
    config_id: ConfigId,
) -> Result<(), CoreError> {
    access
        .require_role_or_task(role, config_id)
        .map_err(|error| match error {
            CoreError::NotFound(_) => run_not_found(run_id),
            other => other,
        })
}
