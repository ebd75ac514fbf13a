//! A project's retention policy: viewers read it, project admins change it.

use super::Services;
use crate::error::OrNotFound;
use crate::retention::Pruner;
use crate::run_dirs::RunDirs;
use crate::{Access, CoreError};
use polyphemus_model::{
    FieldError, HistoryLimit, InvalidValue, PutRetentionPolicy, RetentionDays, RetentionPolicy,
    Role,
};
use polyphemus_store::{NewEvent, RetentionChange, StoreError};

impl Services {
    /// The project's policy; a project that never set one keeps everything.
    pub async fn get_retention(&self, access: &Access) -> Result<RetentionPolicy, CoreError> {
        access.require(Role::Viewer)?;
        let project = access.project();
        match self.store.get_retention(project).await? {
            Some(record) => Ok(record.into()),
            None if self.store.project_exists(project).await? => {
                Ok(RetentionPolicy::keep_everything(project.clone()))
            }
            None => Err(CoreError::not_found(format!("project {project}"))),
        }
    }

    /// Changes the given fields of the project's policy (`null`: keep forever); 422 naming
    /// each field that is not a whole number in its range.
    pub async fn put_retention(
        &self,
        access: &Access,
        request: PutRetentionPolicy,
    ) -> Result<RetentionPolicy, CoreError> {
        access.require(Role::Admin)?;
        let change = parse_change(&request)?;
        let project = access.project();
        let event = NewEvent::new(
            project,
            access.actor(),
            "retention.updated",
            serde_json::Value::Null,
        );
        let record = self
            .store
            .put_retention(project, &change, event)
            .await
            .map_err(|error| match error {
                StoreError::MissingReference(_) => StoreError::NotFound,
                other => other,
            })
            .or_not_found(|| format!("project {project}"))?;
        Ok(record.into())
    }

    /// Prunes under the stored policies; `run_dirs` is where this server's local engine keeps
    /// its runs, if it has one.
    pub fn pruner(&self, run_dirs: Option<RunDirs>) -> Pruner {
        Pruner::new(self.store.clone(), run_dirs)
    }
}

/// The change a PUT asks for, or 422 with one entry per field out of range.
fn parse_change(request: &PutRetentionPolicy) -> Result<RetentionChange, CoreError> {
    let mut errors = Vec::new();
    let change = RetentionChange {
        keep_runs_days: parse_field(
            "keep_runs_days",
            request.keep_runs_days,
            RetentionDays::parse,
            &mut errors,
        ),
        keep_output_days: parse_field(
            "keep_output_days",
            request.keep_output_days,
            RetentionDays::parse,
            &mut errors,
        ),
        successful_runs_history_limit: parse_field(
            "successful_runs_history_limit",
            request.successful_runs_history_limit,
            HistoryLimit::parse,
            &mut errors,
        ),
        failed_runs_history_limit: parse_field(
            "failed_runs_history_limit",
            request.failed_runs_history_limit,
            HistoryLimit::parse,
            &mut errors,
        ),
    };
    if errors.is_empty() {
        return Ok(change);
    }
    let names: Vec<&str> = errors
        .iter()
        .map(|error| error.pointer.trim_start_matches('/'))
        .collect();
    Err(CoreError::Unprocessable {
        detail: format!("the retention policy is not valid: {}", names.join(", ")),
        errors,
    })
}

/// One field of the change: absent stays absent, `null` keeps forever, a number is parsed
/// (an error is added to `errors` naming the field).
fn parse_field<T>(
    name: &'static str,
    value: Option<Option<i64>>,
    parse: fn(&'static str, i64) -> Result<T, InvalidValue>,
    errors: &mut Vec<FieldError>,
) -> Option<Option<T>> {
    match value? {
        None => Some(None),
        Some(number) => match parse(name, number) {
            Ok(parsed) => Some(Some(parsed)),
            Err(error) => {
                errors.push(FieldError {
                    pointer: format!("/{name}"),
                    message: format!("{name} {}", error.reason),
                });
                None
            }
        },
    }
}
