//! Kubernetes volumes and object references of one run, mapped onto one machine: a
//! `persistentVolumeClaim` is `<volumes root>/<scope>/<claimName>` (it survives runs; the scope
//! is the project), a `volumeClaimTemplates` claim is `<workflow name>-<name>` there (deleted per
//! `volumeClaimGC`), an `emptyDir` is a directory of the pod (node) removed when it ends, and a
//! `secret`/`configMap` volume is a read-only directory of one file per key. Each is
//! bind-mounted at its `mountPath` inside the node's sandbox. Env `valueFrom`/`envFrom` read
//! the same objects.

pub(crate) mod decl;
mod env;
mod env_decl;
mod files;
pub(crate) mod mount_points;

use std::path::{Path, PathBuf};

use crate::error::EngineError;
use crate::exec::sandbox::{Bind, StepUser};
use crate::k8s_objects::K8sObjects;
use crate::model::{Container, Template, WorkflowSpec};
use crate::status::Phase;
use decl::{ClaimGcStrategy, Source, VolumeMount};

pub(crate) use env::check_params;

/// The volumes and objects of one run.
#[derive(Debug)]
pub(crate) struct RunK8s {
    pub objects: K8sObjects,
    spec_volumes: Vec<(String, Source)>,
    claim_templates: Vec<String>,
    claim_gc: ClaimGcStrategy,
    /// `<volumes root>/<scope>`: the claims of this run's project.
    claims_dir: PathBuf,
    wf_name: String,
    run_dir: PathBuf,
    step_user: Option<StepUser>,
}

/// Where one run's claims live and who writes them.
pub(crate) struct Placement<'a> {
    pub claims_dir: PathBuf,
    pub wf_name: &'a str,
    pub run_dir: &'a Path,
    pub step_user: Option<StepUser>,
}

/// The container of a pod template (a script's too).
pub(crate) fn container_of(t: &Template) -> Option<&Container> {
    t.container
        .as_ref()
        .or(t.script.as_ref().map(|s| &s.container))
}

impl RunK8s {
    pub fn new(
        spec: &WorkflowSpec,
        objects: K8sObjects,
        at: Placement<'_>,
    ) -> Result<Self, EngineError> {
        Ok(Self {
            objects,
            spec_volumes: decl::volumes("spec", &spec.extra)?,
            claim_templates: decl::claim_templates(&spec.extra)?,
            claim_gc: decl::claim_gc(&spec.extra)?,
            claims_dir: at.claims_dir,
            wf_name: at.wf_name.to_owned(),
            run_dir: at.run_dir.to_path_buf(),
            step_user: at.step_user,
        })
    }

    /// The volume `name` as a template sees it: its own `volumes`, the workflow's, then the
    /// claims of `volumeClaimTemplates`.
    fn lookup(&self, t: &Template, name: &str) -> Result<Source, EngineError> {
        let here = format!("spec.templates[{}]", t.name);
        let own = decl::volumes(&here, &t.extra)?;
        if let Some((_, s)) = own.into_iter().find(|(n, _)| n == name) {
            return Ok(s);
        }
        if let Some((_, s)) = self.spec_volumes.iter().find(|(n, _)| n == name) {
            return Ok(s.clone());
        }
        if self.claim_templates.iter().any(|n| n == name) {
            return Ok(Source::Claim {
                claim: format!("{}-{name}", self.wf_name),
                read_only: false,
            });
        }
        Err(EngineError::Invalid(format!(
            "{here}: volumeMounts[{name}]: no volume `{name}` in the template's volumes, spec.volumes or spec.volumeClaimTemplates"
        )))
    }

    /// Checks, before anything runs, that every mount of `t` names a volume, that the objects
    /// its volumes and env read exist (unless optional), and that there is a sandbox to mount
    /// them in. `given`: variables the engine itself sets (they stand in for a missing object).
    pub fn check_template(
        &self,
        t: &Template,
        sandboxed: bool,
        given: &[(String, String)],
    ) -> Result<(), EngineError> {
        let Some(c) = container_of(t) else {
            return Ok(());
        };
        let here = format!("spec.templates[{}]", t.name);
        let mounts = decl::mounts(&format!("{here}.container"), &c.extra)?;
        for m in &mounts {
            let source = self.lookup(t, &m.name)?;
            files::check_source(&self.objects, &source, m)?;
        }
        env::check(&self.objects, &here, c, given)?;
        if !mounts.is_empty() && !sandboxed {
            return Err(EngineError::unsupported(
                format!("{here}.container.volumeMounts"),
                "mounting a volume needs the step sandbox (root or user namespaces), which this host does not offer",
            ));
        }
        Ok(())
    }

    /// Host directories for `t`'s mounts in node `node_id` (created as needed), with where
    /// each is mounted.
    pub fn binds(&self, node_id: &str, t: &Template) -> Result<Vec<Bind>, EngineError> {
        let Some(c) = container_of(t) else {
            return Ok(Vec::new());
        };
        let here = format!("spec.templates[{}].container", t.name);
        let mut out = Vec::new();
        for m in decl::mounts(&here, &c.extra)? {
            let source = self.lookup(t, &m.name)?;
            out.push(self.bind(node_id, &source, &m)?);
        }
        Ok(out)
    }

    fn bind(&self, node_id: &str, source: &Source, m: &VolumeMount) -> Result<Bind, EngineError> {
        let node_dir = self.run_dir.join("volumes").join(node_id);
        files::private_dir(&node_dir)?;
        let (base, read_only) = match source {
            Source::Claim { claim, read_only } => (self.claims_dir.join(claim), *read_only),
            Source::EmptyDir => (node_dir.join(&m.name), false),
            Source::Secret(o) | Source::ConfigMap(o) => {
                let dir = node_dir.join(&m.name);
                files::write_object(&self.objects, (source, o), &dir, self.step_user.as_ref())?;
                (dir, true)
            }
        };
        files::ensure_dir(&base, self.writer(read_only))?;
        let host = match &m.sub_path {
            Some(sub) => {
                let dir = base.join(sub);
                files::ensure_dir(&dir, self.writer(read_only))?;
                dir
            }
            None => base,
        };
        Ok(Bind {
            host,
            target: PathBuf::from(&m.mount_path),
            read_only: read_only || m.read_only,
        })
    }

    /// Who must be able to write a directory the engine creates for a volume.
    fn writer(&self, read_only: bool) -> Option<&StepUser> {
        self.step_user.as_ref().filter(|_| !read_only)
    }

    /// The environment `c` adds: `envFrom` then `env` (a later one wins), `valueFrom` read
    /// from the objects; `given` is what the engine sets.
    pub fn env(
        &self,
        c: &Container,
        given: &[(String, String)],
    ) -> Result<Vec<(String, String)>, EngineError> {
        env::resolve(&self.objects, c, given)
    }

    /// Removes node `node_id`'s emptyDirs and object files when dropped (its pod ended, or
    /// was killed by a deadline or stop).
    pub fn pod_volumes<'a>(&'a self, node_id: &'a str) -> PodVolumes<'a> {
        PodVolumes { run: self, node_id }
    }

    fn node_done(&self, node_id: &str) {
        let dir = self.run_dir.join("volumes").join(node_id);
        if dir.exists() {
            if let Err(error) = std::fs::remove_dir_all(&dir) {
                tracing::warn!(dir = %dir.display(), %error, "cannot remove a pod's volumes");
            }
        }
    }

    /// The run ended with `phase`: its `volumeClaimTemplates` claims are deleted per
    /// `volumeClaimGC` (Argo's default: when it succeeded).
    pub fn run_done(&self, phase: Phase) {
        let delete = match self.claim_gc {
            ClaimGcStrategy::OnWorkflowSuccess => phase == Phase::Succeeded,
            ClaimGcStrategy::OnWorkflowCompletion => true,
        };
        if !delete {
            return;
        }
        for name in &self.claim_templates {
            let dir = self.claims_dir.join(format!("{}-{name}", self.wf_name));
            if dir.exists() {
                if let Err(error) = std::fs::remove_dir_all(&dir) {
                    tracing::warn!(dir = %dir.display(), %error, "cannot delete a claim");
                }
            }
        }
    }
}

/// See [`RunK8s::pod_volumes`].
pub(crate) struct PodVolumes<'a> {
    run: &'a RunK8s,
    node_id: &'a str,
}

impl Drop for PodVolumes<'_> {
    fn drop(&mut self) {
        self.run.node_done(self.node_id);
    }
}
