"""The health_check module against the real stand-in in each of its modes."""

from __future__ import annotations

import subprocess

import pytest

from tests.fixtures.modules import run_module
from tests.fixtures.net import free_port
from tests.fixtures.standin import build_standin


@pytest.fixture
def serve(tmp_path):
    """Start a stand-in of a mode on a free loopback port; return its health URL."""
    started = []

    def start(mode: str, slow_seconds: int = 4) -> str:
        binary = build_standin(
            tmp_path / mode / "allfi", "1.2.0", mode=mode, slow_seconds=slow_seconds
        )
        port = free_port()
        started.append(
            subprocess.Popen(
                [str(binary)],
                cwd=binary.parent,
                env={
                    "ALLFI_MASTER_KEY": "dGVzdA==",
                    "ALLFI_SERVER_ADDRESS": f"127.0.0.1:{port}",
                },
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        return f"http://127.0.0.1:{port}/api/v1/health"

    yield start
    for process in started:
        process.terminate()
        process.wait(timeout=10)


def test_healthy_release_passes_the_gate(serve):
    url = serve("ok")
    result = run_module(
        "health_check", {"url": url, "successes": 3, "interval": 0.2, "timeout": 10}
    )
    assert result["healthy"] and not result.get("failed")
    assert result["consecutive"] == 3 and result["attempts"] >= 3
    assert result["last"]["status"] == 200
    assert result["last"]["body"]["data"]["database"]["status"] == "ok"


# Columns: stand-in mode, expected HTTP status of the last answer, reason (substring)
UNHEALTHY = [
    ("http500", 500, "HTTP 500"),
    ("dberror", 200, "data.database.status is 'error'"),
]


@pytest.mark.parametrize(("mode", "status", "reason"), UNHEALTHY)
def test_misbehaving_release_fails_with_url_and_last_answer(
    serve, mode, status, reason
):
    url = serve(mode)
    result = run_module(
        "health_check", {"url": url, "successes": 2, "interval": 0.2, "timeout": 2}
    )
    assert result["failed"] and not result["healthy"]
    assert result["last"]["status"] == status
    assert url in result["msg"] and reason in result["msg"]
    assert result["attempts"] >= 5


def test_slow_start_passes_once_listening(serve):
    url = serve("slow", slow_seconds=2)
    result = run_module(
        "health_check", {"url": url, "successes": 2, "interval": 0.25, "timeout": 15}
    )
    assert result["healthy"], result
    assert result["elapsed"] >= 1.0
    assert result["attempts"] > result["consecutive"]


def test_slow_start_with_short_timeout_is_unhealthy_without_failing(serve):
    url = serve("slow", slow_seconds=4)
    result = run_module(
        "health_check",
        {
            "url": url,
            "successes": 1,
            "interval": 0.25,
            "timeout": 1,
            "fail_on_unhealthy": False,
        },
    )
    assert not result.get("failed") and not result["healthy"]
    assert result["last"]["status"] is None
    assert result["last"]["error"] == "connection refused"


def test_nothing_listening_fails_naming_the_url():
    url = f"http://127.0.0.1:{free_port()}/api/v1/health"
    result = run_module("health_check", {"url": url, "successes": 1, "timeout": 0.5})
    assert result["failed"]
    assert url in result["msg"] and "no answer (connection refused)" in result["msg"]
