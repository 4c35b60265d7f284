"""The allfi_ota role for real on this machine, with the `process` service manager.

ansible-playbook runs the role against localhost (connection local) with its own
install_dir and a free loopback port; the release server is the fake GitHub.
"""

from __future__ import annotations

import json
import os
import subprocess
import urllib.request
from pathlib import Path

import pytest

from tests.fixtures.net import free_port

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = REPO / ".venv" / "bin"
MASTER_KEY = "cm9sZS1wcm9jZXNzLXRlc3Qta2V5LW5vdC1hLXNlY3JldA=="

pytestmark = pytest.mark.slow

PLAYBOOK = """
- name: Upgrade AllFi on this machine
  hosts: all
  gather_facts: false
  roles:
    - role: allfi.ota.allfi_ota
"""


@pytest.fixture
def run_role(github, tmp_path):
    """Run the role with extra variables; return (stats of the host, its results)."""
    port = free_port()
    install_dir = tmp_path / "allfi"
    inventory = {
        "all": {
            "hosts": {
                "local": {
                    "ansible_connection": "local",
                    "ansible_python_interpreter": str(VENV_BIN / "python"),
                    "allfi_ota_install_dir": str(install_dir),
                    "allfi_ota_service_manager": "process",
                    "allfi_ota_user": "root",
                    "allfi_ota_group": "root",
                    "allfi_ota_create_user": False,
                    "allfi_ota_port": port,
                    "allfi_ota_listen_host": "127.0.0.1",
                    "allfi_ota_api_url": github.api_url,
                    "allfi_ota_controller_cache_dir": str(tmp_path / "cache"),
                    "allfi_ota_health_successes": 2,
                    "allfi_ota_health_timeout": 6,
                    "allfi_ota_environment": {"ALLFI_MASTER_KEY": MASTER_KEY},
                }
            }
        }
    }
    (tmp_path / "inventory.json").write_text(json.dumps(inventory))
    (tmp_path / "play.yml").write_text(PLAYBOOK)
    env = {
        **os.environ,
        "ANSIBLE_COLLECTIONS_PATH": str(REPO / ".build" / "collections"),
        "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.json",
        "ANSIBLE_NOCOLOR": "1",
    }

    def run(**extra) -> tuple[dict, list[dict]]:
        completed = subprocess.run(
            [
                str(VENV_BIN / "ansible-playbook"),
                "-i",
                str(tmp_path / "inventory.json"),
                str(tmp_path / "play.yml"),
                "-e",
                json.dumps(extra),
            ],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
            check=False,
        )
        assert MASTER_KEY not in completed.stdout + completed.stderr
        report = json.loads(completed.stdout)
        results = [
            {"task": task["task"]["name"], **task["hosts"]["local"]}
            for play in report["plays"]
            for task in play["tasks"]
            if "local" in task["hosts"]
        ]
        return report["stats"]["local"], results

    run.port = port
    run.install_dir = install_dir
    yield run

    # Stop the AllFi the role started
    pidfile = install_dir / "run" / "allfi.pid"
    if pidfile.exists():
        subprocess.run(["kill", pidfile.read_text().strip()], check=False)


def running_version(port: int) -> str:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/system/version",
        headers={"Authorization": "Bearer test"},
    )
    with urllib.request.urlopen(request, timeout=5) as answer:
        return json.loads(answer.read())["data"]["version"]


def last_fact(results: list[dict], name: str) -> dict:
    facts = [
        r["ansible_facts"][name] for r in results if name in r.get("ansible_facts", {})
    ]
    return facts[-1]


def test_install_upgrade_rerun_and_rollback(run_role, github):
    stats, results = run_role(allfi_ota_version="1.0.0")
    assert stats["failures"] == 0, [r.get("msg") for r in results if r.get("failed")]
    assert last_fact(results, "_allfi_ota_result")["result"] == "upgraded"
    assert running_version(run_role.port) == "1.0.0"

    # An upgrade restarts AllFi on the new release
    stats, results = run_role(allfi_ota_version="1.2.0")
    assert stats["failures"] == 0 and stats["changed"] > 0
    result = last_fact(results, "_allfi_ota_result")
    assert (result["result"], result["version_before"], result["version_after"]) == (
        "upgraded",
        "1.0.0",
        "1.2.0",
    )
    assert running_version(run_role.port) == "1.2.0"

    # A rerun changes nothing and downloads nothing
    github.clear_requests()
    stats, results = run_role(allfi_ota_version="1.2.0")
    assert stats["changed"] == 0 and stats["failures"] == 0
    assert last_fact(results, "_allfi_ota_result")["result"] == "unchanged"
    assert github.downloads() == 0

    # A release that exits at start is rolled back and fails the host
    stats, results = run_role(allfi_ota_version="1.3.0")
    assert stats["failures"] == 1
    message = next(
        r["msg"] for r in results if r.get("failed") and not r.get("rescued")
    )
    failed = [r for r in results if r.get("failed")]
    message = failed[-1]["msg"]
    assert message.startswith("local: AllFi 1.3.0 failed and was rolled back to 1.2.0")
    assert "last health answer" in message
    assert last_fact(results, "_allfi_ota_result")["result"] == "rolled back"
    assert running_version(run_role.port) == "1.2.0"
    assert (run_role.install_dir / "current").readlink() == Path("releases/1.2.0")
