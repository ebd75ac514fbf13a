//! The built-in ad-hoc config of a project: what workflows submitted without a config version
//! (through the Argo Server API) run as, so every run still belongs to a config version.

use crate::configs::{qualified_config_columns, CONFIG_COLUMNS};
use crate::events::now;
use crate::BeginWrite;
use crate::{on_writer, ConfigRecord, Store, StoreError};
use polyphemus_model::{ConfigId, ProjectName, WorkflowType};

/// The workflow type (and name) the ad-hoc config shows under.
pub const AD_HOC_WORKFLOW_TYPE: &str = "ad-hoc";

impl Store {
    /// The project's ad-hoc config (version 1, empty config), created with the project on
    /// first use. Concurrent first uses agree on one: the unique index settles the race.
    pub async fn ad_hoc_config(&self, project: &ProjectName) -> Result<ConfigRecord, StoreError> {
        let at = now();
        let workflow_type = WorkflowType::parse(AD_HOC_WORKFLOW_TYPE)
            .map_err(|error| StoreError::Conflict(error.to_string()))?;
        let insert_version = format!(
            "INSERT INTO configs (config_id, version_number, project_name, workflow_type, \
             workflow_name, config, secrets, created_at, updated_at) \
             VALUES ($1, 1, $2, $3, $3, '{{}}', '{{}}', $4, $4) RETURNING {CONFIG_COLUMNS}"
        );
        let select = format!(
            "SELECT {} FROM config_heads h JOIN configs c \
             ON c.config_id = h.config_id AND c.version_number = 1 \
             WHERE h.project_name = $1 AND h.ad_hoc",
            qualified_config_columns("c")
        );
        on_writer!(self, pool => {
            let mut tx = pool.begin_write().await?;
            sqlx::query("INSERT INTO projects (name, created_at) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(project)
                .bind(at)
                .execute(&mut *tx)
                .await?;
            let created: Option<(ConfigId,)> = sqlx::query_as(
                "INSERT INTO config_heads (project_name, workflow_type, latest_version, created_at, ad_hoc) \
                 VALUES ($1, $2, 1, $3, TRUE) \
                 ON CONFLICT (project_name) WHERE ad_hoc DO NOTHING RETURNING config_id",
            )
            .bind(project)
            .bind(&workflow_type)
            .bind(at)
            .fetch_optional(&mut *tx)
            .await?;
            let record: ConfigRecord = match created {
                Some((config_id,)) => sqlx::query_as(&insert_version)
                    .bind(config_id)
                    .bind(project)
                    .bind(&workflow_type)
                    .bind(at)
                    .fetch_one(&mut *tx)
                    .await?,
                None => sqlx::query_as(&select).bind(project).fetch_one(&mut *tx).await?,
            };
            tx.commit().await?;
            Ok::<_, StoreError>(record)
        })
    }

    /// The project's ad-hoc config, when a workflow has been submitted without a config.
    pub async fn find_ad_hoc_config(
        &self,
        project: &ProjectName,
    ) -> Result<Option<ConfigId>, StoreError> {
        let found: Option<(ConfigId,)> = crate::on_reader!(self, pool =>
            sqlx::query_as("SELECT config_id FROM config_heads WHERE project_name = $1 AND ad_hoc")
                .bind(project)
                .fetch_optional(pool)
                .await)?;
        Ok(found.map(|(config_id,)| config_id))
    }
}
