//! The Kubernetes Secrets and ConfigMaps a local run can read (`--k8s-objects DIR`): loaded
//! from YAML files, looked up by name and key for `secretKeyRef`, `configMapKeyRef`, `envFrom`,
//! `secret`/`configMap` volumes and semaphore sizes.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use base64::Engine as _;
use serde::Deserialize;

use crate::error::EngineError;

/// The keys of one Secret or ConfigMap, with their bytes.
pub type ObjectData = BTreeMap<String, Vec<u8>>;

/// Secrets and ConfigMaps by name (one namespace: the engine's).
#[derive(Clone, Default)]
pub struct K8sObjects {
    secrets: HashMap<String, ObjectData>,
    config_maps: HashMap<String, ObjectData>,
}

/// Names only: secret values never reach a log.
impl std::fmt::Debug for K8sObjects {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("K8sObjects")
            .field("secrets", &self.secrets.keys().collect::<Vec<_>>())
            .field("config_maps", &self.config_maps.keys().collect::<Vec<_>>())
            .finish()
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Document {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    metadata: Metadata,
    #[serde(default)]
    data: BTreeMap<String, String>,
    #[serde(default)]
    string_data: BTreeMap<String, String>,
    #[serde(default)]
    binary_data: BTreeMap<String, String>,
}

#[derive(Deserialize, Default)]
struct Metadata {
    #[serde(default)]
    name: String,
}

fn decode(file: &Path, object: &str, key: &str, text: &str) -> Result<Vec<u8>, EngineError> {
    // Kubernetes accepts base64 with line breaks (as `base64` prints it).
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(compact)
        .map_err(|e| {
            EngineError::Invalid(format!(
                "{}: {object}: key `{key}` is not base64: {e}",
                file.display()
            ))
        })
}

impl K8sObjects {
    pub fn new() -> Self {
        Self::default()
    }

    /// Every `*.yaml`/`*.yml` file of `dir` (multi-document files too); documents of kind
    /// Secret (`data` base64, `stringData`) and ConfigMap (`data`, `binaryData` base64) are
    /// kept by `metadata.name`, others skipped. Errors name the file.
    pub fn load_dir(dir: impl AsRef<Path>) -> Result<Self, EngineError> {
        let dir = dir.as_ref();
        let entries = std::fs::read_dir(dir).map_err(|e| EngineError::io(dir, e))?;
        let mut paths: Vec<_> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")))
            .collect();
        paths.sort();
        let mut objects = Self::new();
        for path in paths {
            let text = std::fs::read_to_string(&path).map_err(|e| EngineError::io(&path, e))?;
            objects.load_text(&path, &text)?;
        }
        Ok(objects)
    }

    /// The Secrets and ConfigMaps of one YAML text read from `file`.
    pub fn load_text(&mut self, file: &Path, text: &str) -> Result<(), EngineError> {
        for document in serde_yaml::Deserializer::from_str(text) {
            let value = serde_yaml::Value::deserialize(document)
                .map_err(|e| EngineError::Yaml(format!("{}: {e}", file.display())))?;
            if value.is_null() {
                continue;
            }
            let doc: Document = serde_yaml::from_value(value)
                .map_err(|e| EngineError::Yaml(format!("{}: {e}", file.display())))?;
            self.add_document(file, doc)?;
        }
        Ok(())
    }

    fn add_document(&mut self, file: &Path, doc: Document) -> Result<(), EngineError> {
        let name = doc.metadata.name;
        let needs_name = || {
            EngineError::Invalid(format!(
                "{}: a {} without metadata.name",
                file.display(),
                doc.kind
            ))
        };
        match doc.kind.as_str() {
            "Secret" => {
                if name.is_empty() {
                    return Err(needs_name());
                }
                let mut data = ObjectData::new();
                for (key, text) in &doc.data {
                    let object = format!("Secret {name}");
                    data.insert(key.clone(), decode(file, &object, key, text)?);
                }
                for (key, text) in doc.string_data {
                    data.insert(key, text.into_bytes());
                }
                self.secrets.insert(name, data);
            }
            "ConfigMap" => {
                if name.is_empty() {
                    return Err(needs_name());
                }
                let mut data: ObjectData = doc
                    .data
                    .into_iter()
                    .map(|(k, v)| (k, v.into_bytes()))
                    .collect();
                for (key, text) in &doc.binary_data {
                    let object = format!("ConfigMap {name}");
                    data.insert(key.clone(), decode(file, &object, key, text)?);
                }
                self.config_maps.insert(name, data);
            }
            _ => {}
        }
        Ok(())
    }

    /// Adds (or replaces) one key of a Secret.
    pub fn set_secret_key(&mut self, name: &str, key: &str, value: impl Into<Vec<u8>>) {
        let data = self.secrets.entry(name.to_owned()).or_default();
        data.insert(key.to_owned(), value.into());
    }

    /// Adds (or replaces) one key of a ConfigMap.
    pub fn set_config_map_key(&mut self, name: &str, key: &str, value: impl Into<String>) {
        let data = self.config_maps.entry(name.to_owned()).or_default();
        data.insert(key.to_owned(), value.into().into_bytes());
    }

    /// These objects with `over`'s on top (an object of `over` replaces one of the same name).
    pub fn overlaid(&self, over: &K8sObjects) -> K8sObjects {
        let mut out = self.clone();
        out.secrets
            .extend(over.secrets.iter().map(|(k, v)| (k.clone(), v.clone())));
        out.config_maps
            .extend(over.config_maps.iter().map(|(k, v)| (k.clone(), v.clone())));
        out
    }

    pub fn secret(&self, name: &str) -> Option<&ObjectData> {
        self.secrets.get(name)
    }

    pub fn config_map(&self, name: &str) -> Option<&ObjectData> {
        self.config_maps.get(name)
    }

    /// The value of `key` in Secret `name`, as text (lossy for binary values).
    pub fn secret_key(&self, name: &str, key: &str) -> Option<String> {
        let bytes = self.secret(name)?.get(key)?;
        Some(String::from_utf8_lossy(bytes).into_owned())
    }

    /// The value of `key` in ConfigMap `name`, as text.
    pub fn config_map_key(&self, name: &str, key: &str) -> Option<String> {
        let bytes = self.config_map(name)?.get(key)?;
        Some(String::from_utf8_lossy(bytes).into_owned())
    }
}

impl crate::artifacts::SecretSource for K8sObjects {
    fn secret_key(&self, name: &str, key: &str) -> Option<String> {
        K8sObjects::secret_key(self, name, key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_and_config_maps_of_a_multi_document_file_are_read_by_name_and_key() {
        let mut objects = K8sObjects::new();
        let text = "kind: Secret\nmetadata: {name: s}\ndata: {pw: aHVudGVyMg==}\nstringData: {user: me}\n---\nkind: ConfigMap\nmetadata: {name: c}\ndata: {size: '2'}\nbinaryData: {b: aGk=}\n---\nkind: Pod\nmetadata: {name: p}\n";
        objects.load_text(Path::new("x.yaml"), text).unwrap();
        assert_eq!(objects.secret_key("s", "pw").as_deref(), Some("hunter2"));
        assert_eq!(objects.secret_key("s", "user").as_deref(), Some("me"));
        assert_eq!(objects.config_map_key("c", "size").as_deref(), Some("2"));
        assert_eq!(objects.config_map_key("c", "b").as_deref(), Some("hi"));
        assert!(objects.secret_key("c", "size").is_none());
        assert!(!format!("{objects:?}").contains("hunter2"));
    }

    #[test]
    fn bad_base64_names_the_file_the_object_and_the_key() {
        let err = K8sObjects::new()
            .load_text(
                Path::new("dir/s.yaml"),
                "kind: Secret\nmetadata: {name: s}\ndata: {pw: '%%%'}\n",
            )
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("dir/s.yaml") && err.contains("Secret s") && err.contains("pw"),
            "{err}"
        );
    }
}
