//! Suspended runs as project staff see them in the browser: a run waiting at a `suspend` step
//! (shown suspended, waiting for resume, and the Resume button that lets it go on), and a
//! running run held with the Suspend button until Resume.

use super::browser::{
    browser_unavailable, click, screenshot, sign_in, start_browser, wait_for_text,
};
use crate::harness::{block_on, Server};
use fantoccini::Locator;

const MANIFEST: &str = "name: approval
description: Waits for a person's approval, then releases.
workflow: workflow.yaml
config_schema: {type: object, additionalProperties: false, properties: {}}
example_config: {}
";

const WORKFLOW: &str = r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: approval-}
spec:
  entrypoint: main
  arguments:
    parameters: [{name: config_id}, {name: version_number}]
  templates:
    - name: main
      steps:
        - - {name: approve, template: approve}
        - - {name: release, template: release}
    - name: approve
      suspend: {}
    - name: release
      container: {image: busybox, command: [echo, released]}
"#;

/// A server with one package `approval` running `workflow`, and a config of it: the server,
/// the config id, the admin token and the package dir (kept while the server runs).
fn serve_package(workflow: &str) -> (Server, String, String, tempfile::TempDir) {
    let packages = tempfile::tempdir().expect("packages");
    let package = packages.path().join("approval");
    std::fs::create_dir_all(&package).expect("package dir");
    std::fs::write(package.join("manifest.yaml"), MANIFEST).expect("manifest");
    std::fs::write(package.join("workflow.yaml"), workflow).expect("workflow");
    let dir = packages.path().display().to_string();
    let server = Server::start_with_env(&[("POLYPHEMUS_WORKFLOWS_DIR", dir.as_str())]);
    let create = [
        "--output",
        "json",
        "configs",
        "create",
        "--workflow-type",
        "approval",
        "--name",
        "approval",
        "--config",
        "-",
    ];
    let created = server.cli_with_stdin(&create, Some("{}")).success().json();
    let id = created["config_id"].to_string();
    let token = std::fs::read_to_string(server.data_dir.join("admin.token")).expect("token");
    (server, id, token, packages)
}

#[test]
fn a_suspended_run_is_resumed_with_its_button_in_the_browser() {
    if browser_unavailable().is_some() {
        return;
    }
    let (server, id, token, _packages) = serve_package(WORKFLOW);
    block_on(async {
        let browser = start_browser().await;
        let c = &browser.client;
        let base = server.url.as_str();
        sign_in(c, base, token.trim()).await;
        c.goto(&format!("{base}/projects/default/configs/{id}"))
            .await
            .expect("config page");
        click(c, "form[action$='/launch'] button").await;
        wait_for_text(c, "main h1", "Run approval-", 30).await;
        let run_page = c.current_url().await.expect("url").to_string();
        // The page refreshes itself until the step waits; then it says so and offers Resume.
        let steps =
            wait_for_text(c, "table.nodes tbody", "suspended, waiting for resume", 30).await;
        assert!(steps.contains("approve"), "{steps}");
        c.goto(&run_page).await.expect("run page");
        wait_for_text(c, "#run-suspended", "waits for a resume", 30).await;
        screenshot(c, "25-run-suspended").await;
        click(c, "form[action$='/resume'] button").await;
        wait_for_text(c, "#run-phase", "Succeeded", 30).await;
        let steps = wait_for_text(c, "table.nodes tbody", "release", 30).await;
        assert!(!steps.contains("waiting for resume"), "{steps}");
        assert!(
            c.find(Locator::Css("form[action$='/resume']"))
                .await
                .is_err(),
            "an ended run offers no Resume"
        );
        browser.client.clone().close().await.expect("close");
    });
}

const TWO_STEPS: &str = r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: approval-}
spec:
  entrypoint: main
  arguments:
    parameters: [{name: config_id}, {name: version_number}]
  templates:
    - name: main
      steps:
        - - {name: build, template: slow}
        - - {name: release, template: release}
    - name: slow
      container: {image: busybox, command: [sh, -c, "sleep 3; echo built"]}
    - name: release
      container: {image: busybox, command: [echo, released]}
"#;

#[test]
fn a_running_run_is_suspended_and_resumed_with_its_buttons_in_the_browser() {
    if browser_unavailable().is_some() {
        return;
    }
    let (server, id, token, _packages) = serve_package(TWO_STEPS);
    block_on(async {
        let browser = start_browser().await;
        let c = &browser.client;
        let base = server.url.as_str();
        sign_in(c, base, token.trim()).await;
        c.goto(&format!("{base}/projects/default/configs/{id}"))
            .await
            .expect("config page");
        click(c, "form[action$='/launch'] button").await;
        wait_for_text(c, "main h1", "Run approval-", 30).await;
        click(c, "form[action$='/suspend'] button").await;
        wait_for_text(c, "#run-suspended", "no new step starts", 30).await;
        // build ends while suspended; release waits for the resume.
        let steps = wait_for_text(c, "table.nodes tbody", "Succeeded", 30).await;
        assert!(steps.contains("build"), "{steps}");
        std::thread::sleep(std::time::Duration::from_secs(2));
        let steps = wait_for_text(c, "table.nodes tbody", "build", 30).await;
        assert!(!steps.contains("release"), "nothing new starts: {steps}");
        screenshot(c, "26-run-suspended-by-hand").await;
        click(c, "form[action$='/resume'] button").await;
        wait_for_text(c, "#run-phase", "Succeeded", 30).await;
        wait_for_text(c, "table.nodes tbody", "release", 30).await;
        browser.client.clone().close().await.expect("close");
    });
}
