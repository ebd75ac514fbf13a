"""Hera's own example scripts (vendored unchanged in hera_examples/, see SOURCE.md there) run
against Polyphemus's Argo Server API as they would against Argo: each module's Workflow `w`
is submitted with `WorkflowsService(host=…)`, waited for, read back raw and checked against
Argo's swagger, then held to what Argo does with it (its final phase and one more fact: the
pods that ran or not, an output parameter, a result or a log line).

The examples' `python` scripts run this interpreter; `cowsay` and `argosay` are the stand-ins
of the engine's Argo example corpus (crates/engine/tests/argo-examples-bin).

Needs `hera` and `jsonschema` (scripts/install-deps.sh puts them in the venv).
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Dict, Iterator, List, Optional, Set, Tuple

import pytest

# argo_exchanges: autouse, every exchange of these tests against swagger.json.
from argo_exchanges import argo_exchanges, observe  # noqa: F401
from argo_schema import check, raw
from conftest import REPO, Server, binary, clean_env

pytest.importorskip("hera.workflows")
pytest.importorskip("jsonschema")

from hera.workflows import WorkflowsService  # noqa: E402

EXAMPLES = Path(__file__).resolve().parent / "hera_examples"
STAND_INS = REPO / "crates" / "engine" / "tests" / "argo-examples-bin"
NAMESPACE = "hera-examples"
FINAL = ("Succeeded", "Failed", "Error")
TIMEOUT = 120.0


@pytest.fixture(scope="module")
def argo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("hera-examples")
    # Hera's scripts run `python` (and some examples `python3`): this interpreter, whatever
    # PATH holds. Its own directory goes on PATH too: the step sandbox keeps PATH entries (for
    # a venv, the venv and the Python it was made from) readable to the steps.
    bin_dir = root / "bin"
    bin_dir.mkdir()
    for name in ("python", "python3"):
        (bin_dir / name).symlink_to(sys.executable)
    path = os.pathsep.join([str(bin_dir), str(STAND_INS), str(Path(sys.executable).parent),
                            os.environ.get("PATH", "")])
    # Workflow documents need the sandbox or this flag; these run only the trusted examples.
    running = Server(binary(), root, ["--allow-unsandboxed-steps"], env=clean_env(PATH=path))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def service(argo_server: Server) -> WorkflowsService:
    # Hera joins its paths to the host with urljoin: the trailing slash keeps `/argo`.
    return WorkflowsService(host=f"{argo_server.url}/argo/", token=argo_server.admin_token,
                            namespace=NAMESPACE, verify_ssl=False)


def load(file: str) -> ModuleType:
    """The example module, run from its path (each builds its Workflow as `w`)."""
    path = EXAMPLES / file
    spec = importlib.util.spec_from_file_location(f"hera_example_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Ended:
    """A workflow as the API reads it back once it ended, and the logs of its pods."""

    def __init__(self, server: Server, workflow: Dict[str, Any]) -> None:
        self.server = server
        self.workflow = workflow
        self.name: str = workflow["metadata"]["name"]
        self.phase: str = workflow["status"]["phase"]
        self.all: List[Dict[str, Any]] = list(workflow["status"].get("nodes", {}).values())

    def __repr__(self) -> str:
        return json.dumps(self.workflow["status"], indent=1)

    def node(self, display_name: str) -> Dict[str, Any]:
        found = [n for n in self.all if n["displayName"] == display_name]
        assert len(found) == 1, (display_name, sorted(n["displayName"] for n in self.all))
        return found[0]

    def pods(self) -> Set[str]:
        """The displayNames of the Pod nodes (the steps that ran)."""
        return {n["displayName"] for n in self.all if n["type"] == "Pod"}

    def phases(self, *display_names: str) -> Dict[str, str]:
        return {d: self.node(d)["phase"] for d in display_names}

    def result(self, display_name: str) -> str:
        """`outputs.result` of a script node: its standard output."""
        return str(self.node(display_name).get("outputs", {}).get("result"))

    def parameter(self, display_name: str, name: str, kind: str = "outputs") -> Optional[str]:
        for p in self.node(display_name).get(kind, {}).get("parameters", []):
            if p["name"] == name:
                return p.get("value")
        return None

    def log(self, display_name: str) -> List[str]:
        """The lines the node's main container printed (Argo's log stream, one pod)."""
        query = urllib.parse.urlencode({"podName": self.node(display_name)["id"],
                                        "logOptions.container": "main"})
        request = urllib.request.Request(
            f"{self.server.url}/argo/api/v1/workflows/{NAMESPACE}/{self.name}/log?{query}",
            headers={"Authorization": f"Bearer {self.server.admin_token}"})
        with urllib.request.urlopen(request, timeout=30) as response:
            body = response.read()
        observe("GET", request.full_url, None, response.status, body)
        lines = body.decode().splitlines()
        return [json.loads(line)["result"]["content"] for line in lines if line]


def started_after(ended: Ended, later: str, *earlier: str) -> None:
    start = ended.node(later)["startedAt"]
    for e in earlier:
        assert ended.node(e)["finishedAt"] <= start, (e, later, ended)


# What Argo does with each example: its final phase, and a check of the nodes it makes.


def steps_with_callable_container(e: Ended) -> None:
    # hello1, then hello2a and hello2b in parallel.
    assert e.pods() == {"hello1", "hello2a", "hello2b"}, e
    started_after(e, "hello2a", "hello1")
    started_after(e, "hello2b", "hello1")
    assert e.node("[1]")["type"] == "StepGroup"
    assert "< hello2a >" in e.log("hello2a")


def dag_diamond_with_script(e: Ended) -> None:
    assert e.pods() == {"A", "B", "C", "D"}, e
    started_after(e, "B", "A")
    started_after(e, "C", "A")
    started_after(e, "D", "B", "C")
    assert [e.result(t) for t in "ABCD"] == ["A", "B", "C", "D"]


def complex_deps(e: Ended) -> None:
    # b raises (p < 0.5); d's `a && (b || c)` still holds through c, and d, the DAG's only
    # target, succeeds: so does the DAG.
    assert e.phases("a", "b", "c", "d") == {
        "a": "Succeeded", "b": "Failed", "c": "Succeeded", "d": "Succeeded"}
    assert e.result("d") == "42"


def passing_task_result(e: Ended) -> None:
    assert e.parameter("in-", "a", "inputs") == "42"
    assert e.result("in-") == "42"


def any_success_all_fail(e: Ended) -> None:
    # random.seed(a): 1 -> 0.134 and 3 -> 0.238 fail, 2 -> 0.956 succeeds, so t2 runs
    # (t1.AnySucceeded); all of t2 fails, so t3 runs (t2.AllFailed).
    assert e.phases("t1(0:1)", "t1(1:2)", "t1(2:3)") == {
        "t1(0:1)": "Failed", "t1(1:2)": "Succeeded", "t1(2:3)": "Failed"}
    assert {e.node(f"t2({i}:{i + 1})")["phase"] for i in range(3)} == {"Failed"}
    assert [e.result(f"t3({i}:{i + 1})") for i in range(3)] == ["1", "2", "3"]


def basic_fanout(e: Ended) -> None:
    # A map item is named by its sorted `key:value`s; `{{item}}` is it as JSON.
    assert e.pods() == {
        "print-message-loop-with-items-list(0:hello world)",
        "print-message-loop-with-items-list(1:goodbye world)",
        "print-message-loop-with-items-dict(0:message:hello world)",
        "print-message-loop-with-items-dict(1:message:goodbye world)",
        'print-message-loop-with-items-list-of-dicts(0:{"my-key": "hello world"})',
        'print-message-loop-with-items-list-of-dicts(1:{"my-other-key": "goodbye world"})',
    }, e
    assert e.result("print-message-loop-with-items-list(1:goodbye world)") == "goodbye world"
    assert (e.result("print-message-loop-with-items-dict(0:message:hello world)")
            == "{'message': 'hello world'}")
    assert (e.result('print-message-loop-with-items-list-of-dicts(0:{"my-key": "hello world"})')
            == "{'my-key': 'hello world'}")


def dynamic_fanout(e: Ended) -> None:
    values = json.loads(e.result("generate"))
    assert 8 <= len(values) <= 12 and values == list(range(len(values)))
    assert e.pods() == {"generate", *(f"consume({i}:{i})" for i in values)}, e
    assert e.result(f"consume({values[-1]}:{values[-1]})") == f"Received value: {values[-1]}!"


def fan_in(e: Ended) -> None:
    for i in range(10):
        assert e.parameter(f"fanout({i}:value:{i})", "value") == str(i)
    # `tasks.fanout.outputs.parameters.value`: the values of all the fan-out as a JSON list.
    gathered = e.parameter("fanin", "values", "inputs")
    assert gathered is not None
    assert sorted(str(v) for v in json.loads(gathered)) == [str(i) for i in range(10)]


def with_sequence(e: Ended) -> None:
    n = int(e.result("t1"))
    assert 4 <= n <= 6
    up = {f"t2({i}:{i})" for i in range(n)}
    # From n down to 1, formatted with `2020-05-%02X`.
    down = {f"t3({i}:2020-05-{n - i:02X})" for i in range(n)}
    assert e.pods() == {"t1"} | up | down, e
    assert e.result(f"t3(0:2020-05-{n:02X})") == f"2020-05-{n:02X}"


def script_argument_mapping(e: Ended) -> None:
    names = {f"test-key-mapping({i}:key_1:value:1-{i + 1},key_2:value:2-{i + 1})"
             for i in range(4)}
    assert e.pods() == names, e
    assert (e.result("test-key-mapping(3:key_1:value:1-4,key_2:value:2-4)")
            == "value:1-4, value:2-4")


def workflow_on_exit(e: Ended) -> None:
    # The exit DAG runs after the workflow succeeded: t3 and t4 (when Succeeded) run, t5 and
    # t6 (when Error) are skipped.
    assert e.node(f"{e.name}.onExit")["phase"] == "Succeeded"
    assert e.pods() == {"t1", "t2", "t3", "t4"}, e
    assert e.phases("t5", "t6") == {"t5": "Skipped", "t6": "Skipped"}
    assert e.result("t4") == "2"


def default_parameters(e: Ended) -> None:
    assert e.parameter("consume-default", "message", "inputs") == "Hello, world!"
    assert e.result("consume-default") == "Hello, world!\n42"
    assert e.result("consume-argument") == "Another message for the world!\n42"


def output_parameters(e: Ended) -> None:
    # The output parameter from the file `/test`, outside /tmp.
    assert e.parameter("out", "a") == "test"
    assert e.result("in-") == "test"


def global_parameters(e: Ended) -> None:
    # The entrypoint is the container itself: its node is named after the workflow.
    assert e.pods() == {e.name}
    assert e.log(e.name) == ["hello world"]


def exit_handlers(e: Ended) -> None:
    # The entrypoint fails on purpose; the handler notifies and cries, and does not celebrate.
    assert e.node(e.name)["phase"] == "Failed"
    assert e.node(f"{e.name}.onExit")["phase"] == "Succeeded"
    assert e.phases("notify", "celebrate", "cry") == {
        "notify": "Succeeded", "celebrate": "Skipped", "cry": "Succeeded"}
    [mail] = e.log("notify")
    # `{{workflow.failures}}` is JSON; `sh -c` drops its quotes.
    assert mail.startswith(f"send e-mail: {e.name} Failed "), mail
    assert "templateName:intentional-fail" in mail, mail
    assert e.log("cry") == ["boohoo!"]


def dag_enhanced_depends(e: Ended) -> None:
    # C fails; `B && C` does not hold, so should-not-execute is omitted, and the DAG's targets
    # (should-execute-1 and -3) succeed.
    assert e.pods() == {"A", "B", "C", "should-execute-1", "should-execute-2",
                        "should-execute-3"}, e
    assert e.node("C")["phase"] == "Failed"
    assert e.node("should-not-execute")["phase"] == "Omitted"


def basic_artifacts(e: Ended) -> None:
    # The writer's /tmp/file reaches the consumer's /tmp/file through the artifact repository.
    assert e.pods() == {"writer", "consumer"}, e
    assert e.result("consumer") == "['Hello, world!']"
    [artifact] = e.node("writer")["outputs"]["artifacts"]
    assert artifact["name"] == "out-art", artifact


def artifact_with_fanout(e: Ended) -> None:
    # The fanout task reads the writer's ten lines and prints them as a JSON list; one
    # consumer per item.
    assert json.loads(e.result("fanout")) == [str(i) for i in range(10)]
    assert e.pods() == {"writer", "fanout", *(f"consumer({i}:{i})" for i in range(10))}, e
    assert e.result("consumer(9:9)") == "9"


def artifacts_in_dags(e: Ended) -> None:
    # The first DAG lifts its task's artifact as its own output; the second DAG's task reads it.
    dag_output = e.node("generate-artifact-dag")["outputs"]["artifacts"]
    assert [a["name"] for a in dag_output] == ["hello-file"], dag_output
    assert e.log("print-message-from-file") == ["hello world"]


Check = Callable[[Ended], None]
EXPECTED: Dict[str, Tuple[str, Check]] = {
    "steps_with_callable_container.py": ("Succeeded", steps_with_callable_container),
    "dag_diamond_with_script.py": ("Succeeded", dag_diamond_with_script),
    "complex_deps.py": ("Succeeded", complex_deps),
    "passing_task_result.py": ("Succeeded", passing_task_result),
    "any_success_all_fail.py": ("Succeeded", any_success_all_fail),
    "dag_enhanced_depends.py": ("Succeeded", dag_enhanced_depends),
    "basic_fanout.py": ("Succeeded", basic_fanout),
    "dynamic_fanout.py": ("Succeeded", dynamic_fanout),
    "fan_in.py": ("Succeeded", fan_in),
    "with_sequence.py": ("Succeeded", with_sequence),
    "script_argument_mapping.py": ("Succeeded", script_argument_mapping),
    "global_parameters.py": ("Succeeded", global_parameters),
    "default_parameters.py": ("Succeeded", default_parameters),
    "output_parameters.py": ("Succeeded", output_parameters),
    "workflow_on_exit.py": ("Succeeded", workflow_on_exit),
    "exit_handlers.py": ("Failed", exit_handlers),
    "basic_artifacts.py": ("Succeeded", basic_artifacts),
    "artifact_with_fanout.py": ("Succeeded", artifact_with_fanout),
    "artifacts_in_dags.py": ("Succeeded", artifacts_in_dags),
}


def test_every_vendored_example_has_an_expectation() -> None:
    assert sorted(p.name for p in EXAMPLES.glob("*.py")) == sorted(EXPECTED)


@pytest.mark.parametrize("file", sorted(EXPECTED), ids=lambda f: f[:-3])
def test_example(argo_server: Server, service: WorkflowsService, file: str) -> None:
    w = load(file).w
    w.workflows_service = service
    w.namespace = NAMESPACE
    name = w.create().metadata.name
    deadline = time.monotonic() + TIMEOUT
    while True:
        got = service.get_workflow(name=name, namespace=NAMESPACE)
        if got.status and got.status.phase in FINAL:
            break
        assert time.monotonic() < deadline, f"{name} did not end: {got.status}"
        time.sleep(0.3)
    answer = raw(argo_server, f"/api/v1/workflows/{NAMESPACE}/{name}")
    check("io.argoproj.workflow.v1alpha1.Workflow", answer)
    ended = Ended(argo_server, answer)
    phase, holds = EXPECTED[file]
    assert ended.phase == phase, ended
    holds(ended)
