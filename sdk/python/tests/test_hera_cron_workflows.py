"""Hera's CronWorkflow against Polyphemus's Argo Server API: created, read, listed, suspended,
resumed, updated, linted and deleted through `WorkflowsService` as against Argo (the ticks
themselves are tested in crates/api/tests/api/argo_cron_schedule.rs).

Needs `hera` (scripts/install-deps.sh puts it in the venv).
"""

from __future__ import annotations

from typing import Iterator

import pytest

from argo_exchanges import argo_exchanges  # noqa: F401 (autouse: every exchange vs swagger)
from conftest import Server, binary

pytest.importorskip("hera.workflows")

from hera.exceptions import AlreadyExists  # noqa: E402
from hera.workflows import Container, CronWorkflow, WorkflowsService  # noqa: E402
from hera.workflows.models import (  # noqa: E402
    CronWorkflowResumeRequest,
    CronWorkflowSuspendRequest,
    LintCronWorkflowRequest,
    UpdateCronWorkflowRequest,
)

NAMESPACE = "hera-cron"


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorkflowsService]:
    running = Server(binary(), tmp_path_factory.mktemp("hera-cron"), ["--allow-unsandboxed-steps"])
    yield WorkflowsService(host=f"{running.url}/argo/", token=running.admin_token,
                           namespace=NAMESPACE, verify_ssl=False)
    running.stop()


def nightly(service: WorkflowsService) -> CronWorkflow:
    with CronWorkflow(name="nightly", schedules=["0 3 * * *"], timezone="Europe/Berlin",
                      concurrency_policy="Forbid", starting_deadline_seconds=300,
                      entrypoint="main", namespace=NAMESPACE,
                      workflows_service=service) as cron:
        Container(name="main", image="busybox", command=["sh", "-c", "echo nightly"])
    return cron


def test_a_cron_workflow_goes_through_its_life_with_hera(service: WorkflowsService) -> None:
    created = nightly(service).create()
    assert created.metadata.name == "nightly"
    assert created.spec.schedules == ["0 3 * * *"]
    with pytest.raises(AlreadyExists):
        nightly(service).create()

    read = service.get_cron_workflow("nightly", namespace=NAMESPACE)
    assert read.spec.timezone == "Europe/Berlin"
    assert read.status.active == []
    names = [c.metadata.name for c in service.list_cron_workflows(namespace=NAMESPACE).items]
    assert names == ["nightly"]

    suspend = CronWorkflowSuspendRequest(name="nightly", namespace=NAMESPACE)
    assert service.suspend_cron_workflow("nightly", suspend, namespace=NAMESPACE).spec.suspend
    resume = CronWorkflowResumeRequest(name="nightly", namespace=NAMESPACE)
    assert not service.resume_cron_workflow("nightly", resume, namespace=NAMESPACE).spec.suspend

    fresh = service.get_cron_workflow("nightly", namespace=NAMESPACE)
    fresh.spec.schedules = ["0 4 * * *"]
    updated = service.update_cron_workflow(
        "nightly", UpdateCronWorkflowRequest(cron_workflow=fresh), namespace=NAMESPACE)
    assert updated.spec.schedules == ["0 4 * * *"]
    assert updated.metadata.resource_version != fresh.metadata.resource_version
    linted = service.lint_cron_workflow(LintCronWorkflowRequest(cron_workflow=fresh),
                                        namespace=NAMESPACE)
    assert linted.metadata.name == "nightly"

    service.delete_cron_workflow("nightly", namespace=NAMESPACE)
    assert not service.list_cron_workflows(namespace=NAMESPACE).items
