//! `sftp_discover` and `copy_to_storage` against a real OpenSSH sshd, a local directory store
//! and moto's S3 server, with the Polyphemus API in memory.

mod support;

use object_store::path::Path as ObjectPath;
use object_store::ObjectStore;
use polyphemus_jobs::{find_job, run_job, FailureKind, JobFailure, JobOutcome};
use polyphemus_testkit::{required_in_ci, S3Server, Sshd};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use support::{api_with_files, context_with_cancel, keys, run, sha256, MemoryApi};

/// Skips (locally) or fails (in CI) when sshd cannot run here.
fn sshd() -> Option<Sshd> {
    match Sshd::unavailable() {
        None => Some(Sshd::start()),
        Some(why) => {
            assert!(!required_in_ci(), "{why}");
            eprintln!("skipped: {why}");
            None
        }
    }
}

fn sftp_config(sshd: &Sshd, storage_url: &str) -> Value {
    json!({
        "host": "127.0.0.1",
        "port": sshd.port,
        "username": sshd.user,
        "host_key_fingerprint": sshd.host_key_fingerprint,
        "root": sshd.root.display().to_string(),
        "file_regex": r"\.fastq\.gz$",
        "min_age_s": 60,
        "storage_url": storage_url,
        "bucket": "raw",
        "prefix": "core-a",
    })
}

/// A store directory outside /tmp (a step's scratch space, refused as a destination).
fn storage_dir() -> tempfile::TempDir {
    polyphemus_testkit::storage_dir(env!("CARGO_TARGET_TMPDIR"))
}

#[tokio::test]
async fn a_destination_in_scratch_space_is_refused() {
    let api = api_with_files(
        json!({"bucket": "raw", "storage_url": "file:///tmp/archive", "root": "/in",
               "host": "h", "username": "u", "host_key_fingerprint": "SHA256:x"}),
        &[("password", "pw")],
        json!({"a": {"size": 1, "mtime": 1}}),
    );
    let outcome = run(&api, "copy_to_storage").await;
    assert!(
        matches!(&outcome, JobOutcome::Failed(why)
            if why.message.contains("scratch space") && why.kind == FailureKind::Permanent),
        "{outcome:?}"
    );
}

fn password(sshd: &Sshd) -> BTreeMap<String, String> {
    BTreeMap::from([("password".to_owned(), sshd.password.clone())])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_files_are_copied_once_with_their_checksums() {
    let Some(sshd) = sshd() else { return };
    let a = b"@read1\nACGT\n".repeat(1000);
    sshd.put_file("a.fastq.gz", &a);
    sshd.put_file("run7/b.fastq.gz", b"bbbb");
    sshd.put_file("notes.txt", b"not data");
    sshd.put_file("young.fastq.gz", b"still being written");
    for old in ["a.fastq.gz", "run7/b.fastq.gz", "notes.txt"] {
        sshd.age_file(old, 600);
    }
    let storage = storage_dir();
    let url = format!("file://{}", storage.path().display());
    let api = Arc::new(MemoryApi {
        config: sftp_config(&sshd, &url),
        secrets: password(&sshd),
        ..MemoryApi::default()
    });

    assert_eq!(run(&api, "sftp_discover").await, JobOutcome::Done);
    let state = api.state();
    assert_eq!(keys(&state, "files"), ["a.fastq.gz", "run7/b.fastq.gz"]);
    assert_eq!(state["scan"]["too_young"], 1);
    assert_eq!(state["scan"]["not_matching"], 1);

    assert_eq!(run(&api, "copy_to_storage").await, JobOutcome::Done);
    let state = api.state();
    let stored = storage.path().join("raw/core-a/a.fastq.gz");
    assert_eq!(std::fs::read(&stored).expect("object a"), a);
    assert_eq!(
        std::fs::read(storage.path().join("raw/core-a/run7/b.fastq.gz")).expect("object b"),
        b"bbbb"
    );
    assert_eq!(state["copied"]["a.fastq.gz"]["sha256"], sha256(&a));
    assert_eq!(state["copied"]["a.fastq.gz"]["key"], "core-a/a.fastq.gz");
    assert_eq!(state["bytes_copied"], a.len() + 4);
    assert_eq!(state["failures"], json!([]));

    // A retried copy step of the same run copies nothing again.
    assert_eq!(run(&api, "copy_to_storage").await, JobOutcome::Skipped);

    // The next run finds only the new file.
    api.next_run();
    sshd.put_file("c.fastq.gz", b"cccc");
    sshd.age_file("c.fastq.gz", 600);
    assert_eq!(run(&api, "sftp_discover").await, JobOutcome::Done);
    assert_eq!(keys(&api.state(), "files"), ["c.fastq.gz"]);
    assert_eq!(run(&api, "copy_to_storage").await, JobOutcome::Done);
    assert_eq!(keys(&api.state(), "copied"), ["c.fastq.gz"]);

    // A file rewritten since it was copied is copied again.
    api.next_run();
    sshd.put_file("a.fastq.gz", b"replaced");
    sshd.age_file("a.fastq.gz", 300);
    assert_eq!(run(&api, "sftp_discover").await, JobOutcome::Done);
    assert_eq!(keys(&api.state(), "files"), ["a.fastq.gz"]);
}

/// A backfill window lists only the files modified in it, and the run records the window.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_window_lists_only_the_files_modified_in_it() {
    let Some(sshd) = sshd() else { return };
    for (name, age_s) in [
        ("old.fastq.gz", 3 * 86_400),
        ("in.fastq.gz", 86_400),
        ("new.fastq.gz", 600),
    ] {
        sshd.put_file(name, b"reads");
        sshd.age_file(name, age_s);
    }
    let now = chrono::Utc::now();
    let text =
        |at: chrono::DateTime<chrono::Utc>| at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let (start, end) = (
        text(now - chrono::Duration::days(2)),
        text(now - chrono::Duration::hours(12)),
    );
    let storage = storage_dir();
    let api = Arc::new(MemoryApi {
        config: sftp_config(&sshd, &format!("file://{}", storage.path().display())),
        secrets: password(&sshd),
        runtime: json!({"start_time": start, "end_time": end}),
        ..MemoryApi::default()
    });
    assert_eq!(run(&api, "sftp_discover").await, JobOutcome::Done);
    let state = api.state();
    assert_eq!(keys(&state, "files"), ["in.fastq.gz"]);
    assert_eq!(
        state["scan_window"],
        json!({"start_time": start, "end_time": end})
    );
    assert!(
        api.output().contains("2 file(s) modified outside it"),
        "{}",
        api.output()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_auth_and_multipart_upload_to_s3() {
    let Some(sshd) = sshd() else { return };
    if let Some(why) = S3Server::unavailable() {
        assert!(!required_in_ci(), "{why}");
        eprintln!("skipped: {why}");
        return;
    }
    let s3 = S3Server::start();
    s3.create_bucket("raw");
    // Larger than one upload part, so it goes up as a multipart upload.
    let big: Vec<u8> = (0..20 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    sshd.put_file("big.fastq.gz", &big);
    sshd.age_file("big.fastq.gz", 600);
    sshd.put_file("small.fastq.gz", b"small");
    sshd.age_file("small.fastq.gz", 600);
    let mut config = sftp_config(&sshd, &s3.endpoint());
    config["storage_access_key_id"] = json!("testing");
    let api = Arc::new(MemoryApi {
        config,
        secrets: BTreeMap::from([
            ("private_key".to_owned(), sshd.private_key.clone()),
            ("storage_secret_key".to_owned(), "testing".to_owned()),
        ]),
        ..MemoryApi::default()
    });
    assert_eq!(run(&api, "sftp_discover").await, JobOutcome::Done);
    assert_eq!(run(&api, "copy_to_storage").await, JobOutcome::Done);
    let state = api.state();
    assert_eq!(state["copied"]["big.fastq.gz"]["sha256"], sha256(&big));
    assert_eq!(state["copied"]["big.fastq.gz"]["size"], big.len());

    let store = object_store::aws::AmazonS3Builder::new()
        .with_endpoint(s3.endpoint())
        .with_allow_http(true)
        .with_bucket_name("raw")
        .with_region("us-east-1")
        .with_access_key_id("testing")
        .with_secret_access_key("testing")
        .build()
        .expect("s3 client");
    let object = store
        .get(&ObjectPath::from("core-a/big.fastq.gz"))
        .await
        .expect("big object")
        .bytes()
        .await
        .expect("bytes");
    assert_eq!(sha256(&object), sha256(&big));
    let small = store
        .get(&ObjectPath::from("core-a/small.fastq.gz"))
        .await
        .expect("small object")
        .bytes()
        .await
        .expect("bytes");
    assert_eq!(&small[..], b"small");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_or_host_key_fails_readably_without_the_secret() {
    let Some(sshd) = sshd() else { return };
    let storage = storage_dir();
    let url = format!("file://{}", storage.path().display());
    let api = Arc::new(MemoryApi {
        config: sftp_config(&sshd, &url),
        secrets: BTreeMap::from([("password".to_owned(), "wrong-Pa55word".to_owned())]),
        ..MemoryApi::default()
    });
    let outcome = run(&api, "sftp_discover").await;
    assert!(
        matches!(&outcome, JobOutcome::Failed(why)
            if why.message.contains("authentication failed") && why.kind == FailureKind::Permanent),
        "{outcome:?}"
    );
    assert!(
        api.output().contains("failed: permanent: SFTP"),
        "{}",
        api.output()
    );
    assert!(api.output().contains("authentication failed"));
    assert!(!api.output().contains("wrong-Pa55word"));

    let mut config = sftp_config(&sshd, &url);
    config["host_key_fingerprint"] = json!("SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU");
    let api = Arc::new(MemoryApi {
        config,
        secrets: password(&sshd),
        ..MemoryApi::default()
    });
    let outcome = run(&api, "sftp_discover").await;
    assert!(
        matches!(&outcome, JobOutcome::Failed(why)
            if why.message.contains("host key mismatch")
                && why.message.contains(&sshd.host_key_fingerprint)
                && why.kind == FailureKind::Permanent),
        "{outcome:?}"
    );
    assert!(api.state().get("files").is_none(), "nothing recorded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_copy_leaves_no_object() {
    let Some(mut sshd) = sshd() else { return };
    sparse_file(&sshd, "huge.fastq.gz", 512 * 1024 * 1024);
    let storage = storage_dir();
    let url = format!("file://{}", storage.path().display());
    let api = Arc::new(MemoryApi {
        config: sftp_config(&sshd, &url),
        secrets: password(&sshd),
        ..MemoryApi::default()
    });
    assert_eq!(run(&api, "sftp_discover").await, JobOutcome::Done);

    let copy = tokio::spawn({
        let api = Arc::clone(&api);
        async move { run(&api, "copy_to_storage").await }
    });
    // Wait until bytes are flowing, then take the server away.
    let bucket = storage.path().join("raw");
    for _ in 0..200 {
        if dir_bytes(&bucket) > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    sshd.stop();
    let outcome = copy.await.expect("join");
    assert!(
        matches!(&outcome, JobOutcome::Failed(why)
            if why.message.contains("huge.fastq.gz") && why.kind == FailureKind::Transient),
        "{outcome:?}"
    );
    let store = object_store::local::LocalFileSystem::new_with_prefix(&bucket).expect("store");
    let listed: Vec<_> = futures::StreamExt::collect::<Vec<_>>(store.list(None)).await;
    assert!(listed.is_empty(), "no partial object: {listed:?}");
    assert_eq!(dir_bytes(&bucket), 0, "staged parts were removed");
    let failures = &api.state()["failures"];
    assert_eq!(failures[0]["path"], "huge.fastq.gz");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_the_copy_and_leaves_no_object() {
    let Some(sshd) = sshd() else { return };
    sparse_file(&sshd, "huge.fastq.gz", 512 * 1024 * 1024);
    for i in 0..20 {
        sshd.put_file(&format!("small-{i:02}.fastq.gz"), b"small");
        sshd.age_file(&format!("small-{i:02}.fastq.gz"), 600);
    }
    let storage = storage_dir();
    let url = format!("file://{}", storage.path().display());
    let api = Arc::new(MemoryApi {
        config: sftp_config(&sshd, &url),
        secrets: password(&sshd),
        ..MemoryApi::default()
    });
    assert_eq!(run(&api, "sftp_discover").await, JobOutcome::Done);
    let (mut context, cancel) = context_with_cancel(Arc::clone(&api), "copy_to_storage").await;
    let copy = tokio::spawn(async move {
        let job = find_job("copy_to_storage").expect("registered");
        run_job(job.as_ref(), &mut context).await
    });
    let bucket = storage.path().join("raw");
    for _ in 0..200 {
        if dir_bytes(&bucket.join("core-a")) > 1024 * 1024 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    cancel.send(true).expect("cancel");
    let outcome = copy.await.expect("join");
    let cancelled = JobFailure {
        kind: FailureKind::Transient,
        message: "cancelled (SIGTERM)".into(),
    };
    assert_eq!(outcome, JobOutcome::Failed(cancelled));
    assert!(
        !bucket.join("core-a/huge.fastq.gz").exists(),
        "no partial object"
    );
    let copied = api.state()["copied"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    assert!(copied.len() < 21, "the copy stopped early: {copied:?}");
    for (path, record) in &copied {
        let stored = std::fs::read(bucket.join("core-a").join(path)).expect("recorded object");
        assert_eq!(record["sha256"], sha256(&stored), "{path}");
    }
}

/// A large, old file that costs no disk: slow to read, cheap to create.
fn sparse_file(sshd: &Sshd, name: &str, size: u64) {
    let path = sshd.put_file(name, b"");
    std::fs::File::options()
        .write(true)
        .open(&path)
        .expect("open")
        .set_len(size)
        .expect("sparse file");
    sshd.age_file(name, 600);
}

/// Bytes in regular files under `dir`.
fn dir_bytes(dir: &std::path::Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| match entry.metadata() {
            Ok(meta) if meta.is_dir() => dir_bytes(&entry.path()),
            Ok(meta) => meta.len(),
            Err(_) => 0,
        })
        .sum()
}
