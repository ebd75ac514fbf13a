//! Claiming due runtime configs for the scheduler. A claim moves `next_run_at` forward in the
//! same transaction that locks the row, so concurrent schedulers never claim one due time twice
//! (PostgreSQL: `FOR UPDATE SKIP LOCKED`; SQLite: the single writer connection). The same
//! transaction decides what the due time does under the config's concurrency policy, from the
//! runs table and the launch another claim has in progress: the decision is made in SQL's
//! lock, never in one scheduler's memory.

use crate::events::{insert_event, now};
use crate::BeginWrite;
use crate::{on_reader, on_writer, Backend, NewEvent, Store, StoreError};
use chrono::{DateTime, Duration, Utc};
use polyphemus_model::{ConcurrencyPolicy, ConfigId, CronExpr, ProjectName, RunId, VersionNumber};
use serde_json::json;

/// A launch claimed this long ago whose run never appeared (its scheduler died) no longer
/// counts as in progress.
const LAUNCH_CLAIM_TTL_S: i64 = 600;

/// A runtime config whose time has come, with what the scheduler needs to launch it.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct DueRuntime {
    pub config_id: ConfigId,
    pub project_name: ProjectName,
    pub latest_version: VersionNumber,
    pub run_interval_s: Option<i64>,
    pub cron: Option<CronExpr>,
    pub timezone: Option<String>,
    pub next_run_at: DateTime<Utc>,
    pub concurrency_policy: ConcurrencyPolicy,
    pub starting_deadline_s: Option<i64>,
    /// When a claim started a launch whose run is not registered yet.
    pub launch_claimed_at: Option<DateTime<Utc>>,
    /// The config's newest run that has not ended.
    pub active_run_id: Option<RunId>,
    pub active_run_name: Option<String>,
}

/// What a claimed due time does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DueAction {
    Launch,
    /// `Replace`: stop this active run, then launch.
    Replace {
        run_id: RunId,
        name: String,
    },
    /// Not launched; recorded as a `run.skipped` event.
    Skip(SkipReason),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipReason {
    /// `Forbid` while a run is active (`None`: another scheduler's launch is in progress).
    Active(Option<RunId>),
    /// Missed by more than `starting_deadline_s`.
    Late { late_s: i64, deadline_s: i64 },
}

impl SkipReason {
    fn describe(&self) -> String {
        match self {
            Self::Active(Some(run_id)) => format!("run {run_id} is still active"),
            Self::Active(None) => "a launch of this config is in progress".into(),
            Self::Late { late_s, deadline_s } => {
                format!("missed by {late_s} s, more than its starting_deadline_s of {deadline_s} s")
            }
        }
    }
}

/// A claimed due time and what it does.
#[derive(Debug, Clone, PartialEq)]
pub struct Claimed {
    pub runtime: DueRuntime,
    pub action: DueAction,
}

/// The claim's decision for one due time at `at`.
fn decide(runtime: &DueRuntime, at: DateTime<Utc>) -> DueAction {
    if let Some(deadline_s) = runtime.starting_deadline_s {
        let late_s = (at - runtime.next_run_at).num_seconds();
        if late_s > deadline_s {
            return DueAction::Skip(SkipReason::Late { late_s, deadline_s });
        }
    }
    let launching = runtime
        .launch_claimed_at
        .is_some_and(|claimed| at - claimed < Duration::seconds(LAUNCH_CLAIM_TTL_S));
    let active = runtime.active_run_id.clone();
    match runtime.concurrency_policy {
        ConcurrencyPolicy::Allow => DueAction::Launch,
        // Even `Replace` waits for a launch in progress: it has no run to stop yet.
        _ if launching => DueAction::Skip(SkipReason::Active(active)),
        ConcurrencyPolicy::Forbid => match active {
            Some(run_id) => DueAction::Skip(SkipReason::Active(Some(run_id))),
            None => DueAction::Launch,
        },
        ConcurrencyPolicy::Replace => match (active, runtime.active_run_name.clone()) {
            (Some(run_id), Some(name)) => DueAction::Replace { run_id, name },
            _ => DueAction::Launch,
        },
    }
}

impl Store {
    /// Claims up to `limit` runtime configs due at `at` (paused or archived ones are not); `reschedule`
    /// gives each one's next due time after `at` (so a scheduler that was down submits once,
    /// not once per missed tick). A skipped due time is recorded as `run.skipped` in the same
    /// transaction; one to launch marks a launch in progress until
    /// [`Store::release_launch_claim`].
    pub async fn claim_due_runtimes<F>(
        &self,
        at: DateTime<Utc>,
        limit: i64,
        reschedule: F,
    ) -> Result<Vec<Claimed>, StoreError>
    where
        F: Fn(&DueRuntime) -> Option<DateTime<Utc>>,
    {
        let lock = match self.backend() {
            Backend::Postgres => " FOR UPDATE OF rc SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let active = "FROM runs r WHERE r.config_id = rc.config_id AND r.final_phase IS NULL \
                      ORDER BY r.seq DESC LIMIT 1";
        let select = format!(
            "SELECT rc.config_id, h.project_name, h.latest_version, rc.run_interval_s, rc.cron, \
             rc.timezone, rc.next_run_at, rc.concurrency_policy, rc.starting_deadline_s, \
             rc.launch_claimed_at, (SELECT r.run_id {active}) AS active_run_id, \
             (SELECT r.name {active}) AS active_run_name FROM runtime_configs rc \
             JOIN config_heads h ON h.config_id = rc.config_id \
             WHERE NOT rc.disabled AND rc.paused_at IS NULL AND h.archived_at IS NULL \
             AND rc.next_run_at <= $1 \
             ORDER BY rc.next_run_at LIMIT $2{lock}"
        );
        let stamp = now();
        on_writer!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let due: Vec<DueRuntime> = sqlx::query_as(&select)
                .bind(at)
                .bind(limit)
                .fetch_all(&mut *tx)
                .await?;
            let mut claimed = Vec::with_capacity(due.len());
            for runtime in due {
                let action = decide(&runtime, at);
                let launches = !matches!(action, DueAction::Skip(_))
                    && runtime.concurrency_policy != ConcurrencyPolicy::Allow;
                sqlx::query(
                    "UPDATE runtime_configs SET next_run_at = $2, updated_at = $3, \
                     launch_claimed_at = CASE WHEN $4 THEN $5 ELSE launch_claimed_at END \
                     WHERE config_id = $1",
                )
                .bind(runtime.config_id)
                .bind(reschedule(&runtime))
                .bind(stamp)
                .bind(launches)
                .bind(at)
                .execute(&mut *tx)
                .await?;
                if let DueAction::Skip(reason) = &action {
                    let event = skipped_event(&runtime, reason);
                    insert_event!(event, stamp).execute(&mut *tx).await?;
                }
                claimed.push(Claimed { runtime, action });
            }
            tx.commit().await?;
            Ok::<_, StoreError>(claimed)
        })
    }

    /// Ends the launch a claim marked in progress (its run is registered, or it failed).
    pub async fn release_launch_claim(&self, config_id: ConfigId) -> Result<(), StoreError> {
        on_writer!(self, pool => sqlx::query(
                "UPDATE runtime_configs SET launch_claimed_at = NULL WHERE config_id = $1",
            )
            .bind(config_id)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?;
        Ok(())
    }

    /// Runs still going past their runtime config's `expected_duration_s` at `at` that were
    /// not reported yet, marked reported in the same statement (so several schedulers report
    /// each once): `(project, config_id, run_id, seconds running)`.
    pub async fn claim_overdue_runs(
        &self,
        at: DateTime<Utc>,
    ) -> Result<Vec<(ProjectName, ConfigId, RunId, i64)>, StoreError> {
        let (overdue, running) = match self.backend() {
            Backend::Postgres => (
                "r.created_at < $1 - rc.expected_duration_s * interval '1 second'",
                "CAST(EXTRACT(EPOCH FROM ($1 - runs.created_at)) AS BIGINT)",
            ),
            Backend::Sqlite => (
                "julianday(r.created_at) < julianday($1) - rc.expected_duration_s / 86400.0",
                "CAST((julianday($1) - julianday(runs.created_at)) * 86400 AS INTEGER)",
            ),
        };
        let sql = format!(
            "UPDATE runs SET overdue_alerted_at = $1 WHERE seq IN ( \
               SELECT r.seq FROM runs r JOIN runtime_configs rc ON rc.config_id = r.config_id \
               WHERE r.final_phase IS NULL AND r.overdue_alerted_at IS NULL \
                 AND rc.expected_duration_s IS NOT NULL AND {overdue}) \
             RETURNING project_name, config_id, run_id, {running}"
        );
        Ok(on_writer!(self, pool => sqlx::query_as(&sql).bind(at).fetch_all(pool).await)?)
    }

    /// The config's newest run that has not ended: `(run_id, name)`.
    pub async fn active_run(
        &self,
        project: &ProjectName,
        config_id: ConfigId,
    ) -> Result<Option<(RunId, String)>, StoreError> {
        Ok(on_reader!(self, pool => sqlx::query_as(
                "SELECT run_id, name FROM runs WHERE config_id = $1 AND project_name = $2 \
                 AND final_phase IS NULL ORDER BY seq DESC LIMIT 1",
            )
            .bind(config_id)
            .bind(project)
            .fetch_optional(pool)
            .await)?)
    }
}

fn skipped_event(runtime: &DueRuntime, reason: &SkipReason) -> NewEvent {
    let active = match reason {
        SkipReason::Active(run_id) => run_id.clone(),
        SkipReason::Late { .. } => None,
    };
    let mut event = NewEvent::new(
        &runtime.project_name,
        "scheduler",
        "run.skipped",
        json!({
            "due_at": runtime.next_run_at,
            "reason": reason.describe(),
            "active_run_id": active,
            "concurrency_policy": runtime.concurrency_policy,
        }),
    );
    event.config_id = Some(runtime.config_id);
    event.version_number = Some(runtime.latest_version);
    event.run_id = active;
    event
}

#[cfg(test)]
mod tests {
    use super::*;

    fn due(policy: ConcurrencyPolicy, active: Option<&str>) -> DueRuntime {
        DueRuntime {
            config_id: ConfigId::new(1),
            project_name: ProjectName::parse("labors").expect("name"),
            latest_version: VersionNumber::new(1),
            run_interval_s: Some(60),
            cron: None,
            timezone: None,
            next_run_at: Utc::now(),
            concurrency_policy: policy,
            starting_deadline_s: None,
            launch_claimed_at: None,
            active_run_id: active.map(|id| RunId::parse(id).expect("run id")),
            active_run_name: active.map(|id| format!("wf-{id}")),
        }
    }

    #[test]
    fn each_policy_decides_what_a_due_time_does_while_a_run_is_active() {
        let at = Utc::now();
        let active = Some("r1");
        let r1 = RunId::parse("r1").expect("id");
        assert_eq!(
            decide(&due(ConcurrencyPolicy::Forbid, active), at),
            DueAction::Skip(SkipReason::Active(Some(r1.clone())))
        );
        assert_eq!(
            decide(&due(ConcurrencyPolicy::Forbid, None), at),
            DueAction::Launch
        );
        assert_eq!(
            decide(&due(ConcurrencyPolicy::Allow, active), at),
            DueAction::Launch
        );
        assert_eq!(
            decide(&due(ConcurrencyPolicy::Replace, active), at),
            DueAction::Replace {
                run_id: r1,
                name: "wf-r1".into()
            }
        );
    }

    #[test]
    fn a_launch_in_progress_counts_as_active_until_it_is_stale() {
        let at = Utc::now();
        let mut runtime = due(ConcurrencyPolicy::Replace, None);
        runtime.launch_claimed_at = Some(at - Duration::seconds(5));
        assert_eq!(
            decide(&runtime, at),
            DueAction::Skip(SkipReason::Active(None))
        );
        runtime.launch_claimed_at = Some(at - Duration::seconds(LAUNCH_CLAIM_TTL_S + 1));
        assert_eq!(decide(&runtime, at), DueAction::Launch);
    }

    #[test]
    fn a_due_time_missed_past_its_starting_deadline_is_skipped() {
        let mut runtime = due(ConcurrencyPolicy::Allow, None);
        runtime.starting_deadline_s = Some(30);
        let at = runtime.next_run_at + Duration::seconds(31);
        assert_eq!(
            decide(&runtime, at),
            DueAction::Skip(SkipReason::Late {
                late_s: 31,
                deadline_s: 30
            })
        );
        assert_eq!(
            decide(&runtime, runtime.next_run_at + Duration::seconds(30)),
            DueAction::Launch
        );
    }
}
