//! `polyphemus runs resume` and `runs suspend` on the local engine: a run waiting at a
//! `suspend` step shows it in `runs show`, goes on when resumed, and a second resume says it
//! is not suspended; a running run suspended by hand starts nothing more until resumed.

use crate::harness::{create_config, Server};
use std::time::{Duration, Instant};

const APPROVAL: &str = r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: approval-}
spec:
  entrypoint: main
  templates:
    - name: main
      steps:
        - - {name: approve, template: approve}
        - - {name: release, template: release}
    - name: approve
      suspend: {}
    - name: release
      container: {image: busybox, command: [echo, released]}
"#;

#[test]
fn runs_resume_lets_a_suspended_run_go_on_and_a_second_resume_is_refused() {
    let server = Server::start();
    let id = create_config(&server, "nightly");
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("approval.yaml");
    std::fs::write(&file, APPROVAL).expect("write");
    let file = file.display().to_string();
    let submit = [
        "--output",
        "json",
        "submit",
        "-f",
        &file,
        "-p",
        &format!("config_id={id}"),
        "-p",
        "version_number=1",
    ];
    let submitted = server.cli(&submit).success().json();
    let run_id = submitted["run_id"].as_str().expect("run_id").to_owned();

    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let shown = server.cli(&["runs", "show", &run_id]).success();
        if shown.stdout.contains("suspended, waiting for resume") {
            assert!(
                shown
                    .stdout
                    .contains(&format!("polyphemus runs resume {run_id}")),
                "{}",
                shown.stdout
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "never suspended: {}",
            shown.stdout
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    let resumed = server.cli(&["runs", "resume", &run_id]).success();
    assert!(resumed.stdout.contains(&run_id), "{}", resumed.stdout);
    let watched = server.cli(&["runs", "watch", &run_id, "--poll", "1s"]);
    assert_eq!(watched.code, 0, "the resumed run succeeded: {watched:?}");
    let again = server.cli(&["runs", "resume", &run_id]);
    assert_eq!(again.code, 1);
    assert!(again.stderr.contains("not suspended"), "{}", again.stderr);
    let events = server.cli(&["events", "--output", "json"]).success().json();
    let items = events
        .as_array()
        .or_else(|| events["items"].as_array())
        .expect("events");
    assert!(
        items
            .iter()
            .any(|e| e["action"] == "run.resumed" && e["actor"] == "admin"),
        "{events}"
    );
}

const TWO_STEPS: &str = r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: two-steps-}
spec:
  entrypoint: main
  templates:
    - name: main
      steps:
        - - {name: build, template: slow}
        - - {name: release, template: release}
    - name: slow
      container: {image: busybox, command: [sh, -c, "sleep 1; echo built"]}
    - name: release
      container: {image: busybox, command: [echo, released]}
"#;

#[test]
fn runs_suspend_holds_a_running_run_until_it_is_resumed() {
    let server = Server::start();
    let id = create_config(&server, "nightly");
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("two-steps.yaml");
    std::fs::write(&file, TWO_STEPS).expect("write");
    let file = file.display().to_string();
    let submit = [
        "--output",
        "json",
        "submit",
        "-f",
        &file,
        "-p",
        &format!("config_id={id}"),
        "-p",
        "version_number=1",
    ];
    let submitted = server.cli(&submit).success().json();
    let run_id = submitted["run_id"].as_str().expect("run_id").to_owned();
    let suspended = server.cli(&["runs", "suspend", &run_id]).success();
    assert!(
        suspended
            .stdout
            .contains(&format!("suspended run {run_id}")),
        "{}",
        suspended.stdout
    );
    std::thread::sleep(Duration::from_secs(3));
    let shown = server
        .cli(&["runs", "show", &run_id, "--output", "json"])
        .success()
        .json();
    assert_eq!(shown["metadata"]["phase"], "Running", "{shown}");
    let nodes = shown["metadata"]["nodes"].to_string();
    assert!(!nodes.contains("release"), "nothing new started: {nodes}");
    server.cli(&["runs", "resume", &run_id]).success();
    let watched = server.cli(&["runs", "watch", &run_id, "--poll", "1s"]);
    assert_eq!(watched.code, 0, "the resumed run succeeded: {watched:?}");
    let again = server.cli(&["runs", "suspend", &run_id]);
    assert_eq!(again.code, 1);
    assert!(again.stderr.contains("ended"), "{}", again.stderr);
}
