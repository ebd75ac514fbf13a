//! A backfill as project staff start and steer it in the browser: a span that ends before it
//! starts is refused at its field, a good one is listed with its progress, Stop stops it and
//! Resume resumes it. A run of the config is left active, so the backfill waits at its first
//! window and the states seen do not race the runs.

use super::browser::{
    browser_unavailable, click, fill, screenshot, sign_in, start_browser, text_of, wait_for_text,
};
use crate::harness::{block_on, create_config, Server};
use polyphemus_model::{ConfigId, ProjectName, RegisterRun, RunId, VersionNumber};

#[test]
fn a_backfill_is_started_stopped_and_resumed_in_the_browser() {
    if browser_unavailable().is_some() {
        return;
    }
    let server = Server::start();
    let id = create_config(&server, "nightly");
    let token = std::fs::read_to_string(server.data_dir.join("admin.token")).expect("token");
    block_on(async {
        let register = RegisterRun {
            run_id: RunId::parse("still-going").expect("run id"),
            name: "wf-still-going".into(),
            config_id: id.parse::<ConfigId>().expect("id"),
            version_number: VersionNumber::new(1),
        };
        server
            .client()
            .register_run(&ProjectName::parse("default").expect("project"), &register)
            .await
            .expect("register");
        let browser = start_browser().await;
        let c = &browser.client;
        let base = server.url.as_str();
        sign_in(c, base, token.trim()).await;
        c.goto(&format!("{base}/projects/default/configs/{id}"))
            .await
            .expect("config page");
        click(c, "a[href$='/backfills']").await;
        wait_for_text(c, "main h1", "Backfills", 30).await;

        fill(c, "#f-from", "2026-11-01").await;
        fill(c, "#f-to", "2026-10-01").await;
        fill(c, "#f-every", "1d").await;
        click(c, "form.backfill button[type=submit]").await;
        let refused = wait_for_text(c, "main", "must be after", 30).await;
        assert!(
            refused.contains("To"),
            "the error names the field: {refused}"
        );

        fill(c, "#f-to", "2026-11-04").await;
        click(c, "form.backfill button[type=submit]").await;
        wait_for_text(c, ".notice", "Backfill started", 30).await;
        let row = text_of(c, "table.backfills tbody tr").await;
        assert!(row.contains("running") && row.contains("0/3"), "{row}");
        screenshot(c, "18-backfill-running").await;

        click(c, "table.backfills form[action$='/stop'] button").await;
        wait_for_text(c, ".notice", "Backfill stopped", 30).await;
        let row = text_of(c, "table.backfills tbody tr").await;
        assert!(row.contains("stopped"), "{row}");
        click(c, "table.backfills form[action$='/resume'] button").await;
        wait_for_text(c, ".notice", "Backfill resumed", 30).await;
        let shown = server
            .cli(&["--output", "json", "backfills", "list", &id])
            .success()
            .json();
        assert_eq!(shown[0]["state"], "running", "{shown}");
        assert_eq!(
            shown[0]["done_windows"], 0,
            "waiting for the active run: {shown}"
        );
        browser.client.clone().close().await.expect("close");
    });
}
