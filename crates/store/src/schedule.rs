//! Claiming due runtime configs for the scheduler. A claim moves `next_run_at` forward in the
//! same transaction that locks the row, so concurrent schedulers never claim one due time twice
//! (PostgreSQL: `FOR UPDATE SKIP LOCKED`; SQLite: the single writer connection).

use crate::events::now;
use crate::BeginWrite;
use crate::{on_writer, Backend, Store, StoreError};
use chrono::{DateTime, Utc};
use polyphemus_model::{ConfigId, CronExpr, ProjectName, VersionNumber};

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
}

impl Store {
    /// Claims up to `limit` runtime configs due at `at`; `reschedule` gives each one's next due
    /// time after `at` (so a scheduler that was down submits once, not once per missed tick).
    pub async fn claim_due_runtimes<F>(
        &self,
        at: DateTime<Utc>,
        limit: i64,
        reschedule: F,
    ) -> Result<Vec<DueRuntime>, StoreError>
    where
        F: Fn(&DueRuntime) -> Option<DateTime<Utc>>,
    {
        let lock = match self.backend() {
            Backend::Postgres => " FOR UPDATE OF rc SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let select = format!(
            "SELECT rc.config_id, h.project_name, h.latest_version, rc.run_interval_s, rc.cron, \
             rc.timezone, rc.next_run_at FROM runtime_configs rc \
             JOIN config_heads h ON h.config_id = rc.config_id \
             WHERE NOT rc.disabled AND rc.next_run_at <= $1 \
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
            for runtime in &due {
                sqlx::query(
                    "UPDATE runtime_configs SET next_run_at = $2, updated_at = $3 WHERE config_id = $1",
                )
                .bind(runtime.config_id)
                .bind(reschedule(runtime))
                .bind(stamp)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok::<_, StoreError>(due)
        })
    }
}
