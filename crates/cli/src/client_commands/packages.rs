//! The workflow-package commands that need no server: `workflows validate DIR…` and
//! `workflows export --argo DIR`.

use super::workflows::WorkflowsCommand;
use anyhow::Context as _;
use polyphemus_core::packages::{self, Problem, Problems};
use polyphemus_core::Registry;
use serde_yaml::{Mapping, Value};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Runs a command that works on package directories alone; `None` for the others.
pub fn run_local(command: &WorkflowsCommand) -> Option<anyhow::Result<ExitCode>> {
    match command {
        WorkflowsCommand::Validate { dirs } => Some(validate(dirs)),
        WorkflowsCommand::Export {
            argo,
            workflows_dirs,
        } => Some(export(argo, workflows_dirs).map(|()| ExitCode::SUCCESS)),
        _ => None,
    }
}

/// `workflows validate`: the same checks `serve --workflows-dir` makes before it starts.
pub fn validate(dirs: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let mut problems = Problems::default();
    let mut names = Vec::new();
    for dir in dirs {
        match packages::load_dir(dir, &polyphemus_jobs::job_specs()) {
            Ok(found) if found.is_empty() => problems.push(Problem::new(
                dir.clone(),
                "",
                "holds no workflow package (no manifest.yaml in it or its subdirectories)",
            )),
            Ok(found) => names.extend(found.into_iter().map(|p| p.manifest.name.to_string())),
            Err(more) => problems.extend(more),
        }
    }
    if problems.0.is_empty() {
        println!(
            "{} valid: {}",
            plural(names.len(), "package"),
            names.join(", ")
        );
        return Ok(ExitCode::SUCCESS);
    }
    for problem in &problems.0 {
        eprintln!("{problem}");
    }
    eprintln!(
        "polyphemus: {} in the workflow packages",
        plural(problems.0.len(), "problem")
    );
    Ok(ExitCode::FAILURE)
}

fn plural(count: usize, word: &str) -> String {
    if count == 1 {
        format!("1 {word}")
    } else {
        format!("{count} {word}s")
    }
}

/// Writes `<dir>/<name>.yaml`, a WorkflowTemplate whose spec is the package workflow's spec,
/// for every package: what `deploy/` ships so `argo submit --from workflowtemplate/<name>` runs
/// what Polyphemus runs.
pub fn export(dir: &Path, workflows_dirs: &[PathBuf]) -> anyhow::Result<()> {
    let registry = Registry::load(workflows_dirs, &polyphemus_jobs::job_specs())
        .map_err(|problems| anyhow::anyhow!("the workflow packages are not valid:\n{problems}"))?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for manifest in registry.all() {
        let name = manifest.name().as_str();
        let template = workflow_template(name, &manifest.workflow_yaml)
            .with_context(|| format!("reading the workflow of {name}"))?;
        let text = format!(
            "# The workflow package {name} as a WorkflowTemplate, for `argo submit --from \
             workflowtemplate/{name}`.\n# Written by `polyphemus workflows export --argo`; \
             its spec is exactly the package's workflow's.\n{}",
            serde_yaml::to_string(&template)?
        );
        let path = dir.join(format!("{name}.yaml"));
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        println!("wrote {}", path.display());
    }
    Ok(())
}

fn workflow_template(name: &str, workflow_yaml: &str) -> anyhow::Result<Value> {
    let workflow: Value = serde_yaml::from_str(workflow_yaml)?;
    let mut metadata = Mapping::new();
    metadata.insert("name".into(), name.into());
    if let Some(labels) = workflow.get("metadata").and_then(|m| m.get("labels")) {
        metadata.insert("labels".into(), labels.clone());
    }
    let mut template = Mapping::new();
    template.insert("apiVersion".into(), "argoproj.io/v1alpha1".into());
    template.insert("kind".into(), "WorkflowTemplate".into());
    template.insert("metadata".into(), Value::Mapping(metadata));
    template.insert(
        "spec".into(),
        workflow.get("spec").cloned().unwrap_or(Value::Null),
    );
    Ok(Value::Mapping(template))
}
