//! Validation of the pod kinds beyond one container: `daemon`, `sidecars`, `initContainers`,
//! `containerSet`, `http`.

use std::collections::HashSet;

use super::Checker;
use crate::error::EngineError;
use crate::model::{Container, ContainerSet, Http, Probe, Template};

/// Probe fields with no meaning for a one-shot readiness wait.
const PROBE_IGNORED: &[&str] = &[
    "failureThreshold",
    "successThreshold",
    "terminationGracePeriodSeconds",
];

const HTTP_METHODS: &[&str] = &["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

impl Checker {
    /// Checks the pod-kind fields of template `t` at `path`.
    pub(super) fn pod_kinds(&mut self, path: &str, t: &Template) -> Result<(), EngineError> {
        let single = t.container.is_some() || t.script.is_some();
        if !single {
            let misplaced = [
                ("daemon", t.daemon == Some(true)),
                ("sidecars", !t.sidecars.is_empty()),
                ("initContainers", !t.init_containers.is_empty()),
            ];
            if let Some((field, _)) = misplaced.iter().find(|(_, set)| *set) {
                return Err(EngineError::unsupported(
                    format!("{path}.{field}"),
                    "only supported on container and script templates",
                ));
            }
        }
        for (field, list) in [
            ("sidecars", &t.sidecars),
            ("initContainers", &t.init_containers),
        ] {
            for (i, c) in list.iter().enumerate() {
                let name = container_name(c).unwrap_or_else(|| i.to_string());
                self.side_container(&format!("{path}.{field}[{name}]"), c)?;
            }
        }
        if t.daemon == Some(true) {
            let main = t
                .container
                .as_ref()
                .or(t.script.as_ref().map(|s| &s.container));
            if let Some(probe) = main.and_then(|c| c.extra.get("readinessProbe")) {
                self.probe(&format!("{path}.readinessProbe"), probe)?;
            }
        }
        if let Some(cs) = &t.container_set {
            self.container_set(&format!("{path}.containerSet"), cs)?;
        }
        if let Some(h) = &t.http {
            self.http(&format!("{path}.http"), h)?;
        }
        Ok(())
    }

    fn side_container(&mut self, path: &str, c: &Container) -> Result<(), EngineError> {
        let mut c = c.clone();
        // The name is used (log files, messages); `mirrorVolumeMounts` mounts the main
        // container's volumes (`exec::sidecar`).
        c.extra.remove("name");
        c.extra.remove("mirrorVolumeMounts");
        own_mounts_refused(
            path,
            &c,
            "use `mirrorVolumeMounts: true` for the main container's",
        )?;
        self.container(path, &c)
    }

    fn probe(&mut self, path: &str, probe: &serde_json::Value) -> Result<(), EngineError> {
        let p: Probe = serde_json::from_value(probe.clone())
            .map_err(|e| EngineError::Invalid(format!("{path}: {e}")))?;
        self.extra(path, &p.extra, PROBE_IGNORED)?;
        if let Some(h) = &p.http_get {
            // Headers and host would go to a pod's IP; here the probe goes to loopback.
            self.extra(
                &format!("{path}.httpGet"),
                &h.extra,
                &["host", "httpHeaders"],
            )?;
        }
        if let Some(tcp) = &p.tcp_socket {
            self.extra(&format!("{path}.tcpSocket"), &tcp.extra, &["host"])?;
        }
        Ok(())
    }

    fn container_set(&mut self, path: &str, cs: &ContainerSet) -> Result<(), EngineError> {
        // Mounted into every container (`exec::container_set`).
        let mut rest = cs.extra.clone();
        rest.remove("volumeMounts");
        self.extra(path, &rest, &[])?;
        if cs.containers.is_empty() {
            return Err(EngineError::Invalid(format!(
                "{path}.containers: none given"
            )));
        }
        let mut names = HashSet::new();
        for c in &cs.containers {
            if c.name.is_empty() || !names.insert(c.name.as_str()) {
                return Err(EngineError::Invalid(format!(
                    "{path}.containers: each container needs a unique `name` (`{}`)",
                    c.name
                )));
            }
        }
        for c in &cs.containers {
            let here = format!("{path}.containers[{}]", c.name);
            own_mounts_refused(
                &here,
                &c.container,
                "`containerSet.volumeMounts` are mounted into every container",
            )?;
            self.container(&here, &c.container)?;
            if let Some(d) = c.dependencies.iter().find(|d| !names.contains(d.as_str())) {
                return Err(EngineError::Invalid(format!(
                    "{here}.dependencies: no container named `{d}`"
                )));
            }
        }
        if let Some(r) = &cs.retry_strategy {
            self.extra(&format!("{path}.retryStrategy"), &r.extra, &[])?;
            let bad = r
                .retries
                .as_deref()
                .is_some_and(|n| n.parse::<u32>().is_err());
            if bad {
                return Err(EngineError::Invalid(format!(
                    "{path}.retryStrategy.retries: not a number"
                )));
            }
        }
        Ok(())
    }

    fn http(&mut self, path: &str, h: &Http) -> Result<(), EngineError> {
        self.extra(path, &h.extra, &[])?;
        if h.url.is_empty() {
            return Err(EngineError::Invalid(format!("{path}.url: required")));
        }
        if let Some(m) = &h.method {
            if !HTTP_METHODS.contains(&m.to_ascii_uppercase().as_str()) && !m.contains("{{") {
                return Err(EngineError::unsupported(
                    format!("{path}.method"),
                    format!("`{m}`"),
                ));
            }
        }
        for header in &h.headers {
            let here = format!("{path}.headers[{}]", header.name);
            if header.extra.contains_key("valueFrom") {
                return Err(EngineError::unsupported(
                    format!("{here}.valueFrom"),
                    "header values from Secrets are not supported by the local engine yet",
                ));
            }
            self.extra(&here, &header.extra, &[])?;
        }
        if let Some(b) = &h.body_from {
            self.extra(&format!("{path}.bodyFrom"), &b.extra, &[])?;
            if h.body.is_some() {
                return Err(EngineError::Invalid(format!(
                    "{path}: only one of `body` and `bodyFrom`"
                )));
            }
        }
        Ok(())
    }
}

/// Refuses a pod's other container's own `volumeMounts` (only the pod-level ones are mounted).
fn own_mounts_refused(path: &str, c: &Container, instead: &str) -> Result<(), EngineError> {
    if c.extra.contains_key("volumeMounts") {
        return Err(EngineError::unsupported(
            format!("{path}.volumeMounts"),
            format!("not supported for this container (only the pod's main container mounts its own); {instead}"),
        ));
    }
    Ok(())
}

/// A sidecar's or init container's `name` (kept with the container's other fields).
pub(crate) fn container_name(c: &Container) -> Option<String> {
    c.extra
        .get("name")
        .and_then(|v| v.as_str())
        .map(str::to_string)
}
