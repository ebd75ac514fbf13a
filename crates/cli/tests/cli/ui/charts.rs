//! The run pictures in a real browser: a config page's duration bars (one per run, coloured by
//! outcome, the success rate above, each opening its run), the dashboard's strip of last
//! outcomes, its rows sorted by a header click, and both fitting a phone's width.

use super::browser::{
    browser_unavailable, click, screenshot, sign_in, start_browser, text_of, wait_for_text,
};
use crate::harness::{block_on, create_config, Server};
use fantoccini::{Client, Locator};
use polyphemus_model::{ConfigId, ProjectName, RegisterRun, RunId, RunStatusReport, VersionNumber};
use serde_json::{json, Value};

/// Registers a run of the config and records that it ended with `phase` after `seconds`.
async fn ended_run(server: &Server, config_id: &str, run_id: &str, phase: &str, seconds: i64) {
    let client = server.client();
    let project = ProjectName::parse("default").expect("project");
    let register = RegisterRun {
        run_id: RunId::parse(run_id).expect("run id"),
        name: format!("wf-{run_id}"),
        config_id: config_id.parse::<ConfigId>().expect("config id"),
        version_number: VersionNumber::new(1),
    };
    client
        .register_run(&project, &register)
        .await
        .expect("register");
    let started = chrono::DateTime::parse_from_rfc3339("2026-12-01T10:00:00Z").expect("time");
    let finished = started + chrono::Duration::seconds(seconds);
    let report: RunStatusReport = serde_json::from_value(json!({
        "phase": phase, "startedAt": started.to_rfc3339(),
        "finishedAt": finished.to_rfc3339(), "nodes": {}
    }))
    .expect("report");
    client
        .put_run_metadata(&project, &register.run_id, &report)
        .await
        .expect("metadata");
}

/// The `class` of every element `css` matches, in document order.
async fn classes(c: &Client, css: &str) -> Vec<String> {
    let found: Value = c
        .execute(
            "return Array.from(document.querySelectorAll(arguments[0])).map(e => e.getAttribute('class'));",
            vec![json!(css)],
        )
        .await
        .expect("js");
    serde_json::from_value(found).expect("classes")
}

/// The config names of the dashboard's rows, top to bottom.
async fn row_names(c: &Client) -> Vec<String> {
    let found: Value = c
        .execute(
            "return Array.from(document.querySelectorAll('table.status tbody tr td:first-child a')).map(a => a.textContent);",
            vec![],
        )
        .await
        .expect("js");
    serde_json::from_value(found).expect("names")
}

/// Whether the page and the element `css` fit the window's width.
async fn fits_width(c: &Client, css: &str) -> bool {
    let fits = c
        .execute(
            "const e = document.querySelector(arguments[0]);
             return !!e && document.documentElement.scrollWidth <= window.innerWidth
               && e.getBoundingClientRect().right <= window.innerWidth;",
            vec![json!(css)],
        )
        .await
        .expect("js");
    fits == json!(true)
}

#[test]
fn run_pictures_show_outcomes_open_runs_and_the_dashboard_sorts_in_the_browser() {
    if browser_unavailable().is_some() {
        return;
    }
    let server = Server::start();
    // Made in this order, so the dashboard's default order (by config) is not by name.
    let zulu = create_config(&server, "zulu nightly");
    let alpha = create_config(&server, "alpha hourly");
    let token = std::fs::read_to_string(server.data_dir.join("admin.token")).expect("token");
    block_on(async {
        for (run, phase, seconds) in [
            ("z-1", "Succeeded", 90),
            ("z-2", "Failed", 30),
            ("z-3", "Succeeded", 60),
            ("z-4", "Error", 10),
        ] {
            ended_run(&server, &zulu, run, phase, seconds).await;
        }
        ended_run(&server, &alpha, "a-1", "Succeeded", 5).await;
        let browser = start_browser().await;
        let c = &browser.client;
        let base = server.url.as_str();
        sign_in(c, base, token.trim()).await;

        // The config page: one bar per run, oldest first, and the success rate of ended runs.
        let config_url = format!("{base}/projects/default/configs/{zulu}");
        c.goto(&config_url).await.expect("config page");
        let caption = wait_for_text(c, "figure.chart figcaption", "succeeded", 30).await;
        assert!(caption.contains("2 of 4 succeeded (50%)"), "{caption}");
        assert_eq!(
            classes(c, "svg.bars rect.bar").await,
            ["bar succeeded", "bar failed", "bar succeeded", "bar error"]
        );
        let label = c
            .find(Locator::Css("svg.bars"))
            .await
            .expect("chart")
            .attr("aria-label")
            .await
            .expect("label")
            .unwrap_or_default();
        assert!(label.contains("last 4 runs"), "{label}");
        let tooltip: Value = c
            .execute(
                "return document.querySelector(\"svg.bars a[data-run='z-2'] title\").textContent;",
                vec![],
            )
            .await
            .expect("js");
        assert!(
            tooltip
                .as_str()
                .unwrap_or_default()
                .contains("Failed, 30.0s"),
            "{tooltip}"
        );
        screenshot(c, "19-config-chart").await;

        // A bar opens its run.
        click(c, "svg.bars a[data-run='z-2'] rect.bar").await;
        wait_for_text(c, "h1", "Run wf-z-2", 30).await;
        assert!(text_of(c, "#run-phase").await.contains("Failed"));

        // The dashboard: each config's last outcomes, empty slots first.
        c.goto(&format!("{base}/projects/default"))
            .await
            .expect("dashboard");
        wait_for_text(c, "table.status thead", "Last 10", 30).await;
        let strip = format!("table.status tr[data-config='{zulu}'] svg.strip rect.sq");
        let squares = classes(c, &strip).await;
        assert_eq!(squares.len(), 10, "{squares:?}");
        assert!(squares[..6].iter().all(|s| s == "sq empty"), "{squares:?}");
        assert_eq!(
            squares[6..],
            ["sq succeeded", "sq failed", "sq succeeded", "sq error"]
        );
        let alpha_strip = format!("table.status tr[data-config='{alpha}'] svg.strip rect.sq");
        assert_eq!(
            classes(c, &alpha_strip).await.last().map(String::as_str),
            Some("sq succeeded")
        );
        screenshot(c, "20-dashboard-strip").await;

        // A header click sorts the rows, a second one the other way.
        assert_eq!(row_names(c).await, ["zulu nightly", "alpha hourly"]);
        click(c, "table.status th a[data-sort='config']").await;
        wait_for_text(c, "table.status tbody tr", "alpha hourly", 30).await;
        assert_eq!(row_names(c).await, ["alpha hourly", "zulu nightly"]);
        let sorted = c
            .find(Locator::Css("table.status th[aria-sort]"))
            .await
            .expect("sorted header");
        assert_eq!(
            sorted.attr("aria-sort").await.expect("attr").as_deref(),
            Some("ascending")
        );
        click(c, "table.status th a[data-sort='config']").await;
        wait_for_text(c, "table.status th[aria-sort='descending']", "Config", 30).await;
        assert_eq!(row_names(c).await, ["zulu nightly", "alpha hourly"]);

        // A phone's width: the chart and the strips fit, nothing sticks out sideways.
        c.set_window_size(390, 844).await.expect("resize");
        c.goto(&config_url).await.expect("config page");
        wait_for_text(c, "figure.chart figcaption", "succeeded", 30).await;
        assert!(
            fits_width(c, "svg.bars").await,
            "the chart is wider than a phone"
        );
        c.goto(&format!("{base}/projects/default"))
            .await
            .expect("dashboard");
        wait_for_text(c, "table.status", "zulu nightly", 30).await;
        // The rows are cards here; the sort links stay, as a row above them.
        click(c, "table.status th a[data-sort='config']").await;
        wait_for_text(c, "table.status th[aria-sort='ascending']", "Config", 30).await;
        assert_eq!(row_names(c).await, ["alpha hourly", "zulu nightly"]);
        assert!(
            fits_width(c, "svg.strip").await,
            "the strip is wider than a phone"
        );
        screenshot(c, "21-dashboard-phone-strip").await;
        browser.client.clone().close().await.expect("close");
    });
}
