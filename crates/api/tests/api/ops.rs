//! Health, readiness, metrics and the OpenAPI document.

use crate::both_stores;
use crate::harness::TestApp;
use reqwest::StatusCode;
use serde_json::Value;

both_stores!(
    health_readiness_and_metrics_need_no_token,
    openapi_covers_every_route_of_the_spec
);

async fn health_readiness_and_metrics_need_no_token(app: TestApp) {
    for path in ["/healthz", "/readyz"] {
        let response = app
            .client
            .get(format!("{}{path}", app.base))
            .send()
            .await
            .expect("send");
        assert_eq!(response.status(), StatusCode::OK, "{path}");
    }
    app.get("/workflows", &app.admin).await;
    app.get("/projects/labors/configs/99", &app.admin).await;
    let id = app.create_config("labors", serde_json::json!({})).await;
    app.register_run("labors", "r1", id, 1).await;
    app.register_run("labors", "r2", id, 1).await;
    app.put(
        "/projects/labors/runs/r2/metadata",
        &app.admin,
        serde_json::json!({"phase": "Succeeded", "nodes": {}}),
    )
    .await;
    let text = app
        .client
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .expect("send")
        .text()
        .await
        .expect("text");
    assert!(text.contains("polyphemus_http_requests_total{method=\"GET\",route=\"/api/v1/workflows\",status=\"200\"} 1"), "{text}");
    assert!(
        text.contains("route=\"/api/v1/projects/{project}/configs/{config_id}\",status=\"404\""),
        "{text}"
    );
    assert!(text.contains("polyphemus_http_request_duration_seconds_bucket"));
    assert!(
        text.contains("polyphemus_runs{phase=\"Succeeded\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("polyphemus_runs{phase=\"Unknown\"} 1"),
        "{text}"
    );
}

/// Every (method, path) of shared/spec/http-api.md, as the server must publish it.
const SPEC_ROUTES: &[(&str, &str)] = &[
    ("get", "/api/v1/workflows"),
    ("get", "/api/v1/workflows/{name}"),
    ("post", "/api/v1/workflows/reload"),
    ("get", "/api/v1/jobs"),
    ("post", "/api/v1/projects/{project}/configs"),
    ("get", "/api/v1/projects/{project}/configs"),
    ("get", "/api/v1/projects/{project}/configs/{config_id}"),
    ("patch", "/api/v1/projects/{project}/configs/{config_id}"),
    (
        "get",
        "/api/v1/projects/{project}/configs/{config_id}/versions",
    ),
    (
        "get",
        "/api/v1/projects/{project}/configs/{config_id}/versions/{version_number}",
    ),
    (
        "put",
        "/api/v1/projects/{project}/configs/{config_id}/secrets",
    ),
    (
        "get",
        "/api/v1/projects/{project}/configs/{config_id}/versions/{version_number}/secrets",
    ),
    (
        "get",
        "/api/v1/projects/{project}/configs/{config_id}/runtime",
    ),
    (
        "put",
        "/api/v1/projects/{project}/configs/{config_id}/runtime",
    ),
    (
        "post",
        "/api/v1/projects/{project}/configs/{config_id}/launch",
    ),
    ("post", "/api/v1/projects/{project}/runs"),
    ("get", "/api/v1/projects/{project}/runs/{run_id}"),
    ("patch", "/api/v1/projects/{project}/runs/{run_id}"),
    ("get", "/api/v1/projects/{project}/configs/{config_id}/runs"),
    (
        "get",
        "/api/v1/projects/{project}/configs/{config_id}/previous_state",
    ),
    ("put", "/api/v1/projects/{project}/runs/{run_id}/metadata"),
    ("get", "/api/v1/projects/{project}/runs/{run_id}/metadata"),
    ("get", "/api/v1/projects/{project}/status"),
    ("get", "/api/v1/projects/{project}/events"),
];

/// Routes beyond the spec, each noted on its issue.
const EXTENSION_ROUTES: &[(&str, &str)] = &[
    // #14: acting on what failed.
    ("post", "/api/v1/projects/{project}/runs/{run_id}/resubmit"),
    (
        "post",
        "/api/v1/projects/{project}/configs/{config_id}/versions/{version_number}/restore",
    ),
    (
        "post",
        "/api/v1/projects/{project}/configs/{config_id}/archive",
    ),
    (
        "post",
        "/api/v1/projects/{project}/configs/{config_id}/unarchive",
    ),
    ("post", "/api/v1/projects/{project}/runs/{run_id}/sync"),
    (
        "post",
        "/api/v1/projects/{project}/configs/{config_id}/submit",
    ),
    ("post", "/api/v1/projects/{project}/runs/{run_id}/stop"),
    ("post", "/api/v1/projects/{project}/runs/{run_id}/terminate"),
    // #15: resuming a suspended run (`argo resume`).
    ("post", "/api/v1/projects/{project}/runs/{run_id}/resume"),
    // #18: suspending a running run (`argo suspend`).
    ("post", "/api/v1/projects/{project}/runs/{run_id}/suspend"),
    // #13: resuming a paused schedule, and notification channels.
    (
        "post",
        "/api/v1/projects/{project}/configs/{config_id}/runtime/resume",
    ),
    ("get", "/api/v1/projects/{project}/notifications"),
    ("post", "/api/v1/projects/{project}/notifications"),
    (
        "delete",
        "/api/v1/projects/{project}/notifications/{channel_id}",
    ),
    (
        "post",
        "/api/v1/projects/{project}/notifications/{channel_id}/test",
    ),
    // #13: the retention policy.
    ("get", "/api/v1/projects/{project}/retention"),
    ("put", "/api/v1/projects/{project}/retention"),
    // #13: backfills.
    (
        "get",
        "/api/v1/projects/{project}/configs/{config_id}/backfills",
    ),
    (
        "post",
        "/api/v1/projects/{project}/configs/{config_id}/backfills",
    ),
    ("get", "/api/v1/projects/{project}/backfills/{backfill_id}"),
    (
        "post",
        "/api/v1/projects/{project}/backfills/{backfill_id}/stop",
    ),
    (
        "post",
        "/api/v1/projects/{project}/backfills/{backfill_id}/resume",
    ),
    // #13: ledgers of what a config's runs delivered.
    (
        "post",
        "/api/v1/projects/{project}/runs/{run_id}/ledgers/{ledger}",
    ),
    (
        "post",
        "/api/v1/projects/{project}/configs/{config_id}/ledgers/{ledger}/lookup",
    ),
    (
        "get",
        "/api/v1/projects/{project}/configs/{config_id}/ledgers",
    ),
    // #14: finding any run of a project.
    ("get", "/api/v1/projects/{project}/runs"),
    // #14: a run's node logs, followed as they come.
    ("get", "/api/v1/projects/{project}/runs/{run_id}/logs"),
];

async fn openapi_covers_every_route_of_the_spec(app: TestApp) {
    let response = app
        .client
        .get(format!("{}/api/v1/openapi.json", app.base))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::OK, "no token needed");
    let document: Value = response.json().await.expect("json");
    assert!(document["openapi"]
        .as_str()
        .unwrap_or("")
        .starts_with("3.1"));
    let paths = document["paths"].as_object().expect("paths");
    for (method, path) in SPEC_ROUTES.iter().chain(EXTENSION_ROUTES) {
        assert!(
            paths.get(*path).and_then(|p| p.get(*method)).is_some(),
            "{method} {path} missing"
        );
    }
    let published: usize = paths
        .values()
        .map(|p| p.as_object().map_or(0, |m| m.len()))
        .sum();
    assert_eq!(
        published,
        SPEC_ROUTES.len() + EXTENSION_ROUTES.len(),
        "the document has routes neither the spec nor the extensions list"
    );
    for (method, path) in SPEC_ROUTES.iter().chain(EXTENSION_ROUTES) {
        let concrete = path
            .replace("{project}", "labors")
            .replace("{config_id}", "1")
            .replace("{version_number}", "1")
            .replace("{run_id}", "r")
            .replace("{name}", "sftp-to-storage");
        let request = app.client.request(
            method.to_uppercase().parse().expect("method"),
            format!("{}{concrete}", app.base),
        );
        let status = request.send().await.expect("send").status();
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "{method} {path} is served and needs a token"
        );
        let responses = &paths[*path][*method]["responses"];
        for status in ["400", "401", "403", "500"] {
            let response = resolved(&document, &responses[status]);
            assert!(
                response["content"]["application/problem+json"].is_object(),
                "{method} {path} documents {status} as problem+json: {responses}"
            );
        }
        let errors_as_plain_json = responses.as_object().is_some_and(|all| {
            all.iter().any(|(status, response)| {
                status.starts_with(['4', '5'])
                    && resolved(&document, response)["content"]
                        .get("application/json")
                        .is_some()
            })
        });
        assert!(!errors_as_plain_json, "{method} {path}: {responses}");
    }
    let limit = &document["paths"]["/api/v1/projects/{project}/events"]["get"]["parameters"];
    let limit = limit
        .as_array()
        .and_then(|all| all.iter().find(|p| p["name"] == "limit"))
        .expect("limit parameter");
    assert_eq!(limit["schema"]["minimum"], 1.0);
    assert_eq!(limit["schema"]["maximum"], 500.0);
    assert_eq!(
        document["components"]["schemas"]["ProjectName"]["pattern"],
        polyphemus_model::ProjectName::PATTERN
    );
}

/// A response of the OpenAPI document, its `$ref` (to `#/components/responses/…`) followed.
fn resolved<'a>(document: &'a Value, response: &'a Value) -> &'a Value {
    match response["$ref"].as_str() {
        Some(reference) => reference
            .strip_prefix("#/")
            .map_or(&Value::Null, |pointer| {
                document
                    .pointer(&format!("/{pointer}"))
                    .unwrap_or(&Value::Null)
            }),
        None => response,
    }
}
