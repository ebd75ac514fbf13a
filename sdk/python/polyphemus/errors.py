"""What can go wrong talking to Polyphemus, and whether another attempt of the step can help.
Messages never hold the token nor a secret."""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional

#: The exit code of :func:`polyphemus.main` (and of ``polyphemus run_job``) when the job failed
#: permanently: a :class:`PermanentError`, a :class:`ConfigurationError`, or a 4xx answer of
#: the API other than 408/429. The built-in workflows retry every other failure with
#: ``expression: "asInt(lastRetry.exitCode) != 78"``. 78 is sysexits.h's ``EX_CONFIG``; the
#: Rust constant is ``polyphemus_jobs::PERMANENT_EXIT_CODE``, and a unit test there checks
#: this line.
PERMANENT_EXIT_CODE = 78
#: The exit code when the job failed in a way another attempt may not (any other exception).
TRANSIENT_EXIT_CODE = 1


class PolyphemusError(Exception):
    """An error of the SDK.

    For an API error (the server answered 4xx/5xx) ``status`` is the HTTP status and
    ``problem`` the server's problem+json (RFC 9457: ``type``, ``title``, ``status``,
    ``detail`` and, for field errors, ``errors: [{pointer, message}]``). For the other
    errors (no connection, bad configuration) ``status`` is ``None`` and ``problem`` is empty.
    """

    def __init__(
        self,
        message: str,
        *,
        status: Optional[int] = None,
        problem: Optional[Mapping[str, Any]] = None,
    ) -> None:
        super().__init__(message)
        self.status: Optional[int] = status
        self.problem: Dict[str, Any] = dict(problem or {})

    @property
    def title(self) -> str:
        """The problem's ``title`` (``""`` when there is none)."""
        return str(self.problem.get("title") or "")

    @property
    def detail(self) -> str:
        """The problem's ``detail`` (``""`` when there is none)."""
        return str(self.problem.get("detail") or "")

    @property
    def errors(self) -> List[Dict[str, Any]]:
        """One ``{pointer, message}`` per failing field."""
        errors = self.problem.get("errors")
        return list(errors) if isinstance(errors, list) else []

    @property
    def is_not_found(self) -> bool:
        """True for a 404 answer."""
        return self.status == 404

    @classmethod
    def from_response(cls, status: int, reason: str, body: bytes) -> "PolyphemusError":
        """The error for an HTTP answer ``status`` with ``body`` (problem+json or not)."""
        problem = _parse_problem(status, reason, body)
        return cls(_problem_line(status, problem), status=status, problem=problem)


class ConnectionFailed(PolyphemusError):
    """The server could not be reached, or the exchange broke off."""


class PermanentError(PolyphemusError):
    """Raise it from a job when trying again cannot help until someone changes something: a
    bad or missing config value or secret, credentials refused, a file that is not what it
    must be. :func:`polyphemus.main` then exits :data:`PERMANENT_EXIT_CODE` and the workflow
    does not retry the step; any other exception is taken as transient (exit 1, retried)."""


class ConfigurationError(PermanentError):
    """The SDK is not configured well enough to make the call (missing variable, bad URL)."""


class Cancelled(PolyphemusError):
    """The step was asked to stop (SIGTERM)."""

    def __init__(self, message: str = "cancelled (SIGTERM)") -> None:
        super().__init__(message)


def is_permanent(error: BaseException) -> bool:
    """Whether another attempt cannot get past ``error``: a :class:`PermanentError`
    (:class:`ConfigurationError` included), or an API answer 4xx but 408 Request Timeout and
    429 Too Many Requests. Anything else (no connection, 5xx, a job's own exception) may pass."""
    if isinstance(error, PermanentError):
        return True
    if isinstance(error, PolyphemusError) and error.status is not None:
        return 400 <= error.status < 500 and error.status not in (408, 429)
    return False


def _parse_problem(status: int, reason: str, body: bytes) -> Dict[str, Any]:
    import json

    try:
        value = json.loads(body.decode("utf-8")) if body else None
    except (UnicodeDecodeError, ValueError):
        value = None
    if isinstance(value, dict) and ("title" in value or "detail" in value):
        problem = dict(value)
        problem.setdefault("type", "about:blank")
        problem.setdefault("status", status)
        problem.setdefault("title", reason)
        problem.setdefault("detail", "")
        return problem
    text = body.decode("utf-8", "replace").strip() if body else ""
    return {"type": "about:blank", "title": reason, "status": status, "detail": text[:500]}


def _problem_line(status: int, problem: Mapping[str, Any]) -> str:
    """``404 Not Found: config 7 not found (/config/host: required)``, as the Rust client."""
    title = str(problem.get("title") or "").strip() or "HTTP error"
    line = f"{status} {title}"
    detail = str(problem.get("detail") or "").strip()
    if detail:
        line += f": {detail}"
    fields = [
        f"{e.get('pointer', '')}: {e.get('message', '')}"
        for e in problem.get("errors") or []
        if isinstance(e, dict)
    ]
    if fields:
        line += f" ({'; '.join(fields)})"
    return line
