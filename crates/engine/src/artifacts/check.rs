//! Validation of artifact declarations: every field is honoured or refused by name.

use crate::error::EngineError;
use crate::model::{Artifact, ArtifactGc, Extra, Template};

/// Why a path outside the node's `/tmp` and working dir cannot hold an artifact here.
pub(crate) const OUTSIDE_SANDBOX: &str = "is outside the node's /tmp and working dir: such a path needs the step sandbox (root or user namespaces), which this host does not offer, so artifacts go under /tmp or a relative path";

/// Artifact locations of Argo that need a client the local engine does not have.
const OTHER_LOCATIONS: &[(&str, &str)] = &[
    ("git", "a git checkout"),
    ("gcs", "Google Cloud Storage"),
    ("hdfs", "HDFS"),
    ("oss", "Alibaba OSS"),
    ("azure", "Azure Blob Storage"),
    ("artifactory", "Artifactory"),
    ("plugin", "an artifact driver plugin"),
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Input,
    Output,
    Argument,
}

fn refuse_extra(field: &str, extra: &Extra, ignorable: &[&str]) -> Result<(), EngineError> {
    for (key, value) in extra {
        if value.is_null() || ignorable.contains(&key.as_str()) {
            continue;
        }
        if let Some((_, what)) = OTHER_LOCATIONS.iter().find(|(k, _)| k == key) {
            return Err(EngineError::unsupported(
                format!("{field}.{key}"),
                format!("needs {what}, not available on the local engine (use s3, http or raw)"),
            ));
        }
        return Err(EngineError::unsupported(
            format!("{field}.{key}"),
            "not supported by the local engine",
        ));
    }
    Ok(())
}

/// Checks `spec.artifactGC` (or an artifact's `artifactGC`).
pub(crate) fn check_gc(field: &str, gc: &ArtifactGc) -> Result<(), EngineError> {
    // The GC pod's Kubernetes settings have no meaning here: the engine deletes the keys.
    let pod_only = [
        "serviceAccountName",
        "podMetadata",
        "podSpecPatch",
        "forceFinalizerRemoval",
    ];
    refuse_extra(field, &gc.extra, &pod_only)
}

fn check_one(field: &str, a: &Artifact, role: Role) -> Result<(), EngineError> {
    refuse_extra(field, &a.extra, &[])?;
    if let Some(s3) = &a.s3 {
        // `useSDKCreds`: the engine's own AWS_* environment, which it uses without selectors.
        refuse_extra(&format!("{field}.s3"), &s3.extra, &["useSDKCreds"])?;
    }
    if let Some(http) = &a.http {
        refuse_extra(&format!("{field}.http"), &http.extra, &[])?;
        if http.url.is_empty() {
            return Err(EngineError::Invalid(format!("{field}.http.url: required")));
        }
    }
    if let Some(raw) = &a.raw {
        refuse_extra(&format!("{field}.raw"), &raw.extra, &[])?;
    }
    if let Some(archive) = &a.archive {
        refuse_extra(&format!("{field}.archive"), &archive.extra, &[])?;
    }
    if let Some(gc) = &a.artifact_gc {
        check_gc(&format!("{field}.artifactGC"), gc)?;
    }
    let needs_path = role != Role::Argument && !(role == Role::Output && is_reference(a));
    match &a.path {
        None if needs_path && role == Role::Output => {
            Err(EngineError::Invalid(format!("{field}.path: required")))
        }
        _ => Ok(()),
    }
}

/// Without the step sandbox a node has no writable layer: refuses a pod template's artifact
/// at an absolute path outside `/tmp`.
pub(crate) fn check_unsandboxed_paths(path: &str, t: &Template) -> Result<(), EngineError> {
    if t.container.is_none() && t.script.is_none() {
        return Ok(());
    }
    let inputs = t.inputs.iter().flat_map(|i| i.artifacts.iter());
    let outputs = t.outputs.iter().flat_map(|o| o.artifacts.iter());
    for (kind, a) in inputs
        .map(|a| ("inputs", a))
        .chain(outputs.map(|a| ("outputs", a)))
    {
        match &a.path {
            Some(p) if p.starts_with('/') && !p.contains("{{") && !under_tmp(p) => {
                return Err(EngineError::unsupported(
                    format!("{path}.{kind}.artifacts[{}].path", a.name),
                    format!("`{p}` {OUTSIDE_SANDBOX}"),
                ))
            }
            _ => {}
        }
    }
    Ok(())
}

fn is_reference(a: &Artifact) -> bool {
    a.from.is_some() || a.from_expression.is_some()
}

fn under_tmp(p: &str) -> bool {
    p == "/tmp" || p == "/tmp/" || p.starts_with("/tmp/")
}

/// Checks the artifacts a template declares (`path` needed only by pods).
pub(crate) fn check_template(path: &str, t: &Template) -> Result<(), EngineError> {
    let pod = t.container.is_some() || t.script.is_some();
    for a in t.inputs.iter().flat_map(|i| i.artifacts.iter()) {
        let field = format!("{path}.inputs.artifacts[{}]", a.name);
        check_one(&field, a, if pod { Role::Input } else { Role::Argument })?;
        if pod && a.path.is_none() {
            return Err(EngineError::Invalid(format!("{field}.path: required")));
        }
    }
    for a in t.outputs.iter().flat_map(|o| o.artifacts.iter()) {
        let field = format!("{path}.outputs.artifacts[{}]", a.name);
        check_one(&field, a, Role::Output)?;
        if !pod && !is_reference(a) {
            return Err(EngineError::Invalid(format!(
                "{field}: a steps or dag template's output artifact needs `from` or `fromExpression`"
            )));
        }
    }
    Ok(())
}

/// Checks `arguments.artifacts` of a call or of the workflow.
pub(crate) fn check_arguments(path: &str, args: &[Artifact]) -> Result<(), EngineError> {
    for a in args {
        check_one(&format!("{path}.artifacts[{}]", a.name), a, Role::Argument)?;
    }
    Ok(())
}
