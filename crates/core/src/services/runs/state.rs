//! What jobs write during a run: state merges and output, and state read back from earlier runs.

use super::super::Services;
use crate::{Access, CoreError};
use polyphemus_model::{check_key, ConfigId, FieldError, PatchRun, Role, RunChanged, RunId};
use polyphemus_store::{RunChange, StateAnswer, StoreError};
use serde_json::{Map, Value};

const MAX_PREVIOUS_KEYS: usize = 100;
/// State keys one PATCH may set.
const MAX_STATE_KEYS: usize = 100;

/// `?keys=&collect=&before_run_id=&limit=` of previous_state.
#[derive(Debug, Clone, Default)]
pub struct PreviousStateQuery {
    pub keys: Vec<String>,
    pub collect: bool,
    pub before_run_id: Option<RunId>,
    /// With `collect`, at most this many values per key.
    pub limit: Option<i64>,
}

impl Services {
    pub async fn patch_run(
        &self,
        access: &Access,
        run_id: &RunId,
        patch: PatchRun,
        answer: StateAnswer,
    ) -> Result<RunChanged, CoreError> {
        let scope = self
            .reachable_run_scope(access, run_id, Role::Editor)
            .await?;
        let state = patch.state.unwrap_or_default();
        if state.is_empty() && patch.append_output.is_none() && patch.output.is_none() {
            return Err(CoreError::bad_field(
                "/",
                "nothing to change: give state, append_output or output",
            ));
        }
        if state.len() > MAX_STATE_KEYS {
            return Err(CoreError::bad_field(
                "/state",
                format!("at most {MAX_STATE_KEYS} keys per request"),
            ));
        }
        let mut errors: Vec<FieldError> = state
            .keys()
            .filter_map(|key| check_key("state", key).err())
            .map(|error| FieldError {
                pointer: "/state".into(),
                message: error.reason,
            })
            .collect();
        if !errors.is_empty() {
            return Err(CoreError::BadRequest {
                detail: "state keys must be 1-128 letters, digits, '_', '-' or '.'".into(),
                errors,
            });
        }
        if let Some(manifest) = self.registry().get(&scope.workflow_type) {
            errors.extend(manifest.state_errors(&Value::Object(state.clone())));
            if !errors.is_empty() {
                return Err(CoreError::Unprocessable {
                    detail: format!(
                        "state does not match the state schema of workflow {}",
                        manifest.name()
                    ),
                    errors,
                });
            }
        }
        let change = RunChange {
            state,
            append_output: patch.append_output,
            replace_output: patch.output,
            answer,
        };
        let updated = self
            .store
            .change_run(access.project(), run_id, &change, self.output_limit)
            .await
            .map_err(|error| match error {
                StoreError::RunEnded(phase) => CoreError::Conflict(format!(
                    "run {run_id} has already ended ({phase}): its state and output no longer change"
                )),
                StoreError::NotFound => CoreError::NotFound(format!("run {run_id}")),
                other => other.into(),
            })?;
        Ok(updated)
    }

    /// The latest value of each key among earlier runs of the config (any version);
    /// with `collect`, every value newest first. Keys no earlier run holds are left out.
    pub async fn previous_state(
        &self,
        access: &Access,
        config_id: ConfigId,
        query: PreviousStateQuery,
    ) -> Result<Map<String, Value>, CoreError> {
        access.require_role_or_task(Role::Viewer, config_id)?;
        if query.keys.is_empty() || query.keys.len() > MAX_PREVIOUS_KEYS {
            return Err(CoreError::bad_field(
                "/keys",
                format!("give 1-{MAX_PREVIOUS_KEYS} comma-separated state keys"),
            ));
        }
        for key in &query.keys {
            check_key("keys", key)?;
        }
        self.latest_record(access, config_id).await?;
        let before_seq = match &query.before_run_id {
            Some(run_id) => {
                let record = self.store.get_run(access.project(), run_id).await.map_err(
                    |error| match error {
                        StoreError::NotFound => CoreError::bad_field(
                            "/before_run_id",
                            format!("no run {run_id} in this project"),
                        ),
                        other => other.into(),
                    },
                )?;
                if record.run.config_id != config_id {
                    return Err(CoreError::bad_field(
                        "/before_run_id",
                        "that run belongs to another config",
                    ));
                }
                Some(record.seq)
            }
            None => None,
        };
        let per_key = if query.collect {
            let limit = query.limit.unwrap_or(1_000);
            if !(1..=10_000).contains(&limit) {
                return Err(CoreError::bad_field(
                    "/limit",
                    "must be between 1 and 10000",
                ));
            }
            limit
        } else {
            1
        };
        let found = self
            .store
            .previous_state(config_id, &query.keys, before_seq, per_key)
            .await?;
        Ok(found
            .into_iter()
            .filter(|(_, values)| !values.is_empty())
            .map(|(key, mut values)| {
                let value = if query.collect {
                    Value::Array(values)
                } else {
                    values.swap_remove(0)
                };
                (key, value)
            })
            .collect())
    }
}
