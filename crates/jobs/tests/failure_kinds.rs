//! Each job tells a permanent failure (bad config, missing secret, refused credentials or host
//! key, a root that does not exist) from a transient one (a closed port, a reset connection),
//! against a real OpenSSH sshd and real sockets, with the Polyphemus API in memory.

mod support;

use polyphemus_jobs::{FailureKind, JobFailure, JobOutcome};
use polyphemus_testkit::{free_port, required_in_ci, ResettingPort, Sshd};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use support::{run, MemoryApi};

const FINGERPRINT: &str = "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU";

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

fn discover_config(port: u16, fingerprint: &str, root: &str) -> Value {
    json!({"host": "127.0.0.1", "port": port, "username": "ingest",
           "host_key_fingerprint": fingerprint, "root": root})
}

/// Runs sftp_discover with `config` and the secret `password`, expecting it to fail.
async fn discover_failure(config: Value, password: Option<&str>) -> (JobFailure, String) {
    let api = Arc::new(MemoryApi {
        config,
        secrets: password
            .map(|p| BTreeMap::from([("password".to_owned(), p.to_owned())]))
            .unwrap_or_default(),
        ..MemoryApi::default()
    });
    match run(&api, "sftp_discover").await {
        JobOutcome::Failed(failure) => (failure, api.output()),
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[tokio::test]
async fn a_closed_port_is_transient() {
    let config = discover_config(free_port(), FINGERPRINT, "/in");
    let (failure, output) = discover_failure(config, Some("pw")).await;
    assert_eq!(failure.kind, FailureKind::Transient, "{failure}");
    assert!(failure.message.contains("cannot connect"), "{failure}");
    assert!(
        output.contains("[sftp_discover] failed: transient, may be retried: SFTP"),
        "{output}"
    );
}

#[tokio::test]
async fn a_reset_connection_is_transient() {
    let resetting = ResettingPort::start();
    let config = discover_config(resetting.port, FINGERPRINT, "/in");
    let (failure, _) = discover_failure(config, Some("pw")).await;
    assert_eq!(failure.kind, FailureKind::Transient, "{failure}");
    assert_eq!(resetting.accepted().len(), 1, "one connection per attempt");
}

#[tokio::test]
async fn a_missing_secret_or_config_value_is_permanent() {
    let config = discover_config(free_port(), FINGERPRINT, "/in");
    let (failure, output) = discover_failure(config, None).await;
    assert_eq!(failure.kind, FailureKind::Permanent, "{failure}");
    assert!(failure.message.contains("password"), "{failure}");
    assert!(
        output.contains("[sftp_discover] failed: permanent: config: neither the secret"),
        "{output}"
    );
    let mut config = discover_config(free_port(), FINGERPRINT, "/in");
    config["file_regex"] = json!("([unclosed");
    let (failure, _) = discover_failure(config, Some("pw")).await;
    assert_eq!(failure.kind, FailureKind::Permanent, "{failure}");
    assert!(failure.message.contains("file_regex"), "{failure}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_host_key_password_or_root_is_permanent() {
    let Some(sshd) = sshd() else { return };
    let root = sshd.root.display().to_string();
    let mut config = discover_config(sshd.port, FINGERPRINT, &root);
    config["username"] = json!(sshd.user);
    let (failure, _) = discover_failure(config.clone(), Some(&sshd.password)).await;
    assert_eq!(failure.kind, FailureKind::Permanent, "{failure}");
    assert!(failure.message.contains("host key mismatch"), "{failure}");

    config["host_key_fingerprint"] = json!(sshd.host_key_fingerprint);
    let (failure, _) = discover_failure(config.clone(), Some("Wr0ng-pw")).await;
    assert_eq!(failure.kind, FailureKind::Permanent, "{failure}");
    assert!(failure.message.contains("password refused"), "{failure}");

    config["root"] = json!(format!("{root}/no-such-dir"));
    let (failure, _) = discover_failure(config, Some(&sshd.password)).await;
    assert_eq!(failure.kind, FailureKind::Permanent, "{failure}");
    assert!(failure.message.contains("cannot list"), "{failure}");
}
