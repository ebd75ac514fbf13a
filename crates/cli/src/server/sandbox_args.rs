//! `serve --step-user`, `--allow-unsandboxed-steps`, `--engine-max-backoff`, and what steps
//! of the local engine must not see.

use crate::settings::GlobalArgs;
use anyhow::Context;
use clap::Args;
use polyphemus_core::orchestrators::local::SandboxSettings;
use polyphemus_engine::{K8sObjects, StepUser};

/// How the local engine runs workflow steps: their sandbox, and how long retries wait.
#[derive(Debug, Args, Default)]
pub struct SandboxArgs {
    /// When the server runs as root, steps run as this user and its primary group
    /// (default `polyphemus-step`, created by scripts/install-deps.sh and the image; else
    /// `nobody`).
    #[arg(long, env = "POLYPHEMUS_STEP_USER")]
    pub step_user: Option<String>,
    /// Accept workflow documents (`polyphemus submit`) even where steps cannot be sandboxed
    /// (not root and no user namespaces): they then run as the server's user.
    #[arg(long, env = "POLYPHEMUS_ALLOW_UNSANDBOXED_STEPS")]
    pub allow_unsandboxed_steps: bool,
    /// A host directory steps may write (a `file://` object store, a shared volume), made the
    /// step user's when the server runs as root; the rest of the host is read-only to them.
    /// Repeat it, or separate directories with `:` in the variable.
    #[arg(
        long = "step-volume",
        env = "POLYPHEMUS_STEP_VOLUMES",
        value_delimiter = ':'
    )]
    pub step_volumes: Vec<std::path::PathBuf>,
    /// The longest wait between two attempts of a step the workflow retries (`30s`, `500ms`,
    /// `0`), shorter than the workflow's `retryStrategy.backoff` says; for development and
    /// tests, where a failing step should fail fast yet be retried as often. Argo ignores it.
    #[arg(long, env = "POLYPHEMUS_ENGINE_MAX_BACKOFF", value_parser = parse_backoff)]
    pub engine_max_backoff: Option<std::time::Duration>,
    /// A directory of Kubernetes Secret and ConfigMap YAML files that workflow steps read
    /// (`secretKeyRef`, `configMapKeyRef`, `envFrom`, secret/configMap volumes, semaphore
    /// sizes); default `<data dir>/k8s-objects` when it exists.
    #[arg(
        long = "k8s-objects",
        value_name = "DIR",
        env = "POLYPHEMUS_K8S_OBJECTS"
    )]
    pub k8s_objects: Option<std::path::PathBuf>,
}

fn parse_backoff(text: &str) -> Result<std::time::Duration, String> {
    polyphemus_engine::parse_duration(text)
        .ok_or_else(|| format!("{text:?} is not a duration (30s, 500ms, 1m30s, 0)"))
}

impl SandboxArgs {
    /// The local orchestrator's sandbox settings; an unknown `--step-user` is an error.
    pub fn settings(&self, global: &GlobalArgs) -> anyhow::Result<SandboxSettings> {
        let step_user = match &self.step_user {
            Some(name) => Some(
                StepUser::lookup(name)
                    .with_context(|| format!("--step-user {name}: no such user"))?,
            ),
            None => None,
        };
        Ok(SandboxSettings {
            hide: hidden_from_steps(global),
            step_user,
            volumes: self
                .step_volumes
                .iter()
                .filter_map(|p| std::path::absolute(p).ok())
                .collect(),
            allow_unsandboxed: self.allow_unsandboxed_steps,
        })
    }

    /// The Secrets and ConfigMaps of `--k8s-objects` (or `<data dir>/k8s-objects`, if any).
    pub fn k8s_objects(&self, global: &GlobalArgs) -> anyhow::Result<K8sObjects> {
        let default = global.data_dir.join("k8s-objects");
        let dir = match &self.k8s_objects {
            Some(dir) => dir.clone(),
            None if default.is_dir() => default,
            None => return Ok(K8sObjects::new()),
        };
        K8sObjects::load_dir(&dir).with_context(|| format!("--k8s-objects {}", dir.display()))
    }
}

/// What no step may see: the data dir (key, admin token, store, every run's directory) and
/// the store's files wherever `--database-url` puts them.
fn hidden_from_steps(global: &GlobalArgs) -> Vec<std::path::PathBuf> {
    let mut hide = vec![
        global.data_dir.clone(),
        global.secret_key_path(),
        global.admin_token_path(),
    ];
    let url = global.database_url();
    if let Some(file) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    {
        let file = file.split('?').next().unwrap_or(file);
        for suffix in ["", "-wal", "-shm", "-journal"] {
            hide.push(std::path::PathBuf::from(format!("{file}{suffix}")));
        }
    }
    hide.into_iter()
        .filter_map(|p| std::path::absolute(&p).ok())
        .collect()
}
