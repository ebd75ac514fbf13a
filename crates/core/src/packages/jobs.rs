//! The job steps of a package's workflow: each `polyphemus run_job <workflow> <job>` must name a
//! job that exists, and the package's config schema must provide the keys that job requires.

use super::check::Problem;
use super::{PackageFiles, MANIFEST_FILE};
use polyphemus_model::JobSpec;
use serde_json::Value;
use std::collections::BTreeSet;

/// Problems of the job steps of `workflow` (Argo's Workflow as JSON) against `jobs`.
pub(super) fn check(
    files: &PackageFiles,
    workflow_file: &str,
    workflow: &Value,
    config_schema: &Value,
    jobs: &[JobSpec],
) -> Vec<Problem> {
    let provided: BTreeSet<&str> = config_schema["properties"]
        .as_object()
        .map(|properties| properties.keys().map(String::as_str).collect())
        .unwrap_or_default();
    let mut problems = Vec::new();
    for (index, name) in job_steps(workflow) {
        let pointer = format!("/spec/templates/{index}");
        let Some(job) = jobs.iter().find(|job| job.name == name) else {
            let known: Vec<&str> = jobs.iter().map(|job| job.name.as_str()).collect();
            problems.push(Problem::new(
                files.path(workflow_file),
                &pointer,
                format!(
                    "runs the job {name}, which does not exist (jobs: {})",
                    known.join(", ")
                ),
            ));
            continue;
        };
        let required = job.config_schema["required"].as_array();
        for key in required.into_iter().flatten().filter_map(Value::as_str) {
            if !provided.contains(key) {
                problems.push(Problem::new(
                    files.path(MANIFEST_FILE),
                    "/config_schema/properties",
                    format!("the job {name} ({workflow_file} {pointer}) reads {key}, which the config schema does not provide"),
                ));
            }
        }
    }
    problems
}

/// (template index, job name) of every `run_job` step; a job named by an input parameter is
/// each literal value callers pass for it (and its default).
fn job_steps(workflow: &Value) -> Vec<(usize, String)> {
    let templates = workflow["spec"]["templates"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut steps = Vec::new();
    for (index, template) in templates.iter().enumerate() {
        let Some(token) = job_token(template) else {
            continue;
        };
        match token
            .strip_prefix("{{inputs.parameters.")
            .and_then(|t| t.strip_suffix("}}"))
        {
            Some(parameter) => {
                let name = template["name"].as_str().unwrap_or_default();
                for value in passed_values(&templates, template, name, parameter.trim()) {
                    steps.push((index, value));
                }
            }
            None if !token.contains("{{") => steps.push((index, token)),
            None => {}
        }
    }
    steps
}

/// The argument after `run_job <workflow>` in a container's command and args.
fn job_token(template: &Value) -> Option<String> {
    let container = template.get("container")?;
    let words: Vec<&str> = ["command", "args"]
        .iter()
        .filter_map(|key| container[key].as_array())
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let at = words.iter().position(|word| *word == "run_job")?;
    words.get(at + 2).map(|word| (*word).to_owned())
}

/// Literal values of `parameter` given to template `name` by steps and DAG tasks, and its
/// default value.
fn passed_values(
    templates: &[Value],
    template: &Value,
    name: &str,
    parameter: &str,
) -> Vec<String> {
    let literal = |value: &Value| {
        value
            .as_str()
            .filter(|v| !v.contains("{{"))
            .map(str::to_owned)
    };
    let mut values: Vec<String> = template["inputs"]["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|input| input["name"] == parameter)
        .filter_map(|input| literal(&input["value"]))
        .collect();
    let calls = templates.iter().flat_map(|caller| {
        let steps = caller["steps"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|group| group.as_array().cloned().unwrap_or_default());
        let tasks = caller["dag"]["tasks"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        steps.chain(tasks).collect::<Vec<_>>()
    });
    for call in calls.filter(|call| call["template"] == name) {
        let arguments = call["arguments"]["parameters"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        values.extend(
            arguments
                .iter()
                .filter(|argument| argument["name"] == parameter)
                .filter_map(|argument| literal(&argument["value"])),
        );
    }
    values.sort();
    values.dedup();
    values
}
