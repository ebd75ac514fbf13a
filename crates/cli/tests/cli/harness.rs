//! The harness: a real `polyphemus serve` on SQLite in a temp dir, and the binary run
//! against it with its output and exit code captured.

use polyphemus_client::Client;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

pub const BIN: &str = env!("CARGO_BIN_EXE_polyphemus");

/// Variables that would point the binary at another server, store or project.
pub const ISOLATED_ENV: [&str; 7] = [
    "DATABASE_URL",
    "POLYPHEMUS_URL",
    "POLYPHEMUS_TOKEN",
    "POLYPHEMUS_PROJECT",
    "POLYPHEMUS_DATA_DIR",
    "POLYPHEMUS_LISTEN",
    "POLYPHEMUS_SECRET_KEY",
];

pub fn command() -> Command {
    let mut command = Command::new(BIN);
    for name in ISOLATED_ENV {
        command.env_remove(name);
    }
    command.env("NO_COLOR", "1");
    command
}

/// A server on a free port over a fresh SQLite store; killed when dropped.
pub struct Server {
    child: Child,
    pub url: String,
    pub data_dir: PathBuf,
    pub database_url: String,
    /// Every line the server printed on stdout so far.
    stdout: Arc<Mutex<Vec<String>>>,
    _dir: tempfile::TempDir,
}

impl Server {
    pub fn start() -> Server {
        Self::start_in(tempfile::tempdir().expect("temp dir"))
    }

    /// A server started with extra environment variables.
    pub fn start_with_env(env: &[(&str, &str)]) -> Server {
        Self::start_with(tempfile::tempdir().expect("temp dir"), env)
    }

    /// Kills the server with SIGKILL (no chance to clean up) and starts it again on the same
    /// data dir and store.
    pub fn kill_and_restart(mut self) -> Server {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let dir = tempfile::TempDir::new().expect("placeholder");
        let dir = std::mem::replace(&mut self._dir, dir);
        drop(self);
        Self::start_in(dir)
    }

    /// A server whose data dir and store live in `dir`, started with extra environment.
    pub fn start_in_dir(dir: tempfile::TempDir, env: &[(&str, &str)]) -> Server {
        Self::start_with(dir, env)
    }

    /// The server `bin` (a copy of the binary anywhere on disk) over a store in `dir`.
    pub fn start_binary(bin: &Path, dir: tempfile::TempDir) -> Server {
        Self::spawn(bin, dir, &[])
    }

    fn start_in(dir: tempfile::TempDir) -> Server {
        Self::start_with(dir, &[])
    }

    fn start_with(dir: tempfile::TempDir, env: &[(&str, &str)]) -> Server {
        Self::spawn(Path::new(BIN), dir, env)
    }

    fn spawn(bin: &Path, dir: tempfile::TempDir, env: &[(&str, &str)]) -> Server {
        let data_dir = dir.path().join("data");
        let log = std::fs::File::create(dir.path().join("server.log")).expect("log file");
        let database_url = format!("sqlite://{}", dir.path().join("p.db").display());
        let mut binary = Command::new(bin);
        for name in ISOLATED_ENV {
            binary.env_remove(name);
        }
        let mut child = binary
            .env("NO_COLOR", "1")
            // Retried steps are retried at once (`env` may set another cap).
            .env("POLYPHEMUS_ENGINE_MAX_BACKOFF", "0")
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(&data_dir)
            .args(["--database-url", &database_url])
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("start polyphemus serve");
        let stdout = child.stdout.take().expect("server stdout");
        let (sender, receiver) = mpsc::channel();
        let printed = Arc::new(Mutex::new(Vec::new()));
        let lines = printed.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("polyphemus listening on ") {
                    let _ = sender.send(url.trim().to_owned());
                }
                if let Ok(mut lines) = lines.lock() {
                    lines.push(line);
                }
            }
        });
        let url = match receiver.recv_timeout(Duration::from_secs(60)) {
            Ok(url) => url,
            Err(_) => {
                let _ = child.kill();
                let log = std::fs::read_to_string(dir.path().join("server.log"));
                panic!("the server did not start: {log:?}");
            }
        };
        Server {
            child,
            url,
            data_dir,
            database_url,
            stdout: printed,
            _dir: dir,
        }
    }

    /// What the server printed on stdout (its start-up report) up to now.
    pub fn printed(&self) -> String {
        self.stdout
            .lock()
            .map(|lines| lines.join("\n"))
            .unwrap_or_default()
    }

    /// Whether the server process is still running.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Runs `polyphemus --url URL --data-dir DIR ARGS…` (the admin token comes from the dir).
    /// The server's process id, to signal it.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn cli(&self, args: &[&str]) -> Output {
        self.cli_with_stdin(args, None)
    }

    pub fn cli_with_stdin(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut command = command();
        command
            .args(["--url", &self.url, "--data-dir"])
            .arg(&self.data_dir)
            .args(args);
        run(command, stdin)
    }

    pub fn client(&self) -> Client {
        let token = std::fs::read_to_string(self.data_dir.join("admin.token")).expect("token");
        Client::new(&self.url, Some(token)).expect("client")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Debug)]
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn success(self) -> Output {
        assert_eq!(self.code, 0, "expected success: {self:#?}");
        self
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {self:#?}"))
    }
}

pub fn run(mut command: Command, stdin: Option<&str>) -> Output {
    command
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("run polyphemus");
    if let Some(text) = stdin {
        let mut pipe = child.stdin.take().expect("stdin");
        pipe.write_all(text.as_bytes()).expect("write stdin");
    }
    let output = child.wait_with_output().expect("wait");
    Output {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

pub fn config_values(bucket: &str) -> String {
    json!({"host": "sftp.example.org", "username": "ingest", "root": "/incoming",
           "host_key_fingerprint": "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU", "bucket": bucket})
    .to_string()
}

/// Creates a config from stdin and returns its config_id.
pub fn create_config(server: &Server, name: &str) -> String {
    let out = server
        .cli_with_stdin(
            &[
                "--output",
                "json",
                "configs",
                "create",
                "--workflow-type",
                "sftp-to-storage",
                "--name",
                name,
                "--config",
                "-",
            ],
            Some(&config_values("raw-data")),
        )
        .success();
    out.json()["config_id"].to_string()
}

pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(future)
}
