//! The public engine API: `Engine::submit`/`run` a workflow, and the `RunHandle` to observe
//! it (status snapshots, change notifications, logs), stop or terminate it, and wait for it.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use tokio::sync::{watch, Semaphore};

use crate::artifacts::{ArtifactRepository, RunArtifacts, Secrets};
use crate::driver::{drive, persist_while_running, snapshot, write_status};
use crate::error::EngineError;
use crate::exec::process::Isolation;
use crate::exec::retained::Retained;
use crate::exec::sandbox::{self, Plan, StepUser, Support};
use crate::exec::{Call, RunCtx};
use crate::k8s_objects::K8sObjects;
use crate::library::TemplateLibrary;
use crate::model::Workflow;
use crate::setup;
use crate::state::Shared;
use crate::status::{Phase, WorkflowObject};
use crate::sync::{LockManager, RunLocks};
use crate::volumes::{Placement, RunK8s};

/// Where and how the engine runs workflows.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Default `/var/tmp/polyphemus-engine` (a work dir under `/tmp` also works: it is bound
    /// back at its path inside each node's private `/tmp`). Each run gets `<work_dir>/<workflow name>/` with `work/<node id>/` (the node's working
    /// directory), `tmp/<node id>/` (its `/tmp`), `logs/<node id>.{stdout,stderr}.log`,
    /// `scripts/<node id>` and, at the end, `status.json`.
    pub work_dir: PathBuf,
    pub isolation: Isolation,
    /// `metadata.namespace` of the runs (Argo's namespace; `local` by default).
    pub namespace: String,
    /// Extra environment for every node (e.g. `POLYPHEMUS_URL`); a template's `env` wins.
    pub env: Vec<(String, String)>,
    /// At most this many pods of one run at once (on top of `spec.parallelism`).
    pub max_pods: Option<usize>,
    /// Directories nodes must still reach, read-only, inside their sandbox (the directory of
    /// the program their steps run, the SDK); `PATH` and `PYTHONPATH` entries are added.
    pub keep_visible: Vec<PathBuf>,
    /// Paths nodes must not see (the data dir, the store file, the key file); the work dir
    /// with every run's directory is always hidden, but for the node's own directories.
    pub hide: Vec<PathBuf>,
    /// Host directories nodes may write (declared volumes, a `file://` object store); the
    /// rest of the host is read-only to them.
    pub volumes: Vec<PathBuf>,
    /// Who nodes run as when the engine runs as root (default `polyphemus-step`, else
    /// `nobody`).
    pub step_user: Option<StepUser>,
    /// The longest wait between two attempts of a `retryStrategy` with a `backoff`, whatever
    /// the workflow says (none: as it says). Not Argo's: for development and test suites,
    /// where a failing step should fail fast and still be retried as often.
    pub max_backoff: Option<Duration>,
    /// The Secrets and ConfigMaps runs read (`--k8s-objects DIR`).
    pub objects: K8sObjects,
    /// Where `persistentVolumeClaim`s live, `<root>/<scope>/<claimName>` (default
    /// `<work_dir>/.volumes`).
    pub volumes_root: Option<PathBuf>,
    /// The synchronization locks; clones of these options share them.
    pub locks: LockManager,
    /// Where output artifacts are saved (Argo's `artifactRepository`); none: the host
    /// directory `<work_dir>/.artifacts` (hidden from steps, like the work dir).
    pub artifact_repository: Option<ArtifactRepository>,
    /// Kubernetes Secrets for artifacts' `accessKeySecret`/`secretKeySecret` (none: the
    /// run's `objects`).
    pub secrets: Option<Secrets>,
    /// Where `memoize` templates keep outputs between runs; none: files under
    /// `<work_dir>/.memoize/` (`FileMemoCache`).
    pub memo_cache: Option<Arc<dyn crate::memo::MemoCache>>,
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self {
            work_dir: default_work_dir(),
            // POLYPHEMUS_ENGINE_ISOLATION=off turns the private /tmp off (e.g. to compare).
            isolation: match std::env::var("POLYPHEMUS_ENGINE_ISOLATION").as_deref() {
                Ok("off") => Isolation::Off,
                _ => Isolation::Auto,
            },
            namespace: "local".into(),
            env: Vec::new(),
            max_pods: None,
            keep_visible: Vec::new(),
            hide: Vec::new(),
            volumes: Vec::new(),
            step_user: None,
            max_backoff: None,
            objects: K8sObjects::default(),
            volumes_root: None,
            locks: LockManager::default(),
            artifact_repository: None,
            secrets: None,
            memo_cache: None,
        }
    }
}

/// Per-run options of `Engine::submit_with`.
#[derive(Debug, Clone, Default)]
pub struct SubmitOptions {
    /// The workflow uid (Polyphemus's `run_id`); a new v4 uuid when absent.
    pub uid: Option<uuid::Uuid>,
    /// Environment added to every node of this run (after `EngineOptions::env`).
    pub env: Vec<(String, String)>,
    /// Secrets and ConfigMaps of this run only, over `EngineOptions::objects`.
    pub objects: K8sObjects,
    /// Whose claims the run mounts (Polyphemus's project); `local` when absent.
    pub scope: Option<String>,
    /// Set by [`Engine::retry`]: the nodes of the retried run that are not run again.
    pub retained: Arc<Retained>,
}

/// `/var/tmp/polyphemus-engine`: outside `/tmp`, which each node sees replaced by its own.
fn default_work_dir() -> PathBuf {
    let var_tmp = std::path::Path::new("/var/tmp");
    if var_tmp.is_dir() {
        var_tmp.join("polyphemus-engine")
    } else {
        std::env::temp_dir().join("polyphemus-engine")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StopMode {
    None,
    /// Like `argo stop`: kill running nodes, still run the exit handler.
    Stop,
    /// Like `argo terminate`: kill running nodes, no exit handler.
    Terminate,
}

#[derive(Debug, Clone)]
pub struct Engine {
    opts: EngineOptions,
}

/// A submitted workflow; clones share the same run (poll from one task, wait in another).
#[derive(Clone)]
pub struct RunHandle {
    pub(crate) name: String,
    pub(crate) uid: String,
    pub(crate) shared: Arc<Shared>,
    pub(crate) base: Arc<Mutex<WorkflowObject>>,
    pub(crate) stop: Arc<watch::Sender<StopMode>>,
    pub(crate) done: watch::Receiver<bool>,
    pub(crate) run_dir: PathBuf,
    pub(crate) resumes: Arc<crate::exec::suspend::Resumes>,
}

impl Engine {
    pub fn new(opts: EngineOptions) -> Self {
        Self { opts }
    }

    pub fn options(&self) -> &EngineOptions {
        &self.opts
    }

    /// The cache of `memoize` templates: the one configured, else files in the work dir.
    fn memo_cache(&self) -> Arc<dyn crate::memo::MemoCache> {
        match &self.opts.memo_cache {
            Some(cache) => cache.clone(),
            None => Arc::new(crate::memo::FileMemoCache::new(
                self.opts.work_dir.join(".memoize"),
            )),
        }
    }

    /// Whether this engine's nodes get a private `/tmp` (they are sandboxed).
    pub fn private_tmp(&self) -> bool {
        self.sandbox_support() != Support::None
    }

    /// What sandbox nodes get: none when isolation is off or the host offers none.
    pub fn sandbox_support(&self) -> Support {
        match self.opts.isolation {
            Isolation::Off => Support::None,
            Isolation::Auto => sandbox::support(),
        }
    }

    /// The user nodes run as, when the engine runs as root and sandboxes them.
    pub fn step_user(&self) -> Option<StepUser> {
        (self.sandbox_support() == Support::Root).then(|| {
            self.opts
                .step_user
                .clone()
                .unwrap_or_else(StepUser::default_user)
        })
    }

    /// The artifact repository runs save to: the configured one, else `<work_dir>/.artifacts`.
    pub fn artifact_repository(&self) -> ArtifactRepository {
        self.opts
            .artifact_repository
            .clone()
            .unwrap_or_else(|| ArtifactRepository::local(self.opts.work_dir.join(".artifacts")))
    }

    /// The sandbox of a run in `run_dir` whose nodes get `env` on top of this process's.
    pub(crate) fn plan(
        &self,
        run_dir: &Path,
        env: &[(String, String)],
    ) -> Option<(Support, Arc<Plan>)> {
        let support = self.sandbox_support();
        if support == Support::None {
            return None;
        }
        let own: Vec<(String, String)> = ["PATH", "PYTHONPATH"]
            .into_iter()
            .filter_map(|name| Some((name.to_owned(), std::env::var(name).ok()?)))
            .collect();
        let mut reach = self.opts.keep_visible.clone();
        reach.extend(crate::exec::reach::reached_by_env(env));
        reach.extend(crate::exec::reach::reached_by_env(&own));
        let mut hide = vec![self.opts.work_dir.clone()];
        hide.extend(self.opts.hide.iter().cloned());
        hide.extend(
            self.artifact_repository()
                .local_dir()
                .map(Path::to_path_buf),
        );
        let plan = Plan::new(
            self.step_user(),
            &hide,
            (&reach, &self.opts.volumes),
            run_dir,
        );
        Some((support, Arc::new(plan)))
    }

    /// Validates and starts `wf` (must be called inside a tokio runtime). Every error in the
    /// document, its references or its parameters is returned here, before anything runs.
    pub fn submit(
        &self,
        wf: Workflow,
        params: Vec<(String, String)>,
        library: &TemplateLibrary,
    ) -> Result<RunHandle, EngineError> {
        self.submit_with(wf, params, library, SubmitOptions::default())
    }

    /// `submit` with per-run options (a chosen uid, extra environment such as a task token).
    pub fn submit_with(
        &self,
        wf: Workflow,
        params: Vec<(String, String)>,
        library: &TemplateLibrary,
        options: SubmitOptions,
    ) -> Result<RunHandle, EngineError> {
        crate::validate::validate_document(&wf, false)?;
        let mut wf = wf;
        let objects = self.opts.objects.overlaid(&options.objects);
        crate::volumes::check_params(&mut wf.spec, &objects)?;
        let checked = setup::check(&wf, &params, library)?;
        let uid = options.uid.unwrap_or_else(uuid::Uuid::new_v4);
        let (name, generate) = setup::run_name(&wf, &uid)?;
        let uid = uid.to_string();
        let env: Vec<(String, String)> =
            self.opts.env.iter().chain(&options.env).cloned().collect();
        // Artifacts' `accessKeySecret`s come from the run's Secrets unless the caller says.
        let secrets = self
            .opts
            .secrets
            .clone()
            .unwrap_or_else(|| crate::artifacts::Secrets(Arc::new(objects.clone())));
        let k8s = self.run_k8s(&checked, objects, &name, options.scope.as_deref())?;
        let sandboxed = self.private_tmp();
        crate::k8s_check::check(&checked, &k8s, &self.opts.namespace, (sandboxed, &env))?;
        let run_dir = setup::create_run_dir(&self.opts.work_dir, &name)?;
        let sandbox = self.plan(&run_dir, &env);
        let private_tmp = sandbox.is_some();

        let now = Utc::now();
        let namespace = &self.opts.namespace;
        let globals = setup::globals(&name, &uid, namespace, &checked, &now);
        let shared = Shared::new();
        let mut metadata = wf.metadata.clone();
        metadata.name = Some(name.clone());
        metadata.generate_name = generate;
        metadata.uid = Some(uid.clone());
        metadata.namespace = Some(namespace.clone());
        metadata.creation_timestamp = Some(crate::status::fmt_time(&now));
        // Based on a template, the workflow reads back as submitted and the merged spec goes
        // to the status, as on Argo.
        let (own_spec, stored) = if wf.spec.workflow_template_ref.is_some() {
            (wf.spec.clone(), Some((*checked.spec).clone()))
        } else {
            ((*checked.spec).clone(), None)
        };
        let base = Arc::new(Mutex::new(WorkflowObject {
            api_version: "argoproj.io/v1alpha1".into(),
            kind: "Workflow".into(),
            metadata,
            spec: own_spec,
            status: Default::default(),
        }));
        shared.update(|s| {
            s.status.phase = Phase::Running;
            s.status.started_at = Some(now);
            s.status.stored_workflow_template_spec = stored;
        });
        let spec = checked.spec;
        let artifacts = Arc::new(RunArtifacts::new(
            self.artifact_repository(),
            Some(secrets),
            &spec,
        ));
        let resumes = crate::exec::suspend::Resumes::new(spec.suspend == Some(true));
        let ctx = Arc::new(RunCtx {
            artifacts: artifacts.clone(),
            wf_name: name.clone(),
            resolver: checked.resolver,
            shared: shared.clone(),
            step_user: sandbox.as_ref().and_then(|(_, plan)| plan.user.clone()),
            sandbox,
            run_dir: run_dir.clone(),
            private_tmp,
            pod_limit: pod_limit(spec.parallelism, self.opts.max_pods),
            globals: Mutex::new(globals),
            env,
            max_backoff: self.opts.max_backoff,
            k8s: Arc::new(k8s),
            locks: RunLocks::new(self.opts.locks.clone(), namespace, &name, shared.clone()),
            resumes: resumes.clone(),
            memo: self.memo_cache(),
            daemons: Default::default(),
            retained: options.retained.clone(),
        });
        let (stop, stop_rx) = watch::channel(StopMode::None);
        let main = Call {
            name: name.clone(),
            display: name.clone(),
            resolved: checked.entry_t,
            args: checked.args,
            boundary: None,
        };
        let deadline = spec
            .active_deadline_seconds
            .and_then(|s| u64::try_from(s).ok())
            .map(Duration::from_secs);
        let driven = drive(ctx, main, deadline, checked.exit, stop_rx);
        let done = spawn_run(
            driven,
            base.clone(),
            (shared.clone(), artifacts),
            run_dir.clone(),
        );
        Ok(RunHandle {
            name,
            uid,
            shared,
            base,
            stop: Arc::new(stop),
            done,
            run_dir,
            resumes,
        })
    }

    /// The volumes and objects of run `name` in `scope` (`local` by default).
    fn run_k8s(
        &self,
        checked: &setup::Checked,
        objects: K8sObjects,
        name: &str,
        scope: Option<&str>,
    ) -> Result<RunK8s, EngineError> {
        let scope = scope.unwrap_or("local");
        if scope.is_empty() || scope.starts_with('.') || scope.contains('/') {
            return Err(EngineError::Invalid(format!(
                "volume scope `{scope}` is not a directory name"
            )));
        }
        let root = match &self.opts.volumes_root {
            Some(root) => root.clone(),
            None => self.opts.work_dir.join(".volumes"),
        };
        let absolute = |p: PathBuf| std::path::absolute(&p).map_err(|e| EngineError::io(&p, e));
        let placement = Placement {
            claims_dir: absolute(root.join(scope))?,
            wf_name: name,
            run_dir: &absolute(self.opts.work_dir.join(name))?,
            step_user: self.step_user(),
        };
        RunK8s::new(&checked.spec, objects, placement)
    }

    /// Submits and waits for the final Workflow object.
    pub async fn run(
        &self,
        wf: Workflow,
        params: Vec<(String, String)>,
        library: &TemplateLibrary,
    ) -> Result<WorkflowObject, EngineError> {
        Ok(self.submit(wf, params, library)?.wait().await)
    }
}

/// The run's pod semaphore: the smaller of `spec.parallelism` and the engine's `max_pods`.
fn pod_limit(parallelism: Option<i64>, max_pods: Option<usize>) -> Option<Arc<Semaphore>> {
    parallelism
        .and_then(|p| usize::try_from(p).ok())
        .filter(|p| *p > 0)
        .into_iter()
        .chain(max_pods.filter(|m| *m > 0))
        .min()
        .map(|p| Arc::new(Semaphore::new(p)))
}

/// Drives the run on its own task, persisting its status meanwhile and once it ends (also
/// after a panic, recorded as Error); the receiver turns true when `status.json` is final.
fn spawn_run(
    driven: impl std::future::Future<Output = ()> + Send + 'static,
    base: Arc<Mutex<WorkflowObject>>,
    (shared, artifacts): (Arc<Shared>, Arc<RunArtifacts>),
    run_dir: PathBuf,
) -> watch::Receiver<bool> {
    let (done_tx, done) = watch::channel(false);
    tokio::spawn(async move {
        use futures::FutureExt;
        let driven = std::panic::AssertUnwindSafe(driven);
        let persist = persist_while_running(&base, &shared, &run_dir);
        let outcome = tokio::select! {
            r = driven.catch_unwind() => r,
            () = persist => Ok(()),
        };
        if outcome.is_err() {
            tracing::error!("the engine task panicked");
            shared.update(|s| {
                s.status.phase = Phase::Error;
                s.status.message = Some("the engine task panicked".into());
                s.status.finished_at = Some(Utc::now());
            });
        }
        crate::artifacts::gc::on_completion(&artifacts, &shared).await;
        write_status(&snapshot(&base, &shared), &run_dir).await;
        let _ = done_tx.send(true);
    });
    done
}
