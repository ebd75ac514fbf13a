//! A workflow package brought without a rebuild gets its form from its own manifest: fields
//! from its config schema, secrets with their descriptions (multiline ones as text areas). A
//! reload whose schema refuses a stored config says so on the config page and keeps it from
//! being launched.

use super::*;

const MANIFEST: &str = "name: echo-greeting
description: Prints a greeting.
workflow: workflow.yaml
config_schema:
  type: object
  additionalProperties: false
  required: [greeting]
  properties:
    greeting: {type: string, title: Greeting, description: What to say, minLength: 1}
secrets:
  - name: signing_key
    description: PEM key the greeting is signed with
    multiline: true
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
      container: {image: busybox, command: [sh, -c, 'echo hi']}
";

async fn app_with_package() -> (App, tempfile::TempDir) {
    let packages = tempfile::tempdir().expect("temp dir");
    let dir = packages.path().join("echo-greeting");
    std::fs::create_dir_all(&dir).expect("package dir");
    std::fs::write(dir.join("manifest.yaml"), MANIFEST).expect("manifest");
    std::fs::write(dir.join("workflow.yaml"), WORKFLOW).expect("workflow");
    (app_with_packages(packages.path()).await, packages)
}

#[tokio::test]
async fn a_package_config_is_created_through_its_own_form() {
    let (app, _packages) = app_with_package().await;
    let editor = app.token(Role::Editor).await;
    let (status, page) = app
        .get(
            "/projects/labors/configs/new?workflow_type=echo-greeting",
            &editor,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    for expected in [
        "name=\"/config/greeting\"",
        "What to say",
        "PEM key the greeting is signed with",
        "<textarea class=\"secret\" id=\"f-secrets-signing_key\"",
    ] {
        assert!(page.contains(expected), "{expected:?} missing: {page}");
    }
    let csrf = app.csrf(&editor);
    let form = |greeting: &'static str| {
        vec![
            ("_csrf", csrf.clone()),
            ("workflow_type", "echo-greeting".to_owned()),
            ("/workflow_name", "greeter".to_owned()),
            ("/config/greeting", greeting.to_owned()),
            (
                "/secrets/signing_key",
                "-----BEGIN KEY-----\nabc\n-----END KEY-----".to_owned(),
            ),
        ]
    };
    let refused = form("");
    let refused: Vec<(&str, &str)> = refused.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, page) = app.post(CREATE, &editor, &refused).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.contains("f-config-greeting"),
        "the error is at the field: {page}"
    );
    assert!(
        !page.contains("-----BEGIN KEY-----"),
        "secrets are not sent back"
    );
    assert_eq!(config_count(&app, &editor).await, 0, "nothing stored");

    let accepted = form("hi");
    let accepted: Vec<(&str, &str)> = accepted.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, _) = app.post(CREATE, &editor, &accepted).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let stored = app
        .store
        .latest_config(&"labors".parse().expect("project"), 1.into())
        .await
        .expect("stored");
    assert_eq!(stored.workflow_type, "echo-greeting");
    assert_eq!(stored.config, json!({"greeting": "hi"}));
    assert!(stored
        .sealed_secrets
        .contains_key(&"signing_key".parse().expect("name")));
}

#[tokio::test]
async fn a_config_its_reloaded_package_refuses_is_flagged_and_not_launched() {
    let (app, packages) = app_with_package().await;
    let editor = app.token(Role::Editor).await;
    let csrf = app.csrf(&editor);
    let fields = [
        ("_csrf", csrf.as_str()),
        ("workflow_type", "echo-greeting"),
        ("/workflow_name", "greeter"),
        ("/config/greeting", "hi"),
    ];
    let (status, _) = app.post(CREATE, &editor, &fields).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, page) = app.get("/projects/labors/configs/1", &editor).await;
    assert!(
        !page.contains("package-changed"),
        "nothing to flag yet: {page}"
    );

    let stricter = MANIFEST
        .replace("required: [greeting]", "required: [greeting, audience]")
        .replace(
            "    greeting:",
            "    audience: {type: string}\n    greeting:",
        )
        .replace("{greeting: hello}", "{greeting: hello, audience: all}");
    let manifest = packages.path().join("echo-greeting/manifest.yaml");
    std::fs::write(manifest, stricter).expect("manifest");
    app.services
        .reload_workflows(&polyphemus_core::Principal::system())
        .await
        .expect("reloaded");

    let (_, page) = app.get("/projects/labors/configs/1", &editor).await;
    for expected in [
        "This config no longer matches its workflow package",
        "/config",
        "audience",
        "disabled aria-describedby=\"package-changed\"",
    ] {
        assert!(page.contains(expected), "{expected:?} missing: {page}");
    }
    let launch = [("_csrf", csrf.as_str())];
    let (status, page) = app
        .post("/projects/labors/configs/1/launch", &editor, &launch)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    assert!(
        page.contains("audience"),
        "the refusal names the field: {page}"
    );
}
