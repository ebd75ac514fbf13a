//! Argo's `Artifact` (inputs, outputs, arguments, and the status record of a saved one) and
//! its locations: `raw`, `http`, `s3`, plus `archive` and `artifactGC`.

use serde::{Deserialize, Serialize};

use serde::Deserializer;

use super::{any_string, Extra};

/// One artifact as declared in a template or arguments, and as recorded in node status.
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Artifact {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(
        default,
        deserialize_with = "file_mode",
        skip_serializing_if = "Option::is_none"
    )]
    pub mode: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_expression: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub global_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archive: Option<ArchiveStrategy>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub optional: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_path: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub recurse_mode: bool,
    #[serde(
        default,
        rename = "artifactGC",
        skip_serializing_if = "Option::is_none"
    )]
    pub artifact_gc: Option<ArtifactGc>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deleted: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw: Option<RawArtifact>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpArtifact>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3: Option<S3Artifact>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Artifact {
    /// Whether the artifact names where its content is (as opposed to only a `path`).
    pub fn has_location(&self) -> bool {
        self.raw.is_some() || self.http.is_some() || self.s3.is_some()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RawArtifact {
    #[serde(default, deserialize_with = "any_string")]
    pub data: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct HttpArtifact {
    #[serde(default)]
    pub url: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<Header>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Header {
    pub name: String,
    #[serde(default)]
    pub value: String,
}

/// An S3 location; without `bucket` (and `endpoint`) it is a key in the default repository.
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct S3Artifact {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insecure: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_key_secret: Option<SecretKeySelector>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_key_secret: Option<SecretKeySelector>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl S3Artifact {
    /// Whether this names a bucket of its own rather than a key of the default repository.
    pub fn is_explicit(&self) -> bool {
        self.bucket.is_some() || self.endpoint.is_some()
    }
}

/// A Kubernetes `SecretKeySelector`: key `key` of Secret `name`.
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct SecretKeySelector {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optional: Option<bool>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ArchiveStrategy {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub none: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tar: Option<TarStrategy>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TarStrategy {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compression_level: Option<u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactGc {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<GcStrategy>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// When the artifacts a workflow wrote are deleted (Argo's `ArtifactGCStrategy`).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub enum GcStrategy {
    OnWorkflowCompletion,
    OnWorkflowDeletion,
    Never,
    #[serde(rename = "")]
    Unset,
}

/// A file mode as YAML writers give it: a number (`0755` read as octal by Argo's YAML 1.1
/// parser, `493`), or a string such as `"0755"`.
fn file_mode<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    use serde::de::Error;
    let Some(v) = Option::<serde_json::Value>::deserialize(d)? else {
        return Ok(None);
    };
    let parsed = match &v {
        serde_json::Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
        serde_json::Value::String(s) if s.starts_with('0') && s.len() > 1 => {
            u32::from_str_radix(s.trim_start_matches("0o").trim_start_matches('0'), 8).ok()
        }
        serde_json::Value::String(s) => s.parse().ok(),
        _ => None,
    };
    parsed
        .filter(|m| *m <= 0o7777)
        .map(Some)
        .ok_or_else(|| D::Error::custom(format!("mode: `{v}` is not a file mode")))
}
