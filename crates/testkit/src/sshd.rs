//! OpenSSH's sshd on a free loopback port, with a throwaway system user who may only use SFTP.
//! Needs root (to create the user and run sshd) and the `openssh-server` package.

use crate::{free_port, random_token, wait_for_port};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const SSHD: &str = "/usr/sbin/sshd";

pub struct Sshd {
    pub port: u16,
    /// The throwaway user, allowed SFTP only.
    pub user: String,
    pub password: String,
    /// A directory the user can read: put the files to serve here.
    pub root: PathBuf,
    /// `SHA256:…` of the host key, as `ssh-keygen -l` prints it.
    pub host_key_fingerprint: String,
    /// An OpenSSH private key (PEM) authorised for the user.
    pub private_key: String,
    child: Option<Child>,
    dir: tempfile::TempDir,
}

impl Sshd {
    /// Whether sshd can run here; `None` when it can, else why not.
    pub fn unavailable() -> Option<String> {
        if !Path::new(SSHD).exists() {
            return Some(format!("{SSHD} missing (apt-get install openssh-server)"));
        }
        let uid = Command::new("id").arg("-u").output().ok()?;
        if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
            return Some("sshd tests need root to create a throwaway user".to_owned());
        }
        None
    }

    /// Starts sshd with a new user and a new host key.
    pub fn start() -> Sshd {
        if let Some(why) = Self::unavailable() {
            panic!("cannot start sshd: {why}");
        }
        let dir = tempfile::Builder::new()
            .prefix("polyphemus-sshd-")
            .tempdir()
            .expect("temp dir");
        // sshd refuses to start without its privilege-separation directory.
        fs::create_dir_all("/run/sshd").expect("/run/sshd");
        let user = format!("pst{}", random_token(8).to_lowercase());
        let password = random_token(20);
        create_user(&user, &password);

        let root = dir.path().join("data");
        fs::create_dir_all(&root).expect("data dir");
        // The user reads the data through every parent directory.
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).expect("chmod");

        let host_key = dir.path().join("host_ed25519");
        keygen(&host_key);
        let fingerprint = String::from_utf8(
            Command::new("ssh-keygen")
                .args(["-l", "-E", "sha256", "-f"])
                .arg(host_key.with_extension("pub"))
                .output()
                .expect("ssh-keygen -l")
                .stdout,
        )
        .expect("utf-8");
        let host_key_fingerprint = fingerprint
            .split_whitespace()
            .nth(1)
            .expect("fingerprint")
            .to_owned();

        let client_key = dir.path().join("client_ed25519");
        keygen(&client_key);
        let private_key = fs::read_to_string(&client_key).expect("client key");
        let authorized = dir.path().join("authorized_keys");
        fs::copy(client_key.with_extension("pub"), &authorized).expect("authorized_keys");

        let port = free_port();
        let config = dir.path().join("sshd_config");
        fs::write(
            &config,
            format!(
                "Port {port}\nListenAddress 127.0.0.1\nHostKey {host}\nPidFile {pid}\n\
                 UsePAM no\nPasswordAuthentication yes\nKbdInteractiveAuthentication no\n\
                 PubkeyAuthentication yes\nAuthorizedKeysFile {authorized}\nStrictModes no\n\
                 PermitRootLogin no\nAllowUsers {user}\nSubsystem sftp internal-sftp\n\
                 ForceCommand internal-sftp\nMaxStartups 100\nMaxSessions 100\n\
                 LogLevel INFO\n",
                host = host_key.display(),
                pid = dir.path().join("sshd.pid").display(),
                authorized = authorized.display(),
            ),
        )
        .expect("sshd_config");
        let mut sshd = Sshd {
            port,
            user,
            password,
            root,
            host_key_fingerprint,
            private_key,
            child: None,
            dir,
        };
        sshd.spawn();
        sshd
    }

    fn spawn(&mut self) {
        let log = fs::File::create(self.dir.path().join("sshd.log")).expect("sshd.log");
        let child = Command::new(SSHD)
            .args(["-D", "-e", "-f"])
            .arg(self.dir.path().join("sshd_config"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("sshd starts");
        self.child = Some(child);
        wait_for_port(self.port, "sshd", Duration::from_secs(10));
    }

    /// Stops sshd and drops every open session, as a server that goes away does (the user
    /// and files stay); [`Sshd::restart`] starts it again.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        // Each session is a process of its own that outlives the listener.
        let _ = Command::new("pkill")
            .args(["-KILL", "-f", &format!("sshd: {}", self.user)])
            .status();
    }

    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    /// OpenSSH's `sftp` client set up for this server with the user's key (written to
    /// `key_dir`), without host-key prompts; add a destination such as `user@127.0.0.1`.
    pub fn sftp_command(&self, key_dir: &Path) -> Command {
        let key = key_dir.join("sftp_key");
        fs::write(&key, &self.private_key).expect("key file");
        fs::set_permissions(&key, fs::Permissions::from_mode(0o600)).expect("chmod key");
        let mut command = Command::new("sftp");
        command
            .arg("-i")
            .arg(key)
            .args([
                "-o",
                "StrictHostKeyChecking=no",
                "-o",
                "UserKnownHostsFile=/dev/null",
            ])
            .args(["-P", &self.port.to_string()])
            .stdin(Stdio::null());
        command
    }

    /// What sshd logged, for failing tests.
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("sshd.log")).unwrap_or_default()
    }

    /// Writes a file under the served root (parents created), readable by the user.
    pub fn put_file(&self, relative: &str, contents: &[u8]) -> PathBuf {
        let path = self.root.join(relative);
        fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        fs::write(&path, contents).expect("write");
        path
    }

    /// The config keys that reach this server, each named `{prefix}host` and so on (`""` for
    /// a job's source host, `deposit_` for copy_to_sftp's deposit host).
    pub fn config_keys(&self, prefix: &str) -> serde_json::Map<String, serde_json::Value> {
        let keys = [
            ("host", serde_json::json!("127.0.0.1")),
            ("port", serde_json::json!(self.port)),
            ("username", serde_json::json!(self.user)),
            (
                "host_key_fingerprint",
                serde_json::json!(self.host_key_fingerprint),
            ),
        ];
        keys.into_iter()
            .map(|(key, value)| (format!("{prefix}{key}"), value))
            .collect()
    }

    /// A new directory `name` next to the served root that the user owns and may write: where
    /// a job deposits files. Each `Sshd` has its own user, so two instances stand for two hosts.
    pub fn writable_dir(&self, name: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        fs::create_dir_all(&path).expect("writable dir");
        let status = Command::new("chown")
            .arg(&self.user)
            .arg(&path)
            .status()
            .expect("chown");
        assert!(status.success(), "chown {} {path:?}", self.user);
        path
    }

    /// Sets a served file's modification time to `seconds_ago` in the past.
    pub fn age_file(&self, relative: &str, seconds_ago: u64) {
        let path = self.root.join(relative);
        let when = std::time::SystemTime::now() - Duration::from_secs(seconds_ago);
        let file = fs::File::options()
            .write(true)
            .open(&path)
            .expect("open to age");
        file.set_modified(when).expect("set mtime");
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        self.stop();
        let _ = Command::new("userdel").arg(&self.user).status();
    }
}

fn keygen(path: &Path) {
    let status = Command::new("ssh-keygen")
        .args([
            "-q",
            "-t",
            "ed25519",
            "-N",
            "",
            "-C",
            "polyphemus-test",
            "-f",
        ])
        .arg(path)
        .status()
        .expect("ssh-keygen");
    assert!(status.success(), "ssh-keygen failed");
}

/// `useradd` and `chpasswd` lock /etc/passwd; parallel tests retry until the lock is free.
fn create_user(user: &str, password: &str) {
    for attempt in 0.. {
        let added = Command::new("useradd")
            .args(["--no-create-home", "--home-dir", "/nonexistent"])
            .args(["--shell", "/usr/sbin/nologin", user])
            .stderr(Stdio::piped())
            .output()
            .expect("useradd");
        if added.status.success() {
            break;
        }
        assert!(
            attempt < 50,
            "useradd {user}: {}",
            String::from_utf8_lossy(&added.stderr)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    for attempt in 0.. {
        let mut child = Command::new("chpasswd")
            .stdin(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("chpasswd");
        use std::io::Write;
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(format!("{user}:{password}\n").as_bytes())
            .expect("chpasswd stdin");
        let out = child.wait_with_output().expect("chpasswd");
        if out.status.success() {
            break;
        }
        assert!(
            attempt < 50,
            "chpasswd {user}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
