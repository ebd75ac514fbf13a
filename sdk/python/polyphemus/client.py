"""A client of the Polyphemus v1 HTTP API for ETL jobs written in Python (standard library only).

Idempotent calls (GET, PUT, run registration) are retried with exponential backoff on
connection errors, timeouts, 5xx (except 501) and 429; PATCH and the other POSTs are retried
only when no connection could be made, so an append is never sent twice. The token is never
logged, displayed nor put in an error.
"""

from __future__ import annotations

import json
import os
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

from .errors import ConfigurationError, ConnectionFailed, PolyphemusError

__all__ = ["Client", "RetryPolicy", "DEFAULT_URL", "is_retryable_status"]

#: Where the server is when ``POLYPHEMUS_URL`` is not set.
DEFAULT_URL = "http://127.0.0.1:8080"
#: The project when ``POLYPHEMUS_PROJECT`` is not set.
DEFAULT_PROJECT = "default"

_USER_AGENT = "polyphemus-python/0.1.0"

JsonObject = Dict[str, Any]

#: Entries or names per ledger request (as the Rust jobs send them).
LEDGER_BATCH = 1000


def is_retryable_status(status: int) -> bool:
    """429 Too Many Requests and every 5xx except 501 Not Implemented."""
    return status == 429 or (500 <= status < 600 and status != 501)


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff: ``initial_delay`` seconds, doubling, at most ``max_delay``,
    ``max_attempts`` attempts in all (the Rust client's defaults)."""

    max_attempts: int = 5
    initial_delay: float = 0.1
    max_delay: float = 2.0

    @classmethod
    def none(cls) -> "RetryPolicy":
        """Never retries."""
        return cls(max_attempts=1)

    def backoff(self, failed: int) -> float:
        """The wait before attempt ``failed + 1`` after ``failed`` (1-based) attempts failed."""
        exponent = min(max(failed - 1, 0), 31)
        return min(self.initial_delay * (2**exponent), self.max_delay)

    def next_delay(
        self,
        attempt: int,
        idempotent: bool,
        *,
        connect_failed: bool = False,
        status: Optional[int] = None,
        retry_after: Optional[float] = None,
    ) -> Optional[float]:
        """Seconds to wait before trying again after attempt ``attempt`` (1-based), or
        ``None`` to give up. ``status`` is the answer's status (``None`` when there was no
        answer); ``connect_failed`` says the request never reached the server."""
        if attempt >= self.max_attempts:
            return None
        if connect_failed:
            retryable = True
        elif status is None:
            retryable = idempotent
        else:
            retryable = idempotent and is_retryable_status(status)
        if not retryable:
            return None
        backoff = self.backoff(attempt)
        if status is not None and retry_after is not None:
            return min(max(retry_after, backoff), self.max_delay)
        return backoff


Segments = Union[str, Sequence[Union[str, int]]]


class Client:
    """A client of one Polyphemus server with one token, optionally for one run.

    ``project``, ``config_id``, ``version_number`` and ``run_id`` name the run a job works
    for; the run-scoped methods (:meth:`config`, :meth:`secrets`, :meth:`update_state` …)
    use them. :meth:`from_env` reads all of it from the environment the orchestrator gives
    every step.
    """

    def __init__(
        self,
        url: str = DEFAULT_URL,
        token: Optional[str] = None,
        *,
        project: str = DEFAULT_PROJECT,
        config_id: Optional[int] = None,
        version_number: Optional[int] = None,
        run_id: Optional[str] = None,
        timeout: float = 60.0,
        retry: RetryPolicy = RetryPolicy(),
    ) -> None:
        base = (url or "").strip()
        parsed = urllib.parse.urlsplit(base)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ConfigurationError(
                f"invalid server URL {base!r}: expected a base URL such as {DEFAULT_URL}"
            )
        if parsed.query or parsed.fragment:
            raise ConfigurationError(
                f"invalid server URL {base!r}: expected a base URL such as {DEFAULT_URL}"
            )
        self._base = base.rstrip("/")
        token = (token or "").strip() or None
        if token is not None and not _header_safe(token):
            raise ConfigurationError(
                "the API token contains characters not allowed in an HTTP header"
            )
        self._token = token
        self.project: str = project or DEFAULT_PROJECT
        self.config_id: Optional[int] = config_id
        self.version_number: Optional[int] = version_number
        self.run_id: Optional[str] = run_id or None
        self.timeout = timeout
        self.retry = retry

    @classmethod
    def from_env(cls, environ: Optional[Mapping[str, str]] = None, **kwargs: Any) -> "Client":
        """A client configured by ``POLYPHEMUS_URL`` (default ``http://127.0.0.1:8080``),
        ``POLYPHEMUS_TOKEN`` and the run's ``POLYPHEMUS_PROJECT`` (default ``default``),
        ``POLYPHEMUS_CONFIG_ID``, ``POLYPHEMUS_VERSION_NUMBER`` and ``POLYPHEMUS_RUN_ID``
        (each optional here; a call that needs a missing one raises ConfigurationError).
        ``kwargs`` override what the environment says."""
        env = os.environ if environ is None else environ

        def text(name: str) -> Optional[str]:
            value = env.get(name, "").strip()
            return value or None

        settings: Dict[str, Any] = {
            "url": text("POLYPHEMUS_URL") or DEFAULT_URL,
            "token": text("POLYPHEMUS_TOKEN"),
            "project": text("POLYPHEMUS_PROJECT") or DEFAULT_PROJECT,
            "config_id": _int_var(env, "POLYPHEMUS_CONFIG_ID"),
            "version_number": _int_var(env, "POLYPHEMUS_VERSION_NUMBER"),
            "run_id": text("POLYPHEMUS_RUN_ID"),
        }
        settings.update(kwargs)
        return cls(**settings)

    def __repr__(self) -> str:
        return (
            f"Client(url={self._base!r}, token={'***' if self._token else None}, "
            f"project={self.project!r}, config_id={self.config_id!r}, "
            f"version_number={self.version_number!r}, run_id={self.run_id!r})"
        )

    @property
    def base_url(self) -> str:
        """The server's base URL."""
        return self._base

    @property
    def has_token(self) -> bool:
        """Whether a token is sent."""
        return self._token is not None

    # --- the run's config, secrets and runtime config --------------------------------------

    def config_version(self) -> JsonObject:
        """The run's config version as the API returns it (``config_id``,
        ``version_number``, ``workflow_type``, ``config``, redacted ``secrets`` …)."""
        config_id, version = self._need_config_id(), self._need_version()
        return self.get(["projects", self.project, "configs", config_id, "versions", version])

    def config(self) -> JsonObject:
        """The run's config values (the ``config`` JSON of its config version)."""
        value = self.config_version().get("config")
        return value if isinstance(value, dict) else {}

    def secrets(self) -> Dict[str, str]:
        """The secrets of the run's config version in clear. Only a task token may read them;
        keep them out of logs and state."""
        config_id, version = self._need_config_id(), self._need_version()
        segments = ["projects", self.project, "configs", config_id, "versions", version, "secrets"]
        return dict(self.get(segments))

    def runtime(self) -> JsonObject:
        """The config's runtime config: ``run_interval_s``, ``cron``, ``timezone``,
        ``disabled``, ``config`` (the runtime params), ``next_run_at``."""
        return self.get(["projects", self.project, "configs", self._need_config_id(), "runtime"])

    def runtime_params(self) -> JsonObject:
        """The config's runtime params (``{}`` when none are set)."""
        value = self.runtime().get("config")
        return value if isinstance(value, dict) else {}

    # --- the run's state and output ---------------------------------------------------------

    def run(self, run_id: Optional[str] = None) -> JsonObject:
        """A run (this one by default) with its ``state`` and ``output``."""
        return self.get(["projects", self.project, "runs", run_id or self._need_run_id()])

    def run_state(self) -> JsonObject:
        """The state this run holds so far (what earlier steps of the run wrote)."""
        state = self.run().get("state")
        return state if isinstance(state, dict) else {}

    def update_state(self, state: Mapping[str, Any]) -> JsonObject:
        """Merges top-level keys into this run's state (each key replaced atomically on the
        server); returns the run's whole state after the merge."""
        if not isinstance(state, Mapping):
            raise TypeError("update_state takes a dict of top-level keys")
        run = self._patch_run({"state": dict(state)})
        merged = run.get("state")
        return merged if isinstance(merged, dict) else {}

    def append_output(self, text: str) -> None:
        """Appends ``text`` to the run's output (sent once: never retried after it left)."""
        self._patch_run({"append_output": str(text)})

    def previous_state(
        self,
        keys: Union[str, Iterable[str]],
        collect: bool = False,
        *,
        limit: Optional[int] = None,
        before_run_id: Optional[str] = None,
    ) -> JsonObject:
        """The latest value of each key among earlier runs of this config, or with
        ``collect`` every value, newest first (at most ``limit`` per key). Only runs
        registered before this run (``before_run_id``, default this run's id) count."""
        names: List[str] = [keys] if isinstance(keys, str) else list(keys)
        query: List[Tuple[str, str]] = [
            ("keys", ",".join(names)),
            ("collect", "true" if collect else "false"),
        ]
        before = before_run_id if before_run_id is not None else self.run_id
        if before:
            query.append(("before_run_id", before))
        if limit is not None:
            query.append(("limit", str(int(limit))))
        segments = ["projects", self.project, "configs", self._need_config_id(), "previous_state"]
        return self.get(segments, query=query)

    def record_ledger(self, ledger: str, entries: Mapping[str, Mapping[str, Any]]) -> int:
        """Records ``{name: record}`` in a ledger of this run's config (each record a dict,
        replacing that name's earlier one), in batches; an empty ``entries`` opens the ledger.
        Returns how many entries were written. Safe to send again."""
        items = list(entries.items())
        segments = ["projects", self.project, "runs", self._need_run_id(), "ledgers", ledger]
        written = 0
        for start in range(0, max(len(items), 1), LEDGER_BATCH):
            batch = dict(items[start : start + LEDGER_BATCH])
            _, answer = self.request("POST", segments, {"entries": batch}, idempotent=True)
            written += int(answer.get("recorded", 0))
        return written

    def lookup_ledger(self, ledger: str, names: Iterable[str]) -> Tuple[bool, JsonObject]:
        """Whether any run of this config recorded in ``ledger``, and the newest record of
        each of ``names`` it holds. One index probe per name, however many runs came before."""
        wanted = list(names)
        segments = [
            "projects", self.project, "configs", self._need_config_id(),
            "ledgers", ledger, "lookup",
        ]
        opened = False
        found: JsonObject = {}
        for start in range(0, max(len(wanted), 1), LEDGER_BATCH):
            body = {"names": wanted[start : start + LEDGER_BATCH]}
            _, answer = self.request("POST", segments, body, idempotent=True)
            opened = opened or bool(answer.get("open"))
            found.update(answer.get("entries") or {})
        return opened, found

    def register_run(self, name: Optional[str] = None) -> Tuple[JsonObject, bool]:
        """Registers this run (idempotent on the server); returns the run and whether it was
        new (201) rather than already registered (200)."""
        body = {
            "run_id": self._need_run_id(),
            "name": name or self._need_run_id(),
            "config_id": self._need_config_id(),
            "version_number": self._need_version(),
        }
        status, run = self.request(
            "POST", ["projects", self.project, "runs"], body, idempotent=True
        )
        return run, status == 201

    def ensure_registered(self, name: Optional[str] = None) -> None:
        """Registers this run unless it exists (what ``polyphemus run_job`` does, for
        workflows submitted straight to Argo)."""
        try:
            self.run()
        except PolyphemusError as error:
            if not error.is_not_found:
                raise
            self.register_run(name)

    # --- other calls -------------------------------------------------------------------------

    def workflows(self) -> List[JsonObject]:
        """Every workflow manifest."""
        return list(self.get(["workflows"]))

    def get_config(self, config_id: int) -> JsonObject:
        """The latest version of a config of this project."""
        return self.get(["projects", self.project, "configs", config_id])

    def create_config(
        self,
        workflow_type: str,
        workflow_name: str,
        config: Mapping[str, Any],
        secrets: Optional[Mapping[str, str]] = None,
        comment: Optional[str] = None,
    ) -> JsonObject:
        """Creates version 1 of a new config (not retried once sent)."""
        body: JsonObject = {
            "workflow_type": workflow_type,
            "workflow_name": workflow_name,
            "config": dict(config),
            "secrets": dict(secrets or {}),
        }
        if comment is not None:
            body["comment"] = comment
        _, created = self.request("POST", ["projects", self.project, "configs"], body)
        return created

    def submit_workflow(
        self,
        config_id: int,
        workflow_yaml: str,
        version_number: int,
        parameters: Optional[Mapping[str, str]] = None,
    ) -> JsonObject:
        """Runs an Argo workflow document for a config version (``polyphemus submit``); the
        server sets ``config_id``, ``version_number`` and ``project``. Not retried once sent."""
        body = {
            "workflow_yaml": workflow_yaml,
            "version_number": version_number,
            "parameters": dict(parameters or {}),
        }
        segments = ["projects", self.project, "configs", config_id, "submit"]
        _, run = self.request("POST", segments, body)
        return run

    def run_metadata(self, run_id: Optional[str] = None) -> JsonObject:
        """What the orchestrator reported about a run (404 until it has)."""
        run_id = run_id or self._need_run_id()
        return self.get(["projects", self.project, "runs", run_id, "metadata"])

    # --- HTTP ----------------------------------------------------------------------------

    def url(self, segments: Segments, query: Optional[Sequence[Tuple[str, str]]] = None) -> str:
        """``<base>/api/v1/<segments…>``, each segment percent-encoded."""
        parts = [segments] if isinstance(segments, str) else list(segments)
        path = "/".join(urllib.parse.quote(str(p), safe="") for p in parts)
        url = f"{self._base}/api/v1/{path}"
        if query:
            url += "?" + urllib.parse.urlencode(list(query))
        return url

    def get(self, segments: Segments, query: Optional[Sequence[Tuple[str, str]]] = None) -> Any:
        """GETs ``/api/v1/<segments>`` and returns the decoded JSON (retried)."""
        return self.request("GET", segments, query=query)[1]

    def request(
        self,
        method: str,
        segments: Segments,
        body: Any = None,
        *,
        query: Optional[Sequence[Tuple[str, str]]] = None,
        idempotent: Optional[bool] = None,
    ) -> Tuple[int, Any]:
        """Sends a request with retries; returns the status and decoded JSON of a 2xx answer
        and raises :class:`PolyphemusError` (with the problem+json) otherwise. ``idempotent``
        defaults to true for GET, PUT, DELETE and HEAD."""
        method = method.upper()
        if idempotent is None:
            idempotent = method in ("GET", "HEAD", "PUT", "DELETE")
        url = self.url(segments, query)
        data = None if body is None else json.dumps(body).encode("utf-8")
        attempt = 1
        while True:
            request = urllib.request.Request(url, data=data, method=method)
            request.add_header("Accept", "application/json")
            request.add_header("User-Agent", _USER_AGENT)
            if data is not None:
                request.add_header("Content-Type", "application/json")
            if self._token is not None:
                request.add_header("Authorization", f"Bearer {self._token}")
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    status = response.status
                    payload = response.read()
            except urllib.error.HTTPError as answer:
                status = answer.code
                try:
                    payload = answer.read()
                except OSError:
                    payload = b""
                finally:
                    answer.close()
                wait = self.retry.next_delay(
                    attempt,
                    idempotent,
                    status=status,
                    retry_after=_retry_after(answer.headers.get("Retry-After")),
                )
                if wait is not None:
                    time.sleep(wait)
                    attempt += 1
                    continue
                raise PolyphemusError.from_response(status, answer.reason or "", payload) from None
            except (urllib.error.URLError, OSError) as failure:
                connect_failed = _connect_failed(failure)
                wait = self.retry.next_delay(attempt, idempotent, connect_failed=connect_failed)
                if wait is not None:
                    time.sleep(wait)
                    attempt += 1
                    continue
                if connect_failed:
                    raise ConnectionFailed(
                        f"cannot reach the Polyphemus server at {self._base} — "
                        "is `polyphemus serve` running?"
                    ) from None
                reason = getattr(failure, "reason", failure)
                raise ConnectionFailed(f"request to {_path_of(url)} failed: {reason}") from None
            if not payload:
                return status, None
            try:
                return status, json.loads(payload.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                raise PolyphemusError(
                    f"unexpected answer from {_path_of(url)} (HTTP {status})", status=status
                ) from None

    # --- helpers -------------------------------------------------------------------------

    def _patch_run(self, body: JsonObject) -> JsonObject:
        segments = ["projects", self.project, "runs", self._need_run_id()]
        return self.request("PATCH", segments, body, idempotent=False)[1]

    def _need_config_id(self) -> int:
        if self.config_id is None:
            raise ConfigurationError("no config id: set POLYPHEMUS_CONFIG_ID (or config_id=)")
        return self.config_id

    def _need_version(self) -> int:
        if self.version_number is None:
            raise ConfigurationError(
                "no version number: set POLYPHEMUS_VERSION_NUMBER (or version_number=)"
            )
        return self.version_number

    def _need_run_id(self) -> str:
        if not self.run_id:
            raise ConfigurationError("no run id: set POLYPHEMUS_RUN_ID (or run_id=)")
        return self.run_id


def _int_var(env: Mapping[str, str], name: str) -> Optional[int]:
    raw = env.get(name, "").strip()
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be an integer, not {raw!r}") from None


def _header_safe(token: str) -> bool:
    return all(0x20 <= ord(c) < 0x7F for c in token)


def _retry_after(value: Optional[str]) -> Optional[float]:
    try:
        return float(int(value.strip())) if value else None
    except ValueError:
        return None


def _connect_failed(failure: BaseException) -> bool:
    """Whether the request never reached the server (so even a PATCH may go again)."""
    reason = getattr(failure, "reason", failure)
    return isinstance(reason, (ConnectionRefusedError, socket.gaierror))


def _path_of(url: str) -> str:
    """The URL without its query (which may name state keys, never secrets, but stays short)."""
    return url.split("?", 1)[0]
