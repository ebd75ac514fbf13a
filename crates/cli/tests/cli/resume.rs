//! `polyphemus runs resume` on the local engine: a run waiting at a `suspend` step shows it in
//! `runs show`, goes on when resumed, and a second resume says it is not suspended.

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
