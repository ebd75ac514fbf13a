//! How a local orchestrator is set up beyond its work dir: the steps' sandbox, Kubernetes
//! objects and volumes, the artifact repository, retry backoff and the memoize caches.

use super::LocalOrchestrator;
use polyphemus_engine::{Engine, K8sObjects, StepUser};
use std::path::PathBuf;

/// How the server wants its steps sandboxed.
#[derive(Debug, Clone, Default)]
pub struct SandboxSettings {
    /// Paths no step may see: the data dir, the store file, the key file, the admin token.
    pub hide: Vec<PathBuf>,
    /// `--step-user`: who steps run as when the server runs as root.
    pub step_user: Option<StepUser>,
    /// `--step-volume`: host directories steps may write (made the step user's when root).
    pub volumes: Vec<PathBuf>,
    /// `--allow-unsandboxed-steps`.
    pub allow_unsandboxed: bool,
}

impl LocalOrchestrator {
    /// Steps hide `settings.hide`, run as `settings.step_user` when root, and arbitrary
    /// workflow documents are refused without a sandbox unless `allow_unsandboxed`.
    pub fn with_sandbox(mut self, settings: SandboxSettings) -> Self {
        self.options.hide = settings.hide;
        self.options.step_user = settings.step_user;
        self.options.volumes = settings.volumes;
        self.allow_unsandboxed = settings.allow_unsandboxed;
        // A volume is for steps to write: as root, they write it as the step user.
        if let Some(user) = Engine::new(self.options.clone()).step_user() {
            for volume in &self.options.volumes {
                if let Err(error) = std::os::unix::fs::chown(volume, Some(user.uid), Some(user.gid))
                {
                    tracing::warn!(volume = %volume.display(), %error, "cannot give a step volume to the step user");
                }
            }
        }
        self
    }

    /// Steps read Secrets and ConfigMaps from `objects` (`serve --k8s-objects`), and their
    /// `persistentVolumeClaim`s live under `volumes_root/<project>/<claimName>`.
    pub fn with_k8s(mut self, objects: K8sObjects, volumes_root: PathBuf) -> Self {
        self.options.objects = objects;
        self.options.volumes_root = Some(volumes_root);
        self
    }

    /// Output artifacts go to `repository` (the engine's default: `<work_dir>/.artifacts`);
    /// a local one is hidden from steps.
    pub fn with_artifact_repository(
        mut self,
        repository: polyphemus_engine::ArtifactRepository,
    ) -> Self {
        self.options.artifact_repository = Some(repository);
        self
    }

    /// Every wait between two attempts of a `retryStrategy` is at most `max_backoff` (see
    /// `EngineOptions::max_backoff`); none: as the workflow says.
    pub fn with_max_backoff(mut self, max_backoff: Option<std::time::Duration>) -> Self {
        self.options.max_backoff = max_backoff;
        self
    }

    /// `memoize` templates keep their outputs in `store`, per project (the run's
    /// `polyphemus/project` label; a run without one uses files in the work dir).
    pub fn with_memo_caches(
        mut self,
        caches: crate::orchestrators::memo_cache::MemoCaches,
    ) -> Self {
        self.memo_caches = Some(caches);
        self
    }
}
