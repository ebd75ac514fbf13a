"""The client against a real server: from_env, config, secrets, runtime, state, output,
previous state, errors."""

from __future__ import annotations

import pytest

import polyphemus
from conftest import EXAMPLE_CONFIG, SECRET


def test_from_env_reads_the_run(server, config, task_token):
    run_id = server.register_run(config)
    client = server.run_client(config, run_id, task_token)
    assert client.base_url == server.url.rstrip("/")
    assert (client.project, client.config_id, client.version_number, client.run_id) == (
        "default", config["config_id"], config["version_number"], run_id
    )
    assert client.has_token
    assert task_token not in repr(client) and "***" in repr(client)


def test_from_env_defaults_and_bad_numbers():
    client = polyphemus.Client.from_env({})
    assert client.base_url == polyphemus.DEFAULT_URL
    assert client.project == "default" and client.config_id is None and not client.has_token
    with pytest.raises(polyphemus.ConfigurationError, match="POLYPHEMUS_CONFIG_ID"):
        polyphemus.Client.from_env({"POLYPHEMUS_CONFIG_ID": "seven"})
    with pytest.raises(polyphemus.ConfigurationError, match="POLYPHEMUS_RUN_ID"):
        polyphemus.Client.from_env({"POLYPHEMUS_CONFIG_ID": "7"}).run_state()
    with pytest.raises(polyphemus.ConfigurationError, match="invalid server URL"):
        polyphemus.Client("ftp://example.org")


def test_config_and_runtime(server, config, task_token):
    client = server.run_client(config, server.register_run(config), task_token)
    assert client.config() == EXAMPLE_CONFIG
    version = client.config_version()
    assert version["workflow_type"] == "sftp-to-storage"
    assert version["secrets"] == {"password": "***"}
    runtime = client.runtime()
    assert runtime["config_id"] == config["config_id"]
    assert "disabled" in runtime and isinstance(client.runtime_params(), dict)


def test_only_the_task_token_reads_secrets(server, config, task_token):
    run_id = server.register_run(config)
    assert server.run_client(config, run_id, task_token).secrets() == {"password": SECRET}
    admin = server.run_client(config, run_id, server.admin_token)
    with pytest.raises(polyphemus.PolyphemusError) as raised:
        admin.secrets()
    assert raised.value.status == 403
    assert SECRET not in str(raised.value) and SECRET not in repr(raised.value.problem)


def test_update_state_merges_and_append_output_appends(server, config, task_token):
    client = server.run_client(config, server.register_run(config), task_token)
    assert client.update_state({"cursor": 1, "seen": ["a"]}) == {"cursor": 1, "seen": ["a"]}
    assert client.update_state({"cursor": 2}) == {"cursor": 2, "seen": ["a"]}
    assert client.run_state() == {"cursor": 2, "seen": ["a"]}
    client.append_output("first line\n")
    client.append_output("second line\n")
    output = client.run()["output"]
    assert output.endswith("first line\nsecond line\n"), output


def test_previous_state_across_two_runs(server, config, task_token):
    first = server.run_client(config, server.register_run(config), task_token)
    first.update_state({"cursor": "2024-01-01", "files": {"/a": {"size": 1, "mtime": 5}}})
    second = server.run_client(config, server.register_run(config), task_token)
    second.update_state({"cursor": "2024-02-01"})
    # The second run sees the first (runs registered before it), not itself.
    assert second.previous_state(["cursor"]) == {"cursor": "2024-01-01"}
    found = second.previous_state(["cursor", "files"])
    assert found["files"] == {"/a": {"size": 1, "mtime": 5}}
    third = server.run_client(config, server.register_run(config), task_token)
    assert third.previous_state("cursor", collect=True) == {
        "cursor": ["2024-02-01", "2024-01-01"]
    }
    assert third.previous_state(["cursor"], collect=True, limit=1) == {"cursor": ["2024-02-01"]}


def test_a_ledger_remembers_what_any_earlier_run_delivered(server, config, task_token):
    first = server.run_client(config, server.register_run(config), task_token)
    assert first.lookup_ledger("copied", ["a"]) == (False, {})
    many = {f"f{n}": {"size": n} for n in range(1500)}
    assert first.record_ledger("copied", many) == 1500
    second = server.run_client(config, server.register_run(config), task_token)
    second.record_ledger("copied", {"f3": {"size": 30}})
    opened, found = second.lookup_ledger("copied", ["f3", "f1499", "missing"])
    assert opened
    assert found == {"f3": {"size": 30}, "f1499": {"size": 1499}}
    with pytest.raises(polyphemus.PolyphemusError) as refused:
        second.record_ledger("copied", {"bad": 3})
    assert refused.value.status == 400 or refused.value.status == 422


def test_api_errors_carry_the_problem(server, config, task_token):
    client = server.run_client(config, server.register_run(config), task_token)
    with pytest.raises(polyphemus.PolyphemusError) as raised:
        server.admin.get_config(999999)
    error = raised.value
    assert error.status == 404 and error.is_not_found
    assert error.problem["status"] == 404 and error.title and error.detail
    assert str(error).startswith("404 ")
    # A state the manifest's state schema refuses: 4xx with field errors, not retried.
    with pytest.raises(polyphemus.PolyphemusError) as raised:
        client.update_state({"bytes_copied": -5})
    assert 400 <= raised.value.status < 500, raised.value.problem
    assert raised.value.problem.get("title")
    with pytest.raises(polyphemus.PolyphemusError) as raised:
        server.admin.create_config("sftp-to-storage", "bad", {"host": ""})
    assert raised.value.status in (400, 422)
    assert raised.value.errors and all("pointer" in e for e in raised.value.errors)


def test_no_token_is_401(server, config):
    client = server.run_client(config, server.register_run(config), token=None)
    with pytest.raises(polyphemus.PolyphemusError) as raised:
        client.config()
    assert raised.value.status == 401


def test_connection_errors_retry_then_fail_fast():
    client = polyphemus.Client(
        "http://127.0.0.1:9", "t", retry=polyphemus.RetryPolicy(max_attempts=2, initial_delay=0.01)
    )
    with pytest.raises(polyphemus.ConnectionFailed, match="cannot reach") as raised:
        client.workflows()
    assert raised.value.status is None and "t" not in str(raised.value).split()


def test_retry_policy_matches_the_rust_client():
    policy = polyphemus.RetryPolicy()
    assert [policy.backoff(n) for n in range(1, 8)] == [0.1, 0.2, 0.4, 0.8, 1.6, 2.0, 2.0]
    for status in (500, 502, 503, 504, 429):
        assert policy.next_delay(1, True, status=status) == 0.1
    for status in (400, 401, 403, 404, 409, 422, 501):
        assert policy.next_delay(1, True, status=status) is None
    assert policy.next_delay(1, False, status=503) is None
    assert policy.next_delay(1, False) is None
    assert policy.next_delay(1, False, connect_failed=True) == 0.1
    assert policy.next_delay(5, True, status=503) is None
    assert policy.next_delay(1, True, status=429, retry_after=1) == 1
    assert policy.next_delay(1, True, status=429, retry_after=60) == 2.0
