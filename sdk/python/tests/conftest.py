"""A real `polyphemus serve` on a free loopback port over a fresh SQLite store, for the whole
session; a config of the built-in `sftp-to-storage` workflow; task tokens and runs.

The binary is $POLYPHEMUS_BIN, else <target>/debug/polyphemus ($CARGO_TARGET_DIR or the
repository's target/). When it is missing the tests are skipped, except under CI=true, where
they fail.
"""

from __future__ import annotations

import os
import queue
import shutil
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

import pytest

SDK_DIR = Path(__file__).resolve().parent.parent
REPO = SDK_DIR.parent.parent
sys.path.insert(0, str(SDK_DIR))

import polyphemus  # noqa: E402

# Variables that would point the binary at another server, store or project.
ISOLATED_ENV = [
    "DATABASE_URL",
    "POLYPHEMUS_URL",
    "POLYPHEMUS_TOKEN",
    "POLYPHEMUS_PROJECT",
    "POLYPHEMUS_DATA_DIR",
    "POLYPHEMUS_LISTEN",
    "POLYPHEMUS_SECRET_KEY",
    "POLYPHEMUS_CONFIG_ID",
    "POLYPHEMUS_VERSION_NUMBER",
    "POLYPHEMUS_RUN_ID",
    "PYTHONPATH",
]

EXAMPLE_CONFIG = {
    "host": "sftp.example.org",
    "port": 22,
    "username": "ingest",
    "host_key_fingerprint": "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU",
    "root": "/incoming",
    "file_regex": "\\.fastq\\.gz$",
    "bucket": "sequencing-raw",
    "prefix": "cat/",
}
SECRET = "s3cret-pa55word"


def binary() -> Path:
    """The polyphemus binary to test; skips (fails under CI=true) when it is missing."""
    found = _binary()
    if found is None or not found.is_file():
        message = (f"no polyphemus binary at {found} (cargo build -p polyphemus-cli, "
                   "or set POLYPHEMUS_BIN)")
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return found


def _binary() -> Optional[Path]:
    given = os.environ.get("POLYPHEMUS_BIN")
    if given:
        return Path(given)
    target = Path(os.environ.get("CARGO_TARGET_DIR") or REPO / "target")
    return target / "debug" / "polyphemus"


def clean_env(**extra: str) -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ISOLATED_ENV}
    env["NO_COLOR"] = "1"
    env.update(extra)
    return env


class Server:
    """The running server, its admin client and helpers to make configs, runs and tokens."""

    def __init__(
        self,
        binary: Path,
        root: Path,
        extra_args: Sequence[str] = (),
        env: Optional[Dict[str, str]] = None,
    ) -> None:
        """`extra_args` go to `serve` (e.g. `--workflows-dir`); `env` is the server's whole
        environment (default: this one less ISOLATED_ENV), which its steps inherit."""
        self.binary = binary
        self.data_dir = root / "data"
        self.database_url = f"sqlite://{root / 'p.db'}"
        self.log_path = root / "server.log"
        log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [str(binary), "serve", "--listen", "127.0.0.1:0", "--data-dir", str(self.data_dir),
             "--database-url", self.database_url, "--no-scheduler",
             # Retried steps are retried at once.
             "--engine-max-backoff", "0", *extra_args],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log,
            env=clean_env() if env is None else env,
        )
        log.close()
        found: "queue.Queue[str]" = queue.Queue()

        def read() -> None:
            assert self.process.stdout is not None
            for raw in self.process.stdout:
                line = raw.decode("utf-8", "replace").strip()
                if line.startswith("polyphemus listening on "):
                    found.put(line[len("polyphemus listening on "):].strip())

        threading.Thread(target=read, daemon=True).start()
        try:
            self.url = found.get(timeout=60)
        except queue.Empty:
            self.stop()
            raise RuntimeError(f"the server did not start: {self.log_path.read_text()}")
        self.admin_token = (self.data_dir / "admin.token").read_text().strip()
        self.admin = polyphemus.Client(self.url, self.admin_token)

    def stop(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(self.binary), "--url", self.url, "--data-dir", str(self.data_dir),
             "--database-url", self.database_url, *args],
            capture_output=True, text=True, env=clean_env(), timeout=60,
        )

    def task_token(self, project: str = "default") -> str:
        """A project task token for every config of the project (the tests' configs vary)."""
        made = self.cli("token", "create", "--name", f"sdk-test-{uuid.uuid4().hex[:8]}",
                        "--project", project, "--role", "task", "--all-configs")
        assert made.returncode == 0, made.stderr
        return made.stdout.strip()

    def create_config(self, name: str = "sdk", **changes: object) -> Dict[str, object]:
        config = dict(EXAMPLE_CONFIG, **changes)
        return self.admin.create_config(
            "sftp-to-storage", name, config, secrets={"password": SECRET}
        )

    def register_run(self, config: Dict[str, object]) -> str:
        run_id = str(uuid.uuid4())
        # The admin registers it, as `polyphemus submit` does.
        client = polyphemus.Client(
            self.url, self.admin_token, config_id=int(config["config_id"]),
            version_number=int(config["version_number"]), run_id=run_id,
        )
        _, created = client.register_run(f"sdk-{run_id[:8]}")
        assert created
        return run_id

    def run_env(self, config: Dict[str, object], run_id: str, token: str) -> Dict[str, str]:
        """What the orchestrator gives a step of this run."""
        return {
            "POLYPHEMUS_URL": self.url,
            "POLYPHEMUS_TOKEN": token,
            "POLYPHEMUS_PROJECT": "default",
            "POLYPHEMUS_CONFIG_ID": str(config["config_id"]),
            "POLYPHEMUS_VERSION_NUMBER": str(config["version_number"]),
            "POLYPHEMUS_RUN_ID": run_id,
        }

    def run_client(
        self, config: Dict[str, object], run_id: str, token: Optional[str]
    ) -> polyphemus.Client:
        return polyphemus.Client.from_env(self.run_env(config, run_id, token or ""))


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(binary(), tmp_path_factory.mktemp("server"))
    yield running
    running.stop()


@pytest.fixture(scope="session")
def task_token(server: Server) -> str:
    return server.task_token()


@pytest.fixture()
def config(server: Server) -> Dict[str, object]:
    return server.create_config(f"sdk-{uuid.uuid4().hex[:8]}")


def run_script(
    source: str, env: Dict[str, str], tmp_path: Path, *args: str, timeout: float = 30
) -> subprocess.CompletedProcess:
    """Runs `source` as a script step would: `python job.py` with the run's environment and
    the SDK importable from the source tree."""
    script = tmp_path / f"job_{uuid.uuid4().hex[:8]}.py"
    script.write_text(source)
    return subprocess.run(
        [sys.executable, str(script), *args],
        env=clean_env(PYTHONPATH=str(SDK_DIR), **env),
        capture_output=True, text=True, timeout=timeout,
    )


@pytest.fixture(scope="session")
def python3() -> List[str]:
    found = shutil.which("python3")
    if found is None:
        pytest.fail("python3 is not on PATH: the local engine's script steps need it")
    return [found]


FINAL_PHASES = ("Succeeded", "Failed", "Error")


def launch(server: Server, config_id: int) -> Tuple[str, Dict[str, Any], Dict[str, Any]]:
    """Launches the config's workflow and waits for its end: (phase, run, metadata)."""
    _, run = server.admin.request(
        "POST", ["projects", "default", "configs", config_id, "launch"], {}
    )
    run_id = str(run["run_id"])
    deadline = time.monotonic() + 120
    while True:
        try:
            metadata = server.admin.run_metadata(run_id)
        except polyphemus.PolyphemusError as error:
            if not error.is_not_found:
                raise
            metadata = {}
        phase = str(metadata.get("phase") or "")
        if phase in FINAL_PHASES:
            return phase, server.admin.run(run_id), metadata
        if time.monotonic() > deadline:
            pytest.fail(f"run {run_id} did not end: {metadata}\n{server.admin.run(run_id)['output']}")
        time.sleep(0.3)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """The count of the Argo API exchanges checked against swagger.json (argo_exchanges)."""
    import argo_exchanges

    line = argo_exchanges.summary()
    if line is not None:
        terminalreporter.write_line(line)
        if terminalreporter.config.option.verbose > 0:
            for detail in argo_exchanges.details():
                terminalreporter.write_line(detail)
