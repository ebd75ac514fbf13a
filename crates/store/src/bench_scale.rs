//! For `polyphemus bench scale` only (cargo feature `bench`): a project of many configs, each
//! scheduled and due, with a long history of ended runs (metadata and one state key each),
//! in one statement per table. Not part of the store's production API.

use crate::events::now;
use crate::BeginWrite;
use crate::{on_writer, Backend, Store, StoreError};
use chrono::{DateTime, Utc};
use polyphemus_model::ProjectName;

/// Inserts `configs` configs of `sftp-to-storage` (version 1, hourly, due at `due`) into
/// `project`, and `runs_per_config` Succeeded runs of each, interleaved as time would make
/// them (run `n` of every config before run `n + 1` of any). Each run has metadata and state
/// `{"cursor": <its seq>}`. Run ids are `r-<config>-<n>`.
pub async fn seed_project(
    store: &Store,
    project: &ProjectName,
    configs: i64,
    runs_per_config: i64,
    due: DateTime<Utc>,
) -> Result<(), StoreError> {
    let at = now();
    let (series, value) = match store.backend() {
        Backend::Postgres => ("generate_series(1, $2::bigint) AS s(n)", "to_jsonb(seq)"),
        Backend::Sqlite => ("series s", "CAST(seq AS TEXT)"),
    };
    let with_series = match store.backend() {
        Backend::Postgres => "",
        Backend::Sqlite => {
            "WITH RECURSIVE series(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM series WHERE n < $2) "
        }
    };
    let heads = format!(
        "{with_series}INSERT INTO config_heads (project_name, workflow_type, latest_version, created_at) \
         SELECT $1, 'sftp-to-storage', 1, $3 FROM {series}"
    );
    let versions = "INSERT INTO configs (config_id, version_number, project_name, workflow_type, \
         workflow_name, config, secrets, created_at, updated_at) \
         SELECT config_id, 1, project_name, workflow_type, 'pipeline ' || config_id, '{}', '{}', $2, $2 \
         FROM config_heads WHERE project_name = $1";
    let schedules =
        "INSERT INTO runtime_configs (config_id, run_interval_s, next_run_at, updated_at) \
         SELECT config_id, 3600, $2, $3 FROM config_heads WHERE project_name = $1";
    let runs = format!(
        "{with_series}INSERT INTO runs (run_id, name, project_name, config_id, version_number, \
         final_phase, created_at, updated_at) \
         SELECT 'r-' || h.config_id || '-' || s.n, 'r-' || h.config_id || '-' || s.n, h.project_name, \
         h.config_id, 1, 'Succeeded', $3, $3 FROM {series} CROSS JOIN config_heads h \
         WHERE h.project_name = $1 ORDER BY s.n, h.config_id"
    );
    let metadata = "INSERT INTO run_metadata (run_seq, run_id, config_id, version_number, phase, \
         started_at, finished_at, nodes, duration_s, retries, failed_nodes, updated_at) \
         SELECT seq, run_id, config_id, 1, 'Succeeded', $2, $2, '{}', 1.0, 0, '[]', $2 \
         FROM runs WHERE project_name = $1";
    let state = format!(
        "INSERT INTO run_state_keys (config_id, key, run_seq, value) \
         SELECT config_id, 'cursor', seq, {value} FROM runs WHERE project_name = $1"
    );
    on_writer!(store, pool => {
        let mut tx = pool.begin_write().await?;
        sqlx::query("INSERT INTO projects (name, created_at) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(project)
            .bind(at)
            .execute(&mut *tx)
            .await?;
        sqlx::query(&heads).bind(project).bind(configs).bind(at).execute(&mut *tx).await?;
        sqlx::query(versions).bind(project).bind(at).execute(&mut *tx).await?;
        sqlx::query(schedules).bind(project).bind(due).bind(at).execute(&mut *tx).await?;
        sqlx::query(&runs).bind(project).bind(runs_per_config).bind(at).execute(&mut *tx).await?;
        sqlx::query(metadata).bind(project).bind(at).execute(&mut *tx).await?;
        sqlx::query(&state).bind(project).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok::<_, StoreError>(())
    })
}

/// Makes every schedule of `project` due at `due` again (after a claim moved them on).
pub async fn make_due(
    store: &Store,
    project: &ProjectName,
    due: DateTime<Utc>,
) -> Result<(), StoreError> {
    on_writer!(store, pool => sqlx::query(
            "UPDATE runtime_configs SET next_run_at = $2, launch_claimed_at = NULL \
             WHERE config_id IN (SELECT config_id FROM config_heads WHERE project_name = $1)",
        )
        .bind(project)
        .bind(due)
        .execute(pool)
        .await
        .map(|_| ()))
    .map_err(StoreError::from)
}

/// Refreshes the planner's statistics after seeding (PostgreSQL's autovacuum would, later).
pub async fn analyze(store: &Store) -> Result<(), StoreError> {
    on_writer!(store, pool => sqlx::query("ANALYZE").execute(pool).await.map(|_| ()))
        .map_err(StoreError::from)
}
