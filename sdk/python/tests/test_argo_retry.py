"""`argo retry` through Hera's `WorkflowsService.retry_workflow`: a failed workflow runs again
in place on Polyphemus's local engine, keeping the step that succeeded; a succeeded one is
refused without a node selector, as Argo refuses it.

Needs `hera` and `jsonschema` (scripts/install-deps.sh puts them in the venv).
"""

from __future__ import annotations

import time
from typing import Any, Dict

import pytest

from argo_exchanges import argo_exchanges  # noqa: F401 (autouse: every exchange vs swagger)
from argo_schema import check
from conftest import Server

hera_workflows = pytest.importorskip("hera.workflows")
jsonschema = pytest.importorskip("jsonschema")

from hera.exceptions import HeraException  # noqa: E402
from hera.workflows import Container, Parameter, Script, Steps, Workflow, WorkflowsService  # noqa: E402
from hera.workflows.models import WorkflowRetryRequest  # noqa: E402

from test_argo_api import FINAL, NAMESPACE, argo_server, nodes_named, run_to_end, service  # noqa: E402,F401
from argo_schema import raw  # noqa: E402


def wait_for_end(server: Server, service: WorkflowsService, name: str) -> Dict[str, Any]:
    """The raw Workflow object once it has ended (again)."""
    deadline = time.monotonic() + 120
    while True:
        got = service.get_workflow(name=name, namespace=NAMESPACE)
        if got.status and got.status.phase in FINAL:
            return raw(server, f"/api/v1/workflows/{NAMESPACE}/{name}")
        assert time.monotonic() < deadline, f"{name} did not end"
        time.sleep(0.3)


def flaky() -> Workflow:
    """A token made once, then a check that fails unless `mode` is `ok`."""
    with Workflow(generate_name="flaky-", entrypoint="main",
                  arguments=[Parameter(name="mode", value="fail")]) as w:
        token = Script(name="token", image="python", command=["sh"],
                       source="cat /proc/sys/kernel/random/uuid")
        check_mode = Container(name="check", image="busybox", command=["sh", "-c"],
                               args=["test '{{workflow.parameters.mode}}' = ok"])
        with Steps(name="main"):
            token(name="token")
            check_mode(name="check")
    return w


def test_a_failed_workflow_is_retried_in_place_keeping_what_succeeded(
        argo_server: Server, service: WorkflowsService) -> None:
    failed = run_to_end(argo_server, service, flaky())
    assert failed["status"]["phase"] == "Failed", failed["status"]
    name = failed["metadata"]["name"]

    retried = service.retry_workflow(name, WorkflowRetryRequest(parameters=["mode=ok"]),
                                     namespace=NAMESPACE)
    assert retried.metadata.uid == failed["metadata"]["uid"]
    ended = wait_for_end(argo_server, service, name)
    check("io.argoproj.workflow.v1alpha1.Workflow", ended)
    assert ended["status"]["phase"] == "Succeeded", ended["status"]
    kept, first = nodes_named(ended, "token")[0], nodes_named(failed, "token")[0]
    assert kept["outputs"] == first["outputs"] and kept["startedAt"] == first["startedAt"]
    assert nodes_named(ended, "check")[0]["phase"] == "Succeeded"

    with pytest.raises(HeraException) as refused:
        service.retry_workflow(name, WorkflowRetryRequest(), namespace=NAMESPACE)
    assert "restartSuccessful and nodeFieldSelector" in str(refused.value)
