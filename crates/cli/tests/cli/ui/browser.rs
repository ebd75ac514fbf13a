//! A headless Chromium driven over WebDriver: chromedriver on a free port, one session with a
//! fresh profile, and the few steps the tests take (type, click, wait for text, screenshot).

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

/// chromedriver on a free port and one browser session; both end on drop.
pub struct Browser {
    pub client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// `None` (with the reason printed) when there is no browser here, except in CI where that
/// is a failure.
pub fn browser_unavailable() -> Option<String> {
    let missing: Vec<&str> = [CHROMEDRIVER, CHROMIUM]
        .into_iter()
        .filter(|path| !std::path::Path::new(path).exists())
        .collect();
    if missing.is_empty() {
        return None;
    }
    let why = format!(
        "{} missing (apt-get install chromium chromium-driver)",
        missing.join(" and ")
    );
    assert!(
        !polyphemus_testkit::required_in_ci(),
        "the browser tests must run in CI: {why}"
    );
    eprintln!("skipping the browser test: {why}");
    Some(why)
}

pub async fn start_browser() -> Browser {
    let port = polyphemus_testkit::free_port();
    let driver = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let profile = tempfile::tempdir().expect("profile dir");
    let args = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1280,900",
    ]
    .iter()
    .map(|a| a.to_string())
    .chain([format!("--user-data-dir={}", profile.path().display())])
    .collect::<Vec<_>>();
    let mut capabilities = serde_json::Map::new();
    capabilities.insert("browserName".into(), json!("chrome"));
    capabilities.insert(
        "goog:chromeOptions".into(),
        json!({"binary": CHROMIUM, "args": args}),
    );
    let url = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    let client = loop {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        match ClientBuilder::new(connector)
            .capabilities(capabilities.clone())
            .connect(&url)
            .await
        {
            Ok(client) => break client,
            Err(error) if Instant::now() < deadline => {
                let _ = error;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(error) => panic!("no WebDriver session from chromedriver: {error}"),
        }
    };
    Browser {
        client,
        driver,
        _profile: profile,
    }
}

/// `target/ui-screenshots` of this workspace (or of CARGO_TARGET_DIR).
fn screenshot_dir() -> PathBuf {
    let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let target = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => workspace.join(dir),
        None => workspace.join("target"),
    };
    let dir = target.join("ui-screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    dir
}

/// A screenshot of the whole page: the window grows to the page's height for the moment.
pub async fn screenshot(client: &Client, name: &str) {
    let (width, height) = client.get_window_size().await.expect("window size");
    let page_height = client
        .execute("return document.documentElement.scrollHeight;", vec![])
        .await
        .ok()
        .and_then(|h| h.as_u64())
        .unwrap_or(height);
    let chrome = height.saturating_sub(
        client
            .execute("return window.innerHeight;", vec![])
            .await
            .ok()
            .and_then(|h| h.as_u64())
            .unwrap_or(height),
    );
    let tall = (page_height + chrome).clamp(height, 4000);
    let resize = |h: u64| client.set_window_size(width as u32, h as u32);
    resize(tall).await.expect("resize");
    let png = client.screenshot().await.expect("screenshot");
    resize(height).await.expect("resize back");
    std::fs::write(screenshot_dir().join(format!("{name}.png")), png).expect("write screenshot");
}

/// The element's text. A live page replaces its parts as it refreshes, so an element found
/// may be gone before its text is read: it is then looked up again.
pub async fn text_of(client: &Client, css: &str) -> String {
    let mut attempts = 0;
    loop {
        let url = client.current_url().await.map(|u| u.to_string());
        let element = client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css} on {url:?}: {e}"));
        match element.text().await {
            Ok(text) => return text,
            Err(error) if attempts < 10 => {
                attempts += 1;
                eprintln!("reading {css} again: {error}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(error) => panic!("text of {css} on {url:?}: {error}"),
        }
    }
}

/// Waits (up to `seconds`) until the element's text contains `needle`; returns the text.
pub async fn wait_for_text(client: &Client, css: &str, needle: &str, seconds: u64) -> String {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    loop {
        if let Ok(element) = client.find(Locator::Css(css)).await {
            if let Ok(text) = element.text().await {
                if text.contains(needle) {
                    return text;
                }
                assert!(
                    Instant::now() < deadline,
                    "{css} never showed {needle:?}; last: {text:?}"
                );
            }
        }
        if Instant::now() >= deadline {
            let url = client.current_url().await.map(|u| u.to_string());
            let page = client.source().await.unwrap_or_default();
            panic!("{css} with {needle:?} never appeared on {url:?}: {page}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

pub async fn fill(client: &Client, css: &str, text: &str) {
    let field = client.find(Locator::Css(css)).await.expect(css);
    field.clear().await.expect("clear");
    field.send_keys(text).await.expect("type");
}

pub async fn click(client: &Client, css: &str) {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css}: {e}"))
        .click()
        .await
        .expect("click");
}

/// Signs in by typing the token and pressing Enter, as a keyboard user would.
pub async fn sign_in(client: &Client, base: &str, token: &str) {
    client.goto(&format!("{base}/")).await.expect("open");
    wait_for_text(client, "h1", "Sign in", 30).await;
    let field = client
        .find(Locator::Css("#token"))
        .await
        .expect("token field");
    field.send_keys(token).await.expect("type token");
    field.send_keys("\u{E007}").await.expect("Enter");
    wait_for_text(client, "h1", "Projects", 30).await;
}

/// Every visible form control has a label (for=id, wrapping, or aria-label).
pub async fn unlabelled_controls(client: &Client) -> Vec<String> {
    let found = client
        .execute(
            "return Array.from(document.querySelectorAll('input,select,textarea'))
               .filter(e => e.type !== 'hidden')
               .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))
               .map(e => e.name || e.id);",
            vec![],
        )
        .await
        .expect("script");
    serde_json::from_value(found).expect("names")
}

pub fn files_under(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files_under(&path));
        } else {
            found.push(path);
        }
    }
    found
}
