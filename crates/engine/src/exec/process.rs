//! Child processes "like a pod": own process group (killed as a whole on deadline or stop),
//! own working directory, and, where the host allows it, the sandbox of `sandbox.rs` (own PID
//! and mount namespaces, read-only host, a private `/tmp`, a step user); otherwise a per-node
//! `TMPDIR`. stdout/stderr go to the node's log files as they come (`logs.rs`).

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use tokio::process::Command;

use super::logs::{self, Stream};
use super::sandbox::{self, Plan, Support, FAILED_MARK, SANDBOX_FAILED};
use crate::state::Shared;

/// How much of stderr is kept in memory to find the sandbox's complaint in.
const STDERR_KEPT: usize = 64 * 1024;

/// Whether nodes run sandboxed (own namespaces, private `/tmp`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Isolation {
    /// Sandbox each node when this host supports it, else a per-node `TMPDIR`.
    #[default]
    Auto,
    /// Never: each node only gets its own working directory and `TMPDIR`.
    Off,
}

/// Whether nodes get a sandbox here, with its private `/tmp` (probed once).
pub fn private_tmp_available() -> bool {
    sandbox::support() != Support::None
}

/// Kills a whole process group when dropped while armed (deadline, stop, timeout).
struct GroupGuard {
    pgid: Option<u32>,
}

pub(crate) fn kill_group(pgid: u32) {
    // The shell's builtin `kill` takes a negative pid (a process group) everywhere.
    let _ = std::process::Command::new("sh")
        .args(["-c", "kill -9 -\"$0\" 2>/dev/null", &pgid.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if let Some(pgid) = self.pgid.take() {
            kill_group(pgid);
        }
    }
}

/// What to run for one node.
pub struct Spec {
    pub argv: Vec<String>,
    pub env: Vec<(String, String)>,
    pub cwd: PathBuf,
    /// The node's working directory (bound back writable in the sandbox).
    pub work: PathBuf,
    pub tmp: PathBuf,
    /// The run's sandbox, when nodes get one.
    pub sandbox: Option<(Support, Arc<Plan>)>,
    /// The node's volumes, mounted in its sandbox.
    pub mounts: Vec<sandbox::Bind>,
    /// Where it writes at absolute paths outside those (its sandbox's writable layer).
    pub layer: Option<super::layer::Layer>,
    /// Log files are `<logs>.log` (interleaved), `<logs>.stdout.log`, `<logs>.stderr.log`
    /// (each written when not empty).
    pub logs: PathBuf,
    /// Where the process group is recorded while it runs (for `leftovers`).
    pub pid_file: PathBuf,
}

pub struct Finished {
    pub exit_code: i32,
    /// The first [`logs::RESULT_LIMIT`] bytes of stdout (all of it is in the log files).
    pub stdout: Vec<u8>,
    /// Set when the process could not be started or its sandbox failed.
    pub error: Option<String>,
}

fn build(spec: &Spec) -> Command {
    let mut cmd = match &spec.sandbox {
        Some((kind, plan)) => {
            let dirs = (spec.work.as_path(), spec.tmp.as_path(), spec.cwd.as_path());
            let binds = (spec.mounts.as_slice(), spec.layer.as_ref());
            Command::from(plan.command(*kind, dirs, &spec.argv, binds))
        }
        None => {
            let mut c = Command::new(&spec.argv[0]);
            c.args(&spec.argv[1..]);
            c.env("TMPDIR", &spec.tmp);
            c
        }
    };
    cmd.current_dir(&spec.cwd)
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    cmd
}

/// Runs the process to completion; dropping the future kills its process group.
pub async fn run(spec: Spec, shared: Arc<Shared>) -> Finished {
    if spec.argv.is_empty() {
        return Finished {
            exit_code: -1,
            stdout: Vec::new(),
            error: Some("no command to run".into()),
        };
    }
    let mut child = match build(&spec).spawn() {
        Ok(c) => c,
        Err(e) => {
            return Finished {
                exit_code: -1,
                stdout: Vec::new(),
                error: Some(format!("failed to start `{}`: {e}", spec.argv[0])),
            }
        }
    };
    let mut guard = GroupGuard { pgid: child.id() };
    if let Some(pid) = child.id() {
        super::leftovers::record(&spec.pid_file, pid);
    }
    let combined = logs::Combined::new(&spec.logs);
    let out = child.stdout.take().map(|o| {
        tokio::spawn(logs::pump(
            o,
            Stream::Stdout,
            spec.logs.clone(),
            combined.clone(),
            shared.clone(),
            logs::RESULT_LIMIT,
        ))
    });
    // The sandbox's own complaint comes first on stderr: its head is enough to find it.
    let err = child.stderr.take().map(|e| {
        tokio::spawn(logs::pump(
            e,
            Stream::Stderr,
            spec.logs.clone(),
            combined.clone(),
            shared.clone(),
            STDERR_KEPT,
        ))
    });
    let status = child.wait().await;
    // Background processes of the node may keep the pipes open: give them a moment, then kill
    // the group (a pod's processes end with its main container).
    let collect = async {
        let o = match out {
            Some(h) => h.await.map(|p| p.head).unwrap_or_default(),
            None => Vec::new(),
        };
        let e = match err {
            Some(h) => h.await.map(|p| p.head).unwrap_or_default(),
            None => Vec::new(),
        };
        (o, e)
    };
    tokio::pin!(collect);
    let (stdout, stderr) =
        match tokio::time::timeout(Duration::from_millis(200), &mut collect).await {
            Ok(v) => {
                guard.pgid = None;
                v
            }
            Err(_) => {
                if let Some(pgid) = guard.pgid.take() {
                    kill_group(pgid);
                }
                collect.await
            }
        };
    super::leftovers::forget(&spec.pid_file);
    combined.flush().await;
    match status {
        Ok(s) => {
            use std::os::unix::process::ExitStatusExt;
            let code = s.code().unwrap_or_else(|| 128 + s.signal().unwrap_or(0));
            let error = (spec.sandbox.is_some() && code == SANDBOX_FAILED)
                .then(|| sandbox_failure(&stderr))
                .flatten();
            Finished {
                exit_code: code,
                stdout,
                error,
            }
        }
        Err(e) => Finished {
            exit_code: -1,
            stdout,
            error: Some(format!("failed to wait for the process: {e}")),
        },
    }
}

/// The wrapper's own complaint, when it (and not the program) exited with `SANDBOX_FAILED`.
fn sandbox_failure(stderr: &[u8]) -> Option<String> {
    String::from_utf8_lossy(stderr)
        .lines()
        .find_map(|l| l.strip_prefix(FAILED_MARK))
        .map(|why| format!("the node's sandbox could not be set up:{why}"))
}
