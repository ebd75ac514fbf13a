//! The README cannot rot (#14 point 8): every ```sh block of its `## A short tour`, run in
//! order with `bash -euo pipefail` in a fresh directory against the `polyphemus serve` a block
//! starts; a failing command fails the test. Then what the tour promises its reader (the
//! runs' phases and states) is checked through the API.

use crate::harness::{block_on, BIN, ISOLATED_ENV};
use polyphemus_client::{Client, ListRuns, PreviousStateQuery};
use polyphemus_model::{ConfigId, ProjectName, RunPhase};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The server address the tour's commands name (the CLI's default); rewritten to the test's.
const TOUR_URL: &str = "http://127.0.0.1:8080";
/// Far more than a block needs (the slowest waits for two short runs).
const BLOCK_TIMEOUT: Duration = Duration::from_secs(60);

#[test]
fn readme_tour_runs_as_written() {
    let readme_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md");
    let readme = std::fs::read_to_string(&readme_path).expect("read README.md");
    let blocks = tour_blocks(&readme);
    assert!(blocks.len() >= 5, "the tour's sh blocks: {blocks:#?}");
    // Outside /tmp: a server running as root gives each step a private /tmp.
    let dir = polyphemus_testkit::storage_dir(env!("CARGO_TARGET_TMPDIR"));
    let logs = tempfile::tempdir().expect("log dir");
    let mut tour = Tour {
        dir: dir.path().to_owned(),
        logs: logs.path().to_owned(),
        server: None,
    };
    for block in &blocks {
        tour.run_block(block);
    }
    let server = tour.server.as_ref().expect("the tour starts a server");
    check_promises(&server.url, &dir.path().join("polyphemus-data/admin.token"));
    assert!(
        dir.path().join("argo-templates/new-files.yaml").is_file(),
        "workflows export wrote the package as a WorkflowTemplate"
    );
}

#[derive(Debug)]
struct Block {
    number: usize,
    /// README line of the block's first line.
    line: usize,
    lines: Vec<String>,
}

/// The ```sh blocks from `## A short tour` to the next `## ` heading. Fenced blocks are trivial
/// (a line "```sh" opens one, a line "```" closes it), so a few lines do instead of a Markdown
/// crate.
fn tour_blocks(readme: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut in_tour = false;
    let mut open: Option<Block> = None;
    for (index, line) in readme.lines().enumerate() {
        if open.is_none() && line.starts_with("## ") {
            in_tour = line == "## A short tour";
            continue;
        }
        if !in_tour {
            continue;
        }
        match open.take() {
            None if line.trim_end() == "```sh" => {
                open = Some(Block {
                    number: blocks.len() + 1,
                    line: index + 2,
                    lines: Vec::new(),
                });
            }
            None => {}
            Some(block) if line.trim_end() == "```" => blocks.push(block),
            Some(mut block) => {
                block.lines.push(line.to_owned());
                open = Some(block);
            }
        }
    }
    assert!(open.is_none(), "an unclosed ```sh block in the tour");
    blocks
}

/// The arguments of a line that starts the server (`polyphemus serve …` or `cargo run … --
/// serve …`), which must run in the background.
fn serve_args(line: &str) -> Option<&str> {
    let line = line.trim_start();
    if let Some(rest) = line.strip_prefix("polyphemus serve") {
        return Some(rest);
    }
    line.strip_prefix("cargo run")
        .and_then(|rest| rest.split_once("-- serve"))
        .map(|(_, rest)| rest)
}

struct Tour {
    dir: PathBuf,
    logs: PathBuf,
    server: Option<TourServer>,
}

impl Tour {
    /// Runs the lines around a block's serve line in bash, the serve line in the background.
    fn run_block(&mut self, block: &Block) {
        let mut first = 0;
        for (index, line) in block.lines.iter().enumerate() {
            if let Some(args) = serve_args(line) {
                self.bash(block, first, &block.lines[first..index]);
                self.serve(block, block.line + index, args);
                first = index + 1;
            }
        }
        self.bash(block, first, &block.lines[first..]);
    }

    /// The environment of a human's shell in the tour's directory: the debug binary first on
    /// `PATH` (so the README's `target/release` needs no release build), none of the caller's
    /// Polyphemus settings.
    fn command(&self, program: &str) -> Command {
        let bin_dir = Path::new(BIN).parent().expect("the binary's directory");
        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut dirs = vec![bin_dir.to_owned()];
        dirs.extend(std::env::split_paths(&path));
        let mut command = Command::new(program);
        for name in ISOLATED_ENV {
            command.env_remove(name);
        }
        command
            .env("PATH", std::env::join_paths(dirs).expect("PATH"))
            .env("NO_COLOR", "1")
            // `engine run` keeps its node dirs with the test's files, not in /var/tmp.
            .env("POLYPHEMUS_ENGINE_WORK_DIR", self.logs.join("engine"))
            .current_dir(&self.dir)
            .stdin(Stdio::null());
        if let Some(server) = &self.server {
            // What the CLI's default URL names for a human.
            command.env("POLYPHEMUS_URL", &server.url);
        }
        command
    }

    fn bash(&self, block: &Block, first: usize, lines: &[String]) {
        if lines.iter().all(|line| line.trim().is_empty()) {
            return;
        }
        let url = self.server.as_ref().map_or(TOUR_URL, |s| s.url.as_str());
        // The trap names the failing command and its README line (LINENO counts the trap).
        let offset = block.line + first - 2;
        let mut script = format!(
            "trap 'status=$?; echo \"README.md line $((LINENO + {offset})): exit $status: \
             $BASH_COMMAND\" >&2' ERR\n"
        );
        for line in lines {
            script.push_str(&line.replace(TOUR_URL, url));
            script.push('\n');
        }
        let name = format!("block{}-line{}", block.number, block.line + first);
        let stdout_path = self.logs.join(format!("{name}.out"));
        let stderr_path = self.logs.join(format!("{name}.err"));
        let mut child = self
            .command("bash")
            .args(["-euo", "pipefail", "-c", &script])
            .stdout(std::fs::File::create(&stdout_path).expect("stdout file"))
            .stderr(std::fs::File::create(&stderr_path).expect("stderr file"))
            // Its own process group, so a timeout ends whatever it started.
            .process_group(0)
            .spawn()
            .expect("run bash");
        let outcome = wait_for(&mut child, BLOCK_TIMEOUT);
        let read = |path: &Path| std::fs::read_to_string(path).unwrap_or_default();
        let failure = match outcome {
            Some(0) => {
                // Shown with `--nocapture`: what the reader sees.
                eprintln!("--- {name} ---\n{}", read(&stdout_path));
                return;
            }
            Some(code) => format!("exited {code}"),
            None => {
                let _ = Command::new("kill")
                    .args(["-s", "KILL", "--", &format!("-{}", child.id())])
                    .status();
                let _ = child.wait();
                format!("did not end within {BLOCK_TIMEOUT:?}")
            }
        };
        panic!(
            "tour block {} (README.md line {}) {failure}\n--- script ---\n{script}\n--- stdout \
             ---\n{}\n--- stderr ---\n{}\n--- server log (tail) ---\n{}",
            block.number,
            block.line,
            read(&stdout_path),
            read(&stderr_path),
            tail(&read(&self.logs.join("server.log")), 40),
        );
    }

    /// Starts the server a serve line names on a free port, and waits until it is ready. A
    /// second serve line restarts it (the human's first one would hold the port).
    fn serve(&mut self, block: &Block, line: usize, args: &str) {
        self.server = None;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.logs.join("server.log"))
            .expect("server log");
        let mut child = self
            .command("bash")
            .args(["-c", &format!("exec polyphemus serve {args}")])
            .env("POLYPHEMUS_LISTEN", "127.0.0.1:0")
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("start polyphemus serve");
        let stdout = child.stdout.take().expect("server stdout");
        // Killed on drop, also if it never gets ready.
        let mut server = TourServer {
            child,
            url: String::new(),
        };
        let (sender, receiver) = mpsc::channel();
        // Drained to the end, or a full pipe would block the server.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("polyphemus listening on ") {
                    let _ = sender.send(url.trim().trim_end_matches('/').to_owned());
                }
            }
        });
        let server_log = || std::fs::read_to_string(self.logs.join("server.log"));
        let url = receiver
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| {
                panic!(
                    "block {} (README.md line {line}): the server did not start: {:?}",
                    block.number,
                    server_log()
                )
            });
        server.url = url;
        let started = Instant::now();
        while !ready(&server.url) {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "block {} (README.md line {line}): {}/readyz never answered 200: {:?}",
                block.number,
                server.url,
                server_log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        self.server = Some(server);
    }
}

/// The server the tour started; killed when dropped.
struct TourServer {
    child: Child,
    url: String,
}

impl Drop for TourServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The exit code, or `None` if the child is still running after `timeout`.
fn wait_for(child: &mut Child, timeout: Duration) -> Option<i32> {
    let started = Instant::now();
    while started.elapsed() < timeout {
        if let Some(status) = child.try_wait().expect("wait for bash") {
            return Some(status.code().unwrap_or(-1));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

/// Whether `GET /readyz` answers 200 (plain HTTP/1.0: no client needed for one status line).
fn ready(url: &str) -> bool {
    let Some(address) = url.strip_prefix("http://") else {
        return false;
    };
    let Ok(mut stream) = TcpStream::connect(address) else {
        return false;
    };
    let request = format!("GET /readyz HTTP/1.0\r\nHost: {address}\r\n\r\n");
    let mut answer = String::new();
    stream.write_all(request.as_bytes()).is_ok()
        && stream.read_to_string(&mut answer).is_ok()
        && answer.split(' ').nth(1) == Some("200")
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// What the tour tells its reader happens: the first run finds a.csv and b.csv, the second
/// only c.csv (read from previous_state), the CLI's run nothing new; every run succeeds.
fn check_promises(url: &str, token_file: &Path) {
    let token = std::fs::read_to_string(token_file).expect("the admin token");
    let client = Client::new(url, Some(token.trim().to_owned())).expect("client");
    let project = ProjectName::parse("labors").expect("project");
    let runs = block_on(client.list_config_runs(&project, ConfigId::new(1), &ListRuns::default()))
        .expect("runs of config 1")
        .items;
    let mut found = Vec::new();
    for run in runs.iter().rev() {
        let metadata = block_on(client.get_run_metadata(&project, &run.run_id))
            .unwrap_or_else(|error| panic!("metadata of run {}: {error}", run.run_id));
        assert_eq!(
            metadata.report.phase,
            RunPhase::Succeeded,
            "run {}: {metadata:#?}\noutput: {}",
            run.run_id,
            run.output
        );
        found.push(run.state.get("new_files").cloned().unwrap_or(Value::Null));
    }
    assert_eq!(
        found,
        [json!(["a.csv", "b.csv"]), json!(["c.csv"]), json!([])],
        "new_files of config 1's runs, oldest first"
    );
    let query = PreviousStateQuery {
        keys: vec!["new_files".to_owned()],
        collect: true,
        ..PreviousStateQuery::default()
    };
    let previous = block_on(client.get_previous_state(&project, ConfigId::new(1), &query))
        .expect("previous_state");
    assert_eq!(
        Value::Object(previous),
        json!({"new_files": [[], ["c.csv"], ["a.csv", "b.csv"]]}),
        "previous_state of config 1, newest first"
    );
}
