//! Ledgers: delivery jobs record what they delivered for their run's config, and look up
//! whether names were delivered before (see `polyphemus_model::LedgerEntries`).

use super::Services;
use crate::{Access, CoreError};
use polyphemus_model::{
    check_ledger_names, ConfigId, LedgerEntries, LedgerName, LedgerRecorded, LedgerSummary,
    LookupLedger, RecordLedger, Role, RunId,
};
use polyphemus_store::StoreError;

impl Services {
    /// Records entries in a ledger of the run's config (an editor, or the run's task token).
    pub async fn record_ledger(
        &self,
        access: &Access,
        run_id: &RunId,
        ledger: &LedgerName,
        request: RecordLedger,
    ) -> Result<LedgerRecorded, CoreError> {
        self.reachable_run_scope(access, run_id, Role::Editor)
            .await?;
        check_ledger_names("entries", request.entries.keys(), true)?;
        if let Some((name, _)) = request
            .entries
            .iter()
            .find(|(_, record)| !record.is_object())
        {
            return Err(CoreError::bad_field(
                "/entries",
                format!("the record of {name:?} must be a JSON object"),
            ));
        }
        let recorded = self
            .store
            .record_ledger(access.project(), run_id, ledger, &request.entries)
            .await
            .map_err(|error| match error {
                StoreError::RunEnded(phase) => CoreError::Conflict(format!(
                    "run {run_id} has already ended ({phase}): it records nothing more"
                )),
                StoreError::NotFound => CoreError::NotFound(format!("run {run_id}")),
                other => other.into(),
            })?;
        Ok(LedgerRecorded {
            ledger: ledger.clone(),
            recorded,
        })
    }

    /// The newest records of `names` in a ledger of the config (a viewer, or a task token
    /// of the config).
    pub async fn lookup_ledger(
        &self,
        access: &Access,
        config_id: ConfigId,
        ledger: &LedgerName,
        request: LookupLedger,
    ) -> Result<LedgerEntries, CoreError> {
        access.require_role_or_task(Role::Viewer, config_id)?;
        check_ledger_names("names", request.names.iter(), true)?;
        self.latest_record(access, config_id).await?;
        let found = self
            .store
            .lookup_ledger(config_id, ledger, &request.names)
            .await?;
        Ok(LedgerEntries {
            ledger: ledger.clone(),
            open: found.open,
            entries: found.entries,
        })
    }

    /// The config's ledgers and their sizes.
    pub async fn list_ledgers(
        &self,
        access: &Access,
        config_id: ConfigId,
    ) -> Result<Vec<LedgerSummary>, CoreError> {
        access.require_role_or_task(Role::Viewer, config_id)?;
        self.latest_record(access, config_id).await?;
        let rows = self.store.list_ledgers(config_id).await?;
        Ok(rows
            .into_iter()
            .map(|row| LedgerSummary {
                ledger: row.ledger,
                entries: u64::try_from(row.entries).unwrap_or(0),
                opened_at: row.opened_at,
                last_recorded_at: row.last_recorded_at,
            })
            .collect())
    }
}
