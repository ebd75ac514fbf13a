//! Field validation of a parsed document: Kubernetes-only fields are collected and ignored
//! (one log line), any other field the engine does not honour is an error naming it.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::error::EngineError;
use crate::model::{Arguments, Container, Extra, Parameter, StepLike, Template, Workflow};

mod podkinds;
pub(crate) use podkinds::container_name;

const SPEC_IGNORED: &[&str] = &[
    "podGC",
    "podResources",
    "resourceClaims",
    "ttlStrategy",
    "ttlSecondsAfterFinished",
    "podMetadata",
    "podSpecPatch",
    "nodeSelector",
    "affinity",
    "tolerations",
    "securityContext",
    "serviceAccountName",
    "automountServiceAccountToken",
    "executor",
    "imagePullSecrets",
    "hostNetwork",
    "dnsPolicy",
    "dnsConfig",
    "priorityClassName",
    "podPriorityClassName",
    "podPriority",
    "priority",
    "schedulerName",
    "podDisruptionBudget",
    "archiveLogs",
    "artifactRepositoryRef",
    "workflowMetadata",
    "metrics",
    "archiveLocation",
    "serviceAccount",
];

const TEMPLATE_IGNORED: &[&str] = &[
    "metadata",
    "annotations",
    "podResources",
    "resourceClaims",
    "podSpecPatch",
    "nodeSelector",
    "affinity",
    "tolerations",
    "securityContext",
    "serviceAccountName",
    "automountServiceAccountToken",
    "archiveLocation",
    "priorityClassName",
    "priority",
    "schedulerName",
    "executor",
    "metrics",
    "artifactGC",
    "podPriorityClassName",
    "podPriority",
];

const CONTAINER_IGNORED: &[&str] = &[
    "resources",
    "imagePullPolicy",
    "securityContext",
    "ports",
    "livenessProbe",
    "readinessProbe",
    "startupProbe",
    "terminationMessagePath",
    "terminationMessagePolicy",
    "name",
    "stdin",
    "stdinOnce",
    "tty",
];

/// Kubernetes fields that would change what a step does, and why the engine cannot honour
/// them on one machine.
const REFUSED_WHY: &[(&str, &str)] = &[
    (
        "hostAliases",
        "a step cannot get its own /etc/hosts entries on this machine",
    ),
    (
        "volumeDevices",
        "raw block devices cannot be given to a step here",
    ),
    (
        "lifecycle",
        "postStart/preStop hooks are not run by the local engine",
    ),
    (
        "resource",
        "resource templates create Kubernetes objects: they need a Kubernetes cluster",
    ),
    (
        "data",
        "data templates (transformations of an artifact listing) are not supported by the local engine",
    ),
    (
        "plugin",
        "executor plugin templates run in an agent pod on a cluster: not supported by the local engine",
    ),
];
/// Fields honoured by `volumes`/`sync` and checked there (`crate::volumes::decl`).
const SPEC_HONOURED: &[&str] = &[
    "volumes",
    "volumeClaimTemplates",
    "volumeClaimGC",
    "synchronization",
];
const TEMPLATE_HONOURED: &[&str] = &["volumes", "synchronization"];
const CONTAINER_HONOURED: &[&str] = &["volumeMounts", "envFrom"];

/// Collects ignored field paths; the first unsupported one is an error.
struct Checker {
    ignored: Vec<String>,
}

impl Checker {
    fn extra(&mut self, path: &str, extra: &Extra, ignorable: &[&str]) -> Result<(), EngineError> {
        let honoured = match path {
            "spec" => SPEC_HONOURED,
            p if p.ends_with(".container") || p.ends_with(".script") => CONTAINER_HONOURED,
            p if p.starts_with("spec.templates[") && p.ends_with(']') && !p.contains("].") => {
                TEMPLATE_HONOURED
            }
            _ => &[],
        };
        for (key, value) in extra {
            if honoured.contains(&key.as_str()) {
                continue;
            } else if ignorable.contains(&key.as_str()) {
                self.ignored.push(format!("{path}.{key}"));
            } else if !value.is_null() {
                let why = REFUSED_WHY
                    .iter()
                    .find(|(k, _)| k == key)
                    .map_or("not supported by the local engine", |(_, why)| why);
                return Err(EngineError::unsupported(format!("{path}.{key}"), why));
            }
        }
        Ok(())
    }

    fn params(&mut self, path: &str, params: &[Parameter]) -> Result<(), EngineError> {
        for p in params {
            let here = format!("{path}.parameters[{}]", p.name);
            self.extra(&here, &p.extra, &[])?;
            if let Some(vf) = &p.value_from {
                // `configMapKeyRef` is read at submit (`volumes::env::check_params`).
                let mut rest = vf.extra.clone();
                rest.remove("configMapKeyRef");
                self.extra(&format!("{here}.valueFrom"), &rest, &[])?;
            }
        }
        Ok(())
    }

    fn arguments(&mut self, path: &str, args: &Option<Arguments>) -> Result<(), EngineError> {
        if let Some(a) = args {
            self.extra(&format!("{path}.arguments"), &a.extra, &[])?;
            self.params(&format!("{path}.arguments"), &a.parameters)?;
            crate::artifacts::check_arguments(&format!("{path}.arguments"), &a.artifacts)?;
        }
        Ok(())
    }

    fn container(&mut self, path: &str, c: &Container) -> Result<(), EngineError> {
        self.extra(path, &c.extra, CONTAINER_IGNORED)?;
        crate::volumes::decl::mounts(path, &c.extra)?;
        crate::volumes::decl::env_from(path, &c.extra)?;
        for e in &c.env {
            // `valueFrom` reads a Secret or ConfigMap key (`volumes::env`).
            let here = format!("{path}.env[{}]", e.name);
            let mut rest = e.extra.clone();
            rest.remove("valueFrom");
            self.extra(&here, &rest, &[])?;
            crate::volumes::decl::env_value_from(&here, &e.extra)?;
        }
        let known_entrypoint = c.image.as_deref().and_then(crate::images::entrypoint);
        if c.command.is_empty() && known_entrypoint.is_none() {
            return Err(EngineError::unsupported(
                format!("{path}.command"),
                "a command is required (the image's entrypoint is unknown on the host)",
            ));
        }
        Ok(())
    }

    fn step(&mut self, path: &str, s: &StepLike) -> Result<(), EngineError> {
        let here = format!("{path}[{}]", s.call.name);
        self.extra(&here, &s.extra, &[])?;
        self.arguments(&here, &s.call.arguments)?;
        if let Some(inline) = &s.call.inline {
            if s.call.template.is_some() || s.call.template_ref.is_some() {
                return Err(EngineError::Invalid(format!(
                    "{here}: `inline` excludes `template` and `templateRef`"
                )));
            }
            self.template_at(&format!("{here}.inline"), inline)?;
        } else if s.call.template.is_none() && s.call.template_ref.is_none() {
            return Err(EngineError::Invalid(format!(
                "{here}: one of `template`, `templateRef` or `inline` is required"
            )));
        }
        if let Some(hooks) = &s.call.hooks {
            check_hooks(&format!("{here}.hooks"), hooks)?;
        }
        Ok(())
    }

    fn template(&mut self, t: &Template) -> Result<(), EngineError> {
        if t.name.is_empty() {
            return Err(EngineError::Invalid("a template has no `name`".into()));
        }
        self.template_at(&format!("spec.templates[{}]", t.name), t)
    }

    fn template_at(&mut self, path: &str, t: &Template) -> Result<(), EngineError> {
        let path = path.to_string();
        self.extra(&path, &t.extra, TEMPLATE_IGNORED)?;
        check_patch(&format!("{path}.podSpecPatch"), &t.extra)?;
        crate::volumes::decl::volumes(&path, &t.extra)?;
        if let Some(i) = &t.inputs {
            self.extra(&format!("{path}.inputs"), &i.extra, &[])?;
            self.params(&format!("{path}.inputs"), &i.parameters)?;
        }
        if let Some(o) = &t.outputs {
            self.extra(&format!("{path}.outputs"), &o.extra, &[])?;
            self.params(&format!("{path}.outputs"), &o.parameters)?;
        }
        crate::artifacts::check_template(&path, t)?;
        if let Some(r) = &t.retry_strategy {
            self.extra(&format!("{path}.retryStrategy"), &r.extra, &["affinity"])?;
            if let Some(b) = &r.backoff {
                // `cap` is deprecated in Argo (replaced by maxDuration) and has no effect.
                self.extra(&format!("{path}.retryStrategy.backoff"), &b.extra, &["cap"])?;
            }
        }
        let kinds = [
            t.container.is_some(),
            t.script.is_some(),
            t.steps.is_some(),
            t.dag.is_some(),
            t.suspend.is_some(),
            t.container_set.is_some(),
            t.http.is_some(),
        ];
        match kinds.iter().filter(|k| **k).count() {
            1 => {}
            0 => {
                return Err(EngineError::unsupported(
                    path,
                    "template has none of container, script, steps, dag, suspend, containerSet, http (other template types are not supported)",
                ))
            }
            _ => {
                return Err(EngineError::Invalid(format!(
                    "{path}: more than one of container, script, steps, dag, suspend, containerSet, http"
                )))
            }
        }
        crate::exec::suspend::validate(&path, t)?;
        crate::exec::memoize::validate(&path, t)?;
        self.pod_kinds(&path, t)?;
        if let Some(c) = &t.container {
            self.container(&format!("{path}.container"), c)?;
        }
        if let Some(s) = &t.script {
            self.container(&format!("{path}.script"), &s.container)?;
        }
        if let Some(groups) = &t.steps {
            for (i, g) in groups.iter().enumerate() {
                for s in g {
                    self.step(&format!("{path}.steps[{i}]"), s)?;
                }
            }
        }
        if let Some(d) = &t.dag {
            self.extra(&format!("{path}.dag"), &d.extra, &[])?;
            for task in &d.tasks {
                self.step(&format!("{path}.dag.tasks"), task)?;
            }
        }
        Ok(())
    }
}

/// A `podSpecPatch` in `extra` may only set container resources.
fn check_patch(path: &str, extra: &Extra) -> Result<(), EngineError> {
    match extra.get("podSpecPatch") {
        Some(Value::String(patch)) => crate::pod_spec_patch::check(path, patch),
        Some(Value::Null) | None => Ok(()),
        Some(_) => Err(EngineError::Invalid(format!("{path} must be a string"))),
    }
}

fn check_hooks(
    path: &str,
    hooks: &BTreeMap<String, crate::model::LifecycleHook>,
) -> Result<(), EngineError> {
    for (name, hook) in hooks {
        if name != "exit" {
            return Err(EngineError::unsupported(
                format!("{path}.{name}"),
                "only the `exit` lifecycle hook is supported",
            ));
        }
        if hook.expression.is_some() {
            return Err(EngineError::unsupported(
                format!("{path}.{name}.expression"),
                "expression hooks are not supported",
            ));
        }
    }
    Ok(())
}

/// Validates a whole document; with `log`, names the ignored Kubernetes-only fields in one
/// info line.
pub fn validate_document(wf: &Workflow, log: bool) -> Result<(), EngineError> {
    match wf.kind.as_str() {
        "Workflow" | "WorkflowTemplate" | "ClusterWorkflowTemplate" | "" => {}
        other => {
            return Err(EngineError::unsupported(
                "kind",
                format!("`{other}` (expected Workflow or WorkflowTemplate)"),
            ))
        }
    }
    let mut c = Checker {
        ignored: Vec::new(),
    };
    c.extra("", &wf.extra, &["status"])?;
    for key in wf.metadata.extra.keys() {
        c.ignored.push(format!("metadata.{key}"));
    }
    c.extra("spec", &wf.spec.extra, SPEC_IGNORED)?;
    check_patch("spec.podSpecPatch", &wf.spec.extra)?;
    crate::volumes::decl::volumes("spec", &wf.spec.extra)?;
    crate::volumes::decl::claim_templates(&wf.spec.extra)?;
    crate::volumes::decl::claim_gc(&wf.spec.extra)?;
    c.arguments("spec", &wf.spec.arguments)?;
    if let Some(gc) = &wf.spec.artifact_gc {
        crate::artifacts::check_gc("spec.artifactGC", gc)?;
    }
    if let Some(hooks) = &wf.spec.hooks {
        check_hooks("spec.hooks", hooks)?;
    }
    if let Some(defaults) = &wf.spec.template_defaults {
        if let Value::Object(map) = defaults {
            for key in map.keys() {
                if !matches!(
                    key.as_str(),
                    "retryStrategy" | "activeDeadlineSeconds" | "timeout" | "container" | "script"
                ) && !TEMPLATE_IGNORED.contains(&key.as_str())
                {
                    return Err(EngineError::unsupported(
                        format!("spec.templateDefaults.{key}"),
                        "not supported by the local engine",
                    ));
                }
            }
        } else {
            return Err(EngineError::Invalid(
                "spec.templateDefaults must be an object".into(),
            ));
        }
    }
    let mut names = std::collections::HashSet::new();
    for t in &wf.spec.templates {
        c.template(t)?;
        if !names.insert(t.name.as_str()) {
            return Err(EngineError::Invalid(format!(
                "spec.templates: duplicate template name `{}`",
                t.name
            )));
        }
    }
    if log && !c.ignored.is_empty() {
        let path = |p: &String| p.trim_start_matches('.').to_string();
        let list: Vec<String> = c.ignored.iter().map(path).collect();
        tracing::info!(
            workflow = %wf.display_name(),
            "ignoring Kubernetes-only fields (no meaning on the local engine): {}",
            list.join(", ")
        );
    }
    Ok(())
}
