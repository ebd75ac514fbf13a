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
