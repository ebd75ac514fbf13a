//! Ledgers (see `polyphemus_model::LedgerEntries`): one row per config and ledger, one per
//! entry name with its newest record. Recording is one transaction that checks the run is
//! still going; a lookup is one index probe per name.

use crate::events::now;
use crate::{on_reader, on_writer, Backend, BeginWrite, Pools, Store, StoreError};
use chrono::{DateTime, Utc};
use polyphemus_model::{ConfigId, LedgerName, ProjectName, RunId};
use serde_json::{Map, Value};
use sqlx::types::Json;

/// What a lookup found: whether the ledger is open, and name -> record of the names held.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LedgerFound {
    pub open: bool,
    pub entries: Map<String, Value>,
}

/// One ledger of a config with its size.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LedgerRow {
    pub ledger: LedgerName,
    pub entries: i64,
    pub opened_at: DateTime<Utc>,
    pub last_recorded_at: Option<DateTime<Utc>>,
}

impl Store {
    /// Records `entries` in `ledger` of the run's config, opening the ledger; returns how many
    /// entries were written. A run that has ended is `RunEnded` (the check holds the run's row
    /// until commit, so nothing is recorded after its end), an unknown one `NotFound`.
    pub async fn record_ledger(
        &self,
        project: &ProjectName,
        run_id: &RunId,
        ledger: &LedgerName,
        entries: &Map<String, Value>,
    ) -> Result<u64, StoreError> {
        let lock = match self.backend() {
            Backend::Postgres => " FOR SHARE",
            Backend::Sqlite => "",
        };
        let open_run = format!(
            "SELECT config_id FROM runs WHERE run_id = $1 AND project_name = $2 \
             AND final_phase IS NULL{lock}"
        );
        let upsert = match self.backend() {
            Backend::Postgres => {
                "INSERT INTO ledger_entries (config_id, ledger, name, record, run_id, recorded_at) \
                 SELECT $1, $2, e.key, e.value, $4, $5 FROM jsonb_each($3) e \
                 ON CONFLICT (config_id, ledger, name) DO UPDATE SET record = excluded.record, \
                 run_id = excluded.run_id, recorded_at = excluded.recorded_at"
            }
            Backend::Sqlite => {
                "INSERT INTO ledger_entries (config_id, ledger, name, record, run_id, recorded_at) \
                 SELECT $1, $2, e.key, json(e.value), $4, $5 FROM json_each($3) e WHERE true \
                 ON CONFLICT (config_id, ledger, name) DO UPDATE SET record = excluded.record, \
                 run_id = excluded.run_id, recorded_at = excluded.recorded_at"
            }
        };
        let at = now();
        let recorded = on_writer!(self, pool => async {
            let mut tx = pool.begin_write().await?;
            let found: Option<(ConfigId,)> = sqlx::query_as(&open_run)
                .bind(run_id)
                .bind(project)
                .fetch_optional(&mut *tx)
                .await?;
            let Some((config_id,)) = found else {
                return Ok(None);
            };
            sqlx::query(
                "INSERT INTO ledgers (config_id, ledger, opened_at) VALUES ($1, $2, $3) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(config_id)
            .bind(ledger)
            .bind(at)
            .execute(&mut *tx)
            .await?;
            let written = if entries.is_empty() {
                0
            } else {
                sqlx::query(upsert)
                    .bind(config_id)
                    .bind(ledger)
                    .bind(Json(entries))
                    .bind(run_id)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected()
            };
            tx.commit().await?;
            Ok::<_, StoreError>(Some(written))
        }.await)?;
        match recorded {
            Some(written) => Ok(written),
            None => Err(self.why_unchanged(project, run_id).await),
        }
    }

    /// The records `ledger` of the config holds for `names`, and whether it is open.
    pub async fn lookup_ledger(
        &self,
        config_id: ConfigId,
        ledger: &LedgerName,
        names: &[String],
    ) -> Result<LedgerFound, StoreError> {
        let open = "SELECT 1 FROM ledgers WHERE config_id = $1 AND ledger = $2";
        let select = "SELECT name, record FROM ledger_entries WHERE config_id = $1 AND ledger = $2";
        let rows: Option<Vec<(String, Json<Value>)>> = match &self.pools {
            Pools::Postgres(pool) => {
                let opened: Option<(i32,)> = sqlx::query_as(open)
                    .bind(config_id)
                    .bind(ledger)
                    .fetch_optional(pool)
                    .await?;
                match opened {
                    None => None,
                    Some(_) => Some(
                        sqlx::query_as(&format!("{select} AND name = ANY($3)"))
                            .bind(config_id)
                            .bind(ledger)
                            .bind(names)
                            .fetch_all(pool)
                            .await?,
                    ),
                }
            }
            Pools::Sqlite { read, .. } => {
                let opened: Option<(i32,)> = sqlx::query_as(open)
                    .bind(config_id)
                    .bind(ledger)
                    .fetch_optional(read)
                    .await?;
                match opened {
                    None => None,
                    Some(_) => Some(
                        sqlx::query_as(&format!(
                            "{select} AND name IN (SELECT value FROM json_each($3))"
                        ))
                        .bind(config_id)
                        .bind(ledger)
                        .bind(Json(names))
                        .fetch_all(read)
                        .await?,
                    ),
                }
            }
        };
        Ok(match rows {
            None => LedgerFound::default(),
            Some(rows) => LedgerFound {
                open: true,
                entries: rows
                    .into_iter()
                    .map(|(name, record)| (name, record.0))
                    .collect(),
            },
        })
    }

    /// The config's ledgers with their sizes, by name.
    pub async fn list_ledgers(&self, config_id: ConfigId) -> Result<Vec<LedgerRow>, StoreError> {
        Ok(on_reader!(self, pool => sqlx::query_as(
            "SELECT l.ledger, count(e.name) AS entries, l.opened_at, max(e.recorded_at) AS last_recorded_at \
             FROM ledgers l LEFT JOIN ledger_entries e ON e.config_id = l.config_id AND e.ledger = l.ledger \
             WHERE l.config_id = $1 GROUP BY l.config_id, l.ledger, l.opened_at ORDER BY l.ledger",
        )
        .bind(config_id)
        .fetch_all(pool)
        .await)?)
    }
}
