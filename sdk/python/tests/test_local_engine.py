"""A real script step on the server's local engine: `import polyphemus` with no install step
(the engine puts the embedded SDK on PYTHONPATH) and the POLYPHEMUS_* variables of the run."""

from __future__ import annotations

import time

import polyphemus
from conftest import SDK_DIR

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
