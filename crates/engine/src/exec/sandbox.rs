//! What a node runs inside, "like a pod": its own PID namespace (a fresh `/proc` showing only
//! its own processes) and mount namespace in which the host is read-only, the engine's work
//! dir and the paths the caller hides (data dir, store, key file) are covered, only the node's
//! working dir, its `/tmp` and the directories it needs to run are bound back, and, when the
//! engine runs as root, an unprivileged step user. Built from util-linux (`unshare`, `mount`,
//! `setpriv`) and a generated `sh` script, so nothing here needs `unsafe` code.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;

use super::layer::Layer;
pub use super::step_user::{StepUser, DEFAULT_STEP_USER};

/// What this host lets the engine give its nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Support {
    /// Root: namespaces and a step user.
    Root,
    /// Not root, but unprivileged user namespaces work: namespaces, the server's own user.
    UserNamespace,
    /// Neither: nodes run as plain child processes with a per-node `TMPDIR`.
    None,
}

/// Whether the effective user is root (read from `/proc`, no `unsafe` `geteuid`).
pub fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|ids| ids.split_whitespace().nth(1).map(|e| e == "0"))
        })
        .unwrap_or(false)
}

/// Probes once, by running the real wrapper around `true`, what this host supports.
pub fn support() -> Support {
    static SUPPORT: OnceLock<Support> = OnceLock::new();
    *SUPPORT.get_or_init(|| {
        let kind = if running_as_root() {
            Support::Root
        } else {
            Support::UserNamespace
        };
        let dir = std::env::temp_dir().join(format!("polyphemus-probe-{}", std::process::id()));
        let ok = probe(kind, &dir).unwrap_or(false);
        let _ = std::fs::remove_dir_all(&dir);
        if ok {
            kind
        } else {
            tracing::info!(
                "no sandbox for steps here (unshare with PID and mount namespaces failed)"
            );
            Support::None
        }
    })
}

fn probe(kind: Support, dir: &Path) -> std::io::Result<bool> {
    let (hidden, tmp, stage) = (dir.join("hidden"), dir.join("tmp"), dir.join("stage"));
    for d in [&hidden, &tmp, &stage] {
        std::fs::create_dir_all(d)?;
    }
    std::fs::write(hidden.join("key"), b"")?;
    let user = (kind == Support::Root).then(|| StepUser {
        name: "nobody".into(),
        uid: 65534,
        gid: 65534,
    });
    let plan = Plan {
        user,
        covers: vec![hidden.clone()],
        hidden_files: Vec::new(),
        read_only: Vec::new(),
        read_only_files: Vec::new(),
        volumes: Vec::new(),
        stage,
    };
    let check = format!(
        "test ! -e {key} && ! touch /polyphemus-probe 2>/dev/null && test \"$(ls /proc | grep -c '^[0-9]')\" -lt 10",
        key = quote(&hidden.join("key"))
    );
    let argv = ["sh".to_string(), "-c".into(), check];
    let mut cmd = plan.command(kind, (&tmp, &tmp, Path::new("/")), &argv, (&[], None));
    Ok(cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false))
}

/// The exit code of the wrapper when it cannot set the sandbox up, with a line on stderr
/// starting with [`FAILED_MARK`].
pub const SANDBOX_FAILED: i32 = 125;
pub const FAILED_MARK: &str = "polyphemus-sandbox:";

/// A volume of one node: host directory `host` mounted at `target` inside its sandbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Bind {
    pub host: PathBuf,
    pub target: PathBuf,
    pub read_only: bool,
}

/// The sandbox of one run's nodes, computed once at submit.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub user: Option<StepUser>,
    /// Directories covered by an empty read-only tmpfs (parents first).
    pub covers: Vec<PathBuf>,
    /// Files covered by `/dev/null`.
    pub hidden_files: Vec<PathBuf>,
    /// Directories bound back read-only where a cover (or `/tmp`) hides them (parents first).
    pub read_only: Vec<PathBuf>,
    /// Files bound back read-only likewise (a program kept directly in `/tmp`).
    pub read_only_files: Vec<PathBuf>,
    /// Volumes: host directories bound back writable (the rest of the host is read-only).
    pub volumes: Vec<PathBuf>,
    /// An empty directory on which each node's namespace mounts the original tree, to bind
    /// paths back from once they are covered.
    pub stage: PathBuf,
}

/// Single-quotes `p` for `sh`.
pub(crate) fn quote(p: &Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', "'\\''"))
}

fn under_any(p: &Path, roots: &[PathBuf]) -> bool {
    roots.iter().any(|r| p.starts_with(r))
}

/// Whether `user` may search (traverse) directory `p`.
fn searchable(p: &Path, user: &StepUser) -> bool {
    match std::fs::metadata(p) {
        Ok(m) if m.uid() == user.uid => m.mode() & 0o100 != 0,
        Ok(m) if m.gid() == user.gid => m.mode() & 0o010 != 0,
        Ok(m) => m.mode() & 0o001 != 0,
        Err(_) => false,
    }
}

impl Plan {
    /// `hide`: the engine's work dir and the caller's paths; `reach`: directories nodes must
    /// read (their program, the SDK, `PATH`); `volumes`: host directories they may write;
    /// `run_dir`: this run's directory.
    pub fn new(
        user: Option<StepUser>,
        hide: &[PathBuf],
        (reach, volumes): (&[PathBuf], &[PathBuf]),
        run_dir: &Path,
    ) -> Plan {
        // Under /tmp nothing needs covering: each node's /tmp is its own.
        let skip =
            |p: &Path| p == Path::new("/") || p.starts_with("/tmp") || p.starts_with("/proc");
        let mut covers: Vec<PathBuf> = hide
            .iter()
            .filter(|p| p.is_dir() && !skip(p))
            .cloned()
            .collect();
        let hidden_files = hide
            .iter()
            .filter(|p| p.is_file() && !skip(p))
            .cloned()
            .collect();
        // `/tmp` itself is never bound back: it would cover the node's own `/tmp` with the
        // host's, read-only (a program kept there is reached as a file instead).
        let mut read_only: Vec<PathBuf> = reach
            .iter()
            .filter(|p| p.is_dir() && p.as_path() != Path::new("/tmp"))
            .cloned()
            .chain(std::iter::once(run_dir.join("scripts")))
            .collect();
        // A step user cannot pass a directory such as /root (0700): cover the first such
        // ancestor with a searchable tmpfs, in which the needed paths are bound back.
        if let Some(user) = &user {
            let targets: Vec<PathBuf> = read_only
                .iter()
                .chain(volumes)
                .cloned()
                .chain(std::iter::once(run_dir.to_path_buf()))
                .collect();
            for target in targets {
                let mut ancestors: Vec<&Path> = target.ancestors().skip(1).collect();
                ancestors.reverse();
                for a in ancestors.into_iter().skip(1) {
                    if skip(a) || under_any(a, &covers) {
                        break;
                    }
                    if !searchable(a, user) {
                        covers.push(a.to_path_buf());
                        break;
                    }
                }
            }
        }
        let depth = |p: &PathBuf| p.components().count();
        covers.sort_by_key(depth);
        covers.dedup();
        read_only.retain(|p| p.starts_with("/tmp") || under_any(p, &covers));
        let read_only_files = reach
            .iter()
            .filter(|p| p.is_file() && (p.starts_with("/tmp") || under_any(p, &covers)))
            .cloned()
            .collect();
        read_only.sort_by_key(depth);
        read_only.dedup();
        let mut volumes: Vec<PathBuf> = volumes.iter().filter(|p| p.is_dir()).cloned().collect();
        volumes.sort_by_key(depth);
        Plan {
            user,
            covers,
            hidden_files,
            read_only,
            read_only_files,
            volumes,
            stage: run_dir.join("sandbox"),
        }
    }

    /// `setpriv --pdeathsig KILL unshare … sh -c SCRIPT sh argv…` for one node whose working
    /// dir is `work` (bound back writable), `/tmp` is `tmp`, which starts in `cwd` and gets
    /// its volumes `mounts` and writable `layer`.
    pub fn command(
        &self,
        kind: Support,
        (work, tmp, cwd): (&Path, &Path, &Path),
        argv: &[String],
        (mounts, layer): (&[Bind], Option<&Layer>),
    ) -> std::process::Command {
        // The parent-death signal makes `unshare` die with the engine (even on kill -9); its
        // --kill-child then kills the namespace's init, and with it every process inside.
        // Set by `setpriv` so that no `unsafe` pre_exec is needed; the kernel sends it when
        // the spawning *thread* ends, and tokio spawns from long-lived runtime workers.
        let mut c = std::process::Command::new("setpriv");
        c.args(["--pdeathsig", "KILL", "--", "unshare"]);
        if kind == Support::UserNamespace {
            c.args(["--user", "--map-root-user"]);
        }
        c.args([
            "--pid",
            "--fork",
            "--kill-child",
            "--mount-proc",
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
        ]);
        let (head, rest) = self.script((work, tmp, cwd), mounts, layer);
        match rest {
            Some(rest) => c.arg(head).arg("sh").arg(rest),
            None => c.arg(head).arg("sh"),
        };
        c.args(argv);
        c
    }

    /// The script run as the namespace's init (root there). Each step either works or stops
    /// the node with [`SANDBOX_FAILED`]; it never runs the program half-sandboxed. With a
    /// layer that needs a new root, the part after the chroot comes apart (the second string).
    fn script(
        &self,
        (work, tmp, cwd): (&Path, &Path, &Path),
        mounts: &[Bind],
        layer: Option<&Layer>,
    ) -> (String, Option<String>) {
        let fail = format!("fail() {{ echo \"{FAILED_MARK} $*\" >&2; exit {SANDBOX_FAILED}; }}\n");
        let mut s = fail.clone();
        let mut line = |l: String| {
            s.push_str(&l);
            s.push('\n');
        };
        // 1. The host read-only: every mount but the fresh /proc (mountinfo escapes blanks as
        //    \040, which printf %b turns back).
        line(
            "mps=$(while read -r _ _ _ _ mp _; do echo \"$mp\"; done </proc/self/mountinfo)".into(),
        );
        //    Every process spawned here is paid by every node: `printf` runs (in a subshell)
        //    only for an escaped name, `mkdir` only for a missing directory.
        line("for mp in $mps; do case $mp in *\\\\*) mp=$(printf '%b' \"$mp\");; esac; case $mp in /proc|/proc/*) continue;; esac; mount -o remount,bind,ro \"$mp\" 2>/dev/null || fail \"cannot make $mp read-only\"; done".into());
        // 2. The original tree, held open on fd 3 to bind paths back once they are covered.
        let stage = quote(&self.stage);
        line(format!(
            "mount --rbind / {stage} && exec 3<{stage} || fail 'cannot stage the root'"
        ));
        let from =
            |p: &Path| quote(&Path::new("/proc/self/fd/3").join(p.strip_prefix("/").unwrap_or(p)));
        // A read-only bind is one `mount` (libmount remounts with `ro` given along with
        // --bind). A writable one needs its own remount: the staged tree it comes from is
        // read-only, and `-o rw` alongside --bind changes nothing.
        let bind = |p: &Path, src: &Path, mode: &str| {
            let (q, f) = (quote(p), from(src));
            let mount = if mode == "ro" {
                format!("mount --no-canonicalize --bind -o ro {f} {q}")
            } else {
                format!(
                    "mount --no-canonicalize --bind {f} {q} && mount -o remount,bind,{mode} {q}"
                )
            };
            format!("{{ [ -d {q} ] || mkdir -p {q}; }} && {mount} || fail 'cannot bind '{q}")
        };
        // 2b. The node's writable layer (overlays, a new root), before anything covers it.
        let mut head = None;
        if let Some(layer) = layer {
            for l in layer.script(|p| bind(p, p, "rw")) {
                line(l);
            }
            if layer.chroots() {
                head = Some(std::mem::replace(&mut s, fail));
            }
        }
        let mut line = |l: String| {
            s.push_str(&l);
            s.push('\n');
        };
        // 3. Covers: the node's own /tmp, a fresh /dev/shm, then the hidden paths.
        line(bind(Path::new("/tmp"), tmp, "rw"));
        line(
            "mount -t tmpfs -o mode=1777,size=64m tmpfs /dev/shm || fail 'cannot cover /dev/shm'"
                .into(),
        );
        for c in &self.covers {
            line(format!(
                "{{ [ -d {q} ] || mkdir -p {q}; }} && mount -t tmpfs -o mode=0755,size=64k tmpfs {q} || fail 'cannot cover '{q}",
                q = quote(c)
            ));
        }
        for f in &self.hidden_files {
            line(format!(
                "if [ -e {q} ]; then mount --bind /dev/null {q} || fail 'cannot hide '{q}; fi",
                q = quote(f)
            ));
        }
        // 4. What the node needs, bound back from the stage.
        for p in &self.read_only {
            line(bind(p, p, "ro"));
        }
        for f in &self.read_only_files {
            line(format!(
                "{{ [ -e {q} ] || : >{q}; }} && mount --no-canonicalize --bind {src} {q} && mount -o remount,bind,ro {q} || fail 'cannot bind '{q}",
                q = quote(f),
                src = from(f)
            ));
        }
        for v in &self.volumes {
            line(bind(v, v, "rw"));
        }
        line(bind(work, work, "rw"));
        // Volumes last, so that one mounted inside a bound-back directory (or /tmp) shows.
        for m in mounts {
            let mode = if m.read_only { "ro" } else { "rw" };
            line(bind(&m.target, &m.host, mode));
        }
        for c in &self.covers {
            line(format!(
                "mount -o remount,bind,ro {q} || fail 'cannot seal '{q}",
                q = quote(c)
            ));
        }
        line("umount -l --no-canonicalize /proc/self/fd/3 2>/dev/null; exec 3<&-".into());
        line(format!(
            "cd {} || fail 'cannot enter the working dir'",
            quote(cwd)
        ));
        // 5. The program, without privileges: a step user when root; in a user namespace an
        //    empty bounding set, so the exec'd program keeps no capability (it could otherwise
        //    unmount the covers). This shell stays init: it keeps the parent-death signal that
        //    a change of user would clear.
        let mut drop = String::from("setpriv --no-new-privs --inh-caps=-all --bounding-set=-all");
        if let Some(u) = &self.user {
            drop.push_str(&format!(
                " --reuid={} --regid={} --clear-groups",
                u.uid, u.gid
            ));
        }
        line(format!("{drop} -- \"$@\""));
        match head {
            Some(head) => (head, Some(s)),
            None => (s, None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_single_quoted_for_sh() {
        assert_eq!(quote(Path::new("/a b/it's")), "'/a b/it'\\''s'");
    }

    #[test]
    fn a_step_user_gets_unsearchable_ancestors_covered_and_needed_paths_bound_back() {
        let dir = PathBuf::from(format!(
            "/var/tmp/polyphemus-plan-test-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        let locked = dir.join("locked");
        let tool = locked.join("venv/bin");
        std::fs::create_dir_all(&tool).expect("dirs");
        std::fs::set_permissions(&locked, std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .expect("chmod");
        let user = StepUser {
            name: "x".into(),
            uid: 4_000_000,
            gid: 4_000_000,
        };
        let work = dir.join("data");
        std::fs::create_dir_all(work.join("runs/wf")).expect("run dir");
        let plan = Plan::new(
            Some(user),
            std::slice::from_ref(&work),
            (std::slice::from_ref(&tool), &[]),
            &work.join("runs/wf"),
        );
        let _ = std::fs::remove_dir_all(&dir);
        assert!(
            plan.covers.contains(&work) && plan.covers.contains(&locked),
            "{plan:?}"
        );
        assert_eq!(plan.covers.len(), 2, "{:?}", plan.covers);
        assert!(plan.read_only.contains(&tool), "{:?}", plan.read_only);
        assert!(plan.read_only.contains(&work.join("runs/wf/scripts")));
    }
}
