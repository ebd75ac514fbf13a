//! Hostile steps against a real `polyphemus serve` in its default configuration: a workflow
//! submitted by an admin of one project tries to read the server's environment, its key file,
//! admin token and store (by absolute path and by walking up from its working dir), another
//! run's working dir, to signal the server, to write into / and to pip install. Each attempt
//! fails and the host is unchanged. Steps also end with their run when the server is killed.
//!
//! - hostile_steps_read_no_secret_signal_nothing_and_leave_the_host_unchanged
//! - kill_9_of_the_server_leaves_no_step_process_and_recovery_says_what_it_did
//! - a_run_registered_by_an_external_tool_is_left_alone_by_recovery
//! - the_built_in_workflow_runs_with_the_binary_and_data_dir_under_tmp_and_var_tmp

use crate::harness::{command, create_config, run, Output, Server, BIN};
use std::path::Path;
use std::time::{Duration, Instant};

/// A token for an admin of the project `default` only.
fn project_admin_token(server: &Server) -> String {
    let mut token = command();
    token
        .args(["--data-dir"])
        .arg(&server.data_dir)
        .args(["--database-url", &server.database_url])
        .args([
            "token",
            "create",
            "--name",
            "hostile",
            "--project",
            "default",
            "--role",
            "admin",
        ]);
    run(token, None).success().stdout.trim().to_owned()
}

/// `polyphemus submit --watch` of `yaml` as `token`; the run id.
fn submit(server: &Server, token: &str, yaml: &str, config: &str, params: &[String]) -> String {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("wf.yaml");
    std::fs::write(&file, yaml).expect("write");
    let file = file.display().to_string();
    let config = format!("config_id={config}");
    let mut args = vec!["--token", token, "submit", "-f", &file, "-p", &config];
    args.extend(["-p", "version_number=1", "--watch"]);
    for p in params {
        args.extend(["-p", p.as_str()]);
    }
    let out = server.cli(&args);
    assert_eq!(out.code, 0, "submit: {out:#?}");
    uid(&out)
}

fn uid(out: &Output) -> String {
    out.stdout
        .lines()
        .find_map(|line| line.strip_prefix("UID:"))
        .expect("uid line")
        .trim()
        .to_owned()
}

fn script_workflow(name: &str, params: &[&str], source: &str) -> String {
    let mut declared = String::from("[{name: config_id}, {name: version_number}, {name: project}");
    for p in params {
        declared.push_str(&format!(", {{name: {p}}}"));
    }
    declared.push(']');
    let source = serde_json::to_string(source).expect("json");
    format!(
        "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {{generateName: {name}-}}\nspec:\n  entrypoint: main\n  arguments: {{parameters: {declared}}}\n  templates:\n  - name: main\n    script: {{image: alpine, command: [sh], source: {source}}}\n"
    )
}

const HOSTILE: &str = r#"
echo "processes: $(ls -d /proc/[0-9]* | wc -l)"
echo "--- environ"; for f in /proc/[0-9]*/environ; do tr '\0' '\n' < "$f" 2>/dev/null; done
echo "--- files"
for f in {{workflow.parameters.key}} {{workflow.parameters.token}} {{workflow.parameters.db}}; do cat "$f" 2>/dev/null; done
echo "--- another run"; cat {{workflow.parameters.victim}}/work/*/loot 2>/dev/null
echo "--- walking up"
d=$(pwd)
while [ "$d" != / ]; do
  for n in secret.key admin.token p.db polyphemus.db; do cat "$d/$n" 2>/dev/null; done
  cat "$d"/*/work/*/loot "$d"/*/*/work/*/loot 2>/dev/null
  d=$(dirname "$d")
done
echo "--- signal"
kill -TERM {{workflow.parameters.server_pid}} 2>/dev/null && echo "SIGNALLED the server"
echo "--- write /"
touch /{{workflow.parameters.marker}} 2>/dev/null && echo "WROTE into /"
echo "--- pip"
cat > mkwheel.py <<'PY'
import sys, zipfile
name = sys.argv[1]
whl = f"{name}-0.1-py3-none-any.whl"
with zipfile.ZipFile(whl, "w") as z:
    z.writestr(f"{name}.py", "PWNED = True\n")
    z.writestr(f"{name}-0.1.dist-info/METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    z.writestr(f"{name}-0.1.dist-info/WHEEL", "Wheel-Version: 1.0\nGenerator: x\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
    z.writestr(f"{name}-0.1.dist-info/RECORD", "")
print(whl)
PY
whl=$(python3 mkwheel.py {{workflow.parameters.marker}})
python3 -m pip install --no-index --no-deps --disable-pip-version-check "$whl" >pip.log 2>&1
echo "pip exit $?"
python3 -m pip install --user --no-index --no-deps --disable-pip-version-check "$whl" >>pip.log 2>&1
echo "pip --user exit $?"
python3 -c "import {{workflow.parameters.marker}}" 2>/dev/null && echo "IMPORTED the installed package"
echo DONE
"#;

#[test]
fn hostile_steps_read_no_secret_signal_nothing_and_leave_the_host_unchanged() {
    // Outside /tmp, so that only the sandbox (not the node's private /tmp) hides the data dir.
    let dir = tempfile::TempDir::new_in(env!("CARGO_TARGET_TMPDIR")).expect("dir");
    let argo_secret = format!("argo-{}", uuid::Uuid::new_v4());
    let mut server = Server::start_in_dir(dir, &[("POLYPHEMUS_ARGO_TOKEN", &argo_secret)]);
    let id = create_config(&server, "nightly");
    let token = project_admin_token(&server);
    let key_file = server.data_dir.join("secret.key");
    let key = std::fs::read_to_string(&key_file).expect("key file");
    let admin = std::fs::read_to_string(server.data_dir.join("admin.token")).expect("token");

    let loot = format!("victim-{}", uuid::Uuid::new_v4());
    let victim = script_workflow("victim", &[], &format!("echo {loot} > loot"));
    let victim_id = submit(&server, &token, &victim, &id, &[]);
    let victim_run = server
        .cli(&["runs", "show", &victim_id, "--output", "json"])
        .success()
        .json();
    let victim_name = victim_run["run"]["name"]
        .as_str()
        .or(victim_run["name"].as_str())
        .expect("victim name")
        .to_owned();

    let marker = format!("hostile_marker_{}", uuid::Uuid::new_v4().simple());
    let db = server
        .database_url
        .trim_start_matches("sqlite://")
        .to_owned();
    let params = [
        format!("key={}", key_file.display()),
        format!("token={}", server.data_dir.join("admin.token").display()),
        format!("db={db}"),
        format!(
            "victim={}",
            server.data_dir.join("runs").join(&victim_name).display()
        ),
        format!("server_pid={}", server.pid()),
        format!("marker={marker}"),
    ];
    let names = ["key", "token", "db", "victim", "server_pid", "marker"];
    let hostile = script_workflow("hostile", &names, HOSTILE);
    let run_id = submit(&server, &token, &hostile, &id, &params);
    let logs = server.cli(&["runs", "logs", &run_id]).success().stdout;

    assert!(
        logs.contains("DONE"),
        "the hostile step ran to its end: {logs}"
    );
    assert!(
        !logs.contains(&argo_secret),
        "a step read the server's environment"
    );
    assert!(!logs.contains(key.trim()), "a step read the key file");
    assert!(!logs.contains(admin.trim()), "a step read the admin token");
    assert!(!logs.contains("SQLite format"), "a step read the store");
    assert!(
        !logs.contains(&loot),
        "a step read another run's working dir"
    );
    for refused in ["SIGNALLED", "WROTE into /", "IMPORTED"] {
        assert!(!logs.contains(refused), "{refused}: {logs}");
    }
    // The host afterwards: the server alive, its key unchanged, nothing in /, nothing installed.
    assert!(server.alive(), "the server was killed");
    server.cli(&["status"]).success();
    assert_eq!(std::fs::read_to_string(&key_file).expect("key"), key);
    assert!(
        !Path::new("/").join(&marker).exists(),
        "/{marker} reached the host"
    );
    let import = std::process::Command::new("python3")
        .args(["-c", &format!("import {marker}")])
        .output()
        .expect("python3");
    assert!(
        !import.status.success(),
        "pip installed into the host's Python"
    );
}

/// The command lines of processes that hold `marker`.
fn processes_with(marker: &str) -> Vec<String> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return found;
    };
    for entry in entries.filter_map(Result::ok) {
        if let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) {
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            if cmdline.contains(marker) {
                found.push(cmdline);
            }
        }
    }
    found
}

#[test]
fn kill_9_of_the_server_leaves_no_step_process_and_recovery_says_what_it_did() {
    let server = Server::start();
    let id = create_config(&server, "nightly");
    let secs = 4000 + uuid::Uuid::new_v4().as_u128() % 4000;
    let marker = format!("sleep {secs}");
    let yaml = script_workflow("orphans", &[], &format!("{marker} & {marker}"));
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("wf.yaml");
    std::fs::write(&file, yaml).expect("write");
    let out = server
        .cli(&[
            "submit",
            "-f",
            &file.display().to_string(),
            "-p",
            &format!("config_id={id}"),
            "-p",
            "version_number=1",
        ])
        .success();
    let run_id = uid(&out);
    let deadline = Instant::now() + Duration::from_secs(30);
    while processes_with(&marker).len() < 2 {
        assert!(
            Instant::now() < deadline,
            "the step and its grandchild never ran"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let server = server.kill_and_restart();
    let mut left = processes_with(&marker);
    let deadline = Instant::now() + Duration::from_secs(5);
    while !left.is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
        left = processes_with(&marker);
    }
    assert!(
        left.is_empty(),
        "step processes outlived the server: {left:?}"
    );
    let printed = server.printed();
    assert!(
        printed.contains("recovery: settled 1 unfinished run(s) (1 interrupted")
            && printed.contains("leftover process(es)"),
        "{printed}"
    );
    let shown = server
        .cli(&["runs", "show", &run_id, "--output", "json"])
        .success()
        .json();
    assert_eq!(shown["metadata"]["phase"], "Error", "{shown}");
    let nodes = shown["metadata"]["nodes"].to_string();
    assert!(!nodes.contains("Running"), "{nodes}");
}

#[test]
fn a_run_registered_by_an_external_tool_is_left_alone_by_recovery() {
    let server = Server::start();
    let id = create_config(&server, "nightly");
    let client = server.client();
    let project = polyphemus_model::ProjectName::parse("default").expect("project name");
    crate::harness::block_on(async {
        let register = polyphemus_model::RegisterRun {
            run_id: polyphemus_model::RunId::parse("external-1").expect("run id"),
            name: "nightly-external".to_owned(),
            config_id: id.parse().expect("id"),
            version_number: polyphemus_model::VersionNumber::FIRST,
        };
        client
            .register_run(&project, &register)
            .await
            .expect("register");
        let report: polyphemus_model::RunStatusReport = serde_json::from_value(serde_json::json!({
            "phase": "Running", "startedAt": "2026-01-01T00:00:00Z",
            "nodes": {"n1": {"name": "nightly-external[0].discover", "type": "Pod", "phase": "Running"}}
        }))
        .expect("report");
        client
            .put_run_metadata(&project, &register.run_id, &report)
            .await
            .expect("metadata");
    });
    let server = server.kill_and_restart();
    let shown = server
        .cli(&["runs", "show", "external-1", "--output", "json"])
        .success()
        .json();
    assert_eq!(shown["metadata"]["phase"], "Running", "{shown}");
    let printed = server.printed();
    assert!(
        printed.contains("left 1 run(s) not launched by this server"),
        "{printed}"
    );
}

/// The built-in workflow with the binary, the data dir and the store under `parent`.
fn built_in_workflow_runs_under(parent: &Path) {
    let bin_dir = tempfile::TempDir::new_in(parent).expect("bin dir");
    let bin = bin_dir.path().join("polyphemus");
    // A hard link costs no space; a copy only where `parent` is another filesystem.
    if std::fs::hard_link(BIN, &bin).is_err() {
        std::fs::copy(BIN, &bin).expect("copy the binary");
    }
    let server = Server::start_binary(&bin, tempfile::TempDir::new_in(parent).expect("dir"));
    let id = create_config(&server, "nightly");
    let launched = server
        .cli(&["launch", &id, "--output", "json"])
        .success()
        .json();
    let run_id = launched["run_id"].as_str().expect("run_id").to_owned();
    let deadline = Instant::now() + Duration::from_secs(60);
    let shown = loop {
        let shown = server
            .cli(&["runs", "show", &run_id, "--output", "json"])
            .json();
        let phase = shown["metadata"]["phase"].as_str().unwrap_or("");
        if matches!(phase, "Succeeded" | "Failed" | "Error") {
            break shown;
        }
        assert!(Instant::now() < deadline, "no final phase: {shown}");
        std::thread::sleep(Duration::from_millis(300));
    };
    let logs = server.cli(&["runs", "logs", &run_id]).success().stdout;
    assert!(logs.contains("=== discover"), "{logs}");
    assert!(!logs.contains("not found"), "{}: {logs}", parent.display());
    assert!(!logs.contains("sandbox could not"), "{logs}");
    let nodes = shown["metadata"]["nodes"].to_string();
    assert!(!nodes.contains("exit code 127"), "{nodes}");
}

#[test]
fn the_built_in_workflow_runs_with_the_binary_and_data_dir_under_tmp_and_var_tmp() {
    built_in_workflow_runs_under(Path::new("/tmp"));
    if Path::new("/var/tmp").is_dir() {
        built_in_workflow_runs_under(Path::new("/var/tmp"));
    }
}
