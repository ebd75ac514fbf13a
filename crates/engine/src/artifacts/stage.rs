//! A pod node's artifacts: the `{{inputs.artifacts.x.path}}`-style variables, its input
//! artifacts placed on the host paths its sandbox shows at their `path`, and its output
//! artifacts saved from there into the repository (or their own `s3` location) and recorded.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::fetch::{self, Loaded};
use super::{archive, RunArtifacts};
use crate::error::EngineError;
use crate::exec::node_fs::NodeFs;
use crate::exec::RunCtx;
use crate::model::{Artifact, S3Artifact, Template};
use crate::template::Scope;

/// Sets the path variables of a template's artifacts and output parameters.
pub(crate) fn set_path_vars(t: &Template, scope: &mut Scope) {
    for a in t.inputs.iter().flat_map(|i| i.artifacts.iter()) {
        if let Some(p) = &a.path {
            scope.set(format!("inputs.artifacts.{}.path", a.name), p.clone());
        }
    }
    let Some(outputs) = &t.outputs else { return };
    for a in &outputs.artifacts {
        if let Some(p) = &a.path {
            scope.set(format!("outputs.artifacts.{}.path", a.name), p.clone());
        }
    }
    for p in &outputs.parameters {
        if let Some(path) = p.value_from.as_ref().and_then(|v| v.path.as_ref()) {
            scope.set(format!("outputs.parameters.{}.path", p.name), path.clone());
        }
    }
}

/// `a` with its `{{…}}` tags substituted.
fn substituted(a: &Artifact, scope: &Scope) -> Result<Artifact, EngineError> {
    let mut v = serde_json::to_value(a).map_err(|e| EngineError::Internal(e.to_string()))?;
    scope.substitute_value(&mut v)?;
    serde_json::from_value(v).map_err(|e| EngineError::Internal(e.to_string()))
}

/// What `from`/`fromExpression` point at, else the artifact's own location (`None`: neither).
pub(crate) fn resolve_reference(
    field: &str,
    a: &Artifact,
    scope: &Scope,
) -> Result<Option<Artifact>, EngineError> {
    let value = if let Some(from) = &a.from {
        let text = scope.substitute(from)?;
        serde_json::from_str::<Value>(&text).map_err(|_| {
            EngineError::Invalid(format!("{field}.from: `{from}` does not name an artifact"))
        })?
    } else if let Some(src) = &a.from_expression {
        crate::expr::eval(src, &scope.env(), crate::expr::Mode::Expr)?
    } else if a.has_location() {
        return substituted(a, scope).map(Some);
    } else {
        return Ok(None);
    };
    if value.is_null() {
        return Ok(None);
    }
    let mut found: Artifact = serde_json::from_value(value).map_err(|e| {
        EngineError::Invalid(format!("{field}: the reference is not an artifact ({e})"))
    })?;
    found.name = a.name.clone();
    Ok(Some(found))
}

/// Whether `p` resolves (symlinks followed) inside `root`. The engine may run as root: a
/// link a step left must not make it read or write elsewhere on the host.
pub(super) fn resolves_inside(p: &Path, root: &Path) -> bool {
    match (p.canonicalize(), root.canonicalize()) {
        (Ok(p), Ok(root)) => p.starts_with(root),
        _ => false,
    }
}

fn escapes(field: &str, p: &str) -> String {
    format!("{field}.path: `{p}` leads outside the node's directories (through a symbolic link)")
}

fn outside_sandbox(field: &str, p: &str, fs: &NodeFs<'_>) -> String {
    match fs.private_tmp {
        true => format!(
            "{field}.path: `{p}` is the host's own, not the node's: the engine reads and writes a \
             node's files only in its /tmp, working dir, volumes and what it wrote elsewhere"
        ),
        false => format!("{field}.path: `{p}` {}", super::check::OUTSIDE_SANDBOX),
    }
}

/// Gives the step user what the engine placed for it.
fn chown_tree(p: &Path, user: &crate::exec::sandbox::StepUser) -> std::io::Result<()> {
    std::os::unix::fs::lchown(p, Some(user.uid), Some(user.gid))?;
    if p.is_dir() && !p.is_symlink() {
        for entry in std::fs::read_dir(p)? {
            chown_tree(&entry?.path(), user)?;
        }
    }
    Ok(())
}

/// Places the input artifacts of pod template `t` (arguments in `args`); the records for the
/// node's `inputs.artifacts`, or the node's error message.
pub(crate) async fn place_inputs(
    ctx: &RunCtx,
    t: &Template,
    args: &[(String, String)],
    scope: &Scope,
    fs: &NodeFs<'_>,
) -> Result<Vec<Artifact>, String> {
    let mut placed = Vec::new();
    for decl in t.inputs.iter().flat_map(|i| i.artifacts.iter()) {
        let field = format!("inputs.artifacts.{}", decl.name);
        let decl = &substituted(decl, scope).map_err(|e| e.to_string())?;
        let source = match super::argument(args, &decl.name) {
            Some(given) => Some(given),
            None => resolve_reference(&field, decl, scope).map_err(|e| e.to_string())?,
        };
        let Some(mut source) = source else {
            if decl.optional {
                continue;
            }
            return Err(format!("{field} was not supplied"));
        };
        let path = decl.path.clone().ok_or(format!("{field}.path: required"))?;
        let (dest, root) = fs
            .locate(&path)
            .ok_or_else(|| outside_sandbox(&field, &path, fs))?;
        let parent = dest.parent().unwrap_or(&root);
        std::fs::create_dir_all(parent).map_err(|e| EngineError::io(parent, e).to_string())?;
        if !resolves_inside(parent, &root) {
            return Err(escapes(&field, &path));
        }
        source.mode = decl.mode.or(source.mode);
        if decl.archive.is_some() {
            source.archive = decl.archive.clone();
        }
        let _ = archive::remove_any(&dest);
        match fetch::load(&ctx.artifacts, &field, &source, &dest).await {
            Ok(Loaded::Found) => {}
            Ok(Loaded::Missing(_)) if decl.optional => continue,
            Ok(Loaded::Missing(why)) => {
                return Err(format!("artifact {} failed to load: {why}", decl.name))
            }
            Err(e) => return Err(format!("artifact {} failed to load: {e}", decl.name)),
        }
        if let Some(user) = &ctx.step_user {
            chown_tree(&dest, user).map_err(|e| EngineError::io(&dest, e).to_string())?;
            // The directories made for it too, so the step may write next to it.
            for dir in parent
                .ancestors()
                .take_while(|d| d.starts_with(&root) && *d != root)
            {
                std::os::unix::fs::lchown(dir, Some(user.uid), Some(user.gid))
                    .map_err(|e| EngineError::io(dir, e).to_string())?;
            }
        }
        source.path = Some(path);
        source.from = None;
        source.from_expression = None;
        placed.push(source);
    }
    Ok(placed)
}

/// The output artifacts of pod `pod_name` saved and recorded; with the message of the first
/// non-optional one that is missing (the node then errors if it had succeeded).
pub(crate) async fn collect_outputs(
    ctx: &RunCtx,
    t: &Template,
    pod_name: &str,
    scope: &Scope,
    fs: &NodeFs<'_>,
) -> (Vec<Artifact>, Option<String>) {
    let mut saved = Vec::new();
    let mut problem = None;
    for decl in t.outputs.iter().flat_map(|o| o.artifacts.iter()) {
        let field = format!("outputs.artifacts.{}", decl.name);
        match save_one(ctx, &field, decl, pod_name, scope, fs).await {
            Ok(Some(record)) => saved.push(record),
            Ok(None) => {}
            Err(msg) => {
                problem.get_or_insert(msg);
            }
        }
    }
    (saved, problem)
}

async fn save_one(
    ctx: &RunCtx,
    field: &str,
    decl: &Artifact,
    pod_name: &str,
    scope: &Scope,
    fs: &NodeFs<'_>,
) -> Result<Option<Artifact>, String> {
    let decl = substituted(decl, scope).map_err(|e| e.to_string())?;
    let Some(path) = decl.path.clone() else {
        return Err(format!("{field}.path: required"));
    };
    let (src, root) = fs
        .locate(&path)
        .ok_or_else(|| outside_sandbox(field, &path, fs))?;
    if !src.exists() {
        if decl.optional {
            return Ok(None);
        }
        // Argo's executor's words for an output that is not there.
        return Err(format!("{path} no such file or directory"));
    }
    if !resolves_inside(&src, &root) {
        return Err(escapes(field, &path));
    }
    let location = save(ctx, field, &decl, pod_name, &src)
        .await
        .map_err(|e| e.to_string())?;
    Ok(Some(Artifact {
        name: decl.name.clone(),
        path: Some(path),
        s3: Some(location),
        archive: decl.archive.clone(),
        global_name: decl.global_name.clone(),
        artifact_gc: decl.artifact_gc.clone(),
        optional: decl.optional,
        ..Default::default()
    }))
}

/// Uploads `src` as Argo does: one `.tgz` object (default), or with `archive: none` the file
/// itself under its own name (a directory: one object per file); the location recorded.
async fn save(
    ctx: &RunCtx,
    field: &str,
    decl: &Artifact,
    pod_name: &str,
    src: &Path,
) -> Result<S3Artifact, EngineError> {
    let run: &RunArtifacts = &ctx.artifacts;
    let unarchived = decl.archive.as_ref().is_some_and(|s| s.none.is_some());
    let level = decl
        .archive
        .as_ref()
        .and_then(|s| s.tar.as_ref())
        .and_then(|t| t.compression_level)
        .unwrap_or(archive::DEFAULT_LEVEL);
    let mut location = match &decl.s3 {
        Some(s3) if s3.key.is_some() => s3.clone(),
        _ => {
            let file = match (unarchived, src.file_name()) {
                (true, Some(n)) => n.to_string_lossy().into_owned(),
                _ => format!("{}.tgz", decl.name),
            };
            let mut keys = ctx.global_scope();
            keys.set("pod.name", pod_name.to_string());
            let prefix = keys.substitute(&run.repo.key_format())?;
            let mut s3 = decl.s3.clone().unwrap_or_default();
            s3.key = Some(format!("{}/{file}", prefix.trim_end_matches('/')));
            s3
        }
    };
    let probe = Artifact {
        s3: Some(location.clone()),
        ..Default::default()
    };
    let (store, key) = run.locate(field, &probe)?;
    if unarchived && src.is_dir() {
        for file in files_under(src)? {
            let rel = file
                .strip_prefix(src)
                .unwrap_or(&file)
                .to_string_lossy()
                .into_owned();
            let data = std::fs::read(&file).map_err(|e| EngineError::io(&file, e))?;
            store
                .put(&format!("{}/{rel}", key.trim_end_matches('/')), data)
                .await?;
        }
    } else if unarchived {
        let data = tokio::fs::read(src)
            .await
            .map_err(|e| EngineError::io(src, e))?;
        store.put(&key, data).await?;
    } else {
        let owned = src.to_path_buf();
        let data = tokio::task::spawn_blocking(move || archive::pack(&owned, level))
            .await
            .map_err(|e| EngineError::Internal(e.to_string()))?
            .map_err(|e| EngineError::io(src, e))?;
        store.put(&key, data).await?;
    }
    location.key = Some(key);
    Ok(location)
}

/// Every regular file under directory `dir` (symlinks are not followed).
fn files_under(dir: &Path) -> Result<Vec<PathBuf>, EngineError> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).map_err(|e| EngineError::io(&d, e))? {
            let p = entry.map_err(|e| EngineError::io(&d, e))?.path();
            let meta = std::fs::symlink_metadata(&p).map_err(|e| EngineError::io(&p, e))?;
            if meta.is_dir() {
                todo.push(p);
            } else if meta.is_file() {
                out.push(p);
            }
        }
    }
    Ok(out)
}

/// The output artifacts of a `steps`/`dag` template, from its final scope (`from`,
/// `fromExpression`); a missing optional one is left out.
pub(crate) fn group_outputs(t: &Template, scope: &Scope) -> Result<Vec<Artifact>, EngineError> {
    let mut out = Vec::new();
    for decl in t.outputs.iter().flat_map(|o| o.artifacts.iter()) {
        let field = format!("outputs.artifacts.{}", decl.name);
        match resolve_reference(&field, decl, scope) {
            Ok(Some(mut a)) => {
                a.global_name = decl.global_name.clone();
                out.push(a);
            }
            Ok(None) | Err(_) if decl.optional => {}
            Ok(None) => {
                return Err(EngineError::Invalid(format!(
                    "{field} of template `{}`: no `from` or `fromExpression`",
                    t.name
                )))
            }
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}
