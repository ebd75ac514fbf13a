//! One contract, two Argo Servers: Polyphemus's Argo orchestrator (the client it runs against a
//! cluster) against the Argo Server double and against Polyphemus's own Argo API on the local
//! engine (`/argo/api/v1`), so each implementation checks the other. The double is told how a
//! workflow ends; on Polyphemus the steps' own commands decide, printing what the double
//! prints, so every assertion is the same for both.

use crate::argo_double::{ArgoDouble, Outcome};
use crate::harness::TestApp;
use futures::StreamExt;
use polyphemus_core::orchestrators::argo::{ArgoOrchestrator, ArgoSettings, ArgoToken};
use polyphemus_core::orchestrators::{Orchestrator, OrchestratorError, Retry, Submission};
use polyphemus_model::StopMode;
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const NAMESPACE: &str = "labors";

/// Three steps and an exit handler. Each step prints `<step>: starting` and `<step>: done`
/// (what the double logs), holds for `hold` seconds and fails when it is `fail_at`.
const STEPS: &str = r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: contract-}
spec:
  entrypoint: main
  onExit: record
  arguments:
    parameters: [{name: hold, value: "0"}, {name: fail_at, value: none}]
  templates:
    - name: main
      steps:
        - [{name: greet, template: step, arguments: {parameters: [{name: step, value: greet}]}}]
        - [{name: copy, template: step, arguments: {parameters: [{name: step, value: copy}]}}]
        - [{name: report, template: step, arguments: {parameters: [{name: step, value: report}]}}]
    - name: step
      inputs: {parameters: [{name: step}]}
      container:
        image: busybox
        command: [sh, -c]
        args:
          - |
            echo "{{inputs.parameters.step}}: starting"
            sleep {{workflow.parameters.hold}}
            [ "{{inputs.parameters.step}}" = "{{workflow.parameters.fail_at}}" ] && exit 1
            echo "{{inputs.parameters.step}}: done"
    - name: record
      container: {image: busybox, command: [sh, -c, "echo \"recorded the run's metadata\""]}
"#;

/// A first step that waits for a resume, then one that prints.
const APPROVAL: &str = r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: approval-}
spec:
  entrypoint: main
  templates:
    - name: main
      steps:
        - [{name: approve, template: wait}]
        - [{name: greet, template: say}]
    - name: wait
      suspend: {}
    - name: say
      container: {image: busybox, command: [sh, -c, "echo greet: starting; echo greet: done"]}
"#;

/// The Argo Server the orchestrator talks to.
enum Server {
    Double(ArgoDouble),
    Polyphemus(Box<TestApp>),
}

impl Server {
    async fn orchestrator(&self) -> ArgoOrchestrator {
        let (url, token) = match self {
            Server::Double(double) => (double.url.clone(), crate::argo::TOKEN.to_owned()),
            Server::Polyphemus(app) => (format!("{}/argo", app.base), app.admin.clone()),
        };
        let mut settings = ArgoSettings::new(url, NAMESPACE);
        settings.token =
            Some(ArgoToken::from_text(&token, "POLYPHEMUS_ARGO_TOKEN".into()).expect("token"));
        settings.retries = 2;
        settings.backoff = Duration::from_millis(20);
        settings.poll_interval = Duration::from_millis(100);
        settings.timeout = Duration::from_secs(10);
        ArgoOrchestrator::new(settings).expect("settings")
    }

    /// Lets the workflow go on to `outcome`: the double is told; Polyphemus's steps decide.
    fn finish(&self, name: &str, outcome: Outcome) {
        if let Server::Double(double) = self {
            double.finish(name, outcome);
        }
    }

    /// Its first step is running (the double starts it; Polyphemus's is on its way).
    fn start_first_step(&self, name: &str) {
        if let Server::Double(double) = self {
            double.start_first_step(name);
        }
    }

    fn suspend_at_first_step(&self, name: &str) {
        if let Server::Double(double) = self {
            double.suspend_at_first_step(name);
        }
    }

    fn assert_contract_kept(&self) {
        if let Server::Double(double) = self {
            double.assert_contract_kept();
        }
    }
}

fn submission(yaml: &str, parameters: &[(&str, &str)], label: &str) -> Submission {
    Submission {
        workflow_yaml: yaml.to_owned(),
        parameters: parameters
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect(),
        labels: BTreeMap::from([("contract".to_owned(), label.to_owned())]),
        task_token: None,
        uid: None,
        templates: Default::default(),
    }
}

/// The Pod node shown as `display`.
fn pod<'a>(workflow: &'a Value, display: &str) -> Option<(&'a String, &'a Value)> {
    workflow["status"]["nodes"]
        .as_object()?
        .iter()
        .find(|(_, node)| node["type"] == "Pod" && node["displayName"] == display)
}

/// Waits until `ready` holds of the workflow.
async fn until(orchestrator: &ArgoOrchestrator, name: &str, ready: impl Fn(&Value) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let workflow = orchestrator.workflow(NAMESPACE, name).await.expect("read");
        if ready(&workflow) {
            return;
        }
        assert!(Instant::now() < deadline, "{workflow:#}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn ended(orchestrator: &ArgoOrchestrator, name: &str) -> Value {
    tokio::time::timeout(
        Duration::from_secs(30),
        orchestrator.wait_finished(NAMESPACE, name),
    )
    .await
    .expect("the workflow ends")
    .expect("wait");
    orchestrator.workflow(NAMESPACE, name).await.expect("read")
}

/// Submitted, read back, logged and listed: the same answers from both servers.
async fn a_workflow_runs_and_reads_back(server: &Server) {
    let orchestrator = server.orchestrator().await;
    let label = uuid::Uuid::new_v4().to_string();
    let submitted = orchestrator
        .submit(submission(STEPS, &[], &label))
        .await
        .expect("submit");
    assert_eq!(submitted.namespace, NAMESPACE);
    server.finish(&submitted.name, Outcome::Succeeded);
    let workflow = ended(&orchestrator, &submitted.name).await;
    assert_eq!(workflow["status"]["phase"], "Succeeded", "{workflow:#}");
    assert_eq!(workflow["metadata"]["uid"], submitted.uid.to_string());
    assert_eq!(workflow["metadata"]["labels"]["contract"], label.as_str());

    let logs = orchestrator
        .logs(NAMESPACE, &submitted.name, 1 << 20)
        .await
        .expect("logs");
    for step in ["greet", "copy", "report"] {
        let (id, node) = pod(&workflow, step).unwrap_or_else(|| panic!("{step}: {workflow:#}"));
        assert_eq!(node["phase"], "Succeeded", "{node}");
        let log = logs.get(id).unwrap_or_else(|| panic!("{step}: {logs:?}"));
        let lines: Vec<&str> = log.text.lines().collect();
        assert_eq!(
            lines,
            [format!("{step}: starting"), format!("{step}: done")]
        );
        let mut pieces = orchestrator
            .node_log_pieces(&workflow, id)
            .await
            .expect("pieces");
        let mut whole = String::new();
        while let Some(piece) = pieces.next().await {
            whole.push_str(&piece.expect("piece"));
        }
        assert_eq!(whole.lines().collect::<Vec<_>>(), lines, "{step}");
    }
    let exit = workflow["status"]["nodes"]
        .as_object()
        .expect("nodes")
        .values()
        .find(|node| node["name"] == format!("{}.onExit", submitted.name))
        .unwrap_or_else(|| panic!("no exit handler node: {workflow:#}"));
    assert_eq!(exit["phase"], "Succeeded");

    let listed = orchestrator
        .list(NAMESPACE, &format!("contract={label}"))
        .await
        .expect("list");
    let names: Vec<&Value> = listed.iter().map(|w| &w["metadata"]["name"]).collect();
    assert_eq!(names, [&Value::String(submitted.name.clone())]);

    // `argo delete` of the ended workflow: gone, and a second delete is no error.
    for _ in 0..2 {
        orchestrator
            .delete(NAMESPACE, &submitted.name, &submitted.uid)
            .await
            .expect("delete");
    }
    let gone = orchestrator.workflow(NAMESPACE, &submitted.name).await;
    assert!(
        matches!(gone, Err(OrchestratorError::NotFound(_))),
        "{gone:?}"
    );
    server.assert_contract_kept();
}

/// A failed step fails the workflow and the steps after it never run.
async fn a_failed_step_fails_the_workflow(server: &Server) {
    let orchestrator = server.orchestrator().await;
    let submitted = orchestrator
        .submit(submission(STEPS, &[("fail_at", "copy")], "failing"))
        .await
        .expect("submit");
    server.finish(&submitted.name, Outcome::FailAt("copy"));
    let workflow = ended(&orchestrator, &submitted.name).await;
    assert_eq!(workflow["status"]["phase"], "Failed", "{workflow:#}");
    let (_, copy) = pod(&workflow, "copy").expect("copy ran");
    assert_eq!(copy["phase"], "Failed");
    let message = copy["message"].as_str().unwrap_or_default();
    assert!(message.contains("exit code 1"), "{copy}");
    assert!(pod(&workflow, "report").is_none(), "{workflow:#}");
    server.assert_contract_kept();
}

/// `argo stop` runs the exit handler and `argo terminate` does not; both end what runs.
async fn stop_and_terminate_end_a_running_workflow(server: &Server) {
    let orchestrator = server.orchestrator().await;
    for mode in [StopMode::Stop, StopMode::Terminate] {
        let submitted = orchestrator
            .submit(submission(STEPS, &[("hold", "60")], "held"))
            .await
            .expect("submit");
        server.start_first_step(&submitted.name);
        until(&orchestrator, &submitted.name, |workflow| {
            pod(workflow, "greet").is_some_and(|(_, node)| node["phase"] == "Running")
        })
        .await;
        orchestrator
            .stop(NAMESPACE, &submitted.name, mode)
            .await
            .expect("stop");
        let workflow = ended(&orchestrator, &submitted.name).await;
        assert_eq!(workflow["status"]["phase"], "Failed", "{workflow:#}");
        let strategy = if mode == StopMode::Stop {
            "Stop"
        } else {
            "Terminate"
        };
        assert_eq!(
            workflow["status"]["message"],
            format!("Stopped with strategy '{strategy}'")
        );
        let (_, greet) = pod(&workflow, "greet").expect("greet");
        assert_eq!(greet["phase"], "Failed", "{greet}");
        let exit_ran = workflow["status"]["nodes"]
            .as_object()
            .expect("nodes")
            .values()
            .any(|node| node["name"] == format!("{}.onExit", submitted.name));
        assert_eq!(exit_ran, mode == StopMode::Stop, "{workflow:#}");
    }
    server.assert_contract_kept();
}

/// A suspended workflow is resumed once; a second resume finds nothing suspended.
async fn a_suspended_workflow_is_resumed_once(server: &Server) {
    let orchestrator = server.orchestrator().await;
    let submitted = orchestrator
        .submit(submission(APPROVAL, &[], "approval"))
        .await
        .expect("submit");
    server.suspend_at_first_step(&submitted.name);
    until(
        &orchestrator,
        &submitted.name,
        polyphemus_core::orchestrators::workflow_is_suspended,
    )
    .await;
    orchestrator
        .resume(NAMESPACE, &submitted.name)
        .await
        .expect("resume");
    until(&orchestrator, &submitted.name, |workflow| {
        !polyphemus_core::orchestrators::workflow_is_suspended(workflow)
    })
    .await;
    let again = orchestrator.resume(NAMESPACE, &submitted.name).await;
    assert!(
        matches!(again, Err(OrchestratorError::NotSuspended(_))),
        "{again:?}"
    );
    server.finish(&submitted.name, Outcome::Succeeded);
    let workflow = ended(&orchestrator, &submitted.name).await;
    assert_eq!(workflow["status"]["phase"], "Succeeded", "{workflow:#}");
    server.assert_contract_kept();
}

/// `argo suspend` holds what has not started: the running step ends, the next one waits
/// for the resume, then the workflow goes on to its end. An ended workflow is not suspended.
async fn a_running_workflow_is_suspended_then_resumed(server: &Server) {
    let orchestrator = server.orchestrator().await;
    let submitted = orchestrator
        .submit(submission(STEPS, &[("hold", "1")], "paused"))
        .await
        .expect("submit");
    server.start_first_step(&submitted.name);
    until(&orchestrator, &submitted.name, |workflow| {
        pod(workflow, "greet").is_some_and(|(_, node)| node["phase"] == "Running")
    })
    .await;
    orchestrator
        .suspend(NAMESPACE, &submitted.name)
        .await
        .expect("suspend");
    let held = orchestrator
        .workflow(NAMESPACE, &submitted.name)
        .await
        .expect("read");
    assert!(
        polyphemus_core::orchestrators::workflow_is_suspended(&held),
        "{held:#}"
    );
    if let Server::Polyphemus(_) = server {
        // The engine runs for real: greet finishes, copy does not start.
        until(&orchestrator, &submitted.name, |workflow| {
            pod(workflow, "greet").is_some_and(|(_, node)| node["phase"] == "Succeeded")
        })
        .await;
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let held = orchestrator
            .workflow(NAMESPACE, &submitted.name)
            .await
            .expect("read");
        let copy = pod(&held, "copy").map(|(_, node)| node["phase"].clone());
        assert!(
            copy.is_none() || copy == Some(Value::from("Pending")),
            "nothing starts while suspended: {held:#}"
        );
    }
    orchestrator
        .resume(NAMESPACE, &submitted.name)
        .await
        .expect("resume");
    server.finish(&submitted.name, Outcome::Succeeded);
    let workflow = ended(&orchestrator, &submitted.name).await;
    assert_eq!(workflow["status"]["phase"], "Succeeded", "{workflow:#}");
    assert!(pod(&workflow, "report").is_some(), "{workflow:#}");
    let again = orchestrator.suspend(NAMESPACE, &submitted.name).await;
    assert!(
        matches!(again, Err(OrchestratorError::Invalid(_))),
        "{again:?}"
    );
    server.assert_contract_kept();
}

/// `argo retry` of a failed workflow runs it again in place: the same name and uid, the
/// succeeded step kept as it was, the failed one and what follows run with the new
/// arguments. A succeeded workflow is not retried without a selector.
async fn a_failed_workflow_is_retried_in_place(server: &Server) {
    let orchestrator = server.orchestrator().await;
    let submitted = orchestrator
        .submit(submission(STEPS, &[("fail_at", "copy")], "retried"))
        .await
        .expect("submit");
    server.finish(&submitted.name, Outcome::FailAt("copy"));
    let failed = ended(&orchestrator, &submitted.name).await;
    assert_eq!(failed["status"]["phase"], "Failed", "{failed:#}");
    let retry = |parameters: Vec<(String, String)>| Retry {
        name: submitted.name.clone(),
        restart_successful: false,
        node_field_selector: None,
        parameters,
        labels: BTreeMap::new(),
        submitted_parameters: Vec::new(),
        task_token: None,
        templates: Default::default(),
    };
    let overrides = vec![("fail_at".to_owned(), "none".to_owned())];
    orchestrator
        .retry(NAMESPACE, retry(overrides))
        .await
        .expect("retry");
    server.finish(&submitted.name, Outcome::Succeeded);
    let workflow = ended(&orchestrator, &submitted.name).await;
    assert_eq!(workflow["status"]["phase"], "Succeeded", "{workflow:#}");
    assert_eq!(workflow["metadata"]["uid"], submitted.uid.to_string());
    let (_, greet) = pod(&workflow, "greet").expect("greet");
    let (_, before) = pod(&failed, "greet").expect("greet");
    assert_eq!(
        greet["startedAt"], before["startedAt"],
        "kept, not run again"
    );
    for step in ["copy", "report"] {
        let (_, node) = pod(&workflow, step).unwrap_or_else(|| panic!("{step}: {workflow:#}"));
        assert_eq!(node["phase"], "Succeeded", "{node}");
    }
    let again = orchestrator.retry(NAMESPACE, retry(Vec::new())).await;
    assert!(
        matches!(again, Err(OrchestratorError::Invalid(_))),
        "{again:?}"
    );
    server.assert_contract_kept();
}

/// The whole contract against one server.
async fn contract(server: Server) {
    a_workflow_runs_and_reads_back(&server).await;
    a_failed_step_fails_the_workflow(&server).await;
    stop_and_terminate_end_a_running_workflow(&server).await;
    a_suspended_workflow_is_resumed_once(&server).await;
    a_running_workflow_is_suspended_then_resumed(&server).await;
    a_failed_workflow_is_retried_in_place(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_orchestrator_contract_holds_against_the_double() {
    contract(Server::Double(
        ArgoDouble::start(Some(crate::argo::TOKEN)).await,
    ))
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_orchestrator_contract_holds_against_polyphemus_on_sqlite() {
    contract(Server::Polyphemus(Box::new(TestApp::sqlite().await))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_orchestrator_contract_holds_against_polyphemus_on_postgres() {
    if let Some(app) = TestApp::postgres().await {
        contract(Server::Polyphemus(Box::new(app))).await;
    }
}
