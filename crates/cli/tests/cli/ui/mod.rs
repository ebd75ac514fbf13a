//! The web UI in a real headless Chromium over WebDriver (chromedriver), against a real
//! `polyphemus serve`: what a person does with a mouse and keyboard, with a screenshot of each
//! page under `target/ui-screenshots/`.
mod backfills;
mod browser;
mod charts;
pub(crate) mod oidc;
mod resume;
mod run_actions;
mod schedules;

use crate::harness::{block_on, create_config, Server};
use browser::{
    browser_unavailable, click, files_under, fill, screenshot, sign_in, start_browser, text_of,
    unlabelled_controls, wait_for_text,
};
use fantoccini::Locator;
use polyphemus_testkit::Sshd;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

#[test]
fn a_person_configures_launches_and_follows_a_pipeline_in_the_browser() {
    if browser_unavailable().is_some() {
        return;
    }
    // A real SFTP server to copy from, and a directory as the object storage.
    if let Some(why) = Sshd::unavailable() {
        assert!(!polyphemus_testkit::required_in_ci(), "{why}");
        eprintln!("skipping the browser test: {why}");
        return;
    }
    let sshd = Sshd::start();
    sshd.put_file("run-0412/sample-1.fastq.gz", b"@r1\nACGT\n+\nIIII\n");
    sshd.put_file("run-0412/SampleSheet.csv", b"not copied");
    sshd.age_file("run-0412/sample-1.fastq.gz", 3600);
    sshd.age_file("run-0412/SampleSheet.csv", 3600);
    // Not under /tmp: each local-engine step has a private /tmp.
    let storage = polyphemus_testkit::storage_dir(env!("CARGO_TARGET_TMPDIR"));
    let storage_url = format!("file://{}", storage.path().display());
    let sftp_root = sshd.root.display().to_string();
    let sftp_port = sshd.port.to_string();
    // The host is read-only to steps but for the volumes the server declares.
    let volume = storage.path().display().to_string();
    let server = Server::start_with_env(&[("POLYPHEMUS_STEP_VOLUMES", &volume)]);
    let token = std::fs::read_to_string(server.data_dir.join("admin.token")).expect("token");
    block_on(async {
        let browser = start_browser().await;
        let c = &browser.client;
        let base = server.url.as_str();

        c.goto(&format!("{base}/")).await.expect("open");
        screenshot(c, "01-sign-in").await;
        sign_in(c, base, token.trim()).await;
        screenshot(c, "02-projects").await;

        // The session cookie is out of reach of scripts.
        let visible_cookies = c
            .execute("return document.cookie;", vec![])
            .await
            .expect("js");
        assert_eq!(
            visible_cookies,
            json!(""),
            "the session cookie must be HttpOnly"
        );

        // Keyboard: the first Tab reaches the skip link, which moves focus to the content.
        c.goto(&format!("{base}/projects/default"))
            .await
            .expect("dashboard");
        let body = c.find(Locator::Css("body")).await.expect("body");
        body.send_keys("\u{E004}").await.expect("Tab");
        let focused = c.active_element().await.expect("focus");
        assert_eq!(
            focused.attr("class").await.expect("class").as_deref(),
            Some("skip")
        );
        focused.send_keys("\u{E007}").await.expect("Enter");
        let focused = c.active_element().await.expect("focus");
        assert_eq!(
            focused.attr("id").await.expect("id").as_deref(),
            Some("main")
        );
        click(c, "a[href='/projects/default/configs/new']").await;
        // More than one workflow type is built in: the person chooses one first.
        wait_for_text(c, "h1", "New config", 30).await;
        click(c, "a[href='?workflow_type=sftp-to-storage']").await;
        wait_for_text(c, "h1", "New sftp-to-storage config", 30).await;
        assert_eq!(unlabelled_controls(c).await, Vec::<String>::new());
        // Defaults from the schema fill the form; descriptions are the help text.
        let port = c.find(Locator::Css("#f-config-port")).await.expect("port");
        assert_eq!(
            port.prop("value").await.expect("value").as_deref(),
            Some("22")
        );
        assert!(text_of(c, "#f-config-root-help")
            .await
            .contains("Absolute directory"));
        screenshot(c, "03-config-new").await;

        fill(c, "#f-workflow_name", "nightly ingest").await;
        fill(c, "#f-config-host", "127.0.0.1").await;
        fill(c, "#f-config-port", &sftp_port).await;
        fill(c, "#f-config-username", &sshd.user).await;
        fill(
            c,
            "#f-config-host_key_fingerprint",
            &sshd.host_key_fingerprint,
        )
        .await;
        fill(c, "#f-config-file_regex", r"\.fastq\.gz$").await;
        fill(c, "#f-config-storage_url", &storage_url).await;
        fill(c, "#f-config-root", "incoming").await;
        fill(c, "#f-config-bucket", "raw-data").await;
        click(c, "form.config button[type=submit]").await;

        // The schema's error is shown at the field it names, and in the summary.
        let error = wait_for_text(c, "#f-config-root-error", "does not match", 30).await;
        assert!(error.contains("^/"), "{error}");
        let invalid = c
            .find(Locator::Css("#f-config-root"))
            .await
            .expect("root")
            .attr("aria-invalid")
            .await
            .expect("attr");
        assert_eq!(invalid.as_deref(), Some("true"));
        assert!(text_of(c, "#error-summary").await.contains("Root path"));
        // What was typed is kept.
        let bucket = c
            .find(Locator::Css("#f-config-bucket"))
            .await
            .expect("bucket");
        assert_eq!(
            bucket.prop("value").await.expect("v").as_deref(),
            Some("raw-data")
        );
        screenshot(c, "04-config-field-error").await;

        fill(c, "#f-config-root", &sftp_root).await;
        fill(c, "#f-secrets-password", &sshd.password).await;
        click(c, "form.config button[type=submit]").await;
        wait_for_text(c, ".notice", "Config created", 30).await;
        let page = c.source().await.expect("source");
        assert!(!page.contains(&sshd.password), "a secret reached the page");
        assert!(text_of(c, "td[data-secret=password]").await.contains("set"));
        assert!(text_of(c, "td[data-secret=storage_secret_key]")
            .await
            .contains("not set"));
        let config_url = c.current_url().await.expect("url").path().to_owned();
        screenshot(c, "05-config").await;

        // Set the other secret from the config page; still only "set" is shown.
        fill(c, "#f-secrets-storage_secret_key", "s3cr3t-key-value").await;
        click(c, "form.secrets button[type=submit]").await;
        wait_for_text(c, ".notice", "Secrets updated", 30).await;
        assert!(text_of(c, "td[data-secret=storage_secret_key]")
            .await
            .contains("set"));
        assert!(!c
            .source()
            .await
            .expect("source")
            .contains("s3cr3t-key-value"));

        // A change of settings makes version 2, shown against version 1 side by side.
        click(c, &format!("a[href='{config_url}/edit']")).await;
        wait_for_text(c, "h1", "Edit nightly ingest", 30).await;
        fill(c, "#f-config-bucket", "raw-data-v2").await;
        fill(c, "#f-comment", "move to the v2 bucket").await;
        screenshot(c, "05a-config-edit").await;
        click(c, "form.config button[type=submit]").await;
        wait_for_text(c, ".notice", "Saved", 30).await;
        assert!(text_of(c, "dl.summary").await.contains('2'));
        click(c, &format!("a[href='{config_url}/versions']")).await;
        wait_for_text(c, "table.diff caption", "v1 and v2", 30).await;
        assert!(text_of(c, "table.diff td.del")
            .await
            .contains("\"raw-data\""));
        assert!(text_of(c, "table.diff td.ins")
            .await
            .contains("\"raw-data-v2\""));
        assert!(text_of(c, "table.diff thead")
            .await
            .contains("move to the v2 bucket"));
        screenshot(c, "06-history-diff").await;

        // Runtime: an hourly interval lists the next run times.
        c.goto(&format!("{base}{config_url}/runtime"))
            .await
            .expect("runtime");
        click(c, "#schedule-interval").await;
        fill(c, "#f-run_interval_s", "3600").await;
        click(c, "form.runtime button[type=submit]").await;
        wait_for_text(c, ".notice", "Runtime settings saved", 30).await;
        let next = c
            .find_all(Locator::Css("ol.next-runs li"))
            .await
            .expect("next runs");
        assert_eq!(next.len(), 5);
        screenshot(c, "07-runtime").await;

        // Launch on the local engine; the run page follows it (refreshing itself, no reload
        // here) until it has Succeeded, and the file is in the storage directory.
        click(c, "form[action$='/launch'] button").await;
        wait_for_text(c, "h1", "Run ", 30).await;
        let deadline = Instant::now() + Duration::from_secs(120);
        let phase = loop {
            let phase = text_of(c, "#run-phase").await;
            if ["Succeeded", "Failed", "Error"]
                .iter()
                .any(|p| phase.contains(p))
            {
                break phase;
            }
            assert!(Instant::now() < deadline, "the run did not end: {phase}");
            tokio::time::sleep(Duration::from_millis(500)).await;
        };
        let steps = text_of(c, "table.nodes").await;
        assert!(
            phase.contains("Succeeded"),
            "{phase}: {steps}\n{}",
            text_of(c, "main").await
        );
        for step in ["discover", "copy", "notify"] {
            assert!(steps.contains(step), "{step} missing: {steps}");
        }
        wait_for_text(c, "#output", "sftp_discover", 30).await;
        assert!(
            text_of(c, "main").await.contains("sample-1.fastq.gz"),
            "the state names the file"
        );
        let run_page = text_of(c, "main").await;
        screenshot(c, "08-run").await;
        let copied = storage
            .path()
            .join("raw-data-v2/run-0412/sample-1.fastq.gz");
        assert_eq!(
            std::fs::read(&copied).unwrap_or_else(|e| panic!(
                "{e}: {copied:?}; the storage holds {:?}; the run page: {run_page}",
                files_under(storage.path())
            )),
            b"@r1\nACGT\n+\nIIII\n"
        );
        assert!(!storage
            .path()
            .join("raw-data-v2/run-0412/SampleSheet.csv")
            .exists());
        screenshot(c, "08-run").await;

        c.goto(&format!("{base}{config_url}/runs"))
            .await
            .expect("runs");
        wait_for_text(c, "table.runs", "v2", 30).await;
        screenshot(c, "09-runs").await;

        // The config page sums it up: its schedule and its recent runs.
        c.goto(&format!("{base}{config_url}"))
            .await
            .expect("config");
        wait_for_text(c, "table.runs", "Succeeded", 30).await;
        assert!(text_of(c, "main").await.contains("every 3600 s"));
        screenshot(c, "05b-config-after-run").await;

        c.goto(&format!("{base}/projects/default"))
            .await
            .expect("dashboard");
        let row = wait_for_text(c, "table.status tbody tr", "nightly ingest", 30).await;
        assert!(row.contains("sftp-to-storage"), "{row}");
        screenshot(c, "10-dashboard").await;

        c.goto(&format!("{base}/projects/default/events"))
            .await
            .expect("events");
        let events = wait_for_text(c, "table.events", "config.created", 30).await;
        for action in [
            "secrets.updated",
            "config.updated",
            "runtime.updated",
            "run.launched",
        ] {
            assert!(events.contains(action), "{action} missing: {events}");
        }
        assert!(!events.contains(&sshd.password));
        screenshot(c, "11-events").await;

        // A phone's width: nothing sticks out sideways except inside scrolling tables.
        c.set_window_size(390, 844).await.expect("resize");
        c.goto(&format!("{base}/projects/default"))
            .await
            .expect("dashboard");
        let fits = c
            .execute(
                "return document.documentElement.scrollWidth <= window.innerWidth;",
                vec![],
            )
            .await
            .expect("js");
        assert_eq!(fits, json!(true), "the dashboard is wider than a phone");
        screenshot(c, "12-dashboard-phone").await;

        browser.client.clone().close().await.expect("close");
    });
}

#[test]
fn a_viewer_finds_no_edit_controls_and_a_forged_post_is_refused() {
    if browser_unavailable().is_some() {
        return;
    }
    let server = Server::start();
    let config_id = create_config(&server, "nightly");
    let database = format!(
        "sqlite://{}",
        server
            .data_dir
            .parent()
            .expect("dir")
            .join("p.db")
            .display()
    );
    let viewer = server
        .cli(&[
            "--database-url",
            &database,
            "token",
            "create",
            "--name",
            "vera",
            "--project",
            "default",
            "--role",
            "viewer",
        ])
        .success()
        .stdout
        .trim()
        .to_owned();
    block_on(async {
        let browser = start_browser().await;
        let c = &browser.client;
        let base = server.url.as_str();
        sign_in(c, base, &viewer).await;
        let config_url = format!("{base}/projects/default/configs/{config_id}");
        c.goto(&config_url).await.expect("config");
        wait_for_text(c, "h1", "nightly", 30).await;
        // Sign-out is the only form a viewer is offered; no Edit, Launch or New config.
        let forms: Vec<String> = serde_json::from_value(
            c.execute(
                "return Array.from(document.forms).filter(f => f.method === 'post').map(f => f.getAttribute('action'));",
                vec![],
            )
            .await
            .expect("js"),
        )
        .expect("actions");
        assert_eq!(forms, vec!["/signout".to_owned()]);
        assert!(c.find(Locator::Css("a[href$='/edit']")).await.is_err());
        for path in ["/runtime", "/versions", ""] {
            c.goto(&format!("{config_url}{path}")).await.expect("page");
            let posts = c
                .find_all(Locator::Css("main form[method=post]"))
                .await
                .expect("forms");
            assert!(posts.is_empty(), "a viewer is offered a form on {path:?}");
        }
        screenshot(c, "13-viewer-config").await;
        c.goto(&format!("{base}/projects/default"))
            .await
            .expect("dashboard");
        assert!(c
            .find(Locator::Css("a[href$='/configs/new']"))
            .await
            .is_err());
        screenshot(c, "14-viewer-dashboard").await;

        // A POST forged from the viewer's own page, with a valid CSRF token: the server refuses.
        let statuses: Value = c
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 const csrf = document.querySelector('input[name=_csrf]').value;
                 const post = (path, fields) => fetch(path, {method: 'POST', body: new URLSearchParams(fields), redirect: 'manual'}).then(r => r.status);
                 Promise.all([
                   post(arguments[0], {_csrf: csrf, '/workflow_name': 'hijacked'}),
                   post(arguments[0] + '/launch', {_csrf: csrf}),
                   post(arguments[0] + '/secrets', {_csrf: csrf, '/secrets/password': 'x'}),
                   post(arguments[0], {'/workflow_name': 'hijacked'}),
                 ]).then(done);",
                vec![json!(format!("/projects/default/configs/{config_id}"))],
            )
            .await
            .expect("js");
        assert_eq!(statuses, json!([403, 403, 403, 403]));
        c.goto(&config_url).await.expect("config");
        assert!(text_of(c, "h1").await.contains("nightly"));
        browser.client.clone().close().await.expect("close");
    });
}
