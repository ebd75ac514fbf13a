//! Workflow packages brought without a rebuild: a package directory written by the test is
//! validated, loaded by `serve --workflows-dir`, configured through the API and launched on
//! the local engine; a bad one is refused by `workflows validate` and by `serve`, naming why;
//! SIGHUP reloads a changed package, and `workflows check` lists the configs it broke.

use crate::harness::{command, run, Server};
use std::path::Path;
use std::time::{Duration, Instant};

const MANIFEST: &str = "name: echo-greeting
description: Prints a greeting from its config.
workflow: workflow.yaml
config_schema:
  type: object
  additionalProperties: false
  required: [greeting]
  properties:
    greeting: {type: string, title: Greeting, minLength: 1}
example_config: {greeting: hello}
";

const WORKFLOW: &str = "apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: echo-greeting-}
spec:
  entrypoint: main
  arguments:
    parameters: [{name: config_id}, {name: version_number}]
  templates:
    - name: main
      container:
        image: busybox
        command: [sh, -c, 'echo packaged step ran for config {{workflow.parameters.config_id}}']
";

fn write_package(root: &Path, manifest: &str, workflow: &str) {
    let dir = root.join("echo-greeting");
    std::fs::create_dir_all(&dir).expect("package dir");
    std::fs::write(dir.join("manifest.yaml"), manifest).expect("manifest");
    std::fs::write(dir.join("workflow.yaml"), workflow).expect("workflow");
}

/// `configs create` of an echo-greeting config from `config` (JSON on stdin).
fn create_greeter(server: &Server, config: &str) -> crate::harness::Output {
    server.cli_with_stdin(
        &[
            "--output",
            "json",
            "configs",
            "create",
            "--workflow-type",
            "echo-greeting",
            "--name",
            "greeter",
            "--config",
            "-",
        ],
        Some(config),
    )
}

fn validate(dir: &Path) -> crate::harness::Output {
    let mut validate = command();
    validate.arg("workflows").arg("validate").arg(dir);
    run(validate, None)
}

#[test]
fn a_package_directory_is_validated_loaded_configured_and_launched() {
    let packages = tempfile::tempdir().expect("temp dir");
    write_package(packages.path(), MANIFEST, WORKFLOW);
    let checked = validate(packages.path()).success();
    assert!(
        checked.stdout.contains("1 package valid: echo-greeting"),
        "{checked:#?}"
    );

    let dir = packages.path().display().to_string();
    let server = Server::start_with_env(&[("POLYPHEMUS_WORKFLOWS_DIR", dir.as_str())]);
    let listed = server
        .cli(&["--output", "json", "workflows", "list"])
        .success()
        .json();
    let package = listed
        .as_array()
        .and_then(|all| all.iter().find(|m| m["name"] == "echo-greeting"))
        .unwrap_or_else(|| panic!("the package is listed: {listed}"));
    let package_dir = packages.path().join("echo-greeting");
    assert_eq!(
        package["source"],
        package_dir.display().to_string().as_str()
    );
    assert!(package["digest"]
        .as_str()
        .is_some_and(|d| d.starts_with("sha256:")));
    assert!(listed.as_array().is_some_and(|all| all
        .iter()
        .any(|m| m["name"] == "sftp-to-storage" && m["source"] == "built-in")));

    let create = |config: &str| create_greeter(&server, config);
    let refused = create(r#"{"greeting": ""}"#);
    assert_ne!(
        refused.code, 0,
        "the package's schema applies: {refused:#?}"
    );
    assert!(refused.stderr.contains("/config/greeting"), "{refused:#?}");
    let config_id = create(r#"{"greeting": "hi"}"#).success().json()["config_id"].to_string();

    let launched = server
        .cli(&["launch", &config_id, "--output", "json"])
        .success()
        .json();
    let run_id = launched["run_id"].as_str().expect("run_id").to_owned();
    let deadline = Instant::now() + Duration::from_secs(60);
    let phase = loop {
        let shown = server
            .cli(&["runs", "show", &run_id, "--output", "json"])
            .json();
        let phase = shown["metadata"]["phase"].as_str().unwrap_or("").to_owned();
        if matches!(phase.as_str(), "Succeeded" | "Failed" | "Error") {
            break phase;
        }
        assert!(Instant::now() < deadline, "the run did not end: {shown}");
        std::thread::sleep(Duration::from_millis(300));
    };
    assert_eq!(phase, "Succeeded");
    let logs = server.cli(&["runs", "logs", &run_id]).success();
    assert!(
        logs.stdout
            .contains(&format!("packaged step ran for config {config_id}")),
        "{}",
        logs.stdout
    );
}

#[test]
fn a_bad_package_is_refused_by_validate_and_by_serve_naming_every_problem() {
    let packages = tempfile::tempdir().expect("temp dir");
    let manifest = MANIFEST
        .replace("{greeting: hello}", "{greeting: 5}")
        .replace("description:", "colour: blue\ndescription:");
    write_package(packages.path(), &manifest, WORKFLOW);
    let refused = validate(packages.path());
    assert_eq!(refused.code, 1, "{refused:#?}");
    assert!(
        refused.stderr.contains("manifest.yaml line 2"),
        "{refused:#?}"
    );
    assert!(
        refused.stderr.contains("unknown field `colour`"),
        "{refused:#?}"
    );

    write_package(
        packages.path(),
        &MANIFEST.replace("{greeting: hello}", "{greeting: 5}"),
        &WORKFLOW.replace("{name: version_number}", "{name: other}"),
    );
    let refused = validate(packages.path());
    assert_eq!(refused.code, 1, "{refused:#?}");
    for expected in [
        "echo-greeting/manifest.yaml /example_config/greeting",
        "echo-greeting/workflow.yaml /spec/arguments/parameters: must declare the parameter version_number",
        "polyphemus: 2 problems in the workflow packages",
    ] {
        assert!(refused.stderr.contains(expected), "{expected:?} missing: {refused:#?}");
    }

    let data = tempfile::tempdir().expect("temp dir");
    let mut serve = command();
    serve
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data.path())
        .arg("--workflows-dir")
        .arg(packages.path());
    let refused = run(serve, None);
    assert_ne!(
        refused.code, 0,
        "serve starts only with a sound registry: {refused:#?}"
    );
    assert!(
        refused
            .stderr
            .contains("must declare the parameter version_number"),
        "{refused:#?}"
    );
}

#[test]
fn jobs_belong_to_no_workflow_and_packages_are_held_to_what_their_jobs_read() {
    let server = Server::start();
    let jobs = server
        .cli(&["--output", "json", "jobs", "list"])
        .success()
        .json();
    let names: Vec<&str> = jobs
        .as_array()
        .map(|all| all.iter().filter_map(|job| job["name"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(
        names,
        [
            "sftp_discover",
            "copy_to_storage",
            "copy_to_sftp",
            "notify_webhook"
        ]
    );
    let discover = &jobs[0];
    assert!(discover["config_schema"]["required"]
        .as_array()
        .is_some_and(|keys| keys.iter().any(|key| key == "root")));
    let shown = server.cli(&["jobs", "show", "nope"]);
    assert_ne!(shown.code, 0);
    assert!(shown.stderr.contains("there is no job nope"), "{shown:#?}");

    // A package running sftp_discover under its own workflow type, without the keys it reads.
    let packages = tempfile::tempdir().expect("temp dir");
    let workflow = WORKFLOW.replace(
        "        command: [sh, -c, 'echo packaged step ran for config {{workflow.parameters.config_id}}']\n",
        "        command: [polyphemus]\n        args: [run_job, echo-greeting, sftp_discover, '--config-id={{workflow.parameters.config_id}}']\n",
    );
    write_package(packages.path(), MANIFEST, &workflow);
    let refused = validate(packages.path());
    assert_eq!(refused.code, 1, "{refused:#?}");
    for key in ["host", "username", "host_key_fingerprint", "root"] {
        let expected =
            format!("the job sftp_discover (workflow.yaml /spec/templates/0) reads {key}");
        assert!(
            refused.stderr.contains(&expected),
            "{expected:?}: {refused:#?}"
        );
    }
}

#[test]
fn sighup_reloads_a_changed_package_and_check_lists_the_configs_it_breaks() {
    let packages = tempfile::tempdir().expect("temp dir");
    write_package(packages.path(), MANIFEST, WORKFLOW);
    let dir = packages.path().display().to_string();
    let server = Server::start_with_env(&[("POLYPHEMUS_WORKFLOWS_DIR", dir.as_str())]);
    let created = create_greeter(&server, r#"{"greeting": "hi"}"#);
    let config_id = created.success().json()["config_id"].to_string();
    let digest = || {
        let shown = server.cli(&["--output", "json", "workflows", "show", "echo-greeting"]);
        shown.success().json()["digest"].clone()
    };
    let before = digest();
    server
        .cli(&["workflows", "check", "echo-greeting"])
        .success();

    let stricter = MANIFEST
        .replace("required: [greeting]", "required: [greeting, audience]")
        .replace(
            "    greeting:",
            "    audience: {type: string}\n    greeting:",
        )
        .replace("{greeting: hello}", "{greeting: hello, audience: all}");
    write_package(packages.path(), &stricter, WORKFLOW);
    let hangup = std::process::Command::new("kill")
        .args(["-HUP", &server.pid().to_string()])
        .status()
        .expect("kill -HUP");
    assert!(hangup.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    while digest() == before {
        assert!(
            Instant::now() < deadline,
            "SIGHUP did not reload the package"
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    let checked = server.cli(&["workflows", "check", "echo-greeting"]);
    assert_eq!(checked.code, 1, "{checked:#?}");
    assert!(
        checked.stdout.contains(&config_id) && checked.stdout.contains("audience"),
        "the broken config and its missing field are listed: {checked:#?}"
    );
    let launched = server.cli(&["launch", &config_id]);
    assert_ne!(launched.code, 0, "{launched:#?}");
    assert!(
        launched.stderr.contains("no longer matches") && launched.stderr.contains("audience"),
        "{launched:#?}"
    );

    write_package(
        packages.path(),
        &format!("{stricter}colour: blue\n"),
        WORKFLOW,
    );
    let refused = server.cli(&["workflows", "reload"]);
    assert_ne!(refused.code, 0, "{refused:#?}");
    assert!(
        refused.stderr.contains("manifest.yaml") && refused.stderr.contains("colour"),
        "every problem is named: {refused:#?}"
    );
    assert_ne!(digest(), before, "the package loaded by SIGHUP stays");
}
