//! Reopening an ended ad-hoc run (`argo retry` through the Argo Server API): the run is going
//! again under the same id, so it is no longer ended (state and output writes are taken
//! again) and its metadata says Running, with the event that says so, in one transaction.
//! Runs of config versions are history: they are resubmitted as new runs, not reopened.

use crate::events::{insert_event, now};
use crate::{on_writer, BeginWrite, NewEvent, Store, StoreError};
use polyphemus_model::{ProjectName, RunId, RunPhase};

/// What reopening an ad-hoc run found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdHocRunReopen {
    /// Reopened; the phase it had ended in.
    Reopened {
        ended: RunPhase,
    },
    NotFound,
    /// A run of a config version: history, not reopened.
    NotAdHoc,
    /// Still going (or reopened by another caller just now).
    NotEnded,
}

impl Store {
    /// Marks the project's ended ad-hoc run `run_id` as going again and writes `event`, or
    /// says why not.
    pub async fn reopen_ended_ad_hoc_run(
        &self,
        project: &ProjectName,
        run_id: &RunId,
        event: &NewEvent,
    ) -> Result<AdHocRunReopen, StoreError> {
        let at = now();
        on_writer!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let found: Option<(i64, bool, Option<RunPhase>)> = sqlx::query_as(
                "SELECT r.seq, h.ad_hoc, r.final_phase FROM runs r \
                 JOIN config_heads h ON h.config_id = r.config_id \
                 WHERE r.project_name = $1 AND r.run_id = $2",
            )
            .bind(project)
            .bind(run_id)
            .fetch_optional(&mut *tx)
            .await?;
            let (seq, ended) = match found {
                None => return Ok(AdHocRunReopen::NotFound),
                Some((_, false, _)) => return Ok(AdHocRunReopen::NotAdHoc),
                Some((_, true, None)) => return Ok(AdHocRunReopen::NotEnded),
                Some((seq, true, Some(phase))) => (seq, phase),
            };
            // The final phase is the claim: of two concurrent retries, one reopens the run.
            let reopened = sqlx::query(
                "UPDATE runs SET final_phase = NULL, updated_at = $2 \
                 WHERE seq = $1 AND final_phase IS NOT NULL",
            )
            .bind(seq)
            .bind(at)
            .execute(&mut *tx)
            .await?;
            if reopened.rows_affected() == 0 {
                return Ok(AdHocRunReopen::NotEnded);
            }
            sqlx::query(
                "UPDATE run_metadata SET phase = $2, finished_at = NULL, message = NULL, \
                 updated_at = $3 WHERE run_seq = $1",
            )
            .bind(seq)
            .bind(RunPhase::Running)
            .bind(at)
            .execute(&mut *tx)
            .await?;
            insert_event!(event, at).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok::<_, StoreError>(AdHocRunReopen::Reopened { ended })
        })
    }
}
