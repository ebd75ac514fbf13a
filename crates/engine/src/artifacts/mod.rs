//! Argo artifacts on the local engine: input artifacts (`raw`, `http`, `s3`, `from` another
//! node's output, workflow `arguments.artifacts`) placed in a pod's sandbox before it runs,
//! output artifacts collected from it afterwards (tar+gzip or `archive: none`) into the
//! engine's artifact repository (a host directory by default, or S3), recorded in the node
//! status as Argo records them (`s3: {key}`), published by `globalName`, and deleted by
//! `artifactGC`. Steps never see the repository: the engine copies in and out.

mod archive;
mod check;
mod fetch;
pub mod gc;
mod repository;
mod stage;

use std::sync::Arc;

pub(crate) use check::{check_arguments, check_gc, check_template, check_unsandboxed_paths};
pub use gc::delete_run_artifacts;
pub use repository::{ArtifactRepository, LocalRepository, S3Repository, DEFAULT_KEY_FORMAT};
pub(crate) use stage::{collect_outputs, group_outputs, place_inputs, set_path_vars};

use crate::error::EngineError;
use crate::exec::RunCtx;
use crate::model::{Artifact, GcStrategy, Template, WorkflowSpec};
use crate::template::Scope;
use repository::Store;

/// Where the engine reads Kubernetes Secrets (for `accessKeySecret`/`secretKeySecret`).
pub trait SecretSource: Send + Sync {
    /// The value of `key` in Secret `name`, if this source holds it.
    fn secret_key(&self, name: &str, key: &str) -> Option<String>;
}

/// A shared [`SecretSource`] (its `Debug` shows no secret).
#[derive(Clone)]
pub struct Secrets(pub Arc<dyn SecretSource>);

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secrets(..)")
    }
}

/// One run's artifact settings.
#[derive(Debug, Clone)]
pub(crate) struct RunArtifacts {
    pub repo: ArtifactRepository,
    pub secrets: Option<Secrets>,
    /// `spec.artifactGC.strategy` (an artifact's own strategy wins).
    pub workflow_gc: GcStrategy,
}

impl RunArtifacts {
    pub fn new(repo: ArtifactRepository, secrets: Option<Secrets>, spec: &WorkflowSpec) -> Self {
        RunArtifacts {
            repo,
            secrets,
            workflow_gc: gc::workflow_strategy(spec),
        }
    }

    /// The store and key an artifact record points at (`field` names it in errors).
    pub fn locate(&self, field: &str, a: &Artifact) -> Result<(Store, String), EngineError> {
        let s3 =
            a.s3.as_ref()
                .ok_or_else(|| EngineError::Internal(format!("{field}: not an s3 artifact")))?;
        let key = s3
            .key
            .clone()
            .filter(|k| !k.is_empty())
            .ok_or_else(|| EngineError::Invalid(format!("{field}.s3.key: required")))?;
        let store = if s3.is_explicit() {
            Store::s3_location(&format!("{field}.s3"), s3, self.secrets.as_ref())?
        } else {
            Store::repository(&self.repo, self.secrets.as_ref())?
        };
        Ok((store, key))
    }
}

/// The prefix of an artifact argument in a call's argument list (parameter names cannot
/// hold a `.`, so these never clash with a parameter).
const ARG_PREFIX: &str = "artifacts.";

/// An artifact argument (its `from` already resolved in the caller's scope) as a call argument.
pub(crate) fn encode_argument(a: &Artifact) -> Result<(String, String), EngineError> {
    let json = serde_json::to_string(a).map_err(|e| EngineError::Internal(e.to_string()))?;
    Ok((format!("{ARG_PREFIX}{}", a.name), json))
}

/// The artifact argument named `name` among a call's arguments.
pub(crate) fn argument(args: &[(String, String)], name: &str) -> Option<Artifact> {
    let wanted = format!("{ARG_PREFIX}{name}");
    let (_, json) = args.iter().find(|(n, _)| *n == wanted)?;
    serde_json::from_str(json).ok()
}

/// The `arguments.artifacts` of a call, `from`/`fromExpression` resolved in `scope`.
pub(crate) fn arguments(
    declared: &[Artifact],
    scope: &Scope,
) -> Result<Vec<(String, String)>, EngineError> {
    let mut out = Vec::new();
    for a in declared {
        let field = format!("arguments.artifacts.{}", a.name);
        let found = match stage::resolve_reference(&field, a, scope) {
            Err(_) if a.optional => None,
            other => other?,
        };
        let Some(mut resolved) = found else {
            if a.optional {
                continue;
            }
            return Err(EngineError::Invalid(format!("{field}: no source given")));
        };
        resolved.name = a.name.clone();
        if a.sub_path.is_some() {
            resolved.sub_path = a.sub_path.clone();
        }
        out.push(encode_argument(&resolved)?);
    }
    Ok(out)
}

/// Records a node's output artifacts as `{kind}.{name}.outputs.artifacts.*` in `scope`.
pub(crate) fn add_to_scope(scope: &mut Scope, base: &str, artifacts: &[Artifact]) {
    for a in artifacts {
        if let Ok(v) = serde_json::to_value(a) {
            scope.set(format!("{base}.outputs.artifacts.{}", a.name), v);
        }
    }
}

/// Sets `inputs.artifacts.<name>` (the artifact given or declared) for a template's body, so
/// that a steps or dag template passes its inputs on with `from: "{{inputs.artifacts.x}}"`.
pub(crate) fn add_inputs_to_scope(t: &Template, args: &[(String, String)], scope: &mut Scope) {
    for decl in t.inputs.iter().flat_map(|i| i.artifacts.iter()) {
        let given =
            argument(args, &decl.name).or_else(|| decl.has_location().then(|| decl.clone()));
        if let Some(v) = given.and_then(|a| serde_json::to_value(a).ok()) {
            scope.set(format!("inputs.artifacts.{}", decl.name), v);
        }
    }
}

/// Publishes output artifacts with a `globalName` as `workflow.outputs.artifacts.<global>`
/// and in `status.outputs.artifacts` (named by their global name, as Argo records them).
pub(crate) fn publish_globals(ctx: &RunCtx, declared: &[Artifact], saved: &[Artifact]) {
    for decl in declared {
        let Some(global) = &decl.global_name else {
            continue;
        };
        let Some(found) = saved.iter().find(|a| a.name == decl.name) else {
            continue;
        };
        let mut record = found.clone();
        record.name = global.clone();
        if let (Ok(mut g), Ok(v)) = (ctx.globals.lock(), serde_json::to_value(&record)) {
            g.set(format!("workflow.outputs.artifacts.{global}"), v);
        }
        ctx.shared.update(|s| {
            let out = s.status.outputs.get_or_insert_with(Default::default);
            out.artifacts.retain(|x| &x.name != global);
            out.artifacts.push(record);
        });
    }
}
