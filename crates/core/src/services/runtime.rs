//! Runtime config rules: schedule (interval or cron in a time zone), disabled, runtime params.

use super::Services;
use crate::error::OrNotFound;
use crate::schedule::Schedule;
use crate::{Access, CoreError};
use chrono::Utc;
use polyphemus_model::{ConfigId, CronExpr, FieldError, PutRuntimeConfig, Role, RuntimeConfig};
use polyphemus_store::{Json, NewEvent, RuntimeRecord};
use serde_json::Value;

impl Services {
    pub async fn get_runtime(
        &self,
        access: &Access,
        config_id: ConfigId,
    ) -> Result<RuntimeConfig, CoreError> {
        // A task reads the runtime params of its own config.
        access.require_role_or_task(Role::Viewer, config_id)?;
        let record = self
            .store
            .get_runtime(access.project(), config_id)
            .await
            .or_not_found(|| format!("config {config_id}"))?;
        Ok(match record {
            Some(record) => to_wire(record),
            None => RuntimeConfig {
                updated_at: None,
                ..to_wire(RuntimeRecord::unset(config_id, Utc::now()))
            },
        })
    }

    pub async fn put_runtime(
        &self,
        access: &Access,
        config_id: ConfigId,
        request: PutRuntimeConfig,
    ) -> Result<RuntimeConfig, CoreError> {
        access.require(Role::Editor)?;
        let latest = self.latest_record(access, config_id).await?;
        let manifest = self.manifest(&latest.workflow_type)?;
        if let Some(params) = &request.config {
            let errors = manifest.runtime_errors(params);
            if !errors.is_empty() {
                return Err(CoreError::Unprocessable {
                    detail: format!(
                        "config does not match the runtime params schema of workflow {}",
                        manifest.name()
                    ),
                    errors,
                });
            }
        }
        let event = NewEvent::new(
            access.project(),
            access.actor(),
            "runtime.updated",
            serde_json::to_value(&request).unwrap_or(Value::Null),
        );
        let min_interval_s = self.min_interval_s;
        let record = self
            .store
            .update_runtime(
                access.project(),
                config_id,
                |current| merge_runtime(config_id, current, request, min_interval_s),
                event,
            )
            .await
            .map_err(|error| match error {
                CoreError::NotFound(_) => CoreError::not_found(format!("config {config_id}")),
                other => other,
            })?;
        Ok(to_wire(record))
    }
}

/// Applies a PUT to the stored runtime config and decides `next_run_at`: kept while the
/// schedule is unchanged, recomputed from now when it changes, cleared when disabled.
fn merge_runtime(
    config_id: ConfigId,
    current: Option<RuntimeRecord>,
    request: PutRuntimeConfig,
    min_interval_s: i64,
) -> Result<RuntimeRecord, CoreError> {
    let now = Utc::now();
    let before = current.unwrap_or_else(|| RuntimeRecord::unset(config_id, now));
    let mut next = before.clone();
    let mut errors = Vec::new();
    merge_policies(&mut next, &request, &mut errors);
    if let Some(interval) = request.run_interval_s {
        next.run_interval_s = interval;
    }
    if let Some(cron) = request.cron {
        match cron
            .filter(|c| !c.trim().is_empty())
            .map(CronExpr::parse)
            .transpose()
        {
            Ok(cron) => next.cron = cron,
            Err(error) => errors.push(field("/cron", &error.reason)),
        }
    }
    if let Some(timezone) = request.timezone {
        next.timezone = timezone;
    }
    if let Some(disabled) = request.disabled {
        next.disabled = disabled;
    }
    if let Some(params) = request.config {
        next.config = Json(params);
    }
    let schedule = match (next.run_interval_s, next.cron.as_ref()) {
        (Some(_), Some(_)) => {
            errors.push(field(
                "/cron",
                "set either run_interval_s or cron, not both",
            ));
            None
        }
        (Some(seconds), None) if seconds < min_interval_s => {
            errors.push(field(
                "/run_interval_s",
                &format!("must be at least {min_interval_s} seconds (the server's --min-interval-s)"),
            ));
            None
        }
        (Some(seconds), None) => Schedule::every_seconds(seconds)
            .map_err(|m| errors.push(field("/run_interval_s", &m)))
            .ok(),
        (None, Some(cron)) => Schedule::cron(cron, next.timezone.as_deref())
            .map_err(|m| {
                let pointer = if m.contains("time zone") {
                    "/timezone"
                } else {
                    "/cron"
                };
                errors.push(field(pointer, &m));
            })
            .ok()
            .filter(|schedule| match schedule.shortest_gap(now) {
                Some(gap) if gap.num_seconds() < min_interval_s => {
                    errors.push(field(
                        "/cron",
                        &format!(
                            "fires every {} seconds; the server's --min-interval-s is {min_interval_s}",
                            gap.num_seconds()
                        ),
                    ));
                    false
                }
                _ => true,
            }),
        (None, None) => None,
    };
    if !errors.is_empty() {
        return Err(CoreError::Unprocessable {
            detail: "the schedule is not valid".into(),
            errors,
        });
    }
    let schedule_changed = next.run_interval_s != before.run_interval_s
        || next.cron != before.cron
        || next.timezone != before.timezone
        || (before.disabled && !next.disabled);
    next.next_run_at = match schedule {
        None => None,
        Some(_) if next.disabled => None,
        Some(schedule) if schedule_changed || before.next_run_at.is_none() => {
            schedule.next_after(now)
        }
        Some(_) => before.next_run_at,
    };
    Ok(next)
}

/// The longest starting deadline or expected duration: 366 days.
const MAX_POLICY_SECONDS: i64 = 366 * 86_400;

/// The concurrency policy, starting deadline and pause threshold of a PUT.
fn merge_policies(
    next: &mut RuntimeRecord,
    request: &PutRuntimeConfig,
    errors: &mut Vec<FieldError>,
) {
    if let Some(policy) = request.concurrency_policy {
        next.concurrency_policy = policy;
    }
    match request.starting_deadline_s {
        Some(Some(seconds)) if !(1..=MAX_POLICY_SECONDS).contains(&seconds) => errors.push(field(
            "/starting_deadline_s",
            "must be between 1 second and 366 days",
        )),
        Some(deadline) => next.starting_deadline_s = deadline,
        None => {}
    }
    match request.expected_duration_s {
        Some(Some(seconds)) if !(1..=MAX_POLICY_SECONDS).contains(&seconds) => errors.push(field(
            "/expected_duration_s",
            "must be between 1 second and 366 days",
        )),
        Some(expected) => next.expected_duration_s = expected,
        None => {}
    }
    match request.pause_after_failures {
        Some(count) if !(0..=1000).contains(&count) => errors.push(field(
            "/pause_after_failures",
            "must be between 0 (never pause) and 1000",
        )),
        Some(count) => next.pause_after_failures = count,
        None => {}
    }
}

fn field(pointer: &str, message: &str) -> FieldError {
    FieldError {
        pointer: pointer.to_owned(),
        message: message.to_owned(),
    }
}

pub(super) fn to_wire(record: RuntimeRecord) -> RuntimeConfig {
    let paused = record.pause();
    RuntimeConfig {
        config_id: record.config_id,
        run_interval_s: record.run_interval_s,
        cron: record.cron,
        timezone: record.timezone,
        disabled: record.disabled,
        paused,
        config: record.config.0,
        next_run_at: record.next_run_at,
        updated_at: Some(record.updated_at),
        concurrency_policy: record.concurrency_policy,
        starting_deadline_s: record.starting_deadline_s,
        pause_after_failures: record.pause_after_failures,
        expected_duration_s: record.expected_duration_s,
    }
}
