//! Acting on a config's history: restore an old version as version N+1, archive a config
//! (off the status list and the schedule, not launched) and bring it back.

use super::configs::schema_failure;
use super::Services;
use crate::error::OrNotFound;
use crate::{Access, CoreError};
use polyphemus_model::{
    restored_comment, Config, ConfigArchive, ConfigId, ConfigVersion, Role, VersionNumber,
};
use polyphemus_store::{ConfigChange, NewEvent};
use serde_json::json;

impl Services {
    /// Makes version N+1 with the config of version `version` and the comment `restored
    /// from version k`; the latest secrets and name carry over. 409 when the latest version
    /// already has that config, or when another change lands first.
    pub async fn restore_config_version(
        &self,
        access: &Access,
        config_id: ConfigId,
        version: VersionNumber,
    ) -> Result<Config, CoreError> {
        access.require(Role::Editor)?;
        let old = self
            .version_record(access, ConfigVersion::new(config_id, version))
            .await?;
        let latest = self.latest_record(access, config_id).await?;
        if old.config == latest.config {
            return Err(CoreError::Conflict(format!(
                "version {} of config {config_id} already has the config of version {version}",
                latest.version_number
            )));
        }
        let manifest = self.manifest(&latest.workflow_type)?;
        let errors = manifest.config_errors(&old.config);
        if !errors.is_empty() {
            return Err(schema_failure(&manifest, errors));
        }
        let event = NewEvent::new(
            access.project(),
            access.actor(),
            "config.restored",
            json!({"from_version": version}),
        );
        let change = ConfigChange {
            workflow_name: None,
            comment: Some(restored_comment(version)),
            // The config differs from this version, so the store makes N+1, never an in-place edit.
            expected_version: Some(latest.version_number),
            package_digest: Some(manifest.digest().to_owned()),
            config: Some(old.config),
        };
        let (record, _) = self
            .store
            .change_config(access.project(), config_id, &change, event)
            .await
            .or_not_found(|| format!("config {config_id}"))?;
        Ok(record.into())
    }

    /// Archives (`true`) or unarchives a config; repeating either changes nothing.
    pub async fn set_config_archived(
        &self,
        access: &Access,
        config_id: ConfigId,
        archived: bool,
    ) -> Result<ConfigArchive, CoreError> {
        access.require(Role::Editor)?;
        let action = if archived {
            "config.archived"
        } else {
            "config.unarchived"
        };
        let event = NewEvent::new(access.project(), access.actor(), action, json!({}));
        let archived_at = self
            .store
            .set_config_archived(access.project(), config_id, archived, event)
            .await
            .or_not_found(|| format!("config {config_id}"))?;
        Ok(ConfigArchive {
            config_id,
            archived: archived_at.is_some(),
            archived_at,
        })
    }

    /// Whether the config is archived, and since when.
    pub async fn config_archive(
        &self,
        access: &Access,
        config_id: ConfigId,
    ) -> Result<ConfigArchive, CoreError> {
        access.require(Role::Viewer)?;
        let archived_at = self
            .store
            .config_archived_at(access.project(), config_id)
            .await
            .or_not_found(|| format!("config {config_id}"))?;
        Ok(ConfigArchive {
            config_id,
            archived: archived_at.is_some(),
            archived_at,
        })
    }

    /// 409 when the config is archived: an archived config is not launched.
    pub(crate) async fn refuse_archived(
        &self,
        access: &Access,
        config_id: ConfigId,
    ) -> Result<(), CoreError> {
        let archived_at = self
            .store
            .config_archived_at(access.project(), config_id)
            .await
            .or_not_found(|| format!("config {config_id}"))?;
        match archived_at {
            Some(at) => Err(CoreError::Conflict(format!(
                "config {config_id} is archived (since {}); unarchive it to launch it",
                at.format("%Y-%m-%d %H:%M UTC")
            ))),
            None => Ok(()),
        }
    }
}
