"""The fleet playbooks for real, on local hosts run by the process manager.

Three hosts on this machine (connection local, each its own install_dir and
port, allfi_ota_service_manager process) get AllFi from a fake GitHub on
127.0.0.1: deploy.yml, upgrade.yml in batches, the broken release stopped at the
canary, rollback.yml and status.yml. No Docker. Each test first brings the
fleet to the state it starts from with the playbooks themselves (a no-op when
an earlier test left it there), so the tests also run alone.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fixtures.net import free_port

REPO = Path(__file__).resolve().parents[2]
PLAYBOOKS = REPO / "playbooks"
HOSTS = ("fleet-1", "fleet-2", "fleet-3")
ASSET_120 = "allfi-1.2.0-linux-amd64.tar.gz"
RECAP = re.compile(r"^(?P<host>\S+)\s+: ok=\d+\s+changed=(?P<changed>\d+)", re.M)

pytestmark = pytest.mark.slow


@dataclass
class Run:
    """One ansible-playbook run: exit code, output and changed count per host."""

    rc: int
    output: str
    changed: dict

    def summary(self) -> dict:
        """The summary table of a fleet run: host -> (before, after, result)."""
        rows = re.findall(
            r'"(fleet-\d)\s+linux-amd64\s+(\S+)\s+(\S+)\s+([a-z ]+?)"', self.output
        )
        return {host: (before, after, result) for host, before, after, result in rows}


@dataclass
class Fleet:
    """Three local AllFi hosts and the controller's files of one test module."""

    root: Path
    api_url: str

    def install_dir(self, host: str) -> Path:
        return self.root / "hosts" / host

    @property
    def record(self) -> Path:
        return self.root / "failed-versions.json"

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    def play(self, name: str, **extra: object) -> Run:
        """Run playbooks/<name>.yml on the fleet with extra vars; parse the recap."""
        variables = self.root / "extra-vars.json"
        variables.write_text(json.dumps(extra))
        env = dict(
            os.environ,
            ANSIBLE_COLLECTIONS_PATH=str(REPO / ".build" / "collections"),
            ANSIBLE_NOCOLOR="1",
            ANSIBLE_STDOUT_CALLBACK="default",
            ANSIBLE_LOCAL_TEMP=str(self.root / "ansible-tmp"),
        )
        done = subprocess.run(
            [
                str(Path(sys.executable).parent / "ansible-playbook"),
                "-i",
                str(self.root / "inventory.yml"),
                "-e",
                f"@{variables}",
                str(PLAYBOOKS / f"{name}.yml"),
            ],
            capture_output=True,
            text=True,
            env=env,
            check=False,
            timeout=900,
            cwd=self.root,
        )
        output = done.stdout + done.stderr
        changed = {m["host"]: int(m["changed"]) for m in RECAP.finditer(output)}
        return Run(done.returncode, output, changed)

    def current(self, host: str) -> str | None:
        """Name of the release that current points to, or None."""
        link = self.install_dir(host) / "current"
        return Path(os.readlink(link)).name if link.is_symlink() else None

    def releases(self, host: str) -> list[str]:
        folder = self.install_dir(host) / "releases"
        return sorted(p.name for p in folder.iterdir()) if folder.exists() else []

    def pid(self, host: str) -> int | None:
        pidfile = self.install_dir(host) / "run" / "allfi.pid"
        return int(pidfile.read_text().split()[0]) if pidfile.exists() else None

    def at(self, version: str) -> None:
        """Bring every host to version (deploy 1.0.0 first when needed)."""
        if any(self.current(host) is None for host in HOSTS):
            run = self.play("deploy", allfi_ota_version="1.0.0")
            assert run.rc == 0, run.output[-4000:]
        if all(self.current(host) == version for host in HOSTS):
            return
        if all(version in self.releases(host) for host in HOSTS):
            run = self.play("rollback", allfi_ota_version=version)
        else:
            run = self.play("upgrade", allfi_ota_version=version, allfi_ota_force=True)
        assert run.rc == 0, run.output[-4000:]


@pytest.fixture(scope="module")
def fleet(release_catalog, tmp_path_factory):
    """A fake GitHub and an inventory of three local hosts; AllFi stopped at the end."""
    from tests.fixtures.github_server import FakeGitHub

    root = tmp_path_factory.mktemp("fleet")
    with FakeGitHub(release_catalog) as server:
        hosts = {
            host: {
                "allfi_ota_install_dir": str(root / "hosts" / host),
                "allfi_ota_port": free_port(),
            }
            for host in HOSTS
        }
        inventory = {
            "allfi": {
                "hosts": hosts,
                "vars": {
                    "ansible_connection": "local",
                    "ansible_python_interpreter": sys.executable,
                    "allfi_ota_service_manager": "process",
                    "allfi_ota_user": "root",
                    "allfi_ota_group": "root",
                    "allfi_ota_create_user": False,
                    "allfi_ota_api_url": server.api_url,
                    "allfi_ota_health_timeout": 15,
                    "allfi_ota_health_successes": 2,
                    "allfi_ota_controller_cache_dir": str(root / "cache"),
                    "allfi_ota_failed_versions_file": str(
                        root / "failed-versions.json"
                    ),
                    "allfi_ota_report_dir": str(root / "reports"),
                    "allfi_ota_batches": [1, "100%"],
                },
            }
        }
        (root / "inventory.yml").write_text(json.dumps(inventory))
        fleet = Fleet(root, server.api_url)
        fleet.server = server
        try:
            yield fleet
        finally:
            for host in HOSTS:
                pid = fleet.pid(host)
                if pid is not None:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(pid, signal.SIGTERM)


def test_deploy_installs_once_and_a_rerun_changes_nothing(fleet):
    fleet.at("1.0.0")
    for host in HOSTS:
        env_file = fleet.install_dir(host) / "allfi.env"
        assert oct(env_file.stat().st_mode & 0o777) == "0o400"
        assert re.fullmatch(
            r"(#[^\n]*\n)*ALLFI_MASTER_KEY='[A-Za-z0-9+/]{43}='\n", env_file.read_text()
        )
        config = (
            fleet.install_dir(host) / "state" / "manifest" / "config" / "config.yaml"
        )
        assert 'version: "1.0.0"' in config.read_text()
    keys = {(fleet.install_dir(h) / "allfi.env").read_text() for h in HOSTS}
    assert len(keys) == len(HOSTS), "every host must get its own master key"

    rerun = fleet.play("deploy", allfi_ota_version="1.2.0")

    assert rerun.rc == 0, rerun.output[-4000:]
    assert all(rerun.changed[host] == 0 for host in HOSTS), rerun.changed
    assert "ALLFI_MASTER_KEY=" not in rerun.output
    assert {fleet.current(host) for host in HOSTS} == {"1.0.0"}

    # A new host among deployed ones: only it is deployed.
    newcomer = HOSTS[-1]
    os.killpg(fleet.pid(newcomer), signal.SIGTERM)
    shutil.rmtree(fleet.install_dir(newcomer))

    mixed = fleet.play("deploy", allfi_ota_version="1.0.0")

    assert mixed.rc == 0, mixed.output[-4000:]
    assert mixed.summary() == {
        **{host: ("1.0.0", "1.0.0", "unchanged") for host in HOSTS[:-1]},
        newcomer: ("-", "1.0.0", "deployed"),
    }
    assert all(mixed.changed[host] == 0 for host in HOSTS[:-1]), mixed.changed


def test_upgrade_downloads_once_per_platform_and_a_rerun_changes_nothing(fleet):
    fleet.at("1.0.0")
    fleet.server.clear_requests()

    run = fleet.play("upgrade", allfi_ota_version="1.2.0")

    assert run.rc == 0, run.output[-4000:]
    assert run.summary() == {h: ("1.0.0", "1.2.0", "upgraded") for h in HOSTS}
    assert {fleet.current(host) for host in HOSTS} == {"1.2.0"}
    assert fleet.server.downloads(ASSET_120) == 1
    assert fleet.server.downloads() == 1
    # Two batches from the inventory's allfi_ota_batches [1, "100%"]: the canary,
    # then the rest; the release is still resolved once.
    assert (
        run.output.count("PLAY [Upgrade AllFi in batches, the first one a canary]") == 2
    )
    resolves = [r for r in fleet.server.requests if r.path.endswith("/tags/v1.2.0")]
    assert len(resolves) == 1

    fleet.server.clear_requests()
    rerun = fleet.play("upgrade", allfi_ota_version="1.2.0")

    assert rerun.rc == 0, rerun.output[-4000:]
    assert rerun.summary() == {h: ("1.2.0", "1.2.0", "unchanged") for h in HOSTS}
    assert all(rerun.changed[host] == 0 for host in HOSTS), rerun.changed
    assert fleet.server.downloads() == 0


def test_broken_release_stops_at_the_canary(fleet):
    fleet.at("1.2.0")
    fleet.record.unlink(missing_ok=True)
    pids = {host: fleet.pid(host) for host in HOSTS}

    run = fleet.play("upgrade", allfi_ota_version="1.3.0")

    assert run.rc != 0
    canary, *others = HOSTS
    assert run.summary() == {
        canary: ("1.2.0", "1.2.0", "rolled back"),
        **{host: ("1.2.0", "1.2.0", "not reached") for host in others},
    }
    assert "The rollout stopped: batch 1 had 1 of 1 hosts failed" in run.output
    assert fleet.current(canary) == "1.2.0"
    assert "1.3.0" in fleet.releases(canary)
    for host in others:
        assert fleet.current(host) == "1.2.0"
        assert "1.3.0" not in fleet.releases(host)
        assert fleet.pid(host) == pids[host], f"{host} was restarted"
    record = json.loads(fleet.record.read_text())
    assert record["your-finance/allfi"]["1.3.0"]["hosts"] == [canary]

    refused = fleet.play("upgrade", allfi_ota_version="1.3.0")

    assert refused.rc != 0
    assert "failed on the canary fleet-1" in refused.output
    assert "allfi_ota_force=true" in refused.output
    assert all(refused.changed.get(host, 0) == 0 for host in HOSTS)
    assert {fleet.current(host) for host in HOSTS} == {"1.2.0"}


def test_rollback_returns_the_fleet_to_a_kept_release(fleet):
    fleet.at("1.2.0")

    run = fleet.play("rollback", allfi_ota_version="1.0.0")

    assert run.rc == 0, run.output[-4000:]
    assert run.summary() == {h: ("1.2.0", "1.0.0", "rolled back") for h in HOSTS}
    assert {fleet.current(host) for host in HOSTS} == {"1.0.0"}

    rerun = fleet.play("rollback", allfi_ota_version="1.0.0")

    assert rerun.rc == 0, rerun.output[-4000:]
    assert rerun.summary() == {h: ("1.0.0", "1.0.0", "unchanged") for h in HOSTS}


def test_status_writes_the_report_and_changes_no_host(fleet):
    fleet.at("1.2.0")
    pids = {host: fleet.pid(host) for host in HOSTS}

    run = fleet.play("status")
    again = fleet.play("status")

    assert run.rc == 0, run.output[-4000:]
    assert again.rc == 0, again.output[-4000:]
    # The first run writes the report files (on the controller); nothing else.
    assert all(again.changed[host] == 0 for host in HOSTS), again.changed
    assert {fleet.pid(host): host for host in HOSTS} == {p: h for h, p in pids.items()}
    assert "newest stable release: 1.3.0" in run.output
    document = json.loads((fleet.reports / "status.json").read_text())
    rows = {row["host"]: row for row in document["hosts"]}
    assert set(rows) == set(HOSTS)
    assert document["newest"] == "1.3.0"
    for host in HOSTS:
        assert rows[host]["version"] == "1.2.0"
        assert rows[host]["behind"] == 1
        assert rows[host]["health"] == "healthy"
        assert rows[host]["service"] == "running"
        assert rows[host]["drift"] is False
        assert len(rows[host]["sha256"]) == 64
    markdown = (fleet.reports / "status.md").read_text()
    assert markdown.startswith("# AllFi fleet status\n")
    assert markdown.count("| fleet-") == len(HOSTS)
