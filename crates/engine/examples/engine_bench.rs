//! Engine overhead benchmark: a 500-node DAG of `true` and a 100-item `withItems` fan-out,
//! next to the same commands run by `xargs -P <ncpu>` (for the sandboxed rows, xargs starts
//! `true` with the very argv the engine gives a node: `setpriv`, `unshare`, the sandbox
//! script); plus the time to serialize the status JSON of
//! the 500-node run. Each figure is the best of 3 rounds, engine and shell interleaved.
//!
//! `cargo run -p polyphemus-engine --example engine_bench`

use std::ffi::OsString;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use polyphemus_engine::{
    private_tmp_available, Engine, EngineOptions, Isolation, Phase, TemplateLibrary, Workflow,
};

const ROUNDS: usize = 3;

fn dag_yaml(nodes: usize, width: usize) -> String {
    let mut y = String::from(
        "kind: Workflow\nmetadata: {generateName: bench-dag-}\nspec:\n  entrypoint: main\n  templates:\n  - name: noop\n    container: {image: busybox, command: [\"true\"]}\n  - name: main\n    dag:\n      tasks:\n",
    );
    for i in 0..nodes {
        let _ = write!(y, "      - {{name: t{i}, template: noop");
        if i >= width {
            let _ = write!(y, ", depends: t{}", i - width);
        }
        y.push_str("}\n");
    }
    y
}

fn fanout_yaml(items: usize) -> String {
    let list: Vec<String> = (0..items).map(|i| i.to_string()).collect();
    format!(
        "kind: Workflow\nmetadata: {{generateName: bench-fanout-}}\nspec:\n  entrypoint: main\n  templates:\n  - name: noop\n    container: {{image: busybox, command: [\"true\"]}}\n  - name: main\n    steps:\n    - - {{name: n, template: noop, withItems: [{}]}}\n",
        list.join(", ")
    )
}

/// The shell baseline: `true` n times through `xargs -P cpus`; with `sandbox` (the argv the
/// engine runs a node's `true` with: the same `setpriv` + `unshare` + sandbox script), each
/// one through exactly that, started by xargs itself.
fn shell(n: usize, cpus: usize, sandbox: Option<&[OsString]>) -> Duration {
    let status = match sandbox {
        Some([program, args @ ..]) => {
            use std::os::unix::ffi::OsStrExt;
            let file = std::env::temp_dir().join("polyphemus-engine-bench-argv");
            let mut bytes = Vec::new();
            for _ in 0..n {
                for arg in args {
                    bytes.extend_from_slice(arg.as_bytes());
                    bytes.push(0);
                }
            }
            if let Err(e) = std::fs::write(&file, bytes) {
                panic!("writing the baseline's arguments: {e}");
            }
            let started = Instant::now();
            let status = std::process::Command::new("xargs")
                .args([
                    "-0",
                    "-P",
                    &cpus.to_string(),
                    "-n",
                    &args.len().to_string(),
                    "-a",
                ])
                .arg(&file)
                .arg(program)
                .status();
            let took = started.elapsed();
            let _ = std::fs::remove_file(&file);
            report(status);
            return took;
        }
        _ => {
            let cmd = format!("seq {n} | xargs -P {cpus} -I{{}} true");
            let started = Instant::now();
            let status = std::process::Command::new("sh").arg("-c").arg(cmd).status();
            (status, started.elapsed())
        }
    };
    report(status.0);
    status.1
}

fn report(status: std::io::Result<std::process::ExitStatus>) {
    if !matches!(status, Ok(s) if s.success()) {
        eprintln!("warning: the shell baseline failed: {status:?}");
    }
}

/// The argv of a sandboxed node running `true`, as the engine would start it.
fn sandboxed_true() -> Option<Vec<OsString>> {
    let engine = Engine::new(EngineOptions {
        work_dir: EngineOptions::default().work_dir.join("bench"),
        isolation: Isolation::Auto,
        ..Default::default()
    });
    let run_dir = EngineOptions::default()
        .work_dir
        .join("bench")
        .join("baseline");
    match engine.sandboxed_argv(&run_dir, &["true".to_owned()]) {
        Ok(argv) => argv,
        Err(e) => panic!("the sandbox's argv: {e}"),
    }
}

async fn engine_run(
    yaml: &str,
    isolation: Isolation,
) -> (Duration, usize, polyphemus_engine::WorkflowObject) {
    let wf = match Workflow::from_yaml(yaml) {
        Ok(w) => w,
        Err(e) => panic!("bench workflow: {e}"),
    };
    let engine = Engine::new(EngineOptions {
        work_dir: EngineOptions::default().work_dir.join("bench"),
        isolation,
        ..Default::default()
    });
    let started = Instant::now();
    let obj = match engine.run(wf, Vec::new(), &TemplateLibrary::new()).await {
        Ok(o) => o,
        Err(e) => panic!("bench run: {e}"),
    };
    let took = started.elapsed();
    assert_eq!(
        obj.status.phase,
        Phase::Succeeded,
        "{:?}",
        obj.status.message
    );
    let pods = obj
        .status
        .nodes
        .values()
        .filter(|n| n.node_type == polyphemus_engine::NodeType::Pod)
        .count();
    (took, pods, obj)
}

#[tokio::main]
async fn main() {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut modes = vec![("no isolation", Isolation::Off)];
    if private_tmp_available() {
        modes.push(("sandboxed", Isolation::Auto));
    }
    println!(
        "cpus: {cpus}; build: {}",
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
    );
    println!(
        "{:<28} {:>6} {:>10} {:>12} {:>10} {:>7}",
        "workload", "pods", "engine", "per pod", "shell", "ratio"
    );
    let mut json_ms: Option<(Duration, usize, usize)> = None;
    let sandbox = sandboxed_true();
    for (label, isolation) in modes {
        for (name, yaml, n) in [
            ("dag 500 (10x50)", dag_yaml(500, 50), 500usize),
            ("withItems 100", fanout_yaml(100), 100),
        ] {
            // Best of ROUNDS, engine and shell interleaved (the machine may be shared).
            let (mut best, mut best_shell, mut pods) = (Duration::MAX, Duration::MAX, 0);
            for _ in 0..ROUNDS {
                let (took, p, obj) = engine_run(&yaml, isolation).await;
                best = best.min(took);
                pods = p;
                let wrapper = sandbox.as_deref().filter(|_| isolation == Isolation::Auto);
                best_shell = best_shell.min(shell(n, cpus, wrapper));
                if n == 500 {
                    let started = Instant::now();
                    let text = obj.to_json().unwrap_or_default();
                    let t = started.elapsed();
                    if json_ms.is_none_or(|(b, _, _)| t < b) {
                        json_ms = Some((t, text.len(), obj.status.nodes.len()));
                    }
                }
            }
            println!(
                "{:<28} {:>6} {:>9.0}ms {:>10.2}ms {:>8.0}ms {:>6.2}x",
                format!("{name}, {label}"),
                pods,
                best.as_secs_f64() * 1000.0,
                best.as_secs_f64() * 1000.0 / pods as f64,
                best_shell.as_secs_f64() * 1000.0,
                best.as_secs_f64() / best_shell.as_secs_f64()
            );
        }
    }
    if let Some((t, bytes, nodes)) = json_ms {
        println!(
            "status JSON of the 500-pod run: {nodes} nodes, {bytes} bytes, serialized in {:.1}ms (best of {ROUNDS})",
            t.as_secs_f64() * 1000.0
        );
    }
    let _ = std::fs::remove_dir_all(EngineOptions::default().work_dir.join("bench"));
}
