//! `memoize`, keyed and aged as Argo's controller does it:
//! - second_run_with_the_same_key_reuses_the_outputs_without_running
//! - key_from_inputs_misses_for_other_inputs
//! - entry_older_than_max_age_is_a_miss_and_is_replaced
//! - entry_of_any_age_hits_without_max_age
//! - only_succeeded_nodes_are_cached
//! - a_memoized_steps_template_hits_as_one_node
//! - invalid_key_errors_the_node
//! - memoize_fields_are_checked_naming_them
//! - without_a_configured_cache_entries_are_files_under_the_work_dir

mod common;

use std::sync::Arc;

use chrono::{Duration, Utc};
use common::{node, result};
use polyphemus_engine::{
    Engine, EngineOptions, FileMemoCache, MemoCache, MemoEntry, NodeOutputs, Phase,
    TemplateLibrary, Workflow, WorkflowObject,
};

/// An engine whose memoize cache is a directory of its own.
fn engine_with(cache: &FileMemoCache) -> Engine {
    let mut options: EngineOptions = common::engine().options().clone();
    options.memo_cache = Some(Arc::new(cache.clone()));
    Engine::new(options)
}

async fn run_on(cache: &FileMemoCache, yaml: &str, params: &[(&str, &str)]) -> WorkflowObject {
    common::init_tracing();
    let wf = Workflow::from_yaml(yaml).expect("valid workflow");
    let params = params
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
    engine_with(cache)
        .run(wf, params, &TemplateLibrary::new())
        .await
        .expect("workflow starts")
}

/// Prints a value that differs on every run (nanoseconds), so a reuse shows.
const STAMP: &str = r#"
kind: Workflow
metadata: {generateName: memoized-}
spec:
  entrypoint: stamp
  arguments: {parameters: [{name: who, value: world}]}
  templates:
  - name: stamp
    inputs: {parameters: [{name: who}]}
    memoize:
      key: "stamp-{{inputs.parameters.who}}"
      MAX_AGE
      cache: {configMap: {name: cache-config}}
    container: {image: busybox, command: [sh, -c, "date +%s%N; date +%N > /tmp/n"]}
    outputs:
      parameters:
      - name: n
        valueFrom: {path: /tmp/n}
"#;

fn stamp(max_age: Option<&str>) -> String {
    let line = max_age
        .map(|a| format!("maxAge: \"{a}\""))
        .unwrap_or_default();
    STAMP.replace("MAX_AGE", &line)
}

fn temp_cache() -> (tempfile::TempDir, FileMemoCache) {
    let dir = tempfile::tempdir().expect("temp dir");
    let cache = FileMemoCache::new(dir.path());
    (dir, cache)
}

#[tokio::test]
async fn second_run_with_the_same_key_reuses_the_outputs_without_running() {
    let (_dir, cache) = temp_cache();
    let first = run_on(&cache, &stamp(Some("1h")), &[]).await;
    assert_eq!(first.status.phase, Phase::Succeeded);
    let ran = node(&first, "");
    let status = ran.memoization_status.as_ref().expect("memoizationStatus");
    assert!(!status.hit);
    assert_eq!(
        (status.key.as_str(), status.cache_name.as_str()),
        ("stamp-world", "cache-config")
    );

    let second = run_on(&cache, &stamp(Some("1h")), &[]).await;
    assert_eq!(second.status.phase, Phase::Succeeded);
    let hit = node(&second, "");
    assert!(hit.memoization_status.as_ref().is_some_and(|s| s.hit));
    assert_eq!(result(hit), result(ran), "the first run's output, reused");
    assert_eq!(hit.outputs, ran.outputs);
    let entry = cache.load("cache-config", "stamp-world").await.unwrap();
    assert_eq!(entry.map(|e| e.node_id), Some(ran.id.clone()));
    // Nothing ran: the node printed nothing.
    assert!(!second.status.nodes.values().any(|n| n.image.is_some()));
}

#[tokio::test]
async fn key_from_inputs_misses_for_other_inputs() {
    let (_dir, cache) = temp_cache();
    let world = run_on(&cache, &stamp(None), &[]).await;
    let moon = run_on(&cache, &stamp(None), &[("who", "moon")]).await;
    let status = node(&moon, "").memoization_status.clone().expect("status");
    assert!(!status.hit);
    assert_eq!(status.key, "stamp-moon");
    assert_ne!(result(node(&moon, "")), result(node(&world, "")));
}

async fn stale_entry(cache: &FileMemoCache, age: Duration) {
    let entry = MemoEntry {
        node_id: "old-node".into(),
        outputs: NodeOutputs {
            result: Some("stale".into()),
            ..NodeOutputs::default()
        },
        created_at: Utc::now() - age,
    };
    cache
        .save("cache-config", "stamp-world", entry)
        .await
        .expect("saved");
}

#[tokio::test]
async fn entry_older_than_max_age_is_a_miss_and_is_replaced() {
    let (_dir, cache) = temp_cache();
    stale_entry(&cache, Duration::seconds(30)).await;
    let wf = run_on(&cache, &stamp(Some("10s")), &[]).await;
    let n = node(&wf, "");
    assert!(n.memoization_status.as_ref().is_some_and(|s| !s.hit));
    assert_ne!(result(n), Some("stale"));
    let entry = cache
        .load("cache-config", "stamp-world")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(entry.node_id, n.id);
    assert!(Utc::now() - entry.created_at < Duration::seconds(10));
}

#[tokio::test]
async fn entry_of_any_age_hits_without_max_age() {
    let (_dir, cache) = temp_cache();
    stale_entry(&cache, Duration::days(400)).await;
    let wf = run_on(&cache, &stamp(None), &[]).await;
    let n = node(&wf, "");
    assert!(n.memoization_status.as_ref().is_some_and(|s| s.hit));
    assert_eq!(result(n), Some("stale"));
}

#[tokio::test]
async fn only_succeeded_nodes_are_cached() {
    let (_dir, cache) = temp_cache();
    let failing = stamp(None).replace("date +%N > /tmp/n", "exit 3");
    for _ in 0..2 {
        let wf = run_on(&cache, &failing, &[]).await;
        assert_eq!(wf.status.phase, Phase::Failed);
        assert!(node(&wf, "")
            .memoization_status
            .as_ref()
            .is_some_and(|s| !s.hit));
    }
    assert_eq!(
        cache.load("cache-config", "stamp-world").await.unwrap(),
        None
    );
}

#[tokio::test]
async fn a_memoized_steps_template_hits_as_one_node() {
    let (_dir, cache) = temp_cache();
    let yaml = r#"
kind: Workflow
metadata: {generateName: memo-steps-}
spec:
  entrypoint: main
  templates:
  - name: main
    memoize: {key: group, cache: {configMap: {name: groups}}}
    steps:
    - - {name: one, template: stamp}
    outputs:
      parameters:
      - name: out
        valueFrom: {parameter: "{{steps.one.outputs.result}}"}
  - name: stamp
    container: {image: busybox, command: [sh, -c, "date +%s%N"]}
"#;
    let first = run_on(&cache, yaml, &[]).await;
    let second = run_on(&cache, yaml, &[]).await;
    assert_eq!(second.status.phase, Phase::Succeeded);
    assert_eq!(second.status.nodes.len(), 1, "{:?}", common::names(&second));
    let out = |wf: &WorkflowObject| {
        node(wf, "")
            .outputs
            .as_ref()
            .and_then(|o| o.param("out").map(str::to_owned))
    };
    assert!(out(&first).is_some());
    assert_eq!(out(&second), out(&first));
}

#[tokio::test]
async fn invalid_key_errors_the_node() {
    let (_dir, cache) = temp_cache();
    let wf = run_on(&cache, &stamp(None), &[("who", "two words")]).await;
    assert_eq!(wf.status.phase, Phase::Error);
    let n = node(&wf, "");
    assert!(n
        .message
        .as_deref()
        .unwrap_or_default()
        .contains("invalid cache key: stamp-two words"));
}

#[test]
fn memoize_fields_are_checked_naming_them() {
    let with = |memoize: &str| {
        let yaml = format!(
            "kind: Workflow\nmetadata: {{name: x}}\nspec:\n  entrypoint: t\n  templates:\n  - name: t\n    memoize: {memoize}\n    container: {{image: busybox, command: [echo]}}\n"
        );
        Workflow::from_yaml(&yaml)
            .map(|_| ())
            .expect_err("refused")
            .to_string()
    };
    let e = with("{key: k}");
    assert!(
        e.contains("spec.templates[t].memoize.cache.configMap"),
        "{e}"
    );
    let e = with("{key: k, maxAge: \"10\", cache: {configMap: {name: c}}}");
    assert!(e.contains("spec.templates[t].memoize.maxAge"), "{e}");
    let e = with("{key: k, cache: {configMap: {name: c}, redis: {}}}");
    assert!(e.contains("spec.templates[t].memoize.cache.redis"), "{e}");
}

#[tokio::test]
async fn without_a_configured_cache_entries_are_files_under_the_work_dir() {
    let who = format!("w{}", uuid::Uuid::new_v4().simple());
    let yaml = stamp(None);
    let params = vec![("who".to_owned(), who.clone())];
    let run = || async {
        let wf = Workflow::from_yaml(&yaml).expect("valid");
        common::engine()
            .run(wf, params.clone(), &TemplateLibrary::new())
            .await
            .expect("starts")
    };
    let first = run().await;
    let file = common::work_dir()
        .join(".memoize/cache-config")
        .join(format!("stamp-{who}.json"));
    let entry: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).expect("entry file")).expect("json");
    assert_eq!(entry["nodeID"], node(&first, "").id.as_str());
    assert!(entry["creationTimestamp"].is_string(), "{entry}");
    let second = run().await;
    assert!(node(&second, "")
        .memoization_status
        .as_ref()
        .is_some_and(|s| s.hit));
    assert_eq!(result(node(&second, "")), result(node(&first, "")));
}
