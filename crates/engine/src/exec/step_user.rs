//! The unprivileged user a root engine runs its steps as.

use std::process::Stdio;
use std::sync::OnceLock;

/// The user steps run as when the engine runs as root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepUser {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
}

/// The user created by `scripts/install-deps.sh` and the Docker image.
pub const DEFAULT_STEP_USER: &str = "polyphemus-step";

impl StepUser {
    /// Resolves `name` through the system's user database (`id`, so NSS users work too).
    pub fn lookup(name: &str) -> Option<StepUser> {
        let id = |flag: &str| -> Option<u32> {
            let out = std::process::Command::new("id")
                .args([flag, "--", name])
                .stdin(Stdio::null())
                .stderr(Stdio::null())
                .output()
                .ok()?;
            if !out.status.success() {
                return None;
            }
            String::from_utf8_lossy(&out.stdout).trim().parse().ok()
        };
        Some(StepUser {
            name: name.to_owned(),
            uid: id("-u")?,
            gid: id("-g")?,
        })
    }

    /// `polyphemus-step`, else `nobody` (65534; its processes are alone in their PID
    /// namespace, so sharing the uid with other services lets them signal none).
    pub fn default_user() -> StepUser {
        static DEFAULT: OnceLock<StepUser> = OnceLock::new();
        DEFAULT
            .get_or_init(|| {
                StepUser::lookup(DEFAULT_STEP_USER)
                    .or_else(|| StepUser::lookup("nobody"))
                    .unwrap_or(StepUser {
                        name: "nobody".into(),
                        uid: 65534,
                        gid: 65534,
                    })
            })
            .clone()
    }
}
