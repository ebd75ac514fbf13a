//! Config rules: create with validation, read versions, PATCH into version N+1 or in place,
//! secrets sealed on the way in and redacted on the way out.

use super::{PageRequest, Services};
use crate::error::OrNotFound;
use crate::manifests::Manifest;
use crate::{CoreError, Principal};
use polyphemus_model::{
    check_key, Config, ConfigVersionSummary, CreateConfig, FieldError, Page, PatchConfig,
    ProjectName, Role, SecretsPatch, REDACTED,
};
use polyphemus_store::{ChangeOutcome, ConfigChange, ConfigRecord, NewConfig, NewEvent};
use secrecy::SecretString;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

const MAX_NAME_LEN: usize = 200;
const MAX_COMMENT_LEN: usize = 2_000;

/// Whether a PATCH made a new version (201) or changed the latest in place (200).
pub type Patched = (Config, ChangeOutcome);

impl Services {
    pub(crate) fn manifest(&self, workflow_type: &str) -> Result<&Manifest, CoreError> {
        self.registry.get(workflow_type).ok_or_else(|| {
            let known = self.registry.names().join(", ");
            unprocessable(
                format!("unknown workflow_type {workflow_type:?}"),
                "/workflow_type",
                format!("must be one of: {known}"),
            )
        })
    }

    pub async fn create_config(
        &self,
        principal: &Principal,
        project: &ProjectName,
        request: CreateConfig,
    ) -> Result<Config, CoreError> {
        principal.require(project, Role::Editor)?;
        let manifest = self.manifest(&request.workflow_type)?;
        let mut errors = check_labels(Some(&request.workflow_name), request.comment.as_deref());
        errors.extend(manifest.config_errors(&request.config));
        errors.extend(nul_in_config(&request.config));
        let secrets: SecretsPatch = request
            .secrets
            .into_iter()
            .map(|(name, value)| (name, Some(value)))
            .collect();
        errors.extend(check_secret_names(manifest, &secrets));
        if !errors.is_empty() {
            return Err(schema_failure(manifest, errors));
        }
        let sealed: BTreeMap<String, String> = self
            .seal_secrets(secrets)
            .into_iter()
            .filter_map(|(name, value)| value.as_str().map(|v| (name, v.to_owned())))
            .collect();
        let event = NewEvent::new(
            project.as_str(),
            &principal.actor(),
            "config.created",
            json!({
                "workflow_type": request.workflow_type,
                "workflow_name": request.workflow_name,
                "secrets": sealed.keys().collect::<Vec<_>>(),
            }),
        );
        let new = NewConfig {
            project_name: project.to_string(),
            workflow_type: request.workflow_type,
            workflow_name: request.workflow_name,
            config: request.config,
            sealed_secrets: sealed,
            comment: request.comment,
        };
        let record = self.store.create_config(&new, event).await?;
        Ok(redacted(record))
    }

    pub async fn latest_config(
        &self,
        principal: &Principal,
        project: &ProjectName,
        config_id: i64,
    ) -> Result<Config, CoreError> {
        principal.require(project, Role::Viewer)?;
        let record = self
            .store
            .latest_config(project.as_str(), config_id)
            .await
            .or_not_found(|| format!("config {config_id}"))?;
        Ok(redacted(record))
    }

    pub async fn config_version(
        &self,
        principal: &Principal,
        project: &ProjectName,
        config_id: i64,
        version_number: i32,
    ) -> Result<Config, CoreError> {
        principal.require_config_read(project, config_id, Some(version_number))?;
        let record = self
            .store
            .config_version(project.as_str(), config_id, version_number)
            .await
            .or_not_found(|| format!("config {config_id} version {version_number}"))?;
        Ok(redacted(record))
    }

    pub async fn list_configs(
        &self,
        principal: &Principal,
        project: &ProjectName,
        workflow_type: Option<&str>,
        page: PageRequest,
    ) -> Result<Page<Config>, CoreError> {
        principal.require(project, Role::Viewer)?;
        if let Some(workflow_type) = workflow_type {
            if self.registry.get(workflow_type).is_none() {
                return Err(CoreError::bad_field(
                    "/workflow_type",
                    format!("unknown workflow type {workflow_type:?}"),
                ));
            }
        }
        let records = self
            .store
            .list_latest_configs(
                project.as_str(),
                workflow_type,
                page.cursor.map(|c| c.0),
                page.fetch_limit(),
            )
            .await?;
        let (records, next_cursor) = page.finish(records, |r| r.config_id);
        Ok(Page {
            items: records.into_iter().map(redacted).collect(),
            next_cursor,
        })
    }

    pub async fn list_versions(
        &self,
        principal: &Principal,
        project: &ProjectName,
        config_id: i64,
    ) -> Result<Vec<ConfigVersionSummary>, CoreError> {
        principal.require(project, Role::Viewer)?;
        let versions = self
            .store
            .list_versions(project.as_str(), config_id)
            .await?;
        if versions.is_empty() {
            return Err(CoreError::not_found(format!("config {config_id}")));
        }
        Ok(versions)
    }

    pub async fn patch_config(
        &self,
        principal: &Principal,
        project: &ProjectName,
        config_id: i64,
        patch: PatchConfig,
    ) -> Result<Patched, CoreError> {
        principal.require(project, Role::Editor)?;
        if patch.config.is_none() && patch.workflow_name.is_none() && patch.comment.is_none() {
            return Err(CoreError::bad_field(
                "/",
                "nothing to change: give config, workflow_name or comment",
            ));
        }
        // The workflow type never changes, so reading it before the locked update is safe.
        let latest = self
            .store
            .latest_config(project.as_str(), config_id)
            .await
            .or_not_found(|| format!("config {config_id}"))?;
        let manifest = self.manifest(&latest.workflow_type)?;
        let mut errors = check_labels(patch.workflow_name.as_ref(), patch.comment.as_deref());
        if let Some(config) = &patch.config {
            errors.extend(manifest.config_errors(config));
            errors.extend(nul_in_config(config));
        }
        if !errors.is_empty() {
            return Err(schema_failure(manifest, errors));
        }
        let mut fields = Vec::new();
        for (present, name) in [
            (patch.config.is_some(), "config"),
            (patch.workflow_name.is_some(), "workflow_name"),
            (patch.comment.is_some(), "comment"),
        ] {
            if present {
                fields.push(name);
            }
        }
        let event = NewEvent::new(
            project.as_str(),
            &principal.actor(),
            "config.updated",
            json!({ "fields": fields }),
        );
        let change = ConfigChange {
            config: patch.config,
            workflow_name: patch.workflow_name,
            comment: patch.comment,
            expected_version: patch.expected_version,
        };
        let (record, outcome) = self
            .store
            .change_config(project.as_str(), config_id, &change, event)
            .await
            .or_not_found(|| format!("config {config_id}"))?;
        Ok((redacted(record), outcome))
    }

    /// Sets (value) or removes (null) secrets of the latest version. Names only are logged.
    pub async fn put_secrets(
        &self,
        principal: &Principal,
        project: &ProjectName,
        config_id: i64,
        patch: SecretsPatch,
    ) -> Result<Config, CoreError> {
        principal.require(project, Role::Editor)?;
        if patch.is_empty() {
            return Err(CoreError::bad_field("/", "give at least one secret name"));
        }
        let latest = self
            .store
            .latest_config(project.as_str(), config_id)
            .await
            .or_not_found(|| format!("config {config_id}"))?;
        let manifest = self.manifest(&latest.workflow_type)?;
        let errors = check_secret_names(manifest, &patch);
        if !errors.is_empty() {
            return Err(schema_failure(manifest, errors));
        }
        let (set, removed): (Vec<_>, Vec<_>) = patch.iter().partition(|(_, v)| v.is_some());
        let event = NewEvent::new(
            project.as_str(),
            &principal.actor(),
            "secrets.updated",
            json!({
                "set": set.iter().map(|(name, _)| name).collect::<Vec<_>>(),
                "removed": removed.iter().map(|(name, _)| name).collect::<Vec<_>>(),
            }),
        );
        let sealed = self.seal_secrets(patch);
        let record = self
            .store
            .merge_secrets(project.as_str(), config_id, &sealed, event)
            .await
            .or_not_found(|| format!("config {config_id}"))?;
        Ok(redacted(record))
    }

    /// Secrets in clear, for the task token of exactly this config version.
    pub async fn task_secrets(
        &self,
        principal: &Principal,
        project: &ProjectName,
        config_id: i64,
        version_number: i32,
    ) -> Result<BTreeMap<String, SecretString>, CoreError> {
        principal.require_task_of_version(project, config_id, version_number)?;
        let record = self
            .store
            .config_version(project.as_str(), config_id, version_number)
            .await
            .or_not_found(|| format!("config {config_id} version {version_number}"))?;
        record
            .sealed_secrets
            .iter()
            .map(|(name, sealed)| {
                self.keys
                    .open(name, sealed)
                    .map(|value| (name.clone(), value))
                    .map_err(|error| CoreError::Internal(format!("secret {name}: {error}")))
            })
            .collect()
    }

    fn seal_secrets(&self, patch: SecretsPatch) -> Map<String, Value> {
        patch
            .into_iter()
            .map(|(name, value)| {
                let sealed = match value {
                    Some(value) => Value::String(self.keys.seal(&name, &SecretString::from(value))),
                    None => Value::Null,
                };
                (name, sealed)
            })
            .collect()
    }
}

/// The wire form of a stored version: secret values replaced by `***`.
fn redacted(record: ConfigRecord) -> Config {
    Config {
        id: record.id,
        config_id: record.config_id,
        version_number: record.version_number,
        project_name: record.project_name,
        workflow_type: record.workflow_type,
        workflow_name: record.workflow_name,
        config: record.config,
        secrets: record
            .sealed_secrets
            .into_keys()
            .map(|name| (name, REDACTED.to_owned()))
            .collect(),
        comment: record.comment,
        created_at: record.created_at,
        updated_at: record.updated_at,
    }
}

fn check_labels(workflow_name: Option<&String>, comment: Option<&str>) -> Vec<FieldError> {
    let mut errors = Vec::new();
    for (pointer, text) in [
        ("/workflow_name", workflow_name.map(String::as_str)),
        ("/comment", comment),
    ] {
        if text.is_some_and(|t| t.contains('\0')) {
            errors.push(FieldError {
                pointer: pointer.into(),
                message: "must not contain the NUL character".into(),
            });
        }
    }
    if let Some(name) = workflow_name {
        if name.trim().is_empty() || name.chars().count() > MAX_NAME_LEN {
            errors.push(FieldError {
                pointer: "/workflow_name".into(),
                message: format!("must be 1-{MAX_NAME_LEN} characters, not blank"),
            });
        }
    }
    if comment.is_some_and(|c| c.chars().count() > MAX_COMMENT_LEN) {
        errors.push(FieldError {
            pointer: "/comment".into(),
            message: format!("must be at most {MAX_COMMENT_LEN} characters"),
        });
    }
    errors
}

fn check_secret_names(manifest: &Manifest, secrets: &SecretsPatch) -> Vec<FieldError> {
    secrets
        .keys()
        .filter(|name| {
            check_key("secrets", name).is_err() || !manifest.secret_names().contains(name)
        })
        .map(|name| FieldError {
            pointer: format!("/secrets/{}", name.replace('~', "~0").replace('/', "~1")),
            message: format!(
                "unknown secret name; {} takes: {}",
                manifest.name(),
                manifest.secret_names().join(", ")
            ),
        })
        .collect()
}

pub(crate) fn unprocessable(detail: String, pointer: &str, message: String) -> CoreError {
    CoreError::Unprocessable {
        detail,
        errors: vec![FieldError {
            pointer: pointer.to_owned(),
            message,
        }],
    }
}

fn schema_failure(manifest: &Manifest, errors: Vec<FieldError>) -> CoreError {
    let what = if errors.iter().all(|e| e.pointer.starts_with("/config")) {
        "config does not match the schema"
    } else {
        "request is not valid for the manifest"
    };
    CoreError::Unprocessable {
        detail: format!("{what} of workflow {}", manifest.name()),
        errors,
    }
}

/// PostgreSQL's jsonb cannot hold the NUL character; refuse it on both stores alike.
fn nul_in_config(config: &Value) -> Option<FieldError> {
    config.to_string().contains("\\u0000").then(|| FieldError {
        pointer: "/config".into(),
        message: "must not contain the NUL character".into(),
    })
}
