//! `runs logs RUN --follow`: a step's lines are printed as it prints them, and the command
//! exits once the run has ended.

use crate::harness::{command, create_config, Server};
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

const TICKER: &str = r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: ticker-}
spec:
  entrypoint: main
  arguments:
    parameters: [{name: config_id}, {name: version_number}, {name: project}]
  templates:
    - name: main
      steps:
        - - {name: tick, template: tick}
    - name: tick
      container: {image: busybox, command: [sh, -c, 'for n in 1 2 3 4; do echo "tick $n"; sleep 1; done']}
"#;

#[test]
fn logs_follow_prints_lines_while_the_run_goes_and_exits_when_it_ends() {
    let server = Server::start();
    let id = create_config(&server, "nightly");
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("ticker.yaml");
    std::fs::write(&file, TICKER).expect("write");
    let config = format!("config_id={id}");
    let submitted = server
        .cli(&[
            "submit",
            "-f",
            &file.display().to_string(),
            "-p",
            &config,
            "-p",
            "version_number=1",
        ])
        .success();
    let run_id = submitted
        .stdout
        .lines()
        .find_map(|line| line.strip_prefix("UID:"))
        .expect("uid line")
        .trim()
        .to_owned();

    let mut follow = command()
        .args(["--url", &server.url, "--data-dir"])
        .arg(&server.data_dir)
        .args(["runs", "logs", &run_id, "--follow", "--node", "tick"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut lines = BufReader::new(follow.stdout.take().expect("stdout")).lines();
    let mut seen = Vec::new();
    while !seen.iter().any(|line: &String| line == "tick 1") {
        seen.push(lines.next().expect("a line before the end").expect("read"));
    }
    let shown = server
        .cli(&["runs", "show", &run_id, "--output", "json"])
        .success()
        .json();
    let phase = &shown["metadata"]["phase"];
    assert!(
        phase == "Running" || phase == "Pending",
        "seen before the end: {shown}"
    );

    seen.extend(lines.map(|line| line.expect("read")));
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = follow.try_wait().expect("wait") {
            break status;
        }
        assert!(Instant::now() < deadline, "the follow did not end");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "{status:?}");
    assert_eq!(seen[0], "=== tick ===", "{seen:?}");
    for n in 1..=4 {
        assert!(seen.contains(&format!("tick {n}")), "{seen:?}");
    }
}
