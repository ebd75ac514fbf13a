"""The csv-to-postgres example package (workflows/examples/csv-to-postgres) end to end, against
real servers: `polyphemus serve --workflows-dir workflows/examples` runs the shipped package on
its local engine, the CSV is on moto's S3 server, the table in the PostgreSQL at $DATABASE_URL
(a fresh database and role per test, dropped afterwards).

The step's `python3` is this test's python, put first on the server's PATH; it must have boto3
and psycopg (scripts/install-deps.sh installs them in the tools venv that scripts/test uses).
A missing server, library or DATABASE_URL skips these tests saying why; under CI=true it fails.

Spec:
- test_the_package_validates_and_exports_as_an_argo_workflow_template
- test_rows_are_loaded_then_only_rows_newer_than_the_watermark_are_upserted
- test_a_csv_without_the_watermark_column_fails_the_run_and_loads_nothing
- test_a_wrong_postgres_password_fails_the_run_saying_why_without_the_password
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, List, NoReturn, Optional, Sequence, Tuple

import pytest

import polyphemus
from conftest import REPO, Server, binary, clean_env, launch

EXAMPLES = REPO / "workflows" / "examples"
PACKAGE = EXAMPLES / "csv-to-postgres"
BUCKET = "exports"
KEY = "shop/products.csv"
UTC = dt.timezone.utc


def unavailable(why: str) -> NoReturn:
    """Skips the test saying why; under CI=true, where everything must be there, fails it."""
    if os.environ.get("CI") == "true":
        pytest.fail(why, pytrace=False)
    pytest.skip(why)


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).astimezone(UTC)


# --- real servers ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def libraries() -> Tuple[Any, Any]:
    try:
        import boto3
        import psycopg
    except ImportError as missing:
        unavailable(f"{sys.executable} lacks boto3 or psycopg ({missing}): run "
                    "scripts/install-deps.sh and pytest with the tools venv's python")
    return boto3, psycopg


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class S3Server:
    """moto's S3-compatible server on a free loopback port (as crates/testkit/src/s3.rs)."""

    def __init__(self, boto3: Any, log: Path) -> None:
        command = shutil.which("moto_server")
        if command is None:
            unavailable("moto_server is not on PATH (pip install 'moto[server]')")
        port = free_port()
        with open(log, "wb") as out:
            self.process = subprocess.Popen(
                [command, "-H", "127.0.0.1", "-p", str(port)],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            )
        self.endpoint = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    self.stop()
                    raise RuntimeError(f"moto_server did not start: {log.read_text()}")
                time.sleep(0.1)
        # moto takes any credentials; these stand for the user's.
        self.access_key_id = "AKIACSVTEST"
        self.secret_key = f"storage-secret-{uuid.uuid4().hex}"
        self.client = boto3.session.Session().client(
            "s3", endpoint_url=self.endpoint, region_name="us-east-1",
            aws_access_key_id=self.access_key_id, aws_secret_access_key=self.secret_key,
        )
        self.client.create_bucket(Bucket=BUCKET)

    def put_csv(self, key: str, text: str) -> None:
        self.client.put_object(Bucket=BUCKET, Key=key, Body=text.encode("utf-8"))

    def stop(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)


@pytest.fixture(scope="module")
def s3(libraries: Tuple[Any, Any], tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    server = S3Server(libraries[0], tmp_path_factory.mktemp("moto") / "moto.log")
    yield server
    server.stop()


@dataclass
class Database:
    """A fresh database owned by a fresh role with a password: what the job is configured with."""

    psycopg: Any
    admin_url: str
    host: str
    port: int
    name: str
    user: str
    password: str

    def admin(self) -> Any:
        """A connection of DATABASE_URL's (super)user to this database."""
        return self.psycopg.connect(self.admin_url, dbname=self.name, autocommit=True)

    def rows(self, table: str) -> List[Tuple[Any, ...]]:
        with self.admin() as connection:
            query = f"SELECT id, name, price, updated_at FROM {table} ORDER BY id::int"
            return [tuple(row) for row in connection.execute(query)]

    def exists(self, table: str) -> bool:
        with self.admin() as connection:
            found = connection.execute("SELECT to_regclass(%s)", [table]).fetchone()
            return found is not None and found[0] is not None


@pytest.fixture()
def database(libraries: Tuple[Any, Any]) -> Iterator[Database]:
    psycopg = libraries[1]
    from psycopg import sql

    admin_url = os.environ.get("DATABASE_URL", "")
    if not admin_url.startswith(("postgres://", "postgresql://")):
        unavailable("DATABASE_URL names no PostgreSQL server (`. scripts/pg-throwaway.sh` starts one)")
    params = psycopg.conninfo.conninfo_to_dict(admin_url)
    host = str(params.get("host") or "")
    if not host:
        unavailable("DATABASE_URL names no host; the job connects over TCP")
    suffix = uuid.uuid4().hex[:10]
    db = Database(psycopg, admin_url, host, int(params.get("port") or 5432),
                  f"csvpg_{suffix}", f"csvpg_loader_{suffix}", f"pg-pass-{uuid.uuid4().hex}")
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
            sql.Identifier(db.user), sql.Literal(db.password)))
        admin.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(
            sql.Identifier(db.name), sql.Identifier(db.user)))
    try:
        yield db
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(db.name)))
            admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(db.user)))


@pytest.fixture(scope="module")
def server(libraries: Tuple[Any, Any], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`serve --workflows-dir workflows/examples`, with this python's directory first on PATH so
    the step's `python3` is one that has boto3 and psycopg."""
    bin_dir = Path(sys.executable).parent
    path = f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"
    env = clean_env(PATH=path)
    if bin_dir.is_relative_to("/tmp"):
        # A step's private /tmp (as root) would hide this python: share /tmp with the steps.
        env["POLYPHEMUS_ENGINE_ISOLATION"] = "off"
    python3 = shutil.which("python3", path=path)
    probe = subprocess.run([python3 or "python3", "-c", "import boto3, psycopg"],
                           env=env, capture_output=True, text=True)
    if probe.returncode != 0:
        unavailable(f"the step's python3 ({python3}) cannot import boto3 and psycopg: "
                    f"{probe.stderr.strip()}")
    running = Server(binary(), tmp_path_factory.mktemp("csv-server"),
                     ["--workflows-dir", str(EXAMPLES)], env)
    yield running
    running.stop()


# --- helpers ---------------------------------------------------------------------------------


def settings(s3: S3Server, db: Database, **changes: Any) -> Dict[str, Any]:
    config: Dict[str, Any] = {
        "storage_url": s3.endpoint,
        "bucket": BUCKET,
        "key": KEY,
        "region": "us-east-1",
        "storage_access_key_id": s3.access_key_id,
        "postgres_host": db.host,
        "postgres_port": db.port,
        "postgres_database": db.name,
        "postgres_user": db.user,
        "postgres_sslmode": "disable",
        "table": "public.products",
        "key_columns": ["id"],
        "watermark_column": "updated_at",
    }
    config.update(changes)
    return config


def create_config(server: Server, config: Dict[str, Any], secrets: Dict[str, str]) -> int:
    created = server.admin.create_config(
        "csv-to-postgres", f"products-{uuid.uuid4().hex[:8]}", config, secrets=secrets
    )
    return int(created["config_id"])


def csv_text(rows: Sequence[str]) -> str:
    return "id,name,price,updated_at\r\n" + "".join(f"{row}\r\n" for row in rows)


# --- the spec --------------------------------------------------------------------------------


def test_the_package_validates_and_exports_as_an_argo_workflow_template(tmp_path: Path) -> None:
    polyphemus_bin = str(binary())
    for target in (PACKAGE, EXAMPLES):  # EXAMPLES also holds notify-only.yaml, no package
        checked = subprocess.run([polyphemus_bin, "workflows", "validate", str(target)],
                                 capture_output=True, text=True, env=clean_env(), timeout=60)
        assert checked.returncode == 0, checked.stderr
        assert checked.stdout.strip() == "1 package valid: csv-to-postgres"
    out = tmp_path / "argo"
    exported = subprocess.run(
        [polyphemus_bin, "workflows", "export", "--argo", str(out), "--workflows-dir", str(PACKAGE)],
        capture_output=True, text=True, env=clean_env(), timeout=60,
    )
    assert exported.returncode == 0, exported.stderr
    try:
        import jsonschema
        import yaml
    except ImportError as missing:
        unavailable(f"{sys.executable} lacks jsonschema or yaml ({missing}): run "
                    "scripts/install-deps.sh")
    template = yaml.safe_load((out / "csv-to-postgres.yaml").read_text())
    assert template["kind"] == "WorkflowTemplate"
    assert template["metadata"]["name"] == "csv-to-postgres"
    workflow = yaml.safe_load((PACKAGE / "workflow.yaml").read_text())
    assert template["spec"] == workflow["spec"]
    # Argo's own schema, every object closed (as scripts/validate-deploy checks deploy/).
    schema = json.loads((REPO / "third_party" / "argo-api" / "schema.json").read_text())
    for definition in schema["definitions"].values():
        if "properties" in definition and "additionalProperties" not in definition:
            definition["additionalProperties"] = False
    root = {"$ref": "#/definitions/io.argoproj.workflow.v1alpha1.WorkflowTemplate",
            "definitions": schema["definitions"]}
    errors = [f"/{'/'.join(map(str, e.absolute_path))}: {e.message}"
              for e in jsonschema.Draft202012Validator(root).iter_errors(template)]
    assert errors == []
    script = template["spec"]["templates"][0]["script"]
    assert script["command"] == ["python3"]
    assert "polyphemus.main(CsvToPostgres)" in script["source"]


def test_rows_are_loaded_then_only_rows_newer_than_the_watermark_are_upserted(
    server: Server, s3: S3Server, database: Database
) -> None:
    key = f"{uuid.uuid4().hex[:8]}/products.csv"
    s3.put_csv(key, csv_text([
        "1,apple,1.20,2026-01-01T10:00:00Z",
        "2,banana,0.50,2026-01-01T11:00:00Z",
        "3,cherry,3.00,2026-01-02T09:30:00+01:00",
    ]))
    config_id = create_config(
        server, settings(s3, database, key=key),
        {"storage_secret_key": s3.secret_key, "postgres_password": database.password},
    )

    phase, run, _ = launch(server, config_id)
    assert phase == "Succeeded", run["output"]
    assert database.rows("public.products") == [
        ("1", "apple", "1.20", at("2026-01-01T10:00:00+00:00")),
        ("2", "banana", "0.50", at("2026-01-01T11:00:00+00:00")),
        ("3", "cherry", "3.00", at("2026-01-02T08:30:00+00:00")),
    ]
    assert run["state"] == {
        "previous_watermark": None,
        "watermark": "2026-01-02T08:30:00+00:00",
        "rows_read": 3,
        "rows_loaded": 3,
        "objects": [key],
        "table": "public.products",
    }
    assert "previous watermark: none (first run: every row is loaded)" in run["output"]

    # Row 1 changed later, row 2 is as it was, row 3 changed but says it is no newer than the
    # watermark, row 4 is new (a quoted comma, an empty price: NULL).
    s3.put_csv(key, csv_text([
        "1,apple,1.25,2026-01-03T10:00:00Z",
        "2,banana,0.50,2026-01-01T11:00:00Z",
        "3,cherry,2.00,2026-01-02T08:30:00Z",
        '4,"date, dried",,2026-01-04T00:00:00Z',
    ]))
    phase, run, _ = launch(server, config_id)
    assert phase == "Succeeded", run["output"]
    assert database.rows("public.products") == [
        ("1", "apple", "1.25", at("2026-01-03T10:00:00+00:00")),
        ("2", "banana", "0.50", at("2026-01-01T11:00:00+00:00")),
        ("3", "cherry", "3.00", at("2026-01-02T08:30:00+00:00")),
        ("4", "date, dried", None, at("2026-01-04T00:00:00+00:00")),
    ]
    state = run["state"]
    assert state["rows_read"] == 4
    assert state["rows_loaded"] == 2
    assert state["watermark"] == "2026-01-04T00:00:00+00:00"
    # pre read the first run's watermark through previous_state.
    assert state["previous_watermark"] == "2026-01-02T08:30:00+00:00"
    assert "previous watermark: 2026-01-02T08:30:00+00:00" in run["output"]
    assert ("loaded 2 of 4 rows from s3://exports/" + key + " into public.products; "
            "watermark 2026-01-02T08:30:00+00:00 -> 2026-01-04T00:00:00+00:00") in run["output"]

    # Nothing newer: nothing loaded, the watermark kept.
    before = database.rows("public.products")
    phase, run, _ = launch(server, config_id)
    assert phase == "Succeeded", run["output"]
    assert database.rows("public.products") == before
    assert run["state"]["rows_loaded"] == 0
    assert run["state"]["watermark"] == "2026-01-04T00:00:00+00:00"
    assert run["state"]["previous_watermark"] == "2026-01-04T00:00:00+00:00"


def test_a_csv_without_the_watermark_column_fails_the_run_and_loads_nothing(
    server: Server, s3: S3Server, database: Database
) -> None:
    key = f"{uuid.uuid4().hex[:8]}/products.csv"
    s3.put_csv(key, "id,name,price\r\n1,apple,1.20\r\n")
    config_id = create_config(
        server, settings(s3, database, key=key),
        {"storage_secret_key": s3.secret_key, "postgres_password": database.password},
    )
    phase, run, _ = launch(server, config_id)
    assert phase == "Failed", run["output"]
    assert (f"s3://exports/{key}: the header (id, name, price) lacks updated_at"
            in run["output"])
    assert "nothing was loaded into public.products; the watermark stays at none" in run["output"]
    assert "watermark" not in run["state"]
    assert not database.exists("public.products")


def test_a_wrong_postgres_password_fails_the_run_saying_why_without_the_password(
    server: Server, s3: S3Server, database: Database
) -> None:
    wrong = f"wrong-{uuid.uuid4().hex}"
    try:
        database.psycopg.connect(host=database.host, port=database.port, dbname=database.name,
                                 user=database.user, password=wrong, sslmode="disable").close()
    except database.psycopg.OperationalError:
        pass
    else:
        unavailable(f"the PostgreSQL at DATABASE_URL takes any password for {database.user} "
                    "(trust in pg_hba.conf); scripts/pg-throwaway.sh starts one that checks")
    s3.put_csv(KEY, csv_text(["1,apple,1.20,2026-01-01T10:00:00Z"]))
    config_id = create_config(
        server, settings(s3, database),
        {"storage_secret_key": s3.secret_key, "postgres_password": wrong},
    )
    phase, run, metadata = launch(server, config_id)
    assert phase == "Failed", run["output"]
    output = run["output"]
    assert (f"cannot connect to PostgreSQL as {database.user}@{database.host}:{database.port}/"
            f"{database.name}") in output
    assert "password authentication failed" in output
    assert "nothing was loaded into public.products" in output
    # `runs show` says why too: the failed step's last log lines are its message.
    messages = [str(node.get("message") or "") for node in metadata["nodes"].values()]
    assert any("cannot connect to PostgreSQL" in message for message in messages), metadata
    for secret in (wrong, database.password, s3.secret_key):
        assert secret not in output
        assert secret not in json.dumps(metadata)
        assert secret not in json.dumps(run["state"])
    assert "watermark" not in run["state"]
    assert not database.exists("public.products")
