//! The node sandbox: own PID namespace, hidden work dir and caller paths, read-only host,
//! writable working dir and `/tmp`, a step user when root, no process left after the node.
//! Each test says so and passes trivially where the host offers no sandbox.

mod common;

use common::{node, result};
use polyphemus_engine::{Engine, EngineOptions, Phase, SandboxSupport, TemplateLibrary, Workflow};
use std::path::PathBuf;

fn sandboxed_engine(hide: Vec<PathBuf>) -> Option<Engine> {
    common::init_tracing();
    let engine = Engine::new(EngineOptions {
        work_dir: common::work_dir(),
        hide,
        ..Default::default()
    });
    if engine.sandbox_support() == SandboxSupport::None {
        eprintln!("no sandbox on this host: nothing to check");
        return None;
    }
    Some(engine)
}

fn one_step(script: &str) -> Workflow {
    let yaml = format!(
        "kind: Workflow\nmetadata: {{generateName: sbx-}}\nspec:\n  entrypoint: m\n  templates:\n  - name: m\n    outputs: {{parameters: [{{name: t, valueFrom: {{path: /tmp/t}}}}]}}\n    script: {{image: x, command: [sh], source: {}}}\n",
        serde_json::to_string(script).expect("json string")
    );
    Workflow::from_yaml(&yaml).expect("workflow")
}

/// A directory outside `/tmp` (hidden anyway) that the test owns.
fn host_dir(tag: &str) -> PathBuf {
    let dir =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{tag}-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("dir");
    dir
}

#[tokio::test]
async fn a_node_sees_only_its_own_processes_and_none_of_the_hidden_paths() {
    let secret_dir = host_dir("hidden");
    std::fs::write(secret_dir.join("secret.key"), "k3y").expect("write");
    let other_run = common::work_dir().join("another-run").join("work");
    std::fs::create_dir_all(&other_run).expect("dir");
    std::fs::write(other_run.join("theirs"), "theirs").expect("write");
    let Some(engine) = sandboxed_engine(vec![secret_dir.clone()]) else {
        return;
    };
    let script = format!(
        "procs=$(ls /proc | grep -c '^[0-9]')\n\
         cat {key} 2>/dev/null && echo KEY-READ\n\
         cat {theirs} 2>/dev/null && echo OTHER-RUN-READ\n\
         cat ../../../another-run/work/theirs 2>/dev/null && echo WALKED-UP\n\
         kill -0 {server} 2>/dev/null && echo SIGNALLED\n\
         echo \"procs=$procs uid=$(id -u)\"",
        key = secret_dir.join("secret.key").display(),
        theirs = other_run.join("theirs").display(),
        server = std::process::id(),
    );
    let wf = engine
        .run(
            one_step(&format!("{script}\necho x > /tmp/t")),
            Vec::new(),
            &TemplateLibrary::new(),
        )
        .await
        .expect("runs");
    let _ = std::fs::remove_dir_all(&secret_dir);
    assert_eq!(wf.status.phase, Phase::Succeeded, "{:?}", wf.status);
    let out = result(node(&wf, "")).unwrap_or_default().to_owned();
    for leak in ["KEY-READ", "OTHER-RUN-READ", "WALKED-UP", "SIGNALLED"] {
        assert!(!out.contains(leak), "{leak}: {out}");
    }
    let procs: usize = out
        .split("procs=")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .expect("count");
    assert!(procs < 10, "the node sees the host's processes: {out}");
    if engine.sandbox_support() == SandboxSupport::Root {
        assert!(!out.contains("uid=0"), "a step runs as root: {out}");
    }
}

#[tokio::test]
async fn the_host_is_read_only_but_the_working_dir_and_tmp_are_the_nodes() {
    let Some(engine) = sandboxed_engine(Vec::new()) else {
        return;
    };
    let marker = format!(
        "/var/tmp/polyphemus-sandbox-marker-{}",
        uuid::Uuid::new_v4()
    );
    let root_marker = format!("/polyphemus-sandbox-marker-{}", uuid::Uuid::new_v4());
    let script = format!(
        "touch {marker} 2>/dev/null && echo WROTE-VAR-TMP\n\
         touch {root_marker} 2>/dev/null && echo WROTE-ROOT\n\
         echo mine > here && echo out > /tmp/t && cat here"
    );
    let wf = engine
        .run(one_step(&script), Vec::new(), &TemplateLibrary::new())
        .await
        .expect("runs");
    assert_eq!(wf.status.phase, Phase::Succeeded, "{:?}", wf.status);
    let n = node(&wf, "");
    assert_eq!(result(n), Some("mine"));
    let t = n.outputs.as_ref().and_then(|o| o.parameters.first());
    assert_eq!(t.map(|p| p.value.as_str()), Some("out"));
    assert!(
        !std::path::Path::new(&marker).exists(),
        "{marker} reached the host"
    );
    assert!(!std::path::Path::new(&root_marker).exists());
}

/// Whether a process whose command line holds `marker` runs on this host.
fn running_with(marker: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc")
        .expect("/proc")
        .filter_map(Result::ok)
    {
        if let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) {
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            if cmdline.contains(marker) {
                found.push(format!(
                    "{}: {cmdline}",
                    entry.file_name().to_string_lossy()
                ));
            }
        }
    }
    found
}

#[tokio::test]
async fn terminate_leaves_no_process_of_the_node_grandchildren_included() {
    let Some(engine) = sandboxed_engine(Vec::new()) else {
        return;
    };
    // A distinct sleep length makes a marker on the command line of each process.
    let secs = 3000 + (uuid::Uuid::new_v4().as_u128() % 5000) as u64;
    let marker = format!("sleep {secs}");
    let script = format!("(setsid sh -c '{marker}' &) ; {marker} & {marker}");
    let handle = engine
        .submit(one_step(&script), Vec::new(), &TemplateLibrary::new())
        .expect("submits");
    let mut seen = false;
    for _ in 0..100 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        if running_with(&marker).len() >= 3 {
            seen = true;
            break;
        }
    }
    assert!(
        seen,
        "the node's sleeps never ran: {:?}",
        running_with(&marker)
    );
    handle.terminate();
    let wf = handle.wait().await;
    assert_ne!(wf.status.phase, Phase::Succeeded);
    let mut left = running_with(&marker);
    for _ in 0..20 {
        if left.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        left = running_with(&marker);
    }
    assert!(left.is_empty(), "left running: {left:?}");
}

#[tokio::test]
async fn a_nodes_background_processes_end_with_it() {
    let Some(engine) = sandboxed_engine(Vec::new()) else {
        return;
    };
    let secs = 3000 + (uuid::Uuid::new_v4().as_u128() % 5000) as u64;
    let marker = format!("sleep {secs}");
    let script = format!("(setsid sh -c '{marker}' > /dev/null 2>&1 &) ; echo x > /tmp/t");
    let wf = engine
        .run(one_step(&script), Vec::new(), &TemplateLibrary::new())
        .await
        .expect("runs");
    assert_eq!(wf.status.phase, Phase::Succeeded, "{:?}", wf.status);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        running_with(&marker).is_empty(),
        "{:?}",
        running_with(&marker)
    );
}

#[tokio::test]
async fn a_volume_is_the_one_host_directory_a_node_writes() {
    let volume = host_dir("volume");
    let engine = Engine::new(EngineOptions {
        work_dir: common::work_dir(),
        volumes: vec![volume.clone()],
        ..Default::default()
    });
    if engine.sandbox_support() == SandboxSupport::None {
        return;
    }
    // The volume's owner writes it: the step user when root (as `serve` makes it).
    if let Some(user) = engine.step_user() {
        std::os::unix::fs::chown(&volume, Some(user.uid), Some(user.gid)).expect("chown");
    }
    let script = format!("echo kept > {}/out && echo x > /tmp/t", volume.display());
    let wf = engine
        .run(one_step(&script), Vec::new(), &TemplateLibrary::new())
        .await
        .expect("runs");
    assert_eq!(wf.status.phase, Phase::Succeeded, "{:?}", wf.status);
    let written = std::fs::read_to_string(volume.join("out")).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&volume);
    assert_eq!(written, "kept\n");
}

/// A program kept directly in `/tmp` (a binary downloaded there), with `/tmp` on `PATH` as the
/// server puts its own directory: the node still runs it, and its own `/tmp` stays writable.
#[tokio::test]
async fn a_program_kept_directly_in_tmp_runs_and_tmp_stays_the_nodes() {
    let program = PathBuf::from(format!(
        "/tmp/polyphemus-probe-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::write(&program, "#!/bin/sh\necho from-tmp\n").expect("program");
    std::fs::set_permissions(
        &program,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("mode");
    common::init_tracing();
    let path = format!("/tmp:{}", std::env::var("PATH").unwrap_or_default());
    let engine = Engine::new(EngineOptions {
        work_dir: common::work_dir(),
        keep_visible: vec![program.clone()],
        env: vec![("PATH".into(), path)],
        ..Default::default()
    });
    if engine.sandbox_support() == SandboxSupport::None {
        eprintln!("no sandbox on this host: nothing to check");
        let _ = std::fs::remove_file(&program);
        return;
    }
    let name = program.file_name().and_then(|n| n.to_str()).expect("name");
    let script = format!("echo out > /tmp/t && {name}");
    let wf = engine
        .run(one_step(&script), Vec::new(), &TemplateLibrary::new())
        .await
        .expect("runs");
    let _ = std::fs::remove_file(&program);
    assert_eq!(wf.status.phase, Phase::Succeeded, "{:?}", wf.status);
    let n = node(&wf, "");
    assert_eq!(result(n), Some("from-tmp"));
    let t = n.outputs.as_ref().and_then(|o| o.parameters.first());
    assert_eq!(t.map(|p| p.value.as_str()), Some("out"));
}
