//! Volumes and Kubernetes objects on one machine:
//! - a_claim_keeps_its_files_between_runs_of_a_scope_and_not_across_scopes
//! - volume_claim_templates_are_shared_by_the_steps_and_deleted_when_the_run_succeeds
//! - an_empty_dir_is_mounted_and_belongs_to_its_pod_alone
//! - secret_volume_and_secret_env_read_the_objects_directory (Argo's secrets.yaml)
//! - config_map_volume_items_and_env_from_with_prefix
//! - a_read_only_mount_cannot_be_written
//! - a_missing_secret_is_refused_before_anything_runs_naming_it
//! - an_optional_missing_object_is_an_empty_volume_and_no_variable
//! - parameters_from_a_config_map (Argo's arguments-/global-parameters-from-configmap.yaml)
//! - host_path_volumes_are_refused_naming_the_field
//! - the_cli_reads_the_objects_directory
//! - a_library_template_reading_a_missing_secret_is_refused_naming_both
//! - argo_volumes_existing_appends_across_runs

mod common;

use polyphemus_engine::{
    Engine, K8sObjects, Phase, SubmitOptions, TemplateLibrary, Workflow, WorkflowObject,
};

fn engine_with(objects: K8sObjects) -> Engine {
    let mut opts = common::engine().options().clone();
    opts.objects = objects;
    Engine::new(opts)
}

fn objects(yaml: &str) -> K8sObjects {
    let mut o = K8sObjects::new();
    o.load_text(std::path::Path::new("test.yaml"), yaml)
        .expect("objects");
    o
}

async fn run_in(engine: &Engine, yaml: &str, scope: Option<&str>) -> WorkflowObject {
    common::init_tracing();
    let wf = Workflow::from_yaml(yaml).expect("valid workflow");
    let options = SubmitOptions {
        scope: scope.map(str::to_owned),
        ..Default::default()
    };
    engine
        .submit_with(wf, Vec::new(), &TemplateLibrary::new(), options)
        .expect("workflow starts")
        .wait()
        .await
}

/// Volumes need the sandbox: without one a run that mounts is refused, saying why.
fn sandboxed() -> bool {
    let yes = polyphemus_engine::private_tmp_available()
        && std::env::var("POLYPHEMUS_ENGINE_ISOLATION").as_deref() != Ok("off");
    if !yes {
        let wf = Workflow::from_yaml(EMPTY_DIR).expect("valid");
        let err = common::engine()
            .submit(wf, Vec::new(), &TemplateLibrary::new())
            .err()
            .expect("refused without a sandbox")
            .to_string();
        assert!(
            err.contains("volumeMounts") && err.contains("sandbox"),
            "{err}"
        );
    }
    yes
}

fn claim_workflow(claim: &str, script: &str) -> String {
    format!(
        r#"
kind: Workflow
metadata: {{generateName: claim-}}
spec:
  entrypoint: m
  volumes:
  - name: data
    persistentVolumeClaim: {{claimName: {claim}}}
  templates:
  - name: m
    container:
      image: alpine
      command: [sh, -c, '{script}']
      volumeMounts: [{{name: data, mountPath: /mnt/claim}}]
"#
    )
}

#[tokio::test]
async fn a_claim_keeps_its_files_between_runs_of_a_scope_and_not_across_scopes() {
    if !sandboxed() {
        return;
    }
    let engine = common::engine();
    let claim = format!("keep-{}", uuid::Uuid::new_v4().simple());
    let write = claim_workflow(&claim, "echo first >> /mnt/claim/log; cat /mnt/claim/log");
    let first = run_in(&engine, &write, Some("project-a")).await;
    assert_eq!(first.status.phase, Phase::Succeeded, "{:?}", first.status);
    let second = run_in(&engine, &write, Some("project-a")).await;
    assert_eq!(
        common::result(common::node(&second, "")),
        Some("first\nfirst")
    );
    let other = run_in(&engine, &write, Some("project-b")).await;
    assert_eq!(common::result(common::node(&other, "")), Some("first"));
}

const CLAIM_TEMPLATES: &str = r#"
kind: Workflow
metadata: {generateName: volumes-pvc-}
spec:
  entrypoint: volumes-pvc-example
  volumeClaimTemplates:
  - metadata: {name: workdir}
    spec:
      accessModes: ["ReadWriteOnce"]
      resources: {requests: {storage: 1Gi}}
  templates:
  - name: volumes-pvc-example
    steps:
    - - {name: generate, template: hello-world-to-file}
    - - {name: print, template: print-message-from-file}
  - name: hello-world-to-file
    container:
      image: busybox
      command: [sh, -c]
      args: ["echo generating message in volume; echo hello world | tee /mnt/vol/hello_world.txt"]
      volumeMounts: [{name: workdir, mountPath: /mnt/vol}]
  - name: print-message-from-file
    container:
      image: alpine:3.23
      command: [sh, -c]
      args: ["cat /mnt/vol/hello_world.txt"]
      volumeMounts: [{name: workdir, mountPath: /mnt/vol}]
"#;

#[tokio::test]
async fn volume_claim_templates_are_shared_by_the_steps_and_deleted_when_the_run_succeeds() {
    if !sandboxed() {
        return;
    }
    let engine = common::engine();
    let wf = run_in(&engine, CLAIM_TEMPLATES, None).await;
    assert_eq!(wf.status.phase, Phase::Succeeded, "{:?}", wf.status);
    let print = common::node(&wf, "[1].print");
    assert_eq!(common::result(print), Some("hello world"));
    let claim = common::work_dir()
        .join(".volumes/local")
        .join(format!("{}-workdir", wf.name()));
    assert!(!claim.exists(), "{} kept after success", claim.display());
}

const EMPTY_DIR: &str = r#"
kind: Workflow
metadata: {generateName: volumes-emptydir-}
spec:
  entrypoint: main
  volumes:
  - {name: workdir, emptyDir: {}}
  templates:
  - name: main
    steps:
    - - {name: mounted, template: check}
    - - {name: write, template: write}
    - - {name: read, template: read}
  - name: check
    container:
      image: alpine:3.23
      command: ["/bin/sh", "-c"]
      args: ["if grep -q /mnt/vol /proc/mounts; then echo \"Volume mounted and found\"; else echo \"Not found\"; exit 1; fi"]
      volumeMounts: [{name: workdir, mountPath: /mnt/vol}]
  - name: write
    container:
      image: alpine
      command: [sh, -c, 'echo mine > /mnt/vol/f && cat /mnt/vol/f']
      volumeMounts: [{name: workdir, mountPath: /mnt/vol}]
  - name: read
    container:
      image: alpine
      command: [sh, -c, 'ls /mnt/vol | wc -l']
      volumeMounts: [{name: workdir, mountPath: /mnt/vol}]
"#;

#[tokio::test]
async fn an_empty_dir_is_mounted_and_belongs_to_its_pod_alone() {
    if !sandboxed() {
        return;
    }
    let wf = run_in(&common::engine(), EMPTY_DIR, None).await;
    assert_eq!(wf.status.phase, Phase::Succeeded, "{:?}", wf.status);
    let found = common::result(common::node(&wf, "[0].mounted"));
    assert_eq!(found, Some("Volume mounted and found"));
    assert_eq!(common::result(common::node(&wf, "[1].write")), Some("mine"));
    // Each step is its own pod on a cluster: a later pod gets a new, empty emptyDir.
    assert_eq!(common::result(common::node(&wf, "[2].read")), Some("0"));
}

const SECRETS: &str = r#"
kind: Workflow
metadata: {generateName: secrets-}
spec:
  entrypoint: print-secret
  volumes:
  - name: my-secret-vol
    secret: {secretName: my-secret}
  templates:
  - name: print-secret
    container:
      image: alpine:3.23
      command: [sh, -c]
      args: ['
        echo "secret from env: $MYSECRETPASSWORD";
        echo "secret from file: `cat /secret/mountpath/mypassword`"
      ']
      env:
      - name: MYSECRETPASSWORD
        valueFrom:
          secretKeyRef: {name: my-secret, key: mypassword}
      volumeMounts:
      - {name: my-secret-vol, mountPath: "/secret/mountpath"}
"#;

const MY_SECRET: &str =
    "apiVersion: v1\nkind: Secret\nmetadata: {name: my-secret}\ndata: {mypassword: czNjcjN0}\n";

#[tokio::test]
async fn secret_volume_and_secret_env_read_the_objects_directory() {
    if !sandboxed() {
        return;
    }
    let wf = run_in(&engine_with(objects(MY_SECRET)), SECRETS, None).await;
    assert_eq!(wf.status.phase, Phase::Succeeded, "{:?}", wf.status);
    assert_eq!(
        common::result(common::node(&wf, "")),
        Some("secret from env: s3cr3t\nsecret from file: s3cr3t")
    );
}

#[tokio::test]
async fn config_map_volume_items_and_env_from_with_prefix() {
    if !sandboxed() {
        return;
    }
    let cm = "kind: ConfigMap\nmetadata: {name: settings}\ndata: {colour: blue, size: '3'}\n";
    let yaml = r#"
kind: Workflow
metadata: {generateName: configmap-volume-}
spec:
  entrypoint: m
  templates:
  - name: m
    volumes:
    - name: conf
      configMap:
        name: settings
        defaultMode: 256
        items: [{key: colour, path: nested/colour.txt}]
    container:
      image: alpine
      command: [sh, -c, 'cat /mnt/conf/nested/colour.txt; echo; ls /mnt/conf; echo "$APP_size $APP_colour"']
      envFrom: [{configMapRef: {name: settings}, prefix: APP_}]
      volumeMounts: [{name: conf, mountPath: /mnt/conf}]
"#;
    let wf = run_in(&engine_with(objects(cm)), yaml, None).await;
    assert_eq!(wf.status.phase, Phase::Succeeded, "{:?}", wf.status);
    assert_eq!(
        common::result(common::node(&wf, "")),
        Some("blue\nnested\n3 blue")
    );
}

#[tokio::test]
async fn a_read_only_mount_cannot_be_written() {
    if !sandboxed() {
        return;
    }
    let claim = format!("ro-{}", uuid::Uuid::new_v4().simple());
    let yaml = claim_workflow(&claim, "touch /mnt/claim/x && echo wrote || echo refused").replace(
        "mountPath: /mnt/claim}",
        "mountPath: /mnt/claim, readOnly: true}",
    );
    let wf = run_in(&common::engine(), &yaml, None).await;
    assert_eq!(common::result(common::node(&wf, "")), Some("refused"));
}

#[tokio::test]
async fn a_missing_secret_is_refused_before_anything_runs_naming_it() {
    common::init_tracing();
    let env_only = SECRETS.replace(
        "      volumeMounts:\n      - {name: my-secret-vol, mountPath: \"/secret/mountpath\"}\n",
        "",
    );
    for yaml in [SECRETS, env_only.as_str()] {
        let wf = Workflow::from_yaml(yaml).expect("valid");
        let err = common::engine()
            .submit(wf, Vec::new(), &TemplateLibrary::new())
            .err()
            .expect("refused")
            .to_string();
        assert!(err.contains("Secret my-secret"), "{err}");
    }
    let cm = "kind: Secret\nmetadata: {name: my-secret}\nstringData: {other: x}\n";
    let wf = Workflow::from_yaml(&env_only).expect("valid");
    let err = engine_with(objects(cm))
        .submit(wf, Vec::new(), &TemplateLibrary::new())
        .err()
        .expect("refused")
        .to_string();
    assert!(
        err.contains("mypassword") && err.contains("MYSECRETPASSWORD"),
        "{err}"
    );
}

#[tokio::test]
async fn an_optional_missing_object_is_an_empty_volume_and_no_variable() {
    if !sandboxed() {
        return;
    }
    let yaml = r#"
kind: Workflow
metadata: {generateName: optional-}
spec:
  entrypoint: m
  volumes:
  - {name: s, secret: {secretName: nowhere, optional: true}}
  templates:
  - name: m
    container:
      image: alpine
      command: [sh, -c, 'echo "${MISSING-unset} $(ls /mnt/optional | wc -l)"']
      env:
      - name: MISSING
        valueFrom: {configMapKeyRef: {name: nowhere, key: k, optional: true}}
      volumeMounts: [{name: s, mountPath: /mnt/optional}]
"#;
    let wf = run_in(&common::engine(), yaml, None).await;
    assert_eq!(common::result(common::node(&wf, "")), Some("unset 0"));
}

#[tokio::test]
async fn parameters_from_a_config_map() {
    let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: simple-parameters\n  labels: {workflows.argoproj.io/configmap-type: Parameter}\ndata:\n  msg: 'hello world'\n";
    let inputs = r#"
kind: Workflow
metadata: {generateName: arguments-parameters-from-configmap-}
spec:
  entrypoint: print-message-from-configmap
  templates:
  - name: print-message-from-configmap
    inputs:
      parameters:
      - name: message
        valueFrom:
          configMapKeyRef: {name: simple-parameters, key: msg}
    container:
      image: busybox
      command: ["echo"]
      args: ["{{inputs.parameters.message}}"]
"#;
    let global = r#"
kind: Workflow
metadata: {generateName: global-parameter-values-from-configmap-}
spec:
  entrypoint: print-message
  arguments:
    parameters:
    - name: message
      valueFrom:
        configMapKeyRef: {name: simple-parameters, key: msg}
  templates:
  - name: print-message
    container:
      image: busybox
      command: ["echo"]
      args: ["{{workflow.parameters.message}}"]
"#;
    let engine = engine_with(objects(cm));
    for yaml in [inputs, global] {
        let wf = run_in(&engine, yaml, None).await;
        assert_eq!(wf.status.phase, Phase::Succeeded, "{:?}", wf.status);
        assert_eq!(common::result(common::node(&wf, "")), Some("hello world"));
        let wf = Workflow::from_yaml(yaml).expect("valid");
        let err = common::engine()
            .submit(wf, Vec::new(), &TemplateLibrary::new())
            .err()
            .expect("refused without the ConfigMap")
            .to_string();
        assert!(
            err.contains("ConfigMap simple-parameters") && err.contains("msg"),
            "{err}"
        );
    }
}

#[test]
fn host_path_volumes_are_refused_naming_the_field() {
    let yaml = "kind: Workflow\nmetadata: {name: hp}\nspec:\n  entrypoint: m\n  volumes:\n  - {name: h, hostPath: {path: /etc}}\n  templates:\n  - name: m\n    container: {image: x, command: [true]}\n";
    let err = Workflow::from_yaml(yaml).expect_err("refused").to_string();
    assert!(err.contains("spec.volumes[h].hostPath"), "{err}");
}

#[tokio::test]
async fn the_cli_reads_the_objects_directory() {
    if !sandboxed() {
        return;
    }
    common::init_tracing();
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("secret.yaml"), MY_SECRET).expect("write");
    let file = dir.path().join("secrets.yaml");
    std::fs::write(&file, SECRETS).expect("write");
    let args = polyphemus_engine::cli::EngineRunArgs {
        file,
        params: Vec::new(),
        templates: None,
        output: polyphemus_engine::cli::OutputFormat::Json,
        watch: false,
        work_dir: Some(common::work_dir()),
        k8s_objects: Some(dir.path().to_path_buf()),
        volumes_dir: None,
    };
    assert_eq!(polyphemus_engine::cli::run_command(args).await, 0);
}

#[tokio::test]
async fn a_library_template_reading_a_missing_secret_is_refused_naming_both() {
    common::init_tracing();
    let mut lib = TemplateLibrary::new();
    let template = "kind: WorkflowTemplate\nmetadata: {name: lib}\nspec:\n  templates:\n  - name: t\n    container:\n      image: x\n      command: [env]\n      env:\n      - name: PW\n        valueFrom: {secretKeyRef: {name: vault, key: pw}}\n";
    lib.add(Workflow::from_yaml(template).expect("valid"))
        .expect("added");
    let yaml = "kind: Workflow\nmetadata: {generateName: uses-lib-}\nspec:\n  entrypoint: m\n  templates:\n  - name: m\n    steps:\n    - - {name: s, templateRef: {name: lib, template: t}}\n";
    let wf = Workflow::from_yaml(yaml).expect("valid");
    let err = common::engine()
        .submit(wf, Vec::new(), &lib)
        .err()
        .expect("refused")
        .to_string();
    assert!(
        err.contains("WorkflowTemplate lib") && err.contains("Secret vault"),
        "{err}"
    );
}

/// Argo's volumes-existing.yaml: the claim outlives the run, so a second run appends.
#[tokio::test]
async fn argo_volumes_existing_appends_across_runs() {
    if !sandboxed() {
        return;
    }
    let claim = format!("my-existing-volume-{}", uuid::Uuid::new_v4().simple());
    let yaml = format!(
        r#"
kind: Workflow
metadata: {{generateName: volumes-existing-}}
spec:
  entrypoint: volumes-existing-example
  volumes:
  - name: workdir
    persistentVolumeClaim: {{claimName: {claim}}}
  templates:
  - name: volumes-existing-example
    steps:
    - - {{name: generate, template: append-to-accesslog}}
    - - {{name: print, template: print-accesslog}}
  - name: append-to-accesslog
    container:
      image: alpine:3.23
      command: [sh, -c]
      args: ["echo accessed at: $(date) | tee -a /mnt/vol/accesslog"]
      volumeMounts: [{{name: workdir, mountPath: /mnt/vol}}]
  - name: print-accesslog
    container:
      image: alpine:3.23
      command: [sh, -c]
      args: ["echo 'Volume access log:'; cat /mnt/vol/accesslog"]
      volumeMounts: [{{name: workdir, mountPath: /mnt/vol}}]
"#
    );
    let engine = common::engine();
    for lines in [2, 3] {
        let wf = run_in(&engine, &yaml, None).await;
        assert_eq!(wf.status.phase, Phase::Succeeded, "{:?}", wf.status);
        let log = common::result(common::node(&wf, "[1].print")).unwrap_or_default();
        assert_eq!(log.lines().count(), lines, "{log}");
    }
}
