//! Schema-driven forms: rendering every kind, reading posted text back, errors at fields.

use super::*;

/// A schema with every kind the forms handle.
fn every_kind() -> serde_json::Value {
    json!({
        "type": "object",
        "required": ["name", "mode"],
        "properties": {
            "name": {"type": "string", "title": "Name", "description": "Who it is", "pattern": "^[a-z]+$"},
            "site": {"type": "string", "format": "uri", "title": "Site"},
            "ratio": {"type": "number", "title": "Ratio", "default": 0.5},
            "count": {"type": "integer", "minimum": 1, "title": "Count"},
            "on": {"type": "boolean", "title": "On", "default": true},
            "mode": {"enum": ["fast", "slow"], "title": "Mode"},
            "tags": {"type": "array", "items": {"type": "string"}, "title": "Tags"},
            "rules": {"type": "array", "items": {"type": "object"}, "title": "Rules"},
            "nested": {"type": "object", "title": "Nested", "properties": {
                "depth": {"type": "integer", "title": "Depth"}
            }}
        }
    })
}

#[test]
fn every_schema_kind_renders_as_a_labelled_control_with_defaults_and_help() {
    let schema = every_kind();
    let mut raw = Raw::new();
    form::raw_from_value(&schema, "/config", None, true, &mut raw);
    let html = form::fields(&schema, "/config", &raw, &Errors::default()).into_string();
    for expected in [
        "<label for=\"f-config-name\">Name <span class=\"req\">(required)</span></label>",
        "Who it is. Must match the pattern ^[a-z]+$.",
        "id=\"f-config-site\" type=\"url\" name=\"/config/site\"",
        "type=\"number\" name=\"/config/ratio\" value=\"0.5\" inputmode=\"decimal\"",
        "name=\"/config/count\" value=\"\" inputmode=\"numeric\" step=\"1\" min=\"1\"",
        "id=\"f-config-on\" type=\"checkbox\" name=\"/config/on\" value=\"true\" checked",
        "<select id=\"f-config-mode\" name=\"/config/mode\"",
        "<option value=\"slow\">slow</option>",
        "<textarea id=\"f-config-tags\" name=\"/config/tags\"",
        "One item per line.",
        "<textarea id=\"f-config-rules\" name=\"/config/rules\"",
        "<legend>Nested</legend>",
        "name=\"/config/nested/depth\"",
    ] {
        assert!(html.contains(expected), "{expected} missing in {html}");
    }
    // Required fields come first, in the order the schema lists them.
    let name_at = html.find("f-config-name").expect("name");
    let mode_at = html.find("f-config-mode").expect("mode");
    let count_at = html.find("f-config-count").expect("count");
    assert!(name_at < mode_at && mode_at < count_at);
}

#[test]
fn posted_text_is_read_back_as_typed_json() {
    let schema = every_kind();
    let raw: Raw = [
        ("/config/name", "ann"),
        ("/config/ratio", "0.25"),
        ("/config/count", "3"),
        ("/config/on", "false"),
        ("/config/mode", "slow"),
        ("/config/tags", "a\n b \n\n"),
        ("/config/rules", "[{\"x\": 1}]"),
        ("/config/nested/depth", "2"),
        ("/config/site", ""),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let mut errors = Vec::new();
    let value = form::value_from_raw(&schema, "/config", &raw, &mut errors).expect("value");
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(
        value,
        json!({"name": "ann", "ratio": 0.25, "count": 3, "on": false, "mode": "slow",
               "tags": ["a", "b"], "rules": [{"x": 1}], "nested": {"depth": 2}})
    );
    // Round trip: the stored value fills the same fields.
    let mut again = Raw::new();
    form::raw_from_value(&schema, "/config", Some(&value), false, &mut again);
    assert_eq!(again.get("/config/tags").map(String::as_str), Some("a\nb"));
    assert_eq!(again.get("/config/count").map(String::as_str), Some("3"));

    // Text that is not of the field's type stays text, for the schema to name; bad JSON is
    // reported at its field.
    let raw: Raw = [("/config/count", "three"), ("/config/rules", "[oops")]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let mut errors = Vec::new();
    let value = form::value_from_raw(&schema, "/config", &raw, &mut errors).expect("value");
    assert_eq!(value["count"], json!("three"));
    assert_eq!(errors[0].pointer, "/config/rules");
}

#[test]
fn an_error_pointer_marks_its_field_invalid_and_describes_it() {
    let schema = every_kind();
    let errors = Errors::from_fields(vec![FieldError {
        pointer: "/config/nested/depth".into(),
        message: "\"x\" is not of type \"integer\"".into(),
    }]);
    let html = form::fields(&schema, "/config", &Raw::new(), &errors).into_string();
    assert!(
        html.contains("<p class=\"error\" id=\"f-config-nested-depth-error\">"),
        "{html}"
    );
    assert!(
        html.contains("aria-describedby=\"f-config-nested-depth-error\" aria-invalid=\"true\""),
        "{html}"
    );
    let mut labels = BTreeMap::new();
    form::labels(&schema, "/config", "Settings", &mut labels);
    let summary = errors.summary(&labels).into_string();
    assert!(
        summary.contains("<a href=\"#f-config-nested-depth\">Depth</a>"),
        "{summary}"
    );
}

#[test]
fn an_unchanged_edit_form_adds_no_defaults_to_the_stored_config() {
    let schema = every_kind();
    let stored = json!({"name": "ann", "mode": "fast"});
    let mut raw = Raw::new();
    form::raw_from_value(&schema, "/config", Some(&stored), false, &mut raw);
    // The checkbox of an absent boolean shows its default (checked) and posts it.
    let html = form::fields(&schema, "/config", &raw, &Errors::default()).into_string();
    assert!(
        html.contains("name=\"/config/on\" value=\"true\" checked"),
        "{html}"
    );
    raw.insert("/config/on".into(), "true".into());
    let mut errors = Vec::new();
    let mut posted = form::value_from_raw(&schema, "/config", &raw, &mut errors).expect("value");
    form::drop_added_defaults(&schema, &stored, &mut posted);
    assert_eq!(posted, stored);
    // A value the user changed away from the default is kept.
    raw.insert("/config/on".into(), "false".into());
    let mut posted = form::value_from_raw(&schema, "/config", &raw, &mut errors).expect("value");
    form::drop_added_defaults(&schema, &stored, &mut posted);
    assert_eq!(posted["on"], json!(false));
}

#[tokio::test]
async fn a_secret_can_be_removed_and_shows_not_set() {
    let app = app().await;
    let editor = app.token(Role::Editor).await;
    let csrf = app.csrf(&editor);
    let (status, _) = app
        .post(CREATE, &editor, &create_fields(&csrf, "/incoming"))
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let secrets = "/projects/labors/configs/1/secrets";
    let (status, page) = app.post(secrets, &editor, &[("_csrf", &csrf)]).await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "nothing to change"
    );
    assert!(page.contains("Type a new value or tick Remove"));
    let (status, _) = app
        .post(
            secrets,
            &editor,
            &[("_csrf", &csrf), ("remove", "password")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let stored = app
        .store
        .latest_config(&"labors".parse().expect("project"), 1.into())
        .await
        .expect("stored");
    assert!(stored.sealed_secrets.is_empty(), "the password is gone");
    let (_, page) = app.get("/projects/labors/configs/1", &editor).await;
    assert!(page.contains("not set"));
}

#[tokio::test]
async fn runtime_errors_are_shown_at_their_field_and_nothing_is_saved() {
    let app = app().await;
    let editor = app.token(Role::Editor).await;
    let csrf = app.csrf(&editor);
    let (status, _) = app
        .post(CREATE, &editor, &create_fields(&csrf, "/incoming"))
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let runtime = "/projects/labors/configs/1/runtime";
    let (status, page) = app
        .post(
            runtime,
            &editor,
            &[
                ("_csrf", &csrf),
                ("schedule", "cron"),
                ("/cron", "61 * * * *"),
                ("/timezone", "Mars/Olympus"),
                ("/config/max_files", "0"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("id=\"f-config-max_files-error\""), "{page}");
    assert!(
        page.contains("value=\"61 * * * *\""),
        "what was typed is kept"
    );
    let (status, page) = app
        .post(
            runtime,
            &editor,
            &[
                ("_csrf", &csrf),
                ("schedule", "cron"),
                ("/cron", "61 * * * *"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("id=\"f-cron-error\""), "{page}");
    let (status, _) = app
        .post(
            runtime,
            &editor,
            &[
                ("_csrf", &csrf),
                ("schedule", "cron"),
                ("/cron", "30 2 * * *"),
                ("/timezone", "Europe/Berlin"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, page) = app.get(runtime, &editor).await;
    assert_eq!(
        page.matches("<li><time").count(),
        5,
        "the next five runs: {page}"
    );
    assert!(page.contains("read in Europe/Berlin"));
}

#[tokio::test]
async fn a_form_field_holding_nul_is_refused_and_nothing_is_saved() {
    let app = app().await;
    let editor = app.token(Role::Editor).await;
    let csrf = app.csrf(&editor);
    let (status, page) = app
        .post(CREATE, &editor, &create_fields(&csrf, "/in\u{0}coming"))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{page}");
    assert!(page.contains("/config/root"), "the field is named: {page}");
    assert_eq!(config_count(&app, &editor).await, 0);
}
