//! Spot checks of what examples produced, beyond their phase.

use polyphemus_engine::{NodeType, Phase, WorkflowObject};

use super::common;

fn logs_of(wf: &WorkflowObject, suffix: &str) -> String {
    let n = common::node(wf, suffix);
    let p = common::work_dir()
        .join("corpus")
        .join(wf.name())
        .join("logs")
        .join(format!("{}.stdout.log", n.id));
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Spot checks of outputs for examples whose result is known; every finished node of a
/// succeeded example has left Running, and every pod has an exit code.
pub fn check(file: &str, wf: &WorkflowObject) {
    if wf.status.phase == Phase::Succeeded {
        for n in wf.status.nodes.values() {
            assert!(
                n.phase != Phase::Running && n.phase != Phase::Pending,
                "{file}: {} still {}",
                n.name,
                n.phase
            );
            let exit_code = n.outputs.as_ref().and_then(|o| o.exit_code.as_ref());
            // As in Argo, a container set's pod has one only from a container named `main`.
            let container_set = n.children.iter().any(|c| {
                wf.status
                    .nodes
                    .get(c)
                    .is_some_and(|c| c.node_type == NodeType::Container)
            });
            if n.node_type == NodeType::Pod && n.phase == Phase::Succeeded && !container_set {
                assert!(exit_code.is_some(), "{file}: {} has no exitCode", n.name);
            }
        }
    }
    for n in wf.status.nodes.values() {
        for c in &n.children {
            assert!(
                wf.status.nodes.contains_key(c),
                "{file}: {} names child {c}, which is no node",
                n.name
            );
        }
    }
    match file {
        "skipped-output-defaults/producer-output-default.yaml" => {
            assert_eq!(
                logs_of(wf, ".consumer"),
                "consumer got: [hello-from-producer]\n"
            )
        }
        "skipped-output-defaults/consumer-input-default.yaml" => {
            assert_eq!(
                logs_of(wf, ".consumer"),
                "consumer got: [fallback-from-input]\n"
            )
        }
        "skipped-output-defaults/expression-fallback.yaml" => {
            let out = common::node(wf, "").outputs.clone().unwrap_or_default();
            assert_eq!(out.param("result"), Some("expr-fallback"));
        }
        "expression-reusing-verbose-snippets.yaml" => assert_eq!(
            logs_of(wf, ""),
            "The week's average temperature was 35.8 with a minimum of 15 and a maximum of 57.\n"
        ),
        "expression-destructure-json.yaml" => assert_eq!(logs_of(wf, ""), "123\n"),
        "exit-code-output-variable.yaml" => {
            assert_eq!(
                common::node(wf, "[0].failing-container").phase,
                Phase::Failed
            );
            assert_eq!(logs_of(wf, "[1].echo-container"), "Exit code was: 123\n");
        }
        "output-parameter.yaml" => {
            assert_eq!(logs_of(wf, "[1].consume-parameter"), "hello world\n")
        }
        "global-parameters.yaml" | "arguments-parameters.yaml" => {
            assert_eq!(logs_of(wf, ""), "hello world\n")
        }
        "parameter-aggregation.yaml" => {
            assert_eq!(logs_of(wf, "[1].print-nums"), "[\"1\",\"2\",\"3\",\"4\"]\n");
            assert_eq!(
                logs_of(wf, "[2].print-evenness"),
                "[\"odd\",\"even\",\"odd\",\"even\"]\n"
            );
            assert_eq!(
                common::node(wf, "[3].divide-by-2(0:evenness:odd,num:1)").phase,
                Phase::Skipped
            );
            assert_eq!(logs_of(wf, "[4].print(1:2)"), "2\n");
        }
        "parameter-aggregation-dag.yaml" => {
            assert_eq!(
                common::node(wf, ".divide-by-2").node_type,
                NodeType::TaskGroup
            );
            assert_eq!(logs_of(wf, ".print(0:1)"), "1\n");
        }
        "conditional-parameters.yaml" | "dag-conditional-parameters.yaml" => {
            let out = common::node(wf, "").outputs.clone().unwrap_or_default();
            assert_eq!(out.param("stepresult"), Some("heads"));
        }
        "retry-container.yaml" => assert_eq!(common::node(wf, "").node_type, NodeType::Retry),
        "exit-handler-step-level.yaml" => {
            assert_eq!(
                common::node(wf, "[0].hello1.onExit").phase,
                Phase::Succeeded
            );
        }
        "dag-diamond.yaml" => {
            let a = common::node(wf, ".A");
            let b = common::node(wf, ".B");
            assert!(a.children.contains(&b.id), "A -> B edge");
            assert_eq!(b.boundary_id.as_deref(), Some(wf.name()));
        }
        "steps.yaml" => {
            let g = common::node(wf, "[1]");
            assert_eq!(g.node_type, NodeType::StepGroup);
            assert_eq!(g.display_name, "[1]");
            assert_eq!(g.children.len(), 2);
        }
        _ => {}
    }
}
