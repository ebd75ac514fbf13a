"""The recorder of argo_exchanges itself, against a stand-in Argo Server on a loopback port
(no Polyphemus binary): it matches operations as swagger.json means them, sees both clients'
exchanges (streamed ones line by line, as they are read, without changing what the client
gets) and names what breaks the swagger.

Needs `requests`, `argo-workflows` and `jsonschema` (scripts/install-deps.sh).
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, Iterator, List, Tuple

import pytest

pytest.importorskip("jsonschema")
requests = pytest.importorskip("requests")
argo_workflows = pytest.importorskip("argo_workflows")

import argo_exchanges  # noqa: E402
from argo_exchanges import Recorder, match, recording  # noqa: E402

WORKFLOW = {"metadata": {"name": "w", "namespace": "ns",
                         "creationTimestamp": "2026-12-03T19:00:00Z"},
            "spec": {"entrypoint": "main"}, "status": {"phase": "Running"}}
LINES = [{"result": {"content": "one", "podName": "p"}},
         {"result": {"content": "two", "podName": "p"}}]

# path -> (status, body) the stand-in answers (any method).
ANSWERS: Dict[str, Tuple[int, bytes]] = {
    "/argo/api/v1/workflows/ns/w": (200, json.dumps(WORKFLOW).encode()),
    "/argo/api/v1/workflows/ns/bad": (200, json.dumps(
        dict(WORKFLOW, metadata={"name": 7, "creationTimestamp": "yesterday"})).encode()),
    "/argo/api/v1/workflows/ns/gone": (404, b'{"code": 5, "message": "not found"}'),
    "/argo/api/v1/workflows/ns/rude": (404, b'{"code": "5", "message": ["not found"]}'),
    # The v1 API's problem document, where an Argo error belongs.
    "/argo/api/v1/info": (404, b'{"type": "about:blank", "status": 404, "detail": "no route"}'),
    "/argo/api/v1/workflows/ns/empty": (200, b""),
    # A field the swagger does not declare (status.startTime), and one we add on purpose.
    "/argo/api/v1/workflows/ns/extra": (200, json.dumps(dict(WORKFLOW, status={
        "phase": "Running", "startTime": "2026-12-03T19:00:00Z",
        "nodes": {"w": {"id": "w", "name": "w", "type": "Pod", "image": "busybox"}}})).encode()),
    "/argo/api/v1/workflows/ns/w/log": (
        200, b"".join(json.dumps(line).encode() + b"\n" for line in LINES)),
    "/argo/api/v1/workflows/ns/badlog/log": (
        200, b'{"result": {"content": "ok"}}\n{"result": {"content": 3}}\n'),
}


class StandIn(BaseHTTPRequestHandler):
    def answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        unknown = (404, b'{"code": 5, "message": "no route"}')
        status, body = ANSWERS.get(self.path.split("?")[0], unknown)
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        # Chunked, as Polyphemus streams logs: urllib3 then reads through read_chunked.
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for start in range(0, len(body), 7):
            piece = body[start:start + 7]
            self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
        self.wfile.write(b"0\r\n\r\n")

    do_GET = do_PUT = do_POST = do_DELETE = answer
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def stand_in() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), StandIn)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def ended(recorder: Recorder) -> List[str]:
    problems, gaps = recorder.end_test()
    return problems + gaps


def sdk(url: str) -> Any:
    from argo_workflows.api import workflow_service_api
    client = argo_workflows.ApiClient(argo_workflows.Configuration(host=f"{url}/argo"))
    return workflow_service_api.WorkflowServiceApi(client)


def test_literal_segments_win_and_methods_count() -> None:
    lint = match("POST", "/api/v1/workflows/ns/lint")
    assert lint is not None and lint.operation_id == "WorkflowService_LintWorkflow"
    got = match("GET", "/api/v1/workflows/ns/lint")
    assert got is not None and got.operation_id == "WorkflowService_GetWorkflow"
    pod_logs = match("GET", "/api/v1/workflows/ns/w/pod-1/log")
    assert pod_logs is not None and pod_logs.operation_id == "WorkflowService_PodLogs"
    assert pod_logs.streams and not got.streams
    assert match("PATCH", "/api/v1/workflows/ns/w") is None
    assert match("GET", "/api/v1/nowhere") is None


def test_requests_answers_are_checked_and_named(stand_in: str) -> None:
    with recording() as recorder:
        assert requests.get(f"{stand_in}/argo/api/v1/workflows/ns/w").json() == WORKFLOW
        requests.get(f"{stand_in}/argo/api/v1/workflows/ns/gone")
        requests.get(f"{stand_in}/not-argo/anything")
        assert ended(recorder) == []
        requests.get(f"{stand_in}/argo/api/v1/workflows/ns/bad")
        requests.get(f"{stand_in}/argo/api/v1/workflows/ns/rude")
        requests.delete(f"{stand_in}/argo/api/v1/workflows/ns/empty")
        requests.get(f"{stand_in}/argo/api/v1/workflows/ns/extra")
        problems = ended(recorder)
    assert len(problems) == 4, problems
    assert problems[0].startswith(
        "WorkflowService_GetWorkflow GET /api/v1/workflows/ns/bad (answer 200): ")
    assert "7 is not of type 'string'" in problems[0]
    assert "'yesterday' is not a 'date-time'" in problems[0]
    assert "(answer 404)" in problems[1] and "'5' is not of type 'integer'" in problems[1]
    assert problems[2].startswith("WorkflowService_DeleteWorkflow DELETE "
                                  "/api/v1/workflows/ns/empty (answer 200): [\"not JSON")
    # Our answers are closed: only NodeStatus.image (POLYPHEMUS_EXTRAS) is let through.
    assert problems[3] == (
        "WorkflowService_GetWorkflow GET /api/v1/workflows/ns/extra (answer 200): "
        "[\"Additional properties are not allowed ('startTime' was unexpected) at ['status']\"]")
    assert recorder.checked["WorkflowService_GetWorkflow"] == 5


def test_an_error_answer_is_an_argo_error(stand_in: str) -> None:
    with recording() as recorder:
        requests.get(f"{stand_in}/argo/api/v1/info")
        problems = ended(recorder)
    assert len(problems) == 1 and problems[0].startswith(
        "InfoService_GetInfo GET /api/v1/info (answer 404): "), problems
    assert "'code' is a required property" in problems[0]
    assert "'message' is a required property" in problems[0]
    assert "('detail', 'status', 'type' were unexpected)" in problems[0]


def test_request_bodies_are_checked(stand_in: str) -> None:
    url = f"{stand_in}/argo/api/v1/workflows/ns/w/stop"
    with recording() as recorder:
        requests.put(url, data=json.dumps({"name": "w", "namespace": "ns"}))
        # A client's request may carry what the swagger does not declare (a newer Argo's).
        requests.put(url, data=json.dumps({"name": "w", "newerField": True}))
        assert ended(recorder) == []
        requests.put(url, data=json.dumps({"name": ["w"]}))
        requests.put(url)
        problems = ended(recorder)
    assert len(problems) == 2, problems
    assert problems[0].startswith("WorkflowService_StopWorkflow PUT /api/v1/workflows/ns/w/stop"
                                  " (request): ")
    assert "no body" in problems[1]


def test_a_streamed_answer_is_checked_line_by_line_as_it_is_read(stand_in: str) -> None:
    with recording() as recorder:
        response = requests.get(f"{stand_in}/argo/api/v1/workflows/ns/badlog/log", stream=True)
        lines = response.raw._argo_lines
        read = response.iter_lines()
        assert json.loads(next(read)) == {"result": {"content": "ok"}}
        assert lines.count == 1 and recorder.problems == []  # line 2 not read yet
        rest = list(read)
        assert json.loads(rest[-1]) == {"result": {"content": 3}}
        problems = ended(recorder)
    assert len(problems) == 1, problems
    assert "WorkflowService_WorkflowLogs GET /api/v1/workflows/ns/badlog/log (answer 200, line 2)" \
        in problems[0]
    assert "3 is not of type 'string'" in problems[0]


def test_a_stream_left_half_read_is_checked_as_far_as_it_was_read(stand_in: str) -> None:
    with recording() as recorder:
        response = requests.get(f"{stand_in}/argo/api/v1/workflows/ns/w/log", stream=True)
        assert json.loads(next(response.iter_lines())) == LINES[0]
        response.close()
        lines = response.raw._argo_lines
        assert ended(recorder) == []
    assert lines.count == 1 and not lines.at_end


def test_the_argo_sdk_is_seen_preloaded_streamed_and_failing(stand_in: str) -> None:
    api = sdk(stand_in)
    with recording() as recorder:
        assert api.get_workflow("ns", "w").metadata.name == "w"
        streamed = api.workflow_logs("ns", "w", _preload_content=False)
        assert [json.loads(line) for line in streamed.data.decode().splitlines()] == LINES
        with pytest.raises(argo_workflows.exceptions.NotFoundException):
            api.get_workflow("ns", "gone")
        assert ended(recorder) == []
        api.workflow_logs("ns", "badlog", _preload_content=False).data
        with pytest.raises(argo_workflows.exceptions.NotFoundException):
            api.get_workflow("ns", "rude")
        problems = ended(recorder)
    assert len(problems) == 2, problems
    assert "(answer 200, line 2)" in problems[0] and "(answer 404)" in problems[1]
    assert recorder.checked == {"WorkflowService_GetWorkflow": 3,
                                "WorkflowService_WorkflowLogs": 2}


def test_the_argo_sdk_iterating_a_stream_is_checked_line_by_line(stand_in: str) -> None:
    with recording() as recorder:
        response = sdk(stand_in).workflow_logs("ns", "badlog", _preload_content=False)
        read = iter(response)
        assert json.loads(next(read)) == {"result": {"content": "ok"}}
        assert recorder.problems == []  # line 2 not read yet
        assert json.loads(next(read)) == {"result": {"content": 3}}
        assert len(recorder.problems) == 1 and "(answer 200, line 2)" in recorder.problems[0]
        response.close()
        assert len(ended(recorder)) == 1


def test_a_known_gap_is_reported_not_failed(stand_in: str,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(argo_exchanges.KNOWN_GAPS, "WorkflowService_GetWorkflow", "a test's")
    with recording() as recorder:
        requests.get(f"{stand_in}/argo/api/v1/workflows/ns/bad")
        problems, gaps = recorder.end_test()
    assert problems == [] and len(gaps) == 1
    assert gaps[0].startswith("WorkflowService_GetWorkflow GET /api/v1/workflows/ns/bad")


def test_the_summary_counts_exchanges_and_operations() -> None:
    saved = argo_exchanges.CHECKED.copy()
    try:
        argo_exchanges.CHECKED.clear()
        argo_exchanges.CHECKED.update({"A": 2, "B": 1})
        assert argo_exchanges.summary() == (
            "argo api: 3 exchanges checked against swagger.json across 2 operations")
    finally:
        argo_exchanges.CHECKED.clear()
        argo_exchanges.CHECKED.update(saved)
