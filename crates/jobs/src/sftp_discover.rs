//! `sftp_discover`: lists the files under the config's SFTP root that are new or changed since
//! they were last copied (by this config's earlier runs), skipping files too young to be
//! complete, and records them in the run's state as `files` for `copy_to_storage` and
//! `copy_to_sftp`. A file counts as done when every delivery job that has run for this config
//! recorded it unchanged in its ledger (`copied`, and `deposited` once `copy_to_sftp` has run),
//! so a file one of them missed is listed again. The ledgers hold every file delivered however
//! many runs ago, and are asked only about the files listed now.

use crate::scan_window::{recorded_end, ScanWindow, WindowParams, SCAN_WINDOW_KEY};
use crate::sftp::{list_files, RemoteFile, SftpConnection, SftpSettings};
use crate::{EtlJob, JobContext, JobError};
use async_trait::async_trait;
use regex::Regex;
use serde_json::{json, Map, Value};
use std::collections::HashMap;

/// The ledgers the delivery jobs record in (`copy_to_storage`, `copy_to_sftp`).
pub const DELIVERY_LEDGERS: [&str; 2] = ["copied", "deposited"];
/// Files per run unless the runtime param `max_files` says fewer: keeps a run's state (a record
/// per file) well under the API's 1 MiB request limit; the rest wait for the next run.
pub const DEFAULT_MAX_FILES: usize = 2000;

#[derive(Debug, Default, Clone, Copy)]
pub struct SftpDiscover;

/// What the scan saw, for the state and the log.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Scan {
    pub listed: usize,
    pub not_matching: usize,
    pub too_young: usize,
    pub unchanged: usize,
    /// Left for a later run by `max_files`.
    pub deferred: usize,
    pub selected: Vec<RemoteFile>,
}

/// Size and mtime of a file as an earlier run copied it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Copied {
    pub size: u64,
    pub mtime: Option<i64>,
}

/// The size and mtime of each record of a ledger's entries (others are left out).
fn records(entries: &Map<String, Value>) -> HashMap<String, Copied> {
    entries
        .iter()
        .filter_map(|(path, record)| {
            let size = record["size"].as_u64()?;
            let mtime = record["mtime"].as_i64();
            Some((path.clone(), Copied { size, mtime }))
        })
        .collect()
}

/// The files delivered before, unchanged, by every delivery job that has run for this config:
/// `ledgers` holds, for each delivery ledger, whether it is open and its records of the files
/// asked about; a ledger never opened (its job never ran for this config) does not count.
pub fn delivered_before(ledgers: &[(bool, Map<String, Value>)]) -> HashMap<String, Copied> {
    let mut ran = ledgers
        .iter()
        .filter(|(open, _)| *open)
        .map(|(_, entries)| records(entries));
    let Some(mut known) = ran.next() else {
        return HashMap::new();
    };
    for other in ran {
        known.retain(|path, record| {
            other.get(path).is_some_and(|seen| {
                seen.size == record.size
                    && (seen.mtime.is_none()
                        || record.mtime.is_none()
                        || seen.mtime == record.mtime)
            })
        });
    }
    known
}

/// Picks the files to copy: matching `pattern`, at least `min_age_s` old at `now`, and not
/// copied before with the same size and mtime; oldest first, at most `max_files`.
pub fn select(
    files: Vec<RemoteFile>,
    pattern: &Regex,
    min_age_s: i64,
    now: i64,
    known: &HashMap<String, Copied>,
    max_files: Option<usize>,
) -> Scan {
    let mut scan = Scan {
        listed: files.len(),
        ..Scan::default()
    };
    for file in files {
        if !pattern.is_match(&file.relative) {
            scan.not_matching += 1;
        } else if now - file.mtime < min_age_s {
            scan.too_young += 1;
        } else if known.get(&file.relative).is_some_and(|before| {
            before.size == file.size && before.mtime.is_none_or(|mtime| mtime == file.mtime)
        }) {
            scan.unchanged += 1;
        } else {
            scan.selected.push(file);
        }
    }
    if let Some(max) = max_files {
        scan.selected
            .sort_by(|a, b| (a.mtime, &a.relative).cmp(&(b.mtime, &b.relative)));
        scan.deferred = scan.selected.len().saturating_sub(max);
        scan.selected.truncate(max);
        scan.selected.sort_by(|a, b| a.relative.cmp(&b.relative));
    }
    scan
}

#[async_trait]
impl EtlJob for SftpDiscover {
    fn name(&self) -> &'static str {
        "sftp_discover"
    }

    async fn process(&self, context: &mut JobContext) -> Result<(), JobError> {
        let settings = SftpSettings::from_context(context)?;
        let runtime_params = context.runtime_params().await?;
        let window_params = WindowParams::parse(&runtime_params)?;
        let root = match &window_params.override_root_path {
            Some(root) => root.clone(),
            None => context
                .config_str("root")
                .ok_or_else(|| JobError::Config("root is not set".into()))?
                .to_owned(),
        };
        let recursive = context.config["recursive"].as_bool().unwrap_or(true);
        let pattern_text = context.config_str("file_regex").unwrap_or(".*");
        let pattern = Regex::new(pattern_text)
            .map_err(|error| JobError::Config(format!("file_regex: {error}")))?;
        let min_age_s = context.config["min_age_s"].as_i64().unwrap_or(300);
        let settled = chrono::Utc::now() - chrono::Duration::seconds(min_age_s.max(0));
        let window = scan_window(context, &window_params, settled).await?;
        let max_files = runtime_params["max_files"]
            .as_u64()
            .and_then(|max| usize::try_from(max).ok())
            .map_or(DEFAULT_MAX_FILES, |max| max.min(DEFAULT_MAX_FILES));

        context
            .log(&format!(
                "listing {root} on {} ({})",
                settings.address(),
                if recursive {
                    "with subdirectories"
                } else {
                    "top level only"
                }
            ))
            .await?;
        let connection = SftpConnection::connect(&settings).await?;
        let files = list_files(&connection.sftp, &root, recursive).await?;
        let (files, outside_window) = within(files, &window);
        if let Some(start) = window.start {
            context
                .log(&format!(
                    "scan window {start} to {}: {outside_window} file(s) modified outside it",
                    window.end
                ))
                .await?;
        }
        let listed: Vec<String> = files
            .iter()
            .filter(|file| pattern.is_match(&file.relative))
            .map(|file| file.relative.clone())
            .collect();
        let mut ledgers = Vec::with_capacity(DELIVERY_LEDGERS.len());
        for ledger in DELIVERY_LEDGERS {
            ledgers.push(context.lookup_ledger(ledger, &listed).await?);
        }
        let known = delivered_before(&ledgers);
        let now = chrono::Utc::now().timestamp();
        let scan = select(files, &pattern, min_age_s, now, &known, Some(max_files));

        let bytes: u64 = scan.selected.iter().map(|file| file.size).sum();
        context
            .log(&format!(
                "{} new or changed file(s), {bytes} bytes, of {} listed; {} too young \
                 (< {min_age_s} s), {} already copied, {} not matching {pattern_text:?}{}",
                scan.selected.len(),
                scan.listed,
                scan.too_young,
                scan.unchanged,
                scan.not_matching,
                if scan.deferred > 0 {
                    format!(", {} left for later runs (max_files)", scan.deferred)
                } else {
                    String::new()
                }
            ))
            .await?;

        let files: Map<String, Value> = scan
            .selected
            .iter()
            .map(|file| {
                (
                    file.relative.clone(),
                    json!({"size": file.size, "mtime": file.mtime}),
                )
            })
            .collect();
        let mut state = Map::new();
        state.insert("files".into(), Value::Object(files));
        state.insert(
            "scan".into(),
            json!({
                "root": root,
                "listed": scan.listed,
                "selected": scan.selected.len(),
                "bytes": bytes,
                "too_young": scan.too_young,
                "unchanged": scan.unchanged,
                "not_matching": scan.not_matching,
                "deferred": scan.deferred,
            }),
        );
        state.insert("last_scan_at".into(), json!(chrono::Utc::now()));
        state.insert(SCAN_WINDOW_KEY.into(), window.to_state());
        context.update_state(state).await
    }
}

/// The window this run scans: its params, else after the window the previous run recorded.
async fn scan_window(
    context: &JobContext,
    params: &WindowParams,
    settled: chrono::DateTime<chrono::Utc>,
) -> Result<ScanWindow, JobError> {
    // Only windows that follow one another start where the previous run's ended.
    let previous_end = if params.start_time.is_some() || params.override_interval.is_none() {
        None
    } else {
        let previous = context.previous_state(&[SCAN_WINDOW_KEY]).await?;
        previous.get(SCAN_WINDOW_KEY).and_then(recorded_end)
    };
    Ok(params.window(previous_end, settled))
}

/// The files modified in the window (all of them when it has no start: the first scan sees
/// everything, as before windows), and how many were left out.
fn within(files: Vec<RemoteFile>, window: &ScanWindow) -> (Vec<RemoteFile>, usize) {
    if window.start.is_none() {
        return (files, 0);
    }
    let listed = files.len();
    let kept: Vec<RemoteFile> = files
        .into_iter()
        .filter(|file| window.contains(file.mtime))
        .collect();
    let outside = listed - kept.len();
    (kept, outside)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(relative: &str, size: u64, mtime: i64) -> RemoteFile {
        RemoteFile {
            relative: relative.into(),
            size,
            mtime,
        }
    }

    fn ledger(open: bool, entries: Value) -> (bool, Map<String, Value>) {
        match entries {
            Value::Object(entries) => (open, entries),
            _ => (open, Map::new()),
        }
    }

    #[test]
    fn selects_new_and_changed_files_that_match_and_are_old_enough() {
        let copied = ledger(
            true,
            json!({"a.fastq.gz": {"key": "a", "size": 10, "sha256": "x", "mtime": 100},
                   "b.fastq.gz": {"key": "b", "size": 7, "sha256": "x", "mtime": 100}}),
        );
        let known = delivered_before(&[copied, ledger(false, json!({}))]);
        assert_eq!(known["a.fastq.gz"].size, 10);
        let files = vec![
            file("a.fastq.gz", 10, 100), // copied before, unchanged
            file("b.fastq.gz", 7, 200),  // same size, newer mtime: changed
            file("c.fastq.gz", 3, 100),  // new
            file("d.fastq.gz", 3, 990),  // too young
            file("notes.txt", 1, 100),   // not matching
        ];
        let pattern = Regex::new(r"\.fastq\.gz$").unwrap();
        let scan = select(files, &pattern, 60, 1000, &known, None);
        let names: Vec<&str> = scan.selected.iter().map(|f| f.relative.as_str()).collect();
        assert_eq!(names, ["b.fastq.gz", "c.fastq.gz"]);
        assert_eq!(
            (
                scan.listed,
                scan.unchanged,
                scan.too_young,
                scan.not_matching
            ),
            (5, 1, 1, 1)
        );
    }

    #[test]
    fn a_file_is_known_only_when_every_delivery_recorded_it_unchanged() {
        let copied = json!({
            "a": {"key": "a", "size": 1, "mtime": 10},
            "b": {"key": "b", "size": 2, "mtime": 10},
            "c": {"key": "c", "size": 3, "mtime": 10},
        });
        let known = delivered_before(&[ledger(true, copied.clone()), ledger(false, json!({}))]);
        assert_eq!(
            known.len(),
            3,
            "no deposit ran for this config: copied alone counts"
        );
        let known = delivered_before(&[ledger(false, json!({})), ledger(true, copied.clone())]);
        assert_eq!(known.len(), 3, "nor does a copy that never ran");
        let deposited = json!({
            "a": {"path": "/d/a", "size": 1, "mtime": 10},
            "b": {"path": "/d/b", "size": 2, "mtime": 9},
        });
        let known = delivered_before(&[ledger(true, copied.clone()), ledger(true, deposited)]);
        let mut names: Vec<&String> = known.keys().collect();
        names.sort();
        assert_eq!(names, ["a"], "b was deposited older, c not at all");
        let failed_deposit = ledger(true, json!({}));
        assert!(delivered_before(&[ledger(true, copied), failed_deposit]).is_empty());
    }

    #[test]
    fn max_files_takes_the_oldest_and_defers_the_rest() {
        let files = vec![
            file("new", 1, 300),
            file("old", 1, 100),
            file("mid", 1, 200),
        ];
        let scan = select(
            files,
            &Regex::new(".*").unwrap(),
            0,
            1000,
            &HashMap::new(),
            Some(2),
        );
        let names: Vec<&str> = scan.selected.iter().map(|f| f.relative.as_str()).collect();
        assert_eq!(names, ["mid", "old"]);
        assert_eq!(scan.deferred, 1);
    }
}
