//! Argo Server's WorkflowTemplateService on the local engine (`/argo/api/v1/workflow-templates`):
//! a project's templates created, read, listed, updated and deleted, every answer checked
//! against Argo's swagger.json. The workflows that use them: `argo_template_runs`.
//!
//! - a_template_round_trips_through_create_get_list_update_and_delete
//! - a_second_template_of_a_name_already_exists_and_a_dry_run_stores_nothing
//! - a_viewer_reads_and_lints_but_only_an_admin_writes
//! - an_invalid_template_is_refused_naming_the_field

use crate::argo_server_api::{argo, assert_conforms};
use crate::both_stores;
use crate::harness::TestApp;
use polyphemus_model::Role;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

both_stores!(
    a_template_round_trips_through_create_get_list_update_and_delete,
    a_second_template_of_a_name_already_exists_and_a_dry_run_stores_nothing,
    a_viewer_reads_and_lints_but_only_an_admin_writes,
    an_invalid_template_is_refused_naming_the_field,
);

const TEMPLATES: &str = "/api/v1/workflow-templates/{namespace}";
const TEMPLATE: &str = "/api/v1/workflow-templates/{namespace}/{name}";
const LINT: &str = "/api/v1/workflow-templates/{namespace}/lint";

/// A template whose `main` prints `<greeting> {{workflow.parameters.who}}` (its result) after
/// `sleep` seconds.
pub(crate) fn greeter(name: &str, greeting: &str, sleep: u32) -> Value {
    let source = format!("sleep {sleep}; printf '{greeting} %s' '{{{{workflow.parameters.who}}}}'");
    json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "WorkflowTemplate",
        "metadata": {"name": name, "labels": {"team": "data"}},
        "spec": {
            "entrypoint": "main",
            "arguments": {"parameters": [{"name": "who", "value": "world"}]},
            "templates": [{
                "name": "main",
                "script": {"image": "busybox", "command": ["sh"], "source": source},
            }],
        },
    })
}

pub(crate) async fn create_template(app: &TestApp, template: Value) -> Value {
    let (status, created) = argo(
        app,
        Method::POST,
        "/api/v1/workflow-templates/labors",
        Some(&app.admin),
        Some(json!({"template": template})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    assert_conforms(TEMPLATES, "post", &created);
    created
}

pub(crate) fn assert_refused(
    status: StatusCode,
    body: &Value,
    expected: (StatusCode, i64),
    mentions: &str,
) {
    assert_eq!(
        (status, body["code"].clone()),
        (expected.0, json!(expected.1)),
        "{body}"
    );
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains(mentions)),
        "{mentions:?} not in {body}"
    );
}

pub(crate) fn name_of(object: &Value) -> String {
    object["metadata"]["name"]
        .as_str()
        .expect("a name")
        .to_owned()
}

async fn a_template_round_trips_through_create_get_list_update_and_delete(app: TestApp) {
    let created = create_template(&app, greeter("greet", "hello", 0)).await;
    assert_eq!(created["metadata"]["namespace"], "labors");
    assert_eq!(created["metadata"]["resourceVersion"], "1");
    assert!(created["metadata"]["uid"].is_string(), "{created}");
    assert!(created["metadata"]["creationTimestamp"].is_string());
    assert_eq!(
        created["spec"]["arguments"]["parameters"][0]["value"],
        "world"
    );

    let path = "/api/v1/workflow-templates/labors/greet";
    let (status, got) = argo(&app, Method::GET, path, Some(&app.admin), None).await;
    assert_eq!(status, StatusCode::OK, "{got}");
    assert_conforms(TEMPLATE, "get", &got);
    assert_eq!(got, created);

    create_template(&app, greeter("other", "hi", 0)).await;
    for (query, expected) in [
        ("", json!(["greet", "other"])),
        (
            "?listOptions.labelSelector=team%3Ddata",
            json!(["greet", "other"]),
        ),
        ("?listOptions.labelSelector=team%3Dnone", json!([])),
        ("?namePattern=gre", json!(["greet"])),
    ] {
        let list = format!("/api/v1/workflow-templates/labors{query}");
        let (status, listed) = argo(&app, Method::GET, &list, Some(&app.admin), None).await;
        assert_eq!(status, StatusCode::OK, "{listed}");
        assert_conforms(TEMPLATES, "get", &listed);
        let names: Vec<&str> = listed["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter_map(|t| t["metadata"]["name"].as_str())
            .collect();
        assert_eq!(json!(names), expected, "{query}");
    }

    // An update names the version it read; one from a stale version is refused.
    let mut changed = got.clone();
    changed["spec"]["arguments"]["parameters"][0]["value"] = json!("everyone");
    let (status, updated) = argo(
        &app,
        Method::PUT,
        path,
        Some(&app.admin),
        Some(json!({"name": "greet", "template": changed})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_conforms(TEMPLATE, "put", &updated);
    assert_eq!(updated["metadata"]["resourceVersion"], "2");
    assert_eq!(updated["metadata"]["uid"], created["metadata"]["uid"]);
    assert_eq!(
        updated["spec"]["arguments"]["parameters"][0]["value"],
        "everyone"
    );
    let (status, stale) = argo(
        &app,
        Method::PUT,
        path,
        Some(&app.admin),
        Some(json!({"template": changed})),
    )
    .await;
    assert_refused(status, &stale, (StatusCode::CONFLICT, 10), "modified");

    let (status, deleted) = argo(&app, Method::DELETE, path, Some(&app.admin), None).await;
    assert_eq!(status, StatusCode::OK, "{deleted}");
    assert_conforms(TEMPLATE, "delete", &deleted);
    assert_eq!(deleted, json!({}));
    for method in [Method::GET, Method::DELETE] {
        let (status, gone) = argo(&app, method, path, Some(&app.admin), None).await;
        assert_refused(status, &gone, (StatusCode::NOT_FOUND, 5), "greet");
    }
    let (status, gone) = argo(
        &app,
        Method::PUT,
        path,
        Some(&app.admin),
        Some(json!({"template": greeter("greet", "hello", 0)})),
    )
    .await;
    assert_refused(status, &gone, (StatusCode::NOT_FOUND, 5), "greet");

    let (_, events) = app.get("/projects/labors/events", &app.admin).await;
    let actions: Vec<&str> = events["items"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .filter(|a| a.starts_with("workflow_template."))
        .collect();
    assert_eq!(
        actions,
        [
            "workflow_template.deleted",
            "workflow_template.updated",
            "workflow_template.created",
            "workflow_template.created",
        ],
        "{events}"
    );
}

async fn a_second_template_of_a_name_already_exists_and_a_dry_run_stores_nothing(app: TestApp) {
    let body =
        json!({"template": greeter("greet", "hello", 0), "createOptions": {"dryRun": ["All"]}});
    let (status, checked) = argo(
        &app,
        Method::POST,
        "/api/v1/workflow-templates/labors",
        Some(&app.admin),
        Some(body),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{checked}");
    assert_conforms(TEMPLATES, "post", &checked);
    let (_, listed) = argo(
        &app,
        Method::GET,
        "/api/v1/workflow-templates/labors",
        Some(&app.admin),
        None,
    )
    .await;
    assert_eq!(listed["items"], json!([]), "{listed}");

    create_template(&app, greeter("greet", "hello", 0)).await;
    let (status, refused) = argo(
        &app,
        Method::POST,
        "/api/v1/workflow-templates/labors",
        Some(&app.admin),
        Some(json!({"template": greeter("greet", "again", 0)})),
    )
    .await;
    assert_refused(
        status,
        &refused,
        (StatusCode::CONFLICT, 6),
        "already exists",
    );

    // The same name in another project is another template.
    let other = app.token("other", Role::Admin).await;
    let (status, created) = argo(
        &app,
        Method::POST,
        "/api/v1/workflow-templates/other",
        Some(&other),
        Some(json!({"template": greeter("greet", "hello", 0)})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    assert_eq!(created["metadata"]["namespace"], "other");

    // generateName makes a fresh name each time.
    let mut generated = greeter("x", "hello", 0);
    generated["metadata"] = json!({"generateName": "greet-"});
    let first = name_of(&create_template(&app, generated.clone()).await);
    let second = name_of(&create_template(&app, generated).await);
    assert!(
        first.starts_with("greet-") && first != second,
        "{first} {second}"
    );
}

async fn a_viewer_reads_and_lints_but_only_an_admin_writes(app: TestApp) {
    create_template(&app, greeter("greet", "hello", 0)).await;
    let viewer = app.token("labors", Role::Viewer).await;
    let editor = app.token("labors", Role::Editor).await;
    let path = "/api/v1/workflow-templates/labors/greet";
    let (status, got) = argo(&app, Method::GET, path, Some(&viewer), None).await;
    assert_eq!(status, StatusCode::OK, "{got}");
    let (status, linted) = argo(
        &app,
        Method::POST,
        "/api/v1/workflow-templates/labors/lint",
        Some(&viewer),
        Some(json!({"template": greeter("new", "hi", 0)})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{linted}");
    assert_conforms(LINT, "post", &linted);
    for token in [&viewer, &editor] {
        let (status, refused) = argo(
            &app,
            Method::POST,
            "/api/v1/workflow-templates/labors",
            Some(token),
            Some(json!({"template": greeter("new", "hi", 0)})),
        )
        .await;
        assert_refused(status, &refused, (StatusCode::FORBIDDEN, 7), "");
        let body = json!({"template": got.clone()});
        let (status, refused) = argo(&app, Method::PUT, path, Some(token), Some(body)).await;
        assert_refused(status, &refused, (StatusCode::FORBIDDEN, 7), "");
        let (status, refused) = argo(&app, Method::DELETE, path, Some(token), None).await;
        assert_refused(status, &refused, (StatusCode::FORBIDDEN, 7), "");
        let submit = json!({"resourceKind": "WorkflowTemplate", "resourceName": "greet"});
        let (status, refused) = argo(
            &app,
            Method::POST,
            "/api/v1/workflows/labors/submit",
            Some(token),
            Some(submit),
        )
        .await;
        assert_refused(status, &refused, (StatusCode::FORBIDDEN, 7), "");
    }
    let (status, none) = argo(&app, Method::GET, path, None, None).await;
    assert_refused(status, &none, (StatusCode::UNAUTHORIZED, 16), "");
    let stranger = app.token("other", Role::Admin).await;
    let (status, hidden) = argo(&app, Method::GET, path, Some(&stranger), None).await;
    assert_refused(status, &hidden, (StatusCode::NOT_FOUND, 5), "");
}

async fn an_invalid_template_is_refused_naming_the_field(app: TestApp) {
    let mut unsupported = greeter("greet", "hello", 0);
    unsupported["spec"]["templates"][0]["bogusField"] = json!(1);
    let mut unknown_step = greeter("greet", "hello", 0);
    unknown_step["spec"]["templates"][0] =
        json!({"name": "main", "steps": [[{"name": "a", "template": "nowhere"}]]});
    let mut wrong_kind = greeter("greet", "hello", 0);
    wrong_kind["kind"] = json!("Workflow");
    let mut bad_name = greeter("Greet_1", "hello", 0);
    let mut nameless = greeter("greet", "hello", 0);
    nameless["metadata"] = json!({});
    let mut no_templates = greeter("greet", "hello", 0);
    no_templates["spec"]["templates"] = json!([]);
    let mut elsewhere = greeter("greet", "hello", 0);
    elsewhere["metadata"]["namespace"] = json!("other");
    bad_name["metadata"]["labels"] = json!({});
    for (template, mentions) in [
        (unsupported, "bogusField"),
        (unknown_step, "nowhere"),
        (wrong_kind, "template/kind"),
        (bad_name, "template/metadata/name"),
        (nameless, "template/metadata/name"),
        (no_templates, "spec.templates"),
        (elsewhere, "template/metadata/namespace"),
        (json!("text"), "template"),
    ] {
        for path in [
            "/api/v1/workflow-templates/labors",
            "/api/v1/workflow-templates/labors/lint",
        ] {
            let body = json!({"template": template.clone()});
            let (status, refused) =
                argo(&app, Method::POST, path, Some(&app.admin), Some(body)).await;
            assert_refused(status, &refused, (StatusCode::BAD_REQUEST, 3), mentions);
        }
    }
    let (status, refused) = argo(
        &app,
        Method::POST,
        "/api/v1/workflow-templates/labors",
        Some(&app.admin),
        Some(json!({})),
    )
    .await;
    assert_refused(status, &refused, (StatusCode::BAD_REQUEST, 3), "template");
    let (_, listed) = argo(
        &app,
        Method::GET,
        "/api/v1/workflow-templates/labors",
        Some(&app.admin),
        None,
    )
    .await;
    assert_eq!(listed["items"], json!([]), "nothing stored: {listed}");
}
