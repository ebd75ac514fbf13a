//! The registry of workflow manifests: the workflow types Polyphemus knows, defined in code.

use crate::validate::{compile, field_errors};
use jsonschema::Validator;
use polyphemus_model::{FieldError, SecretName, WorkflowManifest, WorkflowType};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

/// A manifest with its schemas compiled once.
pub struct Manifest {
    pub manifest: WorkflowManifest,
    /// The Argo workflow YAML the manifest runs.
    pub workflow_yaml: &'static str,
    config_validator: Validator,
    runtime_validator: Validator,
    state_validator: Option<Validator>,
}

impl Manifest {
    pub fn name(&self) -> &WorkflowType {
        &self.manifest.name
    }

    pub fn secret_names(&self) -> &[SecretName] {
        &self.manifest.secrets
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
    manifests: Arc<BTreeMap<WorkflowType, Manifest>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.manifests.keys()).finish()
    }
}

impl Registry {
    /// The built-in manifests. Panics only if a built-in schema is invalid, which a unit test
    /// rules out.
    pub fn builtin() -> Self {
        let mut manifests = BTreeMap::new();
        let builtins: Vec<(WorkflowManifest, &'static str)> = vec![sftp_to_storage()];
        for (manifest, yaml) in builtins {
            let compiled = Manifest {
                config_validator: compile(&manifest.config_schema)
                    .expect("built-in config schema compiles"),
                runtime_validator: compile(&manifest.runtime_params_schema)
                    .expect("built-in runtime schema compiles"),
                state_validator: manifest
                    .state_schema
                    .as_ref()
                    .map(|schema| compile(schema).expect("built-in state schema compiles")),
                manifest,
                workflow_yaml: yaml,
            };
            manifests.insert(compiled.manifest.name.clone(), compiled);
        }
        Self {
            manifests: Arc::new(manifests),
        }
    }

    pub fn get(&self, name: &WorkflowType) -> Option<&Manifest> {
        self.manifests.get(name)
    }

    pub fn all(&self) -> impl Iterator<Item = &Manifest> {
        self.manifests.values()
    }

    pub fn names(&self) -> Vec<&str> {
        self.manifests.keys().map(WorkflowType::as_str).collect()
    }
}

/// A name written in this file; a unit test (every built-in compiles) rules out a bad one.
fn builtin_name<T>(parsed: Result<T, polyphemus_model::InvalidValue>) -> T {
    parsed.expect("built-in names are valid")
}

fn sftp_to_storage() -> (WorkflowManifest, &'static str) {
    let manifest = WorkflowManifest {
        name: builtin_name(WorkflowType::parse("sftp-to-storage")),
        description: "Finds new files on an SFTP server, copies them to object storage and \
                      notifies a webhook."
            .to_owned(),
        config_schema: json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": "SFTP to object storage",
            "type": "object",
            "additionalProperties": false,
            "required": ["host", "username", "host_key_fingerprint", "root", "bucket"],
            "properties": {
                "host": {"type": "string", "title": "SFTP host", "minLength": 1, "maxLength": 253,
                         "description": "Host name or IP address of the SFTP server"},
                "port": {"type": "integer", "title": "Port", "minimum": 1, "maximum": 65535, "default": 22},
                "username": {"type": "string", "title": "User name", "minLength": 1},
                "host_key_fingerprint": {"type": "string", "title": "Host key fingerprint",
                         "pattern": "^SHA256:[A-Za-z0-9+/]{43}=?$",
                         "description": "OpenSSH SHA256 fingerprint of the server's host key (ssh-keyscan -p PORT HOST | ssh-keygen -lf -); the connection is refused on mismatch"},
                "root": {"type": "string", "title": "Root path", "pattern": "^/",
                         "description": "Absolute directory to scan"},
                "recursive": {"type": "boolean", "title": "Scan subdirectories", "default": true},
                "file_regex": {"type": "string", "title": "File name pattern", "format": "regex", "default": ".*",
                         "description": "Regular expression a file's path below the root must match"},
                "min_age_s": {"type": "integer", "title": "Minimum file age (seconds)", "minimum": 0, "default": 300,
                         "description": "Files modified more recently are skipped as still being written"},
                "storage_url": {"type": "string", "title": "Object storage endpoint", "pattern": "^(https?://|file:///|$)",
                         "description": "S3-compatible endpoint (https://…), a local directory (file:///…), or empty for AWS S3"},
                "bucket": {"type": "string", "title": "Destination bucket", "minLength": 3, "maxLength": 63},
                "prefix": {"type": "string", "title": "Destination prefix", "default": ""},
                "region": {"type": "string", "title": "Region", "default": "us-east-1"},
                "storage_access_key_id": {"type": "string", "title": "Storage access key id"},
                "webhook_url": {"type": "string", "title": "Webhook URL", "format": "uri",
                         "description": "Receives a JSON summary after each run; optional"}
            }
        }),
        runtime_params_schema: json!({
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "max_files": {"type": "integer", "title": "At most this many files per run", "minimum": 1, "maximum": 2000,
                              "description": "The oldest first; the rest wait for the next run (at most 2000)"},
                "dry_run": {"type": "boolean", "title": "List files without copying", "default": false}
            }
        }),
        // What this workflow's jobs keep in a run's state. Checked key by key on every merge,
        // so it lists properties and forbids no others (a merge carries only some keys).
        state_schema: Some(json!({
            "type": "object",
            "properties": {
                "files": {"type": "object", "description": "Files found by sftp_discover: path -> {size, mtime}",
                          "additionalProperties": {"type": "object", "required": ["size", "mtime"],
                              "properties": {"size": {"type": "integer", "minimum": 0}, "mtime": {"type": "integer"}}}},
                "copied": {"type": "object", "description": "Files copied by copy_to_storage: path -> {key, size, sha256, mtime}",
                           "additionalProperties": {"type": "object", "required": ["key", "size", "sha256"],
                               "properties": {"key": {"type": "string"}, "size": {"type": "integer", "minimum": 0},
                                              "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                                              "mtime": {"type": "integer"}}}},
                "scan": {"type": "object", "description": "What sftp_discover listed, selected and skipped"},
                "destination": {"type": "string", "description": "Where copy_to_storage put the files"},
                "bytes_copied": {"type": "integer", "minimum": 0},
                "failures": {"type": "array", "items": {"type": "object", "required": ["path", "error"]}},
                "last_scan_at": {"type": "string", "format": "date-time"},
                "notification": {"type": "object"}
            }
        })),
        secrets: ["password", "private_key", "storage_secret_key"]
            .into_iter()
            .map(|name| builtin_name(SecretName::parse(name)))
            .collect(),
        workflow_file: "workflows/sftp-to-storage.yaml".to_owned(),
        example_config: json!({
            "host": "sftp.example.org",
            "port": 22,
            "username": "ingest",
            "host_key_fingerprint": "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU",
            "root": "/incoming",
            "file_regex": "\\.fastq\\.gz$",
            "bucket": "sequencing-raw",
            "prefix": "cat/"
        }),
    };
    (
        manifest,
        include_str!("../../../workflows/sftp-to-storage.yaml"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

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
