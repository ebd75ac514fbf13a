//! A run as project staff watch and act on it in the browser: its step seen Running and its
//! lines appearing while it goes, the whole log downloaded, then Resubmit; Restore of an older
//! config version; Archive and Unarchive of a config.

use super::browser::{
    browser_unavailable, click, screenshot, sign_in, start_browser, text_of, wait_for_text,
};
use crate::harness::{block_on, config_values, create_config, Server};
use fantoccini::Locator;
use serde_json::{json, Value};

/// A package whose step prints a line, waits, prints another: long enough to be seen going.
const TICKER_MANIFEST: &str = "name: ticker
description: Prints two lines a few seconds apart.
workflow: workflow.yaml
config_schema: {type: object, additionalProperties: false, properties: {}}
example_config: {}
";

const TICKER_WORKFLOW: &str = r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: ticker-}
spec:
  entrypoint: main
  arguments:
    parameters: [{name: config_id}, {name: version_number}]
  templates:
    - name: main
      steps:
        - - {name: tick, template: tick}
    - name: tick
      container: {image: busybox, command: [sh, -c, 'echo "first line"; sleep 6; echo "second line"']}
"#;

/// A server with the ticker package, and a ticker config; the config's id.
fn ticker_server(packages: &std::path::Path) -> (Server, String) {
    let package = packages.join("ticker");
    std::fs::create_dir_all(&package).expect("package dir");
    std::fs::write(package.join("manifest.yaml"), TICKER_MANIFEST).expect("manifest");
    std::fs::write(package.join("workflow.yaml"), TICKER_WORKFLOW).expect("workflow");
    let dir = packages.display().to_string();
    let server = Server::start_with_env(&[("POLYPHEMUS_WORKFLOWS_DIR", dir.as_str())]);
    let create = [
        "--output",
        "json",
        "configs",
        "create",
        "--workflow-type",
        "ticker",
        "--name",
        "ticker",
        "--config",
        "-",
    ];
    let created = server.cli_with_stdin(&create, Some("{}")).success().json();
    (server, created["config_id"].to_string())
}

#[test]
fn a_running_run_shows_its_step_and_lines_live_then_is_resubmitted_in_the_browser() {
    if browser_unavailable().is_some() {
        return;
    }
    let packages = tempfile::tempdir().expect("packages");
    let (server, id) = ticker_server(packages.path());
    let token = std::fs::read_to_string(server.data_dir.join("admin.token")).expect("token");
    block_on(async {
        let browser = start_browser().await;
        let c = &browser.client;
        let base = server.url.as_str();
        sign_in(c, base, token.trim()).await;
        c.goto(&format!("{base}/projects/default/configs/{id}"))
            .await
            .expect("config page");
        click(c, "form[action$='/launch'] button").await;
        wait_for_text(c, "main h1", "Run ticker-", 30).await;
        let url = c.current_url().await.expect("url").to_string();
        let run_id = url.rsplit('/').next().expect("run id").to_owned();

        // The step runs and its first line shows before the run ends.
        let steps = wait_for_text(c, "table.nodes tbody", "Running", 30).await;
        assert!(steps.contains("tick"), "{steps}");
        let output = wait_for_text(c, "#output", "first line", 30).await;
        assert!(!output.contains("second line"), "{output}");
        assert_eq!(phase_of_run(&server, &run_id), "Running");
        screenshot(c, "22-run-live").await;
        // The second line is appended by the follow, before the page knows the run ended.
        wait_for_text(c, "#output", "second line", 30).await;
        wait_for_text(c, "#run-phase", "Succeeded", 30).await;
        let output = text_of(c, "#output").await;
        assert_eq!(output.matches("first line").count(), 1, "{output}");

        // The Download link answers every line, under the step's header.
        let href = c
            .find(Locator::Css("a[download]"))
            .await
            .expect("download link")
            .attr("href")
            .await
            .expect("href")
            .expect("an href");
        let script =
            "return fetch(arguments[0], {credentials: 'same-origin'}).then(r => r.text());";
        let downloaded = c
            .execute(script, vec![json!(href)])
            .await
            .expect("download");
        assert_eq!(downloaded, json!("=== tick ===\nfirst line\nsecond line\n"));

        // Resubmit: a new run of the same version, shown at once.
        click(c, "form[action$='/resubmit'] button").await;
        wait_for_text(c, "main h1", "Run ticker-", 30).await;
        let url = c.current_url().await.expect("url").to_string();
        assert!(!url.ends_with(&run_id), "a new run: {url}");
        let resubmitted = url.rsplit('/').next().expect("run id").to_owned();
        let shown = server
            .cli(&["--output", "json", "runs", "show", &resubmitted])
            .success()
            .json();
        assert_eq!(shown["version_number"], 1, "{shown}");
        browser.client.clone().close().await.expect("close");
    });
}

fn phase_of_run(server: &Server, run_id: &str) -> String {
    let shown: Value = server
        .cli(&["--output", "json", "runs", "show", run_id])
        .success()
        .json();
    shown["metadata"]["phase"]
        .as_str()
        .unwrap_or("Pending")
        .to_owned()
}

#[test]
fn an_old_version_is_restored_and_a_config_archived_in_the_browser() {
    if browser_unavailable().is_some() {
        return;
    }
    let server = Server::start();
    let id = create_config(&server, "nightly");
    server
        .cli_with_stdin(
            &["configs", "update", &id, "--config", "-"],
            Some(&config_values("other-bucket")),
        )
        .success();
    let token = std::fs::read_to_string(server.data_dir.join("admin.token")).expect("token");
    block_on(async {
        let browser = start_browser().await;
        let c = &browser.client;
        let base = server.url.as_str();
        sign_in(c, base, token.trim()).await;
        let config_page = format!("{base}/projects/default/configs/{id}");

        c.goto(&format!("{config_page}/versions"))
            .await
            .expect("history");
        click(c, "button[aria-label='Restore v1']").await;
        wait_for_text(c, ".notice", "estored", 30).await;
        let shown = server
            .cli(&["--output", "json", "configs", "show", &id])
            .success()
            .json();
        assert_eq!(shown["version_number"], 3, "{shown}");
        assert_eq!(shown["config"]["bucket"], "raw-data");
        assert_eq!(shown["comment"], "restored from version 1");
        c.goto(&format!("{config_page}/versions"))
            .await
            .expect("history");
        let history = text_of(c, "main table").await;
        assert!(history.contains("restored from version 1"), "{history}");
        screenshot(c, "23-history-restored").await;

        c.goto(&config_page).await.expect("config page");
        click(c, "form[action$='/archive'] button").await;
        wait_for_text(c, ".notice", "rchived", 30).await;
        assert!(
            c.find(Locator::Css("form[action$='/launch']"))
                .await
                .is_err(),
            "an archived config offers no Launch"
        );
        screenshot(c, "24-config-archived").await;
        c.goto(&format!("{base}/projects/default"))
            .await
            .expect("dashboard");
        let dashboard = text_of(c, "main").await;
        assert!(
            !dashboard.contains("nightly"),
            "hidden from the dashboard: {dashboard}"
        );
        c.goto(&config_page).await.expect("config page");
        click(c, "form[action$='/unarchive'] button").await;
        wait_for_text(c, ".notice", "narchived", 30).await;
        c.goto(&format!("{base}/projects/default"))
            .await
            .expect("dashboard");
        wait_for_text(c, "main", "nightly", 30).await;
        browser.client.clone().close().await.expect("close");
    });
}
