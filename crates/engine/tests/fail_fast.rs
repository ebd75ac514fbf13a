//! A steps template's `failFast`: after the first failed child, no further child starts.

mod common;

use common::{node, run};
use polyphemus_engine::{NodeType, Phase};

#[tokio::test]
async fn steps_template_fail_fast_stops_the_loop() {
    let wf = run(r#"
kind: Workflow
metadata: {generateName: steps-fail-fast-}
spec:
  entrypoint: main
  templates:
  - name: main
    parallelism: 1
    failFast: true
    steps:
    - - name: unit
        template: unit
        arguments: {parameters: [{name: code, value: "{{item}}"}]}
        withItems: [0, 1, 0]
  - name: unit
    inputs: {parameters: [{name: code}]}
    container: {image: x, command: [sh, -c, "exit {{inputs.parameters.code}}"]}
"#)
    .await;
    let msg = "template has failed or errored children and failFast enabled";
    assert_eq!(wf.status.phase, Phase::Failed);
    assert_eq!(node(&wf, "").message.as_deref(), Some(msg));
    assert_eq!(node(&wf, "[0].unit(0:0)").phase, Phase::Succeeded);
    assert_eq!(node(&wf, "[0].unit(1:1)").phase, Phase::Failed);
    let last = node(&wf, "[0].unit(2:0)");
    assert_eq!(
        (last.phase, last.node_type),
        (Phase::Omitted, NodeType::Skipped)
    );
    assert_eq!(last.message.as_deref(), Some(msg));
}
