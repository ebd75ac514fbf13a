//! The loaded workflow packages. A reload (SIGHUP, `POST /workflows/reload`) swaps the whole
//! registry at once, or keeps the old one when the new set has any problem. Each config version
//! records the digest of the package it was validated against; one validated against another
//! digest is checked again before it is launched, and listed when the current schema refuses it.

use super::Services;
use crate::manifests::Manifest;
use crate::packages::Problems;
use crate::{CoreError, Principal, Registry};
use polyphemus_model::{
    BrokenConfig, Config, FieldError, PackageChange, ReloadedWorkflow, WorkflowDetail,
    WorkflowType, WorkflowsReloaded,
};
use polyphemus_store::{ConfigRecord, NewEvent};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::{Arc, PoisonError, RwLock};

/// The registry in use and where a reload reads packages from.
#[derive(Debug)]
pub(crate) struct LoadedWorkflows {
    current: RwLock<Registry>,
    dirs: Vec<PathBuf>,
    /// One reload at a time, so each report compares against the set it replaced.
    reloading: tokio::sync::Mutex<()>,
}

impl LoadedWorkflows {
    pub(crate) fn new(registry: Registry, dirs: Vec<PathBuf>) -> Self {
        Self {
            current: RwLock::new(registry),
            dirs,
            reloading: tokio::sync::Mutex::new(()),
        }
    }

    fn get(&self) -> Registry {
        // A registry is replaced whole, so a poisoned lock still holds a sound one.
        let current = self.current.read().unwrap_or_else(PoisonError::into_inner);
        current.clone()
    }

    fn replace(&self, registry: Registry) {
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = registry;
    }
}

impl Services {
    /// The workflow packages in use now: a snapshot, unaffected by a later reload.
    pub fn registry(&self) -> Registry {
        self.workflows.get()
    }

    /// Where a reload re-reads packages from (the `--workflows-dir` directories).
    pub fn with_package_dirs(mut self, dirs: Vec<PathBuf>) -> Self {
        self.workflows = Arc::new(LoadedWorkflows::new(self.registry(), dirs));
        self
    }

    /// Re-reads the package directories (global admins only). A set with any problem is
    /// refused with every problem, and the packages in use stay.
    pub async fn reload_workflows(
        &self,
        principal: &Principal,
    ) -> Result<WorkflowsReloaded, CoreError> {
        principal.require_global_admin()?;
        let _one_at_a_time = self.workflows.reloading.lock().await;
        let dirs = self.workflows.dirs.clone();
        let jobs = self.jobs().to_vec();
        let loaded = tokio::task::spawn_blocking(move || Registry::load(&dirs, &jobs))
            .await
            .map_err(|error| CoreError::Internal(format!("loading packages: {error}")))?;
        let new = loaded.map_err(|problems| {
            tracing::warn!(%problems, "workflow packages not reloaded; the loaded ones stay");
            refused(problems)
        })?;
        let old = self.registry();
        let mut workflows = Vec::new();
        for manifest in new.all() {
            let change = match old.get(manifest.name()) {
                None => PackageChange::Added,
                Some(before) if before.digest() == manifest.digest() => PackageChange::Unchanged,
                Some(_) => PackageChange::Changed,
            };
            let broken = self.broken_configs(manifest).await?.len();
            if broken > 0 {
                tracing::warn!(workflow_type = %manifest.name(), broken, "configs no longer match their package's config schema");
            }
            workflows.push(ReloadedWorkflow {
                name: manifest.name().clone(),
                source: manifest.manifest.source.clone(),
                digest: manifest.digest().to_owned(),
                change,
                broken_configs: broken,
            });
        }
        let removed: Vec<WorkflowType> = old
            .all()
            .map(|manifest| manifest.name().clone())
            .filter(|name| new.get(name).is_none())
            .collect();
        self.workflows.replace(new);
        tracing::info!(actor = %principal.actor(), ?removed, "workflow packages reloaded");
        Ok(WorkflowsReloaded { workflows, removed })
    }

    /// One workflow type with the configs its current schema refuses, among the projects the
    /// caller can see.
    pub async fn workflow_detail(
        &self,
        principal: &Principal,
        name: &WorkflowType,
    ) -> Result<WorkflowDetail, CoreError> {
        let manifest = self
            .registry()
            .get(name)
            .cloned()
            .ok_or_else(|| CoreError::not_found(format!("workflow {name}")))?;
        let broken_configs = self
            .broken_configs(&manifest)
            .await?
            .into_iter()
            .filter(|broken| principal.access(&broken.project_name).role().is_some())
            .collect();
        Ok(WorkflowDetail {
            manifest: manifest.manifest.clone(),
            broken_configs,
        })
    }

    /// The latest versions, in every project, that the manifest's config schema refuses. Only
    /// versions validated against another package digest can be refused, so only those are read.
    async fn broken_configs(&self, manifest: &Manifest) -> Result<Vec<BrokenConfig>, CoreError> {
        let records = self
            .store
            .latest_configs_not_validated_against(manifest.name(), manifest.digest())
            .await?;
        Ok(records
            .into_iter()
            .filter_map(|record| {
                let errors = manifest.config_errors(&record.config);
                (!errors.is_empty()).then_some(BrokenConfig {
                    project_name: record.project_name,
                    config_id: record.config_id,
                    version_number: record.version_number,
                    workflow_name: record.workflow_name,
                    package_digest: record.package_digest,
                    errors,
                })
            })
            .collect())
    }

    /// The manifest to launch a config version with, or 422 naming every field when the
    /// package changed since the version was validated and its schema now refuses it.
    pub(crate) fn launchable(&self, record: &ConfigRecord) -> Result<Arc<Manifest>, CoreError> {
        let manifest = self.manifest(&record.workflow_type)?;
        let errors = refused_fields(&manifest, record.package_digest.as_deref(), &record.config);
        if errors.is_empty() {
            return Ok(manifest);
        }
        Err(CoreError::Unprocessable {
            detail: format!(
                "{} no longer matches the config schema of workflow {} (its package changed \
                 to {}): change the config to launch it",
                record.version(),
                manifest.name(),
                manifest.digest()
            ),
            errors,
        })
    }

    /// What the current package's config schema says of a config version validated against
    /// another package (empty when it still matches, or its type is gone): for the UI.
    pub fn refused_by_package(&self, config: &Config) -> Vec<FieldError> {
        match self.registry().get(&config.workflow_type) {
            Some(manifest) => {
                refused_fields(manifest, config.package_digest.as_deref(), &config.config)
            }
            None => Vec::new(),
        }
    }
}

/// A version validated against this very package matches it; any other is checked again.
fn refused_fields(manifest: &Manifest, digest: Option<&str>, config: &Value) -> Vec<FieldError> {
    if digest == Some(manifest.digest()) {
        return Vec::new();
    }
    manifest.config_errors(config)
}

/// The event of a launch refused because the config no longer matches its package.
pub(crate) fn refusal_event(actor: &str, record: &ConfigRecord, error: &CoreError) -> NewEvent {
    let mut event = NewEvent::new(
        &record.project_name,
        actor,
        "run.refused",
        json!({ "error": error.to_string(), "errors": error.field_errors() }),
    );
    event.config_id = Some(record.config_id);
    event.version_number = Some(record.version_number);
    event
}

fn refused(problems: Problems) -> CoreError {
    CoreError::Unprocessable {
        detail: format!(
            "the workflow packages were not reloaded ({} problem(s)); the loaded ones stay",
            problems.0.len()
        ),
        errors: problems
            .0
            .into_iter()
            .map(|problem| FieldError {
                pointer: format!("{}#{}", problem.file.display(), problem.location),
                message: problem.message,
            })
            .collect(),
    }
}
