//! Argo's CronWorkflowService over a project: create, lint, read, list, update, delete,
//! suspend and resume CronWorkflows, with the roles of the workflow routes.

use super::cron_workflow_doc::{cron_name, render, stored_document, workflow_of, CronSettings};
use super::Services;
use crate::{Access, CoreError};
use chrono::Utc;
use polyphemus_model::Role;
use polyphemus_store::{CronWorkflowRecord, StoreError};
use serde_json::Value;

impl Services {
    /// Checks a CronWorkflow as `argo cron lint` does (viewers): its name and schedules, and
    /// its `workflowSpec` as the engine would start it. Returns the settings and its name.
    async fn check_cron_workflow(
        &self,
        access: &Access,
        document: &Value,
    ) -> Result<(CronSettings, String), CoreError> {
        access.require(Role::Viewer)?;
        if !document.is_object() {
            return Err(CoreError::bad_field(
                "/cronWorkflow",
                "must be a CronWorkflow object",
            ));
        }
        let name = cron_name(document)?;
        let settings = CronSettings::parse(document)?;
        self.lint_argo_workflow(access, workflow_of(&name, document, Utc::now()))
            .await
            .map_err(|error| match error {
                CoreError::BadRequest { detail, .. } => CoreError::bad_field(
                    "/cronWorkflow/spec/workflowSpec",
                    detail.trim_start_matches("workflow: ").to_owned(),
                ),
                other => other,
            })?;
        Ok((settings, name))
    }

    /// `POST …/lint`: the CronWorkflow as it would be created, nothing stored.
    pub async fn lint_argo_cron_workflow(
        &self,
        access: &Access,
        document: Value,
    ) -> Result<Value, CoreError> {
        self.check_cron_workflow(access, &document).await?;
        let mut linted = document;
        linted["metadata"]["namespace"] = Value::String(access.project().to_string());
        Ok(linted)
    }

    /// Creates a CronWorkflow (admins, as creating workflows: it runs arbitrary commands).
    /// A taken name is a `Conflict`.
    pub async fn create_argo_cron_workflow(
        &self,
        access: &Access,
        document: Value,
        dry_run: bool,
    ) -> Result<Value, CoreError> {
        access.require(Role::Admin)?;
        let (_, name) = self.check_cron_workflow(access, &document).await?;
        if dry_run {
            return self.lint_argo_cron_workflow(access, document).await;
        }
        let suspended = document["spec"]["suspend"].as_bool().unwrap_or(false);
        let uid = uuid::Uuid::new_v4().to_string();
        let record = self
            .store
            .insert_cron_workflow(
                access.project(),
                &name,
                &uid,
                &stored_document(&document),
                suspended,
            )
            .await
            .map_err(|error| match error {
                StoreError::Conflict(_) => {
                    CoreError::Conflict(format!("cron workflow {name} already exists"))
                }
                other => other.into(),
            })?;
        self.render_cron_workflow(&record).await
    }

    /// The CronWorkflow named `name` (viewers).
    pub async fn argo_cron_workflow(
        &self,
        access: &Access,
        name: &str,
    ) -> Result<Value, CoreError> {
        access.require(Role::Viewer)?;
        let record = self.cron_record(access, name).await?;
        self.render_cron_workflow(&record).await
    }

    /// The project's CronWorkflows (viewers).
    pub async fn list_argo_cron_workflows(&self, access: &Access) -> Result<Vec<Value>, CoreError> {
        access.require(Role::Viewer)?;
        let records = self.store.list_cron_workflows(access.project()).await?;
        let mut items = Vec::with_capacity(records.len());
        for record in &records {
            items.push(self.render_cron_workflow(record).await?);
        }
        Ok(items)
    }

    /// Replaces a CronWorkflow's spec, labels and annotations (admins). A
    /// `metadata.resourceVersion` that is no longer the stored one is a `Conflict`.
    pub async fn update_argo_cron_workflow(
        &self,
        access: &Access,
        name: &str,
        document: Value,
    ) -> Result<Value, CoreError> {
        access.require(Role::Admin)?;
        let (_, given) = self.check_cron_workflow(access, &document).await?;
        if given != name {
            return Err(CoreError::bad_field(
                "/cronWorkflow/metadata/name",
                format!("is {given}, but the path names {name}"),
            ));
        }
        let expected = match &document["metadata"]["resourceVersion"] {
            Value::Null => None,
            Value::String(text) if text.is_empty() => None,
            Value::String(text) => Some(text.parse::<i64>().map_err(|_| {
                CoreError::bad_field(
                    "/cronWorkflow/metadata/resourceVersion",
                    "is not one this server gave",
                )
            })?),
            _ => {
                return Err(CoreError::bad_field(
                    "/cronWorkflow/metadata/resourceVersion",
                    "must be a string",
                ))
            }
        };
        let suspended = document["spec"]["suspend"].as_bool().unwrap_or(false);
        let updated = self
            .store
            .update_cron_workflow(
                access.project(),
                name,
                &stored_document(&document),
                suspended,
                expected,
            )
            .await?;
        match updated {
            Some(record) => self.render_cron_workflow(&record).await,
            None => {
                self.cron_record(access, name).await?;
                Err(CoreError::Conflict(format!(
                    "cron workflow {name} has changed since resourceVersion {}: read it again",
                    expected.unwrap_or_default()
                )))
            }
        }
    }

    /// Deletes a CronWorkflow (admins); the workflows it created stay as runs.
    pub async fn delete_argo_cron_workflow(
        &self,
        access: &Access,
        name: &str,
    ) -> Result<(), CoreError> {
        access.require(Role::Admin)?;
        if self
            .store
            .delete_cron_workflow(access.project(), name)
            .await?
        {
            Ok(())
        } else {
            Err(not_found(name))
        }
    }

    /// `argo cron suspend` / `resume` (editors, as suspending a workflow).
    pub async fn suspend_argo_cron_workflow(
        &self,
        access: &Access,
        name: &str,
        suspended: bool,
    ) -> Result<Value, CoreError> {
        access.require(Role::Editor)?;
        let record = self
            .store
            .set_cron_workflow_suspended(access.project(), name, suspended)
            .await?
            .ok_or_else(|| not_found(name))?;
        self.render_cron_workflow(&record).await
    }

    async fn cron_record(
        &self,
        access: &Access,
        name: &str,
    ) -> Result<CronWorkflowRecord, CoreError> {
        self.store
            .cron_workflow(access.project(), name)
            .await?
            .ok_or_else(|| not_found(name))
    }

    async fn render_cron_workflow(&self, record: &CronWorkflowRecord) -> Result<Value, CoreError> {
        let active = self.store.active_cron_runs(record.id).await?;
        Ok(render(record, &active))
    }
}

fn not_found(name: &str) -> CoreError {
    CoreError::not_found(format!("cron workflow {name}"))
}
