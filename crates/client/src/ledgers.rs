//! Ledgers: what a config's runs delivered. Recording replaces each name's record and a lookup
//! only reads, so both may be sent again.

use crate::retry::Idempotency;
use crate::{Client, Result};
use polyphemus_model::{
    ConfigId, LedgerEntries, LedgerName, LedgerRecorded, LedgerSummary, LookupLedger, ProjectName,
    RecordLedger, RunId,
};
use reqwest::Method;

impl Client {
    /// Records entries in a ledger of the run's config (at most 5,000 per call).
    pub async fn record_ledger(
        &self,
        project: &ProjectName,
        run_id: &RunId,
        ledger: &LedgerName,
        body: &RecordLedger,
    ) -> Result<LedgerRecorded> {
        let url = self.url([
            "projects",
            project.as_str(),
            "runs",
            run_id.as_str(),
            "ledgers",
            ledger.as_str(),
        ]);
        self.send(Method::POST, url, Some(body), Idempotency::Idempotent)
            .await
            .map(|(_, recorded)| recorded)
    }

    /// The newest records of the given names in a ledger of the config (at most 5,000 names).
    pub async fn lookup_ledger(
        &self,
        project: &ProjectName,
        config_id: ConfigId,
        ledger: &LedgerName,
        body: &LookupLedger,
    ) -> Result<LedgerEntries> {
        let id = config_id.to_string();
        let url = self.url([
            "projects",
            project.as_str(),
            "configs",
            &id,
            "ledgers",
            ledger.as_str(),
            "lookup",
        ]);
        self.send(Method::POST, url, Some(body), Idempotency::Idempotent)
            .await
            .map(|(_, entries)| entries)
    }

    /// The config's ledgers and their sizes.
    pub async fn list_ledgers(
        &self,
        project: &ProjectName,
        config_id: ConfigId,
    ) -> Result<Vec<LedgerSummary>> {
        let id = config_id.to_string();
        self.get(self.url(["projects", project.as_str(), "configs", &id, "ledgers"]))
            .await
    }
}
