//! Every workflow of Argo's example corpus (`shared/argo-examples`) must reach Succeeded.

mod common;

use std::path::Path;

use polyphemus_engine::{NodeType, Phase, TemplateLibrary, Workflow};

const EXAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/argo-examples");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_argo_example_succeeds() {
    common::init_tracing();
    let dir = Path::new(EXAMPLES);
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 28,
        "expected the 28 examples, found {}",
        files.len()
    );
    let mut engine = common::engine();
    // Examples such as parameter-aggregation run parallel pods that all write /tmp/num. With a
    // private /tmp per node they run as in Argo; where /tmp is shared they would race (as in one
    // shared pod), so there the corpus runs one workflow and one pod at a time.
    let shared_tmp = !engine.private_tmp();
    if shared_tmp {
        println!("note: no private /tmp here; running the examples one pod at a time");
        let mut opts = engine.options().clone();
        opts.max_pods = Some(1);
        engine = polyphemus_engine::Engine::new(opts);
    }
    let lib = TemplateLibrary::new();
    let mut runs = Vec::new();
    let mut failed = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).expect("readable example");
        let wf = Workflow::from_yaml(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let handle = engine
            .submit(wf, Vec::new(), &lib)
            .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        if shared_tmp {
            handle.wait().await;
        }
        runs.push((
            f.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            handle,
        ));
    }
    for (file, handle) in runs {
        let wf = handle.wait().await;
        if wf.status.phase != Phase::Succeeded {
            failed.push(format!(
                "{file}: {} {:?}",
                wf.status.phase, wf.status.message
            ));
            continue;
        }
        // Every node finished, every pod has an exit code.
        for n in wf.status.nodes.values() {
            assert!(
                n.phase != Phase::Running && n.phase != Phase::Pending,
                "{file}: {} still {}",
                n.name,
                n.phase
            );
            if n.node_type == NodeType::Pod {
                assert!(
                    n.outputs
                        .as_ref()
                        .and_then(|o| o.exit_code.as_ref())
                        .is_some(),
                    "{file}: {} has no exitCode",
                    n.name
                );
            }
        }
        check_example(&file, &wf);
    }
    assert!(
        failed.is_empty(),
        "examples not Succeeded:\n{}",
        failed.join("\n")
    );
}

fn logs_of(wf: &polyphemus_engine::WorkflowObject, suffix: &str) -> String {
    let n = common::node(wf, suffix);
    let p = common::work_dir()
        .join(wf.name())
        .join("logs")
        .join(format!("{}.stdout.log", n.id));
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Spot checks of outputs for examples whose result is known.
fn check_example(file: &str, wf: &polyphemus_engine::WorkflowObject) {
    match file {
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
