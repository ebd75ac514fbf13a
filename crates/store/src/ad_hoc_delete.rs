//! Deleting an ended ad-hoc run (`argo delete` through the Argo Server API): the run, its state
//! rows, its metadata and its tokens go in one transaction, with the event that says so. Runs
//! of config versions are the configs' history and are never deleted here (retention prunes
//! them); a run still going must be ended first.

use crate::events::{insert_event, now};
use crate::{on_writer, BeginWrite, NewEvent, Store, StoreError};
use polyphemus_model::{ProjectName, RunId};

/// What a delete of an ad-hoc run found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdHocRunDelete {
    /// Deleted; the workflow name (the local engine's run directory is named after it).
    Deleted {
        name: String,
    },
    NotFound,
    /// A run of a config version: history, not deleted.
    NotAdHoc,
    /// Still going.
    NotEnded,
}

impl Store {
    /// Deletes the project's ended ad-hoc run `run_id` and writes `event`, or says why not.
    pub async fn delete_ended_ad_hoc_run(
        &self,
        project: &ProjectName,
        run_id: &RunId,
        event: &NewEvent,
    ) -> Result<AdHocRunDelete, StoreError> {
        let at = now();
        on_writer!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let found: Option<(i64, String, bool, Option<String>)> = sqlx::query_as(
                "SELECT r.seq, r.name, h.ad_hoc, r.final_phase FROM runs r \
                 JOIN config_heads h ON h.config_id = r.config_id \
                 WHERE r.project_name = $1 AND r.run_id = $2",
            )
            .bind(project)
            .bind(run_id)
            .fetch_optional(&mut *tx)
            .await?;
            let (seq, name) = match found {
                None => return Ok(AdHocRunDelete::NotFound),
                Some((_, _, false, _)) => return Ok(AdHocRunDelete::NotAdHoc),
                Some((_, _, true, None)) => return Ok(AdHocRunDelete::NotEnded),
                Some((seq, name, true, Some(_))) => (seq, name),
            };
            for statement in [
                "DELETE FROM run_state_keys WHERE run_seq = $1",
                "DELETE FROM run_metadata WHERE run_seq = $1",
            ] {
                sqlx::query(statement).bind(seq).execute(&mut *tx).await?;
            }
            sqlx::query("DELETE FROM tokens WHERE run_id = $1")
                .bind(run_id)
                .execute(&mut *tx)
                .await?;
            // The final phase is checked again: the run cannot have been reopened meanwhile.
            let deleted = sqlx::query("DELETE FROM runs WHERE seq = $1 AND final_phase IS NOT NULL")
                .bind(seq)
                .execute(&mut *tx)
                .await?;
            if deleted.rows_affected() == 0 {
                return Ok(AdHocRunDelete::NotEnded);
            }
            insert_event!(event, at).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok::<_, StoreError>(AdHocRunDelete::Deleted { name })
        })
    }
}
