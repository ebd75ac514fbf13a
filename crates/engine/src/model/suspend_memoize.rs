//! The model of `suspend` templates and of a template's `memoize` cache settings.

use serde::{Deserialize, Serialize};

use super::{any_string, Extra};

/// `suspend: {duration}`: the node waits until resumed, or until `duration` has passed.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct SuspendTemplate {
    /// Seconds (`"20"`) or a duration (`"2m"`, `"1h30m"`); none: until resumed.
    #[serde(
        default,
        deserialize_with = "any_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub duration: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `memoize: {key, maxAge, cache: {configMap: {name}}}`: reuse the outputs a succeeded run of
/// this template stored under `key`.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Memoize {
    #[serde(default)]
    pub key: String,
    /// A Go duration (`"10s"`, `"1h"`): older entries are misses. None: any age hits.
    #[serde(
        default,
        deserialize_with = "any_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub max_age: Option<String>,
    #[serde(default)]
    pub cache: MemoizeCache,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct MemoizeCache {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_map: Option<MemoizeConfigMap>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// A ConfigMap key selector; a memoize cache uses only its `name` (as Argo does).
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct MemoizeConfigMap {
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optional: Option<bool>,
    #[serde(flatten)]
    pub extra: Extra,
}
