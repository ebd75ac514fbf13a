//! The sftp-to-storage pipeline end to end on the embedded default: a real OpenSSH sshd, moto's
//! S3 server, a webhook receiver, `polyphemus serve` with the local engine running
//! `polyphemus run_job …` steps. Config and secrets through the API, then launches.

use crate::harness::{block_on, Server};
use object_store::path::Path as ObjectPath;
use object_store::ObjectStore;
use polyphemus_model::{ConfigId, VersionNumber};
use polyphemus_store::bench::seed_ended_runs;
use polyphemus_store::{Store, StoreOptions};
use polyphemus_testkit::{required_in_ci, S3Server, Sshd, WebhookReceiver};
use serde_json::{json, Map, Value};
use std::path::Path;
use std::time::{Duration, Instant};

pub(crate) const STORAGE_SECRET: &str = "storage-Secret-0451";

/// sshd and moto, or `None` (locally) when this machine cannot run them.
fn servers() -> Option<(Sshd, S3Server)> {
    let why = Sshd::unavailable().or_else(S3Server::unavailable);
    if let Some(why) = why {
        assert!(!required_in_ci(), "{why}");
        eprintln!("skipped: {why}");
        return None;
    }
    Some((Sshd::start(), S3Server::start()))
}

/// The config keys of sftp-to-storage for `sshd` and `s3`: `.fastq.gz` files an hour old to
/// `sequencing-raw/core-a/` (the webhook's URL is a secret).
pub(crate) fn source_and_storage_config(sshd: &Sshd, s3: &S3Server) -> Map<String, Value> {
    let mut config = sshd.config_keys("");
    let more = json!({
        "root": sshd.root.display().to_string(),
        "file_regex": r"\.fastq\.gz$",
        "min_age_s": 60,
        "storage_url": s3.endpoint(),
        "bucket": "sequencing-raw",
        "prefix": "core-a",
        "storage_access_key_id": "polyphemus",
    });
    config.extend(more.as_object().cloned().unwrap_or_default());
    config
}

pub(crate) fn launch_and_wait(server: &Server, config_id: &str) -> Value {
    let launched = server
        .cli(&["launch", config_id, "--output", "json"])
        .success()
        .json();
    wait_until_recorded(server, launched["run_id"].as_str().expect("run_id"))
}

/// The run once it ended and its exit handler did too.
pub(crate) fn wait_until_recorded(server: &Server, run_id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let shown = server
            .cli(&["runs", "show", run_id, "--output", "json"])
            .json();
        let phase = shown["metadata"]["phase"].as_str().unwrap_or("");
        // The server's own record after the exit handler is the final one.
        let exit_handler_done = shown["metadata"]["nodes"].as_object().is_some_and(|nodes| {
            nodes.values().any(|n| {
                n["display_name"]
                    .as_str()
                    .is_some_and(|d| d.ends_with(".onExit"))
                    && matches!(n["phase"].as_str(), Some("Succeeded" | "Failed" | "Error"))
            })
        });
        if matches!(phase, "Succeeded" | "Failed" | "Error") && exit_handler_done {
            return shown;
        }
        assert!(Instant::now() < deadline, "the run did not end: {shown}");
        std::thread::sleep(Duration::from_millis(300));
    }
}

pub(crate) fn bucket(s3: &S3Server) -> impl ObjectStore {
    object_store::aws::AmazonS3Builder::new()
        .with_endpoint(s3.endpoint())
        .with_allow_http(true)
        .with_bucket_name("sequencing-raw")
        .with_region("us-east-1")
        .with_access_key_id("polyphemus")
        .with_secret_access_key(STORAGE_SECRET)
        .build()
        .expect("s3 client")
}

pub(crate) fn object(s3: &S3Server, key: &str) -> Option<Vec<u8>> {
    let store = bucket(s3);
    block_on(async {
        let got = store.get(&ObjectPath::from(key)).await.ok()?;
        Some(got.bytes().await.ok()?.to_vec())
    })
}

pub(crate) fn object_keys(s3: &S3Server) -> Vec<String> {
    let store = bucket(s3);
    block_on(async {
        use futures::StreamExt;
        let listed: Vec<_> = store.list(None).collect().await;
        let mut keys: Vec<String> = listed
            .into_iter()
            .map(|meta| meta.expect("listed").location.to_string())
            .collect();
        keys.sort();
        keys
    })
}

/// Every file under `dir` (server log, store, run directories) that holds `needle`.
pub(crate) fn files_containing(dir: &Path, needle: &[u8]) -> Vec<String> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files_containing(&path, needle));
        } else if std::fs::read(&path)
            .is_ok_and(|bytes| bytes.windows(needle.len()).any(|w| w == needle))
        {
            found.push(path.display().to_string());
        }
    }
    found
}

/// `name phase message` of each node, for failure messages.
pub(crate) fn node_summaries(shown: &Value) -> Vec<String> {
    shown["metadata"]["nodes"]
        .as_object()
        .map(|nodes| {
            nodes
                .values()
                .map(|n| format!("{} {} {}", n["display_name"], n["phase"], n["message"]))
                .collect()
        })
        .unwrap_or_default()
}

pub(crate) fn node_names(shown: &Value) -> Vec<String> {
    let mut names: Vec<String> = shown["metadata"]["nodes"]
        .as_object()
        .map(|nodes| {
            nodes
                .values()
                .filter_map(|n| n["display_name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Creates the sftp-to-storage config of [`source_and_storage_config`] with its secrets;
/// returns its config_id.
fn pipeline_config(server: &Server, sshd: &Sshd, s3: &S3Server, hook: &str) -> String {
    let dir = tempfile::tempdir().expect("dir");
    let config = dir.path().join("config.json");
    std::fs::write(
        &config,
        Value::Object(source_and_storage_config(sshd, s3)).to_string(),
    )
    .expect("config file");
    let created = server
        .cli(&[
            "configs",
            "create",
            "--workflow-type",
            "sftp-to-storage",
            "--name",
            "core-a-nightly",
            "--config",
            &config.display().to_string(),
            "--output",
            "json",
        ])
        .success()
        .json();
    let id = created["config_id"].to_string();
    server
        .cli_with_stdin(
            &["secrets", "set", &id, "password", "-"],
            Some(&sshd.password),
        )
        .success();
    server
        .cli_with_stdin(
            &["secrets", "set", &id, "storage_secret_key", "-"],
            Some(STORAGE_SECRET),
        )
        .success();
    server
        .cli_with_stdin(&["secrets", "set", &id, "webhook_url", "-"], Some(hook))
        .success();
    id
}

#[test]
fn sftp_to_storage_copies_new_files_and_fails_readably() {
    let Some((mut sshd, s3)) = servers() else {
        return;
    };
    s3.create_bucket("sequencing-raw");
    let hook = WebhookReceiver::start();
    let reads = b"@r1\nACGTACGT\n+\nIIIIIIII\n".repeat(4096);
    sshd.put_file("run-0412/sample-1.fastq.gz", &reads);
    sshd.put_file("run-0412/sample-2.fastq.gz", b"second sample");
    sshd.put_file("run-0412/SampleSheet.csv", b"not copied: does not match");
    for file in ["run-0412/sample-1.fastq.gz", "run-0412/sample-2.fastq.gz"] {
        sshd.age_file(file, 3600);
    }

    let server = Server::start();
    let id = pipeline_config(&server, &sshd, &s3, &hook.url());

    // First run: both samples are copied, the webhook hears about it.
    let first = launch_and_wait(&server, &id);
    assert_eq!(first["metadata"]["phase"], "Succeeded", "{first}");
    let names = node_names(&first);
    for step in ["discover", "copy", "notify"] {
        assert!(names.iter().any(|n| n == step), "{step} in {names:?}");
    }
    assert!(names.iter().any(|n| n.ends_with(".onExit")), "{names:?}");
    assert_eq!(
        object_keys(&s3),
        [
            "core-a/run-0412/sample-1.fastq.gz",
            "core-a/run-0412/sample-2.fastq.gz"
        ]
    );
    assert_eq!(
        object(&s3, "core-a/run-0412/sample-1.fastq.gz").as_deref(),
        Some(&reads[..])
    );
    let state = &first["state"];
    assert_eq!(
        state["copied"]["run-0412/sample-2.fastq.gz"]["sha256"],
        sha256_hex(b"second sample")
    );
    assert_eq!(state["bytes_copied"], reads.len() + b"second sample".len());
    let status = server.cli(&["status", "--output", "json"]).success().json();
    assert_eq!(status[0]["pipeline_state"], "succeeded", "{status}");
    let received = hook.wait_for(1, Duration::from_secs(10));
    assert_eq!(received.len(), 1, "{received:?}");
    assert_eq!(received[0]["status"], "Succeeded", "{received:?}");
    assert_eq!(received[0]["files_copied"], 2);
    assert_eq!(received[0]["run_id"], first["run_id"]);
    let text = received[0]["text"].as_str().unwrap_or_default();
    assert!(
        text.starts_with("Succeeded: config"),
        "Slack's text: {text}"
    );

    // Second run: only the new file.
    sshd.put_file("run-0413/sample-3.fastq.gz", b"third");
    sshd.age_file("run-0413/sample-3.fastq.gz", 3600);
    let second = launch_and_wait(&server, &id);
    assert_eq!(second["metadata"]["phase"], "Succeeded", "{second}");
    let copied: Vec<&String> = second["state"]["copied"]
        .as_object()
        .expect("copied")
        .keys()
        .collect();
    assert_eq!(copied, ["run-0413/sample-3.fastq.gz"]);
    assert_eq!(object_keys(&s3).len(), 3);

    // A wrong password: Failed, with a readable reason in the output and the metadata.
    server
        .cli_with_stdin(
            &["secrets", "set", &id, "password", "-"],
            Some("Wr0ng-pw-7731"),
        )
        .success();
    sshd.put_file("run-0414/sample-4.fastq.gz", b"fourth");
    sshd.age_file("run-0414/sample-4.fastq.gz", 3600);
    let refused = launch_and_wait(&server, &id);
    assert_eq!(refused["metadata"]["phase"], "Failed", "{refused}");
    let logs = server
        .cli(&["runs", "logs", refused["run_id"].as_str().expect("id")])
        .success();
    assert!(
        logs.stdout
            .contains("authentication failed (password refused"),
        "{}",
        logs.stdout
    );
    let messages = refused["metadata"].to_string();
    assert!(messages.contains("authentication failed"), "{messages}");
    // The exit handler told the webhook which step failed, and why.
    let received = hook.wait_for(3, Duration::from_secs(10));
    assert_eq!(
        received.len(),
        3,
        "{received:?}\nnodes: {:?}\noutput: {}",
        node_summaries(&refused),
        refused["output"]
    );
    assert_eq!(received[2]["status"], "Failed");
    assert_eq!(received[2]["failed_steps"][0]["step"], "discover");
    let why = received[2]["failed_steps"][0]["message"].to_string();
    assert!(why.contains("authentication failed"), "{why}");

    // sshd gone: Failed, nothing half-copied.
    server
        .cli_with_stdin(
            &["secrets", "set", &id, "password", "-"],
            Some(&sshd.password),
        )
        .success();
    sshd.stop();
    let unreachable = launch_and_wait(&server, &id);
    assert_eq!(unreachable["metadata"]["phase"], "Failed", "{unreachable}");
    assert!(
        unreachable["metadata"]
            .to_string()
            .contains("cannot connect"),
        "{unreachable}"
    );
    assert_eq!(object_keys(&s3).len(), 3, "nothing new or partial");
    let status = server.cli(&["status", "--output", "json"]).success().json();
    assert_eq!(status[0]["pipeline_state"], "failed", "{status}");

    // No secret in any output, metadata, event, log or file of the server (store included).
    let events = server.cli(&["events", "--output", "json"]).success();
    for secret in [sshd.password.as_str(), STORAGE_SECRET, "Wr0ng-pw-7731"] {
        for shown in [&first, &second, &refused, &unreachable] {
            assert!(!shown.to_string().contains(secret), "secret in a run");
        }
        assert!(!events.stdout.contains(secret), "secret in the events");
        let leaks = files_containing(server.data_dir.parent().expect("dir"), secret.as_bytes());
        assert!(leaks.is_empty(), "secret written to {leaks:?}");
    }
}

/// A file copied once is not copied again, however many runs came since: the config's ledger
/// answers, not a history of runs (here 10,000 of them, each with a `copied` record of its
/// own, more than any run-by-run history reaches).
#[test]
fn a_file_copied_ten_thousand_runs_ago_is_not_copied_again() {
    let Some((sshd, s3)) = servers() else {
        return;
    };
    s3.create_bucket("sequencing-raw");
    let hook = WebhookReceiver::start();
    sshd.put_file("old.fastq.gz", b"copied by the first run");
    sshd.age_file("old.fastq.gz", 3600);
    let server = Server::start();
    let id = pipeline_config(&server, &sshd, &s3, &hook.url());
    let first = launch_and_wait(&server, &id);
    assert_eq!(first["metadata"]["phase"], "Succeeded", "{first}");
    assert_eq!(object_keys(&s3), ["core-a/old.fastq.gz"]);

    let later = json!({
        "copied": {"elsewhere.fastq.gz": {"key": "core-a/elsewhere.fastq.gz", "size": 1,
                    "mtime": 1, "sha256": "0".repeat(64)}},
        "bytes_copied": 1,
    });
    block_on(async {
        let store = Store::connect(&server.database_url, &StoreOptions::default())
            .await
            .expect("store");
        seed_ended_runs(
            &store,
            &first["project_name"]
                .as_str()
                .expect("project")
                .parse()
                .expect("name"),
            (
                ConfigId::new(id.parse().expect("id")),
                VersionNumber::new(1),
            ),
            "later",
            later.as_object().expect("state"),
            10_000,
        )
        .await
        .expect("seed runs");
        store.close().await;
    });

    sshd.put_file("new.fastq.gz", b"new since");
    sshd.age_file("new.fastq.gz", 3600);
    let next = launch_and_wait(&server, &id);
    assert_eq!(next["metadata"]["phase"], "Succeeded", "{next}");
    let copied: Vec<&String> = next["state"]["copied"]
        .as_object()
        .expect("copied")
        .keys()
        .collect();
    assert_eq!(copied, ["new.fastq.gz"], "{}", next["state"]);
    assert_eq!(next["state"]["scan"]["unchanged"], 1, "{}", next["state"]);
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}
