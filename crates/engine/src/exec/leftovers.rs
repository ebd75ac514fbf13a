//! Process groups of running nodes, recorded in `<run dir>/pids/<node id>` while they run, so
//! that a server restarted after a crash can kill what is left of a run before settling it.
//! The parent-death chain of `sandbox.rs` normally leaves nothing; this is the second line for
//! unsandboxed nodes, whose grandchildren outlive a killed server.

use std::path::Path;

/// `(process group, start time in clock ticks since boot)`: the start time tells a recorded
/// group from an unrelated process that later got the same pid.
fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold blanks: fields after it.
    let rest = stat.get(stat.rfind(')')? + 2..)?;
    rest.split_whitespace().nth(19)?.parse().ok()
}

fn process_group(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = stat.get(stat.rfind(')')? + 2..)?;
    rest.split_whitespace().nth(2)?.parse().ok()
}

pub(crate) fn record(file: &Path, pid: u32) {
    let Some(started) = start_time(pid) else {
        return;
    };
    if let Err(e) = std::fs::write(file, format!("{pid} {started}\n")) {
        tracing::warn!(path = %file.display(), "cannot record the node's process group: {e}");
    }
}

pub(crate) fn forget(file: &Path) {
    let _ = std::fs::remove_file(file);
}

/// The processes of group `pgid` now.
fn members(pgid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| process_group(*pid) == Some(pgid))
        .collect()
}

/// Kills every recorded node process group of the run in `run_dir` that still runs; returns
/// how many processes were killed.
pub fn kill_leftovers(run_dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(run_dir.join("pids")) else {
        return 0;
    };
    let mut killed = 0;
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        let recorded = std::fs::read_to_string(&path).unwrap_or_default();
        let mut fields = recorded.split_whitespace().map(str::parse::<u64>);
        if let (Some(Ok(pid)), Some(Ok(started))) = (fields.next(), fields.next()) {
            let pid = u32::try_from(pid).unwrap_or(0);
            if pid > 1 && start_time(pid) == Some(started) {
                let alive = members(pid);
                super::process::kill_group(pid);
                tracing::warn!(
                    pid,
                    processes = alive.len(),
                    "killed a leftover node process group"
                );
                killed += alive.len();
            }
        }
        forget(&path);
    }
    killed
}
