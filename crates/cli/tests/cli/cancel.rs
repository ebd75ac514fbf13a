//! `polyphemus runs stop|terminate` on the local engine and `serve --orchestrator argo`.

use crate::harness::{command, create_config, run, Server};

const SLEEPER: &str = r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: sleeper-}
spec:
  entrypoint: nap
  onExit: goodbye
  templates:
    - name: nap
      container: {image: busybox, command: [sleep, "60"]}
    - name: goodbye
      container: {image: busybox, command: [sh, -c, "echo goodbye {{workflow.status}}"]}
"#;

#[test]
fn runs_stop_ends_a_run_and_a_second_request_says_it_already_ended() {
    let server = Server::start();
    let id = create_config(&server, "nightly");
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("sleeper.yaml");
    std::fs::write(&file, SLEEPER).expect("write");
    let submitted = server
        .cli(&[
            "--output",
            "json",
            "submit",
            "-f",
            &file.display().to_string(),
            "-p",
            &format!("config_id={id}"),
            "-p",
            "version_number=1",
        ])
        .success()
        .json();
    let run_id = submitted["run_id"].as_str().expect("run_id").to_owned();
    std::thread::sleep(std::time::Duration::from_millis(500));

    let stopped = server.cli(&["runs", "stop", &run_id]).success();
    assert!(stopped.stdout.contains(&run_id), "{}", stopped.stdout);
    let watched = server.cli(&["runs", "watch", &run_id, "--poll", "1s"]);
    assert_eq!(watched.code, 1, "a stopped run failed: {watched:?}");
    let logs = server.cli(&["runs", "logs", &run_id]).success();
    assert!(
        logs.stdout.contains("goodbye Failed"),
        "the exit handler ran: {}",
        logs.stdout
    );
    let again = server.cli(&["runs", "terminate", &run_id]);
    assert_eq!(again.code, 1);
    assert!(again.stderr.contains("already ended"), "{}", again.stderr);
    let events = server.cli(&["events", "--output", "json"]).success().json();
    let items = events
        .as_array()
        .or_else(|| events["items"].as_array())
        .expect("events");
    assert!(
        items
            .iter()
            .any(|e| e["action"] == "run.stopped" && e["actor"] == "admin"),
        "{events}"
    );
}

#[test]
fn serve_with_argo_needs_its_url_and_reports_an_unreachable_argo_on_launch() {
    let dir = tempfile::tempdir().expect("dir");
    let mut serve = command();
    serve
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--orchestrator",
            "argo",
            "--data-dir",
        ])
        .arg(dir.path().join("data"));
    let refused = run(serve, None);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(refused.stderr.contains("--argo-url"), "{}", refused.stderr);

    let server = Server::start_with_env(&[
        ("POLYPHEMUS_ORCHESTRATOR", "argo"),
        ("POLYPHEMUS_ARGO_URL", "http://127.0.0.1:9"),
        ("POLYPHEMUS_ARGO_NAMESPACE", "etl"),
        ("POLYPHEMUS_ARGO_RETRIES", "0"),
        ("POLYPHEMUS_ARGO_TOKEN", "never-printed-token"),
    ]);
    let id = create_config(&server, "nightly");
    let launched = server.cli(&["launch", &id]);
    assert_eq!(launched.code, 1, "{launched:?}");
    assert!(
        launched
            .stderr
            .contains("Argo Server at http://127.0.0.1:9 cannot be reached"),
        "{}",
        launched.stderr
    );
    assert!(!launched.stderr.contains("never-printed-token"));
}
