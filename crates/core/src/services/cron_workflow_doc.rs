//! A CronWorkflow document read as typed settings (schedules, time zone, concurrency policy,
//! starting deadline), and the stored record given back as Argo's `CronWorkflow` object.

use crate::schedule::{parse_timezone, Schedule};
use crate::CoreError;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use polyphemus_model::{ConcurrencyPolicy, CronExpr, RunId};
use polyphemus_store::CronWorkflowRecord;
use serde_json::{json, Map, Value};

/// The label Argo puts on each workflow a CronWorkflow creates.
pub const CRON_LABEL: &str = "workflows.argoproj.io/cron-workflow";
/// How late a tick may still run when `startingDeadlineSeconds` is unset: the scheduler looks
/// every few seconds, so only downtime misses more, and missed ticks are not caught up.
const DEFAULT_DEADLINE_S: i64 = 60;
/// Argo's limit on CronWorkflow names (the workflows get a suffix).
const MAX_NAME: usize = 52;

/// What the scheduler reads from a CronWorkflow's spec; parsed once, valid by construction.
#[derive(Debug, Clone)]
pub struct CronSettings {
    pub schedules: Vec<Schedule>,
    pub concurrency: ConcurrencyPolicy,
    pub starting_deadline: Duration,
}

impl CronSettings {
    /// Reads the settings of `document` (a CronWorkflow); errors name the field under
    /// `cronWorkflow`.
    pub fn parse(document: &Value) -> Result<Self, CoreError> {
        let spec = &document["spec"];
        if !spec.is_object() {
            return Err(bad("spec", "is required"));
        }
        let timezone = match &spec["timezone"] {
            Value::Null => None,
            Value::String(zone) if zone.is_empty() => None,
            Value::String(zone) => Some(zone.as_str()),
            _ => return Err(bad("spec/timezone", "must be a string")),
        };
        parse_timezone(timezone).map_err(|why| bad("spec/timezone", why))?;
        let mut schedules = Vec::new();
        for (field, text) in schedule_texts(spec)? {
            let expression = CronExpr::parse(text).map_err(|error| bad(&field, error.reason))?;
            schedules.push(Schedule::cron(&expression, timezone).map_err(|why| bad(&field, why))?);
        }
        if schedules.is_empty() {
            return Err(bad("spec/schedules", "give at least one cron schedule"));
        }
        let concurrency = match &spec["concurrencyPolicy"] {
            Value::Null => ConcurrencyPolicy::Allow,
            Value::String(text) if text.is_empty() => ConcurrencyPolicy::Allow,
            Value::String(text) => ConcurrencyPolicy::parse(text).map_err(|_| {
                bad(
                    "spec/concurrencyPolicy",
                    "must be one of Allow, Forbid, Replace",
                )
            })?,
            _ => return Err(bad("spec/concurrencyPolicy", "must be a string")),
        };
        let deadline = match &spec["startingDeadlineSeconds"] {
            Value::Null => DEFAULT_DEADLINE_S,
            value => match value.as_i64() {
                Some(0) => DEFAULT_DEADLINE_S,
                Some(seconds) if seconds > 0 => seconds,
                _ => {
                    return Err(bad(
                        "spec/startingDeadlineSeconds",
                        "must be a whole number of seconds, 0 or more",
                    ))
                }
            },
        };
        if !spec["workflowSpec"].is_object() {
            return Err(bad("spec/workflowSpec", "is required (a Workflow spec)"));
        }
        Ok(Self {
            schedules,
            concurrency,
            starting_deadline: Duration::seconds(deadline),
        })
    }

    /// The latest schedule time after `after` and at or before `now` that is not older than
    /// the starting deadline: the one tick to run now, if any. Older ticks are skipped.
    pub fn due_tick(&self, after: DateTime<Utc>, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let from = after.max(now - self.starting_deadline);
        let mut due = None;
        for schedule in &self.schedules {
            let mut at = from;
            // A window of a few deadlines' worth of ticks: bounded even for a long deadline.
            for _ in 0..100_000 {
                match schedule.next_after(at) {
                    Some(next) if next <= now => at = next,
                    _ => break,
                }
            }
            if at > from {
                due = due.max(Some(at));
            }
        }
        due
    }
}

/// `spec.schedules` (Argo 3.6+) or the older `spec.schedule`, with the field of each.
fn schedule_texts(spec: &Value) -> Result<Vec<(String, &str)>, CoreError> {
    let mut texts = Vec::new();
    match &spec["schedules"] {
        Value::Null => {}
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                let field = format!("spec/schedules/{index}");
                let text = item
                    .as_str()
                    .ok_or_else(|| bad(&field, "must be a cron string"))?;
                texts.push((field, text));
            }
        }
        _ => return Err(bad("spec/schedules", "must be a list of cron strings")),
    }
    match &spec["schedule"] {
        Value::Null => {}
        Value::String(text) if text.is_empty() && !texts.is_empty() => {}
        // A client that read back `schedules` may send it beside its own `schedule`.
        Value::String(text) if texts.iter().any(|(_, given)| given == text) => {}
        Value::String(text) => texts.push(("spec/schedule".to_owned(), text)),
        _ => return Err(bad("spec/schedule", "must be a cron string")),
    }
    Ok(texts)
}

fn bad(field: &str, why: impl Into<String>) -> CoreError {
    CoreError::bad_field(&format!("/cronWorkflow/{field}"), why)
}

/// The CronWorkflow's name, as Kubernetes names go (lowercase letters, digits, `-`).
pub fn cron_name(document: &Value) -> Result<String, CoreError> {
    let name = document["metadata"]["name"]
        .as_str()
        .ok_or_else(|| bad("metadata/name", "is required"))?;
    let valid = !name.is_empty()
        && name.len() <= MAX_NAME
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && !name.starts_with(['-', '.'])
        && !name.ends_with(['-', '.']);
    if !valid {
        return Err(bad(
            "metadata/name",
            format!("must be 1-{MAX_NAME} lowercase letters, digits, '-' or '.'"),
        ));
    }
    Ok(name.to_owned())
}

/// What is stored of a given document: `metadata` (labels, annotations, name) and `spec`, the
/// server-set fields left out.
pub fn stored_document(document: &Value) -> Value {
    let mut metadata = Map::new();
    for key in ["name", "labels", "annotations"] {
        if let Some(value) = document["metadata"].get(key).filter(|v| !v.is_null()) {
            metadata.insert(key.to_owned(), value.clone());
        }
    }
    json!({"metadata": metadata, "spec": document["spec"].clone()})
}

/// The Workflow a tick creates: `spec.workflowSpec`, named after the CronWorkflow, with its
/// label and `spec.workflowMetadata`'s labels and annotations.
pub fn workflow_of(name: &str, document: &Value, tick: DateTime<Utc>) -> Value {
    let spec = &document["spec"];
    let meta = &spec["workflowMetadata"];
    let mut labels = meta["labels"].as_object().cloned().unwrap_or_default();
    labels.insert(CRON_LABEL.to_owned(), Value::String(name.to_owned()));
    let mut annotations = meta["annotations"].as_object().cloned().unwrap_or_default();
    annotations.insert(
        "workflows.argoproj.io/scheduled-time".to_owned(),
        Value::String(time(tick)),
    );
    json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {
            "generateName": format!("{name}-"),
            "labels": labels,
            "annotations": annotations,
        },
        "spec": spec["workflowSpec"].clone(),
    })
}

/// The stored record as Argo's `CronWorkflow`, with `status.active` (its workflows that run).
pub fn render(record: &CronWorkflowRecord, active: &[(RunId, String)]) -> Value {
    let document = &record.document.0;
    let mut metadata = document["metadata"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    metadata.insert("name".into(), json!(record.name));
    metadata.insert("namespace".into(), json!(record.project_name.to_string()));
    metadata.insert("uid".into(), json!(record.uid));
    metadata.insert(
        "resourceVersion".into(),
        json!(record.resource_version.to_string()),
    );
    metadata.insert("creationTimestamp".into(), json!(time(record.created_at)));
    let mut spec = document["spec"].as_object().cloned().unwrap_or_default();
    let schedules: Vec<&str> = schedule_texts(&document["spec"])
        .map(|texts| texts.into_iter().map(|(_, text)| text).collect())
        .unwrap_or_default();
    // `schedules` always (Argo 3.6's swagger requires it); a given `schedule` stays for
    // clients whose model still reads that one.
    spec.insert("schedules".into(), json!(schedules));
    spec.insert("suspend".into(), json!(record.suspended));
    let project = record.project_name.to_string();
    let active: Vec<Value> = active
        .iter()
        .map(|(run_id, name)| {
            json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
                   "namespace": project, "name": name, "uid": run_id.to_string()})
        })
        .collect();
    let mut status = json!({"active": active, "conditions": []});
    if let Some(at) = record.last_scheduled_at {
        status["lastScheduledTime"] = json!(time(at));
    }
    json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "CronWorkflow",
        "metadata": metadata,
        "spec": spec,
        "status": status,
    })
}

/// Kubernetes' `Time`: RFC 3339 in whole seconds, UTC.
fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn settings(spec: Value) -> CronSettings {
        CronSettings::parse(&json!({"spec": spec})).expect("valid")
    }

    #[test]
    fn the_due_tick_is_the_latest_within_the_deadline() {
        let every_minute = settings(json!({"schedules": ["* * * * *"], "workflowSpec": {},
                                           "startingDeadlineSeconds": 30}));
        let at = |m, s| Utc.with_ymd_and_hms(2026, 1, 1, 10, m, s).unwrap();
        assert_eq!(every_minute.due_tick(at(0, 10), at(5, 20)), Some(at(5, 0)));
        assert_eq!(
            every_minute.due_tick(at(0, 10), at(5, 40)),
            None,
            "too late"
        );
        assert_eq!(every_minute.due_tick(at(5, 0), at(5, 20)), None, "handled");
    }

    #[test]
    fn schedules_and_fields_are_checked_by_name() {
        for (spec, field) in [
            (
                json!({"schedule": "61 * * * *", "workflowSpec": {}}),
                "spec.schedule",
            ),
            (
                json!({"schedules": ["* * *"], "workflowSpec": {}}),
                "spec.schedules.0",
            ),
            (
                json!({"schedules": [], "workflowSpec": {}}),
                "spec.schedules",
            ),
            (json!({"schedule": "* * * * *"}), "spec.workflowSpec"),
            (
                json!({"schedule": "* * * * *", "workflowSpec": {}, "timezone": "Mars/Base"}),
                "spec.timezone",
            ),
        ] {
            let error = CronSettings::parse(&json!({"spec": spec})).expect_err("invalid");
            let text = error.to_string().replace('/', ".");
            assert!(text.contains(field), "{text} names {field}");
        }
    }
}
