//! A node's writable layer: it writes at absolute paths outside its `/tmp` and working dir as
//! in a container (a new `/result.txt`, a new file in an existing `/usr/local/bin`), its
//! artifacts and output parameters are read from there, and the host itself is never written
//! nor read for it. Each test says so and passes trivially where the host offers no sandbox.

mod common;

use common::node;
use polyphemus_engine::{
    ArtifactRepository, Engine, EngineError, EngineOptions, Isolation, Phase, SandboxSupport,
    TemplateLibrary, Workflow, WorkflowObject,
};
use std::path::Path;

fn engine(isolation: Isolation, repo: &Path) -> Engine {
    common::init_tracing();
    Engine::new(EngineOptions {
        work_dir: common::work_dir(),
        isolation,
        artifact_repository: Some(ArtifactRepository::local(repo.to_path_buf())),
        ..Default::default()
    })
}

async fn run(engine: &Engine, yaml: &str) -> Result<WorkflowObject, EngineError> {
    let wf = Workflow::from_yaml(yaml).expect("valid workflow");
    engine.run(wf, Vec::new(), &TemplateLibrary::new()).await
}

fn output_param(wf: &WorkflowObject, suffix: &str, name: &str) -> Option<String> {
    let n = serde_json::to_value(node(wf, suffix)).expect("json");
    n["outputs"]["parameters"]
        .as_array()?
        .iter()
        .find(|p| p["name"] == name)
        .and_then(|p| p["value"].as_str().map(str::to_owned))
}

/// The unique names the test writes at, so that parallel runs and the host never collide.
fn unique(tag: &str) -> String {
    format!("polyphemus-layer-{tag}-{}", uuid::Uuid::new_v4().simple())
}

#[tokio::test]
async fn a_node_writes_new_top_level_entries_and_into_existing_directories_but_never_the_host() {
    let repo = tempfile::tempdir().expect("tmp");
    let engine = engine(Isolation::Auto, repo.path());
    if engine.sandbox_support() == SandboxSupport::None {
        eprintln!("no sandbox on this host: nothing to check");
        return;
    }
    let (top, tool) = (unique("top"), unique("tool"));
    let yaml = format!(
        r#"
kind: Workflow
metadata: {{generateName: layer-}}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - name: write
        template: write
    - - name: read
        template: read
        arguments:
          artifacts:
          - {{name: result, from: "{{{{steps.write.outputs.artifacts.result}}}}"}}
          - {{name: tool, from: "{{{{steps.write.outputs.artifacts.tool}}}}"}}
  - name: write
    script:
      image: python:alpine
      command: [sh]
      source: |
        echo it was heads > result.txt
        mkdir -p /{top}/deep && echo deep > /{top}/deep/part.json
        printf '#!/bin/sh\necho tool ran\n' > /usr/local/bin/{tool} && chmod +x /usr/local/bin/{tool}
        touch /etc/{top} 2>/dev/null && echo WROTE-ETC
        echo done
    outputs:
      parameters: [{{name: part, valueFrom: {{path: /{top}/deep/part.json}}}}]
      artifacts:
      - {{name: result, path: /result.txt}}
      - {{name: tool, path: /usr/local/bin/{tool}, archive: {{none: {{}}}}}}
  - name: read
    inputs:
      artifacts:
      - {{name: result, path: /inputs/result/data}}
      - {{name: tool, path: /usr/local/bin/{tool}, mode: 0755}}
    script:
      image: alpine
      command: [sh]
      source: |
        cat /inputs/result/data
        {tool}
        pwd
"#
    );
    let wf = run(&engine, &yaml).await.expect("starts");
    assert_eq!(wf.status.phase, Phase::Succeeded, "{:?}", wf.status.message);
    let write = common::result(node(&wf, "[0].write")).unwrap_or_default();
    assert_eq!(write, "done", "the host's /etc stays read-only");
    assert_eq!(
        output_param(&wf, "[0].write", "part").as_deref(),
        Some("deep")
    );
    let read = common::result(node(&wf, "[1].read")).unwrap_or_default();
    assert_eq!(read, "it was heads\ntool ran\n/", "{read}");
    for p in [
        format!("/{top}"),
        "/result.txt".into(),
        format!("/usr/local/bin/{tool}"),
        format!("/etc/{top}"),
    ] {
        assert!(!Path::new(&p).exists(), "{p} was made on the host");
    }
}

#[tokio::test]
async fn outputs_are_never_read_from_the_host_for_a_node() {
    let repo = tempfile::tempdir().expect("tmp");
    let engine = engine(Isolation::Auto, repo.path());
    if engine.sandbox_support() == SandboxSupport::None {
        eprintln!("no sandbox on this host: nothing to check");
        return;
    }
    // A file of the server's that a step could name as its output.
    let secret = std::env::current_dir()
        .expect("cwd")
        .join(format!("target/{}", unique("key")));
    std::fs::create_dir_all(secret.parent().expect("parent")).expect("dir");
    std::fs::write(&secret, "s3cr3t").expect("write");
    let yaml = format!(
        r#"
kind: Workflow
metadata: {{generateName: layer-read-}}
spec:
  entrypoint: param
  templates:
  - name: param
    container: {{image: alpine, command: ["true"]}}
    outputs:
      parameters: [{{name: key, valueFrom: {{path: "{secret}"}}}}]
"#,
        secret = secret.display()
    );
    let wf = run(&engine, &yaml).await.expect("starts");
    let _ = std::fs::remove_file(&secret);
    assert_eq!(wf.status.phase, Phase::Error);
    let message = wf.status.message.clone().unwrap_or_default();
    assert!(!format!("{wf:?}").contains("s3cr3t"), "{message}");
    let n = node(&wf, "");
    assert!(
        n.message
            .as_deref()
            .unwrap_or_default()
            .contains("failed to read output parameter 'key'"),
        "{:?}",
        n.message
    );
    let etc = run(
        &engine,
        r#"
kind: Workflow
metadata: {generateName: layer-etc-}
spec:
  entrypoint: art
  templates:
  - name: art
    container: {image: alpine, command: ["true"]}
    outputs:
      artifacts: [{name: etc, path: /etc}]
"#,
    )
    .await
    .expect("starts");
    assert_eq!(etc.status.phase, Phase::Error);
    let msg = node(&etc, "").message.clone().unwrap_or_default();
    assert!(msg.contains("`/etc` is the host's own"), "{msg}");
}

#[tokio::test]
async fn without_a_sandbox_an_artifact_outside_tmp_is_refused_by_field() {
    let repo = tempfile::tempdir().expect("tmp");
    let engine = engine(Isolation::Off, repo.path());
    let refused = run(
        &engine,
        r#"
kind: Workflow
metadata: {generateName: outside-}
spec:
  entrypoint: main
  templates:
  - name: main
    inputs:
      artifacts: [{name: kubectl, path: /bin/kubectl, raw: {data: "x"}}]
    container: {image: alpine, command: [kubectl]}
"#,
    )
    .await;
    let msg = refused.expect_err("refused").to_string();
    assert!(
        msg.contains("spec.templates[main].inputs.artifacts[kubectl].path")
            && msg.contains("needs the step sandbox"),
        "{msg}"
    );
}
