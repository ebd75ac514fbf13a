//! Workflow packages: a directory holding `manifest.yaml` and the Argo workflow it names. The
//! built-in packages are embedded from `workflows/`; more come from `--workflows-dir`. Loading a
//! package checks everything before use and reports every problem at once ([`check`]).

mod check;
mod files;
mod jobs;

pub use check::{Problem, Problems};
pub use files::PackageFiles;

use polyphemus_model::{JobSpec, SecretSpec, WorkflowManifest, WorkflowType};
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// The name of the file that makes a directory a workflow package.
pub const MANIFEST_FILE: &str = "manifest.yaml";

/// `manifest.yaml` as written by a package's author.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ManifestFile {
    name: String,
    description: String,
    workflow: String,
    config_schema: Value,
    #[serde(default)]
    runtime_params_schema: Option<Value>,
    #[serde(default)]
    state_schema: Option<Value>,
    #[serde(default)]
    secrets: Vec<SecretSpec>,
    example_config: Value,
}

/// A package that passed every check: its manifest and the workflow document it runs.
#[derive(Debug, Clone)]
pub struct Package {
    pub manifest: WorkflowManifest,
    pub workflow_yaml: String,
}

impl Package {
    pub fn name(&self) -> &WorkflowType {
        &self.manifest.name
    }

    /// Reads and checks one package against the jobs there are (none given: job steps are not
    /// checked); every problem found is returned, each naming its file.
    pub fn load(files: &PackageFiles, jobs: &[JobSpec]) -> Result<Package, Problems> {
        let manifest_text = files.read(MANIFEST_FILE).map_err(Problems::one)?;
        let raw: ManifestFile = serde_yaml::from_str(&manifest_text)
            .map_err(|error| Problems::one(Problem::yaml(files.path(MANIFEST_FILE), &error)))?;
        let mut problems = Problems::default();
        let name = check::name(files, &raw.name, &mut problems);
        let workflow_yaml = check::workflow(files, &raw.workflow, &mut problems);
        let runtime_params_schema = raw.runtime_params_schema.unwrap_or_else(
            || serde_json::json!({"type": "object", "additionalProperties": false}),
        );
        check::schemas(
            files,
            &raw.config_schema,
            &runtime_params_schema,
            raw.state_schema.as_ref(),
            &raw.example_config,
            &mut problems,
        );
        check::secrets(files, &raw.secrets, &mut problems);
        if let (Some(text), false) = (&workflow_yaml, jobs.is_empty()) {
            let workflow: Value = serde_yaml::from_str(text).unwrap_or(Value::Null);
            let found = jobs::check(files, &raw.workflow, &workflow, &raw.config_schema, jobs);
            problems.0.extend(found);
        }
        let (Some(name), Some(workflow_yaml)) = (name, workflow_yaml) else {
            return Err(problems);
        };
        problems.into_result()?;
        let digest = digest(&manifest_text, &raw.workflow, &workflow_yaml);
        Ok(Package {
            manifest: WorkflowManifest {
                name,
                description: raw.description,
                config_schema: raw.config_schema,
                runtime_params_schema,
                state_schema: raw.state_schema,
                secrets: raw.secrets,
                workflow_file: raw.workflow,
                example_config: raw.example_config,
                source: files.source(),
                digest,
            },
            workflow_yaml,
        })
    }
}

/// The packages of one directory: each subdirectory holding a `manifest.yaml`, by name; or
/// the directory itself when it holds one.
pub fn load_dir(dir: &Path, jobs: &[JobSpec]) -> Result<Vec<Package>, Problems> {
    if dir.join(MANIFEST_FILE).is_file() {
        let files = PackageFiles::Dir(dir.to_path_buf());
        return Package::load(&files, jobs).map(|package| vec![package]);
    }
    let entries = std::fs::read_dir(dir)
        .map_err(|error| Problems::one(Problem::io(dir.to_path_buf(), &error)))?;
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.join(MANIFEST_FILE).is_file())
        .collect();
    dirs.sort();
    let mut packages = Vec::new();
    let mut problems = Problems::default();
    for path in dirs {
        match Package::load(&PackageFiles::Dir(path), jobs) {
            Ok(package) => packages.push(package),
            Err(more) => problems.extend(more),
        }
    }
    problems.into_result().map(|()| packages)
}

/// `sha256:` over the manifest and the workflow file, each with its name, so a change to
/// either changes the digest.
fn digest(manifest_text: &str, workflow_file: &str, workflow_yaml: &str) -> String {
    let mut hasher = Sha256::new();
    for (name, text) in [
        (MANIFEST_FILE, manifest_text),
        (workflow_file, workflow_yaml),
    ] {
        hasher.update(name.as_bytes());
        hasher.update([0]);
        hasher.update(text.as_bytes());
        hasher.update([0]);
    }
    format!("sha256:{}", hex::encode(hasher.finalize()))
}

#[cfg(test)]
mod tests;
