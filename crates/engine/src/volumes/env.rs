//! Values read from Secrets and ConfigMaps: env `valueFrom` (`secretKeyRef`,
//! `configMapKeyRef`, with `optional`), `envFrom` (`secretRef`, `configMapRef`, `prefix`), and
//! parameters' `valueFrom.configMapKeyRef` (workflow arguments and template inputs).

use serde_json::Value;

use super::decl::{self, object_label, EnvRef};
use crate::error::EngineError;
use crate::k8s_objects::K8sObjects;
use crate::model::{Container, Parameter, WorkflowSpec};

/// The value `r` names, `None` when its object or key is missing.
fn lookup(objects: &K8sObjects, r: &EnvRef) -> Option<String> {
    if r.secret {
        objects.secret_key(&r.r.name, &r.r.key)
    } else {
        objects.config_map_key(&r.r.name, &r.r.key)
    }
}

fn missing(what: &str, r: &EnvRef) -> EngineError {
    EngineError::Invalid(format!(
        "{what}: {} has no key `{}` (or is not in the --k8s-objects directory)",
        r.object(),
        r.r.key
    ))
}

/// Refuses, before anything runs, a variable of `c` whose object or key is missing (unless
/// optional, or the engine itself sets that variable: `given`).
pub(super) fn check(
    objects: &K8sObjects,
    here: &str,
    c: &Container,
    given: &[(String, String)],
) -> Result<(), EngineError> {
    for e in &c.env {
        let path = format!("{here}.container.env[{}]", e.name);
        if let Some(r) = decl::env_value_from(&path, &e.extra)? {
            let templated = r.r.name.contains("{{") || r.r.key.contains("{{");
            let stand_in = given.iter().any(|(n, _)| n == &e.name);
            if !templated && !r.r.optional && !stand_in && lookup(objects, &r).is_none() {
                return Err(missing(&path, &r));
            }
        }
    }
    for (i, source) in decl::env_from(&format!("{here}.container"), &c.extra)?
        .iter()
        .enumerate()
    {
        let (secret, r) = match (&source.secret_ref, &source.config_map_ref) {
            (Some(r), _) => (true, r),
            (None, Some(r)) => (false, r),
            (None, None) => continue,
        };
        let found = if secret {
            objects.secret(&r.name).is_some()
        } else {
            objects.config_map(&r.name).is_some()
        };
        if !found && !r.optional && !r.name.contains("{{") {
            return Err(EngineError::Invalid(format!(
                "{here}.container.envFrom[{i}]: {} not found (put it in the --k8s-objects directory)",
                object_label(secret, &r.name)
            )));
        }
    }
    Ok(())
}

/// Whether `name` can be an environment variable (envFrom skips keys that cannot).
fn env_name(name: &str) -> bool {
    !name.is_empty()
        && !name.contains('=')
        && !name.contains('\0')
        && !name.starts_with(|c: char| c.is_ascii_digit())
}

/// `c`'s variables in Kubernetes order: `envFrom` sources, then `env` (later ones win when
/// the process starts). A `valueFrom` whose object is missing keeps the value the engine
/// gives (`given`), or is left out when optional.
pub(super) fn resolve(
    objects: &K8sObjects,
    c: &Container,
    given: &[(String, String)],
) -> Result<Vec<(String, String)>, EngineError> {
    let mut out = Vec::new();
    for source in decl::env_from("container", &c.extra)? {
        let prefix = source.prefix.clone().unwrap_or_default();
        let (data, r) = match (&source.secret_ref, &source.config_map_ref) {
            (Some(r), _) => (objects.secret(&r.name), r),
            (None, Some(r)) => (objects.config_map(&r.name), r),
            (None, None) => continue,
        };
        match data {
            Some(data) => out.extend(
                data.iter()
                    .map(|(k, v)| (format!("{prefix}{k}"), String::from_utf8_lossy(v).into()))
                    .filter(|(k, _)| env_name(k)),
            ),
            None if r.optional => {}
            None => {
                return Err(EngineError::Invalid(format!(
                    "envFrom: {} not found",
                    r.name
                )))
            }
        }
    }
    for e in &c.env {
        let path = format!("env[{}]", e.name);
        let value = match (&e.value, decl::env_value_from(&path, &e.extra)?) {
            (Some(v), _) => Some(v.clone()),
            (None, None) => Some(String::new()),
            (None, Some(r)) => match lookup(objects, &r) {
                Some(v) => Some(v),
                None if given.iter().any(|(n, _)| n == &e.name) => None,
                None if r.r.optional => None,
                None => return Err(missing(&path, &r)),
            },
        };
        if let Some(v) = value {
            out.push((e.name.clone(), v));
        }
    }
    Ok(out)
}

/// The `configMapKeyRef` of a parameter's `valueFrom`, as `(name, key)`.
fn config_map_ref(path: &str, p: &Parameter) -> Result<Option<(String, String)>, EngineError> {
    let Some(r) = p
        .value_from
        .as_ref()
        .and_then(|vf| vf.extra.get("configMapKeyRef"))
        .filter(|v| !v.is_null())
    else {
        return Ok(None);
    };
    let text = |k: &str| r.get(k).and_then(Value::as_str).map(str::to_owned);
    match (text("name"), text("key")) {
        (Some(name), Some(key)) => Ok(Some((name, key))),
        _ => Err(EngineError::Invalid(format!(
            "{path}.valueFrom.configMapKeyRef: `name` and `key` are required"
        ))),
    }
}

/// Gives every parameter with `valueFrom.configMapKeyRef` (workflow arguments, template
/// inputs) its value from the ConfigMap, as Argo does when the workflow starts (an argument
/// still wins); a missing ConfigMap or key falls back to `valueFrom.default`, else refuses.
pub(crate) fn check_params(
    spec: &mut WorkflowSpec,
    objects: &K8sObjects,
) -> Result<(), EngineError> {
    let mut params: Vec<(String, &mut Parameter)> = Vec::new();
    if let Some(args) = spec.arguments.as_mut() {
        for p in &mut args.parameters {
            params.push((format!("spec.arguments.parameters[{}]", p.name), p));
        }
    }
    for t in &mut spec.templates {
        let name = t.name.clone();
        for p in t.inputs.iter_mut().flat_map(|i| i.parameters.iter_mut()) {
            params.push((
                format!("spec.templates[{name}].inputs.parameters[{}]", p.name),
                p,
            ));
        }
    }
    for (path, p) in params {
        let Some((name, key)) = config_map_ref(&path, p)? else {
            continue;
        };
        if p.value.is_some() {
            continue;
        }
        let default = p.value_from.as_ref().and_then(|vf| vf.default.clone());
        match objects.config_map_key(&name, &key).or(default) {
            Some(v) => p.value = Some(v),
            None => {
                return Err(EngineError::Invalid(format!(
                    "{path}: ConfigMap {name} has no key `{key}` (or is not in the --k8s-objects directory)"
                )))
            }
        }
    }
    Ok(())
}
