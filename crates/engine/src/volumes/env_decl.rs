//! The env fields that read Secrets and ConfigMaps, parsed from a container's unknown-field
//! maps: `env[].valueFrom` (`secretKeyRef`, `configMapKeyRef`) and `envFrom`.

use serde::Deserialize;

use super::decl::{list, no_extra, parse, HasExtra};
use crate::error::EngineError;
use crate::model::Extra;

macro_rules! has_extra {
    ($($t:ty),*) => { $(impl HasExtra for $t { fn extra(&self) -> &Extra { &self.extra } })* };
}
has_extra!(EnvValueFrom, EnvFromSource);

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct EnvValueFrom {
    #[serde(default)]
    pub secret_key_ref: Option<KeyRef>,
    #[serde(default)]
    pub config_map_key_ref: Option<KeyRef>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct KeyRef {
    pub name: String,
    pub key: String,
    #[serde(default)]
    pub optional: bool,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct EnvFromSource {
    #[serde(default)]
    pub prefix: Option<String>,
    #[serde(default)]
    pub secret_ref: Option<ObjectRef>,
    #[serde(default)]
    pub config_map_ref: Option<ObjectRef>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ObjectRef {
    pub name: String,
    #[serde(default)]
    pub optional: bool,
    #[serde(flatten)]
    pub extra: Extra,
}

/// A container's `envFrom`.
pub(crate) fn env_from(path: &str, extra: &Extra) -> Result<Vec<EnvFromSource>, EngineError> {
    let path = format!("{path}.envFrom");
    let mut out = Vec::new();
    for (i, item) in list(&path, extra.get("envFrom"))?.iter().enumerate() {
        let here = format!("{path}[{i}]");
        let e: EnvFromSource = parse(&here, item)?;
        if e.secret_ref.is_some() == e.config_map_ref.is_some() {
            return Err(EngineError::Invalid(format!(
                "{here}: one of secretRef or configMapRef is required"
            )));
        }
        for r in e.secret_ref.iter().chain(&e.config_map_ref) {
            no_extra(&here, &r.extra)?;
        }
        out.push(e);
    }
    Ok(out)
}

/// An env variable's `valueFrom` (a Secret or ConfigMap key).
pub(crate) fn env_value_from(path: &str, extra: &Extra) -> Result<Option<EnvRef>, EngineError> {
    let Some(value) = extra.get("valueFrom").filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let here = format!("{path}.valueFrom");
    let vf: EnvValueFrom = parse(&here, value)?;
    for r in vf.secret_key_ref.iter().chain(&vf.config_map_key_ref) {
        no_extra(&here, &r.extra)?;
    }
    match (vf.secret_key_ref, vf.config_map_key_ref) {
        (Some(r), None) => Ok(Some(EnvRef { secret: true, r })),
        (None, Some(r)) => Ok(Some(EnvRef { secret: false, r })),
        _ => Err(EngineError::Invalid(format!(
            "{here}: one of secretKeyRef or configMapKeyRef is required"
        ))),
    }
}

/// A key of a Secret (`secret`) or ConfigMap.
#[derive(Debug, Clone)]
pub(crate) struct EnvRef {
    pub secret: bool,
    pub r: KeyRef,
}

impl EnvRef {
    /// `Secret <name>` / `ConfigMap <name>`, for messages.
    pub fn object(&self) -> String {
        object_label(self.secret, &self.r.name)
    }
}

pub(crate) fn object_label(secret: bool, name: &str) -> String {
    format!("{} {name}", if secret { "Secret" } else { "ConfigMap" })
}
