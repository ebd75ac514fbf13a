//! The local engine's `memoize` cache kept in the store: one per project (a run's
//! `polyphemus/project` label), so projects never see each other's entries.

use futures::future::BoxFuture;
use polyphemus_engine::{EngineError, MemoCache, MemoEntry};
use polyphemus_model::ProjectName;
use polyphemus_store::{Json, MemoRecord, Store};

/// The memoize caches of every project in a store (`Services::memo_caches`).
#[derive(Debug, Clone)]
pub struct MemoCaches {
    store: Store,
}

impl MemoCaches {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// The cache of one project.
    pub fn of(&self, project: ProjectName) -> StoreMemoCache {
        StoreMemoCache {
            store: self.store.clone(),
            project,
        }
    }
}

impl crate::services::Services {
    /// The store-backed memoize caches, for the local orchestrator.
    pub fn memo_caches(&self) -> MemoCaches {
        MemoCaches::new(self.store.clone())
    }
}

/// The entries of one project.
#[derive(Debug, Clone)]
pub struct StoreMemoCache {
    store: Store,
    project: ProjectName,
}

fn engine_error(what: &str, error: impl std::fmt::Display) -> EngineError {
    EngineError::Internal(format!("memoize cache: cannot {what}: {error}"))
}

impl MemoCache for StoreMemoCache {
    fn load<'a>(
        &'a self,
        cache: &'a str,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Option<MemoEntry>, EngineError>> {
        Box::pin(async move {
            let Some(record) = self
                .store
                .load_memo(&self.project, cache, key)
                .await
                .map_err(|e| engine_error("load an entry", e))?
            else {
                return Ok(None);
            };
            let outputs = serde_json::from_value(record.outputs.0)
                .map_err(|e| engine_error("read a malformed entry", e))?;
            Ok(Some(MemoEntry {
                node_id: record.node_id,
                outputs,
                created_at: record.created_at,
            }))
        })
    }

    fn save<'a>(
        &'a self,
        cache: &'a str,
        key: &'a str,
        entry: MemoEntry,
    ) -> BoxFuture<'a, Result<(), EngineError>> {
        Box::pin(async move {
            let outputs =
                serde_json::to_value(&entry.outputs).map_err(|e| engine_error("encode", e))?;
            let record = MemoRecord {
                node_id: entry.node_id,
                outputs: Json(outputs),
                created_at: entry.created_at,
            };
            self.store
                .save_memo(&self.project, cache, key, &record)
                .await
                .map_err(|e| engine_error("save an entry", e))
        })
    }
}
