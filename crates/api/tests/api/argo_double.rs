//! An Argo Server double: the routes Polyphemus's Argo client uses (submit, get, list by label,
//! per-pod logs, stop, terminate, suspend, resume, retry, delete), in Argo's own shapes. Every request the client sends (body
//! and query names) and every answer the double gives is checked against Argo's `swagger.json`
//! (`third_party/argo-api/`); a mismatch is recorded and fails the test that caused it.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::{Json, Router};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use crate::argo_contract::Contract;
use crate::argo_nodes::{node_ids, pod_node, run_steps, set_completed_label, time};

/// One request the client sent.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: &'static str,
    pub path: String,
    pub query: BTreeMap<String, String>,
    pub body: Value,
    pub authorization: Option<String>,
}

/// How a workflow ends when the test says so.
#[derive(Debug, Clone, Copy)]
pub enum Outcome {
    Succeeded,
    /// This step fails; later steps do not run.
    FailAt(&'static str),
}

#[derive(Default)]
pub(crate) struct Inner {
    pub(crate) workflows: BTreeMap<String, Value>,
    logs: HashMap<String, Vec<String>>,
    requests: Vec<Recorded>,
    violations: Vec<String>,
    token: Option<String>,
    fail_next: usize,
    /// The next submission creates its workflow, then answers 502 (a lost answer).
    lose_next_answer: bool,
}

#[derive(Clone)]
pub struct ArgoDouble {
    pub url: String,
    inner: Arc<Mutex<Inner>>,
}

const WF: &str = "/api/v1/workflows/{namespace}";
const WF_NAME: &str = "/api/v1/workflows/{namespace}/{name}";
const WF_LOG: &str = "/api/v1/workflows/{namespace}/{name}/log";
const WF_STOP: &str = "/api/v1/workflows/{namespace}/{name}/stop";
const WF_TERMINATE: &str = "/api/v1/workflows/{namespace}/{name}/terminate";

impl ArgoDouble {
    /// Serves on a free port; with `token`, only `Authorization: Bearer <token>` is let in.
    pub async fn start(token: Option<&str>) -> Self {
        let inner = Arc::new(Mutex::new(Inner {
            token: token.map(str::to_owned),
            ..Inner::default()
        }));
        let router = Router::new()
            .route(WF, get(list_workflows).post(create_workflow))
            .route(WF_NAME, get(get_workflow).delete(delete_workflow))
            .route(WF_LOG, get(workflow_logs))
            .route(WF_STOP, put(stop_workflow))
            .route(WF_TERMINATE, put(terminate_workflow))
            .route(
                crate::argo_resume::WF_RESUME,
                put(crate::argo_resume::resume_workflow),
            )
            .route(
                crate::argo_resume::WF_SUSPEND,
                put(crate::argo_resume::suspend_workflow),
            )
            .route(
                crate::argo_double_retry::WF_RETRY,
                put(crate::argo_double_retry::retry_workflow),
            )
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        tokio::spawn(async move { axum::serve(listener, router).await.expect("serve") });
        Self { url, inner }
    }

    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().expect("double state")
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.lock().requests.clone()
    }

    pub fn workflow(&self, name: &str) -> Value {
        self.lock().workflows.get(name).cloned().expect("workflow")
    }

    /// Forgets a workflow, as Argo does when it is deleted or garbage-collected.
    pub fn delete(&self, name: &str) {
        self.lock().workflows.remove(name);
    }

    /// The next `n` requests are answered 503.
    pub fn fail_next(&self, n: usize) {
        self.lock().fail_next = n;
    }

    /// The next submission creates the workflow but its answer is a 502.
    pub fn lose_next_answer(&self) {
        self.lock().lose_next_answer = true;
    }

    /// Fails the test if the client sent, or the double answered, anything swagger.json
    /// does not allow.
    pub fn assert_contract_kept(&self) {
        let violations = self.lock().violations.clone();
        assert!(
            violations.is_empty(),
            "Argo API contract broken:\n{}",
            violations.join("\n")
        );
    }

    /// The entrypoint's first step starts, as Argo reports a running pod: a Running Pod node
    /// under the Running root.
    pub fn start_first_step(&self, name: &str) {
        let mut inner = self.lock();
        let workflow = inner.workflows.get_mut(name).expect("workflow");
        let spec = workflow["spec"].clone();
        let entry = spec["templates"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|t| t["name"] == spec["entrypoint"])
            .cloned()
            .unwrap_or_default();
        let step = &entry["steps"][0][0];
        let display = step["name"].as_str().expect("a first step");
        let template = step["template"].as_str().unwrap_or_default();
        let node_name = format!("{name}[0].{display}");
        let (id, _) = node_ids(name, &node_name, template);
        let nodes = &mut workflow["status"]["nodes"];
        nodes[&id] = pod_node(&id, &node_name, display, template, "Running", 1);
        nodes[name]["children"] = json!([id]);
    }

    /// Ends the workflow as Argo would report it: one Pod node per step (with logs), the exit
    /// handler's node, the root's phase.
    pub fn finish(&self, name: &str, outcome: Outcome) {
        let mut inner = self.lock();
        let mut workflow = inner.workflows.get(name).cloned().expect("workflow");
        let mut logs = Vec::new();
        let (phase, message, nodes) = run_steps(&workflow, outcome, &mut logs);
        workflow["status"] = json!({
            "phase": phase, "startedAt": time(0), "finishedAt": time(30), "nodes": nodes,
        });
        if let Some(message) = message {
            workflow["status"]["message"] = json!(message);
        }
        set_completed_label(&mut workflow);
        inner.logs.extend(logs);
        inner.workflows.insert(name.to_owned(), workflow);
    }
}

pub(crate) type Shared = State<Arc<Mutex<Inner>>>;

pub(crate) fn grpc_error(status: StatusCode, code: i32, message: &str) -> Response {
    let body = json!({"code": code, "message": message});
    let problems = Contract::get().check("grpc.gateway.runtime.Error", &body);
    assert!(problems.is_empty(), "{problems:?}");
    (status, Json(body)).into_response()
}

/// Records and checks a request; answers 503 or 401 when the test or the token says so.
pub(crate) fn admit(
    inner: &mut Inner,
    route: (&'static str, &str),
    path: String,
    headers: &HeaderMap,
    query: &HashMap<String, String>,
    body: Option<(&str, &Value)>,
) -> Option<Response> {
    let (method, template) = route;
    let names: Vec<String> = query.keys().cloned().collect();
    let contract = Contract::get();
    inner
        .violations
        .extend(contract.undeclared_query(template, method, &names));
    if let Some((definition, body)) = body {
        inner.violations.extend(contract.check(definition, body));
    }
    let authorization = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    inner.requests.push(Recorded {
        method,
        path,
        query: query.clone().into_iter().collect(),
        body: body.map(|(_, b)| b.clone()).unwrap_or(Value::Null),
        authorization: authorization.clone(),
    });
    if inner.fail_next > 0 {
        inner.fail_next -= 1;
        return Some(grpc_error(
            StatusCode::SERVICE_UNAVAILABLE,
            14,
            "the double is down",
        ));
    }
    if let Some(token) = &inner.token {
        if authorization.as_deref() != Some(&format!("Bearer {token}")) {
            return Some(grpc_error(StatusCode::UNAUTHORIZED, 16, "token not valid"));
        }
    }
    None
}

/// Answers `value`, recording a violation if it is not the route's documented shape.
pub(crate) fn answer(inner: &mut Inner, route: (&'static str, &str), value: Value) -> Response {
    let (method, template) = route;
    inner
        .violations
        .extend(Contract::get().check_response(template, method, &value));
    Json(value).into_response()
}

async fn create_workflow(
    State(inner): Shared,
    Path(namespace): Path<String>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
    Json(body): Json<Value>,
) -> Response {
    let mut inner = inner.lock().expect("double state");
    let route = ("post", WF);
    let body_def = Some(("io.argoproj.workflow.v1alpha1.WorkflowCreateRequest", &body));
    let path = format!("/api/v1/workflows/{namespace}");
    if let Some(refused) = admit(&mut inner, route, path, &headers, &query, body_def) {
        return refused;
    }
    let mut workflow = body["workflow"].clone();
    let prefix = workflow["metadata"]["generateName"]
        .as_str()
        .unwrap_or("wf-");
    let name = format!(
        "{prefix}{}",
        &uuid::Uuid::new_v4().simple().to_string()[..5]
    );
    let metadata = &mut workflow["metadata"];
    metadata["name"] = json!(name);
    metadata["namespace"] = json!(namespace);
    metadata["uid"] = json!(uuid::Uuid::new_v4().to_string());
    metadata["creationTimestamp"] = json!(time(0));
    metadata["resourceVersion"] = json!("1");
    metadata["annotations"] = json!({"workflows.argoproj.io/pod-name-format": "v2"});
    workflow["status"] = json!({
        "phase": "Running", "startedAt": time(0),
        "nodes": {name.clone(): {"id": name, "name": name, "displayName": name, "type": "Steps",
                                 "phase": "Running", "startedAt": time(0)}},
    });
    inner.workflows.insert(name, workflow.clone());
    if std::mem::take(&mut inner.lose_next_answer) {
        return grpc_error(StatusCode::BAD_GATEWAY, 14, "upstream connect error");
    }
    answer(&mut inner, route, workflow)
}

async fn list_workflows(
    State(inner): Shared,
    Path(namespace): Path<String>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let mut inner = inner.lock().expect("double state");
    let route = ("get", WF);
    let path = format!("/api/v1/workflows/{namespace}");
    if let Some(refused) = admit(&mut inner, route, path, &headers, &query, None) {
        return refused;
    }
    let selector: Vec<(String, String)> = query
        .get("listOptions.labelSelector")
        .map(|s| {
            s.split(',')
                .filter_map(|pair| pair.split_once('='))
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect()
        })
        .unwrap_or_default();
    let items: Vec<Value> = inner
        .workflows
        .values()
        .filter(|wf| wf["metadata"]["namespace"] == namespace.as_str())
        .filter(|wf| {
            selector
                .iter()
                .all(|(k, v)| wf["metadata"]["labels"][k] == v.as_str())
        })
        .cloned()
        .collect();
    answer(&mut inner, route, json!({"metadata": {}, "items": items}))
}

async fn get_workflow(
    State(inner): Shared,
    Path((namespace, name)): Path<(String, String)>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let mut inner = inner.lock().expect("double state");
    let route = ("get", WF_NAME);
    let path = format!("/api/v1/workflows/{namespace}/{name}");
    if let Some(refused) = admit(&mut inner, route, path, &headers, &query, None) {
        return refused;
    }
    match inner.workflows.get(&name).cloned() {
        Some(workflow) => answer(&mut inner, route, workflow),
        None => grpc_error(
            StatusCode::NOT_FOUND,
            5,
            &format!("workflows.argoproj.io \"{name}\" not found"),
        ),
    }
}

/// `argo delete`: the workflow is gone (Argo deletes a running one too).
async fn delete_workflow(
    State(inner): Shared,
    Path((namespace, name)): Path<(String, String)>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let mut inner = inner.lock().expect("double state");
    let route = ("delete", WF_NAME);
    let path = format!("/api/v1/workflows/{namespace}/{name}");
    if let Some(refused) = admit(&mut inner, route, path, &headers, &query, None) {
        return refused;
    }
    match inner.workflows.remove(&name) {
        Some(_) => answer(&mut inner, route, json!({})),
        None => grpc_error(
            StatusCode::NOT_FOUND,
            5,
            &format!("workflows.argoproj.io \"{name}\" not found"),
        ),
    }
}

/// The grpc-gateway stream: one `{"result": LogEntry}` JSON object per line.
async fn workflow_logs(
    State(inner): Shared,
    Path((namespace, name)): Path<(String, String)>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let mut inner = inner.lock().expect("double state");
    let route = ("get", WF_LOG);
    let path = format!("/api/v1/workflows/{namespace}/{name}/log");
    if let Some(refused) = admit(&mut inner, route, path, &headers, &query, None) {
        return refused;
    }
    let pod = query.get("podName").cloned().unwrap_or_default();
    let Some(lines) = inner.logs.get(&pod).cloned() else {
        return grpc_error(
            StatusCode::NOT_FOUND,
            5,
            &format!("pods \"{pod}\" not found"),
        );
    };
    let mut stream = String::new();
    for line in lines {
        let entry = json!({"result": {"content": line, "podName": pod}});
        inner
            .violations
            .extend(Contract::get().check_response(WF_LOG, "get", &entry));
        stream.push_str(&entry.to_string());
        stream.push('\n');
    }
    ([("content-type", "application/json")], stream).into_response()
}

async fn stop_workflow(
    state: Shared,
    path: Path<(String, String)>,
    headers: HeaderMap,
    query: Query<HashMap<String, String>>,
    body: Json<Value>,
) -> Response {
    end_workflow(state, path, headers, query, body, false)
}

async fn terminate_workflow(
    state: Shared,
    path: Path<(String, String)>,
    headers: HeaderMap,
    query: Query<HashMap<String, String>>,
    body: Json<Value>,
) -> Response {
    end_workflow(state, path, headers, query, body, true)
}

/// Argo's shutdown: running nodes fail; `Stop` still runs the exit handler, `Terminate` not.
fn end_workflow(
    State(inner): Shared,
    Path((namespace, name)): Path<(String, String)>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
    Json(body): Json<Value>,
    terminate: bool,
) -> Response {
    let mut inner = inner.lock().expect("double state");
    let (route, definition, strategy) = if terminate {
        (
            ("put", WF_TERMINATE),
            "io.argoproj.workflow.v1alpha1.WorkflowTerminateRequest",
            "Terminate",
        )
    } else {
        (
            ("put", WF_STOP),
            "io.argoproj.workflow.v1alpha1.WorkflowStopRequest",
            "Stop",
        )
    };
    let path = format!(
        "/api/v1/workflows/{namespace}/{name}/{}",
        strategy.to_lowercase()
    );
    if let Some(refused) = admit(
        &mut inner,
        route,
        path,
        &headers,
        &query,
        Some((definition, &body)),
    ) {
        return refused;
    }
    let Some(mut workflow) = inner.workflows.get(&name).cloned() else {
        return grpc_error(
            StatusCode::NOT_FOUND,
            5,
            &format!("workflows.argoproj.io \"{name}\" not found"),
        );
    };
    if workflow["status"]["phase"] != "Running" {
        return grpc_error(
            StatusCode::BAD_REQUEST,
            9,
            "cannot shutdown a completed workflow",
        );
    }
    let message = format!("Stopped with strategy '{strategy}'");
    let exit_template = workflow["spec"]["onExit"].as_str().map(str::to_owned);
    if let Some(nodes) = workflow["status"]["nodes"].as_object_mut() {
        for node in nodes.values_mut() {
            if node["phase"] == "Running" {
                node["phase"] = json!("Failed");
                node["message"] = json!(format!("workflow shutdown with strategy:  {strategy}"));
                node["finishedAt"] = json!(time(1));
            }
        }
        if !terminate {
            if let Some(exit) = exit_template.as_deref() {
                let node_name = format!("{name}.onExit");
                let (id, pod) = node_ids(&name, &node_name, exit);
                nodes.insert(
                    id.clone(),
                    pod_node(&id, &node_name, &node_name, exit, "Succeeded", 1),
                );
                inner
                    .logs
                    .insert(pod, vec!["recorded the run's metadata".to_owned()]);
            }
        }
    }
    let status = &mut workflow["status"];
    status["phase"] = json!("Failed");
    status["message"] = json!(message);
    status["finishedAt"] = json!(time(2));
    set_completed_label(&mut workflow);
    inner.workflows.insert(name, workflow.clone());
    answer(&mut inner, route, workflow)
}
