//! Child processes "like a pod": own process group (killed as a whole on deadline or stop),
//! own working directory, private `/tmp` through `unshare --mount` where the OS allows it
//! (otherwise a per-node `TMPDIR`), stdout/stderr captured live into the run state and to disk.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::process::Command;

use crate::state::Shared;

/// Whether nodes get a private `/tmp` (a private mount namespace per node).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Isolation {
    /// Use a private `/tmp` when `unshare --mount` works here, else a per-node `TMPDIR`.
    #[default]
    Auto,
    /// Never: each node only gets its own working directory and `TMPDIR`.
    Off,
}

static PRIVATE_TMP: OnceLock<bool> = OnceLock::new();

/// Probes once whether `unshare --mount` + `mount --bind` onto `/tmp` works on this host.
pub fn private_tmp_available() -> bool {
    *PRIVATE_TMP.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("polyphemus-probe-{}", std::process::id()));
        if std::fs::create_dir_all(&dir).is_err() {
            return false;
        }
        let _ = std::fs::write(dir.join(".probe"), b"");
        let ok = std::process::Command::new("unshare")
            .args(["--mount", "--propagation", "private", "sh", "-c"])
            .arg("mount --bind \"$0\" /tmp && test -e /tmp/.probe")
            .arg(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        let _ = std::fs::remove_dir_all(&dir);
        if !ok {
            tracing::info!(
                "private /tmp per node is not available here (unshare --mount failed): nodes share /tmp and get their own TMPDIR"
            );
        }
        ok
    })
}

/// Kills a whole process group when dropped while armed (deadline, stop, timeout).
struct GroupGuard {
    pgid: Option<u32>,
}

fn kill_group(pgid: u32) {
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
    pub node_id: String,
    pub argv: Vec<String>,
    pub env: Vec<(String, String)>,
    pub cwd: PathBuf,
    pub tmp: PathBuf,
    pub private_tmp: bool,
    /// Directories under `/tmp` (the run dir, the steps' program) to keep reachable at their
    /// paths inside the private `/tmp`, where they would otherwise be hidden.
    pub reexpose: Vec<PathBuf>,
    /// Log files are `<logs>.stdout.log` / `<logs>.stderr.log` (written when not empty).
    pub logs: PathBuf,
}

pub struct Finished {
    pub exit_code: i32,
    pub stdout: Vec<u8>,
    /// Set when the process could not be started or its sandbox failed.
    pub error: Option<String>,
}

/// The exit code the wrapper uses when it cannot mount the private `/tmp`.
const SANDBOX_FAILED: i32 = 125;

/// The wrapper for `sh -c SCRIPT tmp dir1 … dirN argv…`: hold each dir open (fd 3 on), cover
/// `/tmp` with the node's own, bind each held dir back at its old path, then run argv.
fn reexpose_script(dirs: usize) -> String {
    let held: Vec<String> = (1..=dirs)
        .map(|n| format!("exec {}<\"${{{n}}}\"", n + 2))
        .collect();
    let bound: Vec<String> = (1..=dirs)
        .map(|n| {
            format!(
                "mkdir -p \"${{{n}}}\" && mount --no-canonicalize --bind /proc/self/fd/{} \"${{{n}}}\"",
                n + 2
            )
        })
        .collect();
    let closed: Vec<String> = (1..=dirs).map(|n| format!("exec {}<&-", n + 2)).collect();
    format!(
        "{} && mount --bind \"$0\" /tmp && {} || exit {SANDBOX_FAILED}; {}; shift {dirs}; exec \"$@\"",
        held.join(" && "),
        bound.join(" && "),
        closed.join("; "),
    )
}

fn build(spec: &Spec) -> Command {
    let mut cmd = if spec.private_tmp && !spec.reexpose.is_empty() {
        let mut c = Command::new("unshare");
        c.args(["--mount", "--propagation", "private", "sh", "-c"])
            .arg(reexpose_script(spec.reexpose.len()))
            .arg(&spec.tmp)
            .args(&spec.reexpose)
            .args(&spec.argv);
        c
    } else if spec.private_tmp {
        let mut c = Command::new("unshare");
        c.args(["--mount", "--propagation", "private", "sh", "-c"])
            .arg(format!(
                "mount --bind \"$0\" /tmp || exit {SANDBOX_FAILED}; exec \"$@\""
            ))
            .arg(&spec.tmp)
            .args(&spec.argv);
        c
    } else {
        let mut c = Command::new(&spec.argv[0]);
        c.args(&spec.argv[1..]);
        c.env("TMPDIR", &spec.tmp);
        c
    };
    cmd.current_dir(&spec.cwd)
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    cmd
}

async fn pump<R: AsyncReadExt + Unpin>(mut r: R, shared: Arc<Shared>, id: String) -> Vec<u8> {
    let mut all = Vec::new();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        match r.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                shared.append_log(&id, &buf[..n]);
                all.extend_from_slice(&buf[..n]);
            }
        }
    }
    all
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
    let out = child
        .stdout
        .take()
        .map(|o| tokio::spawn(pump(o, shared.clone(), spec.node_id.clone())));
    let err = child
        .stderr
        .take()
        .map(|e| tokio::spawn(pump(e, shared.clone(), spec.node_id.clone())));
    let status = child.wait().await;
    // Background processes of the node may keep the pipes open: give them a moment, then kill
    // the group (a pod's processes end with its main container).
    let collect = async {
        let o = match out {
            Some(h) => h.await.unwrap_or_default(),
            None => Vec::new(),
        };
        let e = match err {
            Some(h) => h.await.unwrap_or_default(),
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
    write_logs(&spec.logs, &stdout, &stderr).await;
    match status {
        Ok(s) => {
            use std::os::unix::process::ExitStatusExt;
            let code = s.code().unwrap_or_else(|| 128 + s.signal().unwrap_or(0));
            let error = (spec.private_tmp && code == SANDBOX_FAILED)
                .then(|| "failed to mount the node's private /tmp".to_string());
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

async fn write_logs(base: &Path, stdout: &[u8], stderr: &[u8]) {
    for (suffix, data) in [("stdout.log", stdout), ("stderr.log", stderr)] {
        if data.is_empty() {
            continue;
        }
        let path = PathBuf::from(format!("{}.{suffix}", base.display()));
        if let Err(e) = tokio::fs::write(&path, data).await {
            tracing::warn!(path = %path.display(), "cannot write the node log: {e}");
        }
    }
}
