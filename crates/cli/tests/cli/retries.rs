//! Retries that help, on the local engine running the built-in sftp-to-storage workflow: a job
//! step that fails permanently (a missing secret, a host key that is not the real sshd's)
//! exits 78 and runs once; one that fails transiently (every connection reset) exits 1 and
//! is retried three times, each wait longer than the one before.

use crate::harness::Server;
use crate::pipeline::{node_summaries, wait_until_recorded};
use polyphemus_core::Registry;
use polyphemus_testkit::{required_in_ci, ResettingPort, Sshd};
use serde_json::{json, Value};
use std::time::Duration;

/// Creates an sftp-to-storage config for `host:port` and returns its id.
fn create_config(server: &Server, port: u16, fingerprint: &str, password: Option<&str>) -> String {
    let config = json!({"host": "127.0.0.1", "port": port, "username": "ingest",
                        "host_key_fingerprint": fingerprint, "root": "/in",
                        "bucket": "raw-data"});
    let created = server
        .cli_with_stdin(
            &[
                "--output",
                "json",
                "configs",
                "create",
                "--workflow-type",
                "sftp-to-storage",
                "--name",
                "retried",
                "--config",
                "-",
            ],
            Some(&config.to_string()),
        )
        .success()
        .json();
    let id = created["config_id"].to_string();
    if let Some(password) = password {
        server
            .cli_with_stdin(&["secrets", "set", &id, "password", "-"], Some(password))
            .success();
    }
    id
}

/// The nodes whose display name is `step` or `step(N)`: the Retry node first, then its
/// attempts in order.
fn step_nodes(shown: &Value, step: &str) -> Vec<Value> {
    let mut nodes: Vec<Value> = shown["metadata"]["nodes"]
        .as_object()
        .map(|nodes| nodes.values().cloned().collect())
        .unwrap_or_default();
    nodes.retain(|node| {
        node["display_name"].as_str().is_some_and(|name| {
            name == step || name.strip_prefix(step).is_some_and(|n| n.starts_with('('))
        })
    });
    nodes.sort_by_key(|node| node["display_name"].as_str().map(str::to_owned));
    nodes
}

fn launch(server: &Server, config_id: &str) -> Value {
    let launched = server
        .cli(&["launch", config_id, "--output", "json"])
        .success()
        .json();
    wait_until_recorded(server, launched["run_id"].as_str().expect("run_id"))
}

/// Fails once: exit 78, `permanent: …` in the node's message and the run's output.
fn assert_failed_once_permanently(shown: &Value, why: &str) {
    assert_eq!(shown["metadata"]["phase"], "Failed", "{shown}");
    let nodes = step_nodes(shown, "discover");
    let summary = node_summaries(shown);
    assert_eq!(nodes.len(), 2, "a Retry node and one attempt: {summary:?}");
    assert_eq!(nodes[0]["type"], "Retry");
    assert_eq!(nodes[0]["retries"], 0, "{summary:?}");
    let message = nodes[1]["message"].as_str().unwrap_or_default();
    assert!(message.starts_with("Error (exit code 78)"), "{message}");
    assert!(message.contains("failed: permanent: "), "{message}");
    let failure = shown["metadata"]["failure"].as_str().unwrap_or_default();
    assert!(
        failure.starts_with(&format!("discover: {why}")),
        "the step and its job's own reason head the run: {failure}"
    );
    let output = shown["output"].as_str().unwrap_or_default();
    let line = format!("[sftp_discover] failed: permanent: {why}");
    // The job appended it and printed it to its step's log: the output keeps it once.
    assert_eq!(output.matches(&line).count(), 1, "{output}");
    let names: Vec<&str> = shown["metadata"]["nodes"]
        .as_object()
        .map(|nodes| {
            nodes
                .values()
                .filter_map(|n| n["display_name"].as_str())
                .collect()
        })
        .unwrap_or_default();
    assert!(
        !names.contains(&"copy"),
        "nothing ran after discover: {names:?}"
    );
}

#[test]
fn a_permanent_failure_runs_once_and_says_so() {
    let server = Server::start();
    let fingerprint = "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU";
    let id = create_config(&server, 22, fingerprint, None);
    let shown = launch(&server, &id);
    assert_failed_once_permanently(&shown, "config: neither the secret private_key");

    if let Some(why) = Sshd::unavailable() {
        assert!(!required_in_ci(), "{why}");
        return eprintln!("skipped the host key half: {why}");
    }
    let sshd = Sshd::start();
    let id = create_config(&server, sshd.port, fingerprint, Some(&sshd.password));
    let shown = launch(&server, &id);
    let why = format!("SFTP ingest@127.0.0.1:{}: host key mismatch", sshd.port);
    assert_failed_once_permanently(&shown, &why);
}

/// The built-in workflow with its backoff of 5 s shortened to `base` (the factor stays 2).
fn with_backoff(base: &str) -> String {
    let builtin = Registry::builtin();
    let manifest = builtin
        .all()
        .find(|manifest| manifest.name().as_str() == "sftp-to-storage")
        .expect("the built-in sftp-to-storage");
    let yaml = &manifest.workflow_yaml;
    let backoff = r#"backoff: {duration: "5s", factor: "2"}"#;
    assert_eq!(
        yaml.matches(backoff).count(),
        3,
        "run-job, notify, record-metadata"
    );
    yaml.replace(
        backoff,
        &format!(r#"backoff: {{duration: "{base}", factor: "2"}}"#),
    )
}

#[test]
fn a_transient_failure_is_retried_three_times_with_growing_waits() {
    // This server keeps the workflow's waits (the harness makes them 0 for other tests).
    let server = Server::start_with_env(&[("POLYPHEMUS_ENGINE_MAX_BACKOFF", "1m")]);
    let resetting = ResettingPort::start();
    let fingerprint = "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU";
    let id = create_config(&server, resetting.port, fingerprint, Some("pw-0451"));
    let dir = tempfile::tempdir().expect("dir");
    let workflow = dir.path().join("sftp-to-storage.yaml");
    std::fs::write(&workflow, with_backoff("300ms")).expect("write");
    let submitted = server
        .cli(&[
            "--output",
            "json",
            "submit",
            "-f",
            &workflow.display().to_string(),
            "-p",
            &format!("config_id={id}"),
            "-p",
            "version_number=1",
        ])
        .success()
        .json();
    let shown = wait_until_recorded(&server, submitted["run_id"].as_str().expect("run_id"));

    assert_eq!(shown["metadata"]["phase"], "Failed", "{shown}");
    let nodes = step_nodes(&shown, "discover");
    let summary = node_summaries(&shown);
    assert_eq!(nodes.len(), 5, "a Retry node and 4 attempts: {summary:?}");
    assert_eq!(nodes[0]["retries"], 3, "{summary:?}");
    for attempt in &nodes[1..] {
        let message = attempt["message"].as_str().unwrap_or_default();
        assert!(message.starts_with("Error (exit code 1)"), "{message}");
        assert!(message.contains("transient, may be retried: "), "{message}");
    }
    let output = shown["output"].as_str().unwrap_or_default();
    let line = "[sftp_discover] failed: transient, may be retried: SFTP ingest@127.0.0.1";
    // Each attempt's line, once: what the job appended, not again from the attempt's log.
    assert_eq!(output.matches(line).count(), 4, "{output}");

    // Each attempt connected once; between them the backoff: 300 ms, 600 ms, 1.2 s (plus the
    // time an attempt takes to start and connect).
    let accepted = resetting.accepted();
    assert_eq!(accepted.len(), 4, "{accepted:?}");
    let gaps: Vec<Duration> = accepted.windows(2).map(|w| w[1] - w[0]).collect();
    for (gap, wait) in gaps.iter().zip([300, 600, 1200]) {
        assert!(*gap >= Duration::from_millis(wait), "{gaps:?}");
    }
    assert!(gaps[2] > gaps[0], "the waits grow: {gaps:?}");
}
