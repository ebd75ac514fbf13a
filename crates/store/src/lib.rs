//! The SQL repository of Polyphemus: one API over SQLite and PostgreSQL.
//!
//! Methods express intent (`insert_next_version`, `merge_run`) and settle races in the database:
//! row locks on `config_heads`, `ON CONFLICT`, and single-statement merges of run state.
//! On SQLite every write goes through a one-connection pool, so write transactions never
//! interleave and never meet `SQLITE_BUSY`; reads use their own pool.

mod ad_hoc;
mod ad_hoc_delete;
mod ad_hoc_retry;
mod backfills;
#[cfg(feature = "bench")]
pub mod bench;
#[cfg(feature = "bench")]
pub mod bench_scale;
mod config_archive;
mod configs;
mod cron_workflows;
mod error;
mod events;
mod ledgers;
mod memo_cache;
mod notifications;
mod prune;
mod records;
mod retention;
mod run_merge;
mod run_search;
mod runs;
mod runtime;
mod schedule;
mod schedule_pause;
mod status;
mod tokens;
mod workflow_templates;

pub use ad_hoc::AD_HOC_WORKFLOW_TYPE;
pub use ad_hoc_delete::AdHocRunDelete;
pub use ad_hoc_retry::AdHocRunReopen;
pub use backfills::{BackfillRecord, BackfillToAdvance, NewBackfill, ONE_RUNNING};
pub use cron_workflows::CronWorkflowRecord;
pub use error::StoreError;
pub use ledgers::{LedgerFound, LedgerRow};
pub use memo_cache::MemoRecord;
pub use notifications::{ChannelRecord, NewChannelRecord};
pub use prune::{PruneCandidate, PrunePlan};
pub use records::*;
pub use retention::{RetentionChange, RetentionRecord};
pub use run_search::{RunCandidate, RunSummaryRecord};
pub use schedule::{Claimed, DueAction, DueRuntime, SkipReason};
pub use schedule_pause::ScheduleChange;
pub use sqlx::types::Json;
pub use workflow_templates::{NewWorkflowTemplate, WorkflowTemplateRecord};

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use std::str::FromStr;
use std::time::Duration;

/// Which SQL dialect a store speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, Clone)]
enum Pools {
    Sqlite { read: SqlitePool, write: SqlitePool },
    Postgres(PgPool),
}

/// A handle on the database; cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    pools: Pools,
}

/// Runs `$body` with `$pool` bound to the pool that serves writes.
macro_rules! on_writer {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.pools {
            crate::Pools::Sqlite { write: $pool, .. } => $body,
            crate::Pools::Postgres($pool) => $body,
        }
    };
}

/// Runs `$body` with `$pool` bound to the pool that serves reads.
macro_rules! on_reader {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.pools {
            crate::Pools::Sqlite { read: $pool, .. } => $body,
            crate::Pools::Postgres($pool) => $body,
        }
    };
}
pub(crate) use {on_reader, on_writer};

/// Options for [`Store::connect`].
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Connections of the PostgreSQL pool, or of the SQLite read pool.
    pub max_connections: u32,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            max_connections: 32,
        }
    }
}

impl Store {
    /// Connects to `postgres://…` or `sqlite://…` (the SQLite file is created if missing).
    pub async fn connect(url: &str, options: &StoreOptions) -> Result<Self, StoreError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            // JIT compilation costs its ~200 ms on every statement the planner thinks large
            // (the status page of 10,000 configs), far more than the statement itself: the
            // store's queries are short index walks, for which PostgreSQL's docs advise it off.
            // A URL's own `options=-c jit=on` still wins.
            let connect = PgConnectOptions::from_str(url)?.options([("jit", "off")]);
            let pool = PgPoolOptions::new()
                .max_connections(options.max_connections)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(connect)
                .await?;
            Ok(Self {
                pools: Pools::Postgres(pool),
            })
        } else if url.starts_with("sqlite:") {
            let connect = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10));
            let write = SqlitePoolOptions::new()
                .max_connections(1)
                .connect_with(connect.clone())
                .await?;
            let read = SqlitePoolOptions::new()
                .max_connections(options.max_connections.clamp(1, 8))
                .connect_with(connect.read_only(true))
                .await?;
            Ok(Self {
                pools: Pools::Sqlite { read, write },
            })
        } else {
            Err(StoreError::InvalidUrl)
        }
    }

    pub fn backend(&self) -> Backend {
        match self.pools {
            Pools::Sqlite { .. } => Backend::Sqlite,
            Pools::Postgres(_) => Backend::Postgres,
        }
    }

    /// Applies the migrations of this backend that are not applied yet.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match &self.pools {
            Pools::Sqlite { write, .. } => sqlx::migrate!("./migrations/sqlite").run(write).await?,
            Pools::Postgres(pool) => sqlx::migrate!("./migrations/postgres").run(pool).await?,
        }
        Ok(())
    }

    /// Answers when the database does (`/readyz`).
    pub async fn ping(&self) -> Result<(), StoreError> {
        on_reader!(self, pool => sqlx::query("SELECT 1").execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    pub async fn close(&self) {
        match &self.pools {
            Pools::Sqlite { read, write } => {
                read.close().await;
                write.close().await;
            }
            Pools::Postgres(pool) => pool.close().await,
        }
    }
}

/// Starts a write transaction. On SQLite it is `BEGIN IMMEDIATE`: the write lock is taken up
/// front, so a transaction that reads before it writes waits for other processes' writers
/// (busy timeout) instead of failing with `SQLITE_BUSY` when it upgrades.
pub(crate) trait BeginWrite {
    type Database: sqlx::Database;
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, Self::Database>, sqlx::Error>;
}

impl BeginWrite for SqlitePool {
    type Database = sqlx::Sqlite;
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, sqlx::Error> {
        self.begin_with("BEGIN IMMEDIATE").await
    }
}

impl BeginWrite for PgPool {
    type Database = sqlx::Postgres;
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, sqlx::Error> {
        self.begin().await
    }
}
