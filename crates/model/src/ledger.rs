//! Ledgers: what a config's runs delivered, kept per config outside any run, so "was this file
//! copied before?" is one indexed lookup however many runs came before (and after retention
//! pruned them). An entry is a name (a file's path) and its newest record (size, mtime, …).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::{InvalidValue, LedgerName};

/// Most entries one request records or looks up (keeps a request well under the API's body
/// limit with paths of typical length).
pub const MAX_LEDGER_BATCH: usize = 5_000;
/// Longest entry name, in bytes (a file path).
pub const MAX_LEDGER_NAME_BYTES: usize = 4_096;

/// `POST …/runs/{run_id}/ledgers/{ledger}`: entries to record for the run's config. An empty
/// map opens the ledger (the job ran and delivered nothing), which counts in lookups.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordLedger {
    /// Entry name -> record (any JSON object); a name recorded before gets the new record.
    #[schema(value_type = Object)]
    pub entries: Map<String, Value>,
}

/// What a record request did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LedgerRecorded {
    pub ledger: LedgerName,
    /// Entries written (new or replaced).
    pub recorded: u64,
}

/// `POST …/configs/{config_id}/ledgers/{ledger}/lookup`: the names to look up.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LookupLedger {
    pub names: Vec<String>,
}

/// The entries found among the names asked for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LedgerEntries {
    pub ledger: LedgerName,
    /// Whether any run of the config has recorded in this ledger (even nothing).
    pub open: bool,
    /// Name -> newest record, for the names asked for that the ledger holds.
    #[schema(value_type = Object)]
    pub entries: Map<String, Value>,
}

/// One ledger of a config, for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LedgerSummary {
    pub ledger: LedgerName,
    pub entries: u64,
    pub opened_at: chrono::DateTime<chrono::Utc>,
    pub last_recorded_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Checks a batch of entry names: 1 to [`MAX_LEDGER_BATCH`] of them (0 allowed when `empty_ok`),
/// each 1 to [`MAX_LEDGER_NAME_BYTES`] bytes without NUL. The error names the field.
pub fn check_ledger_names<'a>(
    field: &'static str,
    names: impl ExactSizeIterator<Item = &'a String>,
    empty_ok: bool,
) -> Result<(), InvalidValue> {
    let count = names.len();
    if count > MAX_LEDGER_BATCH || (count == 0 && !empty_ok) {
        let least = usize::from(!empty_ok);
        return Err(InvalidValue::new(
            field,
            format!("give {least}-{MAX_LEDGER_BATCH} names per request ({count} given)"),
        ));
    }
    for name in names {
        if name.is_empty() || name.len() > MAX_LEDGER_NAME_BYTES || name.contains('\0') {
            return Err(InvalidValue::new(
                field,
                format!(
                    "name {:?} must be 1-{MAX_LEDGER_NAME_BYTES} bytes without NUL",
                    name.chars().take(80).collect::<String>()
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_by_count_and_length() {
        let ok = ["a/b.fastq.gz".to_owned()];
        assert!(check_ledger_names("names", ok.iter(), false).is_ok());
        assert!(check_ledger_names("names", [].iter(), false).is_err());
        assert!(check_ledger_names("entries", [].iter(), true).is_ok());
        let long = ["x".repeat(MAX_LEDGER_NAME_BYTES + 1)];
        assert!(check_ledger_names("names", long.iter(), false).is_err());
        let many: Vec<String> = (0..=MAX_LEDGER_BATCH).map(|n| n.to_string()).collect();
        let error = check_ledger_names("names", many.iter(), false).unwrap_err();
        assert!(error.to_string().contains("5000"), "{error}");
    }
}
