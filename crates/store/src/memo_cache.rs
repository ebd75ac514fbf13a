//! The caches of `memoize` templates: entries by project, cache name and key. A save is one
//! upsert (concurrent saves of one key leave one whole entry, the last); a load is one
//! statement that stamps the hit and returns the entry.

use crate::events::now;
use crate::{on_writer, Store, StoreError};
use chrono::{DateTime, Utc};
use polyphemus_model::ProjectName;
use serde_json::Value;
use sqlx::types::Json;

/// One cached result: the node that stored it, its outputs (Argo's shape) and when.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct MemoRecord {
    pub node_id: String,
    pub outputs: Json<Value>,
    pub created_at: DateTime<Utc>,
}

impl Store {
    /// The entry under (`cache_name`, `key`) of the project, if any; its `last_hit_at` is
    /// stamped.
    pub async fn load_memo(
        &self,
        project: &ProjectName,
        cache_name: &str,
        key: &str,
    ) -> Result<Option<MemoRecord>, StoreError> {
        let sql = "UPDATE memo_cache_entries SET last_hit_at = $4 \
                   WHERE project_name = $1 AND cache_name = $2 AND cache_key = $3 \
                   RETURNING node_id, outputs, created_at";
        let at = now();
        on_writer!(self, pool => {
            Ok(sqlx::query_as(sql)
                .bind(project)
                .bind(cache_name)
                .bind(key)
                .bind(at)
                .fetch_optional(pool)
                .await?)
        })
    }

    /// Stores `record` under (`cache_name`, `key`) of the project, replacing what was there.
    pub async fn save_memo(
        &self,
        project: &ProjectName,
        cache_name: &str,
        key: &str,
        record: &MemoRecord,
    ) -> Result<(), StoreError> {
        let sql = "INSERT INTO memo_cache_entries \
                   (project_name, cache_name, cache_key, node_id, outputs, created_at) \
                   VALUES ($1, $2, $3, $4, $5, $6) \
                   ON CONFLICT (project_name, cache_name, cache_key) DO UPDATE SET \
                   node_id = excluded.node_id, outputs = excluded.outputs, \
                   created_at = excluded.created_at, last_hit_at = NULL";
        on_writer!(self, pool => {
            sqlx::query(sql)
                .bind(project)
                .bind(cache_name)
                .bind(key)
                .bind(&record.node_id)
                .bind(&record.outputs)
                .bind(record.created_at)
                .execute(pool)
                .await?;
            Ok(())
        })
    }
}
