"""Argo Server's WorkflowTemplate API on Polyphemus, driven by Hera: templates created, read,
listed, linted, updated and deleted through Hera's `WorkflowTemplate` and `WorkflowsService`,
and workflows that use them on the local engine — based on one (`workflow_template_ref`),
submitted from one (`submit_workflow`), or calling one (`TemplateRef`). Raw answers are checked
against Argo's swagger.json.

Needs `hera` and `jsonschema` (scripts/install-deps.sh puts them in the venv).
"""

from __future__ import annotations

import time
from typing import Any, Dict, Iterator, Optional

import pytest

from argo_exchanges import argo_exchanges  # noqa: F401 (autouse: every exchange vs swagger)
from argo_schema import check, raw
from conftest import Server, binary, clean_env

hera_workflows = pytest.importorskip("hera.workflows")
jsonschema = pytest.importorskip("jsonschema")

from hera.exceptions import AlreadyExists, BadRequest, HeraException, NotFound  # noqa: E402
from hera.workflows import (  # noqa: E402
    Parameter, Script, Step, Steps, Workflow, WorkflowsService, WorkflowTemplate,
)
from hera.workflows.models import (  # noqa: E402
    SubmitOpts, TemplateRef, WorkflowSubmitRequest, WorkflowTemplateRef,
)

NAMESPACE = "hera-templates"
FINAL = ("Succeeded", "Failed", "Error")


@pytest.fixture(scope="module")
def argo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    # Templates run as workflow documents: a server that cannot sandbox steps refuses them
    # unless told otherwise, and these run only trusted test commands.
    running = Server(binary(), tmp_path_factory.mktemp("hera-templates"),
                     ["--allow-unsandboxed-steps"])
    yield running
    running.stop()


@pytest.fixture(scope="module")
def service(argo_server: Server) -> WorkflowsService:
    # Hera joins its paths to the host with urljoin: the trailing slash keeps `/argo`.
    return WorkflowsService(host=f"{argo_server.url}/argo/", token=argo_server.admin_token,
                            namespace=NAMESPACE, verify_ssl=False)


def greeter(name: str, service: WorkflowsService, greeting: str = "hello") -> WorkflowTemplate:
    """A template whose `main` prints `<greeting> {{workflow.parameters.who}}` (its result)."""
    with WorkflowTemplate(name=name, namespace=NAMESPACE, workflows_service=service,
                          entrypoint="main", labels={"suite": "hera-templates"},
                          arguments=[Parameter(name="who", value="world")]) as template:
        Script(name="main", image="busybox", command=["sh"],
               source=f"printf '{greeting} %s' '{{{{workflow.parameters.who}}}}'")
    return template


def template_answer(server: Server, name: str) -> Dict[str, Any]:
    answer = raw(server, f"/api/v1/workflow-templates/{NAMESPACE}/{name}")
    check("io.argoproj.workflow.v1alpha1.WorkflowTemplate", answer)
    return answer


def until_ended(server: Server, service: WorkflowsService, name: str) -> Dict[str, Any]:
    """Waits for the workflow's end; its raw Workflow object, checked against swagger."""
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


def said(workflow: Dict[str, Any]) -> Optional[str]:
    """What the workflow's `main` printed."""
    for node in workflow["status"]["nodes"].values():
        result = (node.get("outputs") or {}).get("result")
        if result is not None:
            return result
    return None


def test_hera_creates_reads_lists_updates_and_deletes_a_template(
        argo_server: Server, service: WorkflowsService) -> None:
    created = greeter("crud", service).create()
    assert created.metadata.name == "crud" and created.metadata.namespace == NAMESPACE
    assert created.metadata.uid and created.metadata.resource_version == "1"
    assert template_answer(argo_server, "crud")["metadata"]["uid"] == created.metadata.uid

    got = service.get_workflow_template(name="crud", namespace=NAMESPACE)
    assert got.spec.arguments.parameters[0].value == "world"
    listed = service.list_workflow_templates(namespace=NAMESPACE,
                                             label_selector="suite=hera-templates")
    assert "crud" in [item.metadata.name for item in listed.items]
    assert service.list_workflow_templates(namespace=NAMESPACE,
                                           label_selector="suite=none").items in (None, [])
    check("io.argoproj.workflow.v1alpha1.WorkflowTemplateList",
          raw(argo_server, f"/api/v1/workflow-templates/{NAMESPACE}"))

    linted = greeter("not-stored", service).lint()
    assert linted.metadata.name == "not-stored"
    with pytest.raises(NotFound):
        service.get_workflow_template(name="not-stored", namespace=NAMESPACE)
    with pytest.raises(AlreadyExists):
        greeter("crud", service).create()

    # Hera's update reads the resourceVersion first, then replaces the template.
    updated = greeter("crud", service, greeting="howdy").update()
    assert updated.metadata.resource_version == "2"
    assert updated.metadata.uid == created.metadata.uid
    assert "howdy" in template_answer(argo_server, "crud")["spec"]["templates"][0]["script"]["source"]
    # ...and creates one that does not exist yet.
    assert greeter("fresh", service).update().metadata.resource_version == "1"

    for name in ("crud", "fresh"):
        service.delete_workflow_template(name=name, namespace=NAMESPACE)
        with pytest.raises(NotFound):
            service.get_workflow_template(name=name, namespace=NAMESPACE)


def test_an_invalid_template_is_refused_naming_what_is_wrong(service: WorkflowsService) -> None:
    with WorkflowTemplate(name="broken", namespace=NAMESPACE, workflows_service=service,
                          entrypoint="main") as broken:
        with Steps(name="main"):
            Step(name="call", template="nowhere")
    with pytest.raises(BadRequest, match="nowhere"):
        broken.create()
    with pytest.raises(BadRequest, match="nowhere"):
        broken.lint()


def test_a_workflow_based_on_a_template_runs_it(argo_server: Server,
                                                 service: WorkflowsService) -> None:
    greeter("base", service).create()
    based = Workflow(generate_name="based-", namespace=NAMESPACE, workflows_service=service,
                     workflow_template_ref=WorkflowTemplateRef(name="base"),
                     arguments=[Parameter(name="who", value="hera")])
    name = based.create().metadata.name
    ended = until_ended(argo_server, service, name)
    assert ended["status"]["phase"] == "Succeeded", ended["status"]
    assert ended["spec"]["workflowTemplateRef"] == {"name": "base"}
    assert said(ended) == "hello hera"


def test_submitting_from_a_template_and_calling_one_by_template_ref(
        argo_server: Server, service: WorkflowsService) -> None:
    greeter("library", service, greeting="hi").create()
    submitted = service.submit_workflow(WorkflowSubmitRequest(
        resource_kind="WorkflowTemplate", resource_name="library",
        submit_options=SubmitOpts(parameters=["who=submit"], labels="suite=submit")),
        namespace=NAMESPACE)
    assert submitted.metadata.labels["workflows.argoproj.io/workflow-template"] == "library"
    ended = until_ended(argo_server, service, submitted.metadata.name)
    assert ended["status"]["phase"] == "Succeeded", ended["status"]
    assert said(ended) == "hi submit"

    with Workflow(generate_name="caller-", entrypoint="calls", namespace=NAMESPACE,
                  workflows_service=service,
                  arguments=[Parameter(name="who", value="a caller")]) as caller:
        with Steps(name="calls"):
            Step(name="greet", template_ref=TemplateRef(name="library", template="main"))
    ended = until_ended(argo_server, service, caller.create().metadata.name)
    assert ended["status"]["phase"] == "Succeeded", ended["status"]
    assert said(ended) == "hi a caller"


def test_a_missing_template_is_refused(service: WorkflowsService) -> None:
    dangling = Workflow(generate_name="dangling-", namespace=NAMESPACE,
                        workflows_service=service,
                        workflow_template_ref=WorkflowTemplateRef(name="nope"))
    with pytest.raises(BadRequest, match="nope"):
        dangling.create()
    with pytest.raises(NotFound, match="nope"):
        service.submit_workflow(WorkflowSubmitRequest(
            resource_kind="WorkflowTemplate", resource_name="nope"), namespace=NAMESPACE)


def test_a_server_that_cannot_sandbox_steps_stores_no_template(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    # Without a sandbox (forced off here) steps would run as the server's user: templates are
    # refused as workflow documents are, and only linted.
    unsandboxed = Server(binary(), tmp_path_factory.mktemp("unsandboxed"),
                         env=clean_env(POLYPHEMUS_ENGINE_ISOLATION="off"))
    try:
        service = WorkflowsService(host=f"{unsandboxed.url}/argo/",
                                   token=unsandboxed.admin_token, namespace=NAMESPACE,
                                   verify_ssl=False)
        assert greeter("held", service).lint().metadata.name == "held"
        with pytest.raises(HeraException, match="503.*sandbox"):
            greeter("held", service).create()
        assert service.list_workflow_templates(namespace=NAMESPACE).items in (None, [])
    finally:
        unsandboxed.stop()
