"""ETL jobs in Python: ``EtlJob`` (pre → process → post, as the Rust trait), the context a job
sees, and :func:`main`, what a workflow's script step calls.

``post`` runs after ``process``, and also when ``pre`` said no or ``process`` raised. Exit
codes of :func:`main` are those of ``polyphemus run_job`` (see :func:`main`).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import traceback
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Type, Union

from .client import Client
from .errors import PERMANENT_EXIT_CODE, TRANSIENT_EXIT_CODE, Cancelled, ConfigurationError
from .errors import PolyphemusError, is_permanent

__all__ = ["EtlJob", "JobContext", "JobOutcome", "run_job", "main", "run"]

JsonObject = Dict[str, Any]


@dataclass(frozen=True)
class JobOutcome:
    """How a job ended: ``kind`` is ``done``, ``skipped`` (``pre`` said no) or ``failed``
    (then ``reason`` says why, and ``permanent`` whether another attempt cannot help)."""

    kind: str
    reason: Optional[str] = None
    permanent: bool = False

    @classmethod
    def done_(cls) -> "JobOutcome":
        return cls("done")

    @classmethod
    def skipped_(cls) -> "JobOutcome":
        return cls("skipped")

    @classmethod
    def failed_(cls, reason: str, permanent: bool = False) -> "JobOutcome":
        return cls("failed", reason, permanent)

    @property
    def done(self) -> bool:
        return self.kind == "done"

    @property
    def skipped(self) -> bool:
        return self.kind == "skipped"

    @property
    def failed(self) -> bool:
        return self.kind == "failed"

    @property
    def exit_code(self) -> int:
        """What :func:`main` exits with for this outcome."""
        if not self.failed:
            return 0
        return PERMANENT_EXIT_CODE if self.permanent else TRANSIENT_EXIT_CODE

    @property
    def failure_line(self) -> str:
        """``permanent: <why>`` or ``transient, may be retried: <why>``, as the Rust jobs say."""
        kind = "permanent" if self.permanent else "transient, may be retried"
        return f"{kind}: {self.reason}"

    def __str__(self) -> str:
        return f"failed: {self.failure_line}" if self.failed else self.kind


class JobContext:
    """What a job's ``pre``, ``process`` and ``post`` share: the run (``project``,
    ``config_id``, ``version_number``, ``run_id``), its config and secrets, scratch ``values``,
    the workflow's ``args``, a logger into the run's output, and cancellation."""

    def __init__(
        self,
        client: Client,
        job: str,
        *,
        config: Optional[Mapping[str, Any]] = None,
        secrets: Optional[Mapping[str, str]] = None,
        args: Optional[Mapping[str, str]] = None,
        cancelled: Optional[threading.Event] = None,
    ) -> None:
        self.client = client
        #: The job's name, prefixed to its log lines.
        self.job = job
        #: The config version's values (validated by the manifest's schema).
        self.config: JsonObject = dict(config or {})
        self._secrets: Dict[str, str] = dict(secrets or {})
        #: Values the workflow passed (``--arg name=value``).
        self.args: Dict[str, str] = dict(args or {})
        #: Scratch space shared by pre, process and post.
        self.values: JsonObject = {}
        #: Set on SIGTERM (by :func:`main`); check it in long work.
        self.cancelled: threading.Event = cancelled or threading.Event()

    @classmethod
    def load(
        cls,
        client: Client,
        job: str,
        *,
        args: Optional[Mapping[str, str]] = None,
        cancelled: Optional[threading.Event] = None,
    ) -> "JobContext":
        """Loads the run's config version and its secrets through ``client``."""
        return cls(
            client,
            job,
            config=client.config(),
            secrets=client.secrets(),
            args=args,
            cancelled=cancelled,
        )

    def __repr__(self) -> str:
        return (
            f"JobContext(job={self.job!r}, project={self.project!r}, "
            f"config_id={self.config_id!r}, version_number={self.version_number!r}, "
            f"run_id={self.run_id!r}, secrets={sorted(self._secrets)!r})"
        )

    @property
    def project(self) -> str:
        return self.client.project

    @property
    def config_id(self) -> Optional[int]:
        return self.client.config_id

    @property
    def version_number(self) -> Optional[int]:
        return self.client.version_number

    @property
    def run_id(self) -> Optional[str]:
        return self.client.run_id

    def config_str(self, key: str) -> Optional[str]:
        """A string value of the config, if set and not empty."""
        value = self.config.get(key)
        return value if isinstance(value, str) and value else None

    def secret(self, name: str) -> Optional[str]:
        """A secret of the config version in clear (``None`` when unset). Never log it."""
        return self._secrets.get(name)

    @property
    def secret_names(self) -> List[str]:
        """The names of the secrets that are set."""
        return sorted(self._secrets)

    def run_state(self) -> JsonObject:
        """The state this run holds so far."""
        return self.client.run_state()

    def previous_state(
        self, keys: Union[str, Iterable[str]], collect: bool = False, *, limit: Optional[int] = None
    ) -> JsonObject:
        """The latest value of each key among earlier runs of this config (every value,
        newest first, with ``collect``)."""
        return self.client.previous_state(keys, collect, limit=limit)

    def previous_values(self, key: str, limit: int = 1000) -> List[Any]:
        """Every value ``key`` had in earlier runs of this config, newest first."""
        found = self.client.previous_state([key], True, limit=limit).get(key)
        return list(found) if isinstance(found, list) else []

    def runtime_params(self) -> JsonObject:
        """The config's runtime params (``{}`` when none are set)."""
        return self.client.runtime_params()

    def record_ledger(self, ledger: str, entries: Mapping[str, Mapping[str, Any]]) -> int:
        """Records what this run delivered in a ledger of the config (see the client)."""
        return self.client.record_ledger(ledger, entries)

    def lookup_ledger(self, ledger: str, names: Iterable[str]) -> Tuple[bool, JsonObject]:
        """Whether the ledger is open, and its records of ``names`` (see the client)."""
        return self.client.lookup_ledger(ledger, names)

    def update_state(self, state: Mapping[str, Any]) -> JsonObject:
        """Merges top-level keys into this run's state; returns the merged state."""
        return self.client.update_state(state)

    def log(self, line: str) -> None:
        """A line in the run's output (and on the step's stderr), prefixed with the job."""
        text = f"[{self.job}] {line}"
        print(text, file=sys.stderr, flush=True)
        self.client.append_output(text + "\n")

    def is_cancelled(self) -> bool:
        """Whether the step was asked to stop (SIGTERM)."""
        return self.cancelled.is_set()

    def raise_if_cancelled(self) -> None:
        """Raises :class:`Cancelled` when the step was asked to stop."""
        if self.is_cancelled():
            raise Cancelled()


class EtlJob:
    """One small, single-purpose step of a pipeline. Override ``process`` (the work), and
    optionally ``pre`` (may the job proceed this time?) and ``post`` (record what happened;
    runs also when ``pre`` said no or ``process`` raised)."""

    #: The job's name in logs; the class name when not set.
    name: str = ""

    def job_name(self) -> str:
        return self.name or type(self).__name__

    def pre(self, context: JobContext) -> bool:
        """May the job proceed this time? (default: yes)"""
        return True

    def process(self, context: JobContext) -> None:
        """The work."""
        raise NotImplementedError(f"{self.job_name()} does not implement process")

    def post(self, context: JobContext, outcome: JobOutcome) -> None:
        """Records what happened (default: nothing)."""


def _describe(error: BaseException) -> str:
    if isinstance(error, (PolyphemusError, NotImplementedError)):
        return str(error) or type(error).__name__
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def run_job(job: EtlJob, context: JobContext) -> JobOutcome:
    """Runs ``pre``, then ``process`` if allowed, then always ``post`` (as the Rust
    ``run_job``). A failure is logged to the run's output as ``failed: …``; an exception in
    ``post`` fails the job unless it had failed already."""
    try:
        proceed = job.pre(context)
    except Exception as error:  # noqa: BLE001 - a job's error is its outcome
        _trace()
        outcome = JobOutcome.failed_(f"pre: {_describe(error)}", is_permanent(error))
    else:
        if not proceed:
            outcome = JobOutcome.skipped_()
        else:
            try:
                job.process(context)
            except Exception as error:  # noqa: BLE001
                if not isinstance(error, Cancelled):
                    _trace()
                outcome = JobOutcome.failed_(_describe(error), is_permanent(error))
            else:
                outcome = (
                    JobOutcome.failed_(str(Cancelled()))
                    if context.is_cancelled()
                    else JobOutcome.done_()
                )
    if outcome.failed:
        _quietly(context.log, str(outcome))
    try:
        job.post(context, outcome)
    except Exception as error:  # noqa: BLE001
        _trace()
        why = f"post: {_describe(error)}"
        _quietly(context.log, why)
        return outcome if outcome.failed else JobOutcome.failed_(why, is_permanent(error))
    return outcome


def _trace() -> None:
    """The traceback on the step's stderr (its log), not in the run's output."""
    traceback.print_exc(file=sys.stderr)


def _quietly(log: Any, line: str) -> None:
    try:
        log(line)
    except Exception as error:  # noqa: BLE001 - the failure being logged matters more
        print(f"warning: cannot append to the run's output: {error}", file=sys.stderr)


def _parse_args(name: str, argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=name,
        description="Runs the job pre → process → post for one run. Every option defaults "
        "to the POLYPHEMUS_* variable the orchestrator gives the step.",
    )
    parser.add_argument("--config-id", type=int, help="default: $POLYPHEMUS_CONFIG_ID")
    parser.add_argument("--version-number", type=int, help="default: $POLYPHEMUS_VERSION_NUMBER")
    parser.add_argument("--run-id", help="default: $POLYPHEMUS_RUN_ID")
    parser.add_argument("--project", help="default: $POLYPHEMUS_PROJECT or default")
    parser.add_argument(
        "--workflow-name", help="the workflow's name, to register the run if nobody did"
    )
    parser.add_argument(
        "--arg",
        dest="args",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a value for the job from the workflow (repeatable)",
    )
    return parser.parse_args(list(argv))


def run(
    job: Union[Type[EtlJob], EtlJob],
    argv: Optional[Sequence[str]] = None,
    *,
    environ: Optional[Mapping[str, str]] = None,
) -> int:
    """What :func:`main` does, returning the exit code instead of exiting."""
    instance = job() if isinstance(job, type) else job
    if not isinstance(instance, EtlJob):
        print(f"error: permanent: {instance!r} is not an EtlJob", file=sys.stderr)
        return PERMANENT_EXIT_CODE
    name = instance.job_name()
    try:
        options = _parse_args(name, sys.argv[1:] if argv is None else argv)
    except SystemExit as exit_:  # argparse: usage errors exit 2, --help exits 0
        return int(exit_.code or 0)
    job_args: Dict[str, str] = {}
    for pair in options.args:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            print(f"error: --arg: expected NAME=VALUE, got {pair!r}", file=sys.stderr)
            return 2
        job_args[key] = value
    overrides = {
        key: value
        for key, value in {
            "config_id": options.config_id,
            "version_number": options.version_number,
            "run_id": options.run_id,
            "project": options.project,
        }.items()
        if value is not None
    }
    try:
        client = Client.from_env(environ, **overrides)
        missing = [
            variable
            for variable, value in [
                ("POLYPHEMUS_CONFIG_ID", client.config_id),
                ("POLYPHEMUS_VERSION_NUMBER", client.version_number),
                ("POLYPHEMUS_RUN_ID", client.run_id),
            ]
            if value is None
        ]
        if missing:
            raise ConfigurationError(
                f"the step does not know its run: set {', '.join(missing)} "
                "(the orchestrator sets them; or pass --config-id, --version-number, --run-id)"
            )
        if not client.has_token:
            raise ConfigurationError("no API token: set POLYPHEMUS_TOKEN (the run's task token)")
    except ConfigurationError as error:
        # The step's environment: another attempt gets the same.
        print(f"error: permanent: {error}", file=sys.stderr)
        return PERMANENT_EXIT_CODE
    cancelled = threading.Event()
    restore = _on_sigterm(cancelled)
    try:
        try:
            client.ensure_registered(options.workflow_name)
            context = JobContext.load(client, name, args=job_args, cancelled=cancelled)
        except PolyphemusError as error:
            failed = JobOutcome.failed_(str(error), is_permanent(error))
            print(f"error: {failed.failure_line}", file=sys.stderr)
            return failed.exit_code
        outcome = run_job(instance, context)
    finally:
        restore()
    if outcome.skipped:
        print(f"{name}: skipped by pre", file=sys.stderr)
        return 0
    if outcome.failed:
        print(f"error: {name} failed: {outcome.failure_line}", file=sys.stderr)
    return outcome.exit_code


def main(
    job: Union[Type[EtlJob], EtlJob],
    argv: Optional[Sequence[str]] = None,
) -> None:
    """Runs ``job`` for the run the environment names and exits: 0 when done or skipped by
    ``pre``; :data:`PERMANENT_EXIT_CODE` (78) when it failed for good (a :class:`PermanentError`,
    a :class:`ConfigurationError`, a 4xx of the API but 408/429), which the built-in workflows
    do not retry; 1 when it failed otherwise, which they retry; 2 for a usage error (argparse's
    code, as clap's for ``run_job``). SIGTERM sets ``context.is_cancelled()``."""
    sys.exit(run(job, argv))


def _on_sigterm(cancelled: threading.Event) -> Any:
    """Sets ``cancelled`` on SIGTERM; returns what puts the previous handler back."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = signal.getsignal(signal.SIGTERM)

    def handler(signum: int, frame: Any) -> None:
        cancelled.set()
        print("SIGTERM: cancelling (the job sees context.is_cancelled())", file=sys.stderr)

    signal.signal(signal.SIGTERM, handler)
    return lambda: signal.signal(signal.SIGTERM, previous)
