//! A schedule that paused itself after failed runs, as project staff see it: the dashboard
//! says paused, the schedule page says why, its policies can be changed, and Resume resumes.

use super::browser::{
    browser_unavailable, click, screenshot, sign_in, start_browser, text_of, wait_for_text,
};
use crate::harness::{block_on, create_config, Server};
use fantoccini::Locator;
use polyphemus_model::{ConfigId, ProjectName, RegisterRun, RunId, RunStatusReport, VersionNumber};

/// Registers a run of the config and records that it failed.
async fn failed_run(server: &Server, config_id: ConfigId, run_id: &str) {
    let client = server.client();
    let project = ProjectName::parse("default").expect("project");
    let register = RegisterRun {
        run_id: RunId::parse(run_id).expect("run id"),
        name: format!("wf-{run_id}"),
        config_id,
        version_number: VersionNumber::new(1),
    };
    client
        .register_run(&project, &register)
        .await
        .expect("register");
    let report: RunStatusReport = serde_json::from_value(serde_json::json!({
        "phase": "Failed", "startedAt": "2026-12-01T00:00:00Z", "nodes": {}
    }))
    .expect("report");
    client
        .put_run_metadata(&project, &register.run_id, &report)
        .await
        .expect("metadata");
}

#[test]
fn a_paused_schedule_is_explained_and_resumed_in_the_browser() {
    if browser_unavailable().is_some() {
        return;
    }
    let server = Server::start();
    let id = create_config(&server, "nightly");
    server
        .cli(&[
            "runtime",
            "set",
            &id,
            "--interval",
            "1h",
            "--pause-after-failures",
            "2",
        ])
        .success();
    let token = std::fs::read_to_string(server.data_dir.join("admin.token")).expect("token");
    block_on(async {
        let config_id: ConfigId = id.parse().expect("id");
        failed_run(&server, config_id, "first-failure").await;
        failed_run(&server, config_id, "second-failure").await;
        let browser = start_browser().await;
        let c = &browser.client;
        let base = server.url.as_str();
        sign_in(c, base, token.trim()).await;
        c.goto(&format!("{base}/projects/default"))
            .await
            .expect("dashboard");
        wait_for_text(c, "main", "paused", 30).await;
        screenshot(c, "15-dashboard-paused").await;

        let runtime = format!("{base}/projects/default/configs/{id}/runtime");
        c.goto(&runtime).await.expect("runtime");
        let notice = text_of(c, "#paused-heading").await;
        assert!(notice.contains("Scheduled runs are paused"), "{notice}");
        let why = text_of(c, "main section.notice").await;
        assert!(why.contains("2 failed runs in a row"), "{why}");
        assert!(
            why.contains("second-failure") && why.contains("first-failure"),
            "{why}"
        );
        screenshot(c, "16-schedule-paused").await;

        // The policies are part of the schedule form.
        c.find(Locator::Css("#f-concurrency_policy"))
            .await
            .expect("policy field")
            .select_by_value("Replace")
            .await
            .expect("select");
        click(c, "form.runtime button[type=submit]").await;
        wait_for_text(c, ".notice", "Runtime settings saved", 30).await;
        let shown = server
            .cli(&["--output", "json", "runtime", "show", &id])
            .success()
            .json();
        assert_eq!(shown["concurrency_policy"], "Replace");
        assert!(
            !shown["paused"].is_null(),
            "saving settings does not resume"
        );

        click(c, "form[action$='/runtime/resume'] button").await;
        wait_for_text(c, ".notice", "Scheduled runs resumed", 30).await;
        assert!(c.find(Locator::Css("#paused-heading")).await.is_err());
        let shown = server
            .cli(&["--output", "json", "runtime", "show", &id])
            .success()
            .json();
        assert!(shown["paused"].is_null());
        browser.client.clone().close().await.expect("close");
    });
}

#[test]
fn a_channel_is_added_tested_and_removed_in_the_browser() {
    if browser_unavailable().is_some() {
        return;
    }
    let server = Server::start();
    let hook = polyphemus_testkit::WebhookReceiver::start();
    let token = std::fs::read_to_string(server.data_dir.join("admin.token")).expect("token");
    block_on(async {
        let browser = start_browser().await;
        let c = &browser.client;
        let base = server.url.as_str();
        sign_in(c, base, token.trim()).await;
        c.goto(&format!("{base}/projects/default"))
            .await
            .expect("dashboard");
        click(c, "a[href$='/notifications']").await;
        wait_for_text(c, "h1", "Notifications", 30).await;
        c.find(Locator::Css("#f-name"))
            .await
            .expect("name")
            .send_keys("team-chat")
            .await
            .expect("type");
        click(c, "#kind-webhook").await;
        let url = format!("{}?token=sEcReT", hook.url());
        c.find(Locator::Css("#f-settings-url"))
            .await
            .expect("url")
            .send_keys(&url)
            .await
            .expect("type");
        c.find(Locator::Css("#f-settings-secret"))
            .await
            .expect("secret")
            .send_keys("short")
            .await
            .expect("type");
        click(c, "form.channel button[type=submit]").await;
        wait_for_text(c, "main", "at least 16 characters", 30).await;
        let form_html = c.source().await.expect("source");
        assert!(
            !form_html.contains("sEcReT"),
            "credentials are not sent back into the form"
        );

        c.find(Locator::Css("#f-settings-url"))
            .await
            .expect("url")
            .send_keys(&url)
            .await
            .expect("type");
        c.find(Locator::Css("#f-settings-secret"))
            .await
            .expect("secret")
            .send_keys("a-long-enough-signing-secret")
            .await
            .expect("type");
        click(c, "form.channel button[type=submit]").await;
        wait_for_text(c, ".notice", "Channel added", 30).await;
        let listed = text_of(c, "table").await;
        assert!(
            listed.contains("team-chat") && listed.contains("signed webhook at 127.0.0.1"),
            "{listed}"
        );
        assert!(!c.source().await.expect("source").contains("sEcReT"));
        screenshot(c, "17-notifications").await;

        click(c, "form[action$='/test'] button").await;
        wait_for_text(c, ".notice", "Test alert delivered", 30).await;
        assert_eq!(hook.wait_for(1, std::time::Duration::from_secs(5)).len(), 1);
        click(c, "form[action$='/delete'] button").await;
        wait_for_text(c, ".notice", "Channel removed", 30).await;
        wait_for_text(c, "main", "No channels", 30).await;
        browser.client.clone().close().await.expect("close");
    });
}
