//! Signing in to the UI with the organisation's identity provider: the real npm
//! `oidc-provider` (testkit) and a real Chromium. Roles come from the mapping file; sign-out
//! ends both sessions; a key rotation at the provider does not break the next sign-in.

use super::browser::{browser_unavailable, click, fill, screenshot, start_browser, wait_for_text};
use crate::harness::{config_values, Server};
use fantoccini::{Client, Locator};
use polyphemus_testkit::OidcProvider;

const MAPPING: &str = "rules:
  - claim: groups
    contains: labors-editors
    grant: { labors: editor }
  - claim: groups
    contains: labors-viewers
    grant: { labors: viewer }
  - claim: groups
    contains: platform-admins
    grant: { \"*\": admin }
";

/// A provider of its own (the test rotates its keys) and a server signing in with it.
pub struct Setup {
    pub provider: OidcProvider,
    pub server: Server,
    _dir: tempfile::TempDir,
}

/// `None` when node, the package or the browser are missing here (a failure in CI).
pub fn set_up(extra_env: &[(&str, &str)]) -> Option<Setup> {
    if let Some(why) = OidcProvider::unavailable() {
        assert!(!polyphemus_testkit::required_in_ci(), "{why}");
        eprintln!("skipping: {why}");
        return None;
    }
    let provider = OidcProvider::start();
    let dir = tempfile::tempdir().expect("dir");
    let roles = dir.path().join("roles.yaml");
    std::fs::write(&roles, MAPPING).expect("roles");
    let secret = dir.path().join("client.secret");
    std::fs::write(&secret, "polyphemus-ui-secret\n").expect("secret");
    let (roles, secret) = (roles.display().to_string(), secret.display().to_string());
    let mut env = vec![
        ("POLYPHEMUS_OIDC_ISSUER", provider.issuer.as_str()),
        ("POLYPHEMUS_OIDC_CLIENT_ID", "polyphemus-ui"),
        ("POLYPHEMUS_OIDC_AUDIENCE", "polyphemus"),
        ("POLYPHEMUS_OIDC_ROLES", roles.as_str()),
        ("POLYPHEMUS_OIDC_CLIENT_SECRET_FILE", secret.as_str()),
    ];
    env.extend_from_slice(extra_env);
    let server = Server::start_with_env(&env);
    Some(Setup {
        provider,
        server,
        _dir: dir,
    })
}

/// From the sign-in page through the provider's login form back to the project list.
pub async fn sign_in_as(c: &Client, base: &str, person: &str) {
    c.goto(&format!("{base}/signin")).await.expect("open");
    click(c, "#oidc-signin").await;
    wait_for_text(c, "button.login-submit", "Sign-in", 30).await;
    fill(c, "input[name=login]", person).await;
    fill(c, "input[name=password]", "any").await;
    click(c, "button.login-submit").await;
    wait_for_text(c, "h1", "Projects", 30).await;
}

async fn session_cookie(c: &Client) -> String {
    c.get_named_cookie(polyphemus_ui::SESSION_COOKIE)
        .await
        .expect("session cookie")
        .value()
        .to_owned()
}

#[test]
fn people_sign_in_with_the_provider_and_see_what_their_groups_allow() {
    if browser_unavailable().is_some() {
        return;
    }
    let Some(setup) = set_up(&[]) else { return };
    let server = &setup.server;
    let admin = std::fs::read_to_string(server.data_dir.join("admin.token")).expect("token");
    server
        .cli_with_stdin(
            &[
                "--token",
                admin.trim(),
                "--project",
                "labors",
                "configs",
                "create",
                "--workflow-type",
                "sftp-to-storage",
                "--name",
                "nightly",
                "--config",
                "-",
            ],
            Some(&config_values("raw-data")),
        )
        .success();
    crate::harness::block_on(async {
        let browser = start_browser().await;
        let c = &browser.client;
        let base = server.url.as_str();
        let new_config = "a[href='/projects/labors/configs/new']";

        c.goto(&format!("{base}/signin")).await.expect("open");
        let button = wait_for_text(c, "#oidc-signin", "Sign in with", 30).await;
        assert!(button.contains("127.0.0.1"), "{button}");
        // Token paste stays on by default.
        c.find(Locator::Css("#token")).await.expect("token field");
        screenshot(c, "oidc-01-sign-in").await;

        // alice is in labors-editors: she sees the project and its edit controls.
        sign_in_as(c, base, "alice").await;
        let who = wait_for_text(c, "div.who", "alice", 30).await;
        assert!(who.contains("alice@labors.example (alice)"), "{who}");
        click(c, "a[href='/projects/labors']").await;
        wait_for_text(c, "h1", "Project labors", 30).await;
        c.find(Locator::Css(new_config))
            .await
            .expect("alice may edit");
        screenshot(c, "oidc-02-alice").await;
        let alices_cookie = session_cookie(c).await;
        personal_token_works_on_the_api_until_revoked(c, base).await;

        // Sign-out: back at the provider, which asks to end its session too.
        sign_out(c).await;
        // The old cookie no longer works, even if someone kept a copy.
        let status = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client")
            .get(format!("{base}/projects/labors"))
            .header(
                "cookie",
                format!("{}={alices_cookie}", polyphemus_ui::SESSION_COOKIE),
            )
            .send()
            .await
            .expect("get")
            .status();
        assert_eq!(
            status.as_u16(),
            303,
            "a signed-out session must not open pages"
        );

        // The provider's session ended as well: signing in asks for the login again, and
        // vera (labors-viewers) sees the project without edit controls.
        sign_in_as(c, base, "vera").await;
        click(c, "a[href='/projects/labors']").await;
        wait_for_text(c, "h1", "Project labors", 30).await;
        assert!(
            c.find(Locator::Css(new_config)).await.is_err(),
            "vera may not edit"
        );
        screenshot(c, "oidc-03-vera").await;
        sign_out(c).await;

        // olaf has no mapped role: he is told who he is and that he has no project.
        sign_in_as(c, base, "olaf").await;
        let page = wait_for_text(c, "#no-project", "no role", 30).await;
        assert!(page.contains("olaf@elsewhere.example"), "{page}");
        screenshot(c, "oidc-04-olaf").await;
        sign_out(c).await;

        // The provider rotates its signing key; the next sign-in still works.
        setup.provider.rotate_keys().await;
        sign_in_as(c, base, "alice").await;
        click(c, "a[href='/projects/labors']").await;
        c.find(Locator::Css(new_config))
            .await
            .expect("alice may edit");
    });
}

async fn sign_out(c: &Client) {
    click(c, "div.who button[type=submit]").await;
    wait_for_text(c, "button[name=logout]", "sign me out", 30).await;
    click(c, "button[name=logout]").await;
    wait_for_text(c, "h1", "Sign in", 30).await;
}

/// alice (editor on labors, not admin) makes a token on "Your API tokens", uses it on the API
/// with exactly her roles, and revokes it.
async fn personal_token_works_on_the_api_until_revoked(c: &Client, base: &str) {
    click(c, "#your-tokens").await;
    wait_for_text(c, "h1", "Your API tokens", 30).await;
    fill(c, "#token-name", "nightly script").await;
    let role = c.find(Locator::Css("#role-labors")).await.expect("role");
    assert!(
        c.find(Locator::Css("#role-labors option[value=admin]"))
            .await
            .is_err(),
        "alice is offered no role above her own"
    );
    role.select_by_value("editor").await.expect("editor");
    click(c, "#create-token button[type=submit]").await;
    wait_for_text(c, "#new-token", "shown only this once", 30).await;
    let token = c
        .find(Locator::Css("#new-token-value"))
        .await
        .expect("token field")
        .attr("value")
        .await
        .expect("value")
        .expect("the token");
    screenshot(c, "oidc-02b-personal-token").await;
    let api = |path: &str| {
        let url = format!("{base}/api/v1{path}");
        let token = token.clone();
        async move {
            reqwest::Client::new()
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .expect("get")
                .status()
                .as_u16()
        }
    };
    assert_eq!(api("/projects/labors/configs").await, 200);
    assert_eq!(
        api("/projects/other/configs").await,
        404,
        "only her projects"
    );
    c.goto(&format!("{base}/tokens")).await.expect("open");
    let listed = wait_for_text(c, "#tokens", "nightly script", 30).await;
    assert!(
        listed.contains("labors: editor") && !listed.contains(&token),
        "{listed}"
    );
    click(c, "#tokens button[type=submit]").await;
    wait_for_text(c, "#no-tokens", "no personal tokens", 30).await;
    assert_eq!(api("/projects/labors/configs").await, 401, "revoked");
}
