//! `sftp_discover` then `copy_to_sftp` between two real OpenSSH sshd instances (a source and
//! a deposit host), with the Polyphemus API in memory.

mod support;

use polyphemus_jobs::{FailureKind, JobOutcome};
use polyphemus_testkit::{required_in_ci, Sshd};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use support::{api_with_files, keys, run, sha256, MemoryApi};

/// A source and a deposit host, or `None` (locally) when sshd cannot run here.
fn two_hosts() -> Option<(Sshd, Sshd)> {
    match Sshd::unavailable() {
        None => Some((Sshd::start(), Sshd::start())),
        Some(why) => {
            assert!(!required_in_ci(), "{why}");
            eprintln!("skipped: {why}");
            None
        }
    }
}

fn config(source: &Sshd, deposit: &Sshd, deposit_root: &Path) -> Value {
    let mut config = source.config_keys("");
    config.extend(deposit.config_keys("deposit_"));
    config.insert("root".into(), json!(source.root.display().to_string()));
    config.insert("min_age_s".into(), json!(60));
    config.insert(
        "deposit_root".into(),
        json!(deposit_root.display().to_string()),
    );
    Value::Object(config)
}

/// The source by password, the deposit host by key.
fn secrets(source: &Sshd, deposit: &Sshd) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("password".to_owned(), source.password.clone()),
        (
            "deposit_private_key".to_owned(),
            deposit.private_key.clone(),
        ),
    ])
}

/// Every file below `dir`, relative, sorted (hidden temporary files included).
fn files_below(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, dir: &Path, found: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(base, &path, found);
            } else {
                let relative = path.strip_prefix(base).expect("below");
                found.push(relative.display().to_string());
            }
        }
    }
    let mut found = Vec::new();
    walk(dir, dir, &mut found);
    found.sort();
    found
}

/// Whole seconds: SFTP v3 carries no finer times.
fn mtime(path: &PathBuf) -> u64 {
    let modified = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .expect("mtime");
    modified
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovered_files_are_deposited_once_and_replaced_when_changed() {
    let Some((source, deposit)) = two_hosts() else {
        return;
    };
    let big = b"@read1\nACGT\n+\nIIII\n".repeat(40_000);
    source.put_file("a.fastq.gz", &big);
    source.put_file("run7/lane1/b.fastq.gz", b"bbbb");
    for old in ["a.fastq.gz", "run7/lane1/b.fastq.gz"] {
        source.age_file(old, 600);
    }
    let drop_dir = deposit.writable_dir("drop");
    let root = drop_dir.join("incoming");
    let api = Arc::new(MemoryApi {
        config: config(&source, &deposit, &root),
        secrets: secrets(&source, &deposit),
        ..MemoryApi::default()
    });

    assert_eq!(run(&api, "sftp_discover").await, JobOutcome::Done);
    assert_eq!(run(&api, "copy_to_sftp").await, JobOutcome::Done);
    assert_eq!(
        files_below(&root),
        ["a.fastq.gz", "run7/lane1/b.fastq.gz"],
        "subdirectories recreated, no temporary file left"
    );
    assert_eq!(std::fs::read(root.join("a.fastq.gz")).expect("a"), big);
    assert_eq!(
        mtime(&root.join("a.fastq.gz")),
        mtime(&source.root.join("a.fastq.gz")),
        "the source's mtime is kept"
    );
    let state = api.state();
    assert_eq!(
        keys(&state, "deposited"),
        ["a.fastq.gz", "run7/lane1/b.fastq.gz"]
    );
    let b = &state["deposited"]["run7/lane1/b.fastq.gz"];
    assert_eq!(b["sha256"], sha256(b"bbbb"));
    assert_eq!(b["size"], 4);
    assert_eq!(
        b["path"],
        root.join("run7/lane1/b.fastq.gz").display().to_string()
    );
    assert_eq!(state["bytes_deposited"], big.len() + 4);
    assert_eq!(state["deposit_failures"], json!([]));
    assert!(
        state.get("failures").is_none(),
        "copy_to_storage's key untouched"
    );

    // A retried step: nothing left to deposit.
    assert_eq!(run(&api, "copy_to_sftp").await, JobOutcome::Skipped);
    assert!(
        api.output().contains("nothing to deposit"),
        "{}",
        api.output()
    );

    // The next run: only the changed file is listed, and replaces the older one.
    api.next_run();
    source.put_file("run7/lane1/b.fastq.gz", b"bbbb, longer now");
    source.age_file("run7/lane1/b.fastq.gz", 300);
    assert_eq!(run(&api, "sftp_discover").await, JobOutcome::Done);
    assert_eq!(keys(&api.state(), "files"), ["run7/lane1/b.fastq.gz"]);
    assert_eq!(run(&api, "copy_to_sftp").await, JobOutcome::Done);
    assert_eq!(
        std::fs::read(root.join("run7/lane1/b.fastq.gz")).expect("b"),
        b"bbbb, longer now"
    );
    assert_eq!(files_below(&root).len(), 2, "{:?}", files_below(&root));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_deposit_host_key_is_refused_and_nothing_is_written() {
    let Some((source, deposit)) = two_hosts() else {
        return;
    };
    source.put_file("a.fastq.gz", b"aaaa");
    source.age_file("a.fastq.gz", 600);
    let root = deposit.writable_dir("drop");
    let mut values = config(&source, &deposit, &root);
    // The source's key is a real key, just not the deposit host's.
    values["deposit_host_key_fingerprint"] = json!(source.host_key_fingerprint);
    let api = Arc::new(MemoryApi {
        config: values,
        secrets: BTreeMap::from([
            ("password".to_owned(), source.password.clone()),
            ("deposit_password".to_owned(), deposit.password.clone()),
        ]),
        ..MemoryApi::default()
    });
    assert_eq!(run(&api, "sftp_discover").await, JobOutcome::Done);
    let outcome = run(&api, "copy_to_sftp").await;
    let JobOutcome::Failed(why) = &outcome else {
        panic!("{outcome:?}");
    };
    assert!(why.message.contains("host key mismatch"), "{why}");
    assert!(
        why.message.contains("check deposit_host_key_fingerprint"),
        "{why}"
    );
    assert_eq!(
        why.kind,
        FailureKind::Permanent,
        "a refused host key stays refused"
    );
    assert!(files_below(&root).is_empty());
    let state = api.state();
    assert_eq!(state["deposit_failures"][0]["path"], "*", "{state:?}");
    assert_eq!(
        state["deposited"],
        json!({}),
        "the deposit ran, and missed every file"
    );
    let output = api.output();
    for secret in [&source.password, &deposit.password] {
        assert!(!output.contains(secret.as_str()), "a secret in the output");
        assert!(
            !why.message.contains(secret.as_str()),
            "a secret in the error"
        );
    }
}

#[tokio::test]
async fn a_missing_deposit_secret_is_named() {
    let api = api_with_files(
        json!({"host": "h", "username": "u", "host_key_fingerprint": "SHA256:x",
               "root": "/in", "deposit_host": "d", "deposit_username": "u",
               "deposit_host_key_fingerprint": "SHA256:y", "deposit_root": "/out"}),
        &[("password", "pw")],
        json!({"a": {"size": 1, "mtime": 1}}),
    );
    let outcome = run(&api, "copy_to_sftp").await;
    assert!(
        matches!(&outcome, JobOutcome::Failed(why)
            if why.message.contains("deposit_private_key") && why.message.contains("deposit_password")
                && why.kind == FailureKind::Permanent),
        "{outcome:?}"
    );
}
