//! Variables Argo resolves that users' workflows (and Hera's runner) rely on:
//! `{{inputs.parameters}}`, `{{retries}}`, template variables inside
//! `retryStrategy.expression`, Kubernetes `$(VAR)` expansion and sprig's date functions.

mod common;

use common::{node, result, run};
use polyphemus_engine::Phase;

#[tokio::test]
async fn all_inputs_as_json_as_hera_reads_them() {
    let wf = run(r#"
kind: Workflow
metadata: {generateName: all-inputs-}
spec:
  entrypoint: main
  templates:
  - name: main
    inputs:
      parameters:
      - {name: a, value: "1"}
      - {name: b, default: "two", description: "the second"}
    script:
      image: python:alpine3.23
      command: [python]
      source: |
        import json
        params = json.loads('''{{inputs.parameters}}''')
        print(";".join(f"{p['name']}={p['value']}" for p in params))
        print(params[1]["default"], params[1]["description"])
"#)
    .await;
    assert_eq!(wf.status.phase, Phase::Succeeded, "{:?}", wf.status.message);
    assert_eq!(result(node(&wf, "")), Some("a=1;b=two\ntwo the second"));
}

#[tokio::test]
async fn retries_counts_attempts_and_the_expression_sees_template_variables() {
    // Attempt n prints {{retries}} and fails until the third; the expression allows retrying
    // only while the input says it is safe and the attempt index is below 2.
    let wf = run(r#"
kind: Workflow
metadata: {generateName: retries-}
spec:
  entrypoint: main
  templates:
  - name: main
    inputs:
      parameters: [{name: safe, value: "true"}]
    retryStrategy:
      limit: 5
      expression: "{{inputs.parameters.safe}} == true && retries < 2 && lastRetry.status == 'Failed'"
    container:
      image: busybox
      command: [sh, -c, "echo attempt {{retries}}; exit 1"]
"#)
    .await;
    assert_eq!(wf.status.phase, Phase::Failed);
    let attempts: Vec<_> = (0..5)
        .filter_map(|i| {
            let name = format!("{}({i})", wf.name());
            wf.status
                .node_by_name(&name)
                .map(|n| result(n).map(str::to_owned))
        })
        .collect();
    assert_eq!(
        attempts,
        vec![
            Some("attempt 0".to_owned()),
            Some("attempt 1".to_owned()),
            Some("attempt 2".to_owned())
        ],
        "the expression stops after the attempt with index 2"
    );
}

#[tokio::test]
async fn kubernetes_expands_dollar_parentheses_from_the_container_env() {
    let wf = run(r#"
kind: Workflow
metadata: {generateName: env-expansion-}
spec:
  entrypoint: main
  templates:
  - name: main
    container:
      image: busybox
      command: [echo, "$(GREETING)"]
      args: ["$(WHO)", "$$(WHO)", "$(UNSET)"]
      env:
      - {name: GREETING, value: hello}
      - {name: WHO, value: world}
"#)
    .await;
    assert_eq!(wf.status.phase, Phase::Succeeded, "{:?}", wf.status.message);
    assert_eq!(result(node(&wf, "")), Some("hello world $(WHO) $(UNSET)"));
}

#[tokio::test]
async fn sprig_date_formats_with_go_layouts() {
    let wf = run(r#"
kind: Workflow
metadata: {generateName: sprig-date-}
spec:
  entrypoint: main
  templates:
  - name: main
    container:
      image: busybox
      command: [echo, "{{=sprig.date('2006-01-02', workflow.creationTimestamp)}} {{=sprig.date('Jan 2 2006', 0)}}"]
"#)
    .await;
    assert_eq!(wf.status.phase, Phase::Succeeded, "{:?}", wf.status.message);
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    assert_eq!(
        result(node(&wf, "")),
        Some(format!("{today} Jan 1 1970").as_str())
    );
}
