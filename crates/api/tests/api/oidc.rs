//! Scripts with the organisation's tokens: JWT access tokens from a real OpenID provider
//! (npm `oidc-provider`) are accepted with roles from the mapping file; tokens from another
//! issuer, for another audience, expired, unsigned or HS256-signed are refused.

use crate::both_stores_with;
use crate::harness::{valid_config, Setup, TestApp};
use polyphemus_core::auth::oidc::{OidcSettings, RoleMapping};
use polyphemus_testkit::OidcProvider;
use reqwest::StatusCode;
use serde_json::{json, Value};

both_stores_with!(
    set_up;
    an_editor_group_member_edits_and_events_name_the_person,
    a_viewer_reads_but_cannot_edit,
    a_person_of_another_group_sees_no_project,
    tokens_from_another_issuer_or_audience_are_refused,
    expired_unsigned_and_hs256_tokens_are_refused,
);

both_stores_with!(
    set_up_unreachable;
    an_unreachable_provider_answers_503,
);

/// A provider on a port nobody listens on.
fn set_up_unreachable() -> Setup {
    let port = polyphemus_testkit::free_port();
    let mut settings = settings(provider());
    settings.issuer = format!("http://127.0.0.1:{port}");
    Setup {
        oidc: Some(settings),
        ..Setup::default()
    }
}

async fn an_unreachable_provider_answers_503(app: TestApp) {
    let alice = provider().access_token("alice", API).await;
    let (status, body) = app.get("/projects/labors/configs", &alice).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(!body.to_string().contains(&alice), "{body}");
    // The server's own tokens do not depend on the provider.
    let (status, body) = app.get("/projects/labors/configs", &app.admin).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

const MAPPING: &str = r#"
rules:
  - claim: groups
    contains: labors-editors
    grant: { labors: editor }
  - claim: groups
    contains: labors-viewers
    grant: { labors: viewer }
  - claim: groups
    contains: platform-admins
    grant: { "*": admin }
"#;

const API: &str = "urn:polyphemus:api";

fn settings(provider: &OidcProvider) -> OidcSettings {
    OidcSettings {
        issuer: provider.issuer.clone(),
        client_id: "polyphemus-ui".into(),
        audience: "polyphemus".into(),
        roles: RoleMapping::parse(MAPPING).expect("mapping"),
    }
}

fn provider() -> &'static OidcProvider {
    if let Some(why) = OidcProvider::unavailable() {
        assert!(!polyphemus_testkit::required_in_ci(), "{why}");
        eprintln!("skipping: {why}");
    }
    OidcProvider::shared()
}

fn set_up() -> Setup {
    Setup {
        oidc: Some(settings(provider())),
        ..Setup::default()
    }
}

fn new_config() -> Value {
    json!({
        "workflow_type": "sftp-to-storage",
        "workflow_name": "nightly ingest",
        "config": valid_config("sftp.example.org"),
        "secrets": {},
    })
}

async fn an_editor_group_member_edits_and_events_name_the_person(app: TestApp) {
    let alice = provider().access_token("alice", API).await;
    let (status, body) = app
        .post("/projects/labors/configs", &alice, new_config())
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, events) = app.get("/projects/labors/events", &alice).await;
    assert_eq!(status, StatusCode::OK, "{events}");
    let actors: Vec<&str> = events["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|event| event["actor"].as_str())
        .collect();
    assert!(
        actors.contains(&"alice@labors.example (alice-script)"),
        "{actors:?}"
    );
}

async fn a_viewer_reads_but_cannot_edit(app: TestApp) {
    app.create_config("labors", json!({})).await;
    let vera = provider().access_token("vera", API).await;
    let (status, body) = app.get("/projects/labors/configs", &vera).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = app
        .post("/projects/labors/configs", &vera, new_config())
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
}

async fn a_person_of_another_group_sees_no_project(app: TestApp) {
    app.create_config("labors", json!({})).await;
    let olaf = provider().access_token("olaf", API).await;
    let (status, body) = app.get("/projects/labors/configs", &olaf).await;
    assert!(
        matches!(status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND),
        "{status} {body}"
    );
    let paula = provider().access_token("paula", API).await;
    let (status, body) = app.get("/projects/labors/configs", &paula).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a platform admin sees every project: {body}"
    );
}

async fn assert_refused(app: &TestApp, token: &str, reason: &str) {
    let (status, body) = app.get("/projects/labors/configs", token).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let text = body.to_string();
    assert!(text.contains(reason), "{reason} not in {text}");
}

async fn tokens_from_another_issuer_or_audience_are_refused(app: TestApp) {
    let elsewhere = OidcProvider::other().access_token("alice", API).await;
    // Its keys are not the ones this issuer publishes.
    assert_refused(&app, &elsewhere, "does not publish").await;
    let other_api = provider().access_token("alice", "urn:other:api").await;
    assert_refused(&app, &other_api, "not meant for this server").await;
}

async fn expired_unsigned_and_hs256_tokens_are_refused(app: TestApp) {
    let short = provider()
        .access_token("alice", "urn:polyphemus:short")
        .await;
    let (status, body) = app.get("/projects/labors/configs", &short).await;
    assert_eq!(status, StatusCode::OK, "valid while it lives: {body}");
    // 1 s lifetime plus the 2 s leeway allowed for clock skew.
    tokio::time::sleep(std::time::Duration::from_secs(4)).await;
    assert_refused(&app, &short, "expired").await;

    let real = provider().access_token("paula", API).await;
    let payload = real.split('.').nth(1).expect("payload");
    let unsigned = format!("{}.{payload}.", b64(r#"{"alg":"none","typ":"JWT"}"#));
    assert_refused(&app, &unsigned, "malformed").await;
    let hs256 = format!(
        "{}.{payload}.c2lnbmF0dXJl",
        b64(r#"{"alg":"HS256","typ":"JWT"}"#)
    );
    assert_refused(&app, &hs256, "signature").await;
}

fn b64(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

/// The provider swaps its signing key: new tokens are accepted (the key set is fetched
/// again), tokens signed with the withdrawn key no longer are.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn key_rotation_is_followed() {
    if OidcProvider::unavailable().is_some() && !polyphemus_testkit::required_in_ci() {
        return;
    }
    let own = OidcProvider::start();
    let app = TestApp::sqlite_set_up(Setup {
        oidc: Some(settings(&own)),
        ..Setup::default()
    })
    .await;
    let before = own.access_token("paula", API).await;
    let (status, body) = app.get("/projects/labors/configs", &before).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    own.rotate_keys().await;
    // The key set is fetched again at most once a second.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let after = own.access_token("paula", API).await;
    let (status, body) = app.get("/projects/labors/configs", &after).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_refused(&app, &before, "does not publish").await;
}
