//! A real SMTP server: Python's `aiosmtpd` (in the tools virtualenv `scripts/install-deps.sh`
//! makes) on a free loopback port, keeping each message it accepts in a Maildir.

use crate::{free_port, wait_for_port};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct SmtpServer {
    pub port: u16,
    child: Child,
    maildir: tempfile::TempDir,
}

/// The tools virtualenv's Python.
fn python() -> PathBuf {
    let tools = std::env::var_os("POLYPHEMUS_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
                .join(".cache/polyphemus-tools")
        });
    tools.join("venv/bin/python")
}

impl SmtpServer {
    /// `None` when aiosmtpd is installed, else why not.
    pub fn unavailable() -> Option<String> {
        match Command::new(python())
            .args(["-c", "import aiosmtpd"])
            .output()
        {
            Ok(out) if out.status.success() => None,
            _ => Some(format!(
                "aiosmtpd missing from {} (scripts/install-deps.sh)",
                python().display()
            )),
        }
    }

    pub fn start() -> SmtpServer {
        let port = free_port();
        let maildir = tempfile::tempdir().expect("maildir");
        let child = Command::new(python())
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(maildir.path().join("mail"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("aiosmtpd starts");
        wait_for_port(port, "aiosmtpd", Duration::from_secs(30));
        SmtpServer {
            port,
            child,
            maildir,
        }
    }

    /// The raw messages delivered so far.
    pub fn messages(&self) -> Vec<String> {
        let new = self.maildir.path().join("mail/new");
        let Ok(entries) = std::fs::read_dir(new) else {
            return Vec::new();
        };
        entries
            .flatten()
            .filter_map(|entry| std::fs::read_to_string(entry.path()).ok())
            .collect()
    }

    /// Waits up to `timeout` for at least `count` messages.
    pub fn wait_for(&self, count: usize, timeout: Duration) -> Vec<String> {
        let start = Instant::now();
        loop {
            let got = self.messages();
            if got.len() >= count || start.elapsed() > timeout {
                return got;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
