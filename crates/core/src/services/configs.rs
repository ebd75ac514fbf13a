//! Config rules: create with validation, read versions, PATCH into version N+1 or in place,
//! secrets sealed on the way in and redacted on the way out.

use super::{PageRequest, Services};
use crate::error::OrNotFound;
use crate::manifests::Manifest;
use crate::{Access, CoreError};
use polyphemus_model::{
    ChangeOutcome, Config, ConfigId, ConfigVersion, ConfigVersionSummary, CreateConfig, FieldError,
    Page, PatchConfig, Role, SecretName, SecretsPatch, VersionNumber, WorkflowType,
};
use polyphemus_store::{ConfigChange, ConfigRecord, NewConfig, NewEvent};
use secrecy::SecretString;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

const MAX_NAME_LEN: usize = 200;
const MAX_COMMENT_LEN: usize = 2_000;

/// Whether a PATCH made a new version (201) or changed the latest in place (200).
pub type Patched = (Config, ChangeOutcome);

impl Services {
    pub(crate) fn manifest(
        &self,
        workflow_type: &WorkflowType,
    ) -> Result<Arc<Manifest>, CoreError> {
        let registry = self.registry();
        registry.get(workflow_type).cloned().ok_or_else(|| {
            let known = registry.names().join(", ");
            unprocessable(
                format!("unknown workflow_type {workflow_type:?}"),
                "/workflow_type",
                format!("must be one of: {known}"),
            )
        })
    }

    /// The latest version of a config of the access's project, or 404 naming it.
    pub(crate) async fn latest_record(
        &self,
        access: &Access,
        config_id: ConfigId,
    ) -> Result<ConfigRecord, CoreError> {
        self.store
            .latest_config(access.project(), config_id)
            .await
            .or_not_found(|| format!("config {config_id}"))
    }

    /// One version of a config of the access's project, or 404 naming it.
    pub(crate) async fn version_record(
        &self,
        access: &Access,
        version: ConfigVersion,
    ) -> Result<ConfigRecord, CoreError> {
        self.store
            .config_version(access.project(), version.config_id, version.version_number)
            .await
            .or_not_found(|| version.to_string())
    }

    pub async fn create_config(
        &self,
        access: &Access,
        request: CreateConfig,
    ) -> Result<Config, CoreError> {
        access.require(Role::Editor)?;
        let manifest = self.manifest(&request.workflow_type)?;
        let mut errors = check_labels(Some(&request.workflow_name), request.comment.as_deref());
        errors.extend(manifest.config_errors(&request.config));
        let secrets: SecretsPatch = request
            .secrets
            .into_iter()
            .map(|(name, value)| (name, Some(value)))
            .collect();
        let (secrets, secret_errors) = parse_secret_names(&manifest, secrets);
        errors.extend(secret_errors);
        if !errors.is_empty() {
            return Err(schema_failure(&manifest, errors));
        }
        let sealed: BTreeMap<SecretName, String> = secrets
            .into_iter()
            .filter_map(|(name, value)| {
                let sealed = self.keys.seal(name.as_str(), &SecretString::from(value?));
                Some((name, sealed))
            })
            .collect();
        let event = NewEvent::new(
            access.project(),
            access.actor(),
            "config.created",
            json!({
                "workflow_type": request.workflow_type,
                "workflow_name": request.workflow_name,
                "secrets": sealed.keys().collect::<Vec<_>>(),
            }),
        );
        let new = NewConfig {
            project_name: access.project().clone(),
            workflow_type: request.workflow_type,
            workflow_name: request.workflow_name,
            config: request.config,
            sealed_secrets: sealed,
            comment: request.comment,
            package_digest: manifest.digest().to_owned(),
        };
        let record = self.store.create_config(&new, event).await?;
        Ok(record.into())
    }

    pub async fn latest_config(
        &self,
        access: &Access,
        config_id: ConfigId,
    ) -> Result<Config, CoreError> {
        access.require(Role::Viewer)?;
        let record = self.latest_record(access, config_id).await?;
        Ok(record.into())
    }

    pub async fn config_version(
        &self,
        access: &Access,
        config_id: ConfigId,
        version_number: VersionNumber,
    ) -> Result<Config, CoreError> {
        access.require_config_read(config_id, Some(version_number))?;
        let record = self
            .version_record(access, ConfigVersion::new(config_id, version_number))
            .await?;
        Ok(record.into())
    }

    pub async fn list_configs(
        &self,
        access: &Access,
        workflow_type: Option<&WorkflowType>,
        page: PageRequest,
    ) -> Result<Page<Config>, CoreError> {
        access.require(Role::Viewer)?;
        if let Some(workflow_type) = workflow_type {
            if self.registry().get(workflow_type).is_none() {
                return Err(CoreError::bad_field(
                    "/workflow_type",
                    format!("unknown workflow type {workflow_type:?}"),
                ));
            }
        }
        let records = self
            .store
            .list_latest_configs(
                access.project(),
                workflow_type,
                page.cursor.map(|c| c.0),
                page.fetch_limit(),
            )
            .await?;
        let (records, next_cursor) = page.finish(records, |r| r.config_id.get());
        Ok(Page {
            items: records.into_iter().map(Config::from).collect(),
            next_cursor,
        })
    }

    pub async fn list_versions(
        &self,
        access: &Access,
        config_id: ConfigId,
    ) -> Result<Vec<ConfigVersionSummary>, CoreError> {
        access.require(Role::Viewer)?;
        let versions = self
            .store
            .list_versions(access.project(), config_id)
            .await?;
        if versions.is_empty() {
            return Err(CoreError::not_found(format!("config {config_id}")));
        }
        Ok(versions)
    }

    pub async fn patch_config(
        &self,
        access: &Access,
        config_id: ConfigId,
        patch: PatchConfig,
    ) -> Result<Patched, CoreError> {
        access.require(Role::Editor)?;
        if patch.config.is_none() && patch.workflow_name.is_none() && patch.comment.is_none() {
            return Err(CoreError::bad_field(
                "/",
                "nothing to change: give config, workflow_name or comment",
            ));
        }
        // The workflow type never changes, so reading it before the locked update is safe.
        let latest = self.latest_record(access, config_id).await?;
        let manifest = self.manifest(&latest.workflow_type)?;
        let mut errors = check_labels(patch.workflow_name.as_ref(), patch.comment.as_deref());
        if let Some(config) = &patch.config {
            errors.extend(manifest.config_errors(config));
        }
        if !errors.is_empty() {
            return Err(schema_failure(&manifest, errors));
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
            access.project(),
            access.actor(),
            "config.updated",
            json!({ "fields": fields }),
        );
        let change = ConfigChange {
            workflow_name: patch.workflow_name,
            comment: patch.comment,
            expected_version: patch.expected_version,
            // A config given was just validated against this package.
            package_digest: patch.config.is_some().then(|| manifest.digest().to_owned()),
            config: patch.config,
        };
        let (record, outcome) = self
            .store
            .change_config(access.project(), config_id, &change, event)
            .await
            .or_not_found(|| format!("config {config_id}"))?;
        Ok((record.into(), outcome))
    }

    /// Sets (value) or removes (null) secrets of the latest version. Names only are logged.
    pub async fn put_secrets(
        &self,
        access: &Access,
        config_id: ConfigId,
        patch: SecretsPatch,
    ) -> Result<Config, CoreError> {
        access.require(Role::Editor)?;
        if patch.is_empty() {
            return Err(CoreError::bad_field("/", "give at least one secret name"));
        }
        let latest = self.latest_record(access, config_id).await?;
        let manifest = self.manifest(&latest.workflow_type)?;
        let (patch, errors) = parse_secret_names(&manifest, patch);
        if !errors.is_empty() {
            return Err(schema_failure(&manifest, errors));
        }
        let (set, removed): (Vec<_>, Vec<_>) = patch.iter().partition(|(_, v)| v.is_some());
        let event = NewEvent::new(
            access.project(),
            access.actor(),
            "secrets.updated",
            json!({
                "set": set.iter().map(|(name, _)| name).collect::<Vec<_>>(),
                "removed": removed.iter().map(|(name, _)| name).collect::<Vec<_>>(),
            }),
        );
        let sealed = self.seal_secrets(patch);
        let record = self
            .store
            .merge_secrets(access.project(), config_id, &sealed, event)
            .await
            .or_not_found(|| format!("config {config_id}"))?;
        Ok(record.into())
    }

    /// Secrets in clear, for the task token of exactly this config version.
    pub async fn task_secrets(
        &self,
        access: &Access,
        config_id: ConfigId,
        version_number: VersionNumber,
    ) -> Result<BTreeMap<SecretName, SecretString>, CoreError> {
        access.require_task_of_version(ConfigVersion::new(config_id, version_number))?;
        let record = self
            .version_record(access, ConfigVersion::new(config_id, version_number))
            .await?;
        record
            .sealed_secrets
            .iter()
            .map(|(name, sealed)| {
                self.keys
                    .open(name.as_str(), sealed)
                    .map(|value| (name.clone(), value))
                    .map_err(|error| CoreError::Internal(format!("secret {name}: {error}")))
            })
            .collect()
    }

    /// Sealed values by name; `null` for a name to remove.
    fn seal_secrets(&self, patch: BTreeMap<SecretName, Option<String>>) -> Map<String, Value> {
        patch
            .into_iter()
            .map(|(name, value)| {
                let sealed = match value {
                    Some(value) => {
                        Value::String(self.keys.seal(name.as_str(), &SecretString::from(value)))
                    }
                    None => Value::Null,
                };
                (name.into(), sealed)
            })
            .collect()
    }
}

fn check_labels(workflow_name: Option<&String>, comment: Option<&str>) -> Vec<FieldError> {
    let mut errors = Vec::new();
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

/// Parses the names of a secrets patch; a malformed name or one the manifest does not take is
/// a field error naming it.
fn parse_secret_names(
    manifest: &Manifest,
    secrets: SecretsPatch,
) -> (BTreeMap<SecretName, Option<String>>, Vec<FieldError>) {
    let mut parsed = BTreeMap::new();
    let mut errors = Vec::new();
    for (raw, value) in secrets {
        match SecretName::parse(raw.as_str()) {
            Ok(name) if manifest.takes_secret(&name) => {
                parsed.insert(name, value);
            }
            _ => errors.push(FieldError {
                pointer: format!("/secrets/{}", raw.replace('~', "~0").replace('/', "~1")),
                message: unknown_secret(manifest),
            }),
        }
    }
    (parsed, errors)
}

fn unknown_secret(manifest: &Manifest) -> String {
    let names: Vec<&str> = manifest
        .secret_names()
        .into_iter()
        .map(SecretName::as_str)
        .collect();
    if names.is_empty() {
        return format!("unknown secret name; {} takes no secrets", manifest.name());
    }
    format!(
        "unknown secret name; {} takes: {}",
        manifest.name(),
        names.join(", ")
    )
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

pub(crate) fn schema_failure(manifest: &Manifest, errors: Vec<FieldError>) -> CoreError {
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
