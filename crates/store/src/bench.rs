//! For `polyphemus bench` only (cargo feature `bench`): bulk seeding of many runs of one config
//! in one statement per table.
//! Not part of the store's production API.

use crate::events::now;
use crate::BeginWrite;
use crate::{on_writer, Backend, Store, StoreError};
use polyphemus_model::{ConfigId, ProjectName, VersionNumber};

/// Inserts `count` runs of a config version, each holding state `{key: n}`, and indexes
/// the key. Run ids are `{prefix}-{n}`. Regular runs go through `register_run` and
/// `change_run`.
pub async fn seed_runs(
    store: &Store,
    project: &ProjectName,
    config_id: ConfigId,
    version_number: VersionNumber,
    prefix: &str,
    key: &str,
    count: i64,
) -> Result<(), StoreError> {
    let at = now();
    let insert_runs = match store.backend() {
        Backend::Postgres => {
            "INSERT INTO runs (run_id, name, project_name, config_id, version_number, \
             created_at, updated_at) \
             SELECT $1 || '-' || n, $1, $2, $3, $4, $6, $6 \
             FROM generate_series(1, $5::bigint) AS n"
        }
        Backend::Sqlite => {
            "WITH RECURSIVE series(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM series WHERE n < $5) \
             INSERT INTO runs (run_id, name, project_name, config_id, version_number, \
             created_at, updated_at) \
             SELECT $1 || '-' || n, $1, $2, $3, $4, $6, $6 FROM series"
        }
    };
    // The key's value is the run's n, taken back from its run id.
    let index_key = match store.backend() {
        Backend::Postgres => {
            "INSERT INTO run_state_keys (config_id, key, run_seq, value) \
             SELECT config_id, $2, seq, to_jsonb(substr(run_id, length($3) + 1)::bigint) \
             FROM runs WHERE config_id = $1 ON CONFLICT DO NOTHING"
        }
        Backend::Sqlite => {
            "INSERT INTO run_state_keys (config_id, key, run_seq, value) \
             SELECT config_id, $2, seq, CAST(substr(run_id, length($3) + 1) AS INTEGER) \
             FROM runs WHERE config_id = $1 ON CONFLICT DO NOTHING"
        }
    };
    on_writer!(store, pool => {
        let mut tx = pool.begin_write().await?;
        sqlx::query(insert_runs)
            .bind(prefix)
            .bind(project)
            .bind(config_id)
            .bind(version_number)
            .bind(count)
            .bind(at)
            .execute(&mut *tx)
            .await?;
        sqlx::query(index_key)
            .bind(config_id)
            .bind(key)
            .bind(format!("{prefix}-"))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok::<_, StoreError>(())
    })
}

/// Inserts `count` ended (`Succeeded`) runs of a config version, each holding a copy of
/// `state`, with its keys indexed as `change_run` would: the history of a config that has
/// run for years, in one statement per table. Run ids are `{prefix}-{n}`.
pub async fn seed_ended_runs(
    store: &Store,
    project: &ProjectName,
    (config_id, version_number): (ConfigId, VersionNumber),
    prefix: &str,
    state: &serde_json::Map<String, serde_json::Value>,
    count: i64,
) -> Result<(), StoreError> {
    let at = now();
    let insert_runs = match store.backend() {
        Backend::Postgres => {
            "INSERT INTO runs (run_id, name, project_name, config_id, version_number, \
             final_phase, created_at, updated_at) \
             SELECT $1 || '-' || n, $1, $2, $3, $4, 'Succeeded', $5, $5 \
             FROM generate_series(1, $6::bigint) AS n"
        }
        Backend::Sqlite => {
            "WITH RECURSIVE series(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM series WHERE n < $6) \
             INSERT INTO runs (run_id, name, project_name, config_id, version_number, \
             final_phase, created_at, updated_at) \
             SELECT $1 || '-' || n, $1, $2, $3, $4, 'Succeeded', $5, $5 FROM series"
        }
    };
    let index_keys = match store.backend() {
        Backend::Postgres => {
            "INSERT INTO run_state_keys (config_id, key, run_seq, value) \
             SELECT r.config_id, k.key, r.seq, k.value FROM runs r CROSS JOIN jsonb_each($2) AS k \
             WHERE r.config_id = $1 AND r.name = $3 ON CONFLICT DO NOTHING"
        }
        Backend::Sqlite => {
            "INSERT INTO run_state_keys (config_id, key, run_seq, value) \
             SELECT r.config_id, k.key, r.seq, $2 -> k.fullkey FROM runs r, json_each($2) k \
             WHERE r.config_id = $1 AND r.name = $3 ON CONFLICT DO NOTHING"
        }
    };
    on_writer!(store, pool => {
        let mut tx = pool.begin_write().await?;
        sqlx::query(insert_runs)
            .bind(prefix)
            .bind(project)
            .bind(config_id)
            .bind(version_number)
            .bind(at)
            .bind(count)
            .execute(&mut *tx)
            .await?;
        sqlx::query(index_keys)
            .bind(config_id)
            .bind(sqlx::types::Json(state))
            .bind(prefix)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok::<_, StoreError>(())
    })
}
