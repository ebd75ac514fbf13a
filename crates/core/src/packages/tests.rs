//! Packages written to a temp directory: a sound one loads with its source and digest, and each
//! kind of mistake is reported with its file and where in it.

use super::*;
use crate::Registry;

const WORKFLOW: &str = "apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: echo-}
spec:
  entrypoint: main
  arguments:
    parameters: [{name: config_id}, {name: version_number}]
  templates:
    - name: main
      container: {image: busybox, command: [sh, -c, 'echo hello']}
";

const MANIFEST: &str = "name: echo-files
description: Says hello.
workflow: workflow.yaml
config_schema:
  type: object
  required: [greeting]
  properties:
    greeting: {type: string, minLength: 1}
secrets:
  - name: api_key
    description: The key of the API
example_config: {greeting: hi}
";

fn package(root: &Path, dir: &str, manifest: &str, workflow: &str) -> PathBuf {
    let path = root.join(dir);
    std::fs::create_dir_all(&path).expect("package dir");
    std::fs::write(path.join(MANIFEST_FILE), manifest).expect("manifest");
    std::fs::write(path.join("workflow.yaml"), workflow).expect("workflow");
    path
}

fn problems_of(manifest: &str, workflow: &str) -> Vec<Problem> {
    let root = tempfile::tempdir().expect("temp dir");
    package(root.path(), "p", manifest, workflow);
    match load_dir(root.path(), &[]) {
        Ok(_) => Vec::new(),
        Err(problems) => problems.0,
    }
}

fn assert_problem(problems: &[Problem], file: &str, location: &str, words: &str) {
    assert!(
        problems
            .iter()
            .any(|p| p.file.ends_with(file) && p.location == location && p.message.contains(words)),
        "no problem in {file} at {location:?} saying {words:?}: {problems:#?}"
    );
}

#[test]
fn a_sound_package_loads_with_its_source_and_digest() {
    let root = tempfile::tempdir().expect("temp dir");
    let dir = package(root.path(), "echo", MANIFEST, WORKFLOW);
    let loaded = load_dir(root.path(), &[]).expect("valid");
    assert_eq!(loaded.len(), 1);
    let manifest = &loaded[0].manifest;
    assert_eq!(manifest.name, "echo-files");
    assert_eq!(manifest.source, dir.display().to_string());
    assert!(
        manifest.digest.starts_with("sha256:"),
        "{}",
        manifest.digest
    );
    assert_eq!(
        manifest.secrets[0].description.as_deref(),
        Some("The key of the API")
    );
    assert_eq!(
        manifest.runtime_params_schema["type"], "object",
        "runtime params default to an empty object"
    );
    std::fs::write(dir.join("workflow.yaml"), WORKFLOW.replace("hello", "bye")).expect("edit");
    let edited = load_dir(&dir, &[]).expect("a package directory itself loads too");
    assert_ne!(
        edited[0].manifest.digest, manifest.digest,
        "the digest follows the files"
    );
}

#[test]
fn unknown_keys_are_refused_with_their_line() {
    let problems = problems_of(&format!("{MANIFEST}colour: blue\n"), WORKFLOW);
    assert_problem(
        &problems,
        "manifest.yaml",
        "line 13",
        "unknown field `colour`",
    );
}

#[test]
fn schemas_that_do_not_compile_and_examples_that_do_not_validate_are_named() {
    let manifest = MANIFEST
        .replace("minLength: 1", "minLength: -1")
        .replace("{greeting: hi}", "{greeting: 5}");
    let problems = problems_of(&manifest, WORKFLOW);
    assert_problem(
        &problems,
        "manifest.yaml",
        "/config_schema",
        "not a valid JSON Schema",
    );
    let manifest = MANIFEST.replace("{greeting: hi}", "{greeting: 5}");
    let problems = problems_of(&manifest, WORKFLOW);
    assert_problem(
        &problems,
        "manifest.yaml",
        "/example_config/greeting",
        "not of type",
    );
}

#[test]
fn a_workflow_the_engine_refuses_or_without_the_run_parameters_is_named() {
    let problems = problems_of(MANIFEST, "kind: CronJob\nspec: {}\n");
    assert_problem(
        &problems,
        "workflow.yaml",
        "",
        "the local engine refuses it",
    );
    let problems = problems_of(MANIFEST, &WORKFLOW.replace("{name: config_id}, ", ""));
    assert_problem(
        &problems,
        "workflow.yaml",
        "/spec/arguments/parameters",
        "config_id",
    );
    let unknown = WORKFLOW.replace("entrypoint: main", "entrypoint: mian");
    let problems = problems_of(MANIFEST, &unknown);
    assert_problem(&problems, "workflow.yaml", "", "would not start it");
    assert_problem(&problems, "workflow.yaml", "", "mian");
    let needs_more = WORKFLOW.replace(
        "{name: version_number}]",
        "{name: version_number}, {name: table}]",
    );
    let problems = problems_of(MANIFEST, &needs_more);
    assert_problem(&problems, "workflow.yaml", "", "table");
}

#[test]
fn names_secrets_and_workflow_paths_are_checked() {
    let manifest = MANIFEST
        .replace("name: echo-files", "name: Echo_Files")
        .replace("workflow: workflow.yaml", "workflow: ../elsewhere.yaml")
        .replace(
            "    description: The key of the API\n",
            "    description: The key of the API\n  - name: api_key\n",
        );
    let problems = problems_of(&manifest, WORKFLOW);
    assert_problem(&problems, "manifest.yaml", "/name", "lowercase");
    assert_problem(
        &problems,
        "manifest.yaml",
        "/workflow",
        "inside the package",
    );
    assert_problem(
        &problems,
        "manifest.yaml",
        "/secrets/1/name",
        "listed twice",
    );
}

#[test]
fn every_problem_of_every_package_is_reported_and_nothing_loads() {
    let root = tempfile::tempdir().expect("temp dir");
    package(root.path(), "good", MANIFEST, WORKFLOW);
    package(
        root.path(),
        "bad",
        &MANIFEST.replace("name: echo-files", "name: x"),
        "{",
    );
    let problems = Registry::load(&[root.path().to_path_buf()], &[]).expect_err("refused");
    assert!(problems.0.len() >= 2, "{problems}");
    assert!(problems
        .0
        .iter()
        .all(|p| p.file.starts_with(root.path().join("bad"))));
}

#[test]
fn a_package_named_like_a_built_in_replaces_it() {
    let root = tempfile::tempdir().expect("temp dir");
    let manifest = MANIFEST.replace("name: echo-files", "name: sftp-to-storage");
    let dir = package(root.path(), "mine", &manifest, WORKFLOW);
    let registry = Registry::load(&[root.path().to_path_buf()], &[]).expect("valid");
    let name = WorkflowType::parse("sftp-to-storage").expect("name");
    let replaced = registry.get(&name).expect("still there");
    assert_eq!(replaced.manifest.source, dir.display().to_string());
    assert_eq!(registry.names(), ["ingestion", "sftp-to-storage"]);
}

#[test]
fn the_built_in_packages_are_sound() {
    let registry = Registry::builtin();
    for manifest in registry.all() {
        assert_eq!(manifest.manifest.source, "built-in");
        assert!(manifest.workflow_yaml.contains("kind: Workflow"));
    }
}

fn job(name: &str, required: &[&str]) -> polyphemus_model::JobSpec {
    polyphemus_model::JobSpec {
        name: name.to_owned(),
        description: String::new(),
        config_schema: serde_json::json!({"type": "object", "required": required}),
        secrets: Vec::new(),
    }
}

#[test]
fn job_steps_must_name_a_job_whose_required_keys_the_config_schema_provides() {
    let workflow = WORKFLOW.replace(
        "      container: {image: busybox, command: [sh, -c, 'echo hello']}\n",
        "      steps:\n      - - {name: a, template: job, arguments: {parameters: [{name: job, value: fetch}]}}\n        - {name: b, template: job, arguments: {parameters: [{name: job, value: nope}]}}\n    - name: job\n      inputs: {parameters: [{name: job}]}\n      container: {image: polyphemus, command: [polyphemus], args: [run_job, echo-files, '{{inputs.parameters.job}}']}\n",
    );
    let root = tempfile::tempdir().expect("temp dir");
    package(root.path(), "p", MANIFEST, &workflow);
    let jobs = [job("fetch", &["greeting", "url"])];
    let problems = load_dir(root.path(), &jobs).expect_err("refused").0;
    assert_problem(
        &problems,
        "workflow.yaml",
        "/spec/templates/1",
        "the job nope, which does not exist (jobs: fetch)",
    );
    assert_problem(
        &problems,
        "manifest.yaml",
        "/config_schema/properties",
        "the job fetch",
    );
    assert_problem(
        &problems,
        "manifest.yaml",
        "/config_schema/properties",
        "reads url",
    );
    assert_eq!(problems.len(), 2, "greeting is provided: {problems:#?}");
    assert!(
        load_dir(root.path(), &[]).is_ok(),
        "without a job catalogue, job steps are not checked"
    );
}
