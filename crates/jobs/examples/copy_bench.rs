//! Benchmark of `copy_to_storage`: 1 GiB as 1,000 files and as one file, from a local OpenSSH
//! sshd to moto's S3 server, next to OpenSSH's `sftp` download of the same files and boto3's
//! `upload_file` (the engine of `aws s3 cp`) of the same bytes; with the peak memory of the copy.
//!
//!   cargo run --release -p polyphemus-jobs --example copy_bench \
//!       [-- --total-mib 1024 --rounds 3 --scenario many|one]
//!
//! Needs root (a throwaway sshd user), openssh-server, and `pip install 'moto[server]'`.
#![expect(
    clippy::expect_used,
    reason = "a benchmark program: it panics on failure"
)]

#[path = "../tests/support/mod.rs"]
mod support;

use polyphemus_jobs::{find_job, run_job, JobOutcome};
use polyphemus_testkit::{S3Server, Sshd};
use serde_json::json;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Instant;
use support::{context, MemoryApi};

const MIB: u64 = 1024 * 1024;

struct Scenario {
    name: &'static str,
    dir: &'static str,
    files: u64,
}

/// `--NAME VALUE` from the command line.
fn flag(name: &str) -> Option<String> {
    std::env::args().skip_while(|a| a != name).nth(1)
}

#[tokio::main]
async fn main() {
    let total_mib: u64 = flag("--total-mib").map_or(1024, |v| v.parse().expect("--total-mib N"));
    let rounds: usize = flag("--rounds").map_or(3, |v| v.parse().expect("--rounds N"));
    let only = flag("--scenario"); // "many" or "one"
    if let Some(why) = Sshd::unavailable().or_else(S3Server::unavailable) {
        eprintln!("copy_bench cannot run here: {why}");
        std::process::exit(2);
    }
    let sshd = Sshd::start();
    let s3 = S3Server::start();
    s3.create_bucket("bench");
    let scenarios = [
        Scenario {
            name: "1,000 files",
            dir: "many",
            files: 1000,
        },
        Scenario {
            name: "one file",
            dir: "one",
            files: 1,
        },
    ];
    println!(
        "copy_bench: {total_mib} MiB per scenario, medians of {rounds} rounds, sshd on 127.0.0.1:{}, moto S3 on {}",
        sshd.port,
        s3.endpoint()
    );
    println!(
        "{:<12} {:>10} {:>10} {:>10} {:>10} {:>11} {:>14}",
        "scenario", "copy MB/s", "sftp get", "boto3", "sftp+boto3", "copy/slower", "peak RSS MiB"
    );
    for scenario in scenarios
        .iter()
        .filter(|s| only.as_deref().is_none_or(|only| only == s.dir))
    {
        let bytes = generate(&sshd, scenario, total_mib * MIB);
        let mut copies = Vec::new();
        let mut gets = Vec::new();
        let mut uploads = Vec::new();
        let mut peak_mib: f64 = 0.0;
        // Rounds alternate the three so that a slow moment of the machine touches each alike.
        for _ in 0..rounds.max(1) {
            let (copy_s, peak) = copy(&sshd, &s3, scenario).await;
            copies.push(copy_s);
            peak_mib = peak_mib.max(peak);
            let local = tempfile::tempdir().expect("tempdir");
            gets.push(sftp_get(&sshd, scenario, local.path()));
            if let Some(upload_s) = boto3_upload(&s3, local.path(), scenario) {
                uploads.push(upload_s);
            }
        }
        let mbps = |seconds: f64| bytes as f64 / 1e6 / seconds;
        let (copy_s, get_s) = (median(copies), median(gets));
        let upload_s = (!uploads.is_empty()).then(|| median(uploads));
        let shown = |s: Option<f64>| s.map_or("n/a".to_owned(), |s| format!("{:.1}", mbps(s)));
        println!(
            "{:<12} {:>10.1} {:>10.1} {:>10} {:>10} {:>11} {:>14.1}",
            scenario.name,
            mbps(copy_s),
            mbps(get_s),
            shown(upload_s),
            shown(upload_s.map(|u| u + get_s)),
            upload_s.map_or("n/a".to_owned(), |u| format!(
                "{:.0}%",
                100.0 * get_s.max(u) / copy_s
            )),
            peak_mib,
        );
    }
    println!(
        "copy/slower: the copy's rate over the slower of sftp get and boto3 upload alone; \
         peak RSS: the benchmark process's high-water mark during a copy alone"
    );
}

fn median(mut seconds: Vec<f64>) -> f64 {
    seconds.sort_by(f64::total_cmp);
    seconds[seconds.len() / 2]
}

/// Incompressible bytes: a xorshift stream, fast enough not to be the bottleneck.
fn generate(sshd: &Sshd, scenario: &Scenario, total: u64) -> u64 {
    let per_file = total / scenario.files;
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut block = vec![0u8; MIB as usize];
    for i in 0..scenario.files {
        let path = sshd.put_file(&format!("{}/f{i:04}.fastq.gz", scenario.dir), b"");
        let mut file = std::io::BufWriter::new(
            std::fs::File::options()
                .append(true)
                .open(&path)
                .expect("open"),
        );
        let mut left = per_file;
        while left > 0 {
            for chunk in block.chunks_mut(8) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                chunk.copy_from_slice(&state.to_le_bytes()[..chunk.len()]);
            }
            let n = left.min(MIB) as usize;
            file.write_all(&block[..n]).expect("write");
            left -= n as u64;
        }
        drop(file);
        sshd.age_file(&format!("{}/f{i:04}.fastq.gz", scenario.dir), 3600);
    }
    per_file * scenario.files
}

/// Runs discover (untimed) and copy (timed); returns seconds and the peak RSS in MiB.
async fn copy(sshd: &Sshd, s3: &S3Server, scenario: &Scenario) -> (f64, f64) {
    let api = Arc::new(MemoryApi {
        config: json!({
            "host": "127.0.0.1",
            "port": sshd.port,
            "username": sshd.user,
            "host_key_fingerprint": sshd.host_key_fingerprint,
            "root": sshd.root.join(scenario.dir).display().to_string(),
            "min_age_s": 60,
            "storage_url": s3.endpoint(),
            "bucket": "bench",
            "prefix": format!("polyphemus/{}", scenario.dir),
            "storage_access_key_id": "bench",
        }),
        secrets: BTreeMap::from([
            ("password".to_owned(), sshd.password.clone()),
            ("storage_secret_key".to_owned(), "bench".to_owned()),
        ]),
        ..MemoryApi::default()
    });
    for job in ["sftp_discover", "copy_to_storage"] {
        // Peak memory is of the copy only.
        if job == "copy_to_storage" {
            reset_peak_rss();
        }
        let started = Instant::now();
        let mut context = context(Arc::clone(&api), job).await;
        let found = find_job(job).expect("registered");
        let outcome = run_job(found.as_ref(), &mut context).await;
        assert_eq!(outcome, JobOutcome::Done, "{}", api.output());
        if job == "copy_to_storage" {
            return (started.elapsed().as_secs_f64(), peak_rss_mib());
        }
    }
    unreachable!("copy_to_storage ran")
}

/// OpenSSH's `sftp` downloading the same directory to local disk.
fn sftp_get(sshd: &Sshd, scenario: &Scenario, local: &Path) -> f64 {
    let batch = format!(
        "get -r {}/{} {}\n",
        sshd.root.display(),
        scenario.dir,
        local.display()
    );
    let started = Instant::now();
    let mut child = sshd
        .sftp_command(local)
        .args(["-q", "-b", "-"])
        .arg(format!("{}@127.0.0.1", sshd.user))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("sftp");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(batch.as_bytes())
        .expect("batch");
    assert!(child.wait().expect("sftp").success(), "sftp get failed");
    started.elapsed().as_secs_f64()
}

/// boto3's `upload_file` (what `aws s3 cp` runs) of the downloaded files; None without boto3.
fn boto3_upload(s3: &S3Server, local: &Path, scenario: &Scenario) -> Option<f64> {
    let script = r#"
import os, sys, time, boto3
endpoint, root, prefix = sys.argv[1:4]
s3 = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="bench",
                  aws_secret_access_key="bench", region_name="us-east-1")
started = time.monotonic()
for dirpath, _, names in os.walk(root):
    for name in sorted(names):
        if name == "sftp_key":
            continue
        path = os.path.join(dirpath, name)
        s3.upload_file(path, "bench", prefix + "/" + os.path.relpath(path, root))
print(time.monotonic() - started)
"#;
    let out = Command::new("python3")
        .args(["-c", script, &s3.endpoint()])
        .arg(local)
        .arg(format!("boto3/{}", scenario.dir))
        .output()
        .ok()?;
    if !out.status.success() {
        eprintln!(
            "boto3 baseline skipped: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        return None;
    }
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

fn reset_peak_rss() {
    // Linux: writing 5 resets the high-water mark (VmHWM) to the current RSS.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kib| kib / 1024.0)
}
