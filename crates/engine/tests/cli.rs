//! `run_command` (what `polyphemus engine run` mounts): exit codes, templates directory.
#![expect(clippy::unwrap_used, reason = "tests fail loudly on bad fixtures")]

mod common;

use std::path::PathBuf;

use polyphemus_engine::cli::{run_command, EngineRunArgs, OutputFormat};

fn write(dir: &str, name: &str, text: &str) -> PathBuf {
    let d = common::work_dir().join(dir);
    std::fs::create_dir_all(&d).unwrap();
    let p = d.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn args(file: PathBuf) -> EngineRunArgs {
    EngineRunArgs {
        file,
        params: Vec::new(),
        templates: None,
        output: OutputFormat::Json,
        watch: false,
        work_dir: Some(common::work_dir()),
        k8s_objects: None,
        volumes_dir: None,
    }
}

#[tokio::test]
async fn exit_codes_follow_the_phase() {
    common::init_tracing();
    let ok = write("cli", "ok.yaml", "kind: Workflow\nmetadata: {generateName: cli-ok-}\nspec:\n  entrypoint: m\n  arguments: {parameters: [{name: who}]}\n  templates:\n  - name: m\n    container: {image: x, command: [echo, '{{workflow.parameters.who}}']}\n");
    let mut a = args(ok.clone());
    a.params = vec!["who=me".into()];
    assert_eq!(run_command(a).await, 0);
    assert_eq!(run_command(args(ok)).await, 2, "missing parameter");

    let fail = write("cli", "fail.yaml", "kind: Workflow\nmetadata: {generateName: cli-fail-}\nspec:\n  entrypoint: m\n  templates:\n  - name: m\n    container: {image: x, command: [sh, -c, 'exit 1']}\n");
    let mut a = args(fail);
    a.output = OutputFormat::Text;
    assert_eq!(run_command(a).await, 1);

    let bad = write("cli", "bad.yaml", "spec: [");
    assert_eq!(run_command(args(bad)).await, 2);
    assert_eq!(
        run_command(args(PathBuf::from("/nonexistent.yaml"))).await,
        2
    );
}

#[tokio::test]
async fn templates_directory_serves_template_refs() {
    common::init_tracing();
    write(
        "cli-templates",
        "lib.yaml",
        "apiVersion: argoproj.io/v1alpha1\nkind: WorkflowTemplate\nmetadata: {name: lib-a}\nspec:\n  templates:\n  - name: hi\n    container: {image: x, command: [echo, hi]}\n---\nkind: WorkflowTemplate\nmetadata: {name: lib-b}\nspec:\n  templates:\n  - name: bye\n    container: {image: x, command: [echo, bye]}\n",
    );
    let wf = write("cli", "ref.yaml", "kind: Workflow\nmetadata: {generateName: cli-ref-}\nspec:\n  entrypoint: m\n  templates:\n  - name: m\n    dag:\n      tasks:\n      - {name: a, templateRef: {name: lib-a, template: hi}}\n      - {name: b, templateRef: {name: lib-b, template: bye}, depends: a}\n");
    let lib =
        polyphemus_engine::TemplateLibrary::load_dir(common::work_dir().join("cli-templates"))
            .unwrap();
    assert_eq!(lib.names().count(), 2);
    let mut a = args(wf.clone());
    a.templates = Some(common::work_dir().join("cli-templates"));
    assert_eq!(run_command(a).await, 0);
    assert_eq!(
        run_command(args(wf)).await,
        2,
        "templateRef without --templates"
    );
}

#[tokio::test]
async fn a_template_nobody_uses_does_not_stop_a_run_and_one_used_is_refused_naming_why() {
    common::init_tracing();
    let dir = "cli-lazy-templates";
    write(dir, "good.yaml", "kind: WorkflowTemplate\nmetadata: {name: good}\nspec:\n  templates:\n  - name: hi\n    container: {image: x, command: [echo, hi]}\n");
    // `resource` templates need a cluster: refused, but only when referenced.
    write(dir, "cluster.yaml", "kind: WorkflowTemplate\nmetadata: {name: needs-cluster}\nspec:\n  templates:\n  - name: k\n    resource: {action: create, manifest: 'kind: ConfigMap'}\n");
    write(
        dir,
        "broken.yaml",
        "kind: WorkflowTemplate\nmetadata: {name: broken\n",
    );
    let lib = polyphemus_engine::TemplateLibrary::load_dir(common::work_dir().join(dir)).unwrap();
    let refused = lib.lookup("needs-cluster").expect_err("refused");
    assert!(refused.to_string().contains("cluster.yaml"), "{refused}");
    assert!(refused.to_string().contains("resource"), "{refused}");

    let uses_good = write("cli", "uses-good.yaml", "kind: Workflow\nmetadata: {generateName: cli-good-}\nspec:\n  entrypoint: m\n  templates:\n  - name: m\n    steps: [[{name: a, templateRef: {name: good, template: hi}}]]\n");
    let mut a = args(uses_good);
    a.templates = Some(common::work_dir().join(dir));
    assert_eq!(
        run_command(a).await,
        0,
        "the unused bad templates stop nothing"
    );

    let uses_cluster = write("cli", "uses-cluster.yaml", "kind: Workflow\nmetadata: {generateName: cli-cluster-}\nspec:\n  entrypoint: m\n  templates:\n  - name: m\n    steps: [[{name: a, templateRef: {name: needs-cluster, template: k}}]]\n");
    let mut a = args(uses_cluster);
    a.templates = Some(common::work_dir().join(dir));
    assert_eq!(
        run_command(a).await,
        2,
        "a referenced unsupported template is refused"
    );
}

#[tokio::test]
async fn cron_workflows_templates_and_multi_document_files_run_as_argo_would_create_them() {
    common::init_tracing();
    let cron = write("cli", "cron.yaml", "apiVersion: argoproj.io/v1alpha1\nkind: CronWorkflow\nmetadata: {name: cli-cron}\nspec:\n  schedule: '*/5 * * * *'\n  workflowSpec:\n    entrypoint: m\n    templates:\n    - name: m\n      container: {image: x, command: [echo, from cron]}\n");
    assert_eq!(run_command(args(cron)).await, 0);
    let template = write("cli", "template.yaml", "kind: WorkflowTemplate\nmetadata: {name: cli-tmpl}\nspec:\n  entrypoint: m\n  templates:\n  - name: m\n    container: {image: x, command: [echo, from template]}\n");
    assert_eq!(run_command(args(template)).await, 0);
    // A template and two workflows using it: both run, and one failing fails the command.
    let several = "kind: WorkflowTemplate\nmetadata: {name: cli-shared}\nspec:\n  templates:\n  - name: code\n    inputs: {parameters: [{name: code}]}\n    container: {image: x, command: [sh, -c, 'exit {{inputs.parameters.code}}']}\n---\n";
    let workflow = |code: u8| {
        format!("kind: Workflow\nmetadata: {{generateName: cli-multi-{code}-}}\nspec:\n  entrypoint: m\n  templates:\n  - name: m\n    steps: [[{{name: a, templateRef: {{name: cli-shared, template: code}}, arguments: {{parameters: [{{name: code, value: '{code}'}}]}}}}]]\n")
    };
    let both_pass = write(
        "cli",
        "multi-ok.yaml",
        &format!("{several}{}---\n{}", workflow(0), workflow(0)),
    );
    assert_eq!(run_command(args(both_pass)).await, 0);
    let one_fails = write(
        "cli",
        "multi-fail.yaml",
        &format!("{several}{}---\n{}", workflow(0), workflow(3)),
    );
    assert_eq!(run_command(args(one_fails)).await, 1);
    let config_map = write(
        "cli",
        "config-map.yaml",
        "kind: ConfigMap\nmetadata: {name: c}\n",
    );
    assert_eq!(run_command(args(config_map)).await, 2, "not a workflow");
}
