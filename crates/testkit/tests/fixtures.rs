//! The fixtures themselves work: OpenSSH's own `sftp` client reads a served file with the key.

use polyphemus_testkit::{required_in_ci, Sshd};

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
    let target = dir.path().join("copy.txt");
    let out = sshd
        .sftp_command(dir.path())
        .args(["-b", "-"])
        .arg(format!(
            "{}@127.0.0.1:{}/in/hello.txt",
            sshd.user,
            sshd.root.display()
        ))
        .arg(&target)
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
