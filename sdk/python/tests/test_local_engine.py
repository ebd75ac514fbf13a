"""A real script step on the server's local engine: `import polyphemus` with no install step
(the engine puts the embedded SDK on PYTHONPATH) and the POLYPHEMUS_* variables of the run; and
a workflow package written here (not shipped) whose Python job keeps a counter in run state,
reading the previous run's through `previous_state` in the second run."""

from __future__ import annotations

import time
from pathlib import Path

import polyphemus
from conftest import SDK_DIR, Server, binary, launch

WORKFLOW = """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  generateName: sdk-script-
spec:
  entrypoint: main
  arguments:
    parameters:
      - name: config_id
      - name: version_number
      - name: project
        value: default
  templates:
    - name: main
      script:
        image: python:3.12-slim
        command: [python3]
        source: |
          import os, polyphemus

          class Hello(polyphemus.EtlJob):
              name = "hello"

              def process(self, context):
                  context.update_state({"sdk_step": {
                      "config_id": context.config_id,
                      "version_number": context.version_number,
                      "run_id": context.run_id,
                      "project": context.project,
                      "host": context.config["host"],
                      "has_password": context.secret("password") is not None,
                      "sdk_from": os.path.dirname(polyphemus.__file__),
                  }})
                  context.log("hello from a script step")

          polyphemus.main(Hello)
"""


def test_a_script_step_imports_the_sdk_and_writes_state(server, config, python3):
    submitter = polyphemus.Client(server.url, server.admin_token)
    run = submitter.submit_workflow(
        int(config["config_id"]), WORKFLOW, int(config["version_number"])
    )
    run_id = run["run_id"]
    deadline = time.monotonic() + 45
    metadata = None
    while time.monotonic() < deadline:
        try:
            metadata = submitter.run_metadata(run_id)
        except polyphemus.PolyphemusError as error:
            if not error.is_not_found:
                raise
        else:
            phase = metadata.get("report", {}).get("phase") or metadata.get("phase")
            if phase not in (None, "Pending", "Running"):
                break
        time.sleep(0.2)
    state = submitter.run(run_id)["state"]
    assert "sdk_step" in state, (metadata, submitter.run(run_id)["output"])
    step = state["sdk_step"]
    assert step == {
        "config_id": config["config_id"],
        "version_number": config["version_number"],
        "run_id": run_id,
        "project": "default",
        "host": config["config"]["host"],
        "has_password": True,
        "sdk_from": step["sdk_from"],
    }
    # The copy the server wrote from its binary (under its run directory, or /var/tmp when that
    # is under /tmp, which a step's private /tmp hides), not this source tree.
    assert not step["sdk_from"].startswith(str(SDK_DIR)), step
    assert step["sdk_from"].startswith((str(server.data_dir.resolve()), "/var/tmp/polyphemus-sdk-"))


PACKAGE_MANIFEST = """
name: count-runs
description: Counts its own runs in run state.
workflow: workflow.yaml
config_schema:
  type: object
  required: [step]
  properties:
    step: {type: integer, minimum: 1, title: Increment}
state_schema:
  type: object
  properties:
    count: {type: integer, minimum: 1}
    previous: {type: [integer, "null"]}
example_config: {step: 1}
"""

PACKAGE_WORKFLOW = """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  generateName: count-runs-
spec:
  entrypoint: main
  arguments:
    parameters:
      - name: config_id
      - name: version_number
      - name: project
        value: default
  templates:
    - name: main
      script:
        image: python:3.12-slim
        command: [python3]
        source: |
          import polyphemus

          class CountRuns(polyphemus.EtlJob):
              name = "count_runs"

              def pre(self, context):
                  last = context.previous_state(["count"])
                  self.previous = last.get("count")
                  return True

              def process(self, context):
                  step = context.config["step"]
                  count = (self.previous or 0) + step
                  context.update_state({"count": count, "previous": self.previous})
                  context.log(f"count {self.previous} -> {count}")

          polyphemus.main(CountRuns)
"""


def test_a_package_written_here_runs_a_python_job_that_reads_its_previous_state(
    tmp_path: Path, python3
) -> None:
    package = tmp_path / "packages" / "count-runs"
    package.mkdir(parents=True)
    (package / "manifest.yaml").write_text(PACKAGE_MANIFEST)
    (package / "workflow.yaml").write_text(PACKAGE_WORKFLOW)
    validated = __import__("subprocess").run(
        [str(binary()), "workflows", "validate", str(package.parent)],
        capture_output=True, text=True, timeout=60,
    )
    assert validated.returncode == 0, validated.stderr
    root = tmp_path / "server"
    root.mkdir()
    server = Server(binary(), root, ["--workflows-dir", str(package.parent)])
    try:
        names = [w["name"] for w in server.admin.workflows()]
        assert "count-runs" in names, names
        config = server.admin.create_config("count-runs", "counter", {"step": 2})
        config_id = int(config["config_id"])
        first_phase, first, _ = launch(server, config_id)
        assert first_phase == "Succeeded", first["output"]
        assert first["state"] == {"count": 2, "previous": None}, first
        second_phase, second, _ = launch(server, config_id)
        assert second_phase == "Succeeded", second["output"]
        assert second["state"] == {"count": 4, "previous": 2}, second
        assert "count 2 -> 4" in second["output"], second["output"]
    finally:
        server.stop()
