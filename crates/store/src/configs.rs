//! Configs and their versions: creation, version N+1 under the head row's lock, secrets merge.

use crate::events::{insert_event, now};
use crate::BeginWrite;
use crate::{
    on_reader, on_writer, ChangeOutcome, ConfigChange, ConfigRecord, NewConfig, NewEvent, Store,
    StoreError,
};
use polyphemus_model::{ConfigId, ConfigVersionSummary, ProjectName, VersionNumber, WorkflowType};
use serde_json::Value;
use sqlx::types::Json;

pub(crate) const CONFIG_COLUMNS: &str =
    "id, config_id, version_number, project_name, workflow_type, \
    workflow_name, config, secrets, comment, created_at, updated_at, package_digest";

/// Takes the head row's lock (a no-op UPDATE works on both backends) and returns the latest version.
const LOCK_HEAD: &str = "UPDATE config_heads SET latest_version = latest_version \
    WHERE config_id = $1 AND project_name = $2 RETURNING latest_version";

impl Store {
    pub async fn project_exists(&self, project: &ProjectName) -> Result<bool, StoreError> {
        let found: Option<(String,)> = on_reader!(self, pool =>
            sqlx::query_as("SELECT name FROM projects WHERE name = $1")
                .bind(project)
                .fetch_optional(pool)
                .await)?;
        Ok(found.is_some())
    }

    /// Every project that has configs, by name.
    pub async fn list_projects(&self) -> Result<Vec<ProjectName>, StoreError> {
        let rows: Vec<(ProjectName,)> = on_reader!(self, pool =>
            sqlx::query_as("SELECT name FROM projects ORDER BY name")
                .fetch_all(pool)
                .await)?;
        Ok(rows.into_iter().map(|(name,)| name).collect())
    }

    /// Creates config version 1 (and the project on first use) with its event, atomically.
    pub async fn create_config(
        &self,
        new: &NewConfig,
        mut event: NewEvent,
    ) -> Result<ConfigRecord, StoreError> {
        let at = now();
        let insert_version = format!(
            "INSERT INTO configs (config_id, version_number, project_name, workflow_type, \
             workflow_name, config, secrets, comment, created_at, updated_at, package_digest) \
             VALUES ($1, 1, $2, $3, $4, $5, $6, $7, $8, $8, $9) RETURNING {CONFIG_COLUMNS}"
        );
        let row: ConfigRecord = on_writer!(self, pool => {
            let mut tx = pool.begin_write().await?;
            sqlx::query("INSERT INTO projects (name, created_at) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(&new.project_name)
                .bind(at)
                .execute(&mut *tx)
                .await?;
            let (config_id,): (ConfigId,) = sqlx::query_as(
                "INSERT INTO config_heads (project_name, workflow_type, latest_version, created_at) \
                 VALUES ($1, $2, 1, $3) RETURNING config_id",
            )
            .bind(&new.project_name)
            .bind(&new.workflow_type)
            .bind(at)
            .fetch_one(&mut *tx)
            .await?;
            let row: ConfigRecord = sqlx::query_as(&insert_version)
                .bind(config_id)
                .bind(&new.project_name)
                .bind(&new.workflow_type)
                .bind(&new.workflow_name)
                .bind(Json(&new.config))
                .bind(Json(&new.sealed_secrets))
                .bind(&new.comment)
                .bind(at)
                .bind(&new.package_digest)
                .fetch_one(&mut *tx)
                .await?;
            event.config_id = Some(config_id);
            event.version_number = Some(VersionNumber::FIRST);
            insert_event!(event, at).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok::<_, StoreError>(row)
        })?;
        Ok(row)
    }

    pub async fn latest_config(
        &self,
        project: &ProjectName,
        config_id: ConfigId,
    ) -> Result<ConfigRecord, StoreError> {
        let sql = format!(
            "SELECT {CONFIG_COLUMNS} FROM configs WHERE project_name = $1 AND config_id = $2 \
             AND version_number = (SELECT latest_version FROM config_heads WHERE config_id = $2)"
        );
        let row: ConfigRecord = on_reader!(self, pool =>
            sqlx::query_as(&sql).bind(project).bind(config_id).fetch_one(pool).await)?;
        Ok(row)
    }

    pub async fn config_version(
        &self,
        project: &ProjectName,
        config_id: ConfigId,
        version_number: VersionNumber,
    ) -> Result<ConfigRecord, StoreError> {
        let sql = format!(
            "SELECT {CONFIG_COLUMNS} FROM configs \
             WHERE project_name = $1 AND config_id = $2 AND version_number = $3"
        );
        let row: ConfigRecord = on_reader!(self, pool => sqlx::query_as(&sql)
            .bind(project)
            .bind(config_id)
            .bind(version_number)
            .fetch_one(pool)
            .await)?;
        Ok(row)
    }

    /// The latest version of each config of a project, by config id, after `after`.
    pub async fn list_latest_configs(
        &self,
        project: &ProjectName,
        workflow_type: Option<&WorkflowType>,
        after: Option<i64>,
        limit: i64,
    ) -> Result<Vec<ConfigRecord>, StoreError> {
        let sql = format!(
            "SELECT {} FROM config_heads h JOIN configs c \
             ON c.config_id = h.config_id AND c.version_number = h.latest_version \
             WHERE h.project_name = $1 AND NOT h.ad_hoc AND ($2 IS NULL OR h.workflow_type = $2) \
             AND h.config_id > $3 \
             ORDER BY h.config_id LIMIT $4",
            qualified_config_columns("c")
        );
        let rows: Vec<ConfigRecord> = on_reader!(self, pool => sqlx::query_as(&sql)
            .bind(project)
            .bind(workflow_type)
            .bind(after.unwrap_or(0))
            .bind(limit)
            .fetch_all(pool)
            .await)?;
        Ok(rows)
    }

    /// The latest version of every config of a workflow type, in every project, that was not
    /// validated against the package with `digest`: those a changed package may have broken.
    pub async fn latest_configs_not_validated_against(
        &self,
        workflow_type: &WorkflowType,
        digest: &str,
    ) -> Result<Vec<ConfigRecord>, StoreError> {
        let sql = format!(
            "SELECT {} FROM config_heads h JOIN configs c \
             ON c.config_id = h.config_id AND c.version_number = h.latest_version \
             WHERE h.workflow_type = $1 AND (c.package_digest IS NULL OR c.package_digest <> $2) \
             ORDER BY h.project_name, h.config_id",
            qualified_config_columns("c")
        );
        let rows: Vec<ConfigRecord> = on_reader!(self, pool => sqlx::query_as(&sql)
            .bind(workflow_type)
            .bind(digest)
            .fetch_all(pool)
            .await)?;
        Ok(rows)
    }

    /// Every version of a config, oldest first; empty when the config does not exist.
    pub async fn list_versions(
        &self,
        project: &ProjectName,
        config_id: ConfigId,
    ) -> Result<Vec<ConfigVersionSummary>, StoreError> {
        let rows: Vec<(
            VersionNumber,
            i64,
            Option<String>,
            chrono::DateTime<chrono::Utc>,
        )> = on_reader!(self, pool => sqlx::query_as(
                "SELECT version_number, id, comment, created_at FROM configs \
                 WHERE project_name = $1 AND config_id = $2 ORDER BY version_number",
            )
            .bind(project)
            .bind(config_id)
            .fetch_all(pool)
            .await)?;
        Ok(rows
            .into_iter()
            .map(
                |(version_number, id, comment, created_at)| ConfigVersionSummary {
                    version_number,
                    id,
                    comment,
                    created_at,
                },
            )
            .collect())
    }

    /// Applies a change under the head row's lock: a `config` different from the latest
    /// inserts version N+1 (carrying name and secrets over); anything else updates the latest
    /// row in place. Older versions are never touched.
    pub async fn change_config(
        &self,
        project: &ProjectName,
        config_id: ConfigId,
        change: &ConfigChange,
        mut event: NewEvent,
    ) -> Result<(ConfigRecord, ChangeOutcome), StoreError> {
        let at = now();
        let select_latest = format!(
            "SELECT {CONFIG_COLUMNS} FROM configs WHERE config_id = $1 AND version_number = $2"
        );
        let insert_next = format!(
            "INSERT INTO configs (config_id, version_number, project_name, workflow_type, \
             workflow_name, config, secrets, comment, created_at, updated_at, package_digest) \
             SELECT config_id, $2, project_name, workflow_type, COALESCE($3, workflow_name), $4, \
             secrets, $5, $6, $6, $8 FROM configs WHERE config_id = $1 AND version_number = $7 \
             RETURNING {CONFIG_COLUMNS}"
        );
        let update_in_place = format!(
            "UPDATE configs SET workflow_name = COALESCE($3, workflow_name), \
             comment = COALESCE($4, comment), updated_at = $5, \
             package_digest = COALESCE($6, package_digest) \
             WHERE config_id = $1 AND version_number = $2 RETURNING {CONFIG_COLUMNS}"
        );
        let (row, outcome) = on_writer!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let (latest,): (VersionNumber,) = sqlx::query_as(LOCK_HEAD)
                .bind(config_id)
                .bind(project)
                .fetch_one(&mut *tx)
                .await?;
            if change.expected_version.is_some_and(|expected| expected != latest) {
                return Err(StoreError::Conflict(format!(
                    "stale version: the latest version is {latest}"
                )));
            }
            let current: ConfigRecord = sqlx::query_as(&select_latest)
                .bind(config_id)
                .bind(latest)
                .fetch_one(&mut *tx)
                .await?;
            let new_config = change.config.as_ref().filter(|config| **config != current.config);
            let (row, outcome): (ConfigRecord, ChangeOutcome) = if let Some(config) = new_config {
                sqlx::query("UPDATE config_heads SET latest_version = $2 WHERE config_id = $1")
                    .bind(config_id)
                    .bind(latest.next())
                    .execute(&mut *tx)
                    .await?;
                let row = sqlx::query_as(&insert_next)
                    .bind(config_id)
                    .bind(latest.next())
                    .bind(&change.workflow_name)
                    .bind(Json(config))
                    .bind(&change.comment)
                    .bind(at)
                    .bind(latest)
                    .bind(&change.package_digest)
                    .fetch_one(&mut *tx)
                    .await?;
                (row, ChangeOutcome::NewVersion)
            } else {
                let row = sqlx::query_as(&update_in_place)
                    .bind(config_id)
                    .bind(latest)
                    .bind(&change.workflow_name)
                    .bind(&change.comment)
                    .bind(at)
                    .bind(&change.package_digest)
                    .fetch_one(&mut *tx)
                    .await?;
                (row, ChangeOutcome::UpdatedInPlace)
            };
            event.config_id = Some(config_id);
            event.version_number = Some(row.version_number);
            insert_event!(event, at).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok::<_, StoreError>((row, outcome))
        })?;
        Ok((row, outcome))
    }

    /// Merges sealed secret values into the latest version's secrets; `Value::Null` removes a
    /// name. One UPDATE under the head row's lock, so a concurrent new version cannot drop it.
    pub async fn merge_secrets(
        &self,
        project: &ProjectName,
        config_id: ConfigId,
        patch: &serde_json::Map<String, Value>,
        mut event: NewEvent,
    ) -> Result<ConfigRecord, StoreError> {
        let at = now();
        let merge = match self.backend() {
            crate::Backend::Postgres => "jsonb_strip_nulls(secrets || $3)",
            crate::Backend::Sqlite => "json_patch(secrets, $3)",
        };
        let sql = format!(
            "UPDATE configs SET secrets = {merge}, updated_at = $4 \
             WHERE config_id = $1 AND version_number = $2 RETURNING {CONFIG_COLUMNS}"
        );
        let row: ConfigRecord = on_writer!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let (latest,): (VersionNumber,) = sqlx::query_as(LOCK_HEAD)
                .bind(config_id)
                .bind(project)
                .fetch_one(&mut *tx)
                .await?;
            let row: ConfigRecord = sqlx::query_as(&sql)
                .bind(config_id)
                .bind(latest)
                .bind(Json(patch))
                .bind(at)
                .fetch_one(&mut *tx)
                .await?;
            event.config_id = Some(config_id);
            event.version_number = Some(latest);
            insert_event!(event, at).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok::<_, StoreError>(row)
        })?;
        Ok(row)
    }
}

pub(crate) fn qualified_config_columns(alias: &str) -> String {
    CONFIG_COLUMNS
        .split(", ")
        .map(|column| format!("{alias}.{column}"))
        .collect::<Vec<_>>()
        .join(", ")
}
