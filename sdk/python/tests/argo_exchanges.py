"""Every HTTP exchange the real Argo clients make with Polyphemus's Argo Server API, checked
against Argo's swagger.json (#18 point 3).

While the autouse fixture `argo_exchanges` is on (a test module turns it on by importing it),
two hooks see each exchange under `/argo/api/v1/...` without changing what the client gets:

- Hera's `WorkflowsService` (`requests`): `requests.Session.send`;
- the official `argo_workflows` SDK (urllib3): `argo_workflows.rest.RESTClientObject.request`,
  which every API call goes through with the JSON body as a Python object; a non-2xx answer
  leaves it as an `ApiException` carrying the status and body;
- and the suites' own raw reads (`argo_schema.raw`) call `observe` themselves.

Each exchange is matched to a swagger operation (the path less `/argo`, against the path
templates, literal segments winning over `{parameters}`, and the method). The request body is
checked against the operation's `in: body` schema; a 2xx answer against `responses["200"]`;
any other answer against `responses["default"]` (grpc.gateway.runtime.Error). Answers are
ours: their objects are held closed (no field the swagger does not declare, bar
argo_schema.POLYPHEMUS_EXTRAS); requests are the clients', held to the swagger as it is.
The 200 schema of a streaming operation (its description says "streaming responses":
WatchWorkflows, WorkflowLogs, PodLogs...) is that of one line, `{"result": ..., "error": ...}`:
a streamed answer (`_preload_content=False`, `stream=True`) is checked line by line *as the
client reads it*, by a tee on the urllib3 response (its class is swapped for a subclass whose
reads also feed a line splitter); a preloaded one is split into its lines at once. A last line
without its newline is checked at the test's end if the client read to the end; what a client
left unread (a watch it stopped reading) is not checked.

What breaks the swagger fails the test at teardown, naming the operation, the path, the
direction (request/answer) and the first jsonschema errors. `summary` gives the session's count.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import pytest

from argo_schema import errors, swagger

PREFIX = "/argo"
API = "/api/v1/"
ERROR_DEFINITION = "grpc.gateway.runtime.Error"

# Operations whose answers Polyphemus is known not to conform in (operationId -> why). Their
# answers are still checked and counted; the errors are reported, not failed. Empty: every
# answer seen so far conforms.
KNOWN_GAPS: Dict[str, str] = {}


@dataclass(frozen=True)
class Operation:
    """One swagger operation: what a request to it and its answers must look like."""

    operation_id: str
    method: str
    template: str
    segments: Tuple[str, ...]
    body: Optional[Dict[str, Any]]
    ok: Optional[Dict[str, Any]]
    error: Dict[str, Any]
    streams: bool

    def matches(self, method: str, segments: List[str]) -> bool:
        return (method == self.method and len(segments) == len(self.segments)
                and all(t.startswith("{") or t == s for t, s in zip(self.segments, segments)))

    def literals(self) -> Tuple[bool, ...]:
        """Literal segments first: `/workflows/{namespace}/lint` beats `/{name}`."""
        return tuple(not t.startswith("{") for t in self.segments)


def _operation(template: str, method: str, op: Dict[str, Any]) -> Operation:
    body = next((p["schema"] for p in op.get("parameters", []) if p.get("in") == "body"), None)
    ok = op["responses"].get("200", {})
    default = op["responses"].get("default", {}).get("schema")
    error = default or {"$ref": f"#/definitions/{ERROR_DEFINITION}"}
    return Operation(
        operation_id=op["operationId"], method=method.upper(), template=template,
        segments=tuple(template.strip("/").split("/")), body=body, ok=ok.get("schema"),
        # grpc.gateway.runtime.Error requires nothing, but grpc-gateway always sends the code
        # and the message of the gRPC status, and the clients read them (Hera: `message`).
        error={"allOf": [error, {"required": ["code", "message"]}]},
        streams="streaming responses" in ok.get("description", ""))


def operations() -> List[Operation]:
    """Every operation of swagger.json."""
    found = []
    for template, methods in swagger()["paths"].items():
        for method, op in methods.items():
            if method != "parameters":
                found.append(_operation(template, method, op))
    return found


_OPERATIONS: List[Operation] = []


def match(method: str, path: str) -> Optional[Operation]:
    """The operation of `method` `path` (a swagger path, `/api/v1/...`), if any."""
    if not _OPERATIONS:
        _OPERATIONS.extend(operations())
    segments = path.strip("/").split("/")
    candidates = [op for op in _OPERATIONS if op.matches(method.upper(), segments)]
    return max(candidates, key=Operation.literals, default=None)


def swagger_path(url: str) -> Optional[str]:
    """The swagger path of a URL of our Argo Server API (`/argo/api/v1/...` less `/argo`)."""
    path = urllib.parse.urlsplit(url).path
    if not path.startswith(PREFIX + API):
        return None
    return urllib.parse.unquote(path[len(PREFIX):])


def _json(raw: Any) -> Tuple[bool, Any]:
    """(parsed, value) of a body as bytes, text or an already JSON-shaped Python value."""
    if isinstance(raw, (bytes, bytearray)):
        raw = bytes(raw).decode("utf-8", "replace")
    if isinstance(raw, str):
        try:
            return True, json.loads(raw)
        except ValueError as error:
            return False, f"not JSON ({error}): {raw[:200]!r}"
    return True, json.loads(json.dumps(raw))


@dataclass
class Recorder:
    """The exchanges checked (per operation) and what broke the swagger, test by test."""

    checked: Counter = field(default_factory=Counter)
    problems: List[str] = field(default_factory=list)
    gaps: List[str] = field(default_factory=list)
    open_streams: List["Lines"] = field(default_factory=list)

    def fault(self, op: Operation, path: str, direction: str, found: List[str]) -> None:
        line = f"{op.operation_id} {op.method} {path} ({direction}): {found}"
        (self.gaps if op.operation_id in KNOWN_GAPS else self.problems).append(line)

    def check(self, op: Operation, path: str, direction: str, schema: Optional[Dict[str, Any]],
              instance: Any) -> None:
        """Our answers are held to closed objects (argo_schema.closed), requests to open ones."""
        if schema is not None:
            found = errors(schema, instance, shut=direction != "request")
            if found:
                self.fault(op, path, direction, found)

    def request(self, op: Operation, path: str, body: Any) -> None:
        if op.body is None:
            return
        if body is None or body == b"" or body == "":
            self.fault(op, path, "request", ["no body, the operation takes one"])
            return
        parsed, value = _json(body)
        if not parsed:
            self.fault(op, path, "request", [value])
        else:
            self.check(op, path, "request", op.body, value)

    def answer(self, op: Operation, path: str, status: int, body: bytes) -> None:
        """A whole answer (a streamed one's lines all at once)."""
        lines = self.stream(op, path, status)
        lines.feed(body)
        lines.close(whole=True)

    def stream(self, op: Operation, path: str, status: int) -> "Lines":
        """The checker of an answer the client reads as it comes (closed by `end_test`)."""
        self.checked[op.operation_id] += 1
        ok = 200 <= status <= 299
        lines = Lines(self, op, path, f"answer {status}", op.ok if ok else op.error,
                      by_line=ok and op.streams)
        self.open_streams.append(lines)
        return lines

    def end_test(self) -> Tuple[List[str], List[str]]:
        """What broke the swagger during this test, and the known gaps met; both reset."""
        for lines in self.open_streams:
            lines.close()
        self.open_streams.clear()
        problems, gaps = self.problems, self.gaps
        self.problems, self.gaps = [], []
        return problems, gaps


@dataclass
class Lines:
    """An answer as it is read: with `by_line` (a 2xx of a streaming operation) each
    newline-delimited JSON line is checked against `schema` as it completes, else the whole
    body at close."""

    recorder: Recorder
    op: Operation
    path: str
    direction: str
    schema: Optional[Dict[str, Any]]
    by_line: bool
    buffer: bytes = b""
    closed: bool = False
    count: int = 0
    at_end: bool = False  # the client read the body to its end

    def feed(self, data: bytes) -> None:
        if self.closed or not data:
            return
        self.buffer += data
        if self.by_line:
            *complete, self.buffer = self.buffer.split(b"\n")
            for line in complete:
                self._line(line)

    def _line(self, line: bytes) -> None:
        if not line.strip():
            return
        self.count += 1
        self._check(f"{self.direction}, line {self.count}", line)

    def _check(self, direction: str, body: bytes) -> None:
        parsed, value = _json(body)
        if not parsed:
            self.recorder.fault(self.op, self.path, direction, [value])
        else:
            self.recorder.check(self.op, self.path, direction, self.schema, value)

    def close(self, whole: bool = False) -> None:
        """The end of what the client read (`whole`: all the body, even if empty). What is
        left is a last line without its newline, or the whole body; unless the client stopped
        reading before the end (a watch it left): that part it never read is not checked."""
        if self.closed:
            return
        self.closed = True
        if whole or self.at_end:
            if self.by_line:
                self._line(self.buffer)
            else:
                self._check(self.direction, self.buffer)
        self.buffer = b""


_RECORDER: Optional[Recorder] = None
CHECKED: Counter = Counter()  # the session's exchanges checked, per operationId
GAPS: List[str] = []  # the session's faults in KNOWN_GAPS operations (reported, not failed)


def observe(method: str, url: str, request_body: Any, status: int, answer: bytes) -> None:
    """Checks one whole exchange, if the recorder is on and the URL is one of our Argo API."""
    path = swagger_path(url)
    if _RECORDER is None or path is None:
        return
    op = match(method, path)
    if op is None:
        _RECORDER.problems.append(f"{method} {path}: no swagger operation")
        return
    _RECORDER.request(op, path, request_body)
    _RECORDER.answer(op, path, status, answer)


def observe_stream(method: str, url: str, request_body: Any, status: int) -> Optional[Lines]:
    """The checker of an exchange whose answer the client reads later (None when the
    recorder is off or the URL is not ours)."""
    path = swagger_path(url)
    if _RECORDER is None or path is None:
        return None
    op = match(method, path)
    if op is None:
        _RECORDER.problems.append(f"{method} {path}: no swagger operation")
        return None
    _RECORDER.request(op, path, request_body)
    return _RECORDER.stream(op, path, status)


# The tee: a urllib3 response whose reads also feed a Lines. urllib3's `data`, `stream`,
# `__iter__` and `readinto` go through `read` or `read_chunked` (`stream` of a chunked answer),
# and `read1` is the one other read; each is overridden to pass on what it returns.

_TEES: Dict[type, type] = {}


def _teeing(base: type) -> type:
    if base in _TEES:
        return _TEES[base]

    class Tee(base):  # type: ignore[misc, valid-type]
        _argo_lines: Lines

        def _argo_feed(self, data: bytes) -> bytes:
            self._argo_lines.feed(data)
            if not data or self.isclosed():
                self._argo_lines.at_end = True
            return data

        def read(self, *args: Any, **kwargs: Any) -> bytes:
            return self._argo_feed(super().read(*args, **kwargs))

        def read1(self, *args: Any, **kwargs: Any) -> bytes:
            return self._argo_feed(super().read1(*args, **kwargs))

        def read_chunked(self, *args: Any, **kwargs: Any) -> Iterator[bytes]:
            for data in super().read_chunked(*args, **kwargs):
                yield self._argo_feed(data)
            self._argo_lines.at_end = True

    Tee.__name__ = Tee.__qualname__ = f"Teeing{base.__name__}"
    _TEES[base] = Tee
    return Tee


def tee(response: Any, lines: Optional[Lines]) -> None:
    """Makes the unread urllib3 `response` feed `lines` as it is read (nothing else changes)."""
    if lines is None:
        return
    encoding = (response.headers.get("Content-Encoding") or "identity").lower()
    if encoding != "identity":
        lines.recorder.problems.append(
            f"{lines.op.operation_id} {lines.path}: a {encoding} stream, which this recorder "
            "cannot check (teach it to)")
        lines.closed = True
        return
    response._argo_lines = lines
    response.__class__ = _teeing(type(response))


# The hooks.


def _send_hook(original: Callable[..., Any]) -> Callable[..., Any]:
    def send(self: Any, request: Any, **kwargs: Any) -> Any:
        response = original(self, request, **kwargs)
        if kwargs.get("stream"):
            tee(response.raw, observe_stream(request.method, request.url, request.body,
                                             response.status_code))
        else:
            observe(request.method, request.url, request.body, response.status_code,
                    response.content)
        return response

    return send


def _rest_hook(original: Callable[..., Any]) -> Callable[..., Any]:
    from argo_workflows.exceptions import ApiException

    signature = inspect.signature(original)

    def request(self: Any, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        # (method, url, query_params, headers, body, post_params, _preload_content, ...)
        given = signature.bind(self, method, url, *args, **kwargs)
        given.apply_defaults()
        body, preload = given.arguments["body"], given.arguments["_preload_content"]
        try:
            response = original(self, method, url, *args, **kwargs)
        except ApiException as error:
            if error.status:
                observe(method, url, body, error.status, error.body or b"")
            raise
        if preload:
            observe(method, url, body, response.status, response.data)
        else:
            tee(response, observe_stream(method, url, body, response.status))
        return response

    return request


@contextlib.contextmanager
def recording() -> Iterator[Recorder]:
    """Hooks both clients and turns the recorder on, for the block."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        yield from _recording(monkeypatch)


def _recording(monkeypatch: pytest.MonkeyPatch) -> Iterator[Recorder]:
    global _RECORDER
    import requests

    monkeypatch.setattr(requests.Session, "send", _send_hook(requests.Session.send))
    try:
        from argo_workflows import rest
    except ImportError:  # Hera alone: only its exchanges are seen
        rest = None
    if rest is not None:
        monkeypatch.setattr(rest.RESTClientObject, "request",
                            _rest_hook(rest.RESTClientObject.request))
    recorder = Recorder()
    _RECORDER = recorder
    try:
        yield recorder
    finally:
        _RECORDER = None


@pytest.fixture(autouse=True)
def argo_exchanges() -> Iterator[Recorder]:
    """Checks every exchange of the test with our Argo API against swagger.json; fails the
    test at teardown if any broke it."""
    with recording() as recorder:
        yield recorder
    problems, gaps = recorder.end_test()
    CHECKED.update(recorder.checked)
    GAPS.extend(gaps)
    if problems:
        pytest.fail("exchanges that break Argo's swagger.json:\n" + "\n".join(problems[:10]),
                    pytrace=False)


def summary() -> Optional[str]:
    """The session's one-line count, if any exchange was checked."""
    if not CHECKED:
        return None
    line = (f"argo api: {sum(CHECKED.values())} exchanges checked against swagger.json across "
            f"{len(CHECKED)} operations")
    if GAPS:
        line += f" ({len(GAPS)} faults in KNOWN_GAPS operations, not failed: -v lists them)"
    return line


def details() -> List[str]:
    """The count per operation, then the known gaps' faults."""
    counts = [f"  {op}: {n}" for op, n in sorted(CHECKED.items())]
    gaps = [f"  known gap ({KNOWN_GAPS[g.split()[0]]}): {g}" for g in GAPS]
    return counts + gaps
