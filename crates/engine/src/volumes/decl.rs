//! The Kubernetes fields of a workflow that name volumes and objects, parsed from the
//! document's unknown-field maps: `volumes`, `volumeMounts`, `volumeClaimTemplates`,
//! `volumeClaimGC`, env `valueFrom`, `envFrom`. Each parse refuses what the engine cannot
//! honour, naming the field.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;

use crate::error::EngineError;
use crate::model::Extra;

pub(crate) use super::env_decl::{env_from, env_value_from, object_label, EnvRef};

/// Parses `value` (the field at `path`) as `T`; unknown fields of `T` are refused by name.
pub(crate) fn parse<T: DeserializeOwned + HasExtra>(
    path: &str,
    value: &Value,
) -> Result<T, EngineError> {
    let parsed: T = serde_json::from_value(value.clone())
        .map_err(|e| EngineError::Invalid(format!("{path}: {e}")))?;
    if let Some((key, _)) = parsed.extra().iter().find(|(_, v)| !v.is_null()) {
        return Err(EngineError::unsupported(
            format!("{path}.{key}"),
            "not supported by the local engine",
        ));
    }
    Ok(parsed)
}

pub(crate) trait HasExtra {
    fn extra(&self) -> &Extra;
}

macro_rules! has_extra {
    ($($t:ty),*) => { $(impl HasExtra for $t { fn extra(&self) -> &Extra { &self.extra } })* };
}
has_extra!(
    Volume,
    ClaimSource,
    EmptyDirSource,
    ObjectSource,
    KeyToPath,
    VolumeMount,
    ClaimTemplate,
    ClaimGc
);

/// One entry of `spec.volumes` or a template's `volumes`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Volume {
    pub name: String,
    #[serde(default)]
    pub persistent_volume_claim: Option<Value>,
    #[serde(default)]
    pub empty_dir: Option<Value>,
    #[serde(default)]
    pub secret: Option<Value>,
    #[serde(default)]
    pub config_map: Option<Value>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ClaimSource {
    pub claim_name: String,
    #[serde(default)]
    pub read_only: bool,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct EmptyDirSource {
    /// `Memory` or the default: both are a directory here; no size is enforced.
    #[serde(default)]
    #[expect(
        dead_code,
        reason = "accepted, not refused, and without effect on one machine"
    )]
    pub medium: Option<String>,
    #[serde(default)]
    #[expect(
        dead_code,
        reason = "accepted, not refused, and without effect on one machine"
    )]
    pub size_limit: Option<Value>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// A `secret` (`secretName`) or `configMap` (`name`) volume.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ObjectSource {
    #[serde(default)]
    pub secret_name: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub items: Vec<KeyToPath>,
    #[serde(default)]
    pub optional: bool,
    #[serde(default)]
    pub default_mode: Option<u32>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct KeyToPath {
    pub key: String,
    pub path: String,
    #[serde(default)]
    pub mode: Option<u32>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// What a volume is on this machine.
#[derive(Debug, Clone)]
pub(crate) enum Source {
    Claim { claim: String, read_only: bool },
    EmptyDir,
    Secret(ObjectSource),
    ConfigMap(ObjectSource),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct VolumeMount {
    pub name: String,
    pub mount_path: String,
    #[serde(default)]
    pub sub_path: Option<String>,
    #[serde(default)]
    pub read_only: bool,
    /// Kubernetes' default (`None`) is the only behaviour here.
    #[serde(default)]
    pub mount_propagation: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// An entry of `spec.volumeClaimTemplates`: only its name matters on one machine.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ClaimTemplate {
    #[serde(default)]
    pub metadata: ClaimMeta,
    /// Access modes and storage requests: a directory has neither.
    #[serde(default)]
    #[expect(
        dead_code,
        reason = "accepted, not refused, and without effect on one machine"
    )]
    pub spec: Option<Value>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct ClaimMeta {
    #[serde(default)]
    pub name: String,
    #[serde(flatten)]
    pub _rest: BTreeMap<String, Value>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ClaimGc {
    #[serde(default)]
    pub strategy: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// Whether a run's claims from `volumeClaimTemplates` are deleted when it ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum ClaimGcStrategy {
    /// Argo's default.
    #[default]
    OnWorkflowSuccess,
    OnWorkflowCompletion,
}

/// Refuses the first set field of a nested object that the engine does not read.
pub(super) fn no_extra(path: &str, extra: &Extra) -> Result<(), EngineError> {
    match extra.iter().find(|(_, v)| !v.is_null()) {
        Some((key, _)) => Err(EngineError::unsupported(
            format!("{path}.{key}"),
            "not supported by the local engine",
        )),
        None => Ok(()),
    }
}

pub(super) fn list(path: &str, value: Option<&Value>) -> Result<Vec<Value>, EngineError> {
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => Ok(items.clone()),
        Some(_) => Err(EngineError::Invalid(format!("{path} must be a list"))),
    }
}

/// The volumes declared at `path` (`spec.volumes`, a template's `volumes`), by name.
pub(crate) fn volumes(path: &str, extra: &Extra) -> Result<Vec<(String, Source)>, EngineError> {
    let path = format!("{path}.volumes");
    let mut out = Vec::new();
    for item in list(&path, extra.get("volumes"))? {
        let name = item.get("name").and_then(Value::as_str).unwrap_or_default();
        let here = format!("{path}[{name}]");
        let v: Volume = parse(&here, &item)?;
        if let Some((key, _)) = v.extra.iter().find(|(_, x)| !x.is_null()) {
            return Err(EngineError::unsupported(
                format!("{here}.{key}"),
                "only persistentVolumeClaim, emptyDir, secret and configMap volumes exist on one machine",
            ));
        }
        out.push((v.name.clone(), source(&here, &v)?));
    }
    Ok(out)
}

fn source(here: &str, v: &Volume) -> Result<Source, EngineError> {
    let kinds = [
        v.persistent_volume_claim.is_some(),
        v.empty_dir.is_some(),
        v.secret.is_some(),
        v.config_map.is_some(),
    ];
    if kinds.iter().filter(|k| **k).count() != 1 {
        return Err(EngineError::Invalid(format!(
            "{here}: exactly one volume source is required"
        )));
    }
    if let Some(c) = &v.persistent_volume_claim {
        let c: ClaimSource = parse(&format!("{here}.persistentVolumeClaim"), c)?;
        check_name(
            &format!("{here}.persistentVolumeClaim.claimName"),
            &c.claim_name,
        )?;
        return Ok(Source::Claim {
            claim: c.claim_name,
            read_only: c.read_only,
        });
    }
    if let Some(e) = &v.empty_dir {
        let _: EmptyDirSource = parse(&format!("{here}.emptyDir"), e)?;
        return Ok(Source::EmptyDir);
    }
    let (field, value, secret) = match (&v.secret, &v.config_map) {
        (Some(s), _) => ("secret", s, true),
        (None, Some(c)) => ("configMap", c, false),
        (None, None) => unreachable_source(here)?,
    };
    let o: ObjectSource = parse(&format!("{here}.{field}"), value)?;
    let name = if secret { &o.secret_name } else { &o.name };
    if name.as_deref().unwrap_or_default().is_empty() {
        let key = if secret { "secretName" } else { "name" };
        return Err(EngineError::Invalid(format!(
            "{here}.{field}.{key} is required"
        )));
    }
    for item in &o.items {
        check_relative(
            &format!("{here}.{field}.items[{}].path", item.key),
            &item.path,
        )?;
    }
    Ok(if secret {
        Source::Secret(o)
    } else {
        Source::ConfigMap(o)
    })
}

fn unreachable_source<T>(here: &str) -> Result<T, EngineError> {
    Err(EngineError::Internal(format!("{here}: no volume source")))
}

/// A claim or object name becomes a directory name: one path component.
fn check_name(path: &str, name: &str) -> Result<(), EngineError> {
    if name.contains("{{") {
        return Err(EngineError::unsupported(
            path,
            "a claim name with a `{{…}}` variable is not supported",
        ));
    }
    if name.is_empty() || name == "." || name == ".." || name.contains('/') {
        return Err(EngineError::Invalid(format!(
            "{path}: `{name}` is not a valid name"
        )));
    }
    Ok(())
}

/// A relative path that stays inside its directory.
pub(crate) fn check_relative(path: &str, p: &str) -> Result<(), EngineError> {
    let inside = std::path::Path::new(p)
        .components()
        .all(|c| matches!(c, std::path::Component::Normal(_)));
    if p.is_empty() || !inside {
        return Err(EngineError::Invalid(format!(
            "{path}: `{p}` must be a relative path without `..`"
        )));
    }
    Ok(())
}

/// A container's `volumeMounts`.
pub(crate) fn mounts(path: &str, extra: &Extra) -> Result<Vec<VolumeMount>, EngineError> {
    let path = format!("{path}.volumeMounts");
    let mut out = Vec::new();
    for item in list(&path, extra.get("volumeMounts"))? {
        let name = item.get("name").and_then(Value::as_str).unwrap_or_default();
        let here = format!("{path}[{name}]");
        let m: VolumeMount = parse(&here, &item)?;
        if !m.mount_path.starts_with('/') || m.mount_path.contains("{{") {
            return Err(EngineError::Invalid(format!(
                "{here}.mountPath: `{}` must be an absolute path",
                m.mount_path
            )));
        }
        if matches!(m.mount_propagation.as_deref(), Some(p) if p != "None") {
            return Err(EngineError::unsupported(
                format!("{here}.mountPropagation"),
                "mounts are private to each step",
            ));
        }
        if let Some(sub) = &m.sub_path {
            check_relative(&format!("{here}.subPath"), sub)?;
        }
        out.push(m);
    }
    Ok(out)
}

/// `spec.volumeClaimTemplates`: the claim names.
pub(crate) fn claim_templates(extra: &Extra) -> Result<Vec<String>, EngineError> {
    let path = "spec.volumeClaimTemplates";
    let mut names = Vec::new();
    for item in list(path, extra.get("volumeClaimTemplates"))? {
        let c: ClaimTemplate = parse(path, &item)?;
        check_name(&format!("{path}[].metadata.name"), &c.metadata.name)?;
        names.push(c.metadata.name);
    }
    Ok(names)
}

/// `spec.volumeClaimGC.strategy`.
pub(crate) fn claim_gc(extra: &Extra) -> Result<ClaimGcStrategy, EngineError> {
    let Some(value) = extra.get("volumeClaimGC").filter(|v| !v.is_null()) else {
        return Ok(ClaimGcStrategy::default());
    };
    let gc: ClaimGc = parse("spec.volumeClaimGC", value)?;
    match gc.strategy.as_deref() {
        None | Some("" | "OnWorkflowSuccess") => Ok(ClaimGcStrategy::OnWorkflowSuccess),
        Some("OnWorkflowCompletion") => Ok(ClaimGcStrategy::OnWorkflowCompletion),
        Some(other) => Err(EngineError::Invalid(format!(
            "spec.volumeClaimGC.strategy: `{other}` is not OnWorkflowSuccess or OnWorkflowCompletion"
        ))),
    }
}
