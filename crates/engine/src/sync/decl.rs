//! `synchronization` as written (`mutex`, `semaphore`, Argo 3.6+ `mutexes`, `semaphores`, at
//! workflow and template level), turned into lock requests with Argo's lock names
//! (`<ns>/Mutex/<name>`, `<ns>/ConfigMap/<name>/<key>`) and sizes.

use serde::Deserialize;
use serde_json::Value;

use crate::error::EngineError;
use crate::k8s_objects::K8sObjects;
use crate::model::Extra;
use crate::volumes::decl::{parse, HasExtra};

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Synchronization {
    #[serde(default)]
    mutex: Option<MutexRef>,
    #[serde(default)]
    semaphore: Option<SemaphoreRef>,
    #[serde(default)]
    mutexes: Vec<MutexRef>,
    #[serde(default)]
    semaphores: Vec<SemaphoreRef>,
    #[serde(flatten)]
    extra: Extra,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct MutexRef {
    name: String,
    #[serde(default)]
    namespace: Option<String>,
    /// A database mutex only spans controllers; on one server it is a mutex like the others.
    #[serde(default)]
    database: bool,
    #[serde(flatten)]
    extra: Extra,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SemaphoreRef {
    #[serde(default)]
    config_map_key_ref: Option<KeySelector>,
    #[serde(default)]
    namespace: Option<String>,
    #[serde(flatten)]
    extra: Extra,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct KeySelector {
    name: String,
    key: String,
}

impl HasExtra for Synchronization {
    fn extra(&self) -> &Extra {
        &self.extra
    }
}

/// Whether a lock is a mutex or a semaphore (the two sections of `status.synchronization`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Mutex,
    Semaphore,
}

/// One lock to take: its Argo name and how many may hold it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Request {
    pub key: String,
    pub limit: usize,
    pub kind: Kind,
}

/// The locks `extra["synchronization"]` (at `path`) asks for, none when it is absent.
/// A semaphore's size is read from its ConfigMap now; a missing one is refused by name.
pub(crate) fn requests(
    path: &str,
    extra: &Extra,
    namespace: &str,
    objects: &K8sObjects,
) -> Result<Vec<Request>, EngineError> {
    let Some(value) = extra.get("synchronization").filter(|v| !v.is_null()) else {
        return Ok(Vec::new());
    };
    let path = format!("{path}.synchronization");
    let sync: Synchronization = parse(&path, value)?;
    let mut out = Vec::new();
    for (i, m) in sync.mutex.iter().chain(&sync.mutexes).enumerate() {
        let here = format!("{path}.mutexes[{i}]");
        refuse_extra(&here, &m.extra)?;
        if m.name.is_empty() {
            return Err(EngineError::Invalid(format!("{here}.name is required")));
        }
        let ns = m.namespace.as_deref().unwrap_or(namespace);
        let kind = if m.database { "Database" } else { "Mutex" };
        out.push(Request {
            key: format!("{ns}/{kind}/{}", m.name),
            limit: 1,
            kind: Kind::Mutex,
        });
    }
    for (i, s) in sync.semaphore.iter().chain(&sync.semaphores).enumerate() {
        let here = format!("{path}.semaphores[{i}]");
        refuse_extra(&here, &s.extra)?;
        let Some(r) = &s.config_map_key_ref else {
            return Err(EngineError::Invalid(format!(
                "{here}: configMapKeyRef is required (semaphores in Argo's database need its database)"
            )));
        };
        let ns = s.namespace.as_deref().unwrap_or(namespace);
        out.push(Request {
            key: format!("{ns}/ConfigMap/{}/{}", r.name, r.key),
            limit: semaphore_size(&here, r, objects)?,
            kind: Kind::Semaphore,
        });
    }
    Ok(out)
}

fn refuse_extra(path: &str, extra: &Extra) -> Result<(), EngineError> {
    match extra.iter().find(|(_, v)| !v.is_null()) {
        Some((key, _)) => Err(EngineError::unsupported(
            format!("{path}.{key}"),
            "not supported by the local engine",
        )),
        None => Ok(()),
    }
}

/// The size of a semaphore: its ConfigMap key, an integer.
fn semaphore_size(path: &str, r: &KeySelector, objects: &K8sObjects) -> Result<usize, EngineError> {
    let text = objects.config_map_key(&r.name, &r.key).ok_or_else(|| {
        EngineError::Invalid(format!(
            "{path}: ConfigMap {} has no key `{}` for the semaphore's size (or is not in the --k8s-objects directory)",
            r.name, r.key
        ))
    })?;
    text.trim().parse::<usize>().map_err(|_| {
        EngineError::Invalid(format!(
            "{path}: ConfigMap {} key `{}` is `{}`, not a semaphore size",
            r.name,
            r.key,
            text.trim()
        ))
    })
}

/// Whether `extra` has a `synchronization` field at all.
pub(crate) fn declared(extra: &Extra) -> bool {
    extra
        .get("synchronization")
        .is_some_and(|v: &Value| !v.is_null())
}
