//! A cache of run scopes (run → config version and workflow type). A run's scope never changes
//! once registered, so a hit is always right; it saves a query on every state merge a job makes.

use polyphemus_model::{ProjectName, RunId};
use polyphemus_store::RunScope;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

const MAX_ENTRIES: usize = 100_000;

#[derive(Debug, Clone, Default)]
pub struct RunScopes {
    entries: Arc<Mutex<HashMap<(ProjectName, RunId), RunScope>>>,
}

impl RunScopes {
    pub fn get(&self, project: &ProjectName, run_id: &RunId) -> Option<RunScope> {
        let entries = self.entries.lock().ok()?;
        entries.get(&(project.clone(), run_id.clone())).cloned()
    }

    pub fn insert(&self, project: &ProjectName, run_id: &RunId, scope: RunScope) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
            entries.insert((project.clone(), run_id.clone()), scope);
        }
    }
}
