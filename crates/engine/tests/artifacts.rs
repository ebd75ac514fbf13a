//! Artifacts as Argo's examples use them, with real processes, a real HTTP server and a real
//! S3 server (moto): passing by `from`, path placeholders, `raw`, `http`, `s3` in and out,
//! `archive: none`, `subPath`, global outputs, `optional`, `fromExpression`, `artifactGC`,
//! and the refusals.

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use common::{node, result};
use polyphemus_engine::{
    delete_run_artifacts, ArtifactRepository, Engine, EngineError, EngineOptions, Phase,
    SecretSource, Secrets, TemplateLibrary, Workflow, WorkflowObject,
};
use polyphemus_testkit::S3Server;
use serde_json::Value;

fn engine_with(repo: ArtifactRepository, secrets: Option<Secrets>) -> Engine {
    let base = common::engine();
    Engine::new(EngineOptions {
        artifact_repository: Some(repo),
        secrets,
        ..base.options().clone()
    })
}

async fn run_on(engine: &Engine, yaml: &str) -> WorkflowObject {
    common::init_tracing();
    let wf = Workflow::from_yaml(yaml).expect("valid workflow");
    engine
        .run(wf, Vec::new(), &TemplateLibrary::new())
        .await
        .expect("workflow starts")
}

/// A fresh local repository (its own directory: tests run in parallel).
fn local_repo() -> (tempfile::TempDir, ArtifactRepository) {
    let dir = tempfile::tempdir().expect("tmp");
    let repo = ArtifactRepository::local(dir.path().join("repo"));
    (dir, repo)
}

fn json(wf: &WorkflowObject, suffix: &str) -> Value {
    serde_json::to_value(node(wf, suffix)).expect("node json")
}

fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                todo.push(p);
            } else {
                out.push(p.strip_prefix(dir).expect("under").display().to_string());
            }
        }
    }
    out.sort();
    out
}

const ARTIFACT_PASSING: &str = r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  generateName: artifact-passing-
spec:
  entrypoint: artifact-example
  templates:
  - name: artifact-example
    steps:
    - - name: generate-artifact
        template: hello-world-to-file
    - - name: consume-artifact
        template: print-message-from-file
        arguments:
          artifacts:
          - name: message
            from: "{{steps.generate-artifact.outputs.artifacts.hello-art}}"
  - name: hello-world-to-file
    container:
      image: busybox
      command: [sh, -c]
      args: ["echo hello world | tee /tmp/hello_world.txt"]
    outputs:
      artifacts:
      - name: hello-art
        path: /tmp/hello_world.txt
  - name: print-message-from-file
    inputs:
      artifacts:
      - name: message
        path: /tmp/message
    container:
      image: busybox
      command: [sh, -c]
      args: ["cat /tmp/message"]
"#;

#[tokio::test]
async fn artifact_passing_saves_a_tgz_under_argos_default_key_and_the_next_step_reads_it() {
    let (dir, repo) = local_repo();
    let wf = run_on(&engine_with(repo, None), ARTIFACT_PASSING).await;
    assert_eq!(wf.status.phase, Phase::Succeeded, "{:?}", wf.status.message);
    assert_eq!(
        result(node(&wf, "[1].consume-artifact")),
        Some("hello world")
    );
    let generate = node(&wf, "[0].generate-artifact");
    let key = format!("{}/{}/hello-art.tgz", wf.name(), generate.id);
    let out = &json(&wf, "[0].generate-artifact")["outputs"]["artifacts"][0];
    assert_eq!(
        out,
        &serde_json::json!({"name": "hello-art", "path": "/tmp/hello_world.txt", "s3": {"key": key}})
    );
    assert_eq!(files_under(&dir.path().join("repo")), vec![key]);
    let consumed = &json(&wf, "[1].consume-artifact")["inputs"]["artifacts"][0];
    assert_eq!(consumed["path"], "/tmp/message");
    assert_eq!(consumed["s3"]["key"], out["s3"]["key"]);
}

#[tokio::test]
async fn path_placeholders_and_a_raw_workflow_argument() {
    // artifact-path-placeholders.yaml with its /inputs and /outputs paths under /tmp.
    let (dir, repo) = local_repo();
    let wf = run_on(&engine_with(repo, None), r#"
kind: Workflow
metadata: {generateName: artifact-path-placeholders-}
spec:
  entrypoint: head-lines
  arguments:
    parameters: [{name: lines-count, value: '3'}]
    artifacts:
    - name: text
      raw:
        data: |
          1
          2
          3
          4
          5
  templates:
  - name: head-lines
    inputs:
      parameters: [{name: lines-count}]
      artifacts: [{name: text, path: /tmp/inputs/text/data}]
    outputs:
      parameters:
      - name: actual-lines-count
        valueFrom: {path: /tmp/outputs/actual-lines-count/data}
      artifacts: [{name: text, path: /tmp/outputs/text/data}]
    container:
      image: busybox
      command: [sh, -c, 'mkdir -p "$(dirname "{{outputs.artifacts.text.path}}")" "$(dirname "{{outputs.parameters.actual-lines-count.path}}")" ; head -n {{inputs.parameters.lines-count}} < "{{inputs.artifacts.text.path}}" | tee "{{outputs.artifacts.text.path}}" | wc -l > "{{outputs.parameters.actual-lines-count.path}}"']
"#)
    .await;
    assert_eq!(wf.status.phase, Phase::Succeeded, "{:?}", wf.status.message);
    let n = node(&wf, "");
    let outputs = n.outputs.as_ref().expect("outputs");
    assert_eq!(
        outputs.param("actual-lines-count").map(str::trim),
        Some("3")
    );
    assert_eq!(
        outputs.artifacts[0].path.as_deref(),
        Some("/tmp/outputs/text/data")
    );
    let key = format!("{}/{}/text.tgz", wf.name(), n.id);
    let tgz = std::fs::File::open(dir.path().join("repo").join(key)).expect("saved");
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(tgz));
    let mut entries = archive.entries().expect("tar");
    let mut entry = entries.next().expect("one entry").expect("entry");
    assert_eq!(entry.path().expect("path").to_str(), Some("data"));
    let mut text = String::new();
    std::io::Read::read_to_string(&mut entry, &mut text).expect("read");
    assert_eq!(text, "1\n2\n3\n");
}

#[tokio::test]
async fn input_artifact_raw() {
    let wf = common::run(
        r#"
kind: Workflow
metadata: {generateName: input-artifact-raw-}
spec:
  entrypoint: raw-contents
  templates:
  - name: raw-contents
    inputs:
      artifacts:
      - name: myfile
        path: /tmp/file
        raw:
          data: |
            this is
            the raw file
            contents
    container:
      image: alpine:3.23
      command: [sh, -c]
      args: ["cat /tmp/file"]
"#,
    )
    .await;
    assert_eq!(wf.status.phase, Phase::Succeeded, "{:?}", wf.status.message);
    assert_eq!(
        result(node(&wf, "")),
        Some("this is\nthe raw file\ncontents")
    );
}

/// Serves `body` at any path to requests carrying header `x-token: t0k` (else 403), and 404
/// for paths ending in `/missing`; its base URL.
async fn http_server(body: &'static [u8]) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut req = Vec::new();
                let mut buf = [0u8; 1024];
                while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => req.extend_from_slice(&buf[..n]),
                    }
                }
                let text = String::from_utf8_lossy(&req).to_lowercase();
                let first = text.lines().next().unwrap_or_default().to_string();
                let (status, payload): (&str, &[u8]) = if first.contains("/missing ") {
                    ("404 Not Found", b"")
                } else if !text.contains("x-token: t0k") {
                    ("403 Forbidden", b"")
                } else {
                    ("200 OK", body)
                };
                let head = format!(
                    "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    payload.len()
                );
                let _ = sock.write_all(head.as_bytes()).await;
                let _ = sock.write_all(payload).await;
            });
        }
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn input_artifact_http_with_headers_and_mode() {
    // input-artifact-http.yaml: an executable fetched over HTTP (here a script, under /tmp).
    let url = http_server(b"#!/bin/sh\necho \"Client Version: v1.8.0\"\n").await;
    let yaml = format!(
        r#"
kind: Workflow
metadata: {{generateName: input-artifact-http-}}
spec:
  entrypoint: http-artifact-example
  templates:
  - name: http-artifact-example
    inputs:
      artifacts:
      - name: kubectl
        path: /tmp/bin/kubectl
        mode: 0755
        http:
          url: {url}/kubernetes-release/release/v1.8.0/bin/linux/amd64/kubectl
          headers: [{{name: X-Token, value: t0k}}]
      - name: absent
        path: /tmp/absent
        optional: true
        http: {{url: {url}/missing}}
    container:
      image: alpine:3.23
      command: [sh, -c]
      args: ["/tmp/bin/kubectl version && test ! -e /tmp/absent"]
"#
    );
    let wf = common::run(&yaml).await;
    assert_eq!(wf.status.phase, Phase::Succeeded, "{:?}", wf.status.message);
    assert_eq!(result(node(&wf, "")), Some("Client Version: v1.8.0"));

    // Without the header the server refuses: the node errors, naming the artifact.
    let refused = common::run(&yaml.replace("t0k", "wrong")).await;
    assert_eq!(refused.status.phase, Phase::Error);
    let msg = node(&refused, "").message.clone().unwrap_or_default();
    assert!(msg.starts_with("artifact kubectl failed to load:"), "{msg}");
    assert!(msg.contains("403"), "{msg}");
}

struct FixedSecrets(HashMap<(String, String), String>);

impl SecretSource for FixedSecrets {
    fn secret_key(&self, name: &str, key: &str) -> Option<String> {
        self.0.get(&(name.to_string(), key.to_string())).cloned()
    }
}

fn s3_secrets() -> Secrets {
    let mut m = HashMap::new();
    m.insert(
        ("my-s3-credentials".into(), "accessKey".into()),
        "AKIDTEST".into(),
    );
    m.insert(
        ("my-s3-credentials".into(), "secretKey".into()),
        "s3cr3t-value".into(),
    );
    Secrets(Arc::new(FixedSecrets(m)))
}

fn moto() -> Option<S3Server> {
    if let Some(why) = S3Server::unavailable() {
        assert!(!polyphemus_testkit::required_in_ci(), "{why}");
        eprintln!("skipped: {why}");
        return None;
    }
    Some(S3Server::start())
}

#[tokio::test]
async fn output_and_input_artifact_s3_against_an_s3_endpoint_with_secret_credentials() {
    let Some(s3) = moto() else { return };
    s3.create_bucket("my-bucket");
    let endpoint = format!("127.0.0.1:{}", s3.port);
    let (_dir, repo) = local_repo();
    let engine = engine_with(repo, Some(s3_secrets()));
    let location = format!(
        "endpoint: {endpoint}\n          insecure: true\n          bucket: my-bucket\n          region: us-west-2\n          accessKeySecret: {{name: my-s3-credentials, key: accessKey}}\n          secretKeySecret: {{name: my-s3-credentials, key: secretKey}}"
    );
    // output-artifact-s3.yaml: the whole /tmp as a .tgz at an explicit key.
    let out = run_on(
        &engine,
        &format!(
            r#"
kind: Workflow
metadata: {{generateName: output-artifact-s3-}}
spec:
  entrypoint: hello-world-to-file
  templates:
  - name: hello-world-to-file
    container:
      image: busybox
      command: [sh, -c]
      args: ["echo hello world | tee /tmp/hello_world.txt"]
    outputs:
      artifacts:
      - name: message
        path: /tmp
        s3:
          {location}
          key: path/in/bucket/hello_world.txt.tgz
"#
        ),
    )
    .await;
    assert_eq!(
        out.status.phase,
        Phase::Succeeded,
        "{:?}",
        out.status.message
    );
    let rec = &json(&out, "")["outputs"]["artifacts"][0];
    assert_eq!(rec["s3"]["key"], "path/in/bucket/hello_world.txt.tgz");
    assert_eq!(rec["s3"]["bucket"], "my-bucket");
    let text = serde_json::to_string(&out).expect("json");
    assert!(
        !text.contains("s3cr3t-value") && !text.contains("AKIDTEST"),
        "{text}"
    );

    // input-artifact-s3.yaml: the same key loaded (and unpacked) at a path.
    let input = run_on(
        &engine,
        &format!(
            r#"
kind: Workflow
metadata: {{generateName: input-artifact-s3-}}
spec:
  entrypoint: input-artifact-s3-example
  templates:
  - name: input-artifact-s3-example
    inputs:
      artifacts:
      - name: my-art
        path: /tmp/my-artifact
        s3:
          {location}
          key: path/in/bucket/hello_world.txt.tgz
    container:
      image: debian:latest
      command: [sh, -c]
      args: ["cat /tmp/my-artifact/hello_world.txt"]
"#
        ),
    )
    .await;
    assert_eq!(
        input.status.phase,
        Phase::Succeeded,
        "{:?}",
        input.status.message
    );
    assert_eq!(result(node(&input, "")), Some("hello world"));

    // A missing Secret is an error naming the selector, never a value.
    let broken = run_on(
        &engine_with(local_repo().1, None),
        &format!(
            r#"
kind: Workflow
metadata: {{generateName: input-artifact-s3-}}
spec:
  entrypoint: main
  templates:
  - name: main
    inputs:
      artifacts:
      - name: my-art
        path: /tmp/my-artifact
        s3:
          {location}
          key: path/in/bucket/hello_world.txt.tgz
    container: {{image: busybox, command: [cat, /tmp/my-artifact]}}
"#
        ),
    )
    .await;
    assert_eq!(broken.status.phase, Phase::Error);
    let msg = node(&broken, "").message.clone().unwrap_or_default();
    assert!(
        msg.contains("accessKeySecret") && msg.contains("my-s3-credentials"),
        "{msg}"
    );
}

#[tokio::test]
async fn an_s3_repository_holds_passed_artifacts_and_key_only_artifacts() {
    let Some(s3) = moto() else { return };
    s3.create_bucket("argo-artifacts");
    let repo = ArtifactRepository::from_yaml(&format!(
        "s3:\n  bucket: argo-artifacts\n  endpoint: 127.0.0.1:{}\n  insecure: true\n  keyFormat: \"runs/{{{{workflow.name}}}}/{{{{pod.name}}}}\"\n  accessKeySecret: {{name: my-s3-credentials, key: accessKey}}\n  secretKeySecret: {{name: my-s3-credentials, key: secretKey}}\n",
        s3.port
    ))
    .expect("repository yaml");
    let engine = engine_with(repo, Some(s3_secrets()));
    let wf = run_on(&engine, ARTIFACT_PASSING).await;
    assert_eq!(wf.status.phase, Phase::Succeeded, "{:?}", wf.status.message);
    assert_eq!(
        result(node(&wf, "[1].consume-artifact")),
        Some("hello world")
    );
    let key = json(&wf, "[0].generate-artifact")["outputs"]["artifacts"][0]["s3"]["key"].clone();
    assert!(
        key.as_str()
            .is_some_and(|k| k.starts_with(&format!("runs/{}/", wf.name()))),
        "{key}"
    );

    // key-only-artifact.yaml: a key of the repository written by one task, read by the next.
    let keyed = run_on(
        &engine,
        r#"
kind: Workflow
metadata: {generateName: key-only-artifacts-}
spec:
  entrypoint: main
  templates:
    - name: main
      dag:
        tasks:
          - {name: generate, template: generate}
          - {name: consume, template: consume, depends: generate}
    - name: generate
      container: {image: argoproj/argosay:v2, command: [sh, -c, "echo hello > /tmp/file"]}
      outputs:
        artifacts: [{name: file, path: /tmp/file, s3: {key: my-file}}]
    - name: consume
      container: {image: argoproj/argosay:v2, command: [cat, /tmp/file]}
      inputs:
        artifacts: [{name: file, path: /tmp/file, s3: {key: my-file}}]
"#,
    )
    .await;
    assert_eq!(
        keyed.status.phase,
        Phase::Succeeded,
        "{:?}",
        keyed.status.message
    );
    assert_eq!(result(node(&keyed, ".consume")), Some("hello"));
}

#[tokio::test]
async fn archive_none_keeps_files_and_directories_as_they_are_and_sub_path_picks_one() {
    let (dir, repo) = local_repo();
    // artifact-disable-archive.yaml and artifact-passing-subpath.yaml, /etc replaced by a
    // directory under /tmp.
    let wf = run_on(&engine_with(repo, None), r#"
kind: Workflow
metadata: {generateName: artifact-disable-archive-}
spec:
  entrypoint: artifact-disable-archive
  templates:
  - name: artifact-disable-archive
    steps:
    - - name: generate-artifact
        template: hello-world-to-file
    - - name: consume-artifact
        template: print-message-from-files
        arguments:
          artifacts:
          - {name: etc, from: "{{steps.generate-artifact.outputs.artifacts.etc}}"}
          - {name: hello-txt, from: "{{steps.generate-artifact.outputs.artifacts.hello-txt}}"}
          - {name: hello-txt-nc, from: "{{steps.generate-artifact.outputs.artifacts.hello-txt-nc}}"}
          - {name: picked, from: "{{steps.generate-artifact.outputs.artifacts.etc}}", subPath: sub/b.conf}
  - name: hello-world-to-file
    container:
      image: busybox
      command: [sh, -c]
      args: ["mkdir -p /tmp/etc/sub && echo a > /tmp/etc/a.conf && echo b > /tmp/etc/sub/b.conf && echo hello world | tee /tmp/hello_world.txt | tee /tmp/hello_world_nc.txt"]
    outputs:
      artifacts:
      - {name: etc, path: /tmp/etc, archive: {none: {}}}
      - {name: hello-txt, path: /tmp/hello_world.txt, archive: {none: {}}}
      - {name: hello-txt-nc, path: /tmp/hello_world_nc.txt, archive: {tar: {compressionLevel: 0}}}
  - name: print-message-from-files
    inputs:
      artifacts:
      - {name: etc, path: /tmp/etc}
      - {name: hello-txt, path: /tmp/hello.txt}
      - {name: hello-txt-nc, path: /tmp/hello_nc.txt}
      - {name: picked, path: /tmp/picked.conf}
    container:
      image: busybox
      command: [sh, -c]
      args:
      - cat /tmp/hello.txt && cat /tmp/hello_nc.txt && cat /tmp/picked.conf && cd /tmp/etc && find . -type f | sort
"#).await;
    assert_eq!(wf.status.phase, Phase::Succeeded, "{:?}", wf.status.message);
    assert_eq!(
        result(node(&wf, "[1].consume-artifact")),
        Some("hello world\nhello world\nb\n./a.conf\n./sub/b.conf")
    );
    let pod = format!("{}/{}", wf.name(), node(&wf, "[0].generate-artifact").id);
    assert_eq!(
        files_under(&dir.path().join("repo")),
        vec![
            format!("{pod}/etc/a.conf"),
            format!("{pod}/etc/sub/b.conf"),
            format!("{pod}/hello-txt-nc.tgz"),
            format!("{pod}/hello_world.txt"),
        ]
    );
    let raw = std::fs::read_to_string(dir.path().join("repo").join(&pod).join("hello_world.txt"));
    assert_eq!(raw.expect("raw file").as_str(), "hello world\n");
}

#[tokio::test]
async fn global_output_artifacts_reach_the_exit_handler_and_the_workflow_status() {
    let wf = common::run(
        r#"
kind: Workflow
metadata: {generateName: global-outputs-}
spec:
  entrypoint: generate-globals
  onExit: consume-globals
  templates:
  - name: generate-globals
    steps:
    - - {name: generate, template: global-output}
    - - {name: consume-globals, template: consume-globals}
  - name: global-output
    container:
      image: alpine:3.23
      command: [sh, -c]
      args: ["echo -n hello world > /tmp/hello_world.txt"]
    outputs:
      parameters:
      - {name: hello-param, valueFrom: {path: /tmp/hello_world.txt}, globalName: my-global-param}
      artifacts:
      - {name: hello-art, path: /tmp/hello_world.txt, globalName: my-global-art}
  - name: consume-globals
    steps:
    - - {name: consume-global-param, template: consume-global-param}
      - name: consume-global-art
        template: consume-global-art
        arguments:
          artifacts: [{name: art, from: "{{workflow.outputs.artifacts.my-global-art}}"}]
  - name: consume-global-param
    inputs:
      parameters: [{name: param, value: "{{workflow.outputs.parameters.my-global-param}}"}]
    container: {image: alpine:3.23, command: [sh, -c], args: ["echo {{inputs.parameters.param}}"]}
  - name: consume-global-art
    inputs:
      artifacts: [{name: art, path: /tmp/art}]
    container: {image: alpine:3.23, command: [sh, -c], args: ["cat /tmp/art"]}
"#,
    )
    .await;
    assert_eq!(wf.status.phase, Phase::Succeeded, "{:?}", wf.status.message);
    assert_eq!(
        result(node(&wf, "[1].consume-globals[0].consume-global-art")),
        Some("hello world")
    );
    assert_eq!(
        result(node(&wf, ".onExit[0].consume-global-art")),
        Some("hello world")
    );
    let outputs = wf.status.outputs.as_ref().expect("workflow outputs");
    assert_eq!(outputs.artifacts[0].name, "my-global-art");
    assert!(outputs.artifacts[0]
        .s3
        .as_ref()
        .and_then(|s| s.key.as_ref())
        .is_some());
}

const OPTIONAL: &str = r#"
kind: Workflow
metadata: {generateName: optional-artifacts-}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: make, template: make}
    - - name: use
        template: use
        arguments:
          artifacts:
          - {name: maybe, from: "{{steps.make.outputs.artifacts.maybe}}", optional: true}
  - name: make
    container: {image: busybox, command: [sh, -c, "echo made > /tmp/made"]}
    outputs:
      artifacts:
      - {name: made, path: /tmp/made}
      - {name: maybe, path: /tmp/not-written, optional: true}
  - name: use
    inputs:
      artifacts: [{name: maybe, path: /tmp/maybe, optional: true}]
    container: {image: busybox, command: [sh, -c, "test ! -e /tmp/maybe && echo without"]}
"#;

#[tokio::test]
async fn optional_artifacts_may_be_missing_and_required_ones_fail_the_node_as_argo_says() {
    let wf = common::run(OPTIONAL).await;
    assert_eq!(wf.status.phase, Phase::Succeeded, "{:?}", wf.status.message);
    assert_eq!(result(node(&wf, "[1].use")), Some("without"));
    let made = node(&wf, "[0].make").outputs.as_ref().expect("outputs");
    assert_eq!(made.artifacts.len(), 1, "{:?}", made.artifacts);

    let missing_output =
        common::run(&OPTIONAL.replace("/tmp/not-written, optional: true", "/tmp/not-written"))
            .await;
    assert_eq!(missing_output.status.phase, Phase::Failed);
    assert_eq!(node(&missing_output, "[0].make").phase, Phase::Error);
    let msg = node(&missing_output, "[0].make").message.clone();
    assert_eq!(
        msg.as_deref(),
        Some("/tmp/not-written no such file or directory")
    );

    let unsupplied = common::run(&OPTIONAL.replace(
        "[{name: maybe, path: /tmp/maybe, optional: true}]",
        "[{name: other, path: /tmp/other}]",
    ))
    .await;
    assert_eq!(unsupplied.status.phase, Phase::Failed);
    assert_eq!(node(&unsupplied, "[1].use").phase, Phase::Error);
    let msg = node(&unsupplied, "[1].use").message.clone();
    assert_eq!(
        msg.as_deref(),
        Some("inputs.artifacts.other was not supplied")
    );
}

#[tokio::test]
async fn conditional_artifacts_by_from_expression() {
    // conditional-artifacts.yaml with deterministic coin and relative output paths.
    let wf = common::run(r#"
kind: Workflow
metadata: {generateName: conditional-artifacts-}
spec:
  entrypoint: main
  templates:
    - name: main
      steps:
        - - {name: flip-coin, template: flip-coin}
        - - {name: heads, template: heads, when: "{{steps.flip-coin.outputs.result}} == heads"}
          - {name: tails, template: tails, when: "{{steps.flip-coin.outputs.result}} == tails"}
      outputs:
        artifacts:
          - name: result
            fromExpression: "steps['flip-coin'].outputs.result == 'heads' ? steps.heads.outputs.artifacts.result : steps.tails.outputs.artifacts.result"
    - name: flip-coin
      script: {image: python, command: [sh], source: "echo tails"}
    - name: heads
      script: {image: python, command: [sh], source: "printf 'it was heads' > result.txt"}
      outputs:
        artifacts: [{name: result, path: result.txt}]
    - name: tails
      script: {image: python, command: [sh], source: "printf 'it was tails' > result.txt"}
      outputs:
        artifacts: [{name: result, path: result.txt}]
"#)
    .await;
    assert_eq!(wf.status.phase, Phase::Succeeded, "{:?}", wf.status.message);
    let main = node(&wf, "").outputs.as_ref().expect("outputs");
    let tails = node(&wf, "[1].tails")
        .outputs
        .as_ref()
        .expect("tails outputs");
    assert_eq!(main.artifacts[0].name, "result");
    assert_eq!(main.artifacts[0].s3, tails.artifacts[0].s3);
}

#[tokio::test]
async fn artifact_gc_deletes_on_completion_and_on_deletion_and_never_otherwise() {
    let (dir, repo) = local_repo();
    let engine = engine_with(repo.clone(), None);
    // artifact-gc-workflow.yaml, plus one artifact kept with `Never`.
    let wf = run_on(
        &engine,
        r#"
kind: Workflow
metadata: {generateName: artifact-gc-}
spec:
  entrypoint: main
  artifactGC:
    strategy: OnWorkflowDeletion
  templates:
    - name: main
      container:
        image: argoproj/argosay:v2
        command: [sh, -c]
        args:
          - |
            echo "hello world" > /tmp/on-completion.txt
            echo "hello world" > /tmp/on-deletion.txt
      outputs:
        artifacts:
          - name: on-completion
            path: /tmp/on-completion.txt
            s3: {key: on-completion.txt}
            artifactGC: {strategy: OnWorkflowCompletion}
          - name: on-deletion
            path: /tmp/on-deletion.txt
            s3: {key: on-deletion.txt}
          - name: kept
            path: /tmp/on-deletion.txt
            s3: {key: kept.txt}
            artifactGC: {strategy: Never}
"#,
    )
    .await;
    assert_eq!(wf.status.phase, Phase::Succeeded, "{:?}", wf.status.message);
    let root = dir.path().join("repo");
    assert_eq!(files_under(&root), vec!["kept.txt", "on-deletion.txt"]);
    let recorded = &json(&wf, "")["outputs"]["artifacts"];
    assert_eq!(recorded[0]["deleted"], true, "{recorded}");
    assert!(recorded[1].get("deleted").is_none(), "{recorded}");
    let run_dir = engine.options().work_dir.join(wf.name());
    let gone = delete_run_artifacts(&run_dir, &repo, None)
        .await
        .expect("gc");
    assert_eq!(gone, 1);
    assert_eq!(files_under(&root), vec!["kept.txt"]);
}

#[test]
fn artifact_kinds_and_paths_the_engine_cannot_honour_are_refused_by_field() {
    let refused = |yaml: &str| match Workflow::from_yaml(yaml) {
        Err(EngineError::Unsupported { field, reason }) => format!("{field}: {reason}"),
        other => panic!("not refused: {other:?}"),
    };
    let git = refused(
        r#"
kind: Workflow
metadata: {generateName: input-artifact-git-}
spec:
  entrypoint: main
  templates:
  - name: main
    inputs:
      artifacts: [{name: src, path: /tmp/src, git: {repo: "https://example.com/x.git"}}]
    container: {image: alpine, command: [ls, /tmp/src]}
"#,
    );
    assert!(
        git.starts_with("spec.templates[main].inputs.artifacts[src].git: needs a git checkout"),
        "{git}"
    );
    let zip = refused(
        r#"
kind: Workflow
metadata: {generateName: zip-}
spec:
  entrypoint: main
  templates:
  - name: main
    container: {image: alpine, command: [touch, /tmp/x]}
    outputs:
      artifacts: [{name: x, path: /tmp/x, archive: {zip: {}}}]
"#,
    );
    assert!(
        zip.starts_with("spec.templates[main].outputs.artifacts[x].archive.zip"),
        "{zip}"
    );
}

#[derive(clap::Parser)]
struct RunCli {
    #[command(flatten)]
    run: polyphemus_engine::cli::EngineRunArgs,
}

#[tokio::test]
async fn engine_run_takes_an_artifact_repository_file() {
    use clap::Parser;
    common::init_tracing();
    let dir = tempfile::tempdir().expect("tmp");
    let repo_dir = dir.path().join("repo");
    let repo_file = dir.path().join("repository.yaml");
    let yaml = format!(
        "artifactRepository:\n  local:\n    path: {}\n    keyFormat: \"by-cli/{{{{workflow.name}}}}\"\n",
        repo_dir.display()
    );
    std::fs::write(&repo_file, yaml).expect("repository file");
    let wf_file = dir.path().join("artifact-passing.yaml");
    std::fs::write(&wf_file, ARTIFACT_PASSING).expect("workflow file");
    let work = common::work_dir();
    let cli = RunCli::parse_from([
        "run".as_ref(),
        "-f".as_ref(),
        wf_file.as_os_str(),
        "--work-dir".as_ref(),
        work.as_os_str(),
        "--artifact-repository".as_ref(),
        repo_file.as_os_str(),
    ]);
    assert_eq!(polyphemus_engine::cli::run_command(cli.run).await, 0);
    let saved = files_under(&repo_dir);
    assert_eq!(saved.len(), 1, "{saved:?}");
    assert!(
        saved[0].starts_with("by-cli/artifact-passing-") && saved[0].ends_with("/hello-art.tgz"),
        "{saved:?}"
    );

    std::fs::write(&repo_file, "s3: {bucket: b}\nlocal: {path: /x}\n").expect("bad file");
    let bad = RunCli::parse_from([
        "run".as_ref(),
        "-f".as_ref(),
        wf_file.as_os_str(),
        "--artifact-repository".as_ref(),
        repo_file.as_os_str(),
    ]);
    assert_eq!(polyphemus_engine::cli::run_command(bad.run).await, 2);
}

#[tokio::test]
async fn an_output_linking_outside_the_node_is_not_read_and_a_sub_path_cannot_climb_out() {
    let wf = common::run(
        r#"
kind: Workflow
metadata: {generateName: linked-output-}
spec:
  entrypoint: main
  templates:
  - name: main
    container: {image: busybox, command: [ln, -s, /etc/passwd, "/tmp/{{workflow.name}}"]}
    outputs:
      artifacts: [{name: out, path: "/tmp/{{workflow.name}}"}]
"#,
    )
    .await;
    let n = node(&wf, "");
    assert_eq!(n.phase, Phase::Error);
    let msg = n.message.clone().unwrap_or_default();
    assert!(
        msg.contains("leads outside the node's directories"),
        "{msg}"
    );
    assert!(n.outputs.as_ref().is_some_and(|o| o.artifacts.is_empty()));

    let climbing = common::run(&ARTIFACT_PASSING.replace(
        "from: \"{{steps.generate-artifact.outputs.artifacts.hello-art}}\"",
        "from: \"{{steps.generate-artifact.outputs.artifacts.hello-art}}\"\n            subPath: ../../../etc",
    ))
    .await;
    let consume = node(&climbing, "[1].consume-artifact");
    assert_eq!(consume.phase, Phase::Error);
    let msg = consume.message.clone().unwrap_or_default();
    assert!(
        msg.contains("subPath: `../../../etc` leads outside the artifact"),
        "{msg}"
    );
}

#[tokio::test]
async fn dag_tasks_pass_artifacts_and_a_dag_hands_its_input_artifact_on() {
    let wf = common::run(
        r#"
kind: Workflow
metadata: {generateName: dag-artifacts-}
spec:
  entrypoint: main
  arguments:
    artifacts: [{name: seed, raw: {data: "seed text"}}]
  templates:
  - name: main
    inputs:
      artifacts: [{name: seed}]
    dag:
      tasks:
      - name: copy
        template: copy
        arguments:
          artifacts: [{name: in, from: "{{inputs.artifacts.seed}}"}]
      - name: show
        depends: copy
        template: show
        arguments:
          artifacts: [{name: in, from: "{{tasks.copy.outputs.artifacts.out}}"}]
  - name: copy
    retryStrategy: {limit: 1}
    inputs:
      artifacts: [{name: in, path: "/tmp/{{workflow.name}}/in"}]
    container: {image: busybox, command: [sh, -c, "mkdir /tmp/{{workflow.name}}/out && cp /tmp/{{workflow.name}}/in /tmp/{{workflow.name}}/out/copied"]}
    outputs:
      artifacts: [{name: out, path: "/tmp/{{workflow.name}}/out"}]
  - name: show
    inputs:
      artifacts: [{name: in, path: in-dir}]
    container: {image: busybox, command: [cat, in-dir/copied]}
"#,
    )
    .await;
    assert_eq!(wf.status.phase, Phase::Succeeded, "{:?}", wf.status.message);
    assert_eq!(result(node(&wf, ".show")), Some("seed text"));
    let retried = node(&wf, ".copy")
        .outputs
        .as_ref()
        .expect("retry node outputs");
    assert_eq!(retried.artifacts[0].name, "out");
}
