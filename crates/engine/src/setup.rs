//! What `Engine::submit_with` checks and builds before a run starts: the effective spec
//! (with `workflowTemplateRef` merged), workflow parameters, the entry and exit templates, the
//! run's name and directory, and its `workflow.*` variables. Every error is returned here,
//! before anything runs.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::error::EngineError;
use crate::library::{Origin, Resolved, Resolver, TemplateLibrary};
use crate::model::{Arguments, TemplateRef, Workflow, WorkflowSpec};
use crate::template::Scope;

/// A workflow whose spec, parameters and templates have been checked.
pub(crate) struct Checked {
    pub spec: Arc<WorkflowSpec>,
    pub resolver: Resolver,
    /// Workflow parameters with their values.
    pub args: Vec<(String, String)>,
    pub entry: String,
    pub entry_t: Resolved,
    /// The exit handler: its arguments and template.
    pub exit: Option<(Option<Arguments>, Resolved)>,
}

/// An exit handler as declared: template name, template ref, arguments.
type ExitDecl = (Option<String>, Option<TemplateRef>, Option<Arguments>);

/// Whether the engine would start `wf` given only `params`, with no template library (as the
/// server's local orchestrator runs a workflow package): every reference resolves and every
/// parameter without a default is given.
pub fn check_startable(wf: &Workflow, params: &[(String, String)]) -> Result<(), EngineError> {
    check(wf, params, &TemplateLibrary::default()).map(|_| ())
}

/// [`check_startable`] with `library` for the workflow's `workflowTemplateRef` and
/// `templateRef`s, as a run submitted with that library resolves them.
pub fn check_startable_with(
    wf: &Workflow,
    params: &[(String, String)],
    library: &TemplateLibrary,
) -> Result<(), EngineError> {
    check(wf, params, library).map(|_| ())
}

/// Whether `template` can serve as a `WorkflowTemplate` here: it has templates, each resolves
/// (its `templateRef`s against `library`) and is passed the parameters it needs, and its
/// entrypoint and exit handler, when given, are among them. Workflow arguments may lack values:
/// a workflow using the template gives them.
pub fn check_template(template: &Workflow, library: &TemplateLibrary) -> Result<(), EngineError> {
    let spec = &template.spec;
    if spec.workflow_template_ref.is_some() {
        return Err(EngineError::unsupported(
            "spec.workflowTemplateRef",
            "a WorkflowTemplate cannot be based on another one",
        ));
    }
    if spec.templates.is_empty() {
        return Err(EngineError::Invalid(
            "spec.templates: a WorkflowTemplate needs at least one template".into(),
        ));
    }
    let mut roots: Vec<String> = spec.entrypoint.iter().cloned().collect();
    roots.extend(spec.on_exit.iter().cloned());
    Resolver::new(Arc::new(spec.clone()), Arc::new(library.clone())).check_references(&roots)
}

/// Checks `wf`'s spec, parameters and the templates its entry point and exit handler reach.
pub(crate) fn check(
    wf: &Workflow,
    params: &[(String, String)],
    library: &TemplateLibrary,
) -> Result<Checked, EngineError> {
    let mut spec = effective_spec(wf, library)?;
    let mut args = workflow_params(&mut spec, params)?;
    if let Some(a) = &spec.arguments {
        args.extend(crate::artifacts::arguments(&a.artifacts, &Scope::new())?);
    }
    let entry = spec
        .entrypoint
        .clone()
        .ok_or_else(|| EngineError::Invalid("spec.entrypoint is required".into()))?;
    let exit = exit_handler(&spec);
    let spec = Arc::new(spec);
    let resolver = Resolver::new(spec.clone(), Arc::new(library.clone()));
    let mut roots = vec![entry.clone()];
    roots.extend(exit.as_ref().and_then(|e| e.0.clone()));
    resolver.check_references(&roots)?;
    let entry_t = resolver.by_name(&Origin::Workflow, &entry)?;
    for p in entry_t
        .template
        .inputs
        .iter()
        .flat_map(|i| i.parameters.iter())
    {
        if p.value.is_none() && p.default.is_none() && !args.iter().any(|(n, _)| n == &p.name) {
            return Err(EngineError::MissingParameter(p.name.clone()));
        }
    }
    let exit = match exit {
        Some((t, r, a)) => Some((
            a,
            resolver.resolve(t.as_deref(), r.as_ref(), &Origin::Workflow)?,
        )),
        None => None,
    };
    Ok(Checked {
        spec,
        resolver,
        args,
        entry,
        entry_t,
        exit,
    })
}

/// `spec.onExit`, else the `exit` lifecycle hook.
fn exit_handler(spec: &WorkflowSpec) -> Option<ExitDecl> {
    spec.on_exit
        .clone()
        .map(|t| (Some(t), None, None))
        .or_else(|| {
            let h = spec.hooks.as_ref()?.get("exit")?;
            Some((
                h.template.clone(),
                h.template_ref.clone(),
                h.arguments.clone(),
            ))
        })
}

/// The run's name and `generateName` (a fixed name, or a generated one from the uid).
pub(crate) fn run_name(
    wf: &Workflow,
    uid: &uuid::Uuid,
) -> Result<(String, Option<String>), EngineError> {
    // A WorkflowTemplate submitted directly runs as `<its name>-xxxxx` (argo submit --from).
    let from_template = wf.kind.ends_with("WorkflowTemplate");
    let generate = match (&wf.metadata.generate_name, &wf.metadata.name) {
        (Some(g), _) => Some(g.clone()),
        (None, Some(n)) if from_template => Some(format!("{n}-")),
        _ => None,
    };
    let fixed = wf.metadata.name.clone().filter(|_| !from_template);
    let name = match (&fixed, &generate) {
        (Some(n), _) => n.clone(),
        (None, Some(g)) => format!("{g}{}", random_suffix(uid)),
        (None, None) => {
            return Err(EngineError::Invalid(
                "metadata.name or metadata.generateName is required".into(),
            ))
        }
    };
    Ok((name, generate))
}

/// Creates `<work_dir>/<name>/` and its `work`, `tmp`, `logs`, `scripts`; its absolute path.
pub(crate) fn create_run_dir(work_dir: &Path, name: &str) -> Result<PathBuf, EngineError> {
    let run_dir = work_dir.join(name);
    std::fs::create_dir_all(&run_dir).map_err(|e| EngineError::io(&run_dir, e))?;
    // Children run in their node directories: every path handed to them must be absolute.
    let run_dir = std::path::absolute(&run_dir).map_err(|e| EngineError::io(&run_dir, e))?;
    for sub in ["work", "tmp", "logs", "scripts", "pids", "sandbox"] {
        let d = run_dir.join(sub);
        std::fs::create_dir_all(&d).map_err(|e| EngineError::io(&d, e))?;
    }
    Ok(run_dir)
}

/// The `workflow.*` variables a run starts with.
pub(crate) fn globals(
    name: &str,
    uid: &str,
    namespace: &str,
    checked: &Checked,
    now: &DateTime<Utc>,
) -> Scope {
    let mut globals = Scope::new();
    globals.set("workflow.name", name.to_string());
    globals.set("workflow.uid", uid.to_string());
    globals.set("workflow.namespace", namespace.to_string());
    globals.set("workflow.mainEntrypoint", checked.entry.clone());
    globals.set("workflow.creationTimestamp", crate::status::fmt_time(now));
    globals.set("workflow.status", "Running");
    // Argo: `workflow.parameters.json` is the JSON list of `{name, value}` parameters.
    let mut all = Vec::new();
    for (k, v) in &checked.args {
        globals.set(format!("workflow.parameters.{k}"), v.clone());
        all.push(serde_json::json!({"name": k, "value": v}));
    }
    globals.set(
        "workflow.parameters.json",
        serde_json::Value::Array(all).to_string(),
    );
    globals
}

fn random_suffix(uid: &uuid::Uuid) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    uid.as_bytes()[..5]
        .iter()
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect()
}

/// Merges `spec.workflowTemplateRef` into the workflow's own spec.
fn effective_spec(wf: &Workflow, library: &TemplateLibrary) -> Result<WorkflowSpec, EngineError> {
    let Some(r) = &wf.spec.workflow_template_ref else {
        return Ok(wf.spec.clone());
    };
    let base = library.lookup(&r.name)?;
    let mut spec = base.spec.clone();
    let own = &wf.spec;
    spec.templates.extend(own.templates.iter().cloned());
    if own.entrypoint.is_some() {
        spec.entrypoint = own.entrypoint.clone();
    }
    if own.on_exit.is_some() {
        spec.on_exit = own.on_exit.clone();
    }
    if let Some(args) = &own.arguments {
        let merged = spec.arguments.get_or_insert_with(Default::default);
        for p in &args.parameters {
            merged.parameters.retain(|x| x.name != p.name);
            merged.parameters.push(p.clone());
        }
    }
    spec.parallelism = own.parallelism.or(spec.parallelism);
    spec.active_deadline_seconds = own.active_deadline_seconds.or(spec.active_deadline_seconds);
    spec.workflow_template_ref = None;
    Ok(spec)
}

/// Resolves workflow parameters: declared values overridden by `params`; all must have a value.
fn workflow_params(
    spec: &mut WorkflowSpec,
    params: &[(String, String)],
) -> Result<Vec<(String, String)>, EngineError> {
    let args = spec.arguments.get_or_insert_with(Default::default);
    for (k, v) in params {
        match args.parameters.iter_mut().find(|p| &p.name == k) {
            Some(p) => p.value = Some(v.clone()),
            None => args.parameters.push(crate::model::Parameter {
                name: k.clone(),
                value: Some(v.clone()),
                ..Default::default()
            }),
        }
    }
    let mut out = Vec::new();
    for p in &args.parameters {
        let value = p
            .value
            .clone()
            .or_else(|| p.default.clone())
            .or_else(|| p.value_from.as_ref().and_then(|v| v.default.clone()))
            .ok_or_else(|| EngineError::MissingParameter(p.name.clone()))?;
        if let Some(allowed) = &p.r#enum {
            if !allowed.contains(&value) {
                return Err(EngineError::Invalid(format!(
                    "spec.arguments.parameters.{}: value `{value}` is not one of {allowed:?}",
                    p.name
                )));
            }
        }
        out.push((p.name.clone(), value));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(text: &str) -> Workflow {
        Workflow::from_yaml(text).expect("parses")
    }

    const SAY: &str = r#"
kind: WorkflowTemplate
metadata: {name: say}
spec:
  arguments: {parameters: [{name: who}]}
  templates:
  - name: say
    inputs: {parameters: [{name: who, default: world}]}
    container: {image: busybox, command: [echo, "{{inputs.parameters.who}}"]}
"#;

    #[test]
    fn a_template_may_leave_workflow_arguments_to_its_users() {
        assert!(check_template(&doc(SAY), &TemplateLibrary::new()).is_ok());
    }

    #[test]
    fn a_template_needs_known_templates_and_references() {
        let no_entry = SAY.replace("  arguments:", "  entrypoint: nowhere\n  arguments:");
        let error = check_template(&doc(&no_entry), &TemplateLibrary::new()).unwrap_err();
        assert!(error.to_string().contains("nowhere"), "{error}");
        let caller = r#"
kind: WorkflowTemplate
metadata: {name: caller}
spec:
  templates:
  - name: main
    steps: [[{name: hi, templateRef: {name: say, template: say}}]]
"#;
        let error = check_template(&doc(caller), &TemplateLibrary::new()).unwrap_err();
        assert!(
            error.to_string().contains("WorkflowTemplate say"),
            "{error}"
        );
        let mut library = TemplateLibrary::new();
        library.add_text("say", SAY);
        assert!(check_template(&doc(caller), &library).is_ok());
    }

    #[test]
    fn a_stored_document_that_cannot_run_is_refused_when_referenced() {
        let mut library = TemplateLibrary::new();
        library.add_text("bad", "kind: WorkflowTemplate\nspec: {bogus: 1}\n");
        let error = library.lookup("bad").expect_err("refused");
        assert!(error.to_string().contains("bogus"), "{error}");
        library.add_text("bad", SAY);
        assert!(library.lookup("bad").is_ok());
    }
}
