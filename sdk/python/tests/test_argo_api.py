"""Argo Server's workflow API on Polyphemus, driven by the real clients: Hera's
`WorkflowsService` submits Hera-built workflows (steps, DAG, loops, parameters, exit
handler) to the local engine and reads them back; the official `argo_workflows` SDK lists,
gets, streams logs of and stops one. Our raw answers are checked against Argo's swagger.json.

Needs `hera`, `argo-workflows` and `jsonschema` (scripts/install-deps.sh puts them in the venv).
"""

from __future__ import annotations

import json
import time
from typing import Any, Dict, Iterator

import pytest

from argo_exchanges import argo_exchanges  # noqa: F401 (autouse: every exchange vs swagger)
from argo_schema import check, raw
from conftest import Server, binary

hera_workflows = pytest.importorskip("hera.workflows")
argo_workflows = pytest.importorskip("argo_workflows")
jsonschema = pytest.importorskip("jsonschema")

from hera.workflows import (  # noqa: E402
    DAG, Container, Parameter, Steps, Workflow, WorkflowsService,
)
from hera.workflows.models import ValueFrom  # noqa: E402

NAMESPACE = "argo-api"
FINAL = ("Succeeded", "Failed", "Error")


@pytest.fixture(scope="module")
def argo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    # Hera's workflows are workflow documents: a server that cannot sandbox steps refuses
    # them unless told otherwise, and these run only trusted test commands.
    running = Server(binary(), tmp_path_factory.mktemp("argo-server"),
                     ["--allow-unsandboxed-steps"])
    yield running
    running.stop()


@pytest.fixture(scope="module")
def service(argo_server: Server) -> WorkflowsService:
    # Hera joins its paths to the host with urljoin: the trailing slash keeps `/argo`.
    return WorkflowsService(host=f"{argo_server.url}/argo/", token=argo_server.admin_token,
                            namespace=NAMESPACE, verify_ssl=False)


def run_to_end(server: Server, service: WorkflowsService, workflow: Workflow) -> Dict[str, Any]:
    """Creates the workflow through Hera, waits for its end; the raw Workflow object."""
    workflow.workflows_service = service
    workflow.namespace = NAMESPACE
    created = workflow.create()
    name = created.metadata.name
    deadline = time.monotonic() + 120
    while True:
        got = service.get_workflow(name=name, namespace=NAMESPACE)
        if got.status and got.status.phase in FINAL:
            break
        assert time.monotonic() < deadline, f"{name} did not end"
        time.sleep(0.3)
    answer = raw(server, f"/api/v1/workflows/{NAMESPACE}/{name}")
    check("io.argoproj.workflow.v1alpha1.Workflow", answer)
    return answer


def nodes_named(workflow: Dict[str, Any], display_name: str) -> list:
    return [n for n in workflow["status"]["nodes"].values() if n["displayName"] == display_name]


def echo(name: str = "echo") -> Container:
    return Container(name=name, image="busybox", command=["sh", "-c"],
                     args=["echo {{inputs.parameters.message}}"],
                     inputs=[Parameter(name="message")])


def test_steps_with_parameters_and_an_output(argo_server: Server, service: WorkflowsService) -> None:
    with Workflow(generate_name="steps-", entrypoint="main",
                  arguments=[Parameter(name="greeting", value="hello")]) as w:
        say = echo()
        shout = Container(name="shout", image="busybox", command=["sh", "-c"],
                          args=["echo LOUD > /tmp/out.txt"],
                          outputs=[Parameter(name="said", value_from=ValueFrom(path="/tmp/out.txt"))])
        with Steps(name="main"):
            say(name="first", arguments={"message": "{{workflow.parameters.greeting}}"})
            shout(name="second")
    ended = run_to_end(argo_server, service, w)
    assert ended["status"]["phase"] == "Succeeded", ended["status"]
    assert nodes_named(ended, "first")[0]["phase"] == "Succeeded"
    second = nodes_named(ended, "second")[0]
    assert second["outputs"]["parameters"][0]["value"] == "LOUD"


def test_a_dag_diamond_runs_in_dependency_order(argo_server: Server, service: WorkflowsService) -> None:
    with Workflow(generate_name="dag-", entrypoint="diamond") as w:
        say = echo()
        with DAG(name="diamond"):
            a = say(name="a", arguments={"message": "a"})
            b = say(name="b", arguments={"message": "b"})
            c = say(name="c", arguments={"message": "c"})
            d = say(name="d", arguments={"message": "d"})
            a >> [b, c] >> d
    ended = run_to_end(argo_server, service, w)
    assert ended["status"]["phase"] == "Succeeded", ended["status"]
    started = {n: nodes_named(ended, n)[0]["startedAt"] for n in "abcd"}
    finished = {n: nodes_named(ended, n)[0]["finishedAt"] for n in "abcd"}
    assert finished["a"] <= started["b"] and finished["a"] <= started["c"]
    assert max(finished["b"], finished["c"]) <= started["d"]


def test_loops_over_items_and_a_parameter(argo_server: Server, service: WorkflowsService) -> None:
    with Workflow(generate_name="loops-", entrypoint="main",
                  arguments=[Parameter(name="fruits", value='["apple", "pear"]')]) as w:
        say = echo()
        with Steps(name="main") as steps:
            say(name="numbers", arguments={"message": "{{item}}"}, with_items=[1, 2, 3])
            say(name="fruit", arguments={"message": "{{item}}"},
                with_param="{{workflow.parameters.fruits}}")
    ended = run_to_end(argo_server, service, w)
    assert ended["status"]["phase"] == "Succeeded", ended["status"]
    names = {n["displayName"] for n in ended["status"]["nodes"].values()}
    assert {"numbers(0:1)", "numbers(1:2)", "numbers(2:3)"} <= names, names
    assert {"fruit(0:apple)", "fruit(1:pear)"} <= names, names


def test_an_exit_handler_runs_after_a_failure(argo_server: Server, service: WorkflowsService) -> None:
    with Workflow(generate_name="exit-", entrypoint="fail", on_exit="goodbye") as w:
        Container(name="fail", image="busybox", command=["sh", "-c", "exit 3"])
        Container(name="goodbye", image="busybox",
                  command=["sh", "-c", "echo status was {{workflow.status}}"])
    ended = run_to_end(argo_server, service, w)
    assert ended["status"]["phase"] == "Failed", ended["status"]
    exit_nodes = [n for n in ended["status"]["nodes"].values() if n["displayName"].endswith(".onExit")]
    assert exit_nodes and exit_nodes[0]["phase"] == "Succeeded", ended["status"]["nodes"]


def sdk_api(server: Server) -> Any:
    from argo_workflows.api import workflow_service_api
    configuration = argo_workflows.Configuration(host=f"{server.url}/argo")
    configuration.verify_ssl = False
    client = argo_workflows.ApiClient(configuration, header_name="Authorization",
                                      header_value=f"Bearer {server.admin_token}")
    return workflow_service_api.WorkflowServiceApi(client)


def test_the_argo_sdk_lists_gets_streams_logs_and_stops(argo_server: Server,
                                                        service: WorkflowsService) -> None:
    with Workflow(generate_name="sleepy-", entrypoint="main", labels={"suite": "sdk"}) as w:
        Container(name="main", image="busybox", command=["sh", "-c", "echo awake; sleep 60"])
    w.workflows_service = service
    w.namespace = NAMESPACE
    name = w.create().metadata.name
    api = sdk_api(argo_server)

    listed = api.list_workflows(NAMESPACE, list_options_label_selector="suite=sdk")
    assert [item.metadata.name for item in listed.items] == [name]
    check("io.argoproj.workflow.v1alpha1.WorkflowList",
          raw(argo_server, f"/api/v1/workflows/{NAMESPACE}"))
    got = api.get_workflow(NAMESPACE, name)
    assert got.metadata.namespace == NAMESPACE and got.metadata.uid

    deadline = time.monotonic() + 30
    lines: list = []
    while not lines:
        assert time.monotonic() < deadline, "no log line"
        response = api.workflow_logs(NAMESPACE, name, log_options_container="main",
                                     _preload_content=False)
        lines = [json.loads(line) for line in response.data.decode().splitlines() if line]
        time.sleep(0.3)
    assert lines[0]["result"]["content"] == "awake"
    check("io.argoproj.workflow.v1alpha1.LogEntry", lines[0]["result"])
    # The same pod's lines by its own route (PodLogs), by the pod name the line gave.
    pod = lines[0]["result"]["podName"]
    response = api.pod_logs(NAMESPACE, name, pod, log_options_container="main",
                            _preload_content=False)
    by_pod = [json.loads(line) for line in response.data.decode().splitlines() if line]
    assert by_pod[0]["result"] == {"content": "awake", "podName": pod}, by_pod
    with pytest.raises(argo_workflows.exceptions.NotFoundException) as unknown:
        api.pod_logs(NAMESPACE, name, "no-such-pod", _preload_content=False)
    assert json.loads(unknown.value.body)["code"] == 5

    from argo_workflows.model.io_argoproj_workflow_v1alpha1_workflow_stop_request import (
        IoArgoprojWorkflowV1alpha1WorkflowStopRequest,
    )
    api.stop_workflow(NAMESPACE, name, IoArgoprojWorkflowV1alpha1WorkflowStopRequest(
        name=name, namespace=NAMESPACE))
    deadline = time.monotonic() + 30
    while api.get_workflow(NAMESPACE, name).status.phase not in FINAL:
        assert time.monotonic() < deadline, "the stopped workflow did not end"
        time.sleep(0.3)


def first_event(api: Any, name: str) -> Dict[str, Any]:
    """The first line of the SDK's watch of one workflow, read as it streams (the recorder
    checks each line as it is read); the watch is then left."""
    response = api.watch_workflows(
        NAMESPACE, list_options_field_selector=f"metadata.name={name}", _preload_content=False)
    try:
        for line in response:
            if line.strip():
                return json.loads(line)["result"]
        raise AssertionError("the watch ended without an event")
    finally:
        response.close()


def until_final(service: WorkflowsService, name: str) -> None:
    deadline = time.monotonic() + 30
    while service.get_workflow(name, namespace=NAMESPACE).status.phase not in FINAL:
        assert time.monotonic() < deadline, f"{name} did not end"
        time.sleep(0.3)


def test_the_clients_lint_watch_suspend_resume_terminate_resubmit_and_delete(
        argo_server: Server, service: WorkflowsService) -> None:
    # Each of these exchanges is checked against swagger.json by argo_exchanges.
    from hera.exceptions import HeraException, NotFound
    from hera.workflows.models import (
        WorkflowResubmitRequest, WorkflowResumeRequest, WorkflowRetryRequest,
        WorkflowTerminateRequest,
    )

    with Workflow(generate_name="actions-", entrypoint="main", namespace=NAMESPACE,
                  workflows_service=service) as w:
        Container(name="main", image="busybox", command=["sh", "-c", "echo up; sleep 30"])
    assert w.lint().metadata.generate_name == "actions-"
    name = w.create().metadata.name
    api = sdk_api(argo_server)
    event = first_event(api, name)
    assert event["type"] == "ADDED" and event["object"]["metadata"]["name"] == name

    from argo_workflows.model.io_argoproj_workflow_v1alpha1_workflow_suspend_request import (
        IoArgoprojWorkflowV1alpha1WorkflowSuspendRequest,
    )
    suspended = api.suspend_workflow(
        NAMESPACE, name, IoArgoprojWorkflowV1alpha1WorkflowSuspendRequest(name=name,
                                                                          namespace=NAMESPACE))
    assert suspended.spec.suspend
    resumed = service.resume_workflow(
        name, WorkflowResumeRequest(name=name, namespace=NAMESPACE), namespace=NAMESPACE)
    assert not resumed.spec.suspend
    service.terminate_workflow(name, WorkflowTerminateRequest(name=name, namespace=NAMESPACE),
                               namespace=NAMESPACE)
    until_final(service, name)

    again = service.resubmit_workflow(
        name, WorkflowResubmitRequest(name=name, namespace=NAMESPACE), namespace=NAMESPACE)
    assert again.metadata.name != name
    # A running workflow is not retried (test_argo_retry.py retries a failed one).
    with pytest.raises(HeraException, match="phase Running"):
        service.retry_workflow(again.metadata.name, WorkflowRetryRequest(
            name=again.metadata.name, namespace=NAMESPACE), namespace=NAMESPACE)
    with pytest.raises(HeraException, match="400"):  # it ended
        service.terminate_workflow(name, WorkflowTerminateRequest(name=name, namespace=NAMESPACE),
                                   namespace=NAMESPACE)
    service.terminate_workflow(again.metadata.name, WorkflowTerminateRequest(
        name=again.metadata.name, namespace=NAMESPACE), namespace=NAMESPACE)
    until_final(service, again.metadata.name)
    for each in (again.metadata.name, name):
        api.delete_workflow(NAMESPACE, each)
    with pytest.raises(NotFound):
        service.get_workflow(name, namespace=NAMESPACE)
    with pytest.raises(argo_workflows.exceptions.NotFoundException):
        api.get_workflow(NAMESPACE, name)


def test_an_operation_polyphemus_lacks_answers_an_argo_error(argo_server: Server,
                                                            service: WorkflowsService) -> None:
    # Argo's /info and /userinfo are operations Polyphemus does not implement: the clients
    # get an Argo error they read (404, code 5), not the v1 API's problem document (which
    # Hera failed on with a KeyError: 'message'); argo_exchanges holds it to swagger.json.
    from hera.exceptions import NotFound
    with pytest.raises(NotFound, match="no route /argo/api/v1/info"):
        service.get_info()
    with pytest.raises(NotFound, match="no route /argo/api/v1/userinfo"):
        service.get_user_info()
