//! `polyphemus bench idle`: what an idle server on the embedded default costs. Starts this
//! binary's `serve` over a fresh data dir, times how long until `/readyz` answers 200, waits,
//! then reads the process's memory from /proc and says what holds it (the binary's own pages,
//! shared libraries, heap and other anonymous memory).

use clap::Args;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Debug, Args)]
pub struct BenchIdleArgs {
    /// Servers started one after another (the figures are medians).
    #[arg(long, default_value_t = 3)]
    pub starts: usize,
    /// Seconds the server idles after it is ready before its memory is read.
    #[arg(long, default_value_t = 3)]
    pub settle_s: u64,
}

/// Kills the server when the benchmark ends, however it ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Resident memory of one process, in KiB, by what holds it.
#[derive(Debug, Default, Clone, Copy)]
struct Memory {
    total: u64,
    binary: u64,
    libraries: u64,
    heap: u64,
    other_anonymous: u64,
    stacks: u64,
    threads: u64,
}

pub async fn bench_idle(args: BenchIdleArgs) -> anyhow::Result<()> {
    let exe = std::env::current_exe()?;
    println!(
        "# polyphemus bench idle ({} starts of `serve` on the embedded default, {} s idle)",
        args.starts, args.settle_s
    );
    let mut ready = Vec::new();
    let mut memory = Vec::new();
    for _ in 0..args.starts.max(1) {
        let (took, held) = one_start(&exe, Duration::from_secs(args.settle_s)).await?;
        ready.push(took);
        memory.push(held);
    }
    ready.sort();
    memory.sort_by_key(|m| m.total);
    let took = ready[ready.len() / 2];
    let m = memory[memory.len() / 2];
    println!(
        "ready (process start to /readyz 200): {:.3} s",
        took.as_secs_f64()
    );
    println!("resident memory: {:.1} MiB", mib(m.total));
    println!(
        "  this binary's pages {:.1} MiB, shared libraries {:.1} MiB, heap {:.1} MiB, \
         other anonymous (thread arenas and stacks) {:.1} MiB, main stack {:.1} MiB; {} threads",
        mib(m.binary),
        mib(m.libraries),
        mib(m.heap),
        mib(m.other_anonymous),
        mib(m.stacks),
        m.threads
    );
    Ok(())
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

async fn one_start(exe: &Path, settle: Duration) -> anyhow::Result<(Duration, Memory)> {
    let dir = super::tempfile_dir()?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let started = Instant::now();
    let server = Server(
        Command::new(exe)
            .arg("serve")
            // The embedded default, whatever this shell points at.
            .env_remove("DATABASE_URL")
            .env_remove("POLYPHEMUS_DATA_DIR")
            .arg("--data-dir")
            .arg(dir.join("data"))
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?,
    );
    let http = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}/readyz");
    loop {
        if http
            .get(&url)
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            break;
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(60),
            "the server was not ready within 60 s"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let took = started.elapsed();
    tokio::time::sleep(settle).await;
    let memory = read_memory(server.0.id(), exe)?;
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
    Ok((took, memory))
}

/// Sums `Rss:` of /proc/PID/smaps by mapping.
fn read_memory(pid: u32, exe: &Path) -> anyhow::Result<Memory> {
    let smaps = std::fs::read_to_string(format!("/proc/{pid}/smaps"))?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let exe = exe.canonicalize()?.display().to_string();
    let mut memory = Memory::default();
    let mut mapping = String::new();
    for line in smaps.lines() {
        let mut fields = line.split_whitespace();
        let first = fields.next().unwrap_or_default();
        if first.contains('-') && !first.ends_with(':') {
            // A mapping's header: address perms offset dev inode [path].
            mapping = fields.nth(4).unwrap_or_default().to_owned();
        } else if first == "Rss:" {
            let kib: u64 = fields.next().unwrap_or("0").parse().unwrap_or(0);
            memory.total += kib;
            *match mapping.as_str() {
                path if path == exe => &mut memory.binary,
                "[heap]" => &mut memory.heap,
                "[stack]" => &mut memory.stacks,
                "" => &mut memory.other_anonymous,
                path if path.starts_with('/') => &mut memory.libraries,
                _ => &mut memory.other_anonymous,
            } += kib;
        }
    }
    memory.threads = status
        .lines()
        .find_map(|line| line.strip_prefix("Threads:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0);
    Ok(memory)
}
