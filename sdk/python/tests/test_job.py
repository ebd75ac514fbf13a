"""EtlJob and main() as a script step runs them: exit codes, post after a refusal or a failure,
output, SIGTERM; and pip install of the package."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import polyphemus
from conftest import SDK_DIR, SECRET, clean_env, run_script

JOB = '''
import polyphemus

class Probe(polyphemus.EtlJob):
    name = "probe"

    def pre(self, context):
        return context.config["bucket"] != "skip-me"

    def process(self, context):
        if context.args.get("fail"):
            raise RuntimeError("no route to the bucket")
        if context.args.get("refuse"):
            raise polyphemus.PermanentError("the bucket " + context.config["bucket"] + " is gone")
        if context.args.get("bad_state"):
            context.update_state({{"files": "not an object"}})
        assert context.secret("password") == {secret!r}
        context.values["copied"] = 3
        context.update_state({{"copied_count": 3, "host": context.config["host"]}})
        context.log("copied 3 files")

    def post(self, context, outcome):
        context.update_state({{"post": {{"kind": outcome.kind, "reason": outcome.reason,
                                         "permanent": outcome.permanent,
                                         "copied": context.values.get("copied")}}}})

polyphemus.main(Probe)
'''.format(secret=SECRET)


def state_of(server, run_id):
    return server.admin.request("GET", ["projects", "default", "runs", run_id])[1]


def test_main_runs_pre_process_post_and_exits_0(server, config, task_token, tmp_path):
    run_id = server.register_run(config)
    done = run_script(JOB, server.run_env(config, run_id, task_token), tmp_path)
    assert done.returncode == 0, done.stderr
    run = state_of(server, run_id)
    assert run["state"]["copied_count"] == 3
    assert run["state"]["post"] == {
        "kind": "done", "reason": None, "permanent": False, "copied": 3
    }
    assert "[probe] copied 3 files\n" in run["output"]
    assert SECRET not in run["output"] and SECRET not in done.stderr


def test_pre_says_no_post_still_runs_exit_0(server, task_token, tmp_path):
    config = server.create_config("skipped", bucket="skip-me")
    run_id = server.register_run(config)
    done = run_script(JOB, server.run_env(config, run_id, task_token), tmp_path)
    assert done.returncode == 0, done.stderr
    assert "probe: skipped by pre" in done.stderr
    state = state_of(server, run_id)["state"]
    assert "copied_count" not in state
    assert state["post"] == {
        "kind": "skipped", "reason": None, "permanent": False, "copied": None
    }


def test_process_raises_post_runs_exit_1_transient(server, config, task_token, tmp_path):
    run_id = server.register_run(config)
    env = server.run_env(config, run_id, task_token)
    done = run_script(JOB, env, tmp_path, "--arg", "fail=yes")
    assert done.returncode == polyphemus.TRANSIENT_EXIT_CODE == 1, done.stderr
    assert ("error: probe failed: transient, may be retried: RuntimeError: no route to the "
            "bucket") in done.stderr
    run = state_of(server, run_id)
    assert run["state"]["post"]["kind"] == "failed"
    assert run["state"]["post"]["permanent"] is False
    assert "no route to the bucket" in run["state"]["post"]["reason"]
    assert ("[probe] failed: transient, may be retried: RuntimeError: no route to the "
            "bucket") in run["output"]


def test_a_permanent_error_exits_78_and_says_so(server, config, task_token, tmp_path):
    run_id = server.register_run(config)
    env = server.run_env(config, run_id, task_token)
    done = run_script(JOB, env, tmp_path, "--arg", "refuse=yes")
    assert done.returncode == polyphemus.PERMANENT_EXIT_CODE == 78, done.stderr
    assert "error: probe failed: permanent: the bucket sequencing-raw is gone" in done.stderr
    run = state_of(server, run_id)
    assert run["state"]["post"]["permanent"] is True
    assert "[probe] failed: permanent: the bucket sequencing-raw is gone" in run["output"]


def test_a_4xx_of_the_api_is_permanent(server, config, task_token, tmp_path):
    """The state schema of sftp-to-storage wants `files` to be an object: 422."""
    run_id = server.register_run(config)
    env = server.run_env(config, run_id, task_token)
    done = run_script(JOB, env, tmp_path, "--arg", "bad_state=yes")
    assert done.returncode == polyphemus.PERMANENT_EXIT_CODE, done.stderr
    assert "error: probe failed: permanent: 422 " in done.stderr, done.stderr


def test_usage_errors_exit_2_and_configuration_errors_78(server, config, task_token, tmp_path):
    run_id = server.register_run(config)
    env = server.run_env(config, run_id, task_token)
    without_run = {k: v for k, v in env.items() if k != "POLYPHEMUS_RUN_ID"}
    done = run_script(JOB, without_run, tmp_path)
    assert done.returncode == 78 and "POLYPHEMUS_RUN_ID" in done.stderr, done.stderr
    assert done.stderr.startswith("error: permanent: "), done.stderr
    done = run_script(JOB, env, tmp_path, "--no-such-option")
    assert done.returncode == 2, done.stderr
    done = run_script(JOB, env, tmp_path, "--arg", "novalue")
    assert done.returncode == 2 and "NAME=VALUE" in done.stderr, done.stderr
    bad_number = dict(env, POLYPHEMUS_VERSION_NUMBER="two")
    done = run_script(JOB, bad_number, tmp_path)
    assert done.returncode == 78 and "POLYPHEMUS_VERSION_NUMBER" in done.stderr, done.stderr


def test_an_api_refusal_while_loading_is_permanent(server, config, tmp_path):
    run_id = server.register_run(config)
    env = server.run_env(config, run_id, server.admin_token)  # not a task token: no secrets
    done = run_script(JOB, env, tmp_path)
    assert done.returncode == 78, done.stderr
    assert done.stderr.startswith("error: permanent: 403 "), done.stderr


def test_an_unreachable_api_while_loading_is_transient(server, config, task_token, tmp_path):
    run_id = server.register_run(config)
    env = dict(server.run_env(config, run_id, task_token), POLYPHEMUS_URL="http://127.0.0.1:9")
    done = run_script(JOB, env, tmp_path, timeout=60)
    assert done.returncode == 1, done.stderr
    assert done.stderr.startswith("error: transient, may be retried: "), done.stderr


def test_main_registers_an_unknown_run(server, config, task_token, tmp_path):
    import uuid

    run_id = str(uuid.uuid4())
    env = server.run_env(config, run_id, task_token)
    done = run_script(JOB, env, tmp_path, "--workflow-name", "straight-to-argo")
    assert done.returncode == 0, done.stderr
    run = state_of(server, run_id)
    assert run["name"] == "straight-to-argo" and run["state"]["copied_count"] == 3


def test_sigterm_sets_the_cancellation_flag(server, config, task_token, tmp_path):
    run_id = server.register_run(config)
    source = '''
import sys, time, polyphemus

class Waits(polyphemus.EtlJob):
    def process(self, context):
        print("ready", flush=True)
        while not context.is_cancelled():
            time.sleep(0.02)

    def post(self, context, outcome):
        context.update_state({"post": outcome.reason})

polyphemus.main(Waits)
'''
    script = tmp_path / "waits.py"
    script.write_text(source)
    env = clean_env(PYTHONPATH=str(SDK_DIR), **server.run_env(config, run_id, task_token))
    child = subprocess.Popen([sys.executable, str(script)], env=env, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert child.stdout is not None and child.stdout.readline().strip() == "ready"
    child.send_signal(signal.SIGTERM)
    _, stderr = child.communicate(timeout=20)
    assert child.returncode == 1, stderr
    assert "error: Waits failed: transient, may be retried: cancelled (SIGTERM)" in stderr
    assert state_of(server, run_id)["state"]["post"] == "cancelled (SIGTERM)"


def test_run_job_in_process_mirrors_the_rust_rules():
    """post failing fails a done job, but a failed job keeps its first reason."""
    logged = []

    class Recording(polyphemus.Client):
        def append_output(self, text):
            logged.append(text)

    client = Recording("http://127.0.0.1:9", run_id="r", config_id=1, version_number=1)

    class Job(polyphemus.EtlJob):
        def __init__(self, fail_process):
            self.fail_process = fail_process

        def process(self, context):
            if self.fail_process:
                raise ValueError("first")

        def post(self, context, outcome):
            raise KeyError("post broke")

    context = polyphemus.JobContext(client, "job")
    outcome = polyphemus.run_job(Job(False), context)
    assert outcome.failed and outcome.reason.startswith("post: KeyError")
    outcome = polyphemus.run_job(Job(True), context)
    assert outcome.reason == "ValueError: first" and not outcome.permanent
    assert "[job] failed: transient, may be retried: ValueError: first\n" in logged


def test_pip_installs_the_package_offline(tmp_path):
    target = tmp_path / "site"
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-index", "--no-deps",
         "--disable-pip-version-check", "--target", str(target), str(SDK_DIR)],
        capture_output=True, text=True, timeout=120, env=clean_env(),
    )
    assert done.returncode == 0, done.stderr
    assert (target / "polyphemus" / "job.py").is_file()
    check = subprocess.run(
        [sys.executable, "-c", "import polyphemus, sys; print(polyphemus.__file__)"],
        capture_output=True, text=True, env=clean_env(PYTHONPATH=str(target)), cwd=tmp_path,
    )
    assert check.returncode == 0 and str(target) in check.stdout, check.stderr
    assert time.monotonic() - started < 60
