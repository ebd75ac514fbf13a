//! The public engine API: `Engine::submit`/`run` a workflow, and the `RunHandle` to observe
//! it (status snapshots, change notifications, logs), stop or terminate it, and wait for it.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use tokio::sync::{watch, Semaphore};

use crate::driver::{drive, persist_while_running, snapshot, write_status};
use crate::error::EngineError;
use crate::exec::process::{private_tmp_available, Isolation};
use crate::exec::{Call, RunCtx};
use crate::library::{Origin, Resolver, TemplateLibrary};
use crate::model::{Workflow, WorkflowSpec};
use crate::state::Shared;
use crate::status::{Phase, WorkflowObject};
use crate::template::Scope;

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
}

fn random_suffix(uid: &uuid::Uuid) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    uid.as_bytes()[..5]
        .iter()
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect()
}

/// Merges `spec.workflowTemplateRef` into the workflow's own spec.
fn effective_spec(wf: &Workflow, library: &TemplateLibrary) -> Result<WorkflowSpec, EngineError> {
    let Some(r) = &wf.spec.workflow_template_ref else {
        return Ok(wf.spec.clone());
    };
    let base = library
        .get(&r.name)
        .ok_or_else(|| EngineError::UnknownTemplate(format!("WorkflowTemplate {}", r.name)))?;
    let mut spec = base.spec.clone();
    let own = &wf.spec;
    spec.templates.extend(own.templates.iter().cloned());
    if own.entrypoint.is_some() {
        spec.entrypoint = own.entrypoint.clone();
    }
    if own.on_exit.is_some() {
        spec.on_exit = own.on_exit.clone();
    }
    if let Some(args) = &own.arguments {
        let merged = spec.arguments.get_or_insert_with(Default::default);
        for p in &args.parameters {
            merged.parameters.retain(|x| x.name != p.name);
            merged.parameters.push(p.clone());
        }
    }
    spec.parallelism = own.parallelism.or(spec.parallelism);
    spec.active_deadline_seconds = own.active_deadline_seconds.or(spec.active_deadline_seconds);
    spec.workflow_template_ref = None;
    Ok(spec)
}

/// Resolves workflow parameters: declared values overridden by `params`; all must have a value.
fn workflow_params(
    spec: &mut WorkflowSpec,
    params: &[(String, String)],
) -> Result<Vec<(String, String)>, EngineError> {
    let args = spec.arguments.get_or_insert_with(Default::default);
    for (k, v) in params {
        match args.parameters.iter_mut().find(|p| &p.name == k) {
            Some(p) => p.value = Some(v.clone()),
            None => args.parameters.push(crate::model::Parameter {
                name: k.clone(),
                value: Some(v.clone()),
                ..Default::default()
            }),
        }
    }
    let mut out = Vec::new();
    for p in &args.parameters {
        let value = p
            .value
            .clone()
            .or_else(|| p.default.clone())
            .or_else(|| p.value_from.as_ref().and_then(|v| v.default.clone()))
            .ok_or_else(|| EngineError::MissingParameter(p.name.clone()))?;
        if let Some(allowed) = &p.r#enum {
            if !allowed.contains(&value) {
                return Err(EngineError::Invalid(format!(
                    "spec.arguments.parameters.{}: value `{value}` is not one of {allowed:?}",
                    p.name
                )));
            }
        }
        out.push((p.name.clone(), value));
    }
    Ok(out)
}

impl Engine {
    pub fn new(opts: EngineOptions) -> Self {
        Self { opts }
    }

    pub fn options(&self) -> &EngineOptions {
        &self.opts
    }

    /// Whether this engine's nodes get a private `/tmp` (isolation on and available here).
    pub fn private_tmp(&self) -> bool {
        self.opts.isolation == Isolation::Auto && private_tmp_available()
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
        let mut spec = effective_spec(&wf, library)?;
        let args = workflow_params(&mut spec, &params)?;
        let entry = spec
            .entrypoint
            .clone()
            .ok_or_else(|| EngineError::Invalid("spec.entrypoint is required".into()))?;
        let exit = spec
            .on_exit
            .clone()
            .map(|t| (Some(t), None, None))
            .or_else(|| {
                let h = spec.hooks.as_ref()?.get("exit")?;
                Some((
                    h.template.clone(),
                    h.template_ref.clone(),
                    h.arguments.clone(),
                ))
            });
        let spec = Arc::new(spec);
        let resolver = Resolver::new(spec.clone(), Arc::new(library.clone()));
        let mut roots = vec![entry.clone()];
        roots.extend(exit.as_ref().and_then(|e| e.0.clone()));
        resolver.check_references(&roots)?;
        let entry_t = resolver.by_name(&Origin::Workflow, &entry)?;
        for p in entry_t
            .template
            .inputs
            .iter()
            .flat_map(|i| i.parameters.iter())
        {
            if p.value.is_none() && p.default.is_none() && !args.iter().any(|(n, _)| n == &p.name) {
                return Err(EngineError::MissingParameter(p.name.clone()));
            }
        }
        let exit_resolved = match &exit {
            Some((t, r, _)) => {
                Some(resolver.resolve(t.as_deref(), r.as_ref(), &Origin::Workflow)?)
            }
            None => None,
        };

        let uid = options.uid.unwrap_or_else(uuid::Uuid::new_v4);
        // A WorkflowTemplate submitted directly runs as `<its name>-xxxxx` (argo submit --from).
        let from_template = wf.kind.ends_with("WorkflowTemplate");
        let generate = match (&wf.metadata.generate_name, &wf.metadata.name) {
            (Some(g), _) => Some(g.clone()),
            (None, Some(n)) if from_template => Some(format!("{n}-")),
            _ => None,
        };
        let fixed = wf.metadata.name.clone().filter(|_| !from_template);
        let name = match (&fixed, &generate) {
            (Some(n), _) => n.clone(),
            (None, Some(g)) => format!("{g}{}", random_suffix(&uid)),
            (None, None) => {
                return Err(EngineError::Invalid(
                    "metadata.name or metadata.generateName is required".into(),
                ))
            }
        };
        let uid = uid.to_string();
        let run_dir = self.opts.work_dir.join(&name);
        std::fs::create_dir_all(&run_dir).map_err(|e| EngineError::io(&run_dir, e))?;
        // Children run in their node directories: every path handed to them must be absolute.
        let run_dir = std::path::absolute(&run_dir).map_err(|e| EngineError::io(&run_dir, e))?;
        for sub in ["work", "tmp", "logs", "scripts"] {
            let d = run_dir.join(sub);
            std::fs::create_dir_all(&d).map_err(|e| EngineError::io(&d, e))?;
        }
        let private_tmp = self.private_tmp();

        let now = Utc::now();
        let mut globals = Scope::new();
        globals.set("workflow.name", name.clone());
        globals.set("workflow.uid", uid.clone());
        globals.set("workflow.namespace", self.opts.namespace.clone());
        globals.set("workflow.mainEntrypoint", entry.clone());
        globals.set("workflow.creationTimestamp", crate::status::fmt_time(&now));
        globals.set("workflow.status", "Running");
        // Argo: `workflow.parameters.json` is the JSON list of `{name, value}` parameters.
        let mut all = Vec::new();
        for (k, v) in &args {
            globals.set(format!("workflow.parameters.{k}"), v.clone());
            all.push(serde_json::json!({"name": k, "value": v}));
        }
        globals.set(
            "workflow.parameters.json",
            serde_json::Value::Array(all).to_string(),
        );

        let shared = Shared::new();
        let mut metadata = wf.metadata.clone();
        metadata.name = Some(name.clone());
        metadata.generate_name = generate;
        metadata.uid = Some(uid.clone());
        metadata.namespace = Some(self.opts.namespace.clone());
        metadata.creation_timestamp = Some(crate::status::fmt_time(&now));
        let base = Arc::new(Mutex::new(WorkflowObject {
            api_version: "argoproj.io/v1alpha1".into(),
            kind: "Workflow".into(),
            metadata,
            spec: (*spec).clone(),
            status: Default::default(),
        }));
        shared.update(|s| {
            s.status.phase = Phase::Running;
            s.status.started_at = Some(now);
        });
        let ctx = Arc::new(RunCtx {
            wf_name: name.clone(),
            resolver,
            shared: shared.clone(),
            run_dir: run_dir.clone(),
            private_tmp,
            pod_limit: spec
                .parallelism
                .and_then(|p| usize::try_from(p).ok())
                .filter(|p| *p > 0)
                .into_iter()
                .chain(self.opts.max_pods.filter(|m| *m > 0))
                .min()
                .map(|p| Arc::new(Semaphore::new(p))),
            globals: Mutex::new(globals),
            env: self.opts.env.iter().chain(&options.env).cloned().collect(),
        });
        let (stop, stop_rx) = watch::channel(StopMode::None);
        let main = Call {
            name: name.clone(),
            display: name.clone(),
            resolved: entry_t,
            args,
            boundary: None,
        };
        let deadline = spec
            .active_deadline_seconds
            .and_then(|s| u64::try_from(s).ok())
            .map(Duration::from_secs);
        let exit = exit.zip(exit_resolved).map(|((_, _, a), r)| (a, r));
        let base_for_task = base.clone();
        let handle_dir = run_dir.clone();
        let shared_handle = shared.clone();
        let (done_tx, done) = watch::channel(false);
        tokio::spawn(async move {
            use futures::FutureExt;
            let driven = std::panic::AssertUnwindSafe(drive(ctx, main, deadline, exit, stop_rx));
            let persist = persist_while_running(&base_for_task, &shared, &run_dir);
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
            write_status(&snapshot(&base_for_task, &shared), &run_dir).await;
            let _ = done_tx.send(true);
        });
        Ok(RunHandle {
            name,
            uid,
            shared: shared_handle,
            base,
            stop: Arc::new(stop),
            done,
            run_dir: handle_dir,
        })
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
