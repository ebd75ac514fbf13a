//! Exit hooks of steps and tasks see the finished node; workflow `hooks.exit` works like `onExit`.

mod common;

use common::{node, result, run};
use polyphemus_engine::Phase;

#[tokio::test]
async fn step_and_task_hooks_see_their_node() {
    let wf = run(r#"
kind: Workflow
metadata: {generateName: hooks-}
spec:
  entrypoint: main
  hooks:
    exit: {template: report, arguments: {parameters: [{name: msg, value: "wf {{workflow.status}}"}]}}
  templates:
  - name: main
    steps:
    - - name: hello
        template: say
        hooks:
          exit:
            template: report
            arguments: {parameters: [{name: msg, value: "{{steps.hello.status}} {{steps.hello.outputs.result}}"}]}
    - - {name: inner, template: dag}
  - name: dag
    dag:
      tasks:
      - name: t
        template: fail
        onExit: report-default
        continueOn: {failed: true}
  - name: say
    container: {image: x, command: [echo, hi]}
  - name: fail
    container: {image: x, command: [sh, -c, "exit 5"]}
  - name: report
    inputs: {parameters: [{name: msg}]}
    container: {image: x, command: [echo, "{{inputs.parameters.msg}}"]}
  - name: report-default
    container: {image: x, command: [echo, "task done"]}
"#)
    .await;
    assert_eq!(wf.status.phase, Phase::Succeeded, "{:?}", wf.status.message);
    assert_eq!(result(node(&wf, "[0].hello.onExit")), Some("Succeeded hi"));
    assert_eq!(node(&wf, "[1].inner.t").phase, Phase::Failed);
    assert_eq!(result(node(&wf, "[1].inner.t.onExit")), Some("task done"));
    assert_eq!(result(node(&wf, ".onExit")), Some("wf Succeeded"));
}

#[tokio::test]
async fn work_dir_under_tmp_stays_reachable_in_private_tmp() {
    common::init_tracing();
    let engine = common::engine();
    if !engine.private_tmp() {
        println!("skipped: no private /tmp here");
        return;
    }
    let mut opts = engine.options().clone();
    opts.work_dir = std::path::PathBuf::from(format!(
        "/tmp/polyphemus-engine-test-{}",
        std::process::id()
    ));
    let wf = polyphemus_engine::Workflow::from_yaml(
        "kind: Workflow\nmetadata: {generateName: under-tmp-}\nspec:\n  entrypoint: m\n  templates:\n  - name: m\n    script: {image: x, command: [sh], source: 'cd \"$PWD\" && echo ok > /tmp/o && cat /tmp/o'}\n    outputs: {parameters: [{name: o, valueFrom: {path: /tmp/o}}]}\n",
    )
    .unwrap();
    let wf = polyphemus_engine::Engine::new(opts.clone())
        .run(wf, Vec::new(), &polyphemus_engine::TemplateLibrary::new())
        .await
        .unwrap();
    let _ = std::fs::remove_dir_all(&opts.work_dir);
    assert_eq!(wf.status.phase, Phase::Succeeded, "{:?}", wf.status.message);
    assert_eq!(result(node(&wf, "")), Some("ok"));
    assert_eq!(
        node(&wf, "").outputs.as_ref().and_then(|o| o.param("o")),
        Some("ok")
    );
}
