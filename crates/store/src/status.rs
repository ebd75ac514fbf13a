//! The project status page: every config's latest version, schedule and last run in one query.

use crate::{on_reader, StatusRecord, Store, StoreError};
use polyphemus_model::{ProjectName, RunId, RunPhase};

impl Store {
    /// One row per config of the project. Each correlated subquery is an index lookup
    /// (`runs_by_config`, `run_metadata_successes`), so cost grows with configs, not runs. The
    /// last run's seq is picked in a materialized CTE and joined as a value: joined on the
    /// subquery itself (or a derived table PostgreSQL pulls up into the join), PostgreSQL
    /// hashed every run of the store (`bench scale`: 2.4× slower at 1,000,000 runs).
    pub async fn project_status(
        &self,
        project: &ProjectName,
        include_archived: bool,
    ) -> Result<Vec<StatusRecord>, StoreError> {
        let rows: Vec<StatusRecord> = on_reader!(self, pool => sqlx::query_as(
            "WITH heads AS MATERIALIZED (SELECT h.*, (SELECT r.seq FROM runs r \
               WHERE r.config_id = h.config_id ORDER BY r.seq DESC LIMIT 1) AS last_seq \
               FROM config_heads h \
               WHERE h.project_name = $1 AND NOT h.ad_hoc AND ($2 OR h.archived_at IS NULL)) \
             SELECT h.config_id, h.latest_version AS version_number, h.workflow_type, c.workflow_name, \
               COALESCE(rc.disabled, FALSE) AS disabled, rc.next_run_at, \
               rc.paused_at, rc.paused_reason, rc.paused_run_ids, \
               lr.run_id AS last_run_id, m.phase AS last_phase, m.started_at AS last_started_at, \
               m.finished_at AS last_finished_at, \
               (SELECT s.finished_at FROM run_metadata s WHERE s.config_id = h.config_id \
                  AND s.phase = 'Succeeded' AND s.finished_at IS NOT NULL \
                  ORDER BY s.finished_at DESC LIMIT 1) AS last_success_at, h.archived_at \
             FROM heads h \
             JOIN configs c ON c.config_id = h.config_id AND c.version_number = h.latest_version \
             LEFT JOIN runtime_configs rc ON rc.config_id = h.config_id \
             LEFT JOIN runs lr ON lr.seq = h.last_seq \
             LEFT JOIN run_metadata m ON m.run_seq = lr.seq \
             ORDER BY h.config_id",
        )
        .bind(project)
        .bind(include_archived)
        .fetch_all(pool)
        .await)?;
        Ok(rows)
    }
}

impl Store {
    /// Runs by orchestrator phase across all projects (`Unknown` for runs without metadata),
    /// for `/metrics`.
    /// Runs by phase; `None` counts runs with no metadata yet.
    pub async fn count_runs_by_phase(&self) -> Result<Vec<(Option<RunPhase>, i64)>, StoreError> {
        let rows: Vec<(Option<RunPhase>, i64)> = on_reader!(self, pool => sqlx::query_as(
            "SELECT m.phase, COUNT(*) AS runs \
             FROM runs r LEFT JOIN run_metadata m ON m.run_seq = r.seq \
             GROUP BY m.phase ORDER BY m.phase",
        )
        .fetch_all(pool)
        .await)?;
        Ok(rows)
    }
}

impl Store {
    /// Runs with no final phase (no metadata, or Pending/Running), oldest first: what a local
    /// engine that stopped may have left behind. Read once at server start.
    pub async fn unfinished_runs(&self) -> Result<Vec<(ProjectName, RunId, String)>, StoreError> {
        let rows: Vec<(ProjectName, RunId, String)> = on_reader!(self, pool => sqlx::query_as(
            "SELECT r.project_name, r.run_id, r.name FROM runs r \
             LEFT JOIN run_metadata m ON m.run_seq = r.seq \
             WHERE m.phase IS NULL OR m.phase IN ('Pending', 'Running') ORDER BY r.seq",
        )
        .fetch_all(pool)
        .await)?;
        Ok(rows)
    }
}
