//! Finding runs across a project: the filtered list, newest first, and the runs a name or a
//! uid prefix can mean. Each is one index range scan (`runs_by_project`, `runs_by_name`, the
//! uid index).

use crate::{on_reader, Backend, Store, StoreError};
use chrono::{DateTime, Utc};
use polyphemus_model::{
    ConfigId, ProjectName, RunFilter, RunId, RunPhase, RunSummary, VersionNumber, WorkflowType,
};

/// A run of a project's list with its `seq`, the cursor of the next page.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSummaryRecord {
    pub seq: i64,
    pub summary: RunSummary,
}

#[derive(sqlx::FromRow)]
struct RunSummaryRow {
    seq: i64,
    run_id: RunId,
    name: String,
    config_id: ConfigId,
    version_number: VersionNumber,
    workflow_type: WorkflowType,
    phase: Option<RunPhase>,
    started_at: Option<DateTime<Utc>>,
    finished_at: Option<DateTime<Utc>>,
    duration_s: Option<f64>,
    created_at: DateTime<Utc>,
}

impl From<RunSummaryRow> for RunSummaryRecord {
    fn from(row: RunSummaryRow) -> Self {
        Self {
            seq: row.seq,
            summary: RunSummary {
                run_id: row.run_id,
                name: row.name,
                config_id: row.config_id,
                version_number: row.version_number,
                workflow_type: row.workflow_type,
                phase: row.phase.unwrap_or(RunPhase::Pending),
                started_at: row.started_at,
                finished_at: row.finished_at,
                duration_s: row.duration_s,
                created_at: row.created_at,
            },
        }
    }
}

/// A run a reference may mean.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RunCandidate {
    pub run_id: RunId,
    pub name: String,
}

impl Store {
    /// The runs of a project that pass `filter`, newest first; `before` is a run `seq` from
    /// the previous page. A run the orchestrator has not reported on counts as `Pending`.
    pub async fn list_project_runs(
        &self,
        project: &ProjectName,
        filter: &RunFilter,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<RunSummaryRecord>, StoreError> {
        // SQLite keeps times as text whose fraction varies in length: compare them as numbers.
        let (since, until) = match self.backend() {
            Backend::Postgres => ("r.created_at >= $6", "r.created_at < $7"),
            Backend::Sqlite => (
                "julianday(r.created_at) >= julianday($6)",
                "julianday(r.created_at) < julianday($7)",
            ),
        };
        // A plain `config_id = $3` lets PostgreSQL's generic plan take `runs_by_config`; behind
        // `$3 IS NULL OR` it walks every run of the project (a config's page lists its runs).
        let config = match filter.config_id {
            Some(_) => "r.config_id = $3",
            None => "($3 IS NULL OR r.config_id = $3)",
        };
        let sql = format!(
            "SELECT r.seq, r.run_id, r.name, r.config_id, r.version_number, h.workflow_type, \
             m.phase, m.started_at, m.finished_at, m.duration_s, r.created_at \
             FROM runs r JOIN config_heads h ON h.config_id = r.config_id \
             LEFT JOIN run_metadata m ON m.run_seq = r.seq \
             WHERE r.project_name = $1 AND r.seq < $2 AND {config} \
             AND ($4 IS NULL OR h.workflow_type = $4) \
             AND ($5 IS NULL OR COALESCE(m.phase, 'Pending') = $5) \
             AND ($6 IS NULL OR {since}) AND ($7 IS NULL OR {until}) \
             ORDER BY r.seq DESC LIMIT $8"
        );
        let rows: Vec<RunSummaryRow> = on_reader!(self, pool => sqlx::query_as(&sql)
            .bind(project)
            .bind(before.unwrap_or(i64::MAX))
            .bind(filter.config_id)
            .bind(filter.workflow_type.as_ref())
            .bind(filter.phase.map(RunPhase::as_str))
            .bind(filter.since)
            .bind(filter.until)
            .bind(limit)
            .fetch_all(pool)
            .await)?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// The newest `per_config` runs of each config of the project: by config, newest first
    /// within one. Each config's runs are one backward range of `runs_by_config`, so the cost
    /// grows with configs × `per_config`, not with all runs.
    pub async fn recent_runs_per_config(
        &self,
        project: &ProjectName,
        per_config: i64,
    ) -> Result<Vec<RunSummaryRecord>, StoreError> {
        // PostgreSQL evaluates a correlated bound per joined row over a scan of every run, so
        // it takes LATERAL; SQLite has no LATERAL but turns the bound into an index range.
        let runs = match self.backend() {
            Backend::Postgres => {
                "CROSS JOIN LATERAL (SELECT c.seq, c.run_id, c.name, c.config_id, \
                 c.version_number, c.created_at FROM runs c WHERE c.config_id = h.config_id \
                 ORDER BY c.seq DESC LIMIT $2) r"
            }
            Backend::Sqlite => {
                "JOIN runs r ON r.config_id = h.config_id AND r.seq >= COALESCE( \
                 (SELECT c.seq FROM runs c WHERE c.config_id = h.config_id \
                  ORDER BY c.seq DESC LIMIT 1 OFFSET $2 - 1), 0)"
            }
        };
        let sql = format!(
            "SELECT r.seq, r.run_id, r.name, r.config_id, r.version_number, h.workflow_type, \
             m.phase, m.started_at, m.finished_at, m.duration_s, r.created_at \
             FROM config_heads h {runs} \
             LEFT JOIN run_metadata m ON m.run_seq = r.seq \
             WHERE h.project_name = $1 ORDER BY r.config_id, r.seq DESC"
        );
        let rows: Vec<RunSummaryRow> = on_reader!(self, pool => sqlx::query_as(&sql)
            .bind(project)
            .bind(per_config.max(1))
            .fetch_all(pool)
            .await)?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// Runs of the project whose workflow name is `name` (Argo names are unique in a
    /// namespace, but two namespaces may share one), at most `limit`.
    pub async fn runs_named(
        &self,
        project: &ProjectName,
        name: &str,
        limit: i64,
    ) -> Result<Vec<RunCandidate>, StoreError> {
        let rows = on_reader!(self, pool => sqlx::query_as(
            "SELECT run_id, name FROM runs WHERE project_name = $1 AND name = $2 \
             ORDER BY seq DESC LIMIT $3",
        )
        .bind(project)
        .bind(name)
        .bind(limit)
        .fetch_all(pool)
        .await)?;
        Ok(rows)
    }

    /// Runs of the project whose uid starts with `prefix`, at most `limit`. A range on the
    /// uid index in byte order rather than `LIKE`: a bound pattern is opaque to PostgreSQL's
    /// planner, and `_` (valid in a uid) is a `LIKE` wildcard.
    pub async fn runs_with_id_prefix(
        &self,
        project: &ProjectName,
        prefix: &RunId,
        limit: i64,
    ) -> Result<Vec<RunCandidate>, StoreError> {
        // On SQLite, `+` keeps the planner off `runs_by_project`, which would read every run.
        let range = match self.backend() {
            Backend::Postgres => {
                "run_id COLLATE \"C\" >= $2 AND run_id COLLATE \"C\" < $3 AND project_name = $1"
            }
            Backend::Sqlite => "run_id >= $2 AND run_id < $3 AND +project_name = $1",
        };
        let sql = format!("SELECT run_id, name FROM runs WHERE {range} ORDER BY run_id LIMIT $4");
        let rows = on_reader!(self, pool => sqlx::query_as(&sql)
            .bind(project)
            .bind(prefix.as_str())
            .bind(prefix_end(prefix.as_str()))
            .bind(limit)
            .fetch_all(pool)
            .await)?;
        Ok(rows)
    }
}

/// The first string past every string that starts with `prefix`. Run ids are ASCII
/// letters, digits and `-_.:`, so raising the last byte stays ASCII.
fn prefix_end(prefix: &str) -> String {
    let mut bytes = prefix.as_bytes().to_vec();
    if let Some(last) = bytes.last_mut() {
        *last = last.saturating_add(1);
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::prefix_end;

    #[test]
    fn prefix_end_is_just_past_the_prefix() {
        assert_eq!(prefix_end("3f1c2a9b"), "3f1c2a9c");
        assert_eq!(prefix_end("abz"), "ab{");
        assert!("3f1c2a9b-ffff".as_bytes() < prefix_end("3f1c2a9b").as_bytes());
    }
}
