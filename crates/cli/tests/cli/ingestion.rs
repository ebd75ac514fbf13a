//! The ingestion pipeline end to end on the embedded default: two real OpenSSH sshd instances
//! (the source and the deposit host), moto's S3 server, a webhook receiver, and `polyphemus
//! serve` with the local engine running `polyphemus run_job ingestion …` steps. Config and
//! secrets through the CLI, then launches.

use crate::harness::Server;
use crate::pipeline::{
    files_containing, launch_and_wait, node_names, node_summaries, object, object_keys, sha256_hex,
    source_and_storage_config, STORAGE_SECRET,
};
use polyphemus_testkit::{required_in_ci, S3Server, Sshd, WebhookReceiver};
use serde_json::{json, Value};
use std::path::Path;
use std::time::Duration;

/// The source, the deposit host and moto, or `None` (locally) when this machine lacks them.
fn servers() -> Option<(Sshd, Sshd, S3Server)> {
    let why = Sshd::unavailable().or_else(S3Server::unavailable);
    if let Some(why) = why {
        assert!(!required_in_ci(), "{why}");
        eprintln!("skipped: {why}");
        return None;
    }
    Some((Sshd::start(), Sshd::start(), S3Server::start()))
}

fn config(source: &Sshd, deposit: &Sshd, root: &Path, s3: &S3Server) -> Value {
    let mut config = source_and_storage_config(source, s3);
    config.extend(deposit.config_keys("deposit_"));
    config.insert("deposit_root".into(), json!(root.display().to_string()));
    Value::Object(config)
}

/// Every file below `dir`, relative and sorted, hidden temporary files included.
fn files_below(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, dir: &Path, found: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(base, &path, found);
            } else if let Ok(relative) = path.strip_prefix(base) {
                found.push(relative.display().to_string());
            }
        }
    }
    let mut found = Vec::new();
    walk(dir, dir, &mut found);
    found.sort();
    found
}

fn state_keys(shown: &Value, key: &str) -> Vec<String> {
    shown["state"][key]
        .as_object()
        .map(|map| map.keys().cloned().collect())
        .unwrap_or_default()
}

/// The node of a step, by its display name.
fn node<'a>(shown: &'a Value, step: &str) -> &'a Value {
    shown["metadata"]["nodes"]
        .as_object()
        .and_then(|nodes| nodes.values().find(|n| n["display_name"] == step))
        .unwrap_or_else(|| panic!("no {step} node: {:?}", node_summaries(shown)))
}

/// Writes `values` to `dir/config.json` for `configs create|update --config`.
fn write_config(dir: &Path, values: &Value) -> String {
    let file = dir.join("config.json");
    std::fs::write(&file, values.to_string()).expect("config file");
    file.display().to_string()
}

fn set_secret(server: &Server, id: &str, name: &str, value: &str) {
    server
        .cli_with_stdin(&["secrets", "set", id, name, "-"], Some(value))
        .success();
}

/// Puts a matching file on the source, old enough to be listed.
fn put_old(source: &Sshd, relative: &str, contents: &[u8]) {
    source.put_file(relative, contents);
    source.age_file(relative, 3600);
}

/// The run ended in `phase`.
fn assert_phase(shown: &Value, phase: &str) {
    assert_eq!(
        shown["metadata"]["phase"],
        phase,
        "{:?}",
        node_summaries(shown)
    );
}

/// Exactly `files` (path below the source root, contents) are in the bucket under the prefix
/// and on the deposit host below `root`, byte for byte, with no temporary file beside them.
fn assert_delivered(s3: &S3Server, root: &Path, files: &[(&str, &[u8])]) {
    let mut expected: Vec<&str> = files.iter().map(|(relative, _)| *relative).collect();
    expected.sort_unstable();
    let stored: Vec<String> = object_keys(s3)
        .iter()
        .map(|key| key.trim_start_matches("core-a/").to_owned())
        .collect();
    assert_eq!(stored, expected, "in the bucket");
    assert_eq!(files_below(root), expected, "on the deposit host");
    for (relative, contents) in files {
        let copied = object(s3, &format!("core-a/{relative}"));
        assert!(
            copied.as_deref() == Some(*contents),
            "{relative} differs in the bucket"
        );
        let deposited = std::fs::read(root.join(relative)).ok();
        assert!(
            deposited.as_deref() == Some(*contents),
            "{relative} differs on the deposit host"
        );
    }
}

#[test]
fn ingestion_copies_and_deposits_in_parallel_once_and_refuses_a_wrong_deposit_host_key() {
    let Some((source, deposit, s3)) = servers() else {
        return;
    };
    s3.create_bucket("sequencing-raw");
    let hook = WebhookReceiver::start();
    let reads = b"@r1\nACGTACGT\n+\nIIIIIIII\n".repeat(20_000);
    put_old(&source, "run-0412/sample-1.fastq.gz", &reads);
    put_old(
        &source,
        "run-0412/lane2/sample-2.fastq.gz",
        b"second sample",
    );
    put_old(&source, "run-0412/SampleSheet.csv", b"not matching");
    let root = deposit.writable_dir("archive").join("incoming");

    let server = Server::start();
    let dir = tempfile::tempdir().expect("dir");
    let values = config(&source, &deposit, &root, &s3);
    let created = server
        .cli(&[
            "configs",
            "create",
            "--workflow-type",
            "ingestion",
            "--name",
            "core-a-ingest",
            "--config",
            &write_config(dir.path(), &values),
            "--output",
            "json",
        ])
        .success()
        .json();
    let id = created["config_id"].to_string();
    set_secret(&server, &id, "password", &source.password);
    set_secret(&server, &id, "storage_secret_key", STORAGE_SECRET);
    set_secret(&server, &id, "deposit_private_key", &deposit.private_key);
    set_secret(&server, &id, "webhook_url", &hook.url());

    // First run: both samples reach the bucket and the deposit host, in parallel steps.
    let first = launch_and_wait(&server, &id);
    assert_phase(&first, "Succeeded");
    let names = node_names(&first);
    for step in ["discover", "copy", "deposit", "notify"] {
        assert!(names.iter().any(|n| n == step), "{step} in {names:?}");
    }
    let mut delivered: Vec<(&str, &[u8])> = vec![
        ("run-0412/sample-1.fastq.gz", &reads),
        ("run-0412/lane2/sample-2.fastq.gz", b"second sample"),
    ];
    assert_delivered(&s3, &root, &delivered);
    let sample_2 = &first["state"]["deposited"]["run-0412/lane2/sample-2.fastq.gz"];
    assert_eq!(sample_2["sha256"], sha256_hex(b"second sample"));
    let path = root.join("run-0412/lane2/sample-2.fastq.gz");
    assert_eq!(sample_2["path"], path.display().to_string());
    assert_eq!(state_keys(&first, "copied").len(), 2, "{}", first["state"]);
    assert_eq!(first["state"]["bytes_deposited"], reads.len() + 13);
    let received = hook.wait_for(1, Duration::from_secs(10));
    assert_eq!(received.len(), 1, "{received:?}");
    let summary = &received[0];
    assert_eq!(summary["status"], "Succeeded");
    assert_eq!(
        [&summary["files_copied"], &summary["files_deposited"]],
        [2, 2]
    );

    // Nothing new: nothing copied or deposited again.
    let second = launch_and_wait(&server, &id);
    assert_phase(&second, "Succeeded");
    assert!(
        state_keys(&second, "deposited").is_empty(),
        "{}",
        second["state"]
    );
    let output = second["output"].to_string();
    assert!(output.contains("nothing to deposit"), "{output}");
    assert_delivered(&s3, &root, &delivered);

    // A new file: deposited alone.
    put_old(&source, "run-0413/sample-3.fastq.gz", b"third");
    let third = launch_and_wait(&server, &id);
    assert_phase(&third, "Succeeded");
    assert_eq!(
        state_keys(&third, "deposited"),
        ["run-0413/sample-3.fastq.gz"]
    );
    delivered.push(("run-0413/sample-3.fastq.gz", b"third"));
    assert_delivered(&s3, &root, &delivered);

    // A wrong deposit host key: the deposit step fails readably, the copy still happens.
    put_old(&source, "run-0414/sample-4.fastq.gz", b"fourth");
    let mut wrong = values.clone();
    wrong["deposit_host_key_fingerprint"] = json!(source.host_key_fingerprint);
    let update = |values: &Value| {
        let file = write_config(dir.path(), values);
        let args = ["configs", "update", &id, "--config", &file];
        server.cli(&args).success();
    };
    update(&wrong);
    let refused = launch_and_wait(&server, &id);
    assert_phase(&refused, "Failed");
    let failed = node(&refused, "deposit");
    assert_eq!(failed["phase"], "Failed", "{:?}", node_summaries(&refused));
    let message = failed["message"].to_string();
    for part in ["host key mismatch", "check deposit_host_key_fingerprint"] {
        assert!(message.contains(part), "{part}: {message}");
    }
    assert_eq!(node(&refused, "copy")["phase"], "Succeeded");
    assert_eq!(object_keys(&s3).len(), 4, "copied");
    assert_eq!(
        files_below(&root).len(),
        3,
        "nothing written on the deposit host"
    );
    let received = hook.wait_for(4, Duration::from_secs(10));
    assert_eq!(received.len(), 4, "{received:?}");
    assert_eq!(
        received[3]["failed_steps"][0]["step"], "deposit",
        "{}",
        received[3]
    );

    // Fixed: the file the failed deposit missed is listed again and deposited.
    update(&values);
    let fixed = launch_and_wait(&server, &id);
    assert_phase(&fixed, "Succeeded");
    assert_eq!(
        state_keys(&fixed, "deposited"),
        ["run-0414/sample-4.fastq.gz"]
    );
    delivered.push(("run-0414/sample-4.fastq.gz", b"fourth"));
    assert_delivered(&s3, &root, &delivered);

    // No secret in any run, event, or file of the server (store included).
    let key_body = deposit
        .private_key
        .lines()
        .nth(1)
        .expect("a key line")
        .to_owned();
    let events = server.cli(&["events", "--output", "json"]).success();
    for secret in [source.password.as_str(), STORAGE_SECRET, key_body.as_str()] {
        for shown in [&first, &second, &third, &refused, &fixed] {
            assert!(!shown.to_string().contains(secret), "a secret in a run");
        }
        assert!(!events.stdout.contains(secret), "a secret in the events");
        let leaks = files_containing(server.data_dir.parent().expect("dir"), secret.as_bytes());
        assert!(leaks.is_empty(), "a secret written to {leaks:?}");
    }
}
