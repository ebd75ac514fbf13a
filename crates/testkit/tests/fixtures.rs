//! The fixtures themselves work: OpenSSH's own `sftp` client reads a served file with the key.
#![allow(clippy::unwrap_used)]

use polyphemus_testkit::{required_in_ci, Sshd};
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

#[test]
fn sftp_client_reads_a_served_file_with_the_key() {
    if let Some(why) = Sshd::unavailable() {
        assert!(!required_in_ci(), "{why}");
        eprintln!("skipped: {why}");
        return;
    }
    let sshd = Sshd::start();
    sshd.put_file("in/hello.txt", b"hello\n");
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("key");
    std::fs::write(&key, &sshd.private_key).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let target = dir.path().join("copy.txt");
    let out = Command::new("sftp")
        .args(["-b", "-", "-i"])
        .arg(&key)
        .args([
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
        ])
        .args(["-P", &sshd.port.to_string()])
        .arg(format!(
            "{}@127.0.0.1:{}/in/hello.txt",
            sshd.user,
            sshd.root.display()
        ))
        .arg(&target)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "sftp: {}\nsshd: {}",
        String::from_utf8_lossy(&out.stderr),
        sshd.log()
    );
    assert_eq!(std::fs::read(&target).unwrap(), b"hello\n");
    assert!(sshd.host_key_fingerprint.starts_with("SHA256:"));
}
