"""The process module for real: the AllFi stand-in started, checked, stopped."""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.fixtures.modules import run_module
from tests.fixtures.net import free_port
from tests.fixtures.standin import build_standin

MASTER_KEY = "c2VjcmV0LW1hc3Rlci1rZXktZm9yLXRlc3RzLW9ubHk="


def health(port: int) -> dict | None:
    try:
        with urllib.request.urlopen(
            f"http://127.0.0.1:{port}/api/v1/health", timeout=2
        ) as answer:
            return json.loads(answer.read())
    except (urllib.error.URLError, OSError):
        return None


def wait_health(port: int, seconds: float = 5.0) -> dict | None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        answer = health(port)
        if answer is not None:
            return answer
        time.sleep(0.1)
    return None


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


@pytest.fixture
def service(tmp_path):
    """Paths of an installed stand-in (current -> releases/1.0.0) and its options."""
    release = build_standin(tmp_path / "releases" / "1.0.0" / "allfi", "1.0.0")
    (tmp_path / "current").symlink_to(release.parent)
    state = tmp_path / "state"
    state.mkdir()
    port = free_port()
    env_file = tmp_path / "allfi.env"
    env_file.write_text(
        f"# AllFi settings\nALLFI_MASTER_KEY='{MASTER_KEY}'\n"
        f"export ALLFI_SERVER_ADDRESS=127.0.0.1:{port}\n"
    )
    env_file.chmod(0o600)
    options = {
        "name": "allfi",
        "executable": str(tmp_path / "current" / "allfi"),
        "chdir": str(state),
        "env_file": str(env_file),
        "pidfile": str(tmp_path / "run" / "allfi.pid"),
        "log_file": str(tmp_path / "log" / "allfi.log"),
    }
    yield {"root": tmp_path, "port": port, "options": options}
    run_module("process", {**options, "state": "stopped", "stop_timeout": 2})


def test_start_is_detached_healthy_and_idempotent(service):
    options, port = service["options"], service["port"]

    checked = run_module("process", options, check_mode=True)
    assert checked["changed"] and checked["steps"] == ["start"]
    assert health(port) is None, "check mode must not start anything"

    started = run_module("process", options)
    assert started["changed"] and started["running"]
    pid = started["pid"]
    assert started["exe"] == str(service["root"] / "releases" / "1.0.0" / "allfi")
    assert Path(options["pidfile"]).read_text().strip() == str(pid)
    assert wait_health(port)["data"]["status"] == "ok"
    assert os.getsid(pid) == pid, "AllFi must lead its own session"
    assert MASTER_KEY not in json.dumps(started)

    again = run_module("process", options)
    assert not again["changed"] and again["pid"] == pid and again["steps"] == []

    status = run_module("process", {**options, "state": "status"})
    assert status["running"] and status["pid"] == pid and not status["changed"]


def test_environment_option_and_log_file(service):
    options, port = service["options"], service["port"]
    options = {
        **options,
        "env_file": None,
        "environment": {
            "ALLFI_MASTER_KEY": MASTER_KEY,
            "ALLFI_SERVER_ADDRESS": f"127.0.0.1:{port}",
        },
    }
    started = run_module("process", options)
    assert started["running"], started
    assert wait_health(port) is not None
    assert MASTER_KEY not in json.dumps(started)
    assert "/api/v1/health" in Path(options["log_file"]).read_text()


def test_restart_follows_the_current_link_and_stop_frees_the_port(service):
    options, port, root = service["options"], service["port"], service["root"]
    first = run_module("process", options)["pid"]
    assert wait_health(port) is not None

    # Switch current to 1.1.0 the way install does
    build_standin(root / "releases" / "1.1.0" / "allfi", "1.1.0")
    (root / "current.new").symlink_to(root / "releases" / "1.1.0")
    os.replace(root / "current.new", root / "current")

    status = run_module("process", {**options, "state": "status"})
    assert status["running"] and status["pid"] == first, "old release still ours"

    restarted = run_module("process", {**options, "state": "restarted"})
    assert restarted["changed"] and restarted["steps"] == ["stop", "start"]
    assert restarted["stopped_pid"] == first and not restarted["killed"]
    assert restarted["pid"] != first and not alive(first)
    assert restarted["exe"] == str(root / "releases" / "1.1.0" / "allfi")
    assert wait_health(port) is not None

    stopped = run_module("process", {**options, "state": "stopped"})
    assert stopped["changed"] and not stopped["running"] and stopped["pid"] is None
    assert not alive(restarted["pid"])
    assert not Path(options["pidfile"]).exists()
    assert health(port) is None

    again = run_module("process", {**options, "state": "stopped"})
    assert not again["changed"]


def test_stale_pidfile_of_another_process_is_left_alone(service):
    options = service["options"]
    other = subprocess.Popen(["sleep", "60"])
    try:
        Path(options["pidfile"]).parent.mkdir(parents=True)
        Path(options["pidfile"]).write_text(f"{other.pid}\n")

        status = run_module("process", {**options, "state": "status"})
        assert not status["running"] and status["stale_pidfile"]

        stopped = run_module("process", {**options, "state": "stopped"})
        assert stopped["steps"] == ["remove stale pidfile"]
        assert other.poll() is None, "an unrelated process must never be signalled"

        Path(options["pidfile"]).write_text(f"{other.pid}\n")
        started = run_module("process", options)
        assert started["steps"] == ["remove stale pidfile", "start"]
        assert started["pid"] != other.pid and other.poll() is None
        assert wait_health(service["port"]) is not None
    finally:
        other.kill()
        other.wait()


def test_sigterm_ignored_gets_sigkill_after_grace_period(tmp_path):
    script = tmp_path / "stubborn"
    script.write_text("#!/bin/sh\ntrap '' TERM\nwhile :; do sleep 0.1; done\n")
    script.chmod(0o755)
    options = {
        "name": "stubborn",
        "executable": str(script),
        "pidfile": str(tmp_path / "stubborn.pid"),
        "log_file": str(tmp_path / "stubborn.log"),
        "stop_timeout": 1.5,
    }
    pid = run_module("process", options)["pid"]
    try:
        assert alive(pid)
        began = time.monotonic()
        stopped = run_module("process", {**options, "state": "stopped"})
        took = time.monotonic() - began
        assert stopped["killed"] and stopped["stopped_pid"] == pid
        assert took >= 1.5
        assert not alive(pid)
    finally:
        if alive(pid):
            os.killpg(pid, 9)


def test_release_that_exits_at_start_fails_the_start(tmp_path):
    build_standin(tmp_path / "allfi", "1.3.0", mode="exit")
    options = {
        "name": "allfi",
        "executable": str(tmp_path / "allfi"),
        "chdir": str(tmp_path),
        "environment": {
            "ALLFI_MASTER_KEY": MASTER_KEY,
            "ALLFI_SERVER_ADDRESS": "127.0.0.1:1",
        },
        "pidfile": str(tmp_path / "allfi.pid"),
        "log_file": str(tmp_path / "allfi.log"),
    }
    result = run_module("process", options)
    assert result["failed"]
    assert "exited with status 1 right after its start" in result["msg"]
    assert str(tmp_path / "allfi.log") in result["msg"]
    assert not (tmp_path / "allfi.pid").exists()


def test_missing_master_key_is_reported_from_the_log(service):
    options = {**service["options"], "env_file": None}
    result = run_module("process", options)
    assert result["failed"]
    assert "ALLFI_MASTER_KEY must be set" in result["msg"]


def test_sigterm_is_enough_for_allfi(service):
    options = service["options"]
    pid = run_module("process", options)["pid"]
    stopped = run_module("process", {**options, "state": "stopped"})
    assert not stopped["killed"]
    assert not alive(pid)
