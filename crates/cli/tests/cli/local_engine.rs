//! Launching on the local engine: the workflow runs as child processes of the server and its
//! `onExit` hook (`polyphemus write_run_metadata`) records the run's metadata and output.

use crate::harness::{create_config, Server};
use serde_json::Value;
use std::time::{Duration, Instant};

#[test]
fn launched_run_executes_and_its_exit_hook_records_metadata() {
    let server = Server::start();
    let id = create_config(&server, "nightly");
    let launched = server
        .cli(&["launch", &id, "--output", "json"])
        .success()
        .json();
    let run_id = launched["run_id"].as_str().expect("run_id").to_owned();
    let name = launched["name"].as_str().expect("name").to_owned();

    let deadline = Instant::now() + Duration::from_secs(60);
    let shown: Value = loop {
        let output = server.cli(&["runs", "show", &run_id, "--output", "json"]);
        let shown = output.json();
        let phase = shown["metadata"]["phase"].as_str().unwrap_or("");
        if matches!(phase, "Succeeded" | "Failed" | "Error") {
            break shown;
        }
        assert!(
            Instant::now() < deadline,
            "no final run metadata after 60 s: {shown}"
        );
        std::thread::sleep(Duration::from_millis(300));
    };
    let metadata = &shown["metadata"];
    let nodes = metadata["nodes"].as_object().expect("nodes");
    let display_names: Vec<&str> = nodes
        .values()
        .filter_map(|n| n["display_name"].as_str())
        .collect();
    assert!(display_names.contains(&"discover"), "{display_names:?}");
    assert!(
        display_names.contains(&format!("{name}.onExit").as_str()),
        "the exit hook is a node of the run: {display_names:?}"
    );
    assert!(metadata["started_at"].is_string() && metadata["finished_at"].is_string());
    let logs = server.cli(&["runs", "logs", &run_id]).success();
    assert!(logs.stdout.contains("=== discover"), "{}", logs.stdout);
    let status = server.cli(&["status", "--output", "json"]).success().json();
    let expected = metadata["phase"].as_str().expect("phase").to_lowercase();
    assert_eq!(status[0]["pipeline_state"], expected.as_str());
}

const STEPS_WORKFLOW: &str = r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  generateName: greet-
spec:
  entrypoint: main
  arguments:
    parameters:
      - name: config_id
      - name: version_number
      - name: project
      - name: greeting
        value: hello
  templates:
    - name: main
      steps:
        - - name: say
            template: echo
        - - name: ask-the-api
            template: ask
    - name: ask
      container:
        image: polyphemus:latest
        command: [polyphemus]
        args: [runs, --project, "{{workflow.parameters.project}}", show, "{{workflow.uid}}", --output, json]
    - name: echo
      container:
        image: alpine:3
        command: [sh, -c]
        args: ["echo {{workflow.parameters.greeting}} config {{workflow.parameters.config_id}}"]
"#;

#[test]
fn submit_runs_a_workflow_file_for_a_config_version_and_watch_waits_for_it() {
    let server = Server::start();
    let id = create_config(&server, "nightly");
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("greet.yaml");
    std::fs::write(&file, STEPS_WORKFLOW).expect("write");
    let file = file.display().to_string();
    let config = format!("config_id={id}");
    let submitted = server
        .cli(&[
            "submit",
            "-f",
            &file,
            "-p",
            &config,
            "-p",
            "version_number=1",
            "-p",
            "greeting=bonjour",
            "--watch",
        ])
        .success();
    assert!(
        submitted.stdout.contains("Name: greet-"),
        "{}",
        submitted.stdout
    );
    let run_id = submitted
        .stdout
        .lines()
        .find_map(|line| line.strip_prefix("UID:"))
        .expect("uid line")
        .trim()
        .to_owned();
    let shown = server
        .cli(&["runs", "show", &run_id, "--output", "json"])
        .success()
        .json();
    assert_eq!(shown["metadata"]["phase"], "Succeeded", "{shown}");
    let logs = server.cli(&["runs", "logs", &run_id]).success();
    assert!(
        logs.stdout.contains(&format!("bonjour config {id}")),
        "{}",
        logs.stdout
    );

    let broken = dir.path().join("broken.yaml");
    std::fs::write(&broken, "kind: Workflow\nspec: [").expect("write");
    let refused = server.cli(&[
        "submit",
        "-f",
        &broken.display().to_string(),
        "-p",
        &config,
        "-p",
        "version_number=1",
    ]);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(refused.stderr.contains("422"), "{}", refused.stderr);
    let missing = server.cli(&["submit", "-f", &file, "-p", "version_number=1"]);
    assert_eq!(missing.code, 1);
    assert!(missing.stderr.contains("config_id"), "{}", missing.stderr);
}

#[test]
fn engine_run_needs_no_server_and_exits_by_the_workflow_phase() {
    // The engine's copy of Argo's examples, inside the checkout wherever it lives.
    let examples = concat!(env!("CARGO_MANIFEST_DIR"), "/../engine/tests/argo-examples");
    let work = tempfile::tempdir().expect("dir");
    let work_dir = work.path().display().to_string();
    let file = format!("{examples}/dag-diamond.yaml");
    let done = crate::harness::run(
        {
            let mut command = crate::harness::command();
            command.args([
                "engine",
                "run",
                "-f",
                &file,
                "--work-dir",
                &work_dir,
                "--output",
                "json",
            ]);
            command
        },
        None,
    )
    .success();
    let workflow = done.json();
    assert_eq!(workflow["status"]["phase"], "Succeeded");
    assert_eq!(workflow["kind"], "Workflow");
    let names: Vec<&str> = workflow["status"]["nodes"]
        .as_object()
        .expect("nodes")
        .values()
        .filter_map(|n| n["displayName"].as_str())
        .collect();
    for task in ["A", "B", "C", "D"] {
        assert!(names.contains(&task), "{names:?}");
    }
    let failing = work.path().join("fail.yaml");
    std::fs::write(
        &failing,
        "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {generateName: f-}\nspec:\n  entrypoint: main\n  templates:\n  - name: main\n    container: {image: alpine, command: [sh, -c, 'exit 3']}\n",
    )
    .expect("write");
    let failed = crate::harness::run(
        {
            let mut command = crate::harness::command();
            command.args([
                "engine",
                "run",
                "-f",
                &failing.display().to_string(),
                "--work-dir",
                &work_dir,
            ]);
            command
        },
        None,
    );
    assert_eq!(failed.code, 1, "{failed:?}");
    assert!(failed.stdout.contains("Failed"), "{failed:?}");
}

#[test]
fn steps_never_see_the_servers_secret_key_or_database_url() {
    let key = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
    let server = Server::start_with_env(&[
        ("POLYPHEMUS_SECRET_KEY", key),
        ("DATABASE_URL", "postgres://user:db-password@127.0.0.1:1/x"),
    ]);
    let id = create_config(&server, "nightly");
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("env.yaml");
    std::fs::write(
        &file,
        "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {generateName: env-}\nspec:\n  entrypoint: main\n  arguments: {parameters: [{name: config_id}, {name: version_number}, {name: project}]}\n  templates:\n  - name: main\n    container: {image: alpine, command: [sh, -c, 'env; echo END']}\n",
    )
    .expect("write");
    let submitted = server
        .cli(&[
            "submit",
            "-f",
            &file.display().to_string(),
            "-p",
            &format!("config_id={id}"),
            "-p",
            "version_number=1",
            "--watch",
        ])
        .success();
    let run_id = submitted
        .stdout
        .lines()
        .find_map(|line| line.strip_prefix("UID:"))
        .expect("uid")
        .trim()
        .to_owned();
    let logs = server.cli(&["runs", "logs", &run_id]).success().stdout;
    assert!(
        logs.contains("END") && logs.contains("POLYPHEMUS_URL="),
        "{logs}"
    );
    assert!(!logs.contains(key), "the secret key reached a step");
    assert!(
        !logs.contains("db-password"),
        "the database URL reached a step"
    );
}
