//! Template resolution: the `WorkflowTemplate` library loaded from a directory, lookup of
//! `template:` / `templateRef:` from the right origin, `templateDefaults`, and the static check
//! that every referenced template exists before anything runs.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::error::EngineError;
use crate::model::{Invocation, Template, Workflow, WorkflowSpec};

/// `WorkflowTemplate`s (and `ClusterWorkflowTemplate`s) by `metadata.name`.
#[derive(Debug, Clone, Default)]
pub struct TemplateLibrary {
    templates: HashMap<String, Arc<Workflow>>,
    /// Documents of the directory that cannot run here, by name, with why: refused only when
    /// a workflow references them, so one unsupported template nobody uses stops nothing.
    refused: HashMap<String, String>,
}

impl TemplateLibrary {
    pub fn new() -> Self {
        Self::default()
    }

    /// Loads every `*.yaml` / `*.yml` file of `dir` (multi-document files allowed); documents of
    /// kind `WorkflowTemplate` or `ClusterWorkflowTemplate` are kept. A document that does not
    /// parse or is not supported is kept as refused, its reason given when referenced.
    pub fn load_dir(dir: impl AsRef<Path>) -> Result<Self, EngineError> {
        let dir = dir.as_ref();
        let mut lib = Self::new();
        let entries = std::fs::read_dir(dir).map_err(|e| EngineError::io(dir, e))?;
        let mut paths: Vec<_> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                matches!(
                    p.extension().and_then(|e| e.to_str()),
                    Some("yaml") | Some("yml")
                )
            })
            .collect();
        paths.sort();
        for path in paths {
            let text = std::fs::read_to_string(&path).map_err(|e| EngineError::io(&path, e))?;
            for document in serde_yaml::Deserializer::from_str(&text) {
                // After a syntax error the rest of the file cannot be read (and the iterator
                // would repeat the error).
                if !lib.load_document(&path, document) {
                    break;
                }
            }
        }
        Ok(lib)
    }

    /// Keeps one document; false when it is not YAML.
    fn load_document(&mut self, path: &Path, document: serde_yaml::Deserializer<'_>) -> bool {
        use serde::Deserialize;
        let value = match serde_yaml::Value::deserialize(document) {
            Ok(value) => value,
            Err(error) => {
                // No name to refuse it under: a reference to it reads "unknown template".
                tracing::warn!(path = %path.display(), %error, "a template file is not YAML");
                return false;
            }
        };
        let kind = value
            .get("kind")
            .and_then(|k| k.as_str())
            .unwrap_or_default();
        if !kind.ends_with("WorkflowTemplate") {
            return true;
        }
        let name = value
            .get("metadata")
            .and_then(|m| m.get("name"))
            .and_then(|n| n.as_str())
            .map(str::to_owned);
        let Some(name) = name else {
            tracing::warn!(path = %path.display(), "a WorkflowTemplate without metadata.name");
            return true;
        };
        let parsed = serde_yaml::from_value::<Workflow>(value)
            .map_err(|e| EngineError::Yaml(e.to_string()))
            .and_then(|wf| crate::validate::validate_document(&wf, false).map(|()| wf));
        match parsed {
            Ok(wf) => {
                self.templates.insert(name, Arc::new(wf));
            }
            Err(error) => {
                self.refused
                    .insert(name, format!("{}: {error}", path.display()));
            }
        }
        true
    }

    /// Adds one template document; it needs a `metadata.name`.
    pub fn add(&mut self, wf: Workflow) -> Result<(), EngineError> {
        let name =
            wf.metadata.name.clone().ok_or_else(|| {
                EngineError::Invalid("a WorkflowTemplate needs metadata.name".into())
            })?;
        self.templates.insert(name, Arc::new(wf));
        Ok(())
    }

    /// Adds the template document `text` (YAML or JSON) under `name`, replacing one of that
    /// name. One that does not parse or is not supported is kept as refused, as [`Self::load_dir`]
    /// keeps them: a workflow referencing it is told why.
    pub fn add_text(&mut self, name: &str, text: &str) {
        let parsed = serde_yaml::from_str::<Workflow>(text)
            .map_err(|e| EngineError::Yaml(e.to_string()))
            .and_then(|wf| crate::validate::validate_document(&wf, false).map(|()| wf));
        match parsed {
            Ok(wf) => {
                self.refused.remove(name);
                self.templates.insert(name.to_owned(), Arc::new(wf));
            }
            Err(error) => {
                self.templates.remove(name);
                self.refused.insert(name.to_owned(), error.to_string());
            }
        }
    }

    pub fn get(&self, name: &str) -> Option<&Arc<Workflow>> {
        self.templates.get(name)
    }

    /// The template named `name`, or why it cannot be used.
    pub fn lookup(&self, name: &str) -> Result<&Arc<Workflow>, EngineError> {
        if let Some(workflow) = self.templates.get(name) {
            return Ok(workflow);
        }
        match self.refused.get(name) {
            Some(why) => Err(EngineError::Invalid(format!(
                "WorkflowTemplate {name} cannot run here: {why}"
            ))),
            None => Err(EngineError::UnknownTemplate(format!(
                "WorkflowTemplate {name}"
            ))),
        }
    }

    pub fn names(&self) -> impl Iterator<Item = &String> {
        self.templates.keys()
    }
}

/// Where a template was found: the workflow itself or a named `WorkflowTemplate`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Origin {
    Workflow,
    Library(String),
}

#[derive(Debug, Clone)]
pub struct Resolved {
    pub template: Arc<Template>,
    pub origin: Origin,
}

/// Resolves template references with `templateDefaults` applied, caching the results.
pub struct Resolver {
    spec: Arc<WorkflowSpec>,
    library: Arc<TemplateLibrary>,
    cache: Mutex<HashMap<(Origin, String), Arc<Template>>>,
}

fn merge(base: &mut Value, over: &Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(k) {
                    Some(slot) => merge(slot, v),
                    None => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (slot, v) => *slot = v.clone(),
    }
}

impl Resolver {
    pub fn new(spec: Arc<WorkflowSpec>, library: Arc<TemplateLibrary>) -> Self {
        Self {
            spec,
            library,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The effective workflow spec the run resolves against.
    pub fn spec(&self) -> Arc<WorkflowSpec> {
        self.spec.clone()
    }

    fn templates_of(&self, origin: &Origin) -> Result<&[Template], EngineError> {
        match origin {
            Origin::Workflow => Ok(&self.spec.templates),
            Origin::Library(name) => self
                .library
                .lookup(name)
                .map(|w| w.spec.templates.as_slice()),
        }
    }

    /// Finds `name` in `origin`.
    pub fn by_name(&self, origin: &Origin, name: &str) -> Result<Resolved, EngineError> {
        let key = (origin.clone(), name.to_string());
        if let Ok(cache) = self.cache.lock() {
            if let Some(t) = cache.get(&key) {
                return Ok(Resolved {
                    template: t.clone(),
                    origin: origin.clone(),
                });
            }
        }
        let raw = self
            .templates_of(origin)?
            .iter()
            .find(|t| t.name == name)
            .ok_or_else(|| match origin {
                Origin::Workflow => EngineError::UnknownTemplate(name.to_string()),
                Origin::Library(w) => EngineError::UnknownTemplate(format!("{w}/{name}")),
            })?;
        let template = Arc::new(self.with_defaults(raw, name)?);
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(key, template.clone());
        }
        Ok(Resolved {
            template,
            origin: origin.clone(),
        })
    }

    /// `raw` with the workflow's `templateDefaults` under it.
    fn with_defaults(&self, raw: &Template, name: &str) -> Result<Template, EngineError> {
        let Some(defaults) = &self.spec.template_defaults else {
            return Ok(raw.clone());
        };
        let mut merged = defaults.clone();
        let own = serde_json::to_value(raw).map_err(|e| EngineError::Internal(e.to_string()))?;
        merge(&mut merged, &own);
        serde_json::from_value(merged)
            .map_err(|e| EngineError::Invalid(format!("spec.templateDefaults on `{name}`: {e}")))
    }

    /// Resolves a step's / task's / hook's `template` or `templateRef`.
    pub fn resolve(
        &self,
        template: Option<&str>,
        template_ref: Option<&crate::model::TemplateRef>,
        from: &Origin,
    ) -> Result<Resolved, EngineError> {
        match (template_ref, template) {
            (Some(r), _) => self.by_name(&Origin::Library(r.name.clone()), &r.template),
            (None, Some(t)) => self.by_name(from, t),
            (None, None) => Err(EngineError::Invalid(
                "one of `template` or `templateRef` is required".into(),
            )),
        }
    }

    pub fn resolve_call(&self, call: &Invocation, from: &Origin) -> Result<Resolved, EngineError> {
        if let Some(inline) = &call.inline {
            let template = self.with_defaults(inline, &call.name)?;
            return Ok(Resolved {
                template: Arc::new(template),
                origin: from.clone(),
            });
        }
        self.resolve(call.template.as_deref(), call.template_ref.as_ref(), from)
    }

    /// Checks that every template reachable from `roots` exists, and DAG dependencies name tasks.
    pub fn check_references(&self, roots: &[String]) -> Result<(), EngineError> {
        let mut seen: HashSet<(Origin, String)> = HashSet::new();
        let mut todo: Vec<(Origin, String)> = roots
            .iter()
            .map(|r| (Origin::Workflow, r.clone()))
            .collect();
        for t in &self.spec.templates {
            todo.push((Origin::Workflow, t.name.clone()));
        }
        while let Some((origin, name)) = todo.pop() {
            if !seen.insert((origin.clone(), name.clone())) {
                continue;
            }
            let r = self.by_name(&origin, &name)?;
            let t = r.template;
            let mut calls: Vec<&Invocation> = Vec::new();
            if let Some(groups) = &t.steps {
                calls.extend(groups.iter().flatten().map(|s| &s.call));
            }
            if let Some(dag) = &t.dag {
                let names: HashSet<&str> = dag.tasks.iter().map(|t| t.call.name.as_str()).collect();
                for task in &dag.tasks {
                    calls.push(&task.call);
                    for dep in crate::exec::depends::dependencies_of(task) {
                        if !names.contains(dep.as_str()) {
                            return Err(EngineError::Invalid(format!(
                                "spec.templates[{}].dag.tasks[{}]: dependency `{dep}` is not a task of this DAG",
                                t.name, task.call.name
                            )));
                        }
                    }
                }
            }
            for call in calls {
                let target = self.resolve_call(call, &origin).map_err(|e| match e {
                    EngineError::UnknownTemplate(n) => EngineError::UnknownTemplate(format!(
                        "{n} (referenced by step/task `{}` of template `{}`)",
                        call.name, t.name
                    )),
                    other => other,
                })?;
                let given: HashSet<&str> = call
                    .arguments
                    .iter()
                    .flat_map(|a| a.parameters.iter().map(|p| p.name.as_str()))
                    .collect();
                for p in target
                    .template
                    .inputs
                    .iter()
                    .flat_map(|i| i.parameters.iter())
                {
                    if p.value.is_none() && p.default.is_none() && !given.contains(p.name.as_str())
                    {
                        return Err(EngineError::MissingParameter(format!(
                            "{}: step/task `{}` of template `{}` passes no `{}` to template `{}`",
                            p.name, call.name, t.name, p.name, target.template.name
                        )));
                    }
                }
                if call.inline.is_none() {
                    todo.push((target.origin, target.template.name.clone()));
                }
                for hook in call.hooks.iter().flat_map(|h| h.values()) {
                    let h = self.resolve(
                        hook.template.as_deref(),
                        hook.template_ref.as_ref(),
                        &origin,
                    )?;
                    todo.push((h.origin, h.template.name.clone()));
                }
                if let Some(exit) = &call.on_exit {
                    todo.push((origin.clone(), exit.clone()));
                }
            }
        }
        Ok(())
    }
}
