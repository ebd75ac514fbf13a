//! Pruning under a project's retention policy: which ended runs go, whose outputs are emptied,
//! and doing it in transactions that each write their event (the caller cuts a long plan into
//! parts, see [`PrunePlan::parts`]).
//!
//! What later runs depend on is never pruned:
//! - unfinished runs (no final phase) are not looked at;
//! - run metadata stays (it no longer refers to `runs`), so a config's history of phases and
//!   its last success survive the runs themselves;
//! - the state `previous_state` reads stays by keeping the runs that hold it. For each config
//!   and state key, a run is kept while it holds the value some reader would get: the newest
//!   holder of the key (what a new run reads), and any holder followed by an unfinished run
//!   before the next holder (what that run reads with `before_run_id`, its own id). This was
//!   chosen over compacting values into a table of their own: `previous_state` and the state
//!   merge stay as they are, there is no second copy to keep in step, and the kept run's
//!   state is the value itself. Such a run may outlive the history limits and
//!   `keep_runs_days`; its output is still emptied after `keep_output_days`. With `collect`,
//!   `previous_state` then returns the values of the runs that are left.

use crate::events::insert_event;
use crate::retention::{RetentionRecord, POLICY_COLUMNS};
use crate::{on_reader, on_writer, Backend, BeginWrite, NewEvent, Store, StoreError};
use chrono::{DateTime, Duration, Utc};
use polyphemus_model::{ProjectName, RetentionDays, RunId};
use sqlx::types::Json;
use std::collections::HashMap;

/// One ended run that pruning removes, or whose output it empties.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PruneCandidate {
    pub seq: i64,
    pub run_id: RunId,
    /// The workflow name (the local engine's run directory is named after it).
    pub name: String,
    /// Bytes of the run's output.
    pub output_bytes: i64,
    /// Deleted (with its task tokens and state-key rows); otherwise only its output goes.
    pub delete_run: bool,
}

/// What pruning a project removes: runs to delete and runs whose output is emptied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrunePlan {
    pub candidates: Vec<PruneCandidate>,
}

impl PrunePlan {
    pub fn deleted(&self) -> impl Iterator<Item = &PruneCandidate> {
        self.candidates.iter().filter(|c| c.delete_run)
    }

    pub fn emptied(&self) -> impl Iterator<Item = &PruneCandidate> {
        self.candidates.iter().filter(|c| !c.delete_run)
    }

    pub fn is_empty(&self) -> bool {
        self.candidates.is_empty()
    }

    /// What both plans prune: a run deleted in `self` and kept in `other` only loses its
    /// output (if `other` empties it), and nothing outside `self` is added.
    fn within(&self, other: &PrunePlan) -> PrunePlan {
        let theirs: HashMap<i64, bool> = other
            .candidates
            .iter()
            .map(|c| (c.seq, c.delete_run))
            .collect();
        let candidates = self
            .candidates
            .iter()
            .filter_map(|mine| {
                let delete_run = *theirs.get(&mine.seq)?;
                Some(PruneCandidate {
                    delete_run: mine.delete_run && delete_run,
                    ..mine.clone()
                })
            })
            .collect();
        PrunePlan { candidates }
    }

    /// The plan in parts of at most `size` runs, oldest first, each pruned in a transaction of
    /// its own. Pruning the oldest runs first changes nothing about the others: a run's rank
    /// counts only newer runs, and a run deleted was no state holder any reader needs.
    pub fn parts(&self, size: usize) -> Vec<PrunePlan> {
        self.candidates
            .chunks(size.max(1))
            .map(|part| PrunePlan {
                candidates: part.to_vec(),
            })
            .collect()
    }
}

/// The policy's limits as bound values: times before which runs or outputs go.
struct Cutoffs {
    runs_ended_before: Option<DateTime<Utc>>,
    outputs_ended_before: Option<DateTime<Utc>>,
    successful_limit: Option<i64>,
    failed_limit: Option<i64>,
}

impl Cutoffs {
    fn of(policy: &RetentionRecord, now: DateTime<Utc>) -> Self {
        let before = |days: Option<RetentionDays>| {
            days.map(|days| now - Duration::days(i64::from(days.get())))
        };
        Self {
            runs_ended_before: before(policy.keep_runs_days),
            outputs_ended_before: before(policy.keep_output_days),
            successful_limit: policy.successful_runs_history_limit.map(|l| l.get().into()),
            failed_limit: policy.failed_runs_history_limit.map(|l| l.get().into()),
        }
    }
}

/// The ended runs of project `$1` the policy prunes. A run's age counts from its end (the
/// orchestrator's `finished_at`, else its last write); `place` is its rank among the config's
/// ended runs of the same outcome, newest first. `$2`/`$3` are the history limits, `$4`/`$5`
/// the cutoffs of runs and outputs; a NULL compares to nothing, so it prunes nothing. `$6`, a
/// JSON array of seqs or NULL, keeps only those runs in the answer.
fn candidates_sql(backend: Backend) -> String {
    let (output_bytes, only) = match backend {
        Backend::Postgres => (
            "octet_length(r.output)::bigint",
            "$6::jsonb IS NULL OR seq IN (SELECT jsonb_array_elements_text($6)::bigint)",
        ),
        Backend::Sqlite => (
            "length(CAST(r.output AS BLOB))",
            "$6 IS NULL OR seq IN (SELECT value FROM json_each($6))",
        ),
    };
    format!(
        "WITH ended AS ( \
           SELECT r.seq, r.run_id, r.name, r.config_id, r.final_phase, r.output_pruned_at, \
             {output_bytes} AS output_bytes, COALESCE(m.finished_at, r.updated_at) AS ended_at, \
             ROW_NUMBER() OVER (PARTITION BY r.config_id, \
               CASE WHEN r.final_phase = 'Succeeded' THEN 1 ELSE 0 END ORDER BY r.seq DESC) AS place \
           FROM runs r LEFT JOIN run_metadata m ON m.run_seq = r.seq \
           WHERE r.project_name = $1 AND r.final_phase IS NOT NULL \
         ), state_readers AS ( \
           SELECT k.run_seq FROM run_state_keys k JOIN ended e ON e.seq = k.run_seq \
           WHERE NOT EXISTS ( \
             SELECT 1 FROM run_state_keys n \
             WHERE n.config_id = k.config_id AND n.key = k.key AND n.run_seq > k.run_seq \
               AND NOT EXISTS ( \
                 SELECT 1 FROM runs u WHERE u.config_id = k.config_id AND u.final_phase IS NULL \
                   AND u.seq > k.run_seq AND u.seq <= n.run_seq)) \
         ), decided AS ( \
           SELECT e.*, CASE WHEN e.seq IN (SELECT run_seq FROM state_readers) THEN FALSE \
             WHEN e.final_phase = 'Succeeded' AND e.place > $2 THEN TRUE \
             WHEN e.final_phase <> 'Succeeded' AND e.place > $3 THEN TRUE \
             WHEN e.ended_at < $4 THEN TRUE ELSE FALSE END AS delete_run \
           FROM ended e \
         ) \
         SELECT seq, run_id, name, output_bytes, delete_run FROM decided \
         WHERE (delete_run OR (output_pruned_at IS NULL AND ended_at < $5)) AND ({only}) \
         ORDER BY seq"
    )
}

/// `column IN (the elements of the JSON array bound as parameter $n)`.
fn in_json_array(backend: Backend, column: &str, n: usize, integer: bool) -> String {
    match (backend, integer) {
        (Backend::Postgres, true) => {
            format!("{column} IN (SELECT jsonb_array_elements_text(${n})::bigint)")
        }
        (Backend::Postgres, false) => {
            format!("{column} IN (SELECT jsonb_array_elements_text(${n}))")
        }
        (Backend::Sqlite, _) => format!("{column} IN (SELECT value FROM json_each(${n}))"),
    }
}

/// Builds the candidates query of `$project` under `$cutoffs`, of the runs `$only` (`None`:
/// all).
macro_rules! select_candidates {
    ($sql:expr, $project:expr, $cutoffs:expr, $only:expr) => {
        sqlx::query_as::<_, PruneCandidate>($sql)
            .bind($project)
            .bind($cutoffs.successful_limit)
            .bind($cutoffs.failed_limit)
            .bind($cutoffs.runs_ended_before)
            .bind($cutoffs.outputs_ended_before)
            .bind($only)
    };
}

impl Store {
    /// What pruning `project` at `now` under its stored policy removes (nothing without a
    /// policy). Changes nothing: this is the dry run, and the plan [`Store::prune`] carries out.
    pub async fn plan_prune(
        &self,
        project: &ProjectName,
        now: DateTime<Utc>,
    ) -> Result<PrunePlan, StoreError> {
        let Some(policy) = self.get_retention(project).await? else {
            return Ok(PrunePlan::default());
        };
        let cutoffs = Cutoffs::of(&policy, now);
        let sql = candidates_sql(self.backend());
        let candidates: Vec<PruneCandidate> = on_reader!(self, pool =>
            select_candidates!(&sql, project, cutoffs, None::<Json<Vec<i64>>>)
                .fetch_all(pool)
                .await)?;
        Ok(PrunePlan { candidates })
    }

    /// Carries out `plan` in one transaction, as far as the policy still allows it at `now`
    /// (a run that became a state holder, or a changed policy, since the plan is spared):
    /// deletes the runs with their task tokens and state-key rows, empties the outputs, and
    /// writes `event(&done)` when anything was pruned. Prunes of one project take turns (the
    /// policy row is locked). Returns what was done.
    pub async fn prune(
        &self,
        project: &ProjectName,
        now: DateTime<Utc>,
        plan: &PrunePlan,
        event: impl FnOnce(&PrunePlan) -> NewEvent,
    ) -> Result<PrunePlan, StoreError> {
        let backend = self.backend();
        let lock = match backend {
            Backend::Postgres => " FOR UPDATE",
            Backend::Sqlite => "",
        };
        let policy_sql = format!(
            "SELECT {POLICY_COLUMNS} FROM retention_policies WHERE project_name = $1{lock}"
        );
        let sql = candidates_sql(backend);
        let statements = PruneStatements::new(backend);
        on_writer!(self, pool => async {
            let mut tx = pool.begin_write().await?;
            let policy: Option<RetentionRecord> = sqlx::query_as(&policy_sql)
                .bind(project)
                .fetch_optional(&mut *tx)
                .await?;
            let Some(policy) = policy else {
                return Ok(PrunePlan::default());
            };
            let cutoffs = Cutoffs::of(&policy, now);
            let planned: Vec<i64> = plan.candidates.iter().map(|c| c.seq).collect();
            let fresh = PrunePlan {
                candidates: select_candidates!(&sql, project, cutoffs, Some(Json(&planned)))
                    .fetch_all(&mut *tx)
                    .await?,
            };
            let done = plan.within(&fresh);
            if done.is_empty() {
                return Ok(done);
            }
            let deleted: Vec<i64> = done.deleted().map(|c| c.seq).collect();
            let deleted_ids: Vec<&RunId> = done.deleted().map(|c| &c.run_id).collect();
            let emptied: Vec<i64> = done.emptied().map(|c| c.seq).collect();
            sqlx::query(&statements.delete_state_keys)
                .bind(Json(&deleted))
                .execute(&mut *tx)
                .await?;
            sqlx::query(&statements.delete_tokens)
                .bind(Json(&deleted_ids))
                .execute(&mut *tx)
                .await?;
            sqlx::query(&statements.delete_runs)
                .bind(Json(&deleted))
                .execute(&mut *tx)
                .await?;
            sqlx::query(&statements.empty_outputs)
                .bind(Json(&emptied))
                .bind(now)
                .execute(&mut *tx)
                .await?;
            let event = event(&done);
            insert_event!(event, now).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok::<_, StoreError>(done)
        }
        .await)
    }
}

/// The writes of a prune; each takes its runs as a JSON array in `$1`.
struct PruneStatements {
    delete_state_keys: String,
    delete_tokens: String,
    delete_runs: String,
    empty_outputs: String,
}

impl PruneStatements {
    fn new(backend: Backend) -> Self {
        let seqs = |column: &str| in_json_array(backend, column, 1, true);
        Self {
            delete_state_keys: format!("DELETE FROM run_state_keys WHERE {}", seqs("run_seq")),
            delete_tokens: format!(
                "DELETE FROM tokens WHERE {}",
                in_json_array(backend, "run_id", 1, false)
            ),
            delete_runs: format!(
                "DELETE FROM runs WHERE {} AND final_phase IS NOT NULL",
                seqs("seq")
            ),
            empty_outputs: format!(
                "UPDATE runs SET output = '', output_truncated = FALSE, output_pruned_at = $2 \
                 WHERE {} AND final_phase IS NOT NULL AND output_pruned_at IS NULL",
                seqs("seq")
            ),
        }
    }
}
