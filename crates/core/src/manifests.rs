//! The registry of workflow types: the built-in workflow packages and those of the package
//! directories, each with its schemas compiled once.

use crate::packages::{self, Package, PackageFiles, Problem, Problems, MANIFEST_FILE};
use crate::validate::{compile, field_errors};
use jsonschema::Validator;
use polyphemus_model::{FieldError, JobSpec, SecretName, WorkflowManifest, WorkflowType};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

/// The built-in workflow packages, embedded from `workflows/`.
const BUILTIN: &[PackageFiles] = &[
    PackageFiles::Embedded {
        dir: "sftp-to-storage",
        files: &[
            (
                MANIFEST_FILE,
                include_str!("../../../workflows/sftp-to-storage/manifest.yaml"),
            ),
            (
                "workflow.yaml",
                include_str!("../../../workflows/sftp-to-storage/workflow.yaml"),
            ),
        ],
    },
    PackageFiles::Embedded {
        dir: "ingestion",
        files: &[
            (
                MANIFEST_FILE,
                include_str!("../../../workflows/ingestion/manifest.yaml"),
            ),
            (
                "workflow.yaml",
                include_str!("../../../workflows/ingestion/workflow.yaml"),
            ),
        ],
    },
];

/// A package with its schemas compiled once.
pub struct Manifest {
    pub manifest: WorkflowManifest,
    /// The Argo workflow YAML the manifest runs.
    pub workflow_yaml: String,
    config_validator: Validator,
    runtime_validator: Validator,
    state_validator: Option<Validator>,
}

impl Manifest {
    /// Compiles the schemas of a package that passed its checks (which compiled them once).
    fn compiled(package: Package) -> Result<Self, String> {
        let manifest = package.manifest;
        Ok(Self {
            config_validator: compile(&manifest.config_schema)?,
            runtime_validator: compile(&manifest.runtime_params_schema)?,
            state_validator: manifest.state_schema.as_ref().map(compile).transpose()?,
            manifest,
            workflow_yaml: package.workflow_yaml,
        })
    }

    pub fn name(&self) -> &WorkflowType {
        &self.manifest.name
    }

    /// `sha256:` of the package's files.
    pub fn digest(&self) -> &str {
        &self.manifest.digest
    }

    pub fn secret_names(&self) -> Vec<&SecretName> {
        self.manifest.secret_names().collect()
    }

    pub fn takes_secret(&self, name: &SecretName) -> bool {
        self.manifest.secret_names().any(|own| own == name)
    }

    pub fn config_errors(&self, config: &Value) -> Vec<FieldError> {
        field_errors(&self.config_validator, config, "/config")
    }

    pub fn runtime_errors(&self, params: &Value) -> Vec<FieldError> {
        field_errors(&self.runtime_validator, params, "/config")
    }

    /// Errors of a state patch against the manifest's state schema, if it declares one.
    pub fn state_errors(&self, state: &Value) -> Vec<FieldError> {
        match &self.state_validator {
            Some(validator) => field_errors(validator, state, "/state"),
            None => Vec::new(),
        }
    }
}

/// All manifests, by name.
#[derive(Clone)]
pub struct Registry {
    manifests: Arc<BTreeMap<WorkflowType, Arc<Manifest>>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.manifests.keys()).finish()
    }
}

impl Registry {
    /// The built-in packages. Panics only if a built-in package is invalid, which a unit test
    /// rules out.
    pub fn builtin() -> Self {
        Self::load(&[], &[]).expect("the built-in workflow packages are valid")
    }

    /// The built-in packages, then those of each directory in turn; a package named like an
    /// earlier one replaces it (said once in the log). Nothing is loaded unless all are sound;
    /// job steps are checked against `jobs` (when given).
    pub fn load(dirs: &[PathBuf], jobs: &[JobSpec]) -> Result<Self, Problems> {
        let mut problems = Problems::default();
        let mut packages = Vec::new();
        for files in BUILTIN {
            match Package::load(files, jobs) {
                Ok(package) => packages.push(package),
                Err(more) => problems.extend(more),
            }
        }
        for dir in dirs {
            match packages::load_dir(dir, jobs) {
                Ok(more) => packages.extend(more),
                Err(more) => problems.extend(more),
            }
        }
        problems.into_result()?;
        let mut manifests = BTreeMap::new();
        for package in packages {
            let source = package.manifest.source.clone();
            let manifest = Manifest::compiled(package)
                .map_err(|why| Problems::one(Problem::new(PathBuf::from(&source), "", why)))?;
            if let Some(replaced) = manifests.insert(manifest.name().clone(), Arc::new(manifest)) {
                tracing::info!(
                    workflow_type = %replaced.name(),
                    replaced = %replaced.manifest.source,
                    by = %source,
                    "a workflow package replaces one of the same name"
                );
            }
        }
        Ok(Self {
            manifests: Arc::new(manifests),
        })
    }

    pub fn get(&self, name: &WorkflowType) -> Option<&Arc<Manifest>> {
        self.manifests.get(name)
    }

    pub fn all(&self) -> impl Iterator<Item = &Arc<Manifest>> {
        self.manifests.values()
    }

    pub fn names(&self) -> Vec<&str> {
        self.manifests.keys().map(WorkflowType::as_str).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_example_config_validates_against_its_schema() {
        let registry = Registry::builtin();
        assert!(!registry.names().is_empty());
        for manifest in registry.all() {
            let errors = manifest.config_errors(&manifest.manifest.example_config);
            assert!(errors.is_empty(), "{}: {errors:?}", manifest.name());
            assert!(manifest.runtime_errors(&json!({})).is_empty());
        }
    }

    #[test]
    fn sftp_config_lists_each_failing_field() {
        let registry = Registry::builtin();
        let name = WorkflowType::parse("sftp-to-storage").expect("valid name");
        let manifest = registry.get(&name).expect("built in");
        let errors = manifest.config_errors(&json!({"host": "h", "port": 0, "root": "relative"}));
        let pointers: Vec<&str> = errors.iter().map(|e| e.pointer.as_str()).collect();
        for expected in [
            "/config/port",
            "/config/root",
            "/config/username",
            "/config/bucket",
        ] {
            assert!(
                pointers.contains(&expected),
                "{expected} missing in {pointers:?}"
            );
        }
    }
}
