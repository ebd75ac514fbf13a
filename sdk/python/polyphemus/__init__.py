"""Polyphemus SDK for ETL jobs written in Python (standard library only, Python >= 3.9).

A script step of a workflow::

    import polyphemus

    class CountFiles(polyphemus.EtlJob):
        def pre(self, context):
            return not context.config.get("paused", False)

        def process(self, context):
            seen = context.previous_state(["count"]).get("count") or 0
            context.update_state({"count": seen + 1})
            context.log(f"count is {seen + 1}")

    polyphemus.main(CountFiles)

Or the client alone: ``client = polyphemus.Client.from_env()``; ``client.config()``,
``client.secrets()``, ``client.update_state({...})``, ``client.previous_state(["key"])``.
"""

from .client import DEFAULT_URL, Client, RetryPolicy, is_retryable_status
from .errors import (
    PERMANENT_EXIT_CODE,
    TRANSIENT_EXIT_CODE,
    Cancelled,
    ConfigurationError,
    ConnectionFailed,
    PermanentError,
    PolyphemusError,
    is_permanent,
)
from .job import EtlJob, JobContext, JobOutcome, main, run, run_job

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_URL",
    "PERMANENT_EXIT_CODE",
    "TRANSIENT_EXIT_CODE",
    "Cancelled",
    "Client",
    "ConfigurationError",
    "ConnectionFailed",
    "EtlJob",
    "JobContext",
    "JobOutcome",
    "PermanentError",
    "PolyphemusError",
    "RetryPolicy",
    "is_retryable_status",
    "main",
    "run",
    "run_job",
    "is_permanent",
    "__version__",
]
